"""Read a web page saved from a browser: trafilatura finds the article, its title, author, date.

Navigation, share buttons, cookie banners, comments and the like are what trafilatura leaves
out; the article's own HTML is then read like any other (kg.posts._html).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .. import corpus
from ..errors import CorpusError
from ..model import Post
from . import _meta
from ._html import html_post

NAME = "html"
SUFFIXES = (".html", ".htm")


def read(path: Path, text: str) -> list[Post]:
    """Extract the article of a saved page as one Post."""
    import trafilatura  # a second to import: only builds that read saved pages pay for it

    article = trafilatura.extract(
        text,
        output_format="html",
        include_links=True,
        include_formatting=True,
        include_images=False,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
    )
    if not article or not _has_prose(article):
        raise CorpusError(
            f"{path}:1: no article text found in the page",
            hint="save the page as 'Web page, complete' or 'HTML only' from the article's own "
            "address, or copy its text into a .md file",
        )
    meta = trafilatura.extract_metadata(text)
    title = (meta.title if meta else None) or Path(path).stem.replace("-", " ")
    where = f"{path}: "
    date = None
    if meta and meta.date:
        try:
            date = _meta.date(meta.date, where)
        except CorpusError:
            date = None  # a page's date is a guess of trafilatura's; a bad one is not the file's fault
    url = meta.url if meta and meta.url and meta.url.startswith(("http://", "https://")) else None
    post = html_post(
        article,
        post_id=corpus.slugify(Path(path).stem),
        title=title,
        path=str(path),
        source_format=NAME,
        author=_meta.author(meta.author if meta else None, where),
        date=date,
        url=url,
        excerpt=False,
    )
    post.provenance = _meta.whole_file(str(path), text)
    _drop_title(post)
    return [post]


def _has_prose(article: str) -> bool:
    # A page of menus and links gives trafilatura a few words; an article has sentences.
    words = re.sub(r"<[^>]+>", " ", article).split()
    return len(words) >= 25 and bool(re.search(r"\w[.!?]", article))


def _drop_title(post: Post) -> None:
    """The article's first heading repeats its title: take it out of the body."""
    if not post.blocks or post.blocks[0].kind != "heading":
        return
    first = post.blocks[0]
    if " ".join(post.body[first.start : first.end].split()).lower() != post.title.lower():
        return
    rest = post.blocks[1:]
    cut = rest[0].start if rest else len(post.body)
    post.body = post.body[cut:]
    post.blocks = tuple(replace(b, start=b.start - cut, end=b.end - cut) for b in rest)
    post.links = tuple(replace(k, start=k.start - cut, end=k.end - cut) for k in post.links if k.start >= cut)
    post.origins = tuple(replace(o, start=o.start - cut, end=o.end - cut) for o in post.origins if o.start >= cut)
