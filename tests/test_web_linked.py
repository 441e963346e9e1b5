"""Linked data: every kind of resource IRI in the graph is answered, as HTML, Turtle, N-Triples, JSON-LD or RDF/XML by Accept.

With the default base IRI (the unserved placeholder https://kg.example.org/) answers name
resources by the address the request reached: ``http://localhost/`` for Flask's test client.
"""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
import rdflib

from kg import catalog

FORMATS = {"text/turtle": ox.RdfFormat.TURTLE, "application/ld+json": ox.RdfFormat.JSON_LD,
           "application/n-triples": ox.RdfFormat.N_TRIPLES, "application/rdf+xml": ox.RdfFormat.RDF_XML,
           "text/plain": ox.RdfFormat.N_TRIPLES, "text/n3": ox.RdfFormat.TURTLE}
SERVED = "http://localhost/"
DEFAULT_BASE = "https://kg.example.org/"


def served(iri: str) -> str:
    """The IRI a default install writes for ``iri``: the served address in place of the placeholder."""
    return SERVED + iri[len(DEFAULT_BASE):] if iri.startswith(DEFAULT_BASE) else iri


def triples(response) -> set[tuple[str, str, str]]:
    return {(t.subject.value, t.predicate.value, t.object.value)
            for t in ox.parse(response.data, format=FORMATS[response.mimetype])}


@pytest.fixture(scope="module")
def resource_iris(built_settings):
    """One IRI of every kind of resource the graph holds, found by asking the store itself."""
    store = ox.Store.read_only(str(built_settings.store_dir.resolve()))
    kinds = {}
    for kind in ("post", "claim", "citation", "citation-group", "source", "org", "concept", "dump"):
        prefix = f"{built_settings.base_iri}{kind}/"
        rows = store.query(f'SELECT ?s WHERE {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{prefix}") '
                           f'&& !CONTAINS(STR(?s), "#")) }} LIMIT 1')
        kinds[kind] = next(iter(rows))["s"].value
    kinds["concepts"] = f"{built_settings.base_iri}concepts"
    del store
    return kinds


