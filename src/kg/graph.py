"""Write the corpus into a persistent RDF store (Oxigraph through rdflib + oxrdflib) and open it.

The mapping reuses standard vocabularies (see ontology/kg.ttl for the overview and our few
terms). ``loading`` and ``update_graph`` write a new store beside the live one; the build makes it
live together with its search index in one atomic step (kg.generations), so a reader never sees a
half-built store; ``open_graph`` opens the live one read-only.
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import Graph
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from . import formats
from .errors import GraphError
from .model import Citation, Claim, Corpus, Failure, Post, Reference, UnreadableCitation
from .organisations import OrganisationIndex
from .progress import Progress, no_progress
from .references import latex_decode, to_bibtex
from .settings import Settings
from .vocab import (
    BIBO,
    C4O,
    CITO,
    CO,
    DCTERMS,
    DOCO,
    FABIO,
    FOAF,
    KG,
    OA,
    ORG,
    PREFIXES,
    PROV,
    RDF,
    SKOS,
    XSD,
    bind_prefixes,
)

#: The base IRI ontology/*.ttl files are written against; rebased to settings.base_iri on load.
SOURCE_BASE = "https://kg.example.org/"
#: Our schema namespace stays put whatever the base (it names terms, not resources).
SCHEMA_NS = str(KG._NS)
#: Written inside a finished store; its absence marks a store as incomplete.
BUILD_INFO = "kg-build.json"

#: BibTeX entry type -> FaBiO class; anything else is a fabio:Expression.
ENTRY_CLASSES = {
    "report": FABIO.ReportDocument,
    "techreport": FABIO.ReportDocument,
    "book": FABIO.Book,
    "inbook": FABIO.BookChapter,
    "incollection": FABIO.BookChapter,
    "article": FABIO.JournalArticle,
    "inproceedings": FABIO.ConferencePaper,
    "thesis": FABIO.Thesis,
    "phdthesis": FABIO.Thesis,
    "mastersthesis": FABIO.Thesis,
    "online": FABIO.WebContent,
    "misc": FABIO.Expression,
}


@dataclass
class GraphStats:
    """What a graph build wrote: counts, the time it took and where the store lives."""

    triples: int = 0
    posts: int = 0
    claims: int = 0
    citations: int = 0
    references: int = 0
    organisations: int = 0
    concepts: int = 0
    seconds: float = 0.0
    store: str = ""
    base_iri: str = ""
    built_at: str = ""
    failures: list[Failure] = field(default_factory=list)
    statistics_triples: int = 0  # in the kg:statistics graph (kg.stats), not counted in ``triples``

    def to_dict(self) -> dict:
        return asdict(self)


#: What quote(local, safe="-._~") leaves as it is.
_IRI_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


class Iris:
    """Resource IRIs under one base, per the shared conventions."""

    def __init__(self, base: str):
        self.base = base

    def _iri(self, kind: str, local: str) -> str:
        # Slugs and keys are already IRI-safe; quoting guards against anything that is not.
        if _IRI_SAFE.fullmatch(local) is None:
            local = quote(local, safe="-._~")
        return f"{self.base}{kind}/{local}"

    def post(self, post_id: str) -> str:
        return self._iri("post", post_id)

    def claim(self, claim_id: str) -> str:
        return self._iri("claim", claim_id)

    def citation(self, citation_id: str) -> str:
        return self._iri("citation", citation_id)

    def group(self, group_id: str) -> str:
        return self._iri("citation-group", group_id)

    def source(self, key: str) -> str:
        return self._iri("source", key)

    def org(self, org_id: str) -> str:
        return self._iri("org", org_id)

    def concept(self, concept_id: str) -> str:
        return self._iri("concept", concept_id)

    def scheme(self) -> str:
        return f"{self.base}concepts"

    def dump(self, name: str) -> str:
        return self._iri("dump", name)


# --- N-Triples writing ------------------------------------------------------------------------
# Triples are written as N-Triples text and bulk-loaded: one rdflib add per triple is far too
# slow at a million triples, and N-Triples needs no parser state.

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_ESCAPE_RE = re.compile(r'[\\"\n\r]')


_XSD_BOOLEAN, _XSD_INTEGER = str(XSD.boolean), str(XSD.integer)


def _escape(match: re.Match) -> str:
    return _ESCAPES[match.group()]


def _lit(value: object, datatype: str | None = None, lang: str | None = None) -> str:
    if isinstance(value, bool):
        value, datatype = ("true" if value else "false"), _XSD_BOOLEAN
    elif isinstance(value, int):
        value, datatype = str(value), datatype or _XSD_INTEGER
    text = str(value)
    if _ESCAPE_RE.search(text) is not None:
        text = _ESCAPE_RE.sub(_escape, text)
    if lang:
        return f'"{text}"@{lang}'
    if datatype:
        return f'"{text}"^^<{datatype}>'
    return f'"{text}"'


class _Lines:
    """Collect N-Triples lines; subjects and IRI objects are plain IRI strings."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def iri(self, s: str, p: str, o: str) -> None:
        self.lines.append(f"<{s}> <{p}> <{o}> .\n")

    def lit(self, s: str, p: str, value: object, datatype: str | None = None, lang: str | None = None) -> None:
        if value is None or value == "":
            return
        self.lines.append(f"<{s}> <{p}> {_lit(value, datatype, lang)} .\n")

    def a(self, s: str, *classes: str) -> None:
        for cls in classes:
            self.lines.append(f"<{s}> <{_T.type}> <{cls}> .\n")


