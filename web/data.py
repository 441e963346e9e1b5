"""What each page shows, as plain dicts: one function per page, shared by the HTML views and the API.

Everything comes from ``kg.catalog`` over the read-only store (plus ``kg.search`` for search);
the few questions the catalog does not answer (the post list, organisations, claim lists) are
asked here through ``Catalog.select``. Nothing here knows about HTML.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from typing import Iterable

from flask import g, url_for

from kg import catalog as catalog_mod
from kg import search as search_mod
from kg import sparql
from kg.errors import KGError, NotFound
from kg.model import Reference
from kg.references import key_year, latex_decode, reference_authors, to_bibtex

from .resources import cached_answer, get_settings, get_store

#: Searches offered on the home page; each finds claims in the seed corpus.
EXAMPLE_SEARCHES = ("care transition protocols", "personal budgets", "Payment by Results clusters",
                    "integration of health and social care", "co-production")

#: Sort orders of the sources list: value -> label.
SOURCE_SORTS = {"citations": "times cited", "year": "year", "organisation": "organisation",
                "title": "title", "key": "key"}


def catalog() -> catalog_mod.Catalog:
    """Return this request's Catalog over the shared read-only store."""
    if "kg_catalog" not in g:
        g.kg_catalog = catalog_mod.Catalog(get_settings(), get_store())
    return g.kg_catalog


# --- the reference library, as built into the graph ---------------------------------------------

def library() -> tuple[dict[str, Reference], list]:
    """Return the built references and organisations (Catalog.library, Catalog.organisations).

    Kept per live store (resources.cached_answer), so a rebuild is picked up and nothing reads corpus/.
    """
    def read() -> tuple[dict[str, Reference], list]:
        return catalog().library()[0], catalog().organisations()

    return cached_answer("library", "", read)


def format_reference(ref: Reference | None, key: str) -> str:
    """Return a reference author-year style, as the corpus writes it: ``Department of Health (DH) (2011b), Title``."""
    if ref is None:
        return key
    author = latex_decode(ref.fields.get("author") or ref.fields.get("institution") or "").strip()
    short = latex_decode(ref.fields.get("shortauthor", "")).strip()
    if not author:
        forms = reference_authors(ref)
        author = forms[0] if forms else ""
    who = f"{author} ({short})" if short and short != author else author
    title = latex_decode(ref.title).strip()
    head = " ".join(part for part in (who, f"({key_year(ref)})" if ref.year else "") if part)
    return f"{head}, {title}" if head and title else (head or title or key)


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

def cite(query: str) -> dict:
    """Resolve a citation as typed or pasted (one or a group) to its sources; raise NotFound if it names none.

    An author-year naming several sources is NotFound too, its suggestions the sources to choose from.
    """
    found = cite_lookup(query)
    if found["key"] is None and not any(c["key"] for c in found["lookup"]):
        first = found["lookup"][0]
        raise NotFound(first["reason"] or f"no library entry matches {found['query']!r}",
                       hint="choose one of the sources suggested" if first["candidates"] else "see the list of sources",
                       suggestions=first["candidates"])
    return found


def cite_lookup(query: str) -> dict:
    """Look a citation up as typed or pasted (one or a group); raise NotFound only if nothing comes close.

    {query, key, locator, reference, title, url, api, lookup}: ``lookup`` has one entry per
    citation of the query, as `kg cite --json` lists them (kg.catalog.lookup: status resolved,
    ambiguous or unknown, with the sources to choose from), each with its page's URL; ``key`` is
    set when the query names exactly one source.
    """
    text = " ".join(query.split())
    if not text:
        raise KGError("type a citation to look up", hint="e.g. DH 2011b, Department of Health 2011 or (DH, 2011b:6)")
    references, organisations = library()
    entries = catalog_mod.lookup(text, references, organisations)
    if not any(e["key"] or e["status"] == "ambiguous" for e in entries):
        first = entries[0]
        raise NotFound(first["reason"] or f"no library entry matches {text!r}",
                       hint="choose one of the closest sources" if first["candidates"] else "see the list of sources",
                       suggestions=first["candidates"])
    keys = list(dict.fromkeys(e["key"] for e in entries if e["key"]))
    key = keys[0] if len(keys) == 1 and all(e["key"] for e in entries) else None
    listed = [{**e, "url": _source_url(e["key"], e["locator"]) if e["key"] else None,
               "choices": [{"key": k, "title": latex_decode(references[k].title) if k in references else None,
                            "year": references[k].year if k in references else None,
                            "reference": format_reference(references.get(k), k),
                            "url": _source_url(k, e["locator"])} for k in e["candidates"]]}
              for e in entries]
    return {"query": text, "key": key, "locator": listed[0]["locator"] if key else None,
            "reference": format_reference(references.get(key), key) if key else None,
            "title": latex_decode(references[key].title) if key in references else None,
            "url": _source_url(key, listed[0]["locator"]) if key else None,
            "api": url_for("api.source", key=key) if key else None, "lookup": listed}


def _source_url(key: str, locator: str | None) -> str:
    return url_for("pages.source", key=key, **({"locator": locator} if locator else {}))


def suggestions(keys: list[str]) -> list[dict]:
    """Return keys with their formatted references, for 'closest matches' lists."""
    references, _ = library()
    return [{"key": k, "reference": format_reference(references.get(k), k)} for k in keys]


# --- sources -------------------------------------------------------------------------------------

