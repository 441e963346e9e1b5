"""A build that cannot finish: an oversized post is a bad file and the rest builds; a full disk is
an `Error:` naming the data directory, the previous build stays live and nothing is left over."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg import build, generations
from kg.cli import main
from kg.search import search
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def copy_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", target, ignore=shutil.ignore_patterns("raw"))
    return target


def big_post(path: Path, size: int) -> None:
    paragraph = "Zebrafish commissioning of integrated care is discussed at length here. " * 20 + "\n\n"
    body = paragraph * (size // len(paragraph) + 1)
    path.write_text(f"---\nid: {path.stem}\ntitle: A very long post\n---\n{body}", encoding="utf-8")


@pytest.mark.parametrize("limit, size", [(None, 1_200_000), ("50000", 60_000)], ids=["default-limit", "set-limit"])
def test_a_post_over_max_post_bytes_is_a_bad_file_and_the_rest_builds(tmp_path, limit, size):
    corpus = copy_corpus(tmp_path)
    huge = corpus / "posts" / "a-huge-post.md"
    big_post(huge, size)
    env = {"KG_CORPUS_DIR": str(corpus), **({"KG_MAX_POST_BYTES": limit} if limit else {})}
    result = CliRunner().invoke(main, ["build", "--data", str(tmp_path / "data"), "--json"], env=env)
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["posts"] == 37
    [failure] = summary["failures"]
    assert failure["item"] == str(huge) and "max_post_bytes" in failure["message"]
    assert f"{huge.stat().st_size:,} bytes" in failure["message"]
    assert f"Error: [corpus] {huge}" in result.stderr
    settings = load_settings(env={}, corpus_dir=corpus, data_dir=tmp_path / "data")
    assert search(settings, "zebrafish")["total"] == 0 and search(settings, "personal budgets")["total"] > 0


def test_max_post_bytes_is_checked(tmp_path):
    from kg.errors import SettingsError

    with pytest.raises(SettingsError, match="max_post_bytes"):
        load_settings(env={"KG_MAX_POST_BYTES": "20000000"})


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture()
def small_disk(tmp_path):
    """A 24 MiB tmpfs: a real filesystem that fills up (needs root, as in CI)."""
    if not _can_mount():
        pytest.skip("needs root to mount a tmpfs")
    point = tmp_path / "disk"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(point)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Fill the disk with a ballast file until ``leave`` bytes are free."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with open(disk / "ballast", "wb") as out:
        out.write(b"\0" * max(0, free - leave))


def test_a_full_disk_stops_the_build_with_a_clear_error_and_leaves_the_live_build(tmp_path, small_disk):
    corpus = copy_corpus(tmp_path)
    data = small_disk / "data"
    settings = load_settings(env={}, corpus_dir=corpus, data_dir=data)
    assert build.build(settings).failures == []
    live = os.path.realpath(data / "current")
    before = search(settings, "personal budgets")["total"]
    fill(small_disk, leave=512 * 1024)
    result = CliRunner().invoke(main, ["build", "--full", "--data", str(data)], env={"KG_CORPUS_DIR": str(corpus)})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: the disk holding {data} is full"), result.output
    assert "--data DIR" in result.stderr and "free space" in result.stderr
    assert "Traceback" not in result.output
    # The previous build is live and whole, and what the failed build wrote is gone.
    assert os.path.realpath(data / "current") == live
    assert generations.verify(settings).sound
    assert search(settings, "personal budgets")["total"] == before
    names = sorted(p.name for p in data.iterdir())
    assert [n for n in names if n.startswith(("store.", "index-v"))] == sorted(
        Path(os.path.realpath(data / "current" / part)).name for part in ("store", "index"))
    assert not [n for n in names if n.startswith(".index-building") or n.endswith(".tmp")]
    assert not list(data.glob("**/*.tmp"))
    manifest = generations.read_manifest(settings)
    kept = {p.stem for p in (data / "cache").glob("*/*.json")}
    assert kept == {r["digest"] for r in manifest["posts"].values()}
    # With room again, the next build works.
    (small_disk / "ballast").unlink()
    assert build.build(settings, full=True).failures == []


def test_a_failed_first_build_leaves_no_orphans(tmp_path, small_disk):
    corpus = copy_corpus(tmp_path)
    data = small_disk / "data"
    data.mkdir()
    fill(small_disk, leave=1024 * 1024)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    result = subprocess.run([str(Path(sys.executable).with_name("kg")), "build", "--data", str(data)],
                            env={**env, "KG_CORPUS_DIR": str(corpus)}, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.startswith("Error: the disk holding"), result.stderr
    leftovers = [p.name for p in data.iterdir() if p.name not in (".build.lock", "cache")]
    assert leftovers == []
    assert not list((data / "cache").glob("*/*.json"))
