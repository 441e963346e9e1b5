"""The judged extraction set (tests/data/extraction/) through kg's real pipeline: goals by form.

The set is ten posts written in the citation forms and proportions of real UK policy writing,
with a gold file of every citation's locator and library key (see gold.yaml's header).
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from kg.settings import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import extraction  # noqa: E402  (bench/extraction.py: the figures of bench/RESULTS-extraction.md)

GOLD = yaml.safe_load((extraction.DATA / "gold.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def judged():
    return extraction.run(extraction.DATA / "corpus")


@pytest.fixture(scope="module")
def figures(judged):
    return extraction.score(judged, GOLD)


def test_the_judged_set_is_big_enough_and_covers_every_form():
    forms = {g["form"] for g in GOLD["citations"]}
    assert len({g["post"] for g in GOLD["citations"]}) >= 10 and len(GOLD["citations"]) >= 60
    assert {"author, year", "no comma", "et al", "two authors", "corporate list", "several years",
            "several works (;)", "lead-in", "narrative", "title before year", "note"} <= forms


def test_the_pipeline_reads_every_judged_post(judged):
    assert judged.failures == [] and len(judged.posts) == 13 and extraction.empty_posts(judged) == []


@pytest.mark.parametrize("form", sorted({g["form"] for g in GOLD["citations"]}))
def test_each_form_meets_the_goals(figures, form):
    n = figures["by_form"][form]
    assert n.get("found", 0) / n["gold"] >= 0.95, (form, figures["missed"])
    assert n.get("right", 0) / n["gold"] >= 0.95, form


def test_precision_recall_and_resolution_overall(figures):
    assert figures["precision"] >= 0.95, figures["false_positives"]
    assert figures["recall"] >= 0.95, figures["missed"]
    assert figures["resolved_right"] >= 0.95


def test_the_unreadable_parenthesis_is_reported_and_nothing_is_unresolved(judged):
    assert [u.text for u in judged.unreadable] == GOLD["unreadable"]
    assert [c.raw for c in judged.citations if c.status != "resolved"] == []


def test_kg_refs_check_lists_unreadable_text_and_unknown_organisations(tmp_path):
    from click.testing import CliRunner

    from kg.cli import main
    from kg.build import build
    from kg.settings import load_settings
    settings = load_settings(data_dir=tmp_path / "data", env={"KG_CORPUS_DIR": str(extraction.DATA / "corpus")})
    build(settings)
    result = CliRunner().invoke(main, ["refs", "check", "--json", "--data", str(settings.data_dir)],
                                env={"KG_CORPUS_DIR": str(extraction.DATA / "corpus")})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(u["raw"], u["post"]["id"]) for u in report["unreadable"]] == [
        ("(SCIE, 2013, updated 2015)", "co-production-councils")]
    assert "after the year" in report["unreadable"][0]["reason"]
    unknown = {key for p in report["problems"] if p["kind"] == "unknown-organisation" for key in p["keys"]}
    assert {"AgeUK2017", "NuffieldTrust2019", "HMGovernment2007"} <= unknown
    text = CliRunner().invoke(main, ["refs", "check", "--data", str(settings.data_dir)],
                              env={"KG_CORPUS_DIR": str(extraction.DATA / "corpus")}).output
    assert "Unreadable citation-like text: 1" in text and "(SCIE, 2013, updated 2015)" in text


def test_the_seed_corpus_does_not_regress():
    seed = extraction.seed_figures(extraction.run(ROOT / "corpus"))
    assert (seed["author_date"], seed["author_date_resolved"]) == (38, 36)
    assert [u for u in seed["unresolved"] if "(note)" not in u] == ["King’s Fund 2009", "SPRU 2008"]
    assert seed["never_cited"] == ["DH2011a", "DH2012b", "Sitra2013"]
    assert seed["unreadable"] == [] and seed["empty_posts"] == []
    # The seed's notes name six sources the library lacks: reported, with the note's text.
    assert seed["note_citations"] == 6 and seed["note_resolved"] == 0


def test_corporate_authors_the_authority_lacks_become_organisations(judged):
    from kg import build
    from kg.settings import load_settings
    settings = load_settings(env={"KG_CORPUS_DIR": str(extraction.DATA / "corpus"),
                                  "KG_ONTOLOGY_DIR": str(ROOT / "ontology")})
    minted = dict(build.load_inputs(settings).minted)
    assert {"Age UK", "Nuffield Trust", "HM Government", "NHS Providers", "Office for National Statistics"} <= set(minted)
    assert minted["Age UK"] == "AgeUK2017"
    assert "age-uk" in {o.id for o in judged.organisations}
    report = build.BuildReport(counts={"minted_organisations": len(minted)})
    assert f"new orgs    {len(minted):>8}" in report.summary() and "ontology/organisations.ttl" in report.summary()
