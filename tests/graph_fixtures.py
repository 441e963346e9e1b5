"""Shared by the graph, SPARQL, catalog and shapes tests: the real corpus built once per session."""

from __future__ import annotations

from kg.build import run_pipeline
from kg.graph import build_graph
from kg.settings import load_settings


def build_real(tmp_path_factory):
    """Run the real pipeline on corpus/ and write its graph into a temporary data directory."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("graph-data"))
    corpus = run_pipeline(settings)
    stats = build_graph(corpus, settings)
    return settings, corpus, stats