class _T:
    """The terms post_lines writes, as plain strings looked up once.

    A DefinedNamespace attribute is a method call each time; at four million triples that
    was a sixth of writing the graph.
    """

    type = str(RDF.type)
    BlogPost, Claim, Sentence = str(FABIO.BlogPost), str(KG.Claim), str(DOCO.Sentence)
    SpecificResource, Derivation = str(OA.SpecificResource), str(PROV.Derivation)
    Citation, Pointer, PointerList = (
        str(CITO.Citation),
        str(C4O.InTextReferencePointer),
        str(C4O.InTextReferencePointerList),
    )
    TextPositionSelector, TextQuoteSelector = str(OA.TextPositionSelector), str(OA.TextQuoteSelector)
    identifier, title, isPartOf, subject = (
        str(DCTERMS.identifier),
        str(DCTERMS.title),
        str(DCTERMS.isPartOf),
        str(DCTERMS.subject),
    )
    hasContent, hasContext = str(C4O.hasContent), str(C4O.hasContext)
    excerpt, postKind, startLine, endLine = str(KG.excerpt), str(KG.postKind), str(KG.startLine), str(KG.endLine)
    ordinal, section, claimKind, isQuestion = str(KG.ordinal), str(KG.section), str(KG.claimKind), str(KG.isQuestion)
    citedAuthor, citedYear, citationStatus = str(KG.citedAuthor), str(KG.citedYear), str(KG.citationStatus)
    unresolvedReason = str(KG.unresolvedReason)
    citationForm, noteText, UnreadableCitation = str(KG.citationForm), str(KG.noteText), str(KG.UnreadableCitation)
    unreadableReason = str(KG.unreadableReason)
    wasDerivedFrom, qualifiedDerivation, entity = (
        str(PROV.wasDerivedFrom),
        str(PROV.qualifiedDerivation),
        str(PROV.entity),
    )
    hasSource, hasSelector, start, end, exact = (
        str(OA.hasSource),
        str(OA.hasSelector),
        str(OA.start),
        str(OA.end),
        str(OA.exact),
    )
    hasCitingEntity, hasCitedEntity, cites = str(CITO.hasCitingEntity), str(CITO.hasCitedEntity), str(CITO.cites)
    hasCitationCharacterization = str(CITO.hasCitationCharacterization)
    citesForInformation = str(CITO.citesForInformation)
    citedLocator, element = str(KG.citedLocator), str(CO.element)
    List, ListItem, PointerListItem = str(CO.List), str(CO.ListItem), str(C4O.InTextReferencePointerListItem)
    item, firstItem, lastItem, itemContent = str(CO.item), str(CO.firstItem), str(CO.lastItem), str(CO.itemContent)
    index, nextItem, size = str(CO.index), str(CO.nextItem), str(CO.size)