def _creators() -> dict[str, list[dict]]:
    rows = catalog().select("""
        SELECT ?key ?id ?name WHERE {
          ?s kg:citationKey ?key ; dcterms:creator ?org .
          ?org dcterms:identifier ?id ; skos:prefLabel ?name .
        } ORDER BY ?key ?name""")
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["key"], []).append({"id": r["id"], "name": r["name"]})
    return out


def sources(sort: str = "citations", org: str | None = None) -> dict:
    """List the sources with organisation and times cited, sorted; optionally one organisation's."""
    if sort not in SOURCE_SORTS:
        raise KGError(f"cannot sort sources by {sort!r}", hint="sort by one of " + ", ".join(SOURCE_SORTS))
    rows = catalog().sources("key" if sort == "organisation" else sort)
    creators = _creators()
    references, _ = library()
    organisation = None
    if org:
        organisation = organisation_info(org)
    out = []
    for row in rows:
        orgs = creators.get(row["key"], [])
        if org and org not in {o["id"] for o in orgs}:
            continue
        ref = references.get(row["key"])
        out.append({"key": row["key"], "iri": row["iri"], "title": latex_decode(row["title"] or ""),
                    "year": row["year"], "entry_type": row["type"], "times_cited": row["citations"],
                    "claims": row["claims"], "posts": row["posts"], "organisations": orgs,
                    "author": ", ".join(reference_authors(ref)) if ref else "",
                    "reference": format_reference(ref, row["key"])})
    if sort == "organisation":
        out.sort(key=lambda s: ((s["organisations"][0]["name"] if s["organisations"] else s["author"]).lower(),
                                str(s["year"] or ""), s["key"].lower()))
    return {"sort": sort, "organisation": organisation, "sources": out}


def canonical_key(key: str) -> str | None:
    """Return the library key ``key`` names ignoring case (``dh2011b`` -> ``DH2011b``), or None if none does."""
    keys = cached_answer("keys", "", lambda: catalog().keys())
    if key in keys:
        return key
    folded = key.casefold()
    return next((k for k in keys if k.casefold() == folded), None)


def source(key: str, locator: str | None = None) -> dict:
    """Return a source page: reference, BibTeX, citing claims by post, co-cited sources, concepts.

    With a page ``locator`` (from a pasted citation, ``(DH, 2011b:6)``), each citing claim says
    whether it cites that page (``at_locator``), and ``at_locator`` counts them.
    """
    found = cached_answer("source", key, lambda: catalog().source(key))
    references, _ = library()
    ref = references.get(key)
    locator = (locator or "").strip() or None
    citing = [{"post": {"id": p["id"], "title": p["title"]},
               "claims": [{"id": c["id"], "text": c["text"], "ordinal": c["ordinal"], "citations": c["citations"],
                           "at_locator": bool(locator) and any(catalog_mod.cites_page(ct["locator"], locator or "")
                                                               for ct in c["citations"])}
                          for c in p["claims"]]}
              for p in found["posts"]]
    return {
        "key": key, "iri": found["iri"], "title": latex_decode(found["title"] or ""),
        "reference": format_reference(ref, key), "year": found["year"], "entry_type": found["entry_type"],
        "url": found["url"], "bibtex": found["bibtex"] or bibtex_for([key]),
        "organisations": [{"id": c["id"], "name": c["name"], "acronym": c["acronym"]} for c in found["creators"]],
        "times_cited": found["citation_count"],
        "locator": locator,
        "at_locator": sum(1 for p in citing for c in p["claims"] if c["at_locator"]),
        "citing": citing,
        "co_cited": [{"key": c["key"], "label": format_reference(references.get(c["key"]), c["key"]),
                      "count": c["together"]} for c in found["co_cited"]],
        "concepts": [{"id": c["id"], "label": c["label"], "count": c["claims"]} for c in found["concepts"]],
        "listed_in": found["listed_in"],
    }


def organisation_info(org_id: str) -> dict:
    """Return one organisation (name, acronym, other names) or raise NotFound with the closest ids."""
    _, organisations = library()
    for org in organisations:
        if org.id == org_id:
            return {"id": org.id, "name": org.name, "acronym": org.acronym, "alt_names": list(org.alt_names),
                    "iri": f"{get_settings().base_iri}org/{org.id}"}
    import difflib
    ids = [o.id for o in organisations]
    close = difflib.get_close_matches(org_id, ids, n=5, cutoff=0.4)
    raise NotFound(f"no organisation {org_id!r}", hint="see the organisations on the sources page",
                   suggestions=close)


def organisation(org_id: str) -> dict:
    """Return an organisation with the sources it wrote."""
    info = organisation_info(org_id)
    listed = sources("year", org_id)["sources"]
    return {**info, "sources": listed}


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

def audit() -> dict:
    """Return unresolved citations and references no claim cites."""
    found = catalog().audit()
    return {"unresolved": [{"id": u["id"], "raw": u["raw"], "author": u["author"], "year": u["year"],
                            "reason": u["reason"], "claim_id": u["claim"]["id"], "claim_text": u["claim"]["text"],
                            "post_id": u["post"]["id"], "post_title": u["post"]["title"]} for u in found["unresolved"]],
            "unreadable": [{"id": u["id"], "raw": u["raw"], "reason": u["reason"], "claim_id": u["claim"]["id"],
                            "claim_text": u["claim"]["text"], "post_id": u["post"]["id"],
                            "post_title": u["post"]["title"]} for u in found.get("unreadable", [])],
            "never_cited": [{"key": r["key"], "title": latex_decode(r["title"] or "")} for r in found["uncited"]]}

