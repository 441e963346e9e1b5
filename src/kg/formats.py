"""The formats kg reads and writes: one entry per format, found by name, alias, extension or media type.

Every surface that names a format (``kg export --format``, ``kg sparql --format``, ``?format=``,
``Accept`` on linked-data pages and on ``/sparql``) asks this registry, so a spelling accepted in
one place is accepted in all. RDF media types are resolved by ``pyoxigraph.RdfFormat`` and SPARQL
results types by ``pyoxigraph.QueryResultsFormat``; only kg's own choices are written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyoxigraph as ox

Kind = Literal["graph", "table", "text", "reference"]


@dataclass(frozen=True)
class Format:
    """One format: kg's name for it, the media type it is sent as, and what writes it."""

    name: str
    kind: Kind
    media_type: str
    aliases: tuple[str, ...] = ()
    rdf: ox.RdfFormat | None = None
    results: ox.QueryResultsFormat | None = None
    extension: str = ""  #: a download's file extension, where the format's own writer does not name it


def _graph(rdf: ox.RdfFormat, name: str, *aliases: str) -> Format:
    return Format(name, "graph", rdf.media_type, (rdf.file_extension, *aliases), rdf=rdf)


def _table(results: ox.QueryResultsFormat, name: str, *aliases: str) -> Format:
    # Oxigraph names CSV and TSV with "; charset=utf-8"; the protocol's media type is the bare one.
    media_type = results.media_type.split(";")[0]
    return Format(name, "table", media_type, (results.file_extension, *aliases), results=results)


#: Turtle answers for N3 too (Turtle is a subset of N3), which rdflib and SPARQLWrapper ask for.
FORMATS: tuple[Format, ...] = (
    _graph(ox.RdfFormat.TURTLE, "turtle", "n3"),
    _graph(ox.RdfFormat.N_TRIPLES, "nt", "ntriples", "n-triples"),
    _graph(ox.RdfFormat.JSON_LD, "jsonld", "json-ld"),
    _graph(ox.RdfFormat.RDF_XML, "rdfxml", "rdf+xml", "rdf/xml", "owl"),
    _table(ox.QueryResultsFormat.JSON, "json"),
    _table(ox.QueryResultsFormat.XML, "xml"),
    _table(ox.QueryResultsFormat.CSV, "csv"),
    _table(ox.QueryResultsFormat.TSV, "tsv"),
    Format("table", "text", "text/plain", ("text",)),
    # Reference lists (kg.references.export writes them), for reference managers.
    Format("bibtex", "reference", "application/x-bibtex", ("bib",), extension="bib"),
    Format("csl-json", "reference", "application/vnd.citationstyles.csl+json", ("csl",), extension="json"),
    Format("ris", "reference", "application/x-research-info-systems", (), extension="ris"),
)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}

#: Aliases that name one format for a graph and another for a table: ``xml`` and ``json`` are
#: the SPARQL results formats for SELECT/ASK and RDF/XML and JSON-LD for CONSTRUCT/DESCRIBE, as
#: SPARQLWrapper and other clients use them.
GRAPH_ALIASES = {"xml": "rdfxml", "json": "jsonld"}