#: CiTO function local name -> its IRI, or None for a name CiTO lacks.
_FUNCTIONS: dict[str, str | None] = {}


def _function_iri(name: str) -> str | None:
    try:
        return _FUNCTIONS[name]
    except KeyError:
        pass
    try:
        iri = str(getattr(CITO, name))
    except AttributeError:
        iri = None
    _FUNCTIONS[name] = iri
    return iri


def reference_bibtex(ref: Reference, library=None) -> str:
    """Return ``ref`` as a BibTeX entry, written as `kg bibtex` writes it (names learnt from ``library``)."""
    return to_bibtex([ref], library=library).strip() + "\n"


def dump_lines(names: Iterable[str], settings: Settings) -> list[str]:
    """Map the dumps posts were found in to N-Triples."""
    ids = Iris(settings.base_iri)
    out = _Lines()
    for name in sorted(names):
        d = ids.dump(name)
        out.a(d, PROV.Entity)
        out.lit(d, DCTERMS.identifier, name)
    return out.lines


def global_lines(corpus: Corpus, settings: Settings) -> list[str]:
    """Map what all posts share to N-Triples: dumps, organisations, references, concepts."""
    ids = Iris(settings.base_iri)
    out = _Lines()
    out.lines.extend(dump_lines({prov.dump for post in corpus.posts for prov in post.provenance}, settings))
    lit, iri, a = out.lit, out.iri, out.a

    # Organisations.
    for org in corpus.organisations:
        o = ids.org(org.id)
        a(o, FOAF.Organization, ORG.Organization)
        lit(o, DCTERMS.identifier, org.id)
        lit(o, FOAF.name, org.name)
        lit(o, SKOS.prefLabel, org.name, lang="en")
        lit(o, SKOS.notation, org.acronym)  # as ontology/organisations.ttl writes it
        for alt in dict.fromkeys(x for x in org.alt_names if x and x != org.name):
            lit(o, SKOS.altLabel, alt, lang="en")

    # References.
    authority = OrganisationIndex(corpus.organisations)
    for key, ref in corpus.references.items():
        s = ids.source(key)
        a(s, ENTRY_CLASSES.get(ref.entry_type.lower(), FABIO.Expression))
        lit(s, DCTERMS.identifier, key)
        lit(s, KG.citationKey, key)
        lit(s, KG.entryType, ref.entry_type)
        lit(s, DCTERMS.title, latex_decode(ref.title))
        if ref.fields.get("shorttitle"):
            lit(s, BIBO.shortTitle, latex_decode(ref.fields["shorttitle"]))
        if re.fullmatch(r"\d{4}", ref.year):
            lit(s, DCTERMS.issued, ref.year, str(XSD.gYear))
            lit(s, FABIO.hasPublicationYear, ref.year, str(XSD.gYear))
        elif ref.year:
            lit(s, DCTERMS.issued, ref.year)
        if ref.fields.get("url"):
            lit(s, FABIO.hasURL, ref.fields["url"], str(XSD.anyURI))
        for org in authority.creators(ref):
            iri(s, DCTERMS.creator, ids.org(org.id))
        lit(s, KG.bibtex, reference_bibtex(ref, corpus.references))

    # Concepts (the scheme's own file is loaded as well; these triples agree with it).
    scheme = ids.scheme()
    if corpus.concepts:
        a(scheme, SKOS.ConceptScheme)
    for concept in corpus.concepts.values():
        c = ids.concept(concept.id)
        a(c, SKOS.Concept)
        iri(c, SKOS.inScheme, scheme)
        lit(c, DCTERMS.identifier, concept.id)
        lit(c, SKOS.prefLabel, concept.pref_label, lang="en")
        for label in concept.alt_labels:
            lit(c, SKOS.altLabel, label, lang="en")
        for label in concept.hidden_labels:
            lit(c, SKOS.hiddenLabel, label, lang="en")
        lit(c, SKOS.definition, concept.definition, lang="en")
        lit(c, SKOS.scopeNote, concept.scope_note, lang="en")
        for other in concept.broader:
            iri(c, SKOS.broader, ids.concept(other))
        for other in concept.narrower:
            iri(c, SKOS.narrower, ids.concept(other))
        for other in concept.related:
            iri(c, SKOS.related, ids.concept(other))
        if not concept.broader:
            iri(scheme, SKOS.hasTopConcept, c)
            iri(c, SKOS.topConceptOf, scheme)
    return out.lines


