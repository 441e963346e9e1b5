"""The claim index: analyzer, documents, atomic rebuilds, failures."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import pytest
from search_corpus import real_corpus

from kg import generations
from kg.build import build
from kg.catalog import Catalog
from kg.errors import SearchError
from kg.index import META_FILE, VERSION_PREFIX, IndexStats, analyzer, live_version, uk_spelling, write_index
from kg.model import Corpus
from kg.references import format_reference
from kg.search import Searcher, search
from kg.settings import Settings, load_settings


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return real_corpus()


def _publish(corpus: Corpus, settings: Settings, **options) -> IndexStats:
    """Write ``corpus``'s index and make it live, the two steps `kg build` takes."""
    stats = write_index(corpus, settings.data_dir, **options)
    generations.publish(settings, index=Path(stats.path))
    return stats


def _settings(folder: Path) -> Settings:
    return load_settings(env={}, data_dir=folder)


def _small(corpus: Corpus, claims: int) -> Corpus:
    kept = corpus.claims[:claims]
    ids = {c.id for c in kept}
    return dataclasses.replace(corpus, claims=kept, citations=[c for c in corpus.citations if c.claim_id in ids])


@pytest.mark.parametrize("us, uk", [
    ("personalization", "personalisation"),
    ("organizations", "organisations"),
    ("realized", "realised"),
    ("analyze", "analyse"),
    ("behavior", "behaviour"),
    ("size", "size"),
    ("citizen", "citizen"),
    ("seized", "seized"),
    ("personalisation", "personalisation"),
])
def test_uk_spelling(us, uk):
    assert uk_spelling(us) == uk


def test_analyzer_joins_hyphenated_words_and_keeps_positions():
    toks = [(t.text, t.pos) for t in analyzer()("The co-production of out-of-area placements", positions=True)]
    # parts and the joined form; the joined form shares the last part's position
    assert toks == [("co", 0), ("product", 1), ("coproduct", 1), ("out", 2), ("area", 3), ("outofarea", 3),
                    ("placement", 4)]
    same = {t.text for t in analyzer()("personalization", mode="query")}
    assert same == {t.text for t in analyzer()("Personalisation", mode="query")}


def test_build_indexes_every_claim_with_render_fields(corpus, tmp_path):
    settings = _settings(tmp_path)
    stats = _publish(corpus, settings)
    assert stats.documents == len(corpus.claims) and not stats.failures
    assert settings.index_dir.is_symlink()
    assert Path(stats.path).name.startswith(VERSION_PREFIX)
    meta = json.loads((settings.index_dir / META_FILE).read_text())
    assert meta["documents"] == len(corpus.claims)
    assert "DH2011b" in meta["sources"] and "Payment by Results" in meta["sources"]["DH2011b"]
    assert meta["concepts"]["payment-by-results"]["label"] == "Payment by Results"

    searcher = Searcher(settings.index_dir)
    hit = searcher.search('"MHCT score is recorded"')["results"][0]
    claim = next(c for c in corpus.claims if c.id == hit["id"])
    assert hit["text"] == claim.text
    assert hit["post"] == {"id": claim.post_id, "title": next(p.title for p in corpus.posts if p.id == claim.post_id)}
    assert hit["section"] == claim.section == "Transition protocols"
    # Each citation carries its source's reference as every reader shows it, from the build's library.
    label = format_reference(corpus.references["DH2011b"], "DH2011b")
    assert label.startswith("Department of Health (DH) (2011b), Payment by Results")
    assert {"key": "DH2011b", "locator": "6", "raw": "DH, 2011b:6", "label": label} in hit["citations"]
    assert meta["reference_labels"]["DH2011b"] == label
    assert {c["id"] for c in hit["concepts"]} == set(corpus.subjects[claim.id])


def test_rebuild_swaps_atomically_and_prunes_old_versions(corpus, tmp_path):
    settings = _settings(tmp_path)
    index_dir = settings.index_dir
    _publish(_small(corpus, 100), settings)
    searcher = Searcher(index_dir)
    first = live_version(index_dir)
    assert searcher.search("mental health")["total"] > 0
    small_total = searcher.search("mental health")["total"]

    _publish(corpus, settings)
    second = live_version(index_dir)
    assert second != first
    # the same Searcher object notices the swap and reads the new index
    assert searcher.search("mental health")["total"] > small_total
    _publish(_small(corpus, 50), settings)
    versions = sorted(p.name for p in tmp_path.glob(f"{VERSION_PREFIX}*"))
    # the live version and the one before it remain; older ones are removed
    assert versions == sorted([second.name, live_version(index_dir).name])
    assert not list(tmp_path.glob(".index-building-*")) and not list(tmp_path.glob(".current-link-*"))


def test_readers_never_see_a_half_built_index(corpus, tmp_path):
    settings = _settings(tmp_path)
    small, full = _small(corpus, 60), corpus
    _publish(small, settings)
    searcher = Searcher(settings.index_dir)
    expected = {searcher.search("care")["total"]}
    _publish(full, settings)
    expected.add(searcher.search("care")["total"])
    seen, errors = [], []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            try:
                seen.append(searcher.search("care", facets=False)["total"])
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for version in (small, full, small, full):
        _publish(version, settings)
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert seen and set(seen) <= expected


