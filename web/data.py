"""The web's view of ``kg.catalog``: this request's Catalog, answers kept per live store, view helpers.

The answers are the catalog's (typed in kg.catalog), shown by the pages and the API as they are:
nothing here renames a field. What is left here is what only the web needs (a post cut into
segments for its page, a claim with its neighbours, the concept A-Z) and the questions the
catalog does not answer yet (the post list, claim lists), asked through ``Catalog.select``.
Nothing here knows about HTML.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import g

from kg import catalog as catalog_mod
from kg import sparql
from kg.errors import KGError, NotFound
from kg.model import Reference
from kg.references import to_bibtex

from .resources import cached_answer, get_settings, get_store

#: Searches offered on the home page; each finds claims in the seed corpus.
EXAMPLE_SEARCHES = (
    "care transition protocols",
    "personal budgets",
    "Payment by Results clusters",
    "integration of health and social care",
    "co-production",
)

SOURCE_SORTS = catalog_mod.SOURCE_SORTS
format_reference = catalog_mod.format_reference


def catalog() -> catalog_mod.Catalog:
    """Return this request's Catalog over the shared read-only store."""
    if "kg_catalog" not in g:
        # Answers it may be asked again (the library, a source) are kept per live store.
        g.kg_catalog = catalog_mod.Catalog(get_settings(), get_store(), memo=cached_answer)
    return g.kg_catalog


# --- the reference library, as built into the graph ---------------------------------------------


def library() -> tuple[dict[str, Reference], list]:
    """Return the built references and organisations (Catalog.library, Catalog.organisations), kept per live store."""
    return catalog().library()[0], catalog().organisations()


def bibtex_for(keys: Iterable[str]) -> str:
    """Return BibTeX for the given keys (unknown keys are skipped), in the given order."""
    references, _ = library()
    chosen = [references[k] for k in dict.fromkeys(keys) if k in references]
    return to_bibtex(chosen, library=references) if chosen else ""  # names learnt from the whole library


# --- overview ------------------------------------------------------------------------------------


def stats() -> dict:
    """Count what the graph holds."""
    return catalog().stats()


def home() -> dict:
    """Return the home page: statistics, example searches and the named SPARQL queries."""
    return {
        "stats": stats(),
        "examples": list(EXAMPLE_SEARCHES),
        "queries": [
            {k: v for k, v in q.to_dict().items() if k != "path"} for q in sparql.list_named_queries(get_settings())
        ],
    }


# --- search --------------------------------------------------------------------------------------


def search_source_keys(query: str, filters: dict[str, list[str]] | None) -> list[str]:
    """Return the keys of every source cited by every claim a search finds, most-cited first."""
    return catalog_mod.search_source_keys(get_settings(), query, filters)


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


def suggestions(keys: list[str]) -> list[dict]:
    """Return keys with their formatted references, for 'closest matches' lists."""
    references, _ = library()
    return [{"key": k, "reference": format_reference(references.get(k), k)} for k in keys]


# --- sources -------------------------------------------------------------------------------------


def sources(sort: str = "citations", org: str | None = None) -> catalog_mod.SourceList:
    """List the sources with organisation and times cited, sorted; optionally one organisation's."""
    if sort not in SOURCE_SORTS:  # a bad parameter (400), where the catalog's own callers get NotFound
        raise KGError(f"cannot sort sources by {sort!r}", hint="sort by one of " + ", ".join(SOURCE_SORTS))
    return catalog().source_list(sort, org)


def canonical_key(key: str) -> str | None:
    """Return the library key ``key`` names ignoring case (``dh2011b`` -> ``DH2011b``), or None if none does."""
    keys = cached_answer("keys", "", lambda: catalog().keys())
    if key in keys:
        return key
    folded = key.casefold()
    return next((k for k in keys if k.casefold() == folded), None)


def source(key: str, locator: str | None = None) -> catalog_mod.Source:
    """Return Catalog.source, kept per live store, marked at page ``locator``."""
    found = cached_answer("source", key, lambda: catalog().source(key))
    return catalog_mod.mark_locator(found, locator)


def organisation(org_id: str) -> catalog_mod.OrganisationAnswer:
    """Return an organisation with the sources it wrote."""
    return catalog().organisation(org_id)


# --- posts and claims ----------------------------------------------------------------------------


def posts() -> dict:
    """List the posts with their claim and citation counts and where they were found."""
    return catalog().post_list()


def post(post_id: str) -> dict:
    """Return a post: text, provenance, claims with citations and concepts, sources it cites."""
    return catalog().post(post_id)


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
    references, _ = library()
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


def claim(claim_id: str) -> dict:
    """Return a claim with its neighbours in the post (the claim in context)."""
    return catalog().claim_in_context(claim_id)


def similar(claim_id: str, limit: int = 5) -> list[dict]:
    """Return claims most like this one (from the search index); NotFound for an unknown claim."""
    return catalog().similar(claim_id, limit)


def claims(
    post_id: str | None = None,
    concept_id: str | None = None,
    source_key: str | None = None,
    page: int = 1,
    limit: int = 100,
) -> dict:
    """List claims, of one post, concept or source, or all of them, a page at a time."""
    return catalog().claim_list(post_id, concept_id, source_key, page, limit)


# --- concepts ------------------------------------------------------------------------------------


def concepts() -> dict:
    """Return the concept tree and an A-Z index in which alternative labels point to their concept."""
    return catalog().concept_index()


def concept(concept_id: str) -> dict:
    """Return a concept: labels, definition, neighbours, claims, most-cited sources, co-occurring concepts."""
    # Not kept like sources: a broad concept's answer lists every claim (several MB of JSON for a
    # broad concept in a big corpus), and a few of them would outgrow the server's memory budget.
    return catalog().concept(concept_id)


# --- audit ---------------------------------------------------------------------------------------


def audit() -> catalog_mod.Audit:
    """Return unresolved citations and references no claim cites."""
    return catalog().audit()
