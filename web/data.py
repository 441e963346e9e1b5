"""The web's view of ``kg.catalog``: this request's Catalog, answers kept per live store, view helpers.

The answers are the catalog's (typed in kg.catalog), shown by the pages and the API as they are:
nothing here renames a field. What is left here is what only the web needs (a post cut into
segments for its page, a claim with its neighbours, the concept A-Z) and the questions the
catalog does not answer yet (the post list, claim lists), asked through ``Catalog.select``.
Nothing here knows about HTML.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Iterable

from flask import g

from kg import catalog as catalog_mod
from kg import search as search_mod
from kg import sparql
from kg.errors import KGError, NotFound
from kg.model import Reference
from kg.references import to_bibtex

from .resources import cached_answer, get_settings, get_store

#: Searches offered on the home page; each finds claims in the seed corpus.
EXAMPLE_SEARCHES = ("care transition protocols", "personal budgets", "Payment by Results clusters",
                    "integration of health and social care", "co-production")

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
    return to_bibtex(chosen) if chosen else ""


# --- overview ------------------------------------------------------------------------------------

def stats() -> dict:
    """Count what the graph holds."""
    return catalog().stats()


def home() -> dict:
    """Return the home page: statistics, example searches and the named SPARQL queries."""
    return {"stats": stats(), "examples": list(EXAMPLE_SEARCHES),
            "queries": [{k: v for k, v in q.to_dict().items() if k != "path"} for q in sparql.list_named_queries(get_settings())]}


# --- search --------------------------------------------------------------------------------------

def search(query: str, page: int = 1, filters: dict[str, list[str]] | None = None,
           limit: int | None = None) -> dict:
    """Run a search; the answer is exactly the JSON of `kg search --json`."""
    return search_mod.search(get_settings(), query, page=page, limit=limit, filters=filters or None)


def highlight_segments(highlight: str) -> list[dict]:
    """Split a highlight into plain-text pieces, marked or not, so the template escapes every piece."""
    pieces, marked = [], False
    for part in re.split(r"(</?mark>)", highlight):
        if part == "<mark>":
            marked = True
        elif part == "</mark>":
            marked = False
        elif part:
            pieces.append({"text": html.unescape(part), "marked": marked})
    return pieces


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
        raise NotFound(first["reason"] or f"no library entry matches {found['query']!r}",
                       hint="choose one of the sources suggested" if first["candidates"] else "see the list of sources",
                       suggestions=first["candidates"])
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
    rows = catalog().select("""
        SELECT ?id ?title ?kind ?excerpt (COUNT(DISTINCT ?claim) AS ?claims) (COUNT(DISTINCT ?citation) AS ?citations)
        WHERE {
          ?post a fabio:BlogPost ; dcterms:identifier ?id ; dcterms:title ?title .
          OPTIONAL { ?post kg:postKind ?kind } OPTIONAL { ?post kg:excerpt ?excerpt }
          OPTIONAL { ?claim dcterms:isPartOf ?post . OPTIONAL { ?citation cito:hasCitingEntity ?claim } }
        } GROUP BY ?id ?title ?kind ?excerpt ORDER BY LCASE(?title)""")
    places = catalog().select("""
        SELECT ?id ?dump ?start ?end WHERE {
          ?post a fabio:BlogPost ; dcterms:identifier ?id ; prov:qualifiedDerivation ?d .
          ?d prov:entity ?e ; kg:startLine ?start ; kg:endLine ?end . ?e dcterms:identifier ?dump .
        } ORDER BY ?id ?dump ?start""")
    provenance: dict[str, list[dict]] = {}
    for p in places:
        provenance.setdefault(p["id"], []).append({"dump": p["dump"], "start": p["start"], "end": p["end"]})
    return {"posts": [{"id": r["id"], "title": r["title"], "kind": r["kind"], "excerpt": bool(r["excerpt"]),
                       "claims": r["claims"], "citations": r["citations"],
                       "provenance": provenance.get(r["id"], [])} for r in rows]}


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
                parts.append({"kind": "text", "text": body[inner:citation["start"]]})
            parts.append({"kind": "cite", "text": body[citation["start"]:citation["end"]], "key": citation["key"],
                          "id": citation["id"], "reason": citation["reason"], "title": citation["title"]})
            inner = citation["end"]
        if inner < end:
            parts.append({"kind": "text", "text": body[inner:end]})
        segments.append({"kind": "claim", "id": claim["id"], "ordinal": claim["ordinal"],
                         "cites": bool(claim["citations"]), "parts": parts})
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
        spans.append({"start": found, "end": found + len(raw), "key": key, "id": citation["id"],
                      "reason": citation.get("reason") or "",
                      "title": format_reference(references.get(key), key) if key else ""})
        cursor = found + len(raw)
    return spans


CONTEXT_CLAIMS = 2


def claim(claim_id: str) -> dict:
    """Return a claim with its neighbours in the post (the claim in context)."""
    found = catalog().claim(claim_id)
    siblings = sorted(catalog().post(found["post"]["id"])["claims"], key=lambda c: c["ordinal"])
    index = next((i for i, c in enumerate(siblings) if c["id"] == claim_id), 0)
    brief = lambda c: {"id": c["id"], "text": c["text"], "ordinal": c["ordinal"]}  # noqa: E731
    references, _ = library()
    citations = [{**c, "label": format_reference(references.get(c["key"]), c["key"]) if c["key"] else None}
                 for c in found["citations"]]
    return {**found, "citations": citations,
            "before": [brief(c) for c in siblings[max(0, index - CONTEXT_CLAIMS):index]],
            "after": [brief(c) for c in siblings[index + 1:index + 1 + CONTEXT_CLAIMS]]}


def similar(claim_id: str, limit: int = 5) -> list[dict]:
    """Return claims most like this one (from the search index); NotFound for an unknown claim."""
    catalog().claim(claim_id)  # the graph's NotFound, which names no command, before the index's
    found = search_mod.more_like_this(get_settings(), claim_id, limit)
    return [{"id": r["id"], "text": r["text"], "post": r["post"]} for r in found["results"]]


def claims(post_id: str | None = None, concept_id: str | None = None, source_key: str | None = None,
           page: int = 1, limit: int = 100) -> dict:
    """List claims, of one post, concept or source, or all of them, a page at a time."""
    if post_id:
        items = post(post_id)["claims"]
    elif concept_id:
        items = catalog().concept(concept_id)["claims"]
    elif source_key:
        citing = catalog().citations_of(source_key)
        if not citing:
            catalog().source(source_key)  # NotFound with suggestions for an unknown key
        items = [catalog().claim(cid) for cid in dict.fromkeys(c["claim"]["id"] for c in citing)]
    else:
        rows = catalog().select("""
            SELECT ?id ?text ?ordinal ?postId ?postTitle WHERE {
              ?claim a kg:Claim ; dcterms:identifier ?id ; c4o:hasContent ?text ; kg:ordinal ?ordinal ;
                     dcterms:isPartOf ?post . ?post dcterms:identifier ?postId ; dcterms:title ?postTitle .
            } ORDER BY LCASE(?postTitle) ?ordinal""")
        items = [{"id": r["id"], "text": r["text"], "ordinal": r["ordinal"],
                  "post": {"id": r["postId"], "title": r["postTitle"]}} for r in rows]
    total = len(items)
    start = (page - 1) * limit
    return {"total": total, "page": page, "limit": limit, "pages": -(-total // limit),
            "claims": items[start:start + limit]}


# --- concepts ------------------------------------------------------------------------------------

def concepts() -> dict:
    """Return the concept tree and an A-Z index in which alternative labels point to their concept."""
    found = catalog().concepts()
    entries = []
    for c in found["az"]:
        entries.append({"label": c["label"], "id": c["id"], "pref_label": c["label"], "preferred": True})
        for alt in c["alt_labels"]:  # already each once ignoring case (kg.concepts.other_labels)
            entries.append({"label": alt, "id": c["id"], "pref_label": c["label"], "preferred": False})
    entries.sort(key=lambda e: (e["label"].casefold(), not e["preferred"]))
    letters: dict[str, list[dict]] = {}
    for entry in entries:
        first = entry["label"][:1].upper()
        letters.setdefault(first if first.isalpha() else "#", []).append(entry)
    return {"count": len(found["az"]), "tree": found["tree"], "az": sorted(letters.items())}


def _subtree(concept_id: str) -> set[str]:
    """Return the concept and every concept below it (the claims of a concept include theirs)."""
    rows = catalog().select("""
        SELECT DISTINCT ?id WHERE {
          ?top dcterms:identifier ?cid ; a skos:Concept .
          ?tag (skos:broader|^skos:narrower)* ?top .
          ?tag dcterms:identifier ?id .
        }""", cid=concept_id)
    return {r["id"] for r in rows} | {concept_id}


def concept(concept_id: str) -> dict:
    """Return a concept: labels, definition, neighbours, claims, most-cited sources, co-occurring concepts."""
    # Not kept like sources: a broad concept's answer lists every claim (8-10 MB of JSON at
    # 10,000 posts), and a few of them would outgrow the server's memory budget.
    found = catalog().concept(concept_id)
    subtree = _subtree(concept_id)
    together: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for claim_ in found["claims"]:
        for c in claim_["concepts"]:
            if c["id"] not in subtree:
                together[c["id"]] += 1
                labels[c["id"]] = c["label"]
    references, _ = library()
    return {
        "id": concept_id, "iri": found["iri"], "pref_label": found["label"], "alt_labels": found["alt_labels"],
        "definition": found["definition"], "broader": found["broader"], "narrower": found["narrower"],
        "related": found["related"],
        "claims": [{"id": c["id"], "text": c["text"], "post": c["post"],
                    "concepts": c["concepts"], "citations": c["citations"]} for c in found["claims"]],
        "sources": [{"key": s["key"], "label": format_reference(references.get(s["key"]), s["key"]),
                     "count": s["citations"]} for s in found["sources"]],
        "co_occurring": [{"id": cid, "label": labels[cid], "count": n}
                         for cid, n in sorted(together.items(), key=lambda kv: (-kv[1], labels[kv[0]].lower()))],
    }


# --- audit ---------------------------------------------------------------------------------------

def audit() -> catalog_mod.Audit:
    """Return unresolved citations and references no claim cites."""
    return catalog().audit()
