"""The W3C SPARQL 1.1 Protocol test suite, query side, run against a served instance.

The manifest (``../shared/w3c/sparql11-protocol-manifest.ttl``, beside the clone, as CI has it)
is read with rdflib; each query-side test's requests are sent as written (method, path, headers,
body in its character encoding) to `kg serve`, and the answer is checked for the expected status
class, result format and boolean. XML answers are validated against the W3C's RELAX NG schema of
the results format (``../shared/w3c/result.rng``) and every results answer is parsed by
``pyoxigraph.parse_query_results`` and rdflib.

Update-side tests are out of scope: kg refuses SPARQL Update (SECURITY.md), so
test_update_side_requests_are_refused checks that every update-side test's first request is
refused (403, or the 4xx the test expects) rather than running them.

The manifest's graph data files (``ut:graphData``, data1.nt ...) are not shipped with it; the
tests need only what its queries ask (``<label> a ?type`` in the graph named ``label``), so the
served copy of the seed build gets one such triple in a named graph per label. The graphs live
in kg's own store, so the dataset parameters name store graphs and nothing is fetched.
"""

from __future__ import annotations

import http.client
import io
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
import pytest
import rdflib
from lxml import etree
from rdflib.collection import Collection
from rdflib.query import Result

from conftest import ROOT, serve_data
from kg import generations

W3C = Path(ROOT).parent / "shared" / "w3c"
MANIFEST = W3C / "sparql11-protocol-manifest.ttl"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DOCUMENT = "http://xmlns.com/foaf/0.1/Document"

RESULT_TYPES = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml",
             "application/ld+json": "json-ld"}


def _manifest() -> rdflib.Graph:
    return rdflib.Graph().parse(MANIFEST, format="turtle")


def _entries(graph: rdflib.Graph) -> list[rdflib.URIRef]:
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    return list(Collection(graph, graph.value(manifest, MF.entries)))


def _name(test: rdflib.URIRef) -> str:
    return str(test).rsplit("#", 1)[-1]


GRAPH = _manifest()
QUERY_TESTS = [t for t in _entries(GRAPH) if "update" not in _name(t)]
UPDATE_TESTS = [t for t in _entries(GRAPH) if "update" in _name(t)]


def _requests(test: rdflib.URIRef) -> list[rdflib.term.Node]:
    action = GRAPH.value(test, MF.action)
    return list(Collection(GRAPH, GRAPH.value(action, HT.requests)))


