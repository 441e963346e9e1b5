"""Shared by the graph, SPARQL, catalog and shapes tests: the real corpus built once per session."""

from __future__ import annotations

from pathlib import Path

from kg import generations, graph
from kg.build import run_pipeline
from kg.graph import GraphStats
from kg.model import Corpus
from kg.settings import Settings, load_settings


def publish_graph(corpus: Corpus, settings: Settings) -> GraphStats:
    """Write ``corpus``'s graph into a new store and make it live, the two steps `kg build` takes."""
    with graph.loading(corpus, settings) as load:
        pass
    assert load.stats is not None  # set on leaving the block, or it raised
    generations.publish(settings, store=Path(load.stats.store))
    return load.stats


def build_real(tmp_path_factory):
    """Run the real pipeline on corpus/ and write its graph into a temporary data directory."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("graph-data"))
    corpus = run_pipeline(settings)
    stats = publish_graph(corpus, settings)
    return settings, corpus, stats
