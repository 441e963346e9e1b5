"""The built graph of the real corpus validates against ontology/shapes.ttl; broken graphs do not."""

from __future__ import annotations

import pyoxigraph as ox
import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef

from graph_fixtures import build_real
from kg.graph import open_store
from kg.vocab import C4O, CITO, KG, OA


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    settings = build_real(tmp_path_factory)[0]
    text = open_store(settings).dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode()
    shapes = Graph().parse(settings.ontology_dir / "shapes.ttl")
    return text, shapes


def _validate(text: str, shapes: Graph, change=None) -> tuple[bool, str]:
    graph = Graph().parse(data=text, format="nt")
    if change:
        change(graph)
    conforms, _, report = pyshacl.validate(graph, shacl_graph=shapes, advanced=True)
    return conforms, report


def test_real_graph_conforms(data):
    conforms, report = _validate(*data)
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
