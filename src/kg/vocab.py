"""Every RDF term kg writes, declared once so a misspelt term fails at import.

Standard vocabularies rdflib lacks (CiTO, C4O, CO, DoCO, FaBiO, BIBO, Web Annotation) are
declared here with only the terms we use; ``KG`` holds the few terms no standard vocabulary has
(documented in ontology/kg.ttl). ``bind_prefixes`` gives a graph exactly our prefixes.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import (
    DCTERMS,
    FOAF,
    ORG,
    OWL,
    PROV,
    RDF,
    RDFS,
    SH,
    SKOS,
    XSD,
    DefinedNamespace,
    Namespace,
)

from .errors import KGError

__all__ = [
    "BIBO",
    "C4O",
    "CITO",
    "CO",
    "DCTERMS",
    "DOCO",
    "FABIO",
    "FOAF",
    "KG",
    "OA",
    "ORG",
    "OWL",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SH",
    "SKOS",
    "XSD",
    "bind_prefixes",
    "read_turtle",
    "sparql_prologue",
]


class CITO(DefinedNamespace):
    """Citation Typing Ontology: citations and why they are made."""

    _fail = True
    _NS = Namespace("http://purl.org/spar/cito/")

    Citation: URIRef
    hasCitingEntity: URIRef
    hasCitedEntity: URIRef
    hasCitationCharacterization: URIRef
    cites: URIRef
    citesAsEvidence: URIRef
    citesForInformation: URIRef
    citesAsAuthority: URIRef
    citesAsDataSource: URIRef
    citesAsRelated: URIRef
    citesAsSourceDocument: URIRef
    obtainsBackgroundFrom: URIRef
    obtainsSupportFrom: URIRef
    includesQuotationFrom: URIRef
    agreesWith: URIRef
    disagreesWith: URIRef
    discusses: URIRef


class C4O(DefinedNamespace):
    """Citation Counting and Context Characterisation Ontology: in-text reference pointers."""

    _fail = True
    _NS = Namespace("http://purl.org/spar/c4o/")

    InTextReferencePointer: URIRef
    InTextReferencePointerList: URIRef
    InTextReferencePointerListItem: URIRef
    hasContent: URIRef
    hasContext: URIRef


class CO(DefinedNamespace):
    """Collections Ontology: the ordered items of an in-text reference pointer list."""

    _fail = True
    _NS = Namespace("http://purl.org/co/")

    List: URIRef
    ListItem: URIRef
    element: URIRef
    firstItem: URIRef
    lastItem: URIRef
    item: URIRef
    itemContent: URIRef
    index: URIRef
    nextItem: URIRef
    size: URIRef


class DOCO(DefinedNamespace):
    """Document Components Ontology: claims that are sentences."""

    _fail = True
    _NS = Namespace("http://purl.org/spar/doco/")

    Sentence: URIRef


class FABIO(DefinedNamespace):
    """FRBR-aligned Bibliographic Ontology: kinds of document."""

    _fail = True
    _NS = Namespace("http://purl.org/spar/fabio/")

    BlogPost: URIRef
    Book: URIRef
    BookChapter: URIRef
    ConferencePaper: URIRef
    Expression: URIRef
    JournalArticle: URIRef
    ReportDocument: URIRef
    Thesis: URIRef
    WebContent: URIRef
    hasPublicationYear: URIRef
    hasURL: URIRef


class BIBO(DefinedNamespace):
    """Bibliographic Ontology: short titles."""

    _fail = True
    _NS = Namespace("http://purl.org/ontology/bibo/")

    shortTitle: URIRef
    Document: URIRef


class OA(DefinedNamespace):
    """Web Annotation vocabulary: selectors tying a claim or citation to its exact span."""

    _fail = True
    _NS = Namespace("http://www.w3.org/ns/oa#")

    SpecificResource: URIRef
    TextPositionSelector: URIRef
    TextQuoteSelector: URIRef
    hasSource: URIRef
    hasSelector: URIRef
    start: URIRef
    end: URIRef
    exact: URIRef


class KG(DefinedNamespace):
    """kg's own terms: only what no standard vocabulary has (see ontology/kg.ttl)."""

    _fail = True
    _NS = Namespace("https://kg.example.org/ns#")

    Claim: URIRef
    ordinal: URIRef
    section: URIRef
    claimKind: URIRef
    isQuestion: URIRef
    excerpt: URIRef
    postKind: URIRef
    startLine: URIRef
    endLine: URIRef
    citationStatus: URIRef
    unresolvedReason: URIRef
    citedAuthor: URIRef
    citedYear: URIRef
    citedLocator: URIRef
    citationForm: URIRef
    noteText: URIRef
    UnreadableCitation: URIRef
    unreadableReason: URIRef
    citationKey: URIRef
    entryType: URIRef
    bibtex: URIRef
    contextLabel: URIRef  # used by ontology/concepts.ttl


#: The prefixes kg binds and pre-declares in SPARQL, in display order.
PREFIXES: dict[str, str] = {
    "kg": str(KG._NS),
    "cito": str(CITO._NS),
    "c4o": str(C4O._NS),
    "co": str(CO._NS),
    "doco": str(DOCO._NS),
    "fabio": str(FABIO._NS),
    "bibo": str(BIBO._NS),
    "oa": str(OA._NS),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "skos": str(SKOS),
    "foaf": str(FOAF),
    "org": str(ORG),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "sh": str(SH),
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind kg's prefixes on ``graph`` and return it.

    Create graphs with ``Graph(bind_namespaces="none")`` first, so these are exactly the prefixes
    a serialisation shows (rdflib otherwise adds its own defaults such as schema: and brick:).
    """
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, URIRef(iri), override=True, replace=True)
    return graph


def sparql_prologue() -> str:
    """Return the PREFIX lines kg pre-declares, one per line."""
    return "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())


def read_turtle(path: Path, error: type[KGError], what: str, restore: str) -> Graph:
    """Parse one of the ontology's Turtle files; raise ``error`` naming ``what`` when it is missing or broken."""
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist", hint=f"restore {restore} or set ontology_dir") from None
    except (ParserError, SyntaxError, ValueError) as exc:
        raise error(
            f"{what} {path} is not valid Turtle: {exc}", hint="fix the file; its header states the conventions"
        ) from None
    return graph
