"""What only the web needs beside the catalog's answers: the home page, a post cut into segments
for its page, the API's stricter citation lookup and sources sort.

Pages and the API ask this request's Catalog (``web.resources.catalog``) for everything else and
show its typed answers as they are: nothing here renames a field or knows about HTML.
"""

from __future__ import annotations

from kg import catalog as catalog_mod
from kg import sparql
from kg.errors import KGError, NotFound
from kg.references import format_reference

from .resources import catalog, get_settings

#: Searches offered on the home page; each finds claims in the seed corpus.
EXAMPLE_SEARCHES = (
    "care transition protocols",
    "personal budgets",
    "Payment by Results clusters",
    "integration of health and social care",
    "co-production",
)

SOURCE_SORTS = catalog_mod.SOURCE_SORTS


# --- overview ------------------------------------------------------------------------------------


def home() -> dict:
    """Return the home page: statistics, example searches and the named SPARQL queries."""
    return {
        "stats": catalog().stats(),
        "examples": list(EXAMPLE_SEARCHES),
        "queries": [
            {k: v for k, v in q.to_dict().items() if k != "path"} for q in sparql.list_named_queries(get_settings())
        ],
    }


# --- citation lookup -----------------------------------------------------------------------------


def cite(query: str) -> catalog_mod.CiteAnswer:
    """Return Catalog.cite's answer (`kg cite --json`); NotFound when no citation of the query names one source.

    An author-year naming several sources is NotFound here, its suggestions the sources to choose from:
    the API has no page to list them on.
    """
    found = catalog().cite(query)
    if not found["sources"]:
        first = found["lookup"][0]
        raise NotFound(
            first["reason"] or f"no library entry matches {found['query']!r}",
            hint="choose one of the sources suggested" if first["candidates"] else "see the list of sources",
            suggestions=first["candidates"],
        )
    return found


# --- sources -------------------------------------------------------------------------------------


def sources(
    sort: str = "citations", org: str | None = None, page: int = 1, limit: int | None = None
) -> catalog_mod.SourceList:
    """List the sources with organisation and times cited, sorted, a page at a time (``limit`` None: all);
    optionally one organisation's."""
    if sort not in SOURCE_SORTS:  # a bad parameter (400), where the catalog's own callers get NotFound
        raise KGError(f"cannot sort sources by {sort!r}", hint="sort by one of " + ", ".join(SOURCE_SORTS))
    return catalog().source_list(sort, org, page, limit)


# --- posts and claims ----------------------------------------------------------------------------


def post_segments(found: dict) -> list[dict]:
    """Cut a post body into plain text and claims; a claim into text and its citations (by offsets)."""
    body = found["body"] or ""
    segments, at = [], 0
    for claim in sorted(found["claims"], key=lambda c: c["start"]):
        start, end = claim["start"], claim["end"]
        if start < at or end > len(body):
            continue  # overlapping or out of range: show the text once rather than garble it
        if start > at:
            segments.append({"kind": "text", "text": body[at:start]})
        parts, inner = [], start
        for citation in _citation_spans(claim, body, start, end):
            if citation["start"] > inner:
                parts.append({"kind": "text", "text": body[inner : citation["start"]]})
            parts.append(
                {
                    "kind": "cite",
                    "text": body[citation["start"] : citation["end"]],
                    "key": citation["key"],
                    "id": citation["id"],
                    "reason": citation["reason"],
                    "title": citation["title"],
                }
            )
            inner = citation["end"]
        if inner < end:
            parts.append({"kind": "text", "text": body[inner:end]})
        segments.append(
            {
                "kind": "claim",
                "id": claim["id"],
                "ordinal": claim["ordinal"],
                "cites": bool(claim["citations"]),
                "parts": parts,
            }
        )
        at = end
    if at < len(body):
        segments.append({"kind": "text", "text": body[at:]})
    return _mark_headings(segments, {c["section"] for c in found["claims"] if c["section"]})


def _mark_headings(segments: list[dict], sections: set[str]) -> list[dict]:
    """Split out the lines of plain text that are the post's section headings."""
    out: list[dict] = []
    for segment in segments:
        if segment["kind"] != "text" or not sections:
            out.append(segment)
            continue
        for line in segment["text"].splitlines(keepends=True):
            kind = "heading" if line.strip() in sections else "text"
            if kind == "text" and out and out[-1]["kind"] == "text":
                out[-1] = {"kind": "text", "text": out[-1]["text"] + line}
            elif kind == "heading":
                out.append({"kind": "heading", "text": line.rstrip("\n")})
                if line.endswith("\n"):
                    out.append({"kind": "text", "text": "\n"})
            else:
                out.append({"kind": "text", "text": line})
    return out


def _citation_spans(claim: dict, body: str, start: int, end: int) -> list[dict]:
    """Find each citation's span inside the claim by its raw text, in order."""
    references, _ = catalog().library()
    spans, cursor = [], start
    for citation in claim["citations"]:
        raw = citation["raw"] or ""
        found = body.find(raw, cursor, end) if raw else -1
        if found < 0:
            continue
        key = citation["key"]
        spans.append(
            {
                "start": found,
                "end": found + len(raw),
                "key": key,
                "id": citation["id"],
                "reason": citation.get("reason") or "",
                "title": format_reference(references.get(key), key) if key else "",
            }
        )
        cursor = found + len(raw)
    return spans


# --- concepts ------------------------------------------------------------------------------------


# --- audit ---------------------------------------------------------------------------------------
