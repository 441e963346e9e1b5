"""Soak a served kg: client processes mixing searches, SPARQL (quick, and runaway ones that hit the
time limit) and page views, while `kg build --full` rebuilds the same data directory.

Records requests served, errors (anything but the intended 404s and 503s), latency percentiles and
the server's memory at start and end. tests/test_soak.py runs it briefly in CI; run it longer here:

    .venv/bin/python bench/soak.py --seconds 120 --clients 6 [--rebuilds 3]

which builds a fresh data directory, serves it on 127.0.0.1, and writes bench/RESULTS-soak.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KG = str(Path(sys.executable).with_name("kg"))

SEARCHES = ["personal budgets", "care transition protocols", "PbR", "payment by results mental health",
            '"integrated care"', "personalisation AND cuts", "commissioning -integration", "S117 aftercare",
            "micro-enterprise", "coproduction", "concept:payment-by-results tariff", "source:DH2011b",
            "the of and", '"unclosed quote', "((care", "mental helth"]
QUICK_SPARQL = [
    "SELECT ?key (COUNT(?c) AS ?n) WHERE { ?c cito:hasCitedEntity/kg:citationKey ?key } GROUP BY ?key ORDER BY DESC(?n)",
    "SELECT ?p ?t WHERE { ?p a fabio:BlogPost ; dcterms:title ?t } LIMIT 50",
    "ASK { ?s skos:prefLabel ?l }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
]
#: Runaway queries: a cartesian product that only finishes long after the time limit.
SLOW_SPARQL = ["SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
               "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"]
JSON = "application/json"
HTML = "text/html,application/xhtml+xml,*/*;q=0.8"


def request_mix(post_ids: list[str], claim_ids: list[str]) -> list[tuple[str, str, str, frozenset[int], int]]:
    """Return (kind, path, Accept, expected statuses, weight) for every request the clients send."""
    q = urllib.parse.quote
    mix = [("search", f"api/search?q={q(s)}", JSON, frozenset({200}), 3) for s in SEARCHES]
    mix += [("search-page", f"search?q={q(s)}", HTML, frozenset({200}), 1) for s in SEARCHES[:6]]
    mix += [("sparql", f"sparql?query={q(s)}", "application/sparql-results+json", frozenset({200}), 3)
            for s in QUICK_SPARQL]
    # This named query takes 0.3-0.8 s alone on the seed corpus, so with a 1 s limit on a loaded
    # machine it may be stopped too: either answer is right.
    mix += [("sparql-named", "sparql?named=claims-citing-source&param.key=DH2011b", "text/csv",
             frozenset({200, 503}), 1)]
    mix += [("sparql-slow", f"sparql?query={q(s)}", JSON, frozenset({503}), 1) for s in SLOW_SPARQL]
    pages = ["", "posts", "sources", "source/DH2011b", "concepts", "concept/payment-by-results", "audit",
             "cite?q=DH+2011b"]
    mix += [("page", p, HTML, frozenset({200}), 2) for p in pages]
    mix += [("page", f"post/{p}", HTML, frozenset({200}), 1) for p in post_ids[:10]]
    mix += [("api", f"api/claim/{c}", JSON, frozenset({200}), 1) for c in claim_ids[:10]]
    mix += [("api", p, JSON, frozenset({200}), 2) for p in ("api/stats", "api/sources", "api/posts", "api/concepts")]
    mix += [("not-found", "api/source/NOPE2099", JSON, frozenset({404}), 1)]
    return mix


def _client(base: str, seconds: float, seed: int, mix: list, out) -> None:
    """Send requests from the mix until the time is up; put (kind, status, seconds, expected) rows on out."""
    rng = random.Random(seed)
    weights = [m[4] for m in mix]
    rows = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kind, path, accept, expected, _ = rng.choices(mix, weights)[0]
        began = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, headers={"Accept": accept}),
                                        timeout=60) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        except OSError as error:  # refused, reset, timed out: the server failed to answer
            status = f"{type(error).__name__}: {error}"
        rows.append((kind, path, status, time.perf_counter() - began, status in expected))
    out.put(rows)


def rss_kb(pid: int) -> int:
    """Return a process's resident memory in kB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": JSON}), timeout=30) as response:
        return json.loads(response.read())


