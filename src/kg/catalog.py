"""The read API over the built graph that the CLI and the web app share.

Every answer comes from SPARQL over the store (no re-running of the pipeline) and is typed
(one TypedDict per kind of answer below), plain dicts and lists ready for JSON. This is the one
read model: `kg X --json`, `/api/X` and the page templates all show these answers as they are,
so each field has one name everywhere. Our own queries are trusted and bounded, so they run
in-process on a read-only store; user-written SPARQL goes through kg.sparql instead.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypedDict, TypeVar
from urllib.parse import quote, urlencode

import pyoxigraph as ox

from . import store as store_mod
from .citations import CitationResolver, function_label, parse_citation, parse_cite_query
from .concepts import other_labels
from .errors import KGError, NotFound, PastLastPage, closest
from .graph import Iris, build_info
from .model import Organisation, Reference
from .organisations import OrganisationIndex, load_organisations
from .paging import page_of
from .references import (
    check_library,
    format_reference,
    formatted_references,
    latex_decode,
    load_library,
    parse_bibtex,
    reference_authors,
    to_bibtex,
    to_csl_json,
)
from .settings import Settings
from .sparql import bind_values
from .vocab import PREFIXES

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


T = TypeVar("T")

#: How a Catalog keeps an answer it may be asked again: ``memo(kind, key, compute)``. The default
#: computes every time; the web app passes one that keeps answers per live store.
Memo = Callable[[str, str, Callable[[], Any]], Any]


def _no_memo(kind: str, key: str, compute: Callable[[], T]) -> T:
    return compute()


# --- The answers, one type per kind ---------------------------------------------------------------
# Field names are the public ones (web/openapi.yaml): the CLI's --json, the API and the templates
# read these very keys, so a field is never renamed on its way out.


class OrgRef(TypedDict):
    id: str | None
    name: str | None
    acronym: str | None


class PostRef(TypedDict):
    id: str
    title: str


class CitationBrief(TypedDict):
    id: str
    raw: str
    locator: str | None
    function: str  #: the CiTO citation function's local name (citesAsEvidence, includesQuotationFrom)
    function_label: str  #: its word for a reader (evidence, quotation)


class CitingClaim(TypedDict):
    id: str
    text: str
    ordinal: int
    citations: list[CitationBrief]
    at_locator: bool  #: the claim cites the page asked for (Source.locator)


class CitingPost(TypedDict):
    post: PostRef
    claims: list[CitingClaim]


class Counted(TypedDict, total=False):
    id: str
    key: str
    label: str
    count: int


class SourceRow(TypedDict):
    """One row of the sources list."""

    key: str
    iri: str
    title: str
    year: str | None
    entry_type: str | None
    times_cited: int
    claims: int
    posts: int
    organisations: list[OrgRef]
    author: str
    reference: str  #: the reference as the corpus writes it, author-year (format_reference)


class SourceList(TypedDict):
    sort: str
    organisation: OrganisationInfo | None
    total: int
    page: int
    pages: int
    limit: int | None
    sources: list[SourceRow]


class Source(TypedDict):
    """A source with everything that cites it: `kg cite --json`'s sources, /api/source, /source."""

    key: str
    iri: str
    title: str
    reference: str
    year: str | None
    entry_type: str | None
    url: str | None
    bibtex: str
    csl: dict  #: the reference as one CSL-JSON item (kg.references.to_csl_json), as `kg export --format csl-json`
    formatted: dict[str, str]  #: the reference in each of kg.references.REFERENCE_STYLES (harvard, apa)
    organisations: list[OrgRef]
    times_cited: int
    locator: str | None  #: a page asked for (``(DH, 2011b:6)``): the claims citing it are marked
    at_locator: int
    function: str | None  #: the citation function ``citing`` is narrowed to (Catalog.source's ``function``)
    functions: list[Counted]  #: each citation function of its citations (id, label, count), most used first
    citing: list[CitingPost]
    co_cited: list[Counted]
    concepts: list[Counted]
    listed_in: list[PostRef]


class Choice(TypedDict):
    key: str
    title: str | None
    year: str | None
    reference: str
    url: str


class LookupEntry(TypedDict):
    text: str
    status: str  #: resolved, ambiguous or unknown
    key: str | None
    locator: str | None
    reason: str | None
    candidates: list[str]
    url: str | None
    choices: list[Choice]


class CiteAnswer(TypedDict):
    """`kg cite --json` and /api/cite: the lookup, and each source it resolved to."""

    query: str
    key: str | None  #: set when the query names exactly one source
    locator: str | None
    reference: str | None
    title: str | None
    url: str | None
    api: str | None
    lookup: list[LookupEntry]
    sources: list[Source]
    citations: list[dict]  #: the one source's every citation (citations_of), else empty


class ClaimRef(TypedDict):
    id: str
    text: str


class Unresolved(TypedDict):
    id: str
    raw: str
    author: str | None
    year: str | None
    reason: str | None
    claim: ClaimRef
    post: PostRef


class Unreadable(TypedDict):
    id: str
    raw: str
    reason: str
    claim: ClaimRef
    post: PostRef


class KeyTitle(TypedDict):
    key: str
    title: str


class Audit(TypedDict):
    """/api/audit; `kg refs check --json` adds the library's own ``problems``."""

    unresolved: list[Unresolved]
    unreadable: list[Unreadable]
    never_cited: list[KeyTitle]


class OrganisationInfo(TypedDict):
    id: str
    name: str
    acronym: str | None
    alt_names: list[str]
    iri: str


class OrganisationAnswer(OrganisationInfo):
    sources: list[SourceRow]


def source_path(key: str, locator: str | None = None) -> str:
    """Return the path of a source's page (``/source/DH2011b?locator=6``): resource pages sit at their IRI's path."""
    return f"/source/{quote(key, safe='')}" + ("?" + urlencode({"locator": locator}) if locator else "")


def mark_locator(found: Source, locator: str | None) -> Source:
    """Return a copy of a source whose claims say whether they cite page ``locator`` (``at_locator``)."""
    locator = (locator or "").strip() or None
    citing: list[CitingPost] = [
        {
            "post": p["post"],
            "claims": [
                {
                    **c,
                    "at_locator": bool(locator)
                    and any(cites_page(ct["locator"], locator or "") for ct in c["citations"]),
                }
                for c in p["claims"]
            ],
        }
        for p in found["citing"]
    ]
    return {
        **found,
        "locator": locator,
        "citing": citing,
        "at_locator": sum(1 for p in citing for c in p["claims"] if c["at_locator"]),
    }


