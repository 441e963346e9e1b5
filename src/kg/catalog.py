"""The read API over the built graph that the CLI and the web app share.

Every answer comes from SPARQL over the store (no re-running of the pipeline) and is plain
dicts and lists, ready for JSON. Our own queries are trusted and bounded, so they run in-process
on a read-only store; user-written SPARQL goes through kg.sparql instead.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import Any

import pyoxigraph as ox

from .citations import CitationResolver, parse_citation, parse_cite_query
from .concepts import other_labels
from .errors import NotFound
from .graph import Iris, _lit, build_info, open_store
from .model import Organisation, Reference
from .organisations import OrganisationIndex, load_organisations
from .references import check_library, latex_decode, load_library, parse_bibtex
from .settings import Settings
from .vocab import PREFIXES

_WHERE = re.compile(r"WHERE\s*\{")
_INTEGER_TYPES = {"integer", "int", "long", "nonNegativeInteger", "positiveInteger", "decimal"}


def _value(term: Any) -> Any:
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        kind = term.datatype.value.rsplit("#", 1)[-1]
        if kind in _INTEGER_TYPES and term.value.lstrip("-").isdigit():
            return int(term.value)
        if kind == "boolean":
            return term.value == "true"
        return term.value
    return term.value


class Catalog:
    """Read-only questions about one built graph; open once, ask many times."""

    def __init__(self, settings: Settings, store: ox.Store | None = None):
        self.settings = settings
        self.iris = Iris(settings.base_iri)
        self._store = store

    @property
    def store(self) -> ox.Store:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    def select(self, query: str, **bindings: str) -> list[dict[str, Any]]:
        """Run one of our SELECT queries; keyword arguments bind variables to string literals."""
        if bindings:
            # Oxigraph substitutions only bind projected variables, so bind with VALUES instead.
            values = "".join(f"VALUES ?{k} {{ {_lit(v)} }}\n" for k, v in bindings.items())
            query = _WHERE.sub(lambda m: m.group() + "\n" + values, query, count=1)
        answer = self.store.query(query, prefixes=PREFIXES)
        names = [v.value for v in answer.variables]
        return [{n: _value(t) for n, t in zip(names, solution)} for solution in answer]

    def _local(self, iri: str | None, kind: str) -> str | None:
        prefix = f"{self.settings.base_iri}{kind}/"
        return iri[len(prefix):] if iri and iri.startswith(prefix) else iri

    def _missing(self, what: str, name: str, candidates: list[str]) -> NotFound:
        # The hint names no command: the CLI and the web app each say where the full list is.
        close = closest(name, candidates)
        return NotFound(f"no {what} {name!r}", hint=("closest: " + ", ".join(close)) if close else None,
                        suggestions=close)

    # --- Overview ------------------------------------------------------------------------

    def stats(self) -> dict:
        """Count what the graph holds, with when it was built."""
        counts = self.select("""
            SELECT
              (COUNT(DISTINCT ?post) AS ?posts) (COUNT(DISTINCT ?claim) AS ?claims)
              (COUNT(DISTINCT ?citation) AS ?citations) (COUNT(DISTINCT ?resolved) AS ?resolved)
              (COUNT(DISTINCT ?source) AS ?sources) (COUNT(DISTINCT ?cited) AS ?cited_sources)
              (COUNT(DISTINCT ?org) AS ?organisations) (COUNT(DISTINCT ?concept) AS ?concepts)
              (COUNT(DISTINCT ?tagged) AS ?tagged_claims)
            WHERE {
              { ?post a fabio:BlogPost } UNION { ?claim a kg:Claim }
              UNION { ?citation a cito:Citation OPTIONAL { ?citation cito:hasCitedEntity ?cited .
                                                           BIND(?citation AS ?resolved) } }
              UNION { ?source kg:citationKey [] } UNION { ?org a foaf:Organization }
              UNION { ?concept a skos:Concept } UNION { ?tagged a kg:Claim ; dcterms:subject [] }
            }""")[0]
        counts["unresolved"] = counts["citations"] - counts.pop("resolved")
        info = build_info(self.settings)
        counts.update(triples=info["triples"], built_at=info["built_at"], base_iri=info["base_iri"])
        return counts

    # --- Sources -------------------------------------------------------------------------

    _SOURCES = """
        SELECT ?key ?title ?year ?type ?source (COUNT(DISTINCT ?citation) AS ?citations)
               (COUNT(DISTINCT ?claim) AS ?claims) (COUNT(DISTINCT ?post) AS ?posts)
        WHERE {
          ?source kg:citationKey ?key .
          OPTIONAL { ?source dcterms:title ?title }
          OPTIONAL { ?source dcterms:issued ?year }
          OPTIONAL { ?source kg:entryType ?type }
          OPTIONAL { ?citation cito:hasCitedEntity ?source ; cito:hasCitingEntity ?claim .
                     ?claim dcterms:isPartOf ?post }
        }
        GROUP BY ?key ?title ?year ?type ?source"""

    _SORTS = {
        "citations": lambda r: (-r["citations"], r["key"].lower()),
        "key": lambda r: r["key"].lower(),
        "year": lambda r: (str(r["year"] or ""), r["key"].lower()),
        "title": lambda r: ((r["title"] or "").lower(), r["key"].lower()),
    }

    def sources(self, sort: str = "citations") -> list[dict]:
        """List every source with its citation counts, sorted by citations, key, year or title."""
        order = self._SORTS.get(sort)
        if order is None:
            raise NotFound(f"unknown sort {sort!r}", hint="sort by one of " + ", ".join(self._SORTS))
        rows = self.select(self._SOURCES)
        for row in rows:
            row["iri"] = row.pop("source")
            row["year"] = str(row["year"]) if row["year"] is not None else None
        return sorted(rows, key=order)

    def keys(self) -> list[str]:
        """Return every citation key in the graph."""
        return [r["key"] for r in self.select("SELECT ?key { ?s kg:citationKey ?key } ORDER BY ?key")]

    def library(self) -> tuple[dict[str, Reference], list]:
        """Return the reference library this graph was built from (parsed from its BibTeX), with failures.

        Every reader asks this, not corpus/references.bib: a build made from another corpus (the
        corpus_dir setting) keeps its own library, and the checkout's may have changed since.
        """
        rows = self.select("SELECT ?bibtex { ?s kg:citationKey ?key ; kg:bibtex ?bibtex } ORDER BY ?key")
        return parse_bibtex("\n".join(r["bibtex"] for r in rows), f"the build in {self.settings.data_dir}")

    def organisations(self) -> list[Organisation]:
        """Return the organisation authority as built into the graph, sorted by id."""
        rows = self.select("""
            SELECT ?id ?name ?acronym (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts) WHERE {
              ?org a foaf:Organization ; dcterms:identifier ?id ; skos:prefLabel ?name .
              OPTIONAL { ?org skos:notation ?acronym } OPTIONAL { ?org skos:altLabel ?alt }
            } GROUP BY ?id ?name ?acronym ORDER BY ?id""")
        return [Organisation(id=r["id"], name=r["name"], acronym=r["acronym"],
                             alt_names=tuple(filter(None, (r["alts"] or "").split("\x1f")))) for r in rows]

    def source(self, key: str) -> dict:
        """Return a source: reference, BibTeX, citing claims by post, co-cited sources, concepts."""
        found = self.select("""
            SELECT ?source ?title ?year ?type ?bibtex ?url WHERE {
              ?source kg:citationKey ?key .
              OPTIONAL { ?source dcterms:title ?title }
              OPTIONAL { ?source dcterms:issued ?year }
              OPTIONAL { ?source kg:entryType ?type }
              OPTIONAL { ?source kg:bibtex ?bibtex }
              OPTIONAL { ?source fabio:hasURL ?url }
            } LIMIT 1""", key=key)
        if not found:
            raise self._missing("source", key, self.keys())
        row = found[0]
        creators = self.select("""
            SELECT ?org ?name ?acronym WHERE {
              ?source kg:citationKey ?key ; dcterms:creator ?org .
              OPTIONAL { ?org skos:prefLabel ?name } OPTIONAL { ?org skos:notation ?acronym }
            } ORDER BY ?name""", key=key)
        citations = self.citations_of(key)
        posts: dict[str, dict] = {}
        for cit in citations:
            post = posts.setdefault(cit["post"]["id"], {**cit["post"], "claims": {}})
            claim = post["claims"].setdefault(cit["claim"]["id"], {**cit["claim"], "citations": []})
            claim["citations"].append({"id": cit["id"], "raw": cit["raw"], "locator": cit["locator"]})
        co_cited = self.select("""
            SELECT ?other ?title (COUNT(DISTINCT ?group) AS ?together) WHERE {
              # From the source outwards (Oxigraph joins in the written order): starting from
              # every group took 2.6 s for DH2011b at 10,000 posts, this 0.8 s.
              ?source kg:citationKey ?key .
              ?c1 cito:hasCitedEntity ?source .
              ?group co:element ?c1 .
              ?group co:element ?c2 .
              ?c2 cito:hasCitedEntity ?s2 .
              FILTER (?s2 != ?source)
              ?s2 kg:citationKey ?other .
              OPTIONAL { ?s2 dcterms:title ?title }
            } GROUP BY ?other ?title ORDER BY DESC(?together) ?other""", key=key)
        concepts = self.select("""
            SELECT ?id ?label (COUNT(DISTINCT ?claim) AS ?claims) WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; cito:hasCitingEntity ?claim .
              ?claim dcterms:subject ?concept .
              ?concept dcterms:identifier ?id ; skos:prefLabel ?label .
            } GROUP BY ?id ?label ORDER BY DESC(?claims) ?id""", key=key)
        listed_in = self.select("""
            SELECT ?post ?title WHERE {
              ?source kg:citationKey ?key . ?p cito:citesForInformation ?source ;
                 dcterms:identifier ?post ; dcterms:title ?title .
            } ORDER BY ?title""", key=key)
        return {
            "key": key, "iri": row["source"], "title": row["title"],
            "year": str(row["year"]) if row["year"] is not None else None, "entry_type": row["type"],
            "url": row["url"], "bibtex": row["bibtex"],
            "creators": [{"id": self._local(c["org"], "org"), "name": c["name"], "acronym": c["acronym"]}
                         for c in creators],
            "citation_count": len(citations),
            "posts": [{**p, "claims": list(p["claims"].values())} for p in posts.values()],
            "co_cited": [{"key": c["other"], "title": c["title"], "together": c["together"]} for c in co_cited],
            "concepts": concepts,
            "listed_in": [{"id": r["post"], "title": r["title"]} for r in listed_in],
        }

    def citations_of(self, key: str) -> list[dict]:
        """Return every citation of a source: locator, raw text, claim and post, in post order."""
        rows = self.select("""
            SELECT ?cid ?raw ?locator ?group ?claimId ?text ?ordinal ?postId ?postTitle WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; dcterms:identifier ?cid ; c4o:hasContent ?raw ;
                        cito:hasCitingEntity ?claim .
              ?claim dcterms:identifier ?claimId ; c4o:hasContent ?text ; kg:ordinal ?ordinal ;
                     dcterms:isPartOf ?post .
              ?post dcterms:identifier ?postId ; dcterms:title ?postTitle .
              # Optional parts last: Oxigraph joins in the written order, and an early OPTIONAL
              # makes it enumerate every citation before binding the source (265 ms -> 4 ms).
              OPTIONAL { ?citation kg:citedLocator ?locator }
            } ORDER BY ?postTitle ?ordinal ?cid""", key=key)
        # The parenthesis each citation stands in, asked apart: as an OPTIONAL above, Oxigraph
        # joined every group of the graph to the citations (DH2011b at 10,000 posts: 3.4 -> 0.4 s).
        groups = {r["cid"]: r["group"] for r in self.select("""
            SELECT ?cid ?group WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; dcterms:identifier ?cid .
              ?g co:element ?citation ; c4o:hasContent ?group .
            }""", key=key)}
        return [{"id": r["cid"], "locator": r["locator"], "raw": r["raw"], "group": groups.get(r["cid"]),
                 "claim": {"id": r["claimId"], "text": r["text"], "ordinal": r["ordinal"]},
                 "post": {"id": r["postId"], "title": r["postTitle"]}} for r in rows]

    # --- Posts and claims ----------------------------------------------------------------

    def post(self, post_id: str) -> dict:
        """Return a post with its provenance, its claims (citations, concepts) and what it cites."""
        found = self.select("""
            SELECT ?post ?title ?kind ?excerpt ?body WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; dcterms:title ?title .
              OPTIONAL { ?post kg:postKind ?kind } OPTIONAL { ?post kg:excerpt ?excerpt }
              OPTIONAL { ?post c4o:hasContent ?body }
            }""", id=post_id)
        if not found:
            ids = [r["id"] for r in self.select("SELECT ?id { ?p a fabio:BlogPost ; dcterms:identifier ?id }")]
            raise self._missing("post", post_id, ids)
        row = found[0]
        provenance = self.select("""
            SELECT ?dump ?start ?end WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; prov:qualifiedDerivation ?d .
              ?d prov:entity ?e ; kg:startLine ?start ; kg:endLine ?end . ?e dcterms:identifier ?dump .
            } ORDER BY ?dump ?start""", id=post_id)
        claims = self._claims("?claim dcterms:isPartOf ?post . ?post a fabio:BlogPost ; dcterms:identifier ?id .",
                              id=post_id)
        listed = self.select("""
            SELECT ?key WHERE { ?post a fabio:BlogPost ; dcterms:identifier ?id ;
                                  cito:citesForInformation ?s . ?s kg:citationKey ?key } ORDER BY ?key""", id=post_id)
        cited = sorted({c["key"] for claim in claims for c in claim["citations"] if c["key"]})
        return {"id": post_id, "iri": row["post"], "title": row["title"], "kind": row["kind"],
                "excerpt": bool(row["excerpt"]), "body": row["body"], "provenance": provenance,
                "claims": claims, "cites": cited, "lists": [r["key"] for r in listed]}

    def _claims(self, pattern: str, **bindings: str) -> list[dict]:
        # ``pattern`` binds ?claim (and may use ?id, ?top, ?tag, ?post); the rest avoids those names.
        rows = self.select(f"""
            SELECT ?claim ?cid ?ordinal ?text ?section ?kind ?question ?start ?end ?postId ?postTitle WHERE {{
              {pattern}
              ?claim a kg:Claim ; dcterms:identifier ?cid ; kg:ordinal ?ordinal ; c4o:hasContent ?text ;
                     dcterms:isPartOf ?p ; oa:hasSelector ?sel .
              ?sel oa:start ?start ; oa:end ?end .
              ?p dcterms:identifier ?postId ; dcterms:title ?postTitle .
              OPTIONAL {{ ?claim kg:section ?section }} OPTIONAL {{ ?claim kg:claimKind ?kind }}
              OPTIONAL {{ ?claim kg:isQuestion ?question }}
            }} ORDER BY ?postTitle ?ordinal""", **bindings)
        citations = self.select(f"""
            SELECT ?cid ?citId ?raw ?locator ?key ?status ?reason ?function ?n WHERE {{
              {pattern}
              ?claim dcterms:identifier ?cid .
              ?citation cito:hasCitingEntity ?claim ; dcterms:identifier ?citId ; c4o:hasContent ?raw ;
                        kg:citationStatus ?status ; cito:hasCitationCharacterization ?function ; kg:ordinal ?n .
              OPTIONAL {{ ?citation kg:citedLocator ?locator }}
              OPTIONAL {{ ?citation cito:hasCitedEntity ?s . ?s kg:citationKey ?key }}
              OPTIONAL {{ ?citation kg:unresolvedReason ?reason }}
            }} ORDER BY ?cid ?n""", **bindings)
        subjects = self.select(f"""
            SELECT ?cid ?conceptId ?label WHERE {{
              {pattern}
              ?claim dcterms:identifier ?cid ; dcterms:subject ?concept .
              ?concept dcterms:identifier ?conceptId ; skos:prefLabel ?label .
            }} ORDER BY ?cid ?label""", **bindings)
        by_claim: dict[str, dict] = {}
        for r in rows:
            by_claim[r["cid"]] = {
                "id": r["cid"], "iri": r["claim"], "ordinal": r["ordinal"], "text": r["text"],
                "section": r["section"], "kind": r["kind"], "is_question": bool(r["question"]),
                "start": r["start"], "end": r["end"], "post": {"id": r["postId"], "title": r["postTitle"]},
                "citations": [], "concepts": [],
            }
        # A pattern can match a claim more than once (a concept page's claim tagged with two
        # concepts of the subtree): each citation and concept is listed once. A subquery with
        # DISTINCT did the same in SPARQL but 3x slower in Oxigraph.
        seen: set[tuple[str, str, str]] = set()
        for c in citations:
            if c["cid"] in by_claim and ("cit", c["cid"], c["citId"]) not in seen:
                seen.add(("cit", c["cid"], c["citId"]))
                by_claim[c["cid"]]["citations"].append({
                    "id": c["citId"], "raw": c["raw"], "locator": c["locator"], "key": c["key"],
                    "status": c["status"], "reason": c["reason"],
                    "function": c["function"].rsplit("/", 1)[-1]})
        for s in subjects:
            if s["cid"] in by_claim and ("concept", s["cid"], s["conceptId"]) not in seen:
                seen.add(("concept", s["cid"], s["conceptId"]))
                by_claim[s["cid"]]["concepts"].append({"id": s["conceptId"], "label": s["label"]})
        return list(by_claim.values())

    def claim(self, claim_id: str) -> dict:
        """Return one claim with its post, span, citations and concepts."""
        found = self._claims("?claim dcterms:identifier ?id .", id=claim_id)
        if not found:
            raise NotFound(f"no claim {claim_id!r}", hint="claim ids look like c1a2b3c4d5; search for its words")
        return found[0]

    # --- Concepts ------------------------------------------------------------------------

    def _concept_rows(self) -> list[dict]:
        return self.select("""
            SELECT ?concept ?id ?label (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts)
                   (SAMPLE(?def) AS ?definition) (COUNT(DISTINCT ?claim) AS ?claims) WHERE {
              ?concept a skos:Concept ; dcterms:identifier ?id ; skos:prefLabel ?label .
              OPTIONAL { ?concept skos:altLabel ?alt }
              OPTIONAL { ?concept skos:definition ?def }
              OPTIONAL { ?claim dcterms:subject ?concept }
            } GROUP BY ?concept ?id ?label""")

    def _links(self) -> list[dict]:
        return self.select("""
            SELECT ?narrow ?broad WHERE {
              { ?n skos:broader ?b } UNION { ?b skos:narrower ?n }
              ?n dcterms:identifier ?narrow . ?b dcterms:identifier ?broad .
            }""")

    def concepts(self) -> dict:
        """Return the concept scheme as a tree (broader -> narrower) and as an A-Z list."""
        rows = self._concept_rows()
        info = {r["id"]: {"id": r["id"], "label": r["label"], "claims": r["claims"],
                          "alt_labels": other_labels(r["label"], (r["alts"] or "").split("\x1f"))}
                for r in rows}
        children: dict[str, set[str]] = {}
        has_parent: set[str] = set()
        for link in self._links():
            if link["narrow"] in info and link["broad"] in info:
                children.setdefault(link["broad"], set()).add(link["narrow"])
                has_parent.add(link["narrow"])

        def node(cid: str, seen: frozenset) -> dict:
            kids = sorted(children.get(cid, set()) - seen, key=lambda k: info[k]["label"].lower())
            return {**info[cid], "narrower": [node(k, seen | {k}) for k in kids]}

        roots = sorted((c for c in info if c not in has_parent), key=lambda k: info[k]["label"].lower())
        az = sorted(info.values(), key=lambda c: c["label"].lower())
        return {"tree": [node(r, frozenset({r})) for r in roots], "az": az}

    def concept(self, concept_id: str) -> dict:
        """Return a concept: labels, definition, neighbours, its claims and the sources they cite."""
        # This concept's row only: the claim counts of every concept (_concept_rows) took 1.4 s
        # at 3,000 posts and the page does not show them.
        rows = self.select("""
            SELECT ?concept ?label (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts)
                   (SAMPLE(?def) AS ?definition) WHERE {
              ?concept a skos:Concept ; dcterms:identifier ?id ; skos:prefLabel ?label .
              OPTIONAL { ?concept skos:altLabel ?alt }
              OPTIONAL { ?concept skos:definition ?def }
            } GROUP BY ?concept ?label""", id=concept_id)
        if not rows:
            ids = [r["id"] for r in self.select("SELECT ?id { ?c a skos:Concept ; dcterms:identifier ?id }")]
            raise self._missing("concept", concept_id, ids)
        row = rows[0]
        related = self.select("""
            SELECT ?rel ?id ?label WHERE {
              ?c a skos:Concept ; dcterms:identifier ?cid .
              { ?c skos:broader ?o BIND("broader" AS ?rel) } UNION { ?o skos:narrower ?c BIND("broader" AS ?rel) }
              UNION { ?c skos:narrower ?o BIND("narrower" AS ?rel) } UNION { ?o skos:broader ?c BIND("narrower" AS ?rel) }
              UNION { ?c skos:related ?o BIND("related" AS ?rel) } UNION { ?o skos:related ?c BIND("related" AS ?rel) }
              ?o dcterms:identifier ?id ; skos:prefLabel ?label .
            } ORDER BY ?rel ?label""", cid=concept_id)
        neighbours: dict[str, list] = {"broader": [], "narrower": [], "related": []}
        for r in related:
            entry = {"id": r["id"], "label": r["label"]}
            if entry not in neighbours[r["rel"]]:
                neighbours[r["rel"]].append(entry)
        claims = self._claims("""
            ?top dcterms:identifier ?id ; a skos:Concept .
            ?tag (skos:broader|^skos:narrower)* ?top .
            ?claim dcterms:subject ?tag .""", id=concept_id)
        sources = self.select("""
            SELECT ?key ?title (COUNT(DISTINCT ?citation) AS ?citations) WHERE {
              ?top dcterms:identifier ?id ; a skos:Concept .
              ?tag (skos:broader|^skos:narrower)* ?top .
              ?claim dcterms:subject ?tag .
              ?citation cito:hasCitingEntity ?claim ; cito:hasCitedEntity ?s .
              ?s kg:citationKey ?key . OPTIONAL { ?s dcterms:title ?title }
            } GROUP BY ?key ?title ORDER BY DESC(?citations) ?key""", id=concept_id)
        return {"id": concept_id, "iri": row["concept"], "label": row["label"],
                "alt_labels": other_labels(row["label"], (row["alts"] or "").split("\x1f")),
                "definition": row["definition"], **neighbours, "claims": claims, "sources": sources}

    # --- Audit and linked data -----------------------------------------------------------

    def audit(self) -> dict:
        """Return unresolved citations (with claim and post) and sources no claim cites."""
        unresolved = self.select("""
            SELECT ?id ?raw ?author ?year ?reason ?claimId ?text ?postId ?postTitle WHERE {
              ?citation a cito:Citation ; kg:citationStatus "unresolved" ; dcterms:identifier ?id ;
                        c4o:hasContent ?raw ; cito:hasCitingEntity ?claim .
              OPTIONAL { ?citation kg:citedAuthor ?author } OPTIONAL { ?citation kg:citedYear ?year }
              OPTIONAL { ?citation kg:unresolvedReason ?reason }
              ?claim dcterms:identifier ?claimId ; c4o:hasContent ?text ; kg:ordinal ?ordinal ;
                     dcterms:isPartOf ?post .
              ?post dcterms:identifier ?postId ; dcterms:title ?postTitle .
            } ORDER BY ?postTitle ?ordinal ?id""")
        uncited = self.select("""
            SELECT ?key ?title WHERE {
              ?source kg:citationKey ?key . OPTIONAL { ?source dcterms:title ?title }
              FILTER NOT EXISTS { ?c a cito:Citation ; cito:hasCitedEntity ?source }
            } ORDER BY ?key""")
        unreadable = self.select("""
            SELECT ?id ?raw ?reason ?claimId ?text ?postId ?postTitle WHERE {
              ?odd a kg:UnreadableCitation ; dcterms:identifier ?id ; c4o:hasContent ?raw ;
                   kg:unreadableReason ?reason ; dcterms:isPartOf ?claim .
              ?claim dcterms:identifier ?claimId ; c4o:hasContent ?text ; kg:ordinal ?ordinal ;
                     dcterms:isPartOf ?post .
              ?post dcterms:identifier ?postId ; dcterms:title ?postTitle .
            } ORDER BY ?postTitle ?ordinal ?id""")
        return {
            "unreadable": [{"id": r["id"], "raw": r["raw"], "reason": r["reason"],
                            "claim": {"id": r["claimId"], "text": r["text"]},
                            "post": {"id": r["postId"], "title": r["postTitle"]}} for r in unreadable],
            "unresolved": [{"id": r["id"], "raw": r["raw"], "author": r["author"], "year": r["year"],
                            "reason": r["reason"], "claim": {"id": r["claimId"], "text": r["text"]},
                            "post": {"id": r["postId"], "title": r["postTitle"]}} for r in unresolved],
            "uncited": uncited,
        }

    def keys_for(self, post: str | None = None, concept: str | None = None, query: str | None = None) -> list[str]:
        """Return the keys of the sources a post cites, claims about a concept cite, or search hits cite."""
        keys: set[str] = set()
        if post is not None:
            self.post(post)  # NotFound with suggestions for a wrong id
            keys |= {r["key"] for r in self.select("""
                SELECT DISTINCT ?key WHERE {
                  ?p a fabio:BlogPost ; dcterms:identifier ?id .
                  { ?claim dcterms:isPartOf ?p ; cito:cites ?s } UNION { ?p cito:cites ?s }
                  ?s kg:citationKey ?key }""", id=post)}
        if concept is not None:
            keys |= {s["key"] for s in self.concept(concept)["sources"]}
        if query is not None:
            keys |= set(search_source_keys(self.settings, query))
        return sorted(keys, key=str.lower)

    def describe(self, iri: str) -> dict:
        """Return every statement about ``iri`` and every statement pointing at it."""
        node = ox.NamedNode(iri)
        out = [(q.predicate, q.object) for q in self.store.quads_for_pattern(node, None, None, ox.DefaultGraph())]
        inc = [(q.subject, q.predicate) for q in self.store.quads_for_pattern(None, None, node, ox.DefaultGraph())]
        if not out and not inc:
            raise NotFound(f"nothing is known about <{iri}>",
                           hint=f"resource IRIs start with {self.settings.base_iri}")
        return {"iri": iri,
                "properties": [{"predicate": p.value, "object": _term(o)} for p, o in out],
                "incoming": [{"subject": s.value, "predicate": p.value} for s, p in inc]}


def closest(name: str, candidates: list[str], n: int = 5) -> list[str]:
    """Return the candidates most like ``name``: close spellings first, else those containing it."""
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    if not close:
        lowered = name.lower()
        close = [c for c in candidates if lowered in c.lower()][:n]
    return close


def search_source_keys(settings: Settings, query: str, filters: dict[str, list[str]] | None = None) -> list[str]:
    """Return the keys of every source cited by every claim a search finds, most-cited first.

    Every page of the search, not only the first: this is what "export the sources of what I
    found" means, for `kg bibtex --query` and the search page's BibTeX button alike.
    """
    from . import search  # a later step: imported only when asked for

    counts: Counter[str] = Counter()
    page = 1
    while True:
        result = search.search(settings, query, page=page, limit=search.MAX_LIMIT, filters=filters or None)
        for hit in result["results"]:
            for citation in hit.get("citations", []):
                if citation.get("key"):
                    counts[citation["key"]] += 1
        if not result["results"] or page >= (result["pages"] or 0):
            break
        page += 1
    return [key for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].lower()))]


#: A locator written after a human form's year: "DH 2011b:6", "DH 2011b, p. 6", "DH 2011b pp. 6-7".
_TRAILING_LOCATOR = re.compile(r"(?:\d{4}[a-z]?)\s*(?::|,|\s)\s*(?:pp?\.\s*)?"
                               r"(?P<locator>[\divxlcdm]+(?:\s*[-–]\s*[\divxlcdm]+)?)\s*$", re.IGNORECASE)
_HUMAN_YEAR = re.compile(r"^(?P<author>.*?\D)[\s,]+(?P<year>(?:1[5-9]|20)\d\d[a-z]?)\b", re.IGNORECASE)


def _locator_of(text: str) -> str | None:
    parsed = parse_citation(text)
    if parsed:
        return parsed["locator"]  # type: ignore[return-value]
    match = _TRAILING_LOCATOR.search(text)
    return re.sub(r"\s*([-–])\s*", r"\1", match.group("locator")) if match else None


def _candidates(text: str, resolver: CitationResolver) -> list[str]:
    """Return the sources an author-year names when it names more than one (``Department of Health 2011``)."""
    parsed = parse_citation(text)
    if parsed is None:
        match = _HUMAN_YEAR.match(text)
        if match is None:
            return []
        parsed = {"author": match.group("author").strip(" ,"), "year": match.group("year")}
    _, _, candidates = resolver.resolve(str(parsed["author"]), str(parsed["year"]).lower())
    return candidates if len(candidates) > 1 else []


def lookup(query: str, references: dict[str, Reference], organisations: list[Organisation]) -> list[dict]:
    """Resolve a typed or pasted citation, one entry per citation of a group ``(DH, 2011b:6; DH, 2013:5)``.

    Each entry is {text, status, key, locator, reason, candidates}: ``resolved`` with its key and
    the page locator written; ``ambiguous`` with the sources to choose from; ``unknown`` with the
    closest keys. An empty query raises NotFound.
    """
    text = " ".join(query.split())
    inner = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    parts = [p.strip() for p in inner.split(";") if p.strip()] or ([text] if text else [])
    if not parts:
        raise NotFound("no citation given", hint="e.g. DH 2011b, Department of Health 2011 or (DH, 2011b:6)")
    resolver = CitationResolver(references, organisations)
    out = []
    for part in parts if len(parts) > 1 else [text]:
        entry: dict[str, Any] = {"text": part, "status": "resolved", "key": None,
                                 "locator": _locator_of(part.strip("()")), "reason": None, "candidates": []}
        try:
            entry["key"] = parse_cite_query(part, references, organisations)
            entry["candidates"] = [entry["key"]]
        except NotFound as exc:
            ambiguous = _candidates(part.strip("() "), resolver)
            entry.update(status="ambiguous" if ambiguous else "unknown", reason=exc.message,
                         candidates=ambiguous or list(exc.suggestions))
        out.append(entry)
    return out


def cite(settings: Settings, query: str) -> dict:
    """Look a citation up by key, human form or pasted group, in the build's own library.

    Returns {query, lookup, sources}: ``lookup`` as :func:`lookup` answers it, and for each source
    it resolved to (in the order written), its reference, every citation of it and the citing
    posts. With exactly one source, ``reference``, ``citations`` and ``posts`` are that source's.
    Raises NotFound (with the closest keys) when no part of the query names a source or several
    to choose from.
    """
    cat = Catalog(settings)
    references, _ = cat.library()
    found_lookup = lookup(query, references, cat.organisations())
    for entry in found_lookup:
        entry["choices"] = [{"key": k, "title": latex_decode(references[k].title) if k in references else None,
                             "year": references[k].year if k in references else None} for k in entry["candidates"]]
    if not any(e["key"] or e["status"] == "ambiguous" for e in found_lookup):
        first = found_lookup[0]
        raise NotFound(first["reason"] or f"no library entry matches {query!r}",
                       hint=("closest: " + ", ".join(first["candidates"])) if first["candidates"] else None,
                       suggestions=first["candidates"])
    sources = []  # an author-year naming several sources leaves this empty: the caller lists the choices
    for key in dict.fromkeys(e["key"] for e in found_lookup if e["key"]):
        found = cat.source(key)
        locators = [e["locator"] for e in found_lookup if e["key"] == key and e["locator"]]
        reference = {name: found[name] for name in ("key", "title", "year", "bibtex", "entry_type", "url", "iri",
                                                    "creators", "co_cited", "concepts")}
        sources.append({"reference": reference, "locator": locators[0] if locators else None,
                        "citations": cat.citations_of(key), "posts": found["posts"]})
    answer: dict[str, Any] = {"query": " ".join(query.split()), "lookup": found_lookup, "sources": sources}
    if len(sources) == 1 and all(e["key"] for e in found_lookup):
        answer.update(reference=sources[0]["reference"], locator=sources[0]["locator"],
                      citations=sources[0]["citations"], posts=sources[0]["posts"])
    else:
        answer.update(reference=None, locator=None, citations=[], posts=[])
    return answer


def cites_page(locator: str | None, page: str) -> bool:
    """Return True when a citation's locator covers ``page`` ("6" in "6", "5-7", "6, 9"; roman too)."""
    if not locator or not page.strip():
        return False
    wanted = page.strip().casefold()
    for part in re.split(r"\s*,\s*", locator.strip()):
        first, dash, last = (re.split(r"\s*([-–])\s*", part, maxsplit=1) + ["", ""])[:3]
        if not dash:
            if part.casefold() == wanted:
                return True
            continue
        low, high, at = _page_number(first), _page_number(last), _page_number(wanted)
        if low is not None and high is not None and at is not None and min(low, high) <= at <= max(low, high):
            return True
    return False


