"""The /sparql endpoint: SPARQL 1.1 Protocol over the test client and, with SPARQLWrapper, a served instance."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from lxml import etree
from rdflib.query import Result
from SPARQLWrapper import ASK, CONSTRUCT, JSON, POST, SELECT, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from kg import catalog, sparql

COUNT_SOURCES = "SELECT (COUNT(?s) AS ?n) WHERE { ?s kg:citationKey ?key }"
SOURCE_KEYS = "SELECT ?key WHERE { ?s kg:citationKey ?key } ORDER BY ?key"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def keys(built_settings):
    return sparql.run_query(built_settings, SOURCE_KEYS).column("key")


def select_json(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/sparql-results+json"
    return json.loads(response.get_data(as_text=True))


# --- the protocol's three ways of sending a query --------------------------------------------

def test_get_query(web_client, keys):
    body = select_json(web_client.get("/sparql", query_string={"query": SOURCE_KEYS},
                                      headers={"Accept": "application/sparql-results+json"}))
    assert body["head"]["vars"] == ["key"]
    assert [b["key"]["value"] for b in body["results"]["bindings"]] == keys


def test_post_form_encoded(web_client, keys):
    body = select_json(web_client.post("/sparql", data={"query": SOURCE_KEYS},
                                       headers={"Accept": "application/sparql-results+json"}))
    assert [b["key"]["value"] for b in body["results"]["bindings"]] == keys


def test_post_sparql_query_body(web_client, keys):
    body = select_json(web_client.post("/sparql", data=COUNT_SOURCES.encode(), content_type="application/sparql-query",
                                       headers={"Accept": "application/sparql-results+json"}))
    assert int(body["results"]["bindings"][0]["n"]["value"]) == len(keys)


def test_post_of_another_content_type_is_refused(web_client):
    response = web_client.post("/sparql", data=COUNT_SOURCES, content_type="text/plain",
                               headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "application/sparql-query" in response.get_json()["error"]


# --- result formats by Accept ----------------------------------------------------------------

def test_results_as_xml_csv_tsv(web_client, keys):
    xml = web_client.get("/sparql", query_string={"query": SOURCE_KEYS},
                         headers={"Accept": "application/sparql-results+xml"})
    assert xml.mimetype == "application/sparql-results+xml"
    ns = {"r": "http://www.w3.org/2005/sparql-results#"}
    values = [el.text for el in ET.fromstring(xml.data).findall(".//r:binding/r:literal", ns)]
    assert values == keys

    csv_response = web_client.get("/sparql", query_string={"query": SOURCE_KEYS}, headers={"Accept": "text/csv"})
    assert csv_response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True))))
    assert rows[0] == ["key"] and [r[0] for r in rows[1:]] == keys

    tsv = web_client.get("/sparql", query_string={"query": SOURCE_KEYS},
                         headers={"Accept": "text/tab-separated-values"})
    assert tsv.mimetype == "text/tab-separated-values"
    lines = tsv.get_data(as_text=True).splitlines()
    assert lines[0] == "?key" and lines[1:] == [f'"{k}"' for k in keys]


def test_ask(web_client):
    yes = web_client.get("/sparql", query_string={"query": 'ASK { ?s kg:citationKey "DH2011b" }'},
                         headers={"Accept": "application/sparql-results+json"})
    assert json.loads(yes.data) == {"head": {}, "boolean": True}
    no = web_client.get("/sparql", query_string={"query": 'ASK { ?s kg:citationKey "NOPE" }'},
                        headers={"Accept": "application/sparql-results+json"})
    assert json.loads(no.data)["boolean"] is False


def rdf_triples(text: str, media_type: str) -> set[tuple[str, str, str]]:
    """Parse RDF with pyoxigraph (rdflib's JSON-LD parser warns) into (s, p, o) value triples."""
    formats = {"text/turtle": ox.RdfFormat.TURTLE, "application/ld+json": ox.RdfFormat.JSON_LD,
               "application/n-triples": ox.RdfFormat.N_TRIPLES}
    return {(t.subject.value, t.predicate.value, t.object.value)
            for t in ox.parse(text.encode(), format=formats[media_type])}


@pytest.mark.parametrize("accept", ["text/turtle", "application/ld+json", "application/n-triples"])
def test_construct_and_describe_as_rdf(web_client, built_settings, accept):
    iri = f"{built_settings.base_iri}source/DH2011b"
    construct = f"CONSTRUCT {{ <{iri}> ?p ?o }} WHERE {{ <{iri}> ?p ?o }}"
    response = web_client.get("/sparql", query_string={"query": construct}, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    triples = rdf_triples(response.get_data(as_text=True), accept)
    assert (iri, "https://kg.example.org/ns#citationKey", "DH2011b") in triples
    describe = web_client.get("/sparql", query_string={"query": f"DESCRIBE <{iri}>"}, headers={"Accept": accept})
    assert describe.status_code == 200
    assert triples <= rdf_triples(describe.get_data(as_text=True), accept)


def test_format_parameter_overrides_accept_and_wrong_pairs_are_406(web_client):
    response = web_client.get("/sparql", query_string={"query": SOURCE_KEYS, "format": "csv"},
                              headers={"Accept": "application/sparql-results+json"})
    assert response.mimetype == "text/csv"
    wrong = web_client.get("/sparql", query_string={"query": SOURCE_KEYS, "format": "turtle"},
                           headers={"Accept": "application/json"})
    assert wrong.status_code == 406
    assert "does not fit a SELECT result" in wrong.get_json()["error"]


# --- refusals, errors and limits -------------------------------------------------------------

@pytest.mark.parametrize("query, status, message", [
    ("SELEC ?x WHERE { ?x ?y ?z }", 400, "SPARQL syntax error"),
    ("SELECT ?x WHERE { ?x ?y ", 400, "SPARQL syntax error"),
    ("SELECT ?x WHERE { ?x nope:thing ?z }", 400, "unknown prefix nope:"),
    ("INSERT DATA { <http://a> <http://b> <http://c> }", 403, "SPARQL Update is refused"),
    ("DELETE WHERE { ?s ?p ?o }", 403, "SPARQL Update is refused"),
    ("DROP ALL", 403, "SPARQL Update is refused"),
    ("LOAD <http://example.org/data.ttl>", 403, "LOAD is refused"),
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", 403, "SERVICE is refused"),
    ("SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://x.org/> { ?s ?q ?r } } }", 403, "SERVICE is refused"),
])
def test_bad_and_refused_queries(web_client, query, status, message):
    for send in (lambda: web_client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/json"}),
                 lambda: web_client.post("/sparql", data=query.encode(), content_type="application/sparql-query",
                                         headers={"Accept": "application/json"})):
        response = send()
        assert response.status_code == status
        body = response.get_json()
        assert body["ok"] is False and body["status"] == status and message in body["error"]


def test_update_attempts_leave_the_graph_as_it_was(web_client, keys):
    web_client.post("/sparql", data={"update": 'INSERT DATA { <http://a> <https://kg.example.org/ns#citationKey> "X" }'})
    web_client.post("/sparql", data='INSERT DATA { <http://a> <https://kg.example.org/ns#citationKey> "X" }',
                    content_type="application/sparql-update")
    body = select_json(web_client.get("/sparql", query_string={"query": SOURCE_KEYS},
                                      headers={"Accept": "application/sparql-results+json"}))
    assert [b["key"]["value"] for b in body["results"]["bindings"]] == keys


def test_missing_query_is_400_for_clients_and_a_form_for_browsers(web_client):
    response = web_client.get("/sparql", headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 400 and "no query given" in response.get_json()["error"]
    page = web_client.get("/sparql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and '<textarea id="query" name="query"' in page.get_data(as_text=True)


def test_dataset_parameters_name_store_graphs_and_an_unknown_graph_is_empty(web_client, keys):
    # kg's data is the store's default graph; a named graph the store lacks is empty, not fetched.
    query = {"query": SOURCE_KEYS, "default-graph-uri": "http://x.org/g"}
    elsewhere = select_json(web_client.get("/sparql", query_string=query, headers={"Accept": "application/json"}))
    assert elsewhere["results"]["bindings"] == []
    # An empty value names no graph (clients such as YASGUI send one): the default graph stays.
    empty = {"query": SOURCE_KEYS, "default-graph-uri": "", "named-graph-uri": ""}
    whole = select_json(web_client.get("/sparql", query_string=empty, headers={"Accept": "application/json"}))
    assert [row["key"]["value"] for row in whole["results"]["bindings"]] == sorted(keys)
    bad = web_client.get("/sparql", query_string={"query": SOURCE_KEYS, "named-graph-uri": "not an iri"},
                         headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "named-graph-uri" in bad.get_json()["error"]


def test_two_queries_in_one_request_are_a_400(web_client):
    response = web_client.post("/sparql?query=ASK%20%7B%7D", data="SELECT * {}",
                               headers={"Content-Type": "application/sparql-query", "Accept": "application/json"})
    assert response.status_code == 400 and "2 queries" in response.get_json()["error"]


def test_relative_iris_resolve_against_the_base_iri(web_client, built_settings):
    body = web_client.post("/sparql", data="CONSTRUCT { <s> <p> 1 } WHERE {}",
                           headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
    assert body.status_code == 200
    assert f"<{built_settings.base_iri}s> <{built_settings.base_iri}p>" in body.get_data(as_text=True)


@pytest.mark.parametrize("body, content_type", [
    ("ASK {}".encode("utf-16"), "application/sparql-query; charset=UTF-16"),
    (b"ASK { ?s ?p \"\xe9\" }", "application/sparql-query"),
    (b"query=ASK%20%7B%20%3Fs%20%3Fp%20%22%E9%22%20%7D", "application/x-www-form-urlencoded"),
])
def test_a_body_that_is_not_utf8_is_a_400_not_replaced(web_client, body, content_type):
    response = web_client.post("/sparql", data=body, headers={"Content-Type": content_type,
                                                              "Accept": "application/json"})
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["error"] or "utf-16" in response.get_json()["error"]


def test_ask_has_no_csv_or_tsv(web_client):
    for accept in ("text/csv", "text/tab-separated-values"):
        response = web_client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": accept})
        assert response.status_code == 406 and "sparql-results+json" in response.get_json()["error"]
    assert web_client.get("/sparql", query_string={"query": "ASK {}", "format": "csv"}).status_code == 406


def test_csv_writes_blank_nodes_with_their_prefix(web_client):
    response = web_client.get("/sparql", query_string={"query": "SELECT ?b WHERE { BIND(BNODE() AS ?b) }"},
                              headers={"Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["b"] and rows[1][0].startswith("_:") and len(rows[1][0]) > 2


def test_a_control_character_never_makes_xml_ill_formed(web_client):
    # XML 1.0 cannot hold U+0007 even as a character reference: the XML forms refuse (406), JSON carries it.
    query = 'SELECT ?x WHERE { BIND("bell\\u0007" AS ?x) }'
    xml = web_client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+xml"})
    assert xml.status_code == 406 and "U+0007" in xml.get_json()["error"]
    rdfxml = web_client.get("/sparql", query_string={"query": 'CONSTRUCT { <s> <p> "a\\u0007" } WHERE {}'},
                            headers={"Accept": "application/rdf+xml"})
    assert rdfxml.status_code == 406 and "U+0007" in rdfxml.get_json()["error"]
    answer = select_json(web_client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/json"}))
    assert answer["results"]["bindings"][0]["x"]["value"] == "bell\u0007"


def test_service_description_for_rdf_clients(web_client):
    response = web_client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = rdflib.Graph().parse(data=response.get_data(as_text=True), format="turtle")
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    service = graph.value(predicate=rdflib.RDF.type, object=SD.Service)
    assert graph.value(service, SD.endpoint) == rdflib.URIRef("http://localhost/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert web_client.get("/sparql", headers={"Accept": "application/json"}).status_code == 400


@pytest.fixture(scope="module")
def limited_app(built_settings):
    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(built_settings.with_(sparql_timeout=2.0, sparql_max_rows=5))
    yield app
    close_pool(app)


def test_row_cap_cuts_and_flags(limited_app, keys):
    response = limited_app.test_client().get("/sparql", query_string={"query": SOURCE_KEYS},
                                             headers={"Accept": "application/sparql-results+json"})
    body = select_json(response)
    assert len(body["results"]["bindings"]) == 5 < len(keys)
    # Truncation is told in the format's own head.link and a header, never by a new member.
    assert set(body) == {"head", "results"} and body["head"]["link"] == [sparql.TRUNCATED_LINK]
    assert response.headers["X-KG-Truncated"] == "true"


def test_a_named_query_as_written_runs_as_kg_runs_it(limited_app, built_settings, monkeypatch):
    """Asked by name (or with its own text, CRLF from a form), an unset parameter's query runs a
    few values at a time (kg.sparql.run_named): the first rows of the whole answer, flagged as
    cut. An edited text runs as written, to the same rows."""
    client = limited_app.test_client()
    json_accept = {"Accept": "application/sparql-results+json"}
    runs: list[str] = []
    run_each = sparql._run_each
    monkeypatch.setattr(sparql, "_run_each", lambda settings, query, *a, **k: runs.append(query.name)
                        or run_each(settings, query, *a, **k))
    text = sparql.named_query(built_settings, "claims-citing-source").text
    whole = sparql.run_query(built_settings, text, max_rows=10**6).rows
    by_name = client.get("/sparql", query_string={"named": "claims-citing-source"}, headers=json_accept)
    as_written = client.post("/sparql", data={"query": text.replace("\n", "\r\n"), "named": "claims-citing-source"},
                             headers=json_accept)
    edited = client.post("/sparql", data={"query": text + "\n# mine", "named": "claims-citing-source"},
                         headers=json_accept)
    for response in (by_name, as_written, edited):
        assert response.headers["X-KG-Truncated"] == "true"
        rows = select_json(response)["results"]["bindings"]
        assert len(rows) == 5 and [r["key"]["value"] for r in rows] == [r["key"]["value"] for r in whole[:5]]
        assert {r["claim"]["value"] for r in rows} <= {r["claim"]["value"] for r in whole}
    assert runs == ["claims-citing-source"] * 2  # by name and as written; the edited text as written


def test_runaway_query_is_stopped_without_stalling_other_requests(limited_app):
    outcome = {}

    def runaway():
        began = time.monotonic()
        response = limited_app.test_client().get("/sparql", query_string={"query": RUNAWAY},
                                                 headers={"Accept": "application/json"})
        outcome["runaway"] = (response.status_code, response.get_json(), time.monotonic() - began)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    began = time.monotonic()
    quick = limited_app.test_client().get("/sparql", query_string={"query": COUNT_SOURCES},
                                          headers={"Accept": "application/sparql-results+json"})
    quick_seconds = time.monotonic() - began
    page = limited_app.test_client().get("/source/DH2011b", headers={"Accept": "text/html"})
    thread.join(30)
    assert quick.status_code == 200 and page.status_code == 200
    assert quick_seconds < 1.5, "a quick query waited for the runaway one"
    status, body, seconds = outcome["runaway"]
    assert status == 503 and "time limit" in body["error"]
    assert seconds < 6


def test_html_form_runs_named_queries_and_shows_a_table(web_client, built_settings):
    named = sparql.list_named_queries(built_settings)
    page = web_client.get("/sparql?named=most-cited-sources", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "most-cited-sources" in page and "SELECT" in page
    query = sparql.named_query(built_settings, "most-cited-sources").text
    result = web_client.post("/sparql", data={"query": query, "format": "html"}, headers={"Accept": "text/html"})
    assert result.status_code == 200
    body = result.get_data(as_text=True)
    assert "<table>" in body and "<td>DH2011b</td>" in body
    # IRIs of our resources link to their pages here.
    linked = web_client.post("/sparql", data={"query": 'SELECT ?s WHERE { ?s kg:citationKey "DH2011b" }'},
                             headers={"Accept": "text/html"})
    assert 'href="/source/DH2011b"' in linked.get_data(as_text=True)
    assert len(named) >= 5
    error = web_client.post("/sparql", data={"query": "SELEC nothing"}, headers={"Accept": "text/html"})
    assert error.status_code == 400 and "SPARQL syntax error" in error.get_data(as_text=True)
    assert "SELEC nothing</textarea>" in error.get_data(as_text=True)


def test_unknown_named_query_is_404_with_suggestions(web_client):
    response = web_client.get("/sparql?named=most-cited-source", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert "most-cited-sources" in response.get_json()["suggestions"]


# --- a real client against a served instance -------------------------------------------------

def wrapper(url: str, query: str, fmt) -> SPARQLWrapper:
    client = SPARQLWrapper(url + "sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


def test_sparqlwrapper_select(served, keys):
    result = wrapper(served, SOURCE_KEYS, JSON)
    assert result.queryType == SELECT
    body = result.query().convert()
    assert [b["key"]["value"] for b in body["results"]["bindings"]] == keys
    posted = wrapper(served, SOURCE_KEYS, JSON)
    posted.setMethod(POST)
    assert posted.query().convert() == body


def test_sparqlwrapper_ask(served):
    client = wrapper(served, 'ASK { ?s kg:citationKey "DH2011b" }', JSON)
    assert client.queryType == ASK
    assert client.query().convert()["boolean"] is True


def test_sparqlwrapper_construct(served, built_settings):
    iri = f"{built_settings.base_iri}concept/payment-by-results"
    client = wrapper(served, f"CONSTRUCT {{ <{iri}> skos:narrower ?n }} WHERE {{ <{iri}> skos:narrower ?n }}", TURTLE)
    assert client.queryType == CONSTRUCT
    data = client.query().convert()
    graph = rdflib.Graph().parse(data=data.decode() if isinstance(data, bytes) else data, format="turtle")
    narrower = {str(o).rsplit("/", 1)[-1] for o in graph.objects(rdflib.URIRef(iri), rdflib.SKOS.narrower)}
    assert "care-transition-protocols" in narrower


def test_sparqlwrapper_sees_the_parser_message(served):
    with pytest.raises(QueryBadFormed) as caught:
        wrapper(served, "SELECT ?x WHERE { ?x ?y ", JSON).query()
    assert "SPARQL syntax error" in str(caught.value)


def test_named_query_parameters_bind_variables(web_client, built_settings):
    page = web_client.get("/sparql?named=claims-citing-source", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'name="param.key"' in page
    query = sparql.named_query(built_settings, "claims-citing-source").text
    bound = web_client.post("/sparql", data={"query": query, "named": "claims-citing-source", "param.key": "DH2011b"},
                            headers={"Accept": "application/sparql-results+json"})
    rows = select_json(bound)["results"]["bindings"]
    expected = {c["claim"]["id"] for c in catalog.citations_of(built_settings, "DH2011b")}
    assert rows and {r["key"]["value"] for r in rows} == {"DH2011b"}
    assert {r["claim"]["value"].rsplit("/", 1)[-1] for r in rows} == expected
    everything = web_client.post("/sparql", data={"query": query, "named": "claims-citing-source"},
                                 headers={"Accept": "application/sparql-results+json"})
    assert len(select_json(everything)["results"]["bindings"]) > len(rows)


# --- strict results: what Oxigraph's and rdflib's parsers read ---------------------------------

W3C = Path(__file__).resolve().parents[1].parent / "shared" / "w3c"
VARIED = ("SELECT ?s ?p ?o WHERE { { ?s ?p ?o FILTER(isLiteral(?o) && lang(?o) != '') } UNION "
          "{ ?s ?p ?o FILTER(datatype(?o) = xsd:integer) } UNION { ?s ?p ?o FILTER(isIRI(?o)) } UNION "
          "{ BIND(BNODE() AS ?s) BIND(rdfs:label AS ?p) BIND('plain' AS ?o) } } LIMIT 60")


@pytest.mark.parametrize("app_name", ["web_app", "limited_app"])
def test_results_are_read_by_oxigraph_and_rdflib(request, app_name):
    # limited_app cuts at 5 rows: the truncated answer must parse as strictly as a whole one.
    client = request.getfixturevalue(app_name).test_client()
    schema = etree.RelaxNG(etree.parse(str(W3C / "result.rng")))
    rows = {}
    for media_type, fmt in (("application/sparql-results+json", ox.QueryResultsFormat.JSON),
                            ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
                            ("text/tab-separated-values", ox.QueryResultsFormat.TSV)):
        response = client.get("/sparql", query_string={"query": VARIED}, headers={"Accept": media_type})
        assert response.status_code == 200 and response.mimetype == media_type
        if media_type.endswith("xml"):
            assert schema.validate(etree.fromstring(response.data)), schema.error_log
        parsed = [tuple(str(row[v]) for v in ("s", "p", "o")) for row in ox.parse_query_results(response.data, fmt)]
        theirs = Result.parse(io.BytesIO(response.data), content_type=media_type)
        assert len(list(theirs)) == len(parsed) > 0
        rows[media_type] = parsed
        assert (response.headers.get("X-KG-Truncated") == "true") is (app_name == "limited_app")
    assert len({tuple(r) for r in rows.values()}) == 1  # the three formats say the same
    for query in ("ASK { ?s ?p ?o }", "ASK { ?s kg:citationKey 'NOPE' }"):
        for media_type, fmt in (("application/sparql-results+json", ox.QueryResultsFormat.JSON),
                                ("application/sparql-results+xml", ox.QueryResultsFormat.XML)):
            answer = client.get("/sparql", query_string={"query": query}, headers={"Accept": media_type})
            assert bool(ox.parse_query_results(answer.data, fmt)) is ("NOPE" not in query)
