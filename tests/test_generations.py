"""Store and index versions go live together, and old ones are pruned."""

from __future__ import annotations

import os

from kg import generations
from kg.settings import load_settings


def make_version(data, name):
    path = data / name
    path.mkdir(parents=True)
    (path / "marker").write_text(name, encoding="utf-8")
    return path


def test_publish_pairs_components_and_keeps_the_previous_generation(tmp_path):
    settings = load_settings(env={}, data_dir=tmp_path)
    data = settings.data_dir
    assert generations.live_components(settings) == {}

    s1, i1 = make_version(data, "store.1"), make_version(data, "index-v1")
    generations.publish(settings, store=s1, index=i1)
    assert generations.live_components(settings) == {"store": s1.resolve(), "index": i1.resolve()}
    assert (settings.store_dir / "marker").read_text() == "store.1"

    s2 = make_version(data, "store.2")
    generations.publish(settings, store=s2)  # the index stays as it is
    assert generations.live_components(settings) == {"store": s2.resolve(), "index": i1.resolve()}

    s3, i3 = make_version(data, "store.3"), make_version(data, "index-v3")
    unpublished = make_version(data, "store.killed")
    generations.publish(settings, store=s3, index=i3)
    assert os.readlink(data / "current").startswith("builds/")
    # The live and the previous generation survive with their components; the rest is gone.
    assert len(list((data / "builds").iterdir())) == 2
    assert s3.exists() and i3.exists() and s2.exists() and i1.exists()
    assert not s1.exists() and not unpublished.exists()


def test_a_data_directory_without_a_build_has_no_live_components(tmp_path):
    settings = load_settings(env={}, data_dir=tmp_path)
    generations.prune(settings)  # nothing to do, nothing raised
    assert generations.live_components(settings) == {}
