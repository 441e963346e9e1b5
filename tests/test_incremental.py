"""Incremental, atomic, crash-safe builds: incremental == full, killed builds lose nothing,
and a running server keeps answering through a rebuild and then serves the new build."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from whoosh import index as whoosh_index

from graph_fixtures import concept_listings_agree_with_the_graph
from kg import build, graph, index
from kg.catalog import Catalog
from kg.search import search
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
KG = str(Path(sys.executable).with_name("kg"))
NEW_POST = """---
id: a-new-post-on-zebrafish-commissioning
title: A new post on zebrafish commissioning
---
Zebrafish commissioning is a made-up idea for this test (DH, 2011b:7).

Personal budgets and integration are discussed here as well.
"""


def make_corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", target, ignore=shutil.ignore_patterns("raw"))
    return target


def settings_for(corpus_dir: Path, data_dir: Path):
    return load_settings(env={}, corpus_dir=corpus_dir, data_dir=data_dir)


def edit_corpus(corpus_dir: Path) -> None:
    """Change one post, add one and delete one."""
    changed = corpus_dir / "posts" / "demand-and-supply.md"
    changed.write_text(changed.read_text(encoding="utf-8").replace(
        "Here’s a third and final blog", "Here’s a third, final blog about resource allocation systems"),
        encoding="utf-8")
    (corpus_dir / "posts" / "a-new-post-on-zebrafish-commissioning.md").write_text(NEW_POST, encoding="utf-8")
    (corpus_dir / "posts" / "personal-budgets-summit-or-nowt.md").unlink()


def graph_of(settings) -> Graph:
    g = Graph()
    g.parse(data=graph.export_graph(settings, "nt").decode("utf-8"), format="nt")
    return g


def documents_of(settings) -> dict[str, tuple]:
    ix = whoosh_index.open_dir(str(index.live_version(settings.index_dir)))
    with ix.searcher() as s:
        return {fields["id"]: tuple(sorted(fields.items())) for fields in s.all_stored_fields()}


def test_incremental_build_equals_a_full_rebuild(tmp_path):
    corpus_dir = make_corpus(tmp_path)
    incremental = settings_for(corpus_dir, tmp_path / "incremental")
    first = build.build(incremental)
    assert first.mode == "full" and first.failures == []

    edit_corpus(corpus_dir)
    report = build.build(incremental)
    assert report.mode == "incremental", report.as_dict()
    assert report.changed == {"added": ["a-new-post-on-zebrafish-commissioning"],
                              "changed": ["demand-and-supply"],
                              "removed": ["personal-budgets-summit-or-nowt"]}

    full = settings_for(corpus_dir, tmp_path / "full")
    reference = build.build(full, full=True)
    assert report.counts == reference.counts
    assert report.counts["posts"] == 37
    assert isomorphic(graph_of(incremental), graph_of(full))
    assert documents_of(incremental) == documents_of(full)
    # The index lists a concept's claims: its changed and removed posts' claims are deleted
    # documents there, which the listing must skip as the graph does.
    assert concept_listings_agree_with_the_graph(Catalog(incremental)) == 110

    found = search(incremental, "zebrafish")
    assert {r["post"]["id"] for r in found["results"]} == {"a-new-post-on-zebrafish-commissioning"}
    assert search(incremental, "post:personal-budgets-summit-or-nowt")["total"] == 0

    again = build.build(incremental)
    assert again.mode == "unchanged" and again.counts == reference.counts


def test_a_changed_shared_input_rebuilds_everything(tmp_path):
    corpus_dir = make_corpus(tmp_path)
    settings = settings_for(corpus_dir, tmp_path / "data")
    build.build(settings)
    library = corpus_dir / "references.bib"
    library.write_text(library.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert build.build(settings).mode == "full"


def test_a_lost_cache_entry_falls_back_to_a_full_build(tmp_path):
    corpus_dir = make_corpus(tmp_path)
    settings = settings_for(corpus_dir, tmp_path / "data")
    build.build(settings)
    shutil.rmtree(settings.data_dir / "cache")
    edit_corpus(corpus_dir)
    report = build.build(settings)
    assert report.mode == "full" and report.counts["posts"] == 37


def live_state(settings) -> tuple[int, int]:
    """Open the live store and index as a reader would; return (claims in graph, index documents)."""
    store = graph.open_store(settings)
    claims = int(next(iter(store.query(
        "SELECT (COUNT(*) AS ?n) { ?c a <https://kg.example.org/ns#Claim> }")))[0].value)
    return claims, search(settings, "personal budgets")["total"]


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.4, 2.0])
def test_a_build_killed_at_any_moment_leaves_the_previous_build_usable(tmp_path, delay):
    corpus_dir = make_corpus(tmp_path)
    settings = settings_for(corpus_dir, tmp_path / "data")
    build.build(settings)
    before = live_state(settings)
    edit_corpus(corpus_dir)
    full = settings_for(corpus_dir, tmp_path / "full")
    build.build(full)
    after = live_state(full)
    assert before != after
    env = {**os.environ, "KG_CORPUS_DIR": str(corpus_dir), "KG_DATA_DIR": str(settings.data_dir)}
    for args in (["build"], ["build", "--full"]):
        process = subprocess.Popen([KG, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert live_state(settings) in (before, after)  # the old build or the new one, never a broken one
    # The next build finishes the job, equals a full build, and clears what the killed ones left.
    report = build.build(settings)
    assert report.counts == build.build(full).counts
    assert isomorphic(graph_of(settings), graph_of(full))
    assert documents_of(settings) == documents_of(full)
    names = [p.name for p in settings.data_dir.iterdir()]
    assert [n for n in names if n.startswith(".index-building")] == []
    assert len([n for n in names if n.startswith("store.")]) <= 2  # the live store and the previous one
    assert not list(settings.data_dir.glob("**/*.tmp"))


def serve(settings) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "KG_CORPUS_DIR": str(settings.corpus_dir)}
    process = subprocess.Popen([KG, "serve", "--data", str(settings.data_dir), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = process.stdout.readline()
    url = line[line.index("http://"):].split()[0]
    return process, url


def test_a_running_server_answers_through_a_rebuild_and_serves_the_new_build(tmp_path):
    corpus_dir = make_corpus(tmp_path)
    settings = settings_for(corpus_dir, tmp_path / "data")
    build.build(settings)
    process, url = serve(settings)
    failures: list[str] = []
    served = [0]
    stop = threading.Event()

    def hammer(path: str) -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(url.rstrip("/") + path, timeout=10) as response:
                    response.read()
                served[0] += 1
            except (urllib.error.URLError, OSError) as exc:
                failures.append(f"{path}: {exc}")

    paths = ["/api/search?q=care+transition+protocols", "/api/source/DH2011b", "/api/concept/payment-by-results"]
    threads = [threading.Thread(target=hammer, args=(p,), daemon=True) for p in paths]
    try:
        for t in threads:
            t.start()
        edit_corpus(corpus_dir)
        for args in (["build"], ["build", "--full"]):
            subprocess.run([KG, *args, "--data", str(settings.data_dir)], check=True,
                           env={**os.environ, "KG_CORPUS_DIR": str(corpus_dir)}, capture_output=True)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        assert failures == []
        assert served[0] > 10
        query = urllib.parse.urlencode({"q": "zebrafish"})
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/search?{query}", timeout=10) as response:
            found = json.loads(response.read())
        assert {r["post"]["id"] for r in found["results"]} == {"a-new-post-on-zebrafish-commissioning"}
        with urllib.request.urlopen(f"{url.rstrip('/')}/api/post/a-new-post-on-zebrafish-commissioning",
                                    timeout=10) as response:
            assert response.status == 200
    finally:
        stop.set()
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


KILL_AFTER_PUBLISH = """
import os, signal, sys
from kg import build, generations
from kg.settings import load_settings

