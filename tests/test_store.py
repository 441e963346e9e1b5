"""kg.store.map_graph_names: the one place the name kg:statistics becomes the live build's
statistics graph on an external server (tests/test_scale_out.py runs it against the servers)."""

from __future__ import annotations

import pytest

from kg import store as store_mod
from kg.settings import load_settings
from kg.vocab import PREFIXES

LIVE = "https://kg.example.org/graph/g1/statistics"
NAMES = {store_mod.STATISTICS: LIVE}
BASE = "https://kg.example.org/"
KG = PREFIXES["kg"]


@pytest.mark.parametrize(
    ("query", "expected", "has_from"),
    [
        ("SELECT * { GRAPH kg:statistics { ?s ?p ?o } }", f"SELECT * {{ GRAPH <{LIVE}> {{ ?s ?p ?o }} }}", False),
        (f"SELECT * {{ graph <{KG}statistics>{{ ?s ?p ?o }} }}", f"SELECT * {{ graph <{LIVE}>{{ ?s ?p ?o }} }}", False),
        ("SELECT * FROM kg:statistics { ?s ?p ?o }", f"SELECT * FROM <{LIVE}> {{ ?s ?p ?o }}", True),
        ("SELECT * FROM NAMED kg:statistics { ?s ?p ?o }", f"SELECT * FROM NAMED <{LIVE}> {{ ?s ?p ?o }}", True),
        # The query's own prefix and base, a relative IRI, a comment between, an escaped local name.
        (
            f"PREFIX k: <{KG}> SELECT * {{ GRAPH k:statistics {{ ?s ?p ?o }} }}",
            f"PREFIX k: <{KG}> SELECT * {{ GRAPH <{LIVE}> {{ ?s ?p ?o }} }}",
            False,
        ),
        (
            "BASE <https://kg.example.org/> PREFIX k: <ns#> SELECT * { GRAPH k:statistics {} GRAPH <ns#statistics> {} }",
            f"BASE <https://kg.example.org/> PREFIX k: <ns#> SELECT * {{ GRAPH <{LIVE}> {{}} GRAPH <{LIVE}> {{}} }}",
            False,
        ),
        ("ASK { GRAPH # why\n kg:statistic\\s {} }", f"ASK {{ GRAPH # why\n <{LIVE}> {{}} }}", False),
        # Left alone: kg: declared as something else, the IRI as a subject, strings, comments, variables.
        ("PREFIX kg: <http://other/> ASK { GRAPH kg:statistics {} }", None, False),
        ("SELECT * { kg:statistics ?p ?o }", None, False),
        ('SELECT * { BIND ("GRAPH kg:statistics" AS ?t) } # FROM kg:statistics', None, False),
        ("SELECT * { BIND ('''FROM\nkg:statistics''' AS ?t) }", None, False),
        ("SELECT * { GRAPH ?g {} FILTER (?g != kg:statistics) }", None, False),
        ("SELECT * FROM <http://example.org/g> { ?s ?p ?o }", None, True),
        ("SELECT ?from { ?from ?p ?o }", None, False),
    ],
)
def test_graph_names_are_mapped_where_the_query_names_a_graph(query, expected, has_from):
    assert store_mod.map_graph_names(query, NAMES, PREFIXES, BASE) == (expected or query, has_from)


def test_the_statistics_graph_is_named_after_the_builds_graph():
    graph = store_mod.build_graph(load_settings(env={}), "20261204T010000-1-000001")
    assert store_mod.statistics_graph(graph) == graph + "/statistics"
    assert store_mod.RemoteStore("http://127.0.0.1:1/sparql", graph, 1.0).statistics == graph + "/statistics"
    # The pointer and count queries (no live graph) map nothing.
    assert store_mod.RemoteStore("http://127.0.0.1:1/sparql", None, 1.0).statistics is None
