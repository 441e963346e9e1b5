"""Shared by the graph, SPARQL, catalog and shapes tests: the real corpus built once per session."""

from __future__ import annotations

from pathlib import Path

from kg import generations, graph
from kg.build import run_pipeline
from kg.graph import GraphStats
from kg.model import Corpus
from kg.settings import Settings, load_settings


def publish_graph(corpus: Corpus, settings: Settings) -> GraphStats:
    """Write ``corpus``'s graph into a new store and make it live, the two steps `kg build` takes."""
    with graph.loading(corpus, settings) as load:
        pass
    assert load.stats is not None  # set on leaving the block, or it raised
    generations.publish(settings, store=Path(load.stats.store))
    return load.stats


def build_real(tmp_path_factory):
    """Run the real pipeline on corpus/ and write its graph into a temporary data directory."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("graph-data"))
    corpus = run_pipeline(settings)
    stats = publish_graph(corpus, settings)
    return settings, corpus, stats


#: A concept's claims as the graph orders them (the concept page's order before the index listed
#: them): by post title, then place in the post, then IRI. The reference the index is checked by.
GRAPH_CONCEPT_CLAIMS = """
    SELECT DISTINCT ?claim ?postTitle ?ordinal WHERE {
      ?top dcterms:identifier ?id ; a skos:Concept .
      ?tag (skos:broader|^skos:narrower)* ?top .
      ?claim dcterms:subject ?tag ; kg:ordinal ?ordinal ; dcterms:isPartOf ?p . ?p dcterms:title ?postTitle .
    } ORDER BY ?postTitle ?ordinal ?claim"""

#: The concepts tagged on a concept's claims besides those at or below it, with their claims.
GRAPH_CO_OCCURRING = """
    SELECT ?oid (COUNT(DISTINCT ?claim) AS ?n) WHERE {
      ?top dcterms:identifier ?id ; a skos:Concept .
      ?tag (skos:broader|^skos:narrower)* ?top .
      ?claim dcterms:subject ?tag ; dcterms:subject ?other . ?other dcterms:identifier ?oid .
      FILTER NOT EXISTS { ?other (skos:broader|^skos:narrower)* ?top }
    } GROUP BY ?oid"""


def concept_listings_agree_with_the_graph(catalog) -> int:
    """Assert that every concept's claims (all pages) and co-occurring concepts, as the catalog
    answers them, are the graph's own; return how many concepts were checked."""
    ids = sorted(r["id"] for r in catalog.select("SELECT ?id { ?c a skos:Concept ; dcterms:identifier ?id }"))
    for cid in ids:
        expected = [r["claim"] for r in catalog.select(GRAPH_CONCEPT_CLAIMS, id=cid)]
        listed = catalog.claim_list(concept_id=cid, limit=1000)
        assert listed["total"] == len(expected), cid
        assert [c["iri"] for c in listed["claims"]] == expected, cid
        paged, page = [], 1
        while True:
            answer = catalog.concept(cid, page=page, limit=7)
            paged += [c["id"] for c in answer["claims"]]
            if page >= answer["pages"]:
                break
            page += 1
        assert paged == [c["id"] for c in listed["claims"]], cid
        co = {r["oid"]: int(r["n"]) for r in catalog.select(GRAPH_CO_OCCURRING, id=cid)}
        assert {row["id"]: row["count"] for row in answer["co_occurring"]} == co, cid
    return len(ids)
