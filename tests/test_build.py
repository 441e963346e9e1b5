"""The build pipeline and the `kg` command line, on the seed corpus and on broken copies of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg import build
from kg.cli import main
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed_corpus():
    return build.run_pipeline(load_settings(env={}))


def test_pipeline_on_the_seed_corpus(seed_corpus):
    counts = build.count(seed_corpus)
    assert seed_corpus.failures == []
    assert counts["posts"] == 37
    assert counts["citations"] == 44  # 38 author-date citations and 6 note citations
    assert sum(c.form != "note" for c in seed_corpus.citations) == 38
    assert counts["claims"] > 500
    assert 0 < counts["questions"] < counts["claims"]
    ids = [c.id for c in seed_corpus.claims]
    assert len(set(ids)) == len(ids)
    bodies = {p.id: p.body for p in seed_corpus.posts}
    assert all(bodies[c.post_id][c.start:c.end] == c.text for c in seed_corpus.claims)
    assert set(seed_corpus.subjects) <= set(ids)


def copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", target, ignore=shutil.ignore_patterns("raw"))
    return target


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_claim_ids_are_stable_when_another_post_changes(tmp_path):
    corpus_dir = copy_corpus(tmp_path)
    before = build.run_pipeline(load_settings(env={}, corpus_dir=corpus_dir))
    changed = corpus_dir / "posts" / "demand-and-supply.md"
    changed.write_text(changed.read_text(encoding="utf-8").replace(
        "Here’s a third and final blog", "Here’s a third, final blog"), encoding="utf-8")
    (corpus_dir / "posts" / "a-new-post.md").write_text(
        "---\nid: a-new-post\ntitle: A new post\n---\nPersonal budgets are here. Are they working?\n", encoding="utf-8")
    after = build.run_pipeline(load_settings(env={}, corpus_dir=corpus_dir))
    old = {c.id: c for c in before.claims if c.post_id != "demand-and-supply"}
    new = {c.id: c for c in after.claims if c.post_id not in ("demand-and-supply", "a-new-post")}
    assert old.keys() == new.keys()
    assert all(old[i].text == new[i].text for i in old)
    changed_ids = {c.id for c in after.claims if c.post_id == "demand-and-supply"}
    unchanged_in_changed_post = {c.id for c in before.claims if c.post_id == "demand-and-supply"} & changed_ids
    assert len(unchanged_in_changed_post) == len(changed_ids) - 1  # only the edited sentence got a new id


def test_kg_build_reports_a_bad_post_file_and_builds_the_rest(tmp_path):
    corpus_dir = copy_corpus(tmp_path)
    bad = corpus_dir / "posts" / "broken.md"
    bad.write_bytes("---\ntitle: Caf\xe9\n---\nBody.\n".encode("latin-1"))
    unclosed = corpus_dir / "posts" / "unclosed.md"
    unclosed.write_text("---\ntitle: [oops\n---\nBody.\n", encoding="utf-8")
    data = tmp_path / "data"
    result = CliRunner().invoke(main, ["build", "--data", str(data), "--json"],
                                env={"KG_CORPUS_DIR": str(corpus_dir)})
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["posts"] == 37
    failed = {f["item"]: f["message"] for f in summary["failures"]}
    assert set(failed) == {str(bad), str(unclosed)}
    assert "not UTF-8" in failed[str(bad)] and "not valid YAML" in failed[str(unclosed)]
    assert f"Error: [corpus] {bad}" in result.stderr
    assert (data / "current" / "store").exists() and (data / "current" / "index").exists()


def test_kg_build_prints_a_summary(tmp_path):
    result = run(["build", "--data", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    for word in ("posts", "claims", "citations", "references", "concepts", "triples", "indexed"):
        assert word in result.output
    assert "37" in result.output


def test_data_directory_from_environment(tmp_path):
    result = run(["build", "--json"], env={"KG_DATA_DIR": str(tmp_path / "env-data")})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data_dir"] == str(tmp_path / "env-data")


def test_help_and_usage_errors():
    result = run(["--help"])
    assert result.exit_code == 0 and "kg build" in result.output
    for command in main.commands.values():
        help_text = run([command.name, "--help"])
        assert help_text.exit_code == 0
        assert len(help_text.output.splitlines()) > 3
    assert run(["no-such-command"]).exit_code == 2
    assert run(["build", "--no-such-option"]).exit_code == 2


def test_corpus_import_dry_run_lists_posts_with_provenance():
    result = run(["corpus", "import", "--dry-run", *map(str, sorted((ROOT / "corpus" / "raw").glob("*.txt")))])
    assert result.exit_code == 0
    assert "37 posts from 45 occurrences in 5 dumps" in result.output
    assert "000_23ba44043579b2fd.txt:171-181" in result.output


def test_corpus_import_writes_posts(tmp_path):
    result = run(["corpus", "import", "--posts", str(tmp_path), *map(str, sorted((ROOT / "corpus" / "raw").glob("*.txt")))])
    assert result.exit_code == 0
    assert len(list(tmp_path.glob("*.md"))) == 37
    again = run(["corpus", "import", "--posts", str(tmp_path), *map(str, sorted((ROOT / "corpus" / "raw").glob("*.txt")))])
    assert "0 written, 37 unchanged" in again.output