# Two bodies sign one report; one citation spells its author as no form in the authority does.
ORG_POSTS = """---
id: who-wrote-it
title: Who wrote it
kind: article
excerpt: false
---
Winter pressures were met with a shared discharge fund (Department of Health and NHS England, 2017).

Councils warned of a shortfall in care budgets (LGA, 2018).

A consultation on charging closed last spring (Dept. of Health, 2031).
"""
ORG_LIBRARY = """@techreport{DHNHSEngland2017,
  author = {{Department of Health} and {NHS England}},
  year = {2017},
  title = {Joint guidance on discharge funding}
}

@techreport{LGA2018,
  author = {{Local Government Association}},
  year = {2018},
  title = {Adult care budgets under strain}
}
"""


def test_a_claim_is_filed_under_the_organisations_the_graph_gives_its_source(tmp_path):
    corpus_dir = tmp_path / "corpus"
    (corpus_dir / "posts").mkdir(parents=True)
    (corpus_dir / "posts" / "who-wrote-it.md").write_text(ORG_POSTS, encoding="utf-8")
    (corpus_dir / "references.bib").write_text(ORG_LIBRARY, encoding="utf-8")
    settings = load_settings(env={}, corpus_dir=corpus_dir, data_dir=tmp_path / "data")
    build(settings)

    def filed_under(org_id: str) -> set[str]:
        return {r["text"].split()[0] for r in search(settings, "", filters={"org": org_id}, limit=50)["results"]}

    # A resolved citation's organisations are its source's creators in the graph: both of them.
    catalog = Catalog(settings)
    for key, first_word in (("DHNHSEngland2017", "Winter"), ("LGA2018", "Councils")):
        creators = [org["id"] for org in catalog.source(key)["organisations"]]
        assert creators and all(first_word in filed_under(org_id) for org_id in creators)
    assert sorted(org["id"] for org in catalog.source("DHNHSEngland2017")["organisations"]) == ["dh", "nhs-england"]
    # An unresolved one is read by the same authority: "Dept. of Health" is the Department of Health.
    assert filed_under("dh") == {"Winter", "A"}
    assert filed_under("nhs-england") == {"Winter"} and filed_under("lga") == {"Councils"}


def test_a_bad_claim_becomes_a_failure_and_the_rest_is_indexed(corpus, tmp_path):
    bad = dataclasses.replace(corpus.claims[0], id="cbroken", text=None)
    broken = dataclasses.replace(corpus, claims=[bad, *corpus.claims[1:20]])
    stats = _publish(broken, _settings(tmp_path))
    assert stats.documents == 19
    assert [f.item for f in stats.failures] == ["cbroken"]
    assert "claim not indexed" in stats.failures[0].message


def test_unwritable_location_is_a_search_error(corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SearchError, match="cannot write the search index"):
        write_index(_small(corpus, 5), blocker)


def test_missing_index_says_to_build(tmp_path):
    with pytest.raises(SearchError, match="no search index") as info:
        Searcher(tmp_path / "index").search("care")
    assert "kg build" in str(info.value)


def test_many_claims_use_several_writer_processes(corpus, tmp_path):
    settings = _settings(tmp_path)
    stats = _publish(_small(corpus, 200), settings, procs=2)
    assert stats.procs == 2 and stats.documents == 200
    assert Searcher(settings.index_dir).search("personalisation")["total"] > 0


def test_an_index_written_in_segments_answers_as_one_segment_does(corpus, tmp_path, monkeypatch):
    """A full build past SEGMENT_CLAIMS claims writes several unmerged segments (each sorted in
    memory); every search, facet, page and concept listing is the same as over one segment."""
    import kg.index as index_mod

    one = write_index(corpus, tmp_path / "one")
    monkeypatch.setattr(index_mod, "SEGMENT_CLAIMS", 100)
    many = write_index(corpus, tmp_path / "many")
    assert one.segments == 1 and many.segments == -(-len(corpus.claims) // 100) and many.documents == one.documents
    single, split = Searcher(one.path), Searcher(many.path)
    for query, options in [("personal budgets", {}), ('"national tariff"', {}), ("care", {"page": 3, "limit": 7}),
                           ("mental health", {"sort": "post", "limit": 50}), ("", {"filters": {"source": "DH2011b"}}),
                           ("payment by results", {"filters": {"concept": "payment-by-results"}})]:
        a, b = single.search(query, **options), split.search(query, **options)
        assert a["total"] == b["total"] > 0 and a["facets"] == b["facets"], query
        assert [r["id"] for r in a["results"]] == [r["id"] for r in b["results"]], query
        assert [r["score"] for r in a["results"]] == pytest.approx([r["score"] for r in b["results"]]), query
    for concept in ("personalisation", "payment-by-results", "mental-health"):
        assert single.concept_claims([concept], 1, 1000) == split.concept_claims([concept], 1, 1000)
    # The list orders' columns, read a segment in one piece, are what Whoosh reads value by value.
    from kg.search import _column_values

    leaves = split._current().searcher().reader().leaf_readers()
    assert len(leaves) == many.segments
    for name in ("order", "date"):
        read: list[bytes] = []
        for leaf, _ in leaves:
            count = leaf.doc_count_all()
            mine = _column_values(leaf.column_reader(name, translate=False), count)
            assert mine == list(leaf.column_reader(name))[:count] and len(mine) == count, name
            read += mine
        assert all(read) or name == "date", name  # every claim has a place; the seed posts have no dates
