"""Real SPARQL clients against a served instance: SPARQLWrapper in every combination and rdflib's SPARQLStore.

SPARQLWrapper's 48 combinations are the four query forms, its three ways of sending a query
(GET, POST form-encoded, POST direct) and the four formats it offers per form (JSON, XML, CSV,
TSV for SELECT and ASK; Turtle, N3, RDF/XML, JSON-LD for CONSTRUCT and DESCRIBE). It sends the
format both by Accept and by ``format=``/``output=``/``results=`` parameters, in its own names
(``xml`` for RDF/XML, ``n3``, ``rdf+xml``, ``json-ld``), and warns (an error here) when the answer's
media type is not the one it asked for. SPARQL CSV and TSV define no form for a boolean, so
ASK in CSV or TSV is a 406 naming the formats that carry it; SPARQLWrapper reports it as an
HTTPError.
"""

from __future__ import annotations

import csv
import io
import urllib.error

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (ASK, CONSTRUCT, CSV, DESCRIBE, GET, JSON, JSONLD, N3, POST, POSTDIRECTLY, RDFXML,
                           SELECT, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper)

KEY = "DH2010"
KG = "https://kg.example.org/ns#"
QUERIES = {
    SELECT: f'SELECT ?key WHERE {{ ?s kg:citationKey ?key FILTER(?key = "{KEY}") }}',
    ASK: f'ASK {{ ?s kg:citationKey "{KEY}" }}',
    CONSTRUCT: f'CONSTRUCT {{ ?s kg:citationKey ?key }} WHERE {{ ?s kg:citationKey ?key FILTER(?key = "{KEY}") }}',
    DESCRIBE: f'DESCRIBE ?s WHERE {{ ?s kg:citationKey "{KEY}" }}',
}
METHODS = {"get": (GET, URLENCODED), "post-form": (POST, URLENCODED), "post-direct": (POST, POSTDIRECTLY)}
TABLE = [JSON, XML, CSV, TSV]
GRAPH = [TURTLE, N3, RDFXML, JSONLD]
COMBINATIONS = [(form, method, fmt) for form in (SELECT, ASK) for method in METHODS for fmt in TABLE] + \
               [(form, method, fmt) for form in (CONSTRUCT, DESCRIBE) for method in METHODS for fmt in GRAPH]
RESULT_FORMATS = {XML: ox.QueryResultsFormat.XML, CSV: ox.QueryResultsFormat.CSV, TSV: ox.QueryResultsFormat.TSV}


def _client(served: str, form: str, method: str, fmt: str | None) -> SPARQLWrapper:
    client = SPARQLWrapper(served + "sparql")
    http_method, request_method = METHODS[method]
    client.setMethod(http_method)
    client.setRequestMethod(request_method)
    if fmt is not None:
        client.setReturnFormat(fmt)
    client.setQuery(QUERIES[form])
    return client


def _source_iri(graph: rdflib.Graph) -> rdflib.term.Node:
    subjects = set(graph.subjects(rdflib.URIRef(KG + "citationKey"), rdflib.Literal(KEY)))
    assert len(subjects) == 1, graph.serialize(format="turtle")
    return subjects.pop()


def _check(form: str, fmt: str | None, converted) -> None:
    if form in (CONSTRUCT, DESCRIBE):
        if isinstance(converted, bytes):  # Turtle and N3 come back as text
            converted = rdflib.Graph().parse(data=converted.decode("utf-8"), format="turtle")
        assert isinstance(converted, rdflib.Graph)
        source = _source_iri(converted)
        assert str(source).endswith(f"/source/{KEY}")
        if form == DESCRIBE:
            assert len(set(converted.predicates(source))) > 3  # its title, date, type... not just the key
        return
    if fmt in (JSON, None) and isinstance(converted, dict):
        if form == ASK:
            assert converted == {"head": {}, "boolean": True}
        else:
            assert converted["head"] == {"vars": ["key"]}
            assert [b["key"]["value"] for b in converted["results"]["bindings"]] == [KEY]
        return
    data = converted.toxml("utf-8") if hasattr(converted, "toxml") else converted
    if fmt == CSV:  # lossy, so Oxigraph reads no CSV: Python's csv reader does
        assert list(csv.reader(io.StringIO(data.decode("utf-8")))) == [["key"], [KEY]]
        return
    parsed = ox.parse_query_results(data, format=RESULT_FORMATS[fmt or XML])
    if form == ASK:
        assert bool(parsed) is True
    else:
        assert [row["key"].value for row in parsed] == [KEY]


# SPARQLWrapper 2.0 reads RDF/XML and JSON-LD answers into rdflib's ConjunctiveGraph, which
# rdflib 7 deprecates: the warning is the client's own, about its own code, not about kg's answer.
CLIENT_DEPRECATION = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@CLIENT_DEPRECATION
@pytest.mark.parametrize("form, method, fmt", COMBINATIONS,
                         ids=[f"{f}-{m}-{x}" for f, m, x in COMBINATIONS])
def test_sparqlwrapper(served, form, method, fmt):
    client = _client(served, form, method, fmt)
    if form == ASK and fmt in (CSV, TSV):
        with pytest.raises(urllib.error.HTTPError) as refused:
            client.query()
        assert refused.value.code == 406
        message = refused.value.read().decode("utf-8")
        assert "does not fit a ASK result" in message and "json" in message
        return
    _check(form, fmt, client.query().convert())


@CLIENT_DEPRECATION
@pytest.mark.parametrize("form", [SELECT, ASK, CONSTRUCT, DESCRIBE])
@pytest.mark.parametrize("method", list(METHODS))
def test_sparqlwrapper_defaults(served, form, method):
    # No setReturnFormat: SPARQLWrapper asks for XML, sending format=xml even for CONSTRUCT and DESCRIBE.
    _check(form, None, _client(served, form, method, None).query().convert())


def test_rdflib_sparqlstore(served):
    store = SPARQLStore(query_endpoint=served + "sparql", returnFormat="xml")
    graph = rdflib.Graph(store=store)
    rows = list(graph.query(QUERIES[SELECT]))
    assert [str(row[0]) for row in rows] == [KEY]
    assert graph.query(QUERIES[ASK]).askAnswer is True
    built = graph.query(QUERIES[CONSTRUCT]).graph
    source = _source_iri(built)
    assert (source, rdflib.URIRef(KG + "citationKey"), rdflib.Literal(KEY)) in graph
    assert len(list(graph.triples((source, None, None)))) > 3
    json_store = rdflib.Graph(store=SPARQLStore(query_endpoint=served + "sparql", returnFormat="json",
                                                method="POST"))
    assert [str(row[0]) for row in json_store.query(QUERIES[SELECT])] == [KEY]
