"""The built graph of the real corpus validates against ontology/shapes.ttl; broken graphs do not."""

from __future__ import annotations

import dataclasses

import pyoxigraph as ox
import pyshacl
import pytest
from graph_fixtures import publish_graph
from rdflib import Graph, Literal, URIRef

from kg.graph import open_store
from kg.vocab import C4O, CITO, KG, OA


def _dump(settings) -> str:
    return open_store(settings).dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode()


@pytest.fixture(scope="module")
def corpus_data(real_graph):
    """The whole corpus's graph and the shapes: conformance of all of it is checked once."""
    settings = real_graph[0]
    return _dump(settings), Graph().parse(settings.ontology_dir / "shapes.ttl")


@pytest.fixture(scope="module")
def data(real_graph, corpus_data, tmp_path_factory):
    """The graph of one real post (with the shared library, organisations and concepts).

    Each broken-graph test breaks one node of one kind, which one post has; validating one
    post instead of the whole corpus takes a fraction of the time. The post cites a source the
    library holds, so every change below has something to break.
    """
    settings, corpus, _ = real_graph
    post_id = next(c.post_id for c in corpus.citations if c.raw == "DH, 2011b:6")
    claim_ids = {c.id for c in corpus.claims if c.post_id == post_id}
    one = dataclasses.replace(
        corpus, posts=[p for p in corpus.posts if p.id == post_id],
        claims=[c for c in corpus.claims if c.post_id == post_id],
        citations=[c for c in corpus.citations if c.post_id == post_id],
        unreadable=[u for u in corpus.unreadable if u.post_id == post_id],
        subjects={k: v for k, v in corpus.subjects.items() if k in claim_ids},
        bibliography={k: v for k, v in corpus.bibliography.items() if k == post_id})
    small = settings.with_(data_dir=tmp_path_factory.mktemp("one-post"))
    publish_graph(one, small)
    text, shapes = _dump(small), corpus_data[1]
    # Unbroken, the one-post graph conforms: a broken one failing is then the change's doing.
    conforms, report = _validate(text, shapes)
    assert conforms, report
    return text, shapes


def _validate(text: str, shapes: Graph, change=None) -> tuple[bool, str]:
    graph = Graph().parse(data=text, format="nt")
    if change:
        change(graph)
    conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes, advanced=True)
    return conforms, report


def test_real_graph_conforms(corpus_data):
    conforms, report = _validate(*corpus_data)
    assert conforms, report


def _first(graph: Graph, cls: URIRef) -> URIRef:
    return sorted(graph.subjects(URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), cls))[0]


def _drop_claim_text(g: Graph) -> None:
    g.remove((_first(g, KG.Claim), C4O.hasContent, None))


def _resolved_without_source(g: Graph) -> None:
    cit = next(c for c in g.subjects(CITO.hasCitedEntity, None))
    g.remove((cit, CITO.hasCitedEntity, None))


def _wrong_quote(g: Graph) -> None:
    claim = _first(g, KG.Claim)
    quote = URIRef(f"{claim}#quote")
    g.set((quote, OA.exact, Literal("not the claim's text")))


def _bad_status(g: Graph) -> None:
    g.set((_first(g, CITO.Citation), KG.citationStatus, Literal("maybe")))


def _bad_key(g: Graph) -> None:
    source = next(iter(g.subjects(KG.citationKey, None)))
    g.set((source, KG.citationKey, Literal("not a key")))


@pytest.mark.parametrize("change, component", [
    (_drop_claim_text, "MinCount"),
    (_resolved_without_source, "Xone"),
    (_wrong_quote, "quote selector"),
    (_bad_status, "In"),
    (_bad_key, "Pattern"),
])
def test_broken_graphs_do_not_conform(data, change, component):
    conforms, report = _validate(*data, change=change)
    assert not conforms and component in report