publish = generations.publish

def publish_then_die(*args, **kwargs):
    publish(*args, **kwargs)  # the new generation is live; whatever the build does next is lost
    os.kill(os.getpid(), signal.SIGKILL)

generations.publish = publish_then_die
build.build(load_settings())
"""


def test_a_build_killed_just_after_its_switch_leaves_a_live_manifest_that_describes_it(tmp_path):
    """The manifest goes live with the generation it describes: a kill right after the switch
    (before, the manifest was written next) cannot leave a manifest of the build before."""
    corpus_dir = make_corpus(tmp_path)
    settings = settings_for(corpus_dir, tmp_path / "data")
    build.build(settings)
    original = {p.name: p.read_bytes() for p in (corpus_dir / "posts").iterdir()}
    edit_corpus(corpus_dir)
    env = {**os.environ, "KG_CORPUS_DIR": str(corpus_dir), "KG_DATA_DIR": str(settings.data_dir)}
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_PUBLISH], env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert search(settings, "zebrafish")["total"] > 0  # the edited corpus went live
    # Put the corpus back as it was: the next build must undo the edit, not find "nothing changed".
    for path in (corpus_dir / "posts").iterdir():
        path.unlink()
    for name, data in original.items():
        (corpus_dir / "posts" / name).write_bytes(data)
    report = build.build(settings)
    assert report.mode == "incremental", report.as_dict()
    assert report.changed == {"added": ["personal-budgets-summit-or-nowt"], "changed": ["demand-and-supply"],
                              "removed": ["a-new-post-on-zebrafish-commissioning"]}
    assert search(settings, "zebrafish")["total"] == 0
    full = settings_for(corpus_dir, tmp_path / "full")
    assert report.counts == build.build(full).counts
    assert isomorphic(graph_of(settings), graph_of(full))
    assert documents_of(settings) == documents_of(full)
