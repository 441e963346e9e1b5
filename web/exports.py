"""Lists as files: the CSV of every list (search results, claims, sources, posts) and reference downloads.

A list's JSON is the catalog's answer as it is; its CSV is one row per item with the columns
below, written by the csv module (a header row, quoting where a value needs it). The formats are
kg.formats': ``format=json`` or ``format=csv`` on a list's API route, BibTeX, CSL-JSON and RIS
for the sources of a source, concept or search.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import Response

from kg import formats
from kg.errors import KGError

from .http import param

#: The forms a list's API route answers in (``format=``), by kg.formats name.
LIST_FORMATS = ("json", "csv")

Column = tuple[str, Callable[[dict], Any]]


def _joined(values: Iterable[Any]) -> str:
    return "; ".join(str(v) for v in values if v)


def _keys(item: dict) -> str:
    return _joined(c.get("key") for c in item.get("citations", []))


def _concepts(item: dict) -> str:
    return _joined(c.get("id") for c in item.get("concepts", []))


#: Columns of each list's CSV: (header, value of one item).
CLAIM_COLUMNS: Sequence[Column] = (
    ("id", lambda c: c["id"]),
    ("text", lambda c: c["text"]),
    ("post_id", lambda c: c["post"]["id"]),
    ("post_title", lambda c: c["post"]["title"]),
    ("sources", _keys),
    ("concepts", _concepts),
)
SEARCH_COLUMNS: Sequence[Column] = (
    *CLAIM_COLUMNS[:4],
    ("section", lambda c: c.get("section") or ""),
    ("sources", _keys),
    ("locators", lambda c: _joined(c2.get("locator") for c2 in c.get("citations", []))),
    ("concepts", _concepts),
    ("score", lambda c: c.get("score")),
)
SOURCE_COLUMNS: Sequence[Column] = (
    ("key", lambda s: s["key"]),
    ("reference", lambda s: s["reference"]),
    ("title", lambda s: s["title"]),
    ("year", lambda s: s["year"] or ""),
    ("author", lambda s: s["author"]),
    ("organisations", lambda s: _joined(o.get("id") for o in s["organisations"])),
    ("times_cited", lambda s: s["times_cited"]),
    ("claims", lambda s: s["claims"]),
    ("posts", lambda s: s["posts"]),
)
POST_COLUMNS: Sequence[Column] = (
    ("id", lambda p: p["id"]),
    ("title", lambda p: p["title"]),
    ("author", lambda p: p["author"] or ""),
    ("date", lambda p: p["date"] or ""),
    ("url", lambda p: p["url"] or ""),
    ("kind", lambda p: p["kind"] or ""),
    ("excerpt", lambda p: "yes" if p["excerpt"] else "no"),
    ("claims", lambda p: p["claims"]),
    ("citations", lambda p: p["citations"]),
    ("found_in", lambda p: p["found_in"]),
)


def list_format() -> str:
    """Return the form a list is asked for (``format=``, by default json), or raise a 400 naming the allowed ones."""
    asked = param("format", "json", limit=40)
    found = formats.lookup(asked)
    if found is None or found.name not in LIST_FORMATS:
        raise KGError(
            f"cannot answer a list as format={asked!r}", hint="use format=" + " or format=".join(LIST_FORMATS)
        )
    return found.name


def download(text: str, media_type: str, filename: str) -> Response:
    """Send text as a file download, named, in UTF-8."""
    # Flask names a charset only for text/* types; BibTeX and CSL-JSON are UTF-8 (accents, curly
    # quotes), and a client left to guess may read them as Latin-1.
    response = Response(text, content_type=f"{media_type}; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_download(items: Iterable[dict], columns: Sequence[Column], name: str) -> Response:
    """Send a list as CSV: a header row, then one row per item, quoted where a value needs it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in columns])
    for item in items:
        writer.writerow([value(item) for _, value in columns])
    return download(out.getvalue(), formats.BY_NAME["csv"].media_type, f"{name}.csv")


def references_download(text: str, fmt: str, name: str) -> Response:
    """Send sources in a reference format of kg.formats (bibtex, csl-json, ris) as ``name.<extension>``."""
    found = formats.BY_NAME[fmt]
    return download(text, found.media_type, f"{name}.{found.extension}")
