"""Beyond one machine: publish time, named-query latency and memory of Virtuoso and Oxigraph's
server beside the embedded store, and searches/s through haproxy with 2 app processes vs 1.

    .venv/bin/python bench/scale_out.py [--data DIR] [--repeat N] [--seconds S]

--data names a built data directory (read only: it is published, never written); without it the
seed corpus is built into a temporary folder. The servers, `kg serve` nodes and haproxy are
started on loopback in a temporary folder (tests/scale_servers.py, as tests/test_scale_out.py
does) and stopped at the end. Writes bench/RESULTS-scale-out.md.
"""

from __future__ import annotations

import argparse
import os
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))
sys.path.insert(0, str(BENCH))

import benchlib  # noqa: E402
from load import parse_wrk  # noqa: E402
from scale_servers import Server, free_port, haproxy, replicate, serve  # noqa: E402
from serving import stop  # noqa: E402

from kg import build, sparql  # noqa: E402
from kg import store as store_mod  # noqa: E402
from kg.errors import KGError  # noqa: E402
from kg.vocab import PREFIXES  # noqa: E402
from kg.settings import load_settings  # noqa: E402

RESULTS = BENCH / "RESULTS-scale-out.md"


HEADER = """# Beyond one machine: external SPARQL servers and app replicas (issue 18)

Written by bench/scale_out.py, one section per corpus size (each run replaces its own). An
infinite time is a query stopped at sparql_timeout (10 s).
"""


