"""The format registry: every name, alias and media type resolves to one entry, and every surface agrees."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg import formats, graph
from kg.cli import main

SOURCE_KEYS = "SELECT ?key WHERE { ?s <https://kg.example.org/ns#citationKey> ?key } LIMIT 3"


@pytest.mark.parametrize(
    ("spelling", "graph_result", "name"),
    [
        ("turtle", False, "turtle"),
        ("ttl", False, "turtle"),
        ("n3", False, "turtle"),
        ("TTL", False, "turtle"),
        ("text/turtle", False, "turtle"),
        ("text/n3", False, "turtle"),
        ("nt", False, "nt"),
        ("ntriples", False, "nt"),
        ("n-triples", False, "nt"),
        ("application/n-triples", False, "nt"),
        ("jsonld", False, "jsonld"),
        ("json-ld", False, "jsonld"),
        ("application/ld+json", False, "jsonld"),
        ("rdfxml", False, "rdfxml"),
        ("rdf", False, "rdfxml"),
        ("owl", False, "rdfxml"),
        ("application/rdf+xml", False, "rdfxml"),
        ("json", False, "json"),
        ("srj", False, "json"),
        ("application/sparql-results+json", False, "json"),
        ("xml", False, "xml"),
        ("srx", False, "xml"),
        ("csv", False, "csv"),
        ("text/csv", False, "csv"),
        ("tsv", False, "tsv"),
        ("text/tab-separated-values", False, "tsv"),
        ("table", False, "table"),
        ("text", False, "table"),
        # A graph result reads the table names as their RDF counterparts (SPARQLWrapper's usage).
        ("xml", True, "rdfxml"),
        ("json", True, "jsonld"),
        ("application/sparql-results+xml", True, "rdfxml"),
        ("turtle", True, "turtle"),
    ],
)
def test_every_spelling_names_one_format(spelling, graph_result, name):
    found = formats.lookup(spelling, graph=graph_result)
    assert found is not None and found.name == name


@pytest.mark.parametrize("spelling", ["", "html", "yaml", "application/json", "text/plain", "trig"])
def test_ambiguous_or_unknown_spellings_name_nothing(spelling):
    # application/json and text/plain mean different things on different surfaces, so they are no names.
    assert formats.lookup(spelling) is None


def test_the_registry_agrees_with_pyoxigraph():
    for media_type, fmt in formats.rdf_media_types(generic=True).items():
        expected = ox.RdfFormat.from_media_type(media_type)
        assert fmt.rdf == (ox.RdfFormat.TURTLE if expected in (None, ox.RdfFormat.N3) else expected), media_type
    for media_type, fmt in formats.results_media_types().items():
        assert fmt.results == ox.QueryResultsFormat.from_media_type(media_type), media_type
    for fmt in formats.FORMATS:
        assert formats.lookup(fmt.name) is fmt
        if fmt.rdf is not None:
            assert ox.RdfFormat.from_extension(fmt.aliases[0]) == fmt.rdf
            assert fmt.media_type == fmt.rdf.media_type
        if fmt.results is not None:
            assert ox.QueryResultsFormat.from_extension(fmt.aliases[0]) == fmt.results


def test_generic_types_are_offered_only_for_sparql_graphs():
    linked = formats.rdf_media_types()
    assert not {"application/json", "application/xml", "text/xml"} & set(linked)
    assert list(linked)[0] == "text/turtle"  # what */* gets
    assert {"application/json", "application/xml"} <= set(formats.rdf_media_types(generic=True))
    assert {f.name for f in formats.results_media_types(ask=True).values()} == {"json", "xml"}


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("text/turtle", "text/turtle"),
        ("text/n3", "text/n3"),
        ("text/rdf+n3", "text/rdf+n3"),
        ("application/x-turtle", "application/x-turtle"),
        ("text/plain", "text/plain"),
        ("application/n-triples", "application/n-triples"),
        ("application/xml", "application/rdf+xml"),
        ("application/json", "application/ld+json"),
    ],
)
def test_answers_are_sent_as_the_client_can_read_them(asked, sent):
    assert formats.sent_as(asked, formats.rdf_media_types(generic=True)[asked]) == sent


def test_export_takes_every_spelling_of_its_formats(built_settings):
    turtle = graph.export_graph(built_settings, "turtle")
    assert graph.export_graph(built_settings, "ttl") == turtle
    assert graph.export_graph(built_settings, "text/turtle") == turtle
    with pytest.raises(Exception, match="unknown export format"):
        graph.export_graph(built_settings, "rdfxml")


def test_cli_choices_come_from_the_registry(built_settings):
    runner = CliRunner()
    for name in graph.EXPORT_FORMATS:
        out = runner.invoke(main, ["export", "--data", str(built_settings.data_dir), "--format", name])
        assert out.exit_code == 0, out.output
    query = runner.invoke(main, ["sparql", "--data", str(built_settings.data_dir), SOURCE_KEYS, "--format", "json"])
    assert query.exit_code == 0, query.output
    assert json.loads(query.output)["head"]["vars"] == ["key"]


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/json", "application/json"),
        ("text/turtle", "text/turtle"),
        ("application/x-turtle", "application/x-turtle"),
        ("text/rdf+n3", "text/rdf+n3"),
        # A page type accepted below an RDF type still goes to RDF negotiation.
        ("text/html;q=0.5, text/turtle", "text/turtle"),
        ("application/json;q=0.5, application/n-triples", "application/n-triples"),
    ],
)
def test_linked_data_negotiates_by_the_registry(web_client, accept, mimetype):
    response = web_client.get("/source/DH2011b", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_linked_data_refuses_what_it_has_no_form_for(web_client):
    assert web_client.get("/source/DH2011b", headers={"Accept": "image/png"}).status_code == 406
    assert web_client.get("/source/DH2011b", query_string={"format": "csv"}).status_code == 400
    assert web_client.get("/source/DH2011b", query_string={"format": "ttl"}).mimetype == "text/turtle"


def test_sparql_endpoint_sends_the_registry_media_types(web_client):
    for accept, mimetype in [
        ("application/xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("*/*", "application/sparql-results+json"),
    ]:
        response = web_client.get("/sparql", query_string={"query": SOURCE_KEYS}, headers={"Accept": accept})
        assert response.status_code == 200 and response.mimetype == mimetype, accept
    described = web_client.get("/sparql", headers={"Accept": "application/n-triples"})
    assert described.mimetype == "application/n-triples"
    assert list(ox.parse(described.data, format=ox.RdfFormat.N_TRIPLES))