def post_lines(
    post: Post,
    claims: Iterable[Claim],
    citations: Iterable[Citation],
    subjects: Mapping[str, tuple[str, ...]],
    listed: Iterable[str],
    references: Mapping[str, Reference],
    settings: Settings,
    failures: list[Failure] | None = None,
    unreadable: Iterable[UnreadableCitation] = (),
) -> list[str]:
    """Map one post and everything derived from it to N-Triples.

    Every triple's subject belongs to the post (the post, its derivations, claims, citations,
    selectors, parenthesis groups), so the lines of two posts never overlap: an incremental
    build removes a post's old lines and adds its new ones without touching any other post.
    """
    failures = [] if failures is None else failures
    ids = Iris(settings.base_iri)
    out = _Lines()
    lit, iri, a = out.lit, out.iri, out.a
    T = _T

    p = ids.post(post.id)
    a(p, T.BlogPost)
    lit(p, T.identifier, post.id)
    lit(p, T.title, post.title)
    lit(p, T.hasContent, post.body)
    lit(p, T.excerpt, bool(post.excerpt))
    lit(p, T.postKind, post.kind)
    if post.author:  # as the source names them: one agent, "Anna Smith and Raj Patel"
        agent = f"{p}#author"
        iri(p, str(DCTERMS.creator), agent)
        a(agent, str(FOAF.Agent))
        lit(agent, str(FOAF.name), post.author)
    lit(p, str(DCTERMS.issued), post.date, str(XSD.date))
    lit(p, str(FABIO.hasURL), post.url, str(XSD.anyURI))
    for n, prov in enumerate(post.provenance, 1):
        d = ids.dump(prov.dump)
        iri(p, T.wasDerivedFrom, d)
        derivation = f"{p}#derivation-{n}"
        iri(p, T.qualifiedDerivation, derivation)
        a(derivation, T.Derivation)
        iri(derivation, T.entity, d)
        lit(derivation, T.startLine, prov.start_line)
        lit(derivation, T.endLine, prov.end_line)

    # Claims, with their exact span in the post.
    for claim in claims:
        c = ids.claim(claim.id)
        a(c, T.Claim, T.SpecificResource)
        if claim.kind == "sentence":
            a(c, T.Sentence)
        lit(c, T.identifier, claim.id)
        iri(c, T.isPartOf, p)
        iri(c, T.hasSource, p)
        lit(c, T.hasContent, claim.text)
        lit(c, T.ordinal, claim.ordinal)
        lit(c, T.section, claim.section)
        lit(c, T.claimKind, claim.kind)
        lit(c, T.isQuestion, bool(claim.is_question))
        _selectors(out, c, claim.start, claim.end, claim.text)
        for concept_id in subjects.get(claim.id, ()):
            iri(c, T.subject, ids.concept(concept_id))

    # Citations: one resource is both the cito:Citation and its in-text pointer.
    citations = list(citations)
    positions: dict[str, int] = {}
    for cit in citations:
        t = ids.citation(cit.id)
        claim_iri = ids.claim(cit.claim_id)
        a(t, T.Citation, T.Pointer, T.SpecificResource)
        lit(t, T.identifier, cit.id)
        iri(t, T.hasCitingEntity, claim_iri)
        iri(t, T.hasContext, claim_iri)
        iri(t, T.hasSource, ids.post(cit.post_id))
        lit(t, T.hasContent, cit.raw)
        _selectors(out, t, cit.start, cit.end, cit.raw)
        lit(t, T.citedLocator, cit.locator)
        lit(t, T.citedAuthor, cit.author)
        lit(t, T.citedYear, cit.year or None)
        lit(t, T.citationStatus, cit.status)
        lit(t, T.citationForm, cit.form)
        lit(t, T.noteText, cit.note)
        positions[cit.claim_id] = positions.get(cit.claim_id, 0) + 1
        lit(t, T.ordinal, positions[cit.claim_id])
        function = _function_iri(cit.function)
        if function is None:
            failures.append(
                Failure(
                    "graph",
                    cit.id,
                    f"unknown CiTO citation function {cit.function!r}; "
                    "used cito:citesForInformation instead (fix the rule in kg.citations)",
                )
            )
            function = T.citesForInformation
        iri(t, T.hasCitationCharacterization, function)
        if cit.reference_key and cit.status == "resolved":
            if cit.reference_key not in references:
                failures.append(
                    Failure(
                        "graph",
                        cit.id,
                        f"citation resolved to {cit.reference_key!r}, "
                        "which is not in the reference library; run `kg refs check`",
                    )
                )
            source = ids.source(cit.reference_key)
            iri(t, T.hasCitedEntity, source)
            # The direct CiTO links too, so simple queries need no reification.
            iri(claim_iri, function, source)
            iri(claim_iri, T.cites, source)
        else:
            lit(t, T.unresolvedReason, cit.reason or "no matching entry in the reference library")
    # Each parenthesis is a c4o:InTextReferencePointerList in the Collections Ontology's list
    # pattern, so the order it names its works in is kept: one co:ListItem per citation with its
    # 1-based co:index, co:itemContent the citation, co:nextItem the next. co:element is written
    # too; CO entails it from co:item/co:itemContent, and membership queries need no path.
    # Index and size are xsd:integer: Oxigraph stores CO's xsd:positiveInteger as xsd:integer.
    members: dict[str, list[Citation]] = {}
    for cit in citations:
        members.setdefault(cit.group_id, []).append(cit)
    for group_id, group in members.items():
        g = ids.group(group_id)
        a(g, T.PointerList, T.List)  # C4O makes the one a co:List; said, so no reasoner is needed
        lit(g, T.hasContent, group[0].group_raw)
        iri(g, T.hasContext, ids.claim(group[0].claim_id))
        lit(g, T.size, len(group))
        items = [f"{g}#item-{n}" for n in range(1, len(group) + 1)]
        iri(g, T.firstItem, items[0])
        iri(g, T.lastItem, items[-1])
        for n, (item, cit) in enumerate(zip(items, group), 1):
            t = ids.citation(cit.id)
            iri(g, T.element, t)
            iri(g, T.item, item)
            a(item, T.PointerListItem, T.ListItem)
            lit(item, T.index, n)
            iri(item, T.itemContent, t)
            if n < len(items):
                iri(item, T.nextItem, items[n])

    # Citation-like text the grammar could not read: kept for the audit, never a citation.
    for odd in unreadable:
        u = ids.citation(odd.id)
        a(u, T.UnreadableCitation)
        lit(u, T.identifier, odd.id)
        iri(u, T.isPartOf, ids.claim(odd.claim_id))
        iri(u, T.hasSource, ids.post(odd.post_id))
        lit(u, T.hasContent, odd.text)
        lit(u, T.unreadableReason, odd.reason)
        _selectors(out, u, odd.start, odd.end, odd.text)

    # A bibliography post lists its sources.
    for key in listed:
        iri(p, T.citesForInformation, ids.source(key))
        iri(p, T.cites, ids.source(key))
    return out.lines


