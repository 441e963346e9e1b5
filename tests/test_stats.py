"""The statistics graph (kg.stats): what the named queries and pages count, kept by the build.

Checked: every rewritten named query answers the rows its old text (kept in
tests/data/queries-before-statistics/, computing over the whole graph) answers, on the seed
corpus and on a generated corpus of a few hundred posts; after a changed, an added and a
removed post an incremental build's statistics graph is a full build's; no blank nodes; the
catalog's aggregates are the old queries' counts.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import build, graph, sparql, stats
from kg.catalog import Catalog
from kg.settings import load_settings
from kg.vocab import PREFIXES

ROOT = Path(__file__).resolve().parents[1]
BEFORE = ROOT / "tests" / "data" / "queries-before-statistics"
REWRITTEN = sorted(p.stem for p in BEFORE.glob("*.rq"))
#: What each query orders by: rows must come in the same order of these, and be the same rows.
ORDER = {
    "claims-about-concept": ("concept", "postTitle", "ordinal"),
    "claims-citing-source": ("key", "postTitle", "ordinal"),
    "co-cited-sources": ("together", "key1", "key2"),
    "co-occurring-concepts": ("claims", "concept1", "concept2"),
    "most-cited-sources": ("citations", "key"),
    "single-source-claims": ("key", "claim"),
    "sources-for-concept": ("concept", "citations", "key"),
}
#: The parameter values tried besides none: broad and narrow concepts of the scheme.
CONCEPTS = ("personal-budgets", "payment-by-results", "integration", "commissioning")
#: And sources: the most cited of the seed corpus, one cited once, one never cited, one not in the library.
KEYS = ("DH2011b", "DH2013", "MHN2011a", "DH2011a", "NoSuchKey2099")


def make_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", target, ignore=shutil.ignore_patterns("raw"))
    return target


def built(corpus_dir: Path, data_dir: Path, full: bool = False):
    settings = load_settings(env={}, corpus_dir=corpus_dir, data_dir=data_dir)
    report = build.build(settings, full=full)
    assert report.failures == [] or all(f.stage != "graph" for f in report.failures), report.failures
    return settings, report


def rows(store: ox.Store, text: str, params: dict[str, str]) -> list[dict[str, str]]:
    answer = store.query(sparql.bind_values(text, params), prefixes=PREFIXES)
    assert isinstance(answer, ox.QuerySolutions)
    names = [v.value for v in answer.variables]
    return [{n: t.value for n, t in zip(names, solution) if t is not None} for solution in answer]


def assert_same_answers(settings) -> dict[str, int]:
    """Every rewritten query, with and without parameters, answers what its old text answers.

    Returns the rows compared per query and parameters (bench/same_rows.py prints them)."""
    store = graph.open_store(settings)
    compared: dict[str, int] = {}
    for name in REWRITTEN:
        query = sparql.named_query(settings, name)
        old_text = (BEFORE / f"{name}.rq").read_text(encoding="utf-8")
        variants: list[dict[str, str]] = [{}]
        variants += [{"concept": c} for c in CONCEPTS if any(p == "concept" for p, _ in query.params)]
        variants += [{"key": k} for k in KEYS if any(p == "key" for p, _ in query.params)]
        for params in variants:
            new, old = rows(store, query.text, params), rows(store, old_text, params)
            if name == "co-cited-sources":
                # The old text took any parenthesis as the example (SAMPLE); the new one the
                # smallest. Each must be a parenthesis that cites both.
                contents = {(r["key1"], r["key2"]): r.pop("example") for r in new}
                for r in old:
                    del r["example"]
                for (k1, k2), example in contents.items():
                    assert example in parentheses_citing(store, k1, k2), (k1, k2, example)
            assert_same_rows(name, params, new, old)
            compared[name + "".join(f" ({k}={v})" for k, v in params.items())] = len(old)
            if query.each is not None and not params:
                # Unset, kg runs it a few values at a time (sparql.run_named): the same rows.
                answered = sparql.run_named(settings, name, max_rows=10**9, max_bytes=2**62, timeout=600).values()
                if name == "co-cited-sources":
                    for r in answered:
                        del r["example"]
                assert_same_rows(name + " (run_named)", params, answered, old)
                compared[f"{name} (kg.sparql.run_named, a few values at a time)"] = len(answered)
    return compared


def assert_same_rows(name: str, params: dict[str, str], new: list[dict], old: list[dict]) -> None:
    """The same rows, and in the same order of what the old query sorted by (ties in any order)."""
    keys = ORDER[name.split()[0]]
    assert [tuple(r.get(k) for k in keys) for r in new] == [tuple(r.get(k) for k in keys) for r in old], (
        name, params)
    assert Counter(tuple(sorted(r.items())) for r in new) == Counter(tuple(sorted(r.items())) for r in old), (
        name, params)


def parentheses_citing(store: ox.Store, key1: str, key2: str) -> set[str]:
    found = rows(store, """
        SELECT DISTINCT ?content WHERE {
          ?s1 kg:citationKey ?key1 . ?s2 kg:citationKey ?key2 .
          ?g co:element ?c1, ?c2 ; c4o:hasContent ?content .
          ?c1 cito:hasCitedEntity ?s1 . ?c2 cito:hasCitedEntity ?s2 .
        }""", {"key1": key1, "key2": key2})
    return {r["content"] for r in found}


def statistics_quads(settings) -> set[ox.Quad]:
    store = graph.open_store(settings)
    return set(store.quads_for_pattern(None, None, None, ox.NamedNode(stats.GRAPH)))


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seed")
    return built(make_corpus(tmp), tmp / "data")


def test_rewritten_queries_answer_the_old_rows_on_the_seed_corpus(seed):
    settings, _ = seed
    assert sum(assert_same_answers(settings).values()) > 500


def test_rewritten_queries_answer_the_old_rows_on_a_generated_corpus(tmp_path):
    corpus_dir = tmp_path / "generated"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "300", str(corpus_dir), "--seed", "3"],
                   check=True, stdout=subprocess.DEVNULL)
    settings, report = built(corpus_dir, tmp_path / "data")
    assert report.counts["posts"] == 300
    assert sum(assert_same_answers(settings).values()) > 5000


def test_statistics_have_no_blank_nodes_and_are_counted(seed):
    settings, report = seed
    quads = statistics_quads(settings)
    assert len(quads) == report.counts["statistics_triples"] > 0
    assert not any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object))
    # The triple count of the build is the default graph's, as before the statistics.
    assert report.counts["triples"] == len(list(graph.open_store(settings).quads_for_pattern(
        None, None, None, ox.DefaultGraph())))


def test_incremental_statistics_equal_a_full_builds(tmp_path):
    corpus_dir = make_corpus(tmp_path)
    settings, _ = built(corpus_dir, tmp_path / "incremental")
    before = statistics_quads(settings)
    posts = corpus_dir / "posts"
    changed = posts / "demand-and-supply.md"
    text = changed.read_text(encoding="utf-8")
    # One more cited claim about personal budgets (a count up), and a cited one gone (counts down).
    changed.write_text(text + "\n\nPersonal budgets were reviewed again by the department (DH, 2011b:9; DH, 2013).\n",
                       encoding="utf-8")
    (posts / "a-new-post-on-commissioning.md").write_text(
        "---\nid: a-new-post-on-commissioning\ntitle: A new post on commissioning\n---\n"
        "Commissioning for outcomes and integration go together (DH, 2011b:7; DH, 2013:2).\n",
        encoding="utf-8")
    removed = max(posts.glob("*.md"), key=lambda p: p.read_text(encoding="utf-8").count("("))
    removed.unlink()
    _, report = built(corpus_dir, tmp_path / "incremental")
    assert report.mode == "incremental" and len(report.changed["removed"]) == 1, report.changed
    incremental = statistics_quads(settings)
    assert incremental != before

    full_settings, full = built(corpus_dir, tmp_path / "full", full=True)
    assert incremental == statistics_quads(full_settings)
    assert report.counts["statistics_triples"] == full.counts["statistics_triples"] == len(incremental)
    assert report.counts["triples"] == full.counts["triples"]
    assert sum(assert_same_answers(settings).values()) > 500


def test_catalog_counts_are_the_old_queries(seed):
    settings, _ = seed
    store = graph.open_store(settings)
    catalog = Catalog(settings, store=store)
    old = {r["key"]: r for r in rows(store, (BEFORE / "most-cited-sources.rq").read_text(encoding="utf-8"), {})}
    listed = catalog.sources()
    assert {r["key"]: (r["times_cited"], r["claims"], r["posts"]) for r in listed if r["times_cited"]} == {
        k: (int(r["citations"]), int(r["claims"]), int(r["posts"])) for k, r in old.items()}
    assert all(r["times_cited"] == 0 for r in listed if r["key"] not in old)
    old_sources = (BEFORE / "sources-for-concept.rq").read_text(encoding="utf-8")
    for concept in CONCEPTS:
        page = catalog.concept(concept)
        assert [(s["key"], s["count"]) for s in page["sources"]] == [
            (r["key"], int(r["citations"])) for r in rows(store, old_sources, {"concept": concept})]
    # Co-occurring concepts: the old text of Catalog.concept, which counted them per request.
    old_with = """
        SELECT ?oid (COUNT(DISTINCT ?claim) AS ?n) WHERE {
          ?top dcterms:identifier ?id ; a skos:Concept .
          ?tag (skos:broader|^skos:narrower)* ?top .
          ?claim dcterms:subject ?tag .
          ?claim dcterms:subject ?other . ?other dcterms:identifier ?oid ; skos:prefLabel ?olabel .
        } GROUP BY ?oid"""
    old_subtree = """
        SELECT DISTINCT ?sub WHERE {
          ?top dcterms:identifier ?id ; a skos:Concept .
          ?tag (skos:broader|^skos:narrower)* ?top . ?tag dcterms:identifier ?sub .
        }"""
    for concept in CONCEPTS:
        subtree = {r["sub"] for r in rows(store, old_subtree, {"id": concept})} | {concept}
        expected = {r["oid"]: int(r["n"]) for r in rows(store, old_with, {"id": concept}) if r["oid"] not in subtree}
        page = catalog.concept(concept)
        assert {c["id"]: c["count"] for c in page["co_occurring"]} == expected
        assert expected, concept