_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def _page_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    lowered = text.casefold()
    if lowered and all(ch in _ROMAN for ch in lowered):
        total = 0
        for i, ch in enumerate(lowered):
            value = _ROMAN[ch]
            total += -value if i + 1 < len(lowered) and _ROMAN[lowered[i + 1]] > value else value
        return -total  # front matter sorts before page 1, and never equals an arabic page
    return None


def refs_check(settings: Settings) -> dict:
    """Audit the references of a build: unresolved citations, uncited entries and the library's own problems.

    The library audited is the one the build holds; entries its source file could not parse
    are read from the configured library file (they never reached the build).
    """
    cat = Catalog(settings)
    report = cat.audit()
    references, _ = cat.library()
    report["problems"] = [problem.as_dict() for problem in check_library(references)]
    _, failures = load_library(settings.references_file, missing_ok=True)
    report["problems"] += [{"kind": "unreadable", "keys": [], "message": f"{f.item}: {f.message}"} for f in failures]
    authority = OrganisationIndex(load_organisations(settings.ontology_dir / "organisations.ttl"))
    authority.mint(references.values())
    keys_of: dict[str, list[str]] = {}
    for org, key in authority.unknown:
        keys_of.setdefault(org.id, []).append(key)
    minted = {org.id: org for org, _ in authority.unknown}
    report["problems"] += [{"kind": "unknown-organisation", "keys": sorted(keys),
                            "message": f"{', '.join(sorted(keys))}: corporate author {minted[org_id].name!r} is not in "
                                       f"ontology/organisations.ttl; kg minted org/{org_id} for it (add it there with "
                                       f"its acronym and forms)"}
                           for org_id, keys in keys_of.items()]
    return report