def only_function(found: Source, function: str) -> Source:
    """Return a copy of a source whose ``citing`` keeps the claims citing it with CiTO ``function``."""
    known = [f["id"] for f in found["functions"]]
    if function not in known:
        raise KGError(
            f"no citation of {found['key']} has the function {function!r}",
            hint="use one of " + ", ".join(known) if known else "no claim cites this source",
        )
    citing: list[CitingPost] = []
    for p in found["citing"]:
        claims = [c for c in p["claims"] if any(ct["function"] == function for ct in c["citations"])]
        if claims:
            citing.append({"post": p["post"], "claims": claims})
    return {**found, "function": function, "citing": citing}


#: Claims a concept's answer lists a page (Catalog.concept's ``limit``).
CONCEPT_PAGE_SIZE = 50

#: Sort orders of the sources list: value -> label.
SOURCE_SORTS = {
    "citations": "times cited",
    "year": "year",
    "organisation": "organisation",
    "title": "title",
    "key": "key",
}


#: The most completions one answer gives (``limit=``).
COMPLETION_LIMIT = 10

#: Sort orders of the posts list: value -> label.
POST_SORTS = {"title": "title", "date": "date (newest first)", "claims": "claims (most first)"}


class Catalog:
    """Read-only questions about one built graph; open once, ask many times."""

    def __init__(self, settings: Settings, store: store_mod.LiveStore | None = None, memo: Memo | None = None):
        self.settings = settings
        self.iris = Iris(settings.base_iri)
        self._store = store
        self._memo: Memo = memo or _no_memo

    @property
    def store(self) -> store_mod.LiveStore:
        if self._store is None:
            self._store = store_mod.open_live(self.settings)
        return self._store

    def select(self, query: str, **bindings: str) -> list[dict[str, Any]]:
        """Run one of our SELECT queries; keyword arguments bind variables to string literals."""
        answer = self.store.query(bind_values(query, bindings), prefixes=PREFIXES)
        if not isinstance(answer, ox.QuerySolutions):
            raise TypeError("Catalog.select runs SELECT queries only")
        names = [v.value for v in answer.variables]
        return [{n: _value(t) for n, t in zip(names, solution)} for solution in answer]

    def _local(self, iri: str | None, kind: str) -> str | None:
        prefix = f"{self.settings.base_iri}{kind}/"
        return iri[len(prefix) :] if iri and iri.startswith(prefix) else iri

    def _missing(self, what: str, name: str, candidates: list[str]) -> NotFound:
        # The hint names no command: the CLI and the web app each say where the full list is.
        close = closest(name, candidates)
        return NotFound(
            f"no {what} {name!r}", hint=("closest: " + ", ".join(close)) if close else None, suggestions=close
        )

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

    # The counts are the build's (kg.stats: the kg:statistics graph); an uncited source has none.
    _SOURCES = """
        SELECT ?key ?title ?year ?type ?source ?citations ?claims ?posts
        WHERE {
          ?source kg:citationKey ?key .
          OPTIONAL { ?source dcterms:title ?title }
          OPTIONAL { ?source dcterms:issued ?year }
          OPTIONAL { ?source kg:entryType ?type }
          OPTIONAL { GRAPH kg:statistics {
                       ?source kg:postCount ?posts ; kg:citationCount ?citations ; kg:claimCount ?claims } }
        }"""

    _SORTS: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "citations": lambda r: (-r["times_cited"], r["key"].lower()),
        "key": lambda r: r["key"].lower(),
        "year": lambda r: (str(r["year"] or ""), r["key"].lower()),
        "title": lambda r: ((r["title"] or "").lower(), r["key"].lower()),
        "organisation": lambda r: (
            (r["organisations"][0]["name"] if r["organisations"] else r["author"]).lower(),
            str(r["year"] or ""),
            r["key"].lower(),
        ),
    }

    def sources(self, sort: str = "citations", org: str | None = None) -> list[SourceRow]:
        """List every source (or one organisation's) with its citation counts, sorted by SOURCE_SORTS."""
        order = self._SORTS.get(sort)
        if order is None:
            raise NotFound(f"unknown sort {sort!r}", hint="sort by one of " + ", ".join(self._SORTS))
        creators: dict[str, list[OrgRef]] = {}
        for r in self.select("""
                SELECT ?key ?id ?name ?acronym WHERE {
                  ?s kg:citationKey ?key ; dcterms:creator ?org .
                  ?org dcterms:identifier ?id ; skos:prefLabel ?name . OPTIONAL { ?org skos:notation ?acronym }
                } ORDER BY ?key ?name"""):
            creators.setdefault(r["key"], []).append({"id": r["id"], "name": r["name"], "acronym": r["acronym"]})
        references, _ = self.library()
        rows: list[SourceRow] = []
        for row in self.select(self._SOURCES):
            orgs = creators.get(row["key"], [])
            if org and org not in {o["id"] for o in orgs}:
                continue
            ref = references.get(row["key"])
            rows.append(
                {
                    "key": row["key"],
                    "iri": row["source"],
                    "title": latex_decode(row["title"] or ""),
                    "year": str(row["year"]) if row["year"] is not None else None,
                    "entry_type": row["type"],
                    "times_cited": row["citations"] or 0,
                    "claims": row["claims"] or 0,
                    "posts": row["posts"] or 0,
                    "organisations": orgs,
                    "author": ", ".join(reference_authors(ref)) if ref else "",
                    "reference": format_reference(ref, row["key"]),
                }
            )
        return sorted(rows, key=order)

    def source_list(
        self, sort: str = "citations", org: str | None = None, page: int = 1, limit: int | None = None
    ) -> SourceList:
        """Return the sources page: the sort, the organisation asked for (NotFound if unknown) and page ``page``
        of its sources, ``limit`` a page (None: all). Raises PastLastPage past the last page."""
        organisation = self.organisation_info(org) if org else None
        every = self.sources(sort, org)
        shown, pages = page_of(every, page, limit, "source")
        return {
            "sort": sort,
            "organisation": organisation,
            "total": len(every),
            "page": page,
            "pages": pages,
            "limit": limit,
            "sources": shown,
        }

    def organisation_info(self, org_id: str) -> OrganisationInfo:
        """Return one organisation (name, acronym, other names) or raise NotFound with the closest ids."""
        organisations = self.organisations()
        for org in organisations:
            if org.id == org_id:
                return {
                    "id": org.id,
                    "name": org.name,
                    "acronym": org.acronym,
                    "alt_names": list(org.alt_names),
                    "iri": f"{self.settings.base_iri}org/{org.id}",
                }
        close = closest(org_id, [o.id for o in organisations], cutoff=0.4)
        raise NotFound(
            f"no organisation {org_id!r}", hint="see the organisations on the sources page", suggestions=close
        )

    def organisation(self, org_id: str) -> OrganisationAnswer:
        """Return an organisation with the sources it wrote, by year."""
        return {**self.organisation_info(org_id), "sources": self.sources("year", org_id)}

    def keys(self) -> list[str]:
        """Return every citation key in the graph."""
        return [r["key"] for r in self.select("SELECT ?key { ?s kg:citationKey ?key } ORDER BY ?key")]

    def library(self) -> tuple[dict[str, Reference], list]:
        """Return the reference library this graph was built from (parsed from its BibTeX), with failures.

        Every reader asks this, not corpus/references.bib: a build made from another corpus (the
        corpus_dir setting) keeps its own library, and the checkout's may have changed since.
        """

        def read() -> tuple[dict[str, Reference], list]:
            rows = self.select("SELECT ?bibtex { ?s kg:citationKey ?key ; kg:bibtex ?bibtex } ORDER BY ?key")
            return parse_bibtex("\n".join(r["bibtex"] for r in rows), f"the build in {self.settings.data_dir}")

        return self._memo("library", "", read)

    def organisations(self) -> list[Organisation]:
        """Return the organisation authority as built into the graph, sorted by id."""
        return self._memo("organisations", "", self._organisations)

    def _organisations(self) -> list[Organisation]:
        rows = self.select("""
            SELECT ?id ?name ?acronym (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts) WHERE {
              ?org a foaf:Organization ; dcterms:identifier ?id ; skos:prefLabel ?name .
              OPTIONAL { ?org skos:notation ?acronym } OPTIONAL { ?org skos:altLabel ?alt }
            } GROUP BY ?id ?name ?acronym ORDER BY ?id""")
        return [
            Organisation(
                id=r["id"],
                name=r["name"],
                acronym=r["acronym"],
                alt_names=tuple(filter(None, (r["alts"] or "").split("\x1f"))),
            )
            for r in rows
        ]

    def source(self, key: str, locator: str | None = None, function: str | None = None) -> Source:
        """Return a source: reference, BibTeX, citing claims by post, co-cited sources, concepts.

        With a page ``locator`` (from a pasted citation, ``(DH, 2011b:6)``), each citing claim says
        whether it cites that page (``at_locator``), and ``at_locator`` counts them. The answer is
        kept (``memo``) per key; the marking is made fresh on a copy. With a CiTO citation
        ``function`` (``citesAsEvidence``; one of the answer's ``functions``), ``citing`` keeps only
        the claims that cite it so.
        """
        found: Source = self._memo("source", key, functools.partial(self._source, key))
        if function:
            found = only_function(found, function)
        return mark_locator(found, locator) if locator else found

    def canonical_key(self, key: str) -> str | None:
        """Return the library key ``key`` names ignoring case (``dh2011b`` -> ``DH2011b``), or None if none does."""
        keys = self._memo("keys", "", self.keys)
        if key in keys:
            return key
        folded = key.casefold()
        return next((k for k in keys if k.casefold() == folded), None)

    def bibtex_for(self, keys: Iterable[str]) -> str:
        """Return BibTeX for the given keys (unknown keys are skipped), in the given order."""
        references, _ = self.library()
        chosen = [references[k] for k in dict.fromkeys(keys) if k in references]
        return to_bibtex(chosen, library=references) if chosen else ""  # names learnt from the whole library

    def suggestions(self, keys: list[str]) -> list[dict]:
        """Return keys with their formatted references, for 'closest matches' lists."""
        references, _ = self.library()
        return [{"key": k, "reference": format_reference(references.get(k), k)} for k in keys]

    def _source(self, key: str) -> Source:
        rows = self.select(
            """
            SELECT ?source ?title ?year ?type ?bibtex ?url WHERE {
              ?source kg:citationKey ?key .
              OPTIONAL { ?source dcterms:title ?title }
              OPTIONAL { ?source dcterms:issued ?year }
              OPTIONAL { ?source kg:entryType ?type }
              OPTIONAL { ?source kg:bibtex ?bibtex }
              OPTIONAL { ?source fabio:hasURL ?url }
            } LIMIT 1""",
            key=key,
        )
        if not rows:
            raise self._missing("source", key, self.keys())
        row = rows[0]
        creators = self.select(
            """
            SELECT ?org ?name ?acronym WHERE {
              ?source kg:citationKey ?key ; dcterms:creator ?org .
              OPTIONAL { ?org skos:prefLabel ?name } OPTIONAL { ?org skos:notation ?acronym }
            } ORDER BY ?name""",
            key=key,
        )
        citations = self.citations_of(key)
        posts: dict[str, dict] = {}
        for cit in citations:
            post = posts.setdefault(cit["post"]["id"], {"post": cit["post"], "claims": {}})
            claim = post["claims"].setdefault(
                cit["claim"]["id"], {**cit["claim"], "citations": [], "at_locator": False}
            )
            claim["citations"].append(
                {
                    "id": cit["id"],
                    "raw": cit["raw"],
                    "locator": cit["locator"],
                    "function": cit["function"],
                    "function_label": function_label(cit["function"]),
                }
            )
        functions = Counter(cit["function"] for cit in citations)
        co_cited = self.select(
            """
            SELECT ?other ?title (COUNT(DISTINCT ?group) AS ?together) WHERE {
              # From the source outwards (Oxigraph joins in the written order): starting from
              # every group is several times slower for a most-cited source.
              ?source kg:citationKey ?key .
              ?c1 cito:hasCitedEntity ?source .
              ?group co:element ?c1 .
              ?group co:element ?c2 .
              ?c2 cito:hasCitedEntity ?s2 .
              FILTER (?s2 != ?source)
              ?s2 kg:citationKey ?other .
              OPTIONAL { ?s2 dcterms:title ?title }
            } GROUP BY ?other ?title ORDER BY DESC(?together) ?other""",
            key=key,
        )
        concepts = self.select(
            """
            SELECT ?id ?label (COUNT(DISTINCT ?claim) AS ?claims) WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; cito:hasCitingEntity ?claim .
              ?claim dcterms:subject ?concept .
              ?concept dcterms:identifier ?id ; skos:prefLabel ?label .
            } GROUP BY ?id ?label ORDER BY DESC(?claims) ?id""",
            key=key,
        )
        listed_in = self.select(
            """
            SELECT ?post ?title WHERE {
              ?source kg:citationKey ?key . ?p cito:citesForInformation ?source ;
                 dcterms:identifier ?post ; dcterms:title ?title .
            } ORDER BY ?title""",
            key=key,
        )
        references, _ = self.library()
        ref = references.get(key)
        csl = to_csl_json([ref])[0] if ref else {"id": key, "type": "document", "title": row["title"] or key}
        found: Source = {
            "key": key,
            "iri": row["source"],
            "title": latex_decode(row["title"] or ""),
            "reference": format_reference(ref, key),
            "year": str(row["year"]) if row["year"] is not None else None,
            "entry_type": row["type"],
            "url": row["url"],
            "bibtex": row["bibtex"] or (to_bibtex([ref]) if ref else ""),
            "csl": csl,
            "formatted": formatted_references(csl),
            "organisations": [
                {"id": self._local(c["org"], "org"), "name": c["name"], "acronym": c["acronym"]} for c in creators
            ],
            "times_cited": len(citations),
            "locator": None,
            "at_locator": 0,
            "function": None,
            "functions": [
                {"id": name, "label": function_label(name), "count": n}
                for name, n in sorted(functions.items(), key=lambda item: (-item[1], item[0]))
            ],
            "citing": [{"post": p["post"], "claims": list(p["claims"].values())} for p in posts.values()],
            "co_cited": [
                {
                    "key": c["other"],
                    "label": format_reference(references.get(c["other"]), c["other"]),
                    "count": c["together"],
                }
                for c in co_cited
            ],
            "concepts": [{"id": c["id"], "label": c["label"], "count": c["claims"]} for c in concepts],
            "listed_in": [{"id": r["post"], "title": r["title"]} for r in listed_in],
        }
        return found

    def citations_of(self, key: str) -> list[dict]:
        """Return every citation of a source: locator, raw text, CiTO function, claim and post, in post order."""
        rows = self.select(
            """
            SELECT ?cid ?raw ?locator ?function ?group ?claimId ?text ?ordinal ?postId ?postTitle WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; dcterms:identifier ?cid ; c4o:hasContent ?raw ;
                        cito:hasCitingEntity ?claim ; cito:hasCitationCharacterization ?function .
              ?claim dcterms:identifier ?claimId ; c4o:hasContent ?text ; kg:ordinal ?ordinal ;
                     dcterms:isPartOf ?post .
              ?post dcterms:identifier ?postId ; dcterms:title ?postTitle .
              # Optional parts last: Oxigraph joins in the written order, and an early OPTIONAL
              # makes it enumerate every citation before binding the source.
              OPTIONAL { ?citation kg:citedLocator ?locator }
            } ORDER BY ?postTitle ?ordinal ?cid""",
            key=key,
        )
        # The parenthesis each citation stands in, asked apart: as an OPTIONAL above, Oxigraph
        # joined every group of the graph to the citations of a most-cited source.
        groups = {
            r["cid"]: r["group"]
            for r in self.select(
                """
            SELECT ?cid ?group WHERE {
              ?source kg:citationKey ?key .
              ?citation cito:hasCitedEntity ?source ; dcterms:identifier ?cid .
              ?g co:element ?citation ; c4o:hasContent ?group .
            }""",
                key=key,
            )
        }
        return [
            {
                "id": r["cid"],
                "locator": r["locator"],
                "raw": r["raw"],
                "function": r["function"].rsplit("/", 1)[-1],
                "group": groups.get(r["cid"]),
                "claim": {"id": r["claimId"], "text": r["text"], "ordinal": r["ordinal"]},
                "post": {"id": r["postId"], "title": r["postTitle"]},
            }
            for r in rows
        ]

    # --- Posts and claims ----------------------------------------------------------------

    def post(self, post_id: str) -> dict:
        """Return a post with its provenance, its claims (citations, concepts) and what it cites."""
        found = self.select(
            """
            SELECT ?post ?title ?kind ?excerpt ?body WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; dcterms:title ?title .
              OPTIONAL { ?post kg:postKind ?kind } OPTIONAL { ?post kg:excerpt ?excerpt }
              OPTIONAL { ?post c4o:hasContent ?body }
            }""",
            id=post_id,
        )
        if not found:
            ids = [r["id"] for r in self.select("SELECT ?id { ?p a fabio:BlogPost ; dcterms:identifier ?id }")]
            raise self._missing("post", post_id, ids)
        row = found[0]
        provenance = self.select(
            """
            SELECT ?dump ?start ?end WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; prov:qualifiedDerivation ?d .
              ?d prov:entity ?e ; kg:startLine ?start ; kg:endLine ?end . ?e dcterms:identifier ?dump .
            } ORDER BY ?dump ?start""",
            id=post_id,
        )
        claims = self._claims(
            "?claim dcterms:isPartOf ?post . ?post a fabio:BlogPost ; dcterms:identifier ?id .", id=post_id
        )
        listed = self.select(
            """
            SELECT ?key WHERE { ?post a fabio:BlogPost ; dcterms:identifier ?id ;
                                  cito:citesForInformation ?s . ?s kg:citationKey ?key } ORDER BY ?key""",
            id=post_id,
        )
        cited = sorted({c["key"] for claim in claims for c in claim["citations"] if c["key"]})
        return {
            "id": post_id,
            "iri": row["post"],
            "title": row["title"],
            "kind": row["kind"],
            "excerpt": bool(row["excerpt"]),
            "body": row["body"],
            "provenance": provenance,
            "claims": claims,
            "cites": cited,
            "lists": [r["key"] for r in listed],
        }

    def _claims(self, pattern: str, **bindings: str) -> list[dict]:
        # ``pattern`` binds ?claim (and may use ?id, ?top, ?tag, ?post); the rest avoids those names.
        rows = self.select(
            f"""
            SELECT ?claim ?cid ?ordinal ?text ?section ?kind ?question ?start ?end ?postId ?postTitle WHERE {{
              {pattern}
              ?claim a kg:Claim ; dcterms:identifier ?cid ; kg:ordinal ?ordinal ; c4o:hasContent ?text ;
                     dcterms:isPartOf ?p ; oa:hasSelector ?sel .
              ?sel oa:start ?start ; oa:end ?end .
              ?p dcterms:identifier ?postId ; dcterms:title ?postTitle .
              OPTIONAL {{ ?claim kg:section ?section }} OPTIONAL {{ ?claim kg:claimKind ?kind }}
              OPTIONAL {{ ?claim kg:isQuestion ?question }}
            }} ORDER BY ?postTitle ?ordinal""",
            **bindings,
        )
        citations = self.select(
            f"""
            SELECT ?cid ?citId ?raw ?locator ?key ?status ?reason ?function ?n WHERE {{
              {pattern}
              ?claim dcterms:identifier ?cid .
              ?citation cito:hasCitingEntity ?claim ; dcterms:identifier ?citId ; c4o:hasContent ?raw ;
                        kg:citationStatus ?status ; cito:hasCitationCharacterization ?function ; kg:ordinal ?n .
              OPTIONAL {{ ?citation kg:citedLocator ?locator }}
              OPTIONAL {{ ?citation cito:hasCitedEntity ?s . ?s kg:citationKey ?key }}
              OPTIONAL {{ ?citation kg:unresolvedReason ?reason }}
            }} ORDER BY ?cid ?n""",
            **bindings,
        )
        subjects = self.select(
            f"""
            SELECT ?cid ?conceptId ?label WHERE {{
              {pattern}
              ?claim dcterms:identifier ?cid ; dcterms:subject ?concept .
              ?concept dcterms:identifier ?conceptId ; skos:prefLabel ?label .
            }} ORDER BY ?cid ?label""",
            **bindings,
        )
        by_claim: dict[str, dict] = {}
        for r in rows:
            by_claim[r["cid"]] = {
                "id": r["cid"],
                "iri": r["claim"],
                "ordinal": r["ordinal"],
                "text": r["text"],
                "section": r["section"],
                "kind": r["kind"],
                "is_question": bool(r["question"]),
                "start": r["start"],
                "end": r["end"],
                "post": {"id": r["postId"], "title": r["postTitle"]},
                "citations": [],
                "concepts": [],
            }
        # A pattern can match a claim more than once (a concept page's claim tagged with two
        # concepts of the subtree): each citation and concept is listed once. A subquery with
        # DISTINCT did the same in SPARQL but 3x slower in Oxigraph.
        seen: set[tuple[str, str, str]] = set()
        for c in citations:
            if c["cid"] in by_claim and ("cit", c["cid"], c["citId"]) not in seen:
                seen.add(("cit", c["cid"], c["citId"]))
                by_claim[c["cid"]]["citations"].append(
                    {
                        "id": c["citId"],
                        "raw": c["raw"],
                        "locator": c["locator"],
                        "key": c["key"],
                        "status": c["status"],
                        "reason": c["reason"],
                        "function": c["function"].rsplit("/", 1)[-1],
                    }
                )
        for s in subjects:
            if s["cid"] in by_claim and ("concept", s["cid"], s["conceptId"]) not in seen:
                seen.add(("concept", s["cid"], s["conceptId"]))
                by_claim[s["cid"]]["concepts"].append({"id": s["conceptId"], "label": s["label"]})
        return list(by_claim.values())

    def _subtree(self, concept_id: str) -> list[str]:
        """A concept's id and the ids of every concept below it (skos:broader/narrower, any depth)."""
        below = self.select(
            """
            SELECT DISTINCT ?id WHERE {
              ?top dcterms:identifier ?cid ; a skos:Concept .
              ?tag (skos:broader|^skos:narrower)* ?top .
              ?tag dcterms:identifier ?id .
            } ORDER BY ?id""",
            cid=concept_id,
        )
        return list(dict.fromkeys([concept_id, *(r["id"] for r in below)]))

    def _listed_claims(
        self, field: str | None, values: list[str], page: int, limit: int, sort: str = "post"
    ) -> tuple[int, list[dict], dict[str, int]]:
        """Return how many claims a list holds (those whose ``field``, concept, source or post, holds
        one of ``values``; every claim when ``field`` is None), page ``page`` of them (``limit`` a
        page) in order ``sort`` (kg.search.CLAIM_SORTS), and for a concept's list how many of them
        each concept is tagged on.

        The search index orders them (kg.search.Searcher.listed_claims): ordering a broad concept's
        claims by title in the graph decodes every title for every comparison, seconds at 2,000
        posts, and the index keeps each post's date beside it. The graph then answers that page's
        claims only.
        """
        from . import search  # a later step: imported only when asked for

        listed = search.searcher_for(self.settings).listed_claims(field, values, page, limit, sort)
        if not listed.ids:
            return listed.total, [], listed.tagged
        # Our own IRIs: they hold no character that ends an IRI reference.
        chosen = "VALUES ?claim { " + " ".join(f"<{self.iris.claim(cid)}>" for cid in listed.ids) + " }"
        by_id = {c["id"]: c for c in self._claims(chosen)}
        return listed.total, [by_id[cid] for cid in listed.ids if cid in by_id], listed.tagged

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
        info = {
            r["id"]: {
                "id": r["id"],
                "label": r["label"],
                "claims": r["claims"],
                "alt_labels": other_labels(r["label"], (r["alts"] or "").split("\x1f")),
            }
            for r in rows
        }
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

    #: Claims shown each side of a claim on its page.
    CONTEXT_CLAIMS = 2

    def claim_in_context(self, claim_id: str) -> dict:
        """Return a claim with the claims around it in its post, each citation with its reference."""
        found = self.claim(claim_id)
        siblings = sorted(self.post(found["post"]["id"])["claims"], key=lambda c: c["ordinal"])
        index = next((i for i, c in enumerate(siblings) if c["id"] == claim_id), 0)
        references, _ = self.library()

        def brief(c: dict) -> dict:
            return {"id": c["id"], "text": c["text"], "ordinal": c["ordinal"]}

        citations = [
            {**c, "label": format_reference(references.get(c["key"]), c["key"]) if c["key"] else None}
            for c in found["citations"]
        ]
        return {
            **found,
            "citations": citations,
            "before": [brief(c) for c in siblings[max(0, index - self.CONTEXT_CLAIMS) : index]],
            "after": [brief(c) for c in siblings[index + 1 : index + 1 + self.CONTEXT_CLAIMS]],
        }

    def similar(self, claim_id: str, limit: int = 5) -> list[dict]:
        """Return the claims most like one claim (from the search index); NotFound for an unknown claim."""
        from . import search  # a later step: imported only when asked for

        self.claim(claim_id)  # the graph's NotFound, which names no command, before the index's
        found = search.more_like_this(self.settings, claim_id, limit)
        return [{"id": r["id"], "text": r["text"], "post": r["post"]} for r in found["results"]]

    def claim_list(
        self,
        post_id: str | None = None,
        concept_id: str | None = None,
        source_key: str | None = None,
        page: int = 1,
        limit: int = 100,
        sort: str = "post",
    ) -> dict:
        """List claims, of one post, concept (and those below it) or source, or all of them, a page at a
        time, in order ``sort`` (kg.search.CLAIM_SORTS: post order, or by post date newest or oldest first)."""
        from . import search  # a later step: imported only when asked for

        search.check_claim_sort(sort)
        if post_id:
            # One post's claims share its date, so every order is the post's own.
            items = self.post(post_id)["claims"]
            total = len(items)
            start = (page - 1) * limit
            claims = items[start : start + limit]
        elif concept_id:
            ids = [r["id"] for r in self.select("SELECT ?id { ?c a skos:Concept ; dcterms:identifier ?id }")]
            if concept_id not in ids:
                raise self._missing("concept", concept_id, ids)
            total, claims, _ = self._listed_claims("concept", self._subtree(concept_id), page, limit, sort)
        elif source_key:
            if self.canonical_key(source_key) != source_key:
                self.source(source_key)  # NotFound with suggestions for an unknown key
            total, claims, _ = self._listed_claims("source", [source_key], page, limit, sort)
        else:
            total, claims, _ = self._listed_claims(None, [], page, limit, sort)
        return {"total": total, "page": page, "limit": limit, "pages": -(-total // limit), "claims": claims}

    def post_list(self) -> dict:
        """List the posts with their claim and citation counts and where they were found."""
        rows = self.select("""
            SELECT ?id ?title ?kind ?excerpt (COUNT(DISTINCT ?claim) AS ?claims) (COUNT(DISTINCT ?citation) AS ?citations)
            WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; dcterms:title ?title .
              OPTIONAL { ?post kg:postKind ?kind } OPTIONAL { ?post kg:excerpt ?excerpt }
              OPTIONAL { ?claim dcterms:isPartOf ?post . OPTIONAL { ?citation cito:hasCitingEntity ?claim } }
            } GROUP BY ?id ?title ?kind ?excerpt ORDER BY LCASE(?title)""")
        places = self.select("""
            SELECT ?id ?dump ?start ?end WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id ; prov:qualifiedDerivation ?d .
              ?d prov:entity ?e ; kg:startLine ?start ; kg:endLine ?end . ?e dcterms:identifier ?dump .
            } ORDER BY ?id ?dump ?start""")
        provenance: dict[str, list[dict]] = {}
        for p in places:
            provenance.setdefault(p["id"], []).append({"dump": p["dump"], "start": p["start"], "end": p["end"]})
        return {
            "posts": [
                {
                    "id": r["id"],
                    "title": r["title"],
                    "kind": r["kind"],
                    "excerpt": bool(r["excerpt"]),
                    "claims": r["claims"],
                    "citations": r["citations"],
                    "provenance": provenance.get(r["id"], []),
                }
                for r in rows
            ]
        }

    def _concept_labels(self) -> dict[str, str]:
        """Every concept's preferred label by its id."""
        rows = self.select("SELECT ?id ?label { ?c a skos:Concept ; dcterms:identifier ?id ; skos:prefLabel ?label }")
        return {r["id"]: r["label"] for r in rows}

    def concept(self, concept_id: str, page: int = 1, limit: int = CONCEPT_PAGE_SIZE, sort: str = "post") -> dict:
        """Return a concept: labels, definition, neighbours, claims, most-cited sources, co-occurring concepts.

        Its claims include those of the concepts below it, ``limit`` a page (``page``, ``pages``,
        ``claims_total``) in order ``sort`` (kg.search.CLAIM_SORTS, ``sort``), so the answer grows
        with the page, not with the corpus; the sources and
        the co-occurring concepts count every claim. Raises PastLastPage past the last page.
        """
        from . import search  # a later step: imported only when asked for

        search.check_claim_sort(sort)
        # This concept's row only: the claim counts of every concept (_concept_rows) are slow on a
        # big graph and the page does not show them.
        rows = self.select(
            """
            SELECT ?concept ?label (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts)
                   (SAMPLE(?def) AS ?definition) (SAMPLE(?note) AS ?scope) WHERE {
              ?concept a skos:Concept ; dcterms:identifier ?id ; skos:prefLabel ?label .
              OPTIONAL { ?concept skos:altLabel ?alt }
              OPTIONAL { ?concept skos:definition ?def }
              OPTIONAL { ?concept skos:scopeNote ?note }
            } GROUP BY ?concept ?label""",
            id=concept_id,
        )
        if not rows:
            ids = [r["id"] for r in self.select("SELECT ?id { ?c a skos:Concept ; dcterms:identifier ?id }")]
            raise self._missing("concept", concept_id, ids)
        row = rows[0]
        related = self.select(
            """
            SELECT ?rel ?id ?label WHERE {
              ?c a skos:Concept ; dcterms:identifier ?cid .
              { ?c skos:broader ?o BIND("broader" AS ?rel) } UNION { ?o skos:narrower ?c BIND("broader" AS ?rel) }
              UNION { ?c skos:narrower ?o BIND("narrower" AS ?rel) } UNION { ?o skos:broader ?c BIND("narrower" AS ?rel) }
              UNION { ?c skos:related ?o BIND("related" AS ?rel) } UNION { ?o skos:related ?c BIND("related" AS ?rel) }
              ?o dcterms:identifier ?id ; skos:prefLabel ?label .
            } ORDER BY ?rel ?label""",
            cid=concept_id,
        )
        neighbours: dict[str, list] = {"broader": [], "narrower": [], "related": []}
        for r in related:
            entry = {"id": r["id"], "label": r["label"]}
            if entry not in neighbours[r["rel"]]:
                neighbours[r["rel"]].append(entry)
        subtree = self._subtree(concept_id)
        total, claims, tagged = self._listed_claims("concept", subtree, page, limit, sort)
        pages = -(-total // limit)
        if page > max(pages, 1):
            raise PastLastPage(page, pages, total, limit)
        sources = self.select(
            """
            SELECT ?key ?title ?citations WHERE {
              GRAPH kg:statistics {
                ?top dcterms:identifier ?id . ?count kg:concept ?top ; kg:source ?s ; kg:citationCount ?citations .
                ?s kg:citationKey ?key }
              OPTIONAL { ?s dcterms:title ?title }
            } ORDER BY DESC(?citations) ?key""",
            id=concept_id,
        )
        # The concepts tagged on its claims besides itself and those below it, most shared first.
        labels = self._memo("concept_labels", "", self._concept_labels)
        below = set(subtree)
        together = {cid: n for cid, n in tagged.items() if cid not in below and cid in labels}
        references, _ = self.library()
        return {
            "id": concept_id,
            "iri": row["concept"],
            "pref_label": row["label"],
            "alt_labels": other_labels(row["label"], (row["alts"] or "").split("\x1f")),
            "definition": row["definition"],
            "scope_note": row["scope"],
            "broader": neighbours["broader"],
            "narrower": neighbours["narrower"],
            "related": neighbours["related"],
            "claims": [
                {
                    "id": c["id"],
                    "text": c["text"],
                    "post": c["post"],
                    "concepts": c["concepts"],
                    "citations": c["citations"],
                }
                for c in claims
            ],
            "claims_total": total,
            "sort": sort,
            "page": page,
            "pages": pages,
            "limit": limit,
            "sources": [
                {
                    "key": s["key"],
                    "label": format_reference(references.get(s["key"]), s["key"]),
                    "count": s["citations"],
                }
                for s in sources
            ],
            "co_occurring": [
                {"id": cid, "label": labels[cid], "count": n}
                for cid, n in sorted(together.items(), key=lambda kv: (-kv[1], labels[kv[0]].lower()))
            ],
        }

    def concept_index(self) -> dict:
        """Return the concept tree and an A-Z index, by first letter, in which other labels point to their concept."""
        found = self.concepts()
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

    # --- Audit and linked data -----------------------------------------------------------

    def audit(self) -> Audit:
        """Return unresolved and unreadable citations (with claim and post) and sources no claim cites."""
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
            "unreadable": [
                {
                    "id": r["id"],
                    "raw": r["raw"],
                    "reason": r["reason"],
                    "claim": {"id": r["claimId"], "text": r["text"]},
                    "post": {"id": r["postId"], "title": r["postTitle"]},
                }
                for r in unreadable
            ],
            "unresolved": [
                {
                    "id": r["id"],
                    "raw": r["raw"],
                    "author": r["author"],
                    "year": r["year"],
                    "reason": r["reason"],
                    "claim": {"id": r["claimId"], "text": r["text"]},
                    "post": {"id": r["postId"], "title": r["postTitle"]},
                }
                for r in unresolved
            ],
            "never_cited": [{"key": r["key"], "title": latex_decode(r["title"] or "")} for r in uncited],
        }

    def keys_for(self, post: str | None = None, concept: str | None = None, query: str | None = None) -> list[str]:
        """Return the keys of the sources a post cites, claims about a concept cite, or search hits cite."""
        keys: set[str] = set()
        if post is not None:
            self.post(post)  # NotFound with suggestions for a wrong id
            keys |= {
                r["key"]
                for r in self.select(
                    """
                SELECT DISTINCT ?key WHERE {
                  ?p a fabio:BlogPost ; dcterms:identifier ?id .
                  { ?claim dcterms:isPartOf ?p ; cito:cites ?s } UNION { ?p cito:cites ?s }
                  ?s kg:citationKey ?key }""",
                    id=post,
                )
            }
        if concept is not None:
            keys |= {s["key"] for s in self.concept(concept)["sources"]}
        if query is not None:
            keys |= set(search_source_keys(self.settings, query))
        return sorted(keys, key=str.lower)

    def cite(self, query: str) -> CiteAnswer:
        """Look a citation up by key, human form or pasted group, in the build's own library.

        ``lookup`` has one entry per citation of the query (:func:`lookup`), each with its
        source page's path and the sources to choose from; ``sources`` has each source it
        resolved to (in the order written), marked at the page written. ``key``, ``reference``,
        ``url`` and ``citations`` are set when the query names exactly one source; an author-year
        naming several leaves ``sources`` empty, for the caller to list the choices. Raises
        NotFound (with the closest keys) when no part of the query names a source or several.
        """
        text = " ".join(query.split())
        if not text:
            raise KGError(
                "type a citation to look up", hint="e.g. DH 2011b, Department of Health 2011 or (DH, 2011b:6)"
            )
        references, _ = self.library()
        entries = lookup(text, references, self.organisations())
        first = entries[0]
        if not any(e["key"] or e["status"] == "ambiguous" for e in entries):
            raise NotFound(
                first["reason"] or f"no library entry matches {text!r}",
                hint=("closest: " + ", ".join(first["candidates"]))
                if first["candidates"]
                else "see the list of sources",
                suggestions=first["candidates"],
            )
        listed: list[LookupEntry] = [
            {
                **e,
                "url": source_path(e["key"], e["locator"]) if e["key"] else None,  # type: ignore[typeddict-item]
                "choices": [
                    {
                        "key": k,
                        "title": latex_decode(references[k].title) if k in references else None,
                        "year": references[k].year if k in references else None,
                        "reference": format_reference(references.get(k), k),
                        "url": source_path(k, e["locator"]),
                    }
                    for k in e["candidates"]
                ],
            }
            for e in entries
        ]
        sources = []
        for key in dict.fromkeys(e["key"] for e in entries if e["key"]):
            locators = [e["locator"] for e in entries if e["key"] == key and e["locator"]]
            sources.append(self.source(key, locators[0] if locators else None))
        one = sources[0] if len(sources) == 1 and all(e["key"] for e in entries) else None
        return {
            "query": text,
            "key": one["key"] if one else None,
            "locator": one["locator"] if one else None,
            "reference": one["reference"] if one else None,
            "title": one["title"] if one else None,
            "url": listed[0]["url"] if one else None,
            "api": f"/api/source/{quote(one['key'], safe='')}" if one else None,
            "lookup": listed,
            "sources": sources,
            "citations": self.citations_of(one["key"]) if one else [],
        }

    def describe(self, iri: str) -> dict:
        """Return every statement about ``iri`` and every statement pointing at it."""
        node = ox.NamedNode(iri)
        out = [(q.predicate, q.object) for q in self.store.quads_for_pattern(node, None, None, ox.DefaultGraph())]
        inc = [(q.subject, q.predicate) for q in self.store.quads_for_pattern(None, None, node, ox.DefaultGraph())]
        if not out and not inc:
            raise NotFound(f"nothing is known about <{iri}>", hint=f"resource IRIs start with {self.settings.base_iri}")
        return {
            "iri": iri,
            "properties": [{"predicate": p.value, "object": _term(o)} for p, o in out],
            "incoming": [{"subject": s.value, "predicate": p.value} for s, p in inc if not isinstance(s, ox.Triple)],
        }  # kg writes no RDF-star

    # --- Lists: completion, sorted posts, provenance in words (issue 19) ----------------

    def concept_labels(self) -> list[ConceptLabel]:
        """Return every preferred and alternative label of every concept, each with its concept, A to Z."""

        def read() -> list[ConceptLabel]:
            rows = self.select("""
                SELECT ?id ?label (GROUP_CONCAT(DISTINCT ?alt; SEPARATOR="\\u001f") AS ?alts) WHERE {
                  ?concept a skos:Concept ; dcterms:identifier ?id ; skos:prefLabel ?label .
                  OPTIONAL { ?concept skos:altLabel ?alt }
                } GROUP BY ?id ?label""")
            out: list[ConceptLabel] = []
            for r in rows:
                url = f"/concept/{quote(r['id'], safe='')}"
                out.append(
                    {"label": r["label"], "id": r["id"], "pref_label": r["label"], "preferred": True, "url": url}
                )
                for alt in other_labels(r["label"], (r["alts"] or "").split("\x1f")):
                    out.append({"label": alt, "id": r["id"], "pref_label": r["label"], "preferred": False, "url": url})
            return sorted(out, key=lambda e: (e["label"].casefold(), not e["preferred"]))

        return self._memo("concept-labels", "", read)

    def complete_concept(self, text: str, limit: int = COMPLETION_LIMIT) -> ConceptCompletion:
        """Return the concepts with a label that starts with ``text``, or a word of which does, best first.

        A label starting with the text comes before one with a word starting with it, then one merely
        containing it; each concept once, under its best label (a preferred label wins a tie).
        """
        folded = " ".join(text.split()).casefold()
        if not folded:
            raise KGError("nothing to complete", hint="pass q=the start of a concept's label, e.g. q=perso")
        best: dict[str, tuple[tuple[int, int, str], ConceptLabel]] = {}
        for entry in self.concept_labels():
            label = entry["label"].casefold()
            if label.startswith(folded):
                rank = 0
            elif any(word.startswith(folded) for word in re.split(r"[\s\-/(),]+", label)):
                rank = 1
            elif folded in label:
                rank = 2
            else:
                continue
            order = (rank, 0 if entry["preferred"] else 1, label)
            if entry["id"] not in best or order < best[entry["id"]][0]:
                best[entry["id"]] = (order, entry)
        ranked = [entry for _, entry in sorted(best.values(), key=lambda pair: pair[0])]
        return {"query": text, "total": len(ranked), "results": ranked[:limit]}

    def post_rows(self, sort: str = "title", page: int = 1, limit: int | None = None) -> PostList:
        """List the posts with author, date, original URL, counts and provenance in words, sorted by POST_SORTS,
        page ``page`` of them ``limit`` a page (None: all). Raises PastLastPage past the last page."""
        if sort not in POST_SORTS:
            raise KGError(f"cannot sort posts by {sort!r}", hint="sort by one of " + ", ".join(POST_SORTS))
        found = self.post_list()
        facts = self._post_facts()
        built = build_info(self.settings).get("built_at")
        rows: list[PostRow] = []
        for post in found["posts"]:
            fact = facts.get(post["id"], {})
            row: PostRow = {
                **post,  # type: ignore[typeddict-item]
                "author": fact.get("author"),
                "date": fact.get("date"),
                "url": fact.get("url"),
                "found_in": provenance_words(post["provenance"], built),
            }
            rows.append(row)
        shown, pages = page_of(_sort_posts(rows, sort), page, limit, "post")
        return {"sort": sort, "total": len(rows), "page": page, "pages": pages, "limit": limit, "posts": shown}

    def post_page(self, post_id: str) -> dict:
        """Return a post (Catalog.post) with its author, date and original URL (None when it has none) and
        its provenance in words (``found_in``)."""
        found = self.post(post_id)
        fact = self._post_facts(post_id).get(post_id, {})
        return {
            **found,
            "author": fact.get("author"),
            "date": fact.get("date"),
            "url": fact.get("url"),
            "found_in": provenance_words(found["provenance"], build_info(self.settings).get("built_at")),
        }

    def _post_facts(self, post_id: str | None = None) -> dict[str, dict]:
        bindings = {"id": post_id} if post_id else {}
        rows = self.select(
            """
            SELECT ?id ?author ?date ?url WHERE {
              ?post a fabio:BlogPost ; dcterms:identifier ?id .
              OPTIONAL { ?post dcterms:creator ?agent . ?agent foaf:name ?author }
              OPTIONAL { ?post dcterms:issued ?date } OPTIONAL { ?post fabio:hasURL ?url }
            }""",
            **bindings,
        )
        return {
            r["id"]: {"author": r["author"], "date": str(r["date"]) if r["date"] is not None else None, "url": r["url"]}
            for r in rows
        }


def _sort_posts(rows: list[PostRow], sort: str) -> list[PostRow]:
    by_title = sorted(rows, key=lambda p: p["title"].casefold())
    if sort == "date":  # newest first, undated last; a stable sort keeps titles A to Z within a day
        return sorted(by_title, key=lambda p: p["date"] or "", reverse=True)
    if sort == "claims":
        return sorted(by_title, key=lambda p: p["claims"], reverse=True)
    return by_title


class ConceptLabel(TypedDict):
    label: str
    id: str
    pref_label: str
    preferred: bool
    url: str


class ConceptCompletion(TypedDict):
    query: str
    total: int
    results: list[ConceptLabel]


class PostRow(TypedDict):
    id: str
    title: str
    kind: str | None
    excerpt: bool
    claims: int
    citations: int
    provenance: list[dict]
    author: str | None
    date: str | None
    url: str | None
    found_in: str  #: where kg read the post, in words (provenance_words)


class PostList(TypedDict):
    sort: str
    total: int
    page: int
    pages: int
    limit: int | None
    posts: list[PostRow]


def provenance_words(provenance: list[dict], built_at: str | None) -> str:
    """Say where kg read a post, in words a reader understands: the corpus files and lines, and when."""
    places = [
        f"lines {p['start']}–{p['end']} of the file {p['dump']}" if p.get("start") else f"the file {p['dump']}"
        for p in provenance
    ]
    said = f"From {'; '.join(places)} in your corpus folder" if places else "From your corpus folder"
    if len(places) > 1:
        said += f" (the same post, found in {len(places)} places)"
    day = _day(built_at)
    return said + (f", read when this graph was built on {day}." if day else ".")


def _day(timestamp: str | None) -> str | None:
    from datetime import datetime

    if not timestamp:
        return None
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return f"{when.day} {when:%B %Y}"


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
_TRAILING_LOCATOR = re.compile(
    r"(?:\d{4}[a-z]?)\s*(?::|,|\s)\s*(?:pp?\.\s*)?"
    r"(?P<locator>[\divxlcdm]+(?:\s*[-–]\s*[\divxlcdm]+)?)\s*$",
    re.IGNORECASE,
)
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
        entry: dict[str, Any] = {
            "text": part,
            "status": "resolved",
            "key": None,
            "locator": _locator_of(part.strip("()")),
            "reason": None,
            "candidates": [],
        }
        try:
            entry["key"] = parse_cite_query(part, references, organisations)
            entry["candidates"] = [entry["key"]]
        except NotFound as exc:
            ambiguous = _candidates(part.strip("() "), resolver)
            entry.update(
                status="ambiguous" if ambiguous else "unknown",
                reason=exc.message,
                candidates=ambiguous or list(exc.suggestions),
            )
        out.append(entry)
    return out


def cite(settings: Settings, query: str) -> CiteAnswer:
    """Look a citation up by key, human form or pasted group, in the build's own library (Catalog.cite)."""
    return Catalog(settings).cite(query)


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
    report: dict[str, Any] = dict(cat.audit())
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
    report["problems"] += [
        {
            "kind": "unknown-organisation",
            "keys": sorted(keys),
            "message": f"{', '.join(sorted(keys))}: corporate author {minted[org_id].name!r} is not in "
            f"ontology/organisations.ttl; kg minted org/{org_id} for it (add it there with "
            f"its acronym and forms)",
        }
        for org_id, keys in keys_of.items()
    ]
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


def sources(settings: Settings, sort: str = "citations") -> list[SourceRow]:
    """List every source with its citation counts."""
    return Catalog(settings).sources(sort)


def source(settings: Settings, key: str) -> Source:
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


def audit(settings: Settings) -> Audit:
    """Return unresolved citations and uncited sources."""
    return Catalog(settings).audit()


def keys_for(
    settings: Settings, post: str | None = None, concept: str | None = None, query: str | None = None
) -> list[str]:
    """Return the citation keys for a post, a concept (incl. narrower) or a search."""
    return Catalog(settings).keys_for(post=post, concept=concept, query=query)


def describe(settings: Settings, iri: str) -> dict:
    """Return the statements about and pointing at one resource."""
    return Catalog(settings).describe(iri)