#: The RDF media types kg answers, in the order offered: best_match breaks a tie between equally
#: wanted types by this order, so ``*/*`` gets Turtle and Turtle wins over RDF/XML, RDF/XML over
#: JSON-LD, JSON-LD over N-Triples. pyoxigraph maps each to its format; N3 spellings get Turtle.
_RDF_MEDIA_TYPES = (
    "text/turtle",
    "application/x-turtle",
    "application/turtle",
    "text/n3",
    "text/rdf+n3",
    "application/n3",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/ld+json",
    "application/json",
    "application/n-triples",
    # rdflib asks for format="nt" as text/plain.
    "text/plain",
)
#: Media types that name an RDF format only where the answer is known to be RDF (a SPARQL
#: CONSTRUCT): elsewhere JSON means kg's own JSON answer and XML is not offered.
_GENERIC_RDF_TYPES = frozenset({"application/xml", "text/xml", "application/json"})
_RESULTS_MEDIA_TYPES = (
    "application/sparql-results+json",
    "application/json",
    "application/sparql-results+xml",
    "application/xml",
    "text/xml",
    "text/csv",
    "text/tab-separated-values",
)
#: Spellings sent back as asked, not as the format's own media type: Turtle is N3, so a client
#: asking for N3 is told it got N3; N-Triples is plain text; an x-turtle client checks for x-turtle.
_ECHOED = frozenset({"text/n3", "text/rdf+n3", "application/n3", "application/x-turtle", "text/plain"})
#: Names asked for whose answer is sent as another type than the format's own: a client that
#: asks for N3 by name (SPARQLWrapper's format="n3") checks for text/n3.
_NAMED_TYPES = {"n3": "text/n3"}
#: SPARQL CSV and TSV define no form for a boolean, so ASK has JSON, XML and kg's table only.
ASK_FORMATS = frozenset({"table", "json", "xml"})


def _rdf_entry(media_type: str) -> Format:
    rdf = ox.RdfFormat.from_media_type(media_type)
    if rdf is None or rdf == ox.RdfFormat.N3:  # pyoxigraph does not know text/rdf+n3
        rdf = ox.RdfFormat.TURTLE
    return next(f for f in FORMATS if f.rdf == rdf)


def _results_entry(media_type: str) -> Format:
    results = ox.QueryResultsFormat.from_media_type(media_type)
    return next(f for f in FORMATS if f.results == results)


def rdf_media_types(*, generic: bool = False) -> dict[str, Format]:
    """Return the RDF media types kg answers -> their format; ``generic`` adds JSON and XML (SPARQL graphs)."""
    return {t: _rdf_entry(t) for t in _RDF_MEDIA_TYPES if generic or t not in _GENERIC_RDF_TYPES}


def results_media_types(*, ask: bool = False) -> dict[str, Format]:
    """Return the SPARQL results media types -> their format; ``ask`` keeps those that carry a boolean."""
    found = {media_type: _results_entry(media_type) for media_type in _RESULTS_MEDIA_TYPES}
    return {t: f for t, f in found.items() if not ask or f.name in ASK_FORMATS}


def sent_as(media_type: str, fmt: Format) -> str:
    """Return the media type an answer in ``fmt`` is sent as when the client asked for ``media_type``."""
    return media_type if media_type in _ECHOED else fmt.media_type


def sent_for_name(name: str) -> str | None:
    """Return the media type an answer asked for by ``name`` is sent as, if not its format's own (else None)."""
    return _NAMED_TYPES.get(name.strip().lower())


_LOOKUP: dict[str, Format] = {
    **{alias: f for f in FORMATS for alias in (f.name, *f.aliases)},
    # By name, a generic type (application/json) or text/plain would be ambiguous: they are not names.
    **{media_type: f for media_type, f in rdf_media_types().items() if media_type != "text/plain"},
    **{media_type: f for media_type, f in results_media_types().items() if media_type not in _GENERIC_RDF_TYPES},
}


def lookup(name: str, *, graph: bool = False) -> Format | None:
    """Return the format ``name`` means (a name, alias, extension or media type), or None.

    ``graph`` reads ``xml`` and ``json`` as RDF/XML and JSON-LD (see GRAPH_ALIASES).
    """
    key = name.strip().lower()
    if graph and key in GRAPH_ALIASES:
        key = GRAPH_ALIASES[key]
    found = _LOOKUP.get(key)
    if graph and found is not None and found.name in GRAPH_ALIASES:
        found = BY_NAME[GRAPH_ALIASES[found.name]]
    return found


def names(kind: Kind | None = None) -> list[str]:
    """Return kg's format names (of one kind), in registry order."""
    return [f.name for f in FORMATS if kind is None or f.kind == kind]


def spellings() -> list[str]:
    """Return every name, alias and media type ``lookup`` knows for graphs and tables (for hints and checks).

    Reference formats are left out: they are lists of sources, not answers to a query.
    """
    return [name for name, fmt in _LOOKUP.items() if fmt.kind != "reference"]
