"""The graph build on the real corpus: mapping, IRIs, atomic swap, reopening."""

from __future__ import annotations

import threading

import pytest
from conftest import copy_build
from graph_fixtures import publish_graph
from rdflib import Literal, URIRef

from kg import build, generations, graph
from kg.errors import GraphError
from kg.graph import Iris, open_graph, open_store
from kg.vocab import C4O, CITO, DCTERMS, KG, OA, RDF


@pytest.fixture(scope="module")
def built(real_graph):
    return real_graph


def test_counts_match_the_corpus(built):
    settings, corpus, stats = built
    # 38 author-date citations and 6 note citations (a [1] marker whose note names a source, issue 14 item 3)
    assert (stats.posts, stats.citations, stats.references) == (37, 44, 15)
    assert stats.claims == len(corpus.claims) > 500
    assert stats.failures == []
    g = open_graph(settings)
    assert len(list(g.subjects(RDF.type, KG.Claim))) == len(corpus.claims)
    assert len(list(g.subjects(RDF.type, CITO.Citation))) == 44


def test_reopened_graph_is_not_empty_and_iris_follow_the_conventions(built):
    settings, corpus, _ = built
    g = open_graph(settings)
    ids = Iris(settings.base_iri)
    cit = next(c for c in corpus.citations if c.raw == "DH, 2011b:6")
    node = URIRef(ids.citation(cit.id))
    assert ids.citation(cit.id) == f"https://kg.example.org/citation/{cit.claim_id}-1"
    assert g.value(node, CITO.hasCitedEntity) == URIRef("https://kg.example.org/source/DH2011b")
    assert g.value(node, C4O.hasContext) == URIRef(ids.claim(cit.claim_id))
    # The oxrdflib trap: plain literals come back typed xsd:string, equal in value.
    assert str(g.value(node, C4O.hasContent)) == "DH, 2011b:6"


def test_claim_selectors_point_at_the_exact_span(built):
    settings, corpus, _ = built
    g = open_graph(settings)
    bodies = {p.id: p.body for p in corpus.posts}
    for claim in corpus.claims:
        node = URIRef(Iris(settings.base_iri).claim(claim.id))
        selectors = list(g.objects(node, OA.hasSelector))
        start = next(int(g.value(s, OA.start)) for s in selectors if g.value(s, OA.start) is not None)
        end = next(int(g.value(s, OA.end)) for s in selectors if g.value(s, OA.end) is not None)
        assert bodies[claim.post_id][start:end] == claim.text
        assert g.value(node, DCTERMS.isPartOf) == URIRef(Iris(settings.base_iri).post(claim.post_id))


def test_base_iri_is_configurable(tmp_path, built):
    settings, corpus, _ = built
    other = settings.with_(data_dir=tmp_path, base_iri="https://example.com/kg/")
    publish_graph(corpus, other)
    g = open_graph(other)
    assert (URIRef("https://example.com/kg/source/DH2011b"), KG.citationKey, Literal("DH2011b")) in g
    # Schema terms keep their namespace; no resource keeps the default base.
    text = graph.export_graph(other, "nt").decode()
    assert "<https://kg.example.org/ns#citationKey>" in text
    assert "<https://kg.example.org/source/" not in text and "<https://kg.example.org/concept/" not in text


def test_rebuild_swaps_atomically_while_a_reader_queries(tmp_path, built):
    settings, corpus, _ = built
    s = settings.with_(data_dir=tmp_path)
    publish_graph(corpus, s)
    seen, errors, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                store = open_store(s)
                seen.append(int(next(iter(store.query("SELECT (COUNT(*) AS ?n) { ?c a <https://kg.example.org/ns#Claim> }")))[0].value))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(3):
            publish_graph(corpus, s)
    finally:
        stop.set()
        reader.join()
    assert errors == [] and seen and set(seen) == {len(corpus.claims)}
    # The live store and the one it replaced are kept; older generations are removed.
    assert len([p for p in tmp_path.glob("store.*") if p.is_dir()]) == 2


def test_failed_build_leaves_the_live_store(tmp_path, built_settings, monkeypatch):
    s = built_settings.with_(data_dir=copy_build(built_settings.data_dir, tmp_path / "data"))
    before = s.store_dir.resolve()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(generations, "publish", boom)
    with pytest.raises(RuntimeError):
        build.build(s, full=True)
    assert s.store_dir.resolve() == before and open_graph(s) is not None
    assert [p for p in s.data_dir.glob("store.*") if p.is_dir()] == [before]


def test_missing_store_names_the_fix(tmp_path, built):
    settings, _, _ = built
    with pytest.raises(GraphError, match="kg build"):
        open_graph(settings.with_(data_dir=tmp_path))


def test_export_formats(built):
    settings, _, stats = built
    nt = graph.export_graph(settings, "nt").decode()
    assert nt.count("\n") == stats.triples
    ttl = graph.export_graph(settings, "turtle").decode()
    assert "@prefix cito: <http://purl.org/spar/cito/>" in ttl and "^^xsd:string" not in ttl
    import json
    assert isinstance(json.loads(graph.export_graph(settings, "jsonld")), list)


def test_failure_while_the_store_loads_leaves_the_live_store(tmp_path, built):
    # The build writes the index while the store bulk-loads in the background: if the index
    # fails, the half-made store and its N-Triples file go, and the live store stays.
    settings, corpus, _ = built
    s = settings.with_(data_dir=tmp_path)
    publish_graph(corpus, s)
    before = s.store_dir.resolve()
    with pytest.raises(RuntimeError, match="index failed"):
        with graph.loading(corpus, s) as load:
            assert load.thread is not None  # the load runs while the block does
            raise RuntimeError("index failed")
    assert load.stats is None
    assert [p for p in tmp_path.glob("store.*") if p.is_dir()] == [before]
    assert list(tmp_path.glob(".*.tmp")) == []
    assert open_graph(s) is not None