def serve(data_dir: Path, sparql_timeout: float, log: Path) -> tuple[subprocess.Popen, str]:
    """Start `kg serve` on 127.0.0.1 and a free port; return the process and its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["KG_SPARQL_TIMEOUT"] = str(sparql_timeout)
    with log.open("w") as errors:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([KG, "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=ROOT)
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not match:
        process.kill()
        raise RuntimeError(f"kg serve did not print its URL: {line!r}; see {log}")
    base = match.group()
    deadline = time.monotonic() + 30
    while True:
        try:
            _get_json(base + "api/stats")
            return process, base
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    if process.stdout:
        process.stdout.close()


def _rebuilds(data_dir: Path, count: int, start_after: float, results: list) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    time.sleep(start_after)
    for _ in range(count):
        began = time.perf_counter()
        done = subprocess.run([KG, "build", "--full", "--data", str(data_dir)], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=600)
        results.append({"seconds": round(time.perf_counter() - began, 1), "returncode": done.returncode,
                        "stderr": done.stderr[-2000:]})


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def soak(base: str, server_pid: int, data_dir: Path, *, seconds: float = 25, clients: int = 4,
         rebuilds: int = 1) -> dict:
    """Run the soak against a served instance; return its figures."""
    posts = [p["id"] for p in _get_json(base + "api/posts")["posts"]]
    claims = [c["id"] for c in _get_json(base + "api/claims?limit=50")["claims"]]
    mix = request_mix(posts, claims)
    for kind, path, accept, expected, _ in mix:  # warm every code path before measuring memory
        if kind != "sparql-slow":
            try:
                urllib.request.urlopen(urllib.request.Request(base + path, headers={"Accept": accept}),
                                       timeout=60).read()
            except urllib.error.HTTPError:
                pass
    built_before = _get_json(base + "api/stats")["built_at"]
    rss_start = rss_kb(server_pid)

    context = multiprocessing.get_context("fork")  # the clients only use urllib; no threads to copy
    queue = context.Queue()
    workers = [context.Process(target=_client, args=(base, seconds, 1000 + n, mix, queue), daemon=True)
               for n in range(clients)]
    rebuilt: list[dict] = []
    builder = threading.Thread(target=_rebuilds, args=(data_dir, rebuilds, seconds * 0.2, rebuilt))
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    builder.start()
    rows = [row for _ in workers for row in queue.get(timeout=seconds + 120)]
    for worker in workers:
        worker.join(30)
    builder.join(600)
    elapsed = time.perf_counter() - began
    time.sleep(1)  # let the last responses' memory settle
    rss_end = rss_kb(server_pid)
    built_after = _get_json(base + "api/stats")["built_at"]

    errors = [row for row in rows if not row[4]]
    timed = [row[3] for row in rows if row[0] != "sparql-slow" and row[4]]
    by_kind: dict[str, int] = {}
    for row in rows:
        by_kind[row[0]] = by_kind.get(row[0], 0) + 1
    return {
        "seconds": round(elapsed, 1), "clients": clients, "requests": len(rows),
        "requests_per_second": round(len(rows) / elapsed, 1), "by_kind": by_kind,
        "errors": len(errors), "error_samples": [(r[0], r[1][:80], r[2]) for r in errors[:10]],
        "intended_503": sum(1 for r in rows if r[0] == "sparql-slow" and r[2] == 503),
        "intended_404": sum(1 for r in rows if r[0] == "not-found" and r[2] == 404),
        "named_503": sum(1 for r in rows if r[0] == "sparql-named" and r[2] == 503),
        "p50_ms": round(percentile(timed, 50) * 1000), "p95_ms": round(percentile(timed, 95) * 1000),
        "p99_ms": round(percentile(timed, 99) * 1000), "max_ms": round(max(timed, default=0) * 1000),
        "rss_start_mb": round(rss_start / 1024, 1), "rss_end_mb": round(rss_end / 1024, 1),
        "rss_growth_mb": round((rss_end - rss_start) / 1024, 1),
        "rebuilds": rebuilt, "built_at_before": built_before, "built_at_after": built_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--rebuilds", type=int, default=3)
    parser.add_argument("--sparql-timeout", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS-soak.md")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from kg import build
    from kg.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="kg-soak-") as folder:
        data_dir = Path(folder) / "data"
        build.build(load_settings(env={}, data_dir=data_dir))
        process, base = serve(data_dir, args.sparql_timeout, Path(folder) / "serve.log")
        try:
            figures = soak(base, process.pid, data_dir, seconds=args.seconds, clients=args.clients,
                           rebuilds=args.rebuilds)
        finally:
            stop(process)
    command = " ".join(["bench/soak.py"] + sys.argv[1:])
    rebuilds = ", ".join(f"{r['seconds']} s (exit {r['returncode']})" for r in figures["rebuilds"])
    text = f"""# Soak: searches, SPARQL and pages from {figures['clients']} client processes during rebuilds

Command: `.venv/bin/python {command}` (recorded {time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} CPUs).
A fresh data directory built from corpus/, served by `kg serve` on 127.0.0.1 with sparql_timeout
{args.sparql_timeout:g} s; `kg build --full --data SAME_DIR` ran {len(figures['rebuilds'])} time(s) meanwhile.

| figure | value |
|---|---|
| duration | {figures['seconds']} s |
| requests served | {figures['requests']} ({figures['requests_per_second']}/s) |
| by kind | {', '.join(f'{k} {v}' for k, v in sorted(figures['by_kind'].items()))} |
| errors (unexpected status or no answer) | {figures['errors']} |
| intended 503 (runaway SPARQL stopped) | {figures['intended_503']} |
| intended 404 | {figures['intended_404']} |
| named query (0.3-0.8 s alone) stopped at the limit | {figures['named_503']} of {figures['by_kind'].get('sparql-named', 0)} |
| latency p50 / p95 / p99 / max (runaway SPARQL excluded) | {figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']} / {figures['max_ms']} ms |
| server RSS start -> end | {figures['rss_start_mb']} -> {figures['rss_end_mb']} MB ({figures['rss_growth_mb']:+} MB) |
| rebuilds | {rebuilds} |
| build served before -> after | {figures['built_at_before']} -> {figures['built_at_after']} |

Error samples: {figures['error_samples'] or 'none'}
"""
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