def write_section(name: str, body: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip() + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


def named_cases(settings) -> list[tuple[str, dict]]:
    return [
        (q.name, params)
        for q in sparql.list_named_queries(settings)
        for params in [{}] + [{n: {"concept": "payment-by-results", "key": "DH2011b"}.get(n, "x")} for n, _ in q.params]
    ]


def label_of(name: str, params: dict) -> str:
    return name + ("" if not params else " " + ",".join(f"{k}={v}" for k, v in params.items()))


def latencies(settings, cases, repeat: int) -> dict[str, list[float]]:
    """Seconds of each named query (by name and parameters), ``repeat`` times after one warm-up."""
    out: dict[str, list[float]] = {}
    for name, params in cases:
        label = label_of(name, params)
        times = []
        for run in range(repeat + 1):
            began = time.perf_counter()
            try:
                sparql.run_named(settings, name, params)
            except KGError:  # past sparql_timeout: counted as the time limit
                times.append(float("inf"))
                break
            if run:
                times.append(time.perf_counter() - began)
        out[label] = times
    return out


def store_latencies(settings, cases, repeat: int, skip: set[str]) -> list[float]:
    """Seconds of each named query's text on the live store alone (kg.store.open_live): the engine
    and, for a server, the HTTP round trip and parsing its answer, without kg's worker check."""
    live = store_mod.open_live(settings)
    out = []
    for name, params in cases:
        if label_of(name, params) in skip:  # stopped at the time limit through run_named: no limit here
            continue
        text = sparql.bind_values(sparql.named_query(settings, name).text, params)
        for run in range(repeat + 1):
            began = time.perf_counter()
            try:
                list(live.query(text, prefixes=PREFIXES))
            except KGError:
                out.append(float("inf"))
                break
            if run:
                out.append(time.perf_counter() - began)
    return out


def rss(pid: int) -> float:
    return benchlib.rss_mib(pid)


def wrk(url: str, paths: Path, seconds: int, connections: int = 8) -> dict:
    import subprocess

    done = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s", "-s",
         str(BENCH / "load.lua"), url.rstrip("/")],
        capture_output=True, text=True, env={**os.environ, "KG_LOAD_PATHS": str(paths)}, check=True,
    )
    return parse_wrk(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a built data directory (default: build the seed corpus)")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each named query per store")
    parser.add_argument("--seconds", type=int, default=15, help="seconds of wrk per haproxy run")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kg-scale-out-"))
    if args.data is None:
        settings = load_settings(env={}, data_dir=tmp / "seed-data")
        build.build(settings)
    else:
        settings = load_settings(env={}, data_dir=args.data.resolve())
    posts = json.loads((settings.data_dir / "current" / "manifest.json").read_text())["counts"]["posts"]

    servers = {kind: Server(kind, tmp / kind) for kind in ("virtuoso", "oxigraph")}
    apps: list = []
    lbs: list = []
    try:
        published = {kind: server.publish(settings.data_dir, timeout=3600) for kind, server in servers.items()}
        cases = named_cases(settings)
        stores = {"embedded": settings} | {
            kind: settings.with_(store="sparql", sparql_endpoint=server.endpoint) for kind, server in servers.items()
        }
        times = {kind: latencies(s, cases, args.repeat) for kind, s in stores.items()}
        stopped = {label for by in times.values() for label, ts in by.items() if float("inf") in ts}
        alone = {kind: store_latencies(s, cases, args.repeat, stopped) for kind, s in stores.items()}
        memory = {kind: rss(server.process.pid) for kind, server in servers.items()}
        # Virtuoso's script execs virtuoso-t, so its pid is the server's.

        # Searches through haproxy: two app nodes (copies of the build) over Oxigraph's server.
        nodes = [tmp / "node1", tmp / "node2"]
        for node in nodes:
            replicate(settings.data_dir, node)
        # One waitress process per node (--workers 1): "app processes" below are processes, not
        # gunicorn masters with a worker per core each.
        apps = [serve(node, servers["oxigraph"].endpoint, workers=1) for node in nodes]
        paths = tmp / "search-paths.txt"
        searches = [quote_plus(q) for qs in benchlib.QUERIES.values() for q in qs]
        paths.write_text("".join(f"/api/search?q={q}\n" for q in searches))
        lb_two, lb_one = free_port(), free_port()
        lbs.append(haproxy(lb_two, apps[0][1], apps[1][1]))
        lbs.append(haproxy(lb_one, apps[0][1], apps[0][1]))  # the same node twice: one app process
        wrk(f"http://127.0.0.1:{lb_two}/", paths, 3)  # warm both nodes' searchers
        search = {
            "1 app process": wrk(f"http://127.0.0.1:{lb_one}/", paths, args.seconds),
            "2 app processes": wrk(f"http://127.0.0.1:{lb_two}/", paths, args.seconds),
        }
        app_memory = [rss(process.pid) for process, _ in apps]
    finally:
        for process in lbs:
            stop(process)
        for process, _ in apps:
            stop(process)
        for server in servers.values():
            server.stop()

    def pct(values: list[float], q: float) -> float:
        return benchlib.percentile(sorted(values), q) * 1000

    def percentiles(by_store: dict[str, list[float]]) -> list[str]:
        base = pct(by_store["embedded"], 50)
        rows = ["", "| store | p50 ms | p95 ms | p50 vs embedded |", "| --- | ---: | ---: | ---: |"]
        for kind, values in by_store.items():
            rows.append(f"| {kind} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {pct(values, 50) / base:.2f}x |")
        return rows

    every = {kind: [t for ts in by.values() for t in ts] for kind, by in times.items()}
    lines = [
        f"## {posts:,} posts",
        "",
        f"Written by `{benchlib.command_line()}`; {benchlib.machine()}.",
        f"Corpus: {posts:,} posts, {published['oxigraph']['triples']:,} triples and "
        f"{published['oxigraph']['statistics_triples']:,} in its statistics graph. The machine is shared (2 cores, "
        "other engineers' builds and tests running): compare the columns of one run, not runs.",
        "",
        "### Publish (`kg publish`: dump N-Triples from the build, load its graph and its statistics graph into two new "
        "named graphs, check both counts, switch)",
        "",
        "| server | how | seconds |",
        "| --- | --- | ---: |",
        f"| Virtuoso 7.2 | bulk loader (`ld_dir` + `rdf_loader_run`) via isql | {published['virtuoso']['seconds']:.2f} |",
        f"| Oxigraph server 0.5 | Graph Store Protocol, a PUT then POSTs of 32 MB | {published['oxigraph']['seconds']:.2f} |",
        "",
        f"### Named queries ({len(cases)} cases: each named query unbound and bound, {args.repeat} runs each after a "
        "warm-up; `kg.sparql.run_named`: checked in a worker, then run on the store)",
        *percentiles(every),
        "",
        "The same query texts on the store alone (`kg.store.open_live(settings).query`, no worker check):",
        *percentiles(alone),
    ]
    lines += ["", "By query, through `run_named` (p50 ms):", "", "| query | embedded | virtuoso | oxigraph |", "| --- | ---: | ---: | ---: |"]
    for label in times["embedded"]:
        lines.append(
            f"| {label} | " + " | ".join(f"{pct(times[k][label], 50):.1f}" for k in ("embedded", "virtuoso", "oxigraph")) + " |"
        )
    lines += [
        "",
        f"### Searches through haproxy (wrk, 2 threads, 8 connections, {args.seconds} s, the {sum(map(len, benchlib.QUERIES.values()))} "
        "fixed searches of bench/benchlib.py as /api/search)",
        "",
        "| behind haproxy | searches/s | p50 ms | p95 ms | failed |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, run in search.items():
        lines.append(f"| {label} | {run['rps']:.1f} | {run['p50']:.1f} | {run['p95']:.1f} | {run['non200'] + run['errors']} |")
    lines += [
        "",
        "### Memory (resident, MiB, after the runs above)",
        "",
        "| process | RSS MiB |",
        "| --- | ---: |",
        f"| Virtuoso (virtuoso-t, NumberOfBuffers {os.environ.get('KG_VIRTUOSO_BUFFERS', '20000')}) | {memory['virtuoso']:.0f} |",
        f"| Oxigraph server | {memory['oxigraph']:.0f} |",
        f"| each `kg serve` (store = sparql) | {', '.join(f'{m:.0f}' for m in app_memory)} |",
    ]
    write_section(f"scale-out-{posts}", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
