"""The links of a list answered a page at a time: first, previous, next and last, as URLs of this server.

Every paged JSON answer (a search, a list of claims) carries them, so a client walks the whole
list by following ``next`` until it is None, as Datasette's ``next_url`` lets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypedDict, TypeVar
from urllib.parse import urlencode

from .errors import PastLastPage

T = TypeVar("T")


class PageLinks(TypedDict):
    first: str
    prev: str | None
    next: str | None
    last: str


def page_links(path: str, params: Iterable[tuple[str, str]], page: int, pages: int) -> PageLinks:
    """Return the URLs (``path?params&page=N``) of a list's first, previous, next and last pages.

    An empty list has one (empty) page, so ``first`` and ``last`` are always set.
    """
    kept = [(name, value) for name, value in params if name != "page"]

    def url(n: int) -> str:
        return f"{path}?{urlencode([*kept, ('page', str(n))])}"

    last = max(pages, 1)
    return {
        "first": url(1),
        "prev": url(page - 1) if 1 < page <= last else None,
        "next": url(page + 1) if page < last else None,
        "last": url(last),
    }


def page_of(items: Sequence[T], page: int, limit: int | None, noun: str = "item") -> tuple[list[T], int]:
    """Return page ``page`` of ``items`` (``limit`` a page; None: all on one page) and the number of pages.

    Raises PastLastPage (naming ``noun``, "source" or "post") for a page past the last; an empty
    list has only page 1, as a search with no match does.
    """
    size = (len(items) or 1) if limit is None else limit
    pages = -(-len(items) // size)
    if page > max(pages, 1):
        raise PastLastPage(page, pages, len(items), size, noun)
    start = (page - 1) * size
    return list(items[start : start + size]), pages