def corpus_lines_iter(
    corpus: Corpus, settings: Settings, failures: list[Failure] | None = None, progress: Progress = no_progress
) -> Iterator[str]:
    """Map a Corpus to N-Triples lines (without the ontology files), one post at a time."""
    failures = [] if failures is None else failures
    claims, citations = corpus.by_post()
    unreadable: dict[str, list[UnreadableCitation]] = defaultdict(list)
    for odd in corpus.unreadable:
        unreadable[odd.post_id].append(odd)
    yield from global_lines(corpus, settings)
    for post in progress(corpus.posts, "Writing the graph", len(corpus.posts)):
        yield from post_lines(
            post,
            claims[post.id],
            citations[post.id],
            corpus.subjects,
            corpus.bibliography.get(post.id, ()),
            corpus.references,
            settings,
            failures,
            unreadable=unreadable[post.id],
        )


def _selectors(out: _Lines, s: str, start: int, end: int, exact: str) -> None:
    position, quote_ = f"{s}#position", f"{s}#quote"
    out.iri(s, _T.hasSelector, position)
    out.a(position, _T.TextPositionSelector)
    out.lit(position, _T.start, start)
    out.lit(position, _T.end, end)
    out.iri(s, _T.hasSelector, quote_)
    out.a(quote_, _T.TextQuoteSelector)
    out.lit(quote_, _T.exact, exact)