def _send(base: str, req, accept: str | None = None) -> tuple[int, str, bytes]:
    """Send one ht:Request as the manifest writes it; return (status, media type, body)."""
    path = str(GRAPH.value(req, HT.absolutePath))
    assert path.startswith("/sparql/")
    # The manifest says to replace its /sparql/ prefix with the endpoint's own path.
    path = "/sparql" + path[len("/sparql/"):]
    headers = {}
    listed = GRAPH.value(req, HT.headers)
    for header in Collection(GRAPH, listed) if listed is not None else []:
        headers[str(GRAPH.value(header, HT.fieldName))] = str(GRAPH.value(header, HT.fieldValue))
    if accept:
        headers["Accept"] = accept
    body = None
    content = GRAPH.value(req, HT.body)
    if content is not None:
        encoding = str(GRAPH.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(GRAPH.value(content, CNT.chars)).encode(encoding)
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(str(GRAPH.value(req, HT.methodName)), path, body=body, headers=headers)
        response = connection.getresponse()
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return response.status, media_type, response.read()
    finally:
        connection.close()


def _status_classes(response) -> set[int]:
    return {int(str(code).rsplit("StatusCode", 1)[-1][0]) for code in GRAPH.objects(response, MF.expectedStatus)}


@pytest.fixture(scope="module")
def w3c_served(built_settings, tmp_path_factory):
    """`kg serve` over a copy of the seed build whose store also holds the manifest's named graphs."""
    data = tmp_path_factory.mktemp("w3c") / "data"
    # Copied with its links, then the named graphs go into a store version of the copy's own,
    # published as a new generation (with the live manifest), as a build would publish it: the
    # shared build stays as it was, and the copy's build is sound by `kg build`'s checks.
    shutil.copytree(built_settings.data_dir, data, symlinks=True)
    settings = built_settings.with_(data_dir=data)
    live = generations.live_components(settings)
    store_dir = data / (generations.VERSION_PREFIXES["store"] + "w3c")
    shutil.copytree(live["store"], store_dir)
    labels = {str(GRAPH.value(node, rdflib.RDFS.label)) for node in GRAPH.objects(None, UT.graphData)}
    assert len(labels) == 3
    store = ox.Store(str(store_dir))
    for label in sorted(labels):
        store.add(ox.Quad(ox.NamedNode(label), ox.NamedNode(str(rdflib.RDF.type)), ox.NamedNode(DOCUMENT),
                          ox.NamedNode(label)))
    store.flush()
    del store
    manifest = json.loads((data / generations.CURRENT / generations.MANIFEST).read_text(encoding="utf-8"))
    generations.publish(settings, manifest, store=store_dir)
    assert generations.verify(settings).problems == {}
    with serve_data(data) as url:
        yield url


def _check_results(media_type: str, body: bytes, expected_format: str, expected_boolean) -> None:
    assert media_type in RESULT_TYPES, media_type
    if expected_format == "boolean":
        assert media_type in ("application/sparql-results+json", "application/sparql-results+xml")
    if media_type == "application/sparql-results+xml":
        schema = etree.RelaxNG(etree.parse(str(W3C / "result.rng")))
        document = etree.fromstring(body)
        assert schema.validate(document), schema.error_log
    parsed = ox.parse_query_results(body, format=RESULT_TYPES[media_type])
    theirs = Result.parse(io.BytesIO(body), content_type=media_type)
    if expected_format == "boolean":
        assert isinstance(parsed, ox.QueryBoolean) and theirs.type == "ASK"
        if expected_boolean is not None:
            assert bool(parsed) is expected_boolean and theirs.askAnswer is expected_boolean
    else:
        assert isinstance(parsed, ox.QuerySolutions) and theirs.type == "SELECT"
        assert [v.value for v in parsed.variables] == ["value"]
        assert [str(row["value"]) for row in theirs] == ["1"]


@pytest.mark.parametrize("accept", [None, "application/sparql-results+xml"], ids=["default", "xml"])
@pytest.mark.parametrize("test", QUERY_TESTS, ids=_name)
def test_query_side(w3c_served, test, accept):
    for req in _requests(test):
        response = GRAPH.value(req, HT.resp)
        expected_format = str(GRAPH.value(response, MF.expectedFormat))
        # The xml run asks for the XML form of each answer: SPARQL results XML, or RDF/XML for graphs.
        wanted = "application/rdf+xml" if accept and expected_format == "RDF" else accept
        status, media_type, body = _send(w3c_served, req, wanted)
        if wanted:
            assert status >= 400 or media_type == wanted
        assert status // 100 in _status_classes(response), (status, body[:300])
        if status >= 400:
            # Refusals come in kg's error shape, naming the problem.
            assert json.loads(body)["error"]
            continue
        expected = GRAPH.value(response, MF.expectedBoolean)
        if expected_format == "RDF":
            assert media_type in RDF_TYPES, media_type
            rdflib.Graph().parse(data=body, format=RDF_TYPES[media_type])
        else:
            _check_results(media_type, body, expected_format, None if expected is None else expected.toPython())


def test_query_side_suite_is_complete():
    # 20 query-side tests in the W3C manifest; a manifest read wrongly must not pass by running none.
    assert len(QUERY_TESTS) == 20 and len(UPDATE_TESTS) == 14


def test_protocol_dataset_is_what_the_answer_reads(w3c_served):
    # The control for the dataset tests: without default-graph-uri the graphs are not the
    # default graph (kg's data is), so the same ASK is false.
    req = _requests(next(t for t in QUERY_TESTS if _name(t) == "query_dataset_default_graphs_get"))[0]
    path = str(GRAPH.value(req, HT.absolutePath)).split("&default-graph-uri=")[0].replace("/sparql/", "/sparql", 1)
    address = urlsplit(w3c_served)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    assert answer.status == 200 and json.loads(answer.read())["boolean"] is False
    connection.close()


@pytest.mark.parametrize("test", UPDATE_TESTS, ids=_name)
def test_update_side_requests_are_refused(w3c_served, test):
    first = _requests(test)[0]
    status, _, body = _send(w3c_served, first)
    if _name(test).startswith("bad_"):
        assert 400 <= status < 500
    else:
        assert status == 403, (status, body[:300])
        assert "Update is refused" in json.loads(body)["error"]
