"""Time reopening the graph store and answering a named query (seed corpus, or --data DIR).

    .venv/bin/python bench/graph_reopen.py [--data DIR] [--repeat 5]

Builds the seed corpus into a temporary data directory unless --data names a built one, then
times, in fresh processes: open_graph + one aggregate query through rdflib/oxrdflib, and
kg.sparql.run_named (worker process start included).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile

PROBE = r"""
import sys, time
began = time.perf_counter()
from kg.settings import load_settings
from kg import graph, sparql
settings = load_settings(data_dir=sys.argv[1])
imported = time.perf_counter()
g = graph.open_graph(settings)
rows = list(g.query(open(settings.ontology_dir / "queries" / "most-cited-sources.rq").read()))
reopened = time.perf_counter()
result = sparql.run_named(settings, "most-cited-sources")
named = time.perf_counter()
print(f"{imported - began:.4f} {reopened - imported:.4f} {named - reopened:.4f} {len(rows)} {len(result.rows)}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = args.data
    if data is None:
        from kg.build import build
        from kg.settings import load_settings

        data = tempfile.mkdtemp(prefix="kg-bench-")
        settings = load_settings(data_dir=data)
        report = build(settings)
        print(f"built {report.counts['triples']} triples in {report.seconds:.3f} s into {data}")
    samples = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", PROBE, data], check=True, capture_output=True, text=True)
        samples.append([float(x) for x in out.stdout.split()[:3]])
    for i, label in enumerate(["import kg", "reopen + query (rdflib/oxrdflib)", "run_named (new worker)"]):
        values = [s[i] for s in samples]
        print(f"{label:34s} median {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