def rebase(text: str, base: str) -> str:
    """Return Turtle text with resource IRIs under SOURCE_BASE moved under ``base``."""
    if base == SOURCE_BASE:
        return text
    # Our schema namespace names terms, not resources: it stays where it is.
    pattern = re.compile(re.escape(SOURCE_BASE) + r"(?!ns#|ns>)")
    return pattern.sub(base, text)


def ontology_files(settings: Settings) -> list[Path]:
    """Return the Turtle files loaded into the graph with the corpus: schema, concepts, organisations."""
    folder = settings.ontology_dir
    return [
        path for path in (folder / "kg.ttl", folder / "concepts.ttl", folder / "organisations.ttl") if path.exists()
    ]


# --- The store ---------------------------------------------------------------------------------


def _new_graph(ox_store: ox.Store) -> Graph:
    # The default-graph identifier makes rdflib read and write the store's default graph, so a
    # reopened store is not empty.
    graph = Graph(store=OxigraphStore(store=ox_store), identifier=DATASET_DEFAULT_GRAPH_ID, bind_namespaces="none")
    return bind_prefixes(graph)


class GraphLoad:
    """A store being bulk-loaded in a background thread; ``stats`` is set once it is finished."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.stats: GraphStats | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None


@contextmanager
def loading(corpus: Corpus, settings: Settings, progress: Progress | None = None) -> Iterator[GraphLoad]:
    """Write ``corpus`` as N-Triples, then bulk-load it into a new store while the caller works.

    Its statistics graph (kg.stats) is loaded with it, and the totals it was made from are kept
    in the store's folder for the next incremental build; ``triples`` counts the default graph.

    Oxigraph's bulk loader runs without Python's lock, so the build writes the search index
    meanwhile instead of waiting for it: in a large build both take minutes. On leaving the
    block the load is waited for, the ontology files are added, and ``stats`` describes the
    finished (unpublished) store. If the block or the load fails, the new store is removed.
    """
    from . import stats as stats_mod  # kg.stats names resources with this module's Iris

    progress = progress or no_progress
    began = time.perf_counter()
    failures: list[Failure] = []
    target = _new_store_dir(settings)
    load = GraphLoad(target)
    # The triples go through a temporary N-Triples file: holding every line of a large corpus in
    # memory at once would not fit.
    nt = tempfile.NamedTemporaryFile("w+b", dir=settings.data_dir, prefix=".graph-", suffix=".nt.tmp", delete=False)
    try:
        with nt:
            for line in corpus_lines_iter(corpus, settings, failures, progress):
                nt.write(line.encode("utf-8"))
            totals, ranks, stat_lines = stats_mod.of_corpus(corpus, settings.base_iri)
            for line in stat_lines:
                nt.write(line.encode("utf-8"))

        def bulk_load() -> None:
            try:
                ox.Store(str(target)).bulk_load(path=nt.name, format=ox.RdfFormat.N_QUADS)
            except BaseException as exc:
                load.error = exc

        load.thread = threading.Thread(target=bulk_load, name="kg-graph-bulk-load", daemon=True)
        load.thread.start()
        try:
            yield load
        finally:
            load.thread.join()
            Path(nt.name).unlink(missing_ok=True)
        if load.error is not None:
            raise load.error
        store = ox.Store(str(target))
        graph = _new_graph(store)
        for path in ontology_files(settings):
            text = rebase(path.read_text(encoding="utf-8"), settings.base_iri)
            try:
                graph.parse(data=text, format="ox-turtle", transactional=False)
            except SyntaxError as exc:
                failures.append(
                    Failure("graph", str(path), f"{path.name} is not valid Turtle ({exc}); fix the file and rebuild")
                )
        triples = _count_triples(store)
        # The bulk loader writes its files side by side, each spanning the whole key range, so
        # every pattern lookup of a join searched all of them: compacted into one sorted run,
        # the named queries' joins take a third of the time (bench/RESULTS.md, issue 17 summary).
        store.optimize()
        store.flush()
        # pyoxigraph has no close(): drop every reference so RocksDB closes its files before
        # readers open the folder.
        graph.close()
        del store, graph
        gc.collect()
        counts = {
            "posts": len(corpus.posts),
            "claims": len(corpus.claims),
            "citations": len(corpus.citations),
            "references": len(corpus.references),
            "organisations": len(corpus.organisations),
            "concepts": len(corpus.concepts),
        }
        stats_mod.save(target, totals, ranks, len(stat_lines))
        load.stats = _finish(target, settings, triples, counts, began, failures, len(stat_lines))
    except BaseException:
        Path(nt.name).unlink(missing_ok=True)
        if settings.store_dir.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
        raise


def update_graph(
    settings: Settings,
    removed: list[str],
    added: list[str],
    counts: dict[str, int],
    progress: Progress | None = None,
) -> GraphStats:
    """Write a new store: the live one less the ``removed`` and plus the ``added`` lines; swap nothing.

    The lines are N-Quads (an N-Triples line is one in the default graph); the triple count is
    the default graph's, as after a full build.

    The live store is copied with a RocksDB checkpoint (hard links to its immutable files, so
    the copy is cheap and never writes to the live store) and changed; the build makes it live
    with its index, as after a full build. Removing before adding makes the update idempotent:
    running the same update twice (after a build was killed between its steps) leaves the same
    graph.
    """
    progress = progress or no_progress
    began = time.perf_counter()
    live = store_path(settings)
    target = _new_store_dir(settings)
    try:
        ox.Store.read_only(str(live)).backup(str(target))
        store = ox.Store(str(target))
        # The new count is the live store's recorded count less what went plus what is new:
        # counting every triple again costs time that grows with the graph.
        triples = _recorded_triples(live)
        gone = 0
        if removed:
            quads = list(ox.parse(input="".join(removed).encode("utf-8"), format=ox.RdfFormat.N_QUADS))
            for quad in progress(quads, "Updating the graph", len(quads)):
                if quad in store:
                    store.remove(quad)
                    gone += quad.graph_name == ox.DefaultGraph()
        fresh = 0
        if added:
            data = "".join(added).encode("utf-8")
            fresh = len(
                {
                    quad
                    for quad in ox.parse(input=data, format=ox.RdfFormat.N_QUADS)
                    if quad.graph_name == ox.DefaultGraph() and quad not in store
                }
            )
            store.load(input=data, format=ox.RdfFormat.N_QUADS)
        if triples is None:
            triples = _count_triples(store)
        else:
            triples += fresh - gone
        store.flush()
        del store
        gc.collect()
        stats = _finish(target, settings, triples, counts, began, [])
    except BaseException:
        if settings.store_dir.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
        raise
    return stats


def _recorded_triples(store_dir: Path) -> int | None:
    """The triple count a store's build record states, or None if it has no readable record."""
    try:
        triples = json.loads((store_dir / BUILD_INFO).read_text(encoding="utf-8"))["triples"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return triples if isinstance(triples, int) and triples >= 0 else None


def _new_store_dir(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    return settings.data_dir / f"store.{stamp}"


def _finish(
    target: Path,
    settings: Settings,
    triples: int,
    counts: dict[str, int],
    began: float,
    failures: list[Failure],
    statistics_triples: int = 0,
) -> GraphStats:
    """Write the build record that marks a store as complete; return its stats."""
    stats = GraphStats(
        triples=triples,
        statistics_triples=statistics_triples,
        **{
            name: counts.get(name, 0)
            for name in ("posts", "claims", "citations", "references", "organisations", "concepts")
        },
        seconds=round(time.perf_counter() - began, 3),
        store=str(target),
        base_iri=settings.base_iri,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        failures=failures,
    )
    info = stats.to_dict()
    info["failures"] = [asdict(f) for f in failures]
    (target / BUILD_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return stats


def store_path(settings: Settings) -> Path:
    """Return the folder of the live store, or raise GraphError naming the fix if there is none."""
    path = settings.store_dir.resolve()
    if not (path / BUILD_INFO).exists():
        raise GraphError(
            f"no graph store in {settings.data_dir}",
            hint="run `kg build` first, or pass --data DIR pointing at a built data directory",
        )
    return path


def build_info(settings: Settings) -> dict:
    """Return what the last build recorded about the live store (counts, base IRI, time)."""
    return json.loads((store_path(settings) / BUILD_INFO).read_text(encoding="utf-8"))


def open_store(settings: Settings) -> ox.Store:
    """Open the live pyoxigraph store read-only (many readers may do so at once)."""
    path = store_path(settings)
    try:
        return ox.Store.read_only(str(path))
    except (OSError, RuntimeError) as exc:
        raise GraphError(f"cannot open the graph store {path}: {exc}", hint="rebuild it with `kg build`") from None


def open_graph(settings: Settings) -> Graph:
    """Open the live store as a read-only rdflib Graph bound to kg's prefixes."""
    return _new_graph(open_store(settings))


#: The registry's formats a whole graph is exported in; RDF/XML is left out because it cannot
#: write every predicate IRI (one ending in a digit run), and an export must never half-fail.
EXPORT_FORMATS = {name: formats.BY_NAME[name] for name in ("turtle", "nt", "jsonld")}


def export_graph(settings: Settings, format: str = "turtle") -> bytes:
    """Return the whole graph serialised as Turtle (with our prefixes), N-Triples or JSON-LD."""
    found = formats.lookup(format)
    fmt = found.rdf if found is not None and found.name in EXPORT_FORMATS else None
    if fmt is None:
        raise GraphError(f"unknown export format {format!r}", hint="use one of " + ", ".join(EXPORT_FORMATS))
    from .store import open_live  # the live graph, embedded or on an external server

    store = open_live(settings)
    # Serialised by Oxigraph straight from the store: simple literals stay plain (no explicit
    # xsd:string) and a million triples need no rdflib objects.
    quads = store.quads_for_pattern(None, None, None, ox.DefaultGraph())
    triples = (ox.Triple(q.subject, q.predicate, q.object) for q in quads)
    prefixes = {p: iri for p, iri in PREFIXES.items()} if fmt == ox.RdfFormat.TURTLE else None
    return serialize(triples, fmt, prefixes)


def serialize(triples: Iterable[ox.Triple], fmt: ox.RdfFormat, prefixes: dict[str, str] | None = None) -> bytes:
    """Serialise triples with Oxigraph into bytes (``ox.serialize`` with no output returns them)."""
    data = ox.serialize(triples, format=fmt, prefixes=prefixes)
    assert data is not None  # None only when an output file is given
    return data


def _count_triples(store: ox.Store) -> int:
    answer = store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")
    assert isinstance(answer, ox.QuerySolutions)
    literal = next(iter(answer))[0]
    assert isinstance(literal, ox.Literal)
    return int(literal.value)