KINDS = ["post", "claim", "citation", "citation-group", "source", "org", "concept", "dump", "concepts"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("accept", list(FORMATS))
def test_every_resource_iri_answers_rdf_by_accept(web_client, built_settings, resource_iris, kind, accept):
    iri = resource_iris[kind]
    path = "/" + iri[len(built_settings.base_iri):]
    response = web_client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == accept
    found = triples(response)
    assert any(s == served(iri) for s, _, _ in found), f"no statement about {served(iri)}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_resource_iri_answers_html_for_browsers(web_client, built_settings, resource_iris, kind):
    path = "/" + resource_iris[kind][len(built_settings.base_iri):]
    response = web_client.get(path, headers={"Accept": "text/html,*/*;q=0.8"}, follow_redirects=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_format_parameter_gives_rdf_to_a_browser_link(web_client, built_settings):
    for fmt, mimetype in (("ttl", "text/turtle"), ("jsonld", "application/ld+json"), ("nt", "application/n-triples")):
        response = web_client.get(f"/concept/payment-by-results?format={fmt}", headers={"Accept": "text/html"})
        assert response.status_code == 200 and response.mimetype == mimetype
        found = triples(response)
        iri = served(f"{built_settings.base_iri}concept/payment-by-results")
        assert (iri, "http://www.w3.org/2004/02/skos/core#narrower",
                served(f"{built_settings.base_iri}concept/care-transition-protocols")) in found


def test_claim_rdf_carries_its_selectors_and_incoming_citations(web_client, built_settings):
    cited = catalog.citations_of(built_settings, "DH2011b")[0]
    claim_iri = served(f"{built_settings.base_iri}claim/{cited['claim']['id']}")
    found = triples(web_client.get(f"/claim/{cited['claim']['id']}", headers={"Accept": "text/turtle"}))
    oa = "http://www.w3.org/ns/oa#"
    assert (f"{claim_iri}#position", f"{oa}start", str(catalog.claim(built_settings, cited["claim"]["id"])["start"])) in found
    assert (served(f"{built_settings.base_iri}citation/{cited['id']}"), "http://purl.org/spar/cito/hasCitingEntity",
            claim_iri) in found


def test_concept_scheme_rdf_holds_every_concept(web_client, built_settings):
    found = triples(web_client.get("/concepts", headers={"Accept": "text/turtle"}))
    concepts = {s for s, p, o in found if p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
                and o == "http://www.w3.org/2004/02/skos/core#Concept"}
    assert len(concepts) == catalog.stats(built_settings)["concepts"]


@pytest.mark.parametrize("path", ["/source/NOPE2000", "/concept/nope", "/post/nope", "/claim/c000", "/org/nope",
                                  "/citation/c000-1", "/citation-group/nope", "/dump/nope.txt"])
def test_unknown_resources_are_404_in_every_format(web_client, path):
    for accept in (*FORMATS, "text/html", "application/json"):
        response = web_client.get(path, headers={"Accept": accept})
        assert response.status_code == 404, (path, accept)


def test_unknown_format_parameter_is_400(web_client):
    response = web_client.get("/source/DH2011b?format=pdf", headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "format=ttl, nt, jsonld or rdfxml" in response.get_json()["error"]


def test_what_a_resource_cannot_give_is_406(web_client):
    response = web_client.get("/source/DH2011b", headers={"Accept": "image/png"})
    assert response.status_code == 406 and "application/rdf+xml" in response.get_json()["error"]


def test_json_ld_is_compact(web_client):
    body = json.loads(web_client.get("/source/DH2011b", headers={"Accept": "application/ld+json"}).data)
    assert body["@context"]["dcterms"] == "http://purl.org/dc/terms/"
    assert body["@context"]["kg"] == SERVED + "ns#"
    text = json.dumps(body)
    assert "http://purl.org/dc/terms/title" not in text and "dcterms:title" in text


def test_base_iri_setting_moves_every_iri(built_settings, tmp_path_factory):
    from kg import build
    from web import create_app
    from web.sparql_endpoint import close_pool

    settings = built_settings.with_(data_dir=tmp_path_factory.mktemp("rebased"), base_iri="https://data.example.net/kg/")
    build.build(settings)
    app = create_app(settings)
    try:
        response = app.test_client().get("/source/DH2011b", headers={"Accept": "text/turtle"})
        assert response.status_code == 200
        # A configured base IRI (the public address) is written as it is, whatever address was reached.
        assert ("https://data.example.net/kg/source/DH2011b", "https://kg.example.org/ns#citationKey", "DH2011b") \
            in triples(response)
    finally:
        close_pool(app)


@pytest.mark.parametrize("accept", list(FORMATS))
def test_the_vocabulary_namespace_is_served(web_client, accept):
    response = web_client.get("/ns", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    found = triples(response)
    assert (SERVED + "ns#Claim", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
            "http://www.w3.org/2002/07/owl#Class") in found
    assert (SERVED + "ns", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
            "http://www.w3.org/2002/07/owl#Ontology") in found


def test_the_vocabulary_page_lists_its_terms(web_client):
    response = web_client.get("/ns", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert 'id="Claim"' in page and 'id="TruncatedResult"' in page and "kg:citationKey" in page


# rdflib 7's own JSON-LD parser uses its ConjunctiveGraph and default_context, which rdflib 7
# deprecates: the warnings are about rdflib's code, not kg's answer.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning")
def test_rdflib_dereferences_a_default_install(served):
    """rdflib's own Graph().parse(url), as a notebook would call it, against `kg serve` with the default base IRI."""
    for path in ("source/DH2010", "ns", "concepts"):
        url = served + path
        graph = rdflib.Graph().parse(url)
        assert len(graph) > 0 and any(graph.predicate_objects(rdflib.URIRef(url))), url
    for fmt in ("xml", "turtle", "nt", "json-ld", "n3"):
        graph = rdflib.Graph().parse(served + "source/DH2010", format=fmt)
        key = rdflib.URIRef(served + "ns#citationKey")
        assert graph.value(rdflib.URIRef(served + "source/DH2010"), key) == rdflib.Literal("DH2010"), fmt


def test_the_concept_scheme_creator_is_an_agent(web_client):
    # dcterms:creator ranges over dcterms:Agent: a resource with a name, not the literal "kg project".
    found = triples(web_client.get("/concepts", headers={"Accept": "application/n-triples"}))
    creators = [o for s, p, o in found if s == SERVED + "concepts" and p == "http://purl.org/dc/terms/creator"]
    assert creators == [SERVED + "ns#project"]
    agent = triples(web_client.get("/ns", headers={"Accept": "application/n-triples"}))
    assert (SERVED + "ns#project", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "http://purl.org/dc/terms/Agent") in agent
    assert (SERVED + "ns#project", "http://xmlns.com/foaf/0.1/name", "kg project") in agent