def _term(term: Any) -> dict:
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["lang"] = term.language
        elif not term.datatype.value.endswith("#string"):
            out["datatype"] = term.datatype.value
        return out
    return {"type": "uri" if isinstance(term, ox.NamedNode) else "bnode", "value": term.value}


# Thin module-level entry points for callers that ask one question.

def stats(settings: Settings) -> dict:
    """Count what the built graph holds."""
    return Catalog(settings).stats()


def sources(settings: Settings, sort: str = "citations") -> list[dict]:
    """List every source with its citation counts."""
    return Catalog(settings).sources(sort)


def source(settings: Settings, key: str) -> dict:
    """Return one source with everything that cites it."""
    return Catalog(settings).source(key)


def citations_of(settings: Settings, key: str) -> list[dict]:
    """Return every citation of one source."""
    return Catalog(settings).citations_of(key)


def post(settings: Settings, post_id: str) -> dict:
    """Return one post with its claims."""
    return Catalog(settings).post(post_id)


def claim(settings: Settings, claim_id: str) -> dict:
    """Return one claim."""
    return Catalog(settings).claim(claim_id)


def concept(settings: Settings, concept_id: str) -> dict:
    """Return one concept with its claims and sources."""
    return Catalog(settings).concept(concept_id)


def concepts(settings: Settings) -> dict:
    """Return the concept scheme as a tree and an A-Z list."""
    return Catalog(settings).concepts()


def audit(settings: Settings) -> dict:
    """Return unresolved citations and uncited sources."""
    return Catalog(settings).audit()


def keys_for(settings: Settings, post: str | None = None, concept: str | None = None,
             query: str | None = None) -> list[str]:
    """Return the citation keys for a post, a concept (incl. narrower) or a search."""
    return Catalog(settings).keys_for(post=post, concept=concept, query=query)


def describe(settings: Settings, iri: str) -> dict:
    """Return the statements about and pointing at one resource."""
    return Catalog(settings).describe(iri)
