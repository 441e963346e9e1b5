"""The SPARQL attacks of issue 12, re-run against a served instance on loopback with a fixed load.

    .venv/bin/python bench/redteam_sparql.py [--data DIR] [--rounds 3]

Without --data the seed corpus is built into a temporary folder first (`kg build`). Each attack
gets a fresh `kg serve --port 0` (default settings unless named) and a fixed number of requests:

* escapes: every escape form of tests/test_sparql_attacks.py (and the plain SERVICE) ``--rounds``
  times over GET and POST, each aimed at a TCP listener on 127.0.0.1; connections it received;
* first queries: 8 concurrent first queries on a fresh server (threads 12, sparql_slots 8), then
  8 x ``--rounds`` more; answers other than 200;
* parse bomb: 8 concurrent 10,000-character FILTER(1+1+...+1) queries while /api/stats is asked
  20 times; its latency, the bombs' answers;
* memory: the CONCAT chain (a 1 GB value) and the cartesian ORDER BY, 4 of each at once, with
  the default settings and again with sparql_memory_mb=384 and sparql_timeout=60 (so memory,
  not time, is the limit met); the answers, the server's peak RSS and the largest worker's peak
  RSS (sampled every 50 ms);
* runaways: 8 runaway queries (a three-way cartesian COUNT) at once while the home page,
  /sources, /api/stats and a search are asked 5 times each; page p95, the runaways' answers.

Results replace the "redteam-sparql" section of bench/RESULTS-security.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS-security.md"
KG = str(Path(sys.executable).with_name("kg"))


class Listener:
    """A TCP server on loopback counting the connections made to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.server.close()


def esc(text: str) -> str:
    return "".join(f"\\u{ord(c):04X}" for c in text)


def escape_queries(url: str) -> list[str]:
    base = url.rsplit("/", 1)[0] + "/"
    body = f"SERVICE <{url}> {{ ?a ?b ?c }}"
    return [
        f"SELECT * {{ {body} }}",
        f'SELECT ?a WHERE {{ BIND("\\u0022" AS ?x) {body} BIND("\\u0022" AS ?y) }}',
        f'SELECT ?a WHERE {{ BIND("\\U00000022" AS ?x) {body} BIND("\\U00000022" AS ?y) }}',
        f"SELECT ?a WHERE {{ BIND('\\u0027' AS ?x) {body} BIND('\\u0027' AS ?y) }}",
        f'SELECT ?a WHERE {{ BIND("\\u00000022" AS ?x) {body} BIND("\\u00000022" AS ?y) }}',
        f'SELECT ?a WHERE {{ BIND("\\U0022" AS ?x) {body} BIND("\\U0022" AS ?y) }}',
        f'SELECT ?a WHERE {{ BIND("\\u005C" AS ?x) {body} BIND("\\u005C" AS ?y) }}',
        f'SELECT ?a WHERE {{ BIND("\\u005Cu0022" AS ?x) {body} BIND("\\u005Cu0022" AS ?y) }}',
        f"SELECT * {{ \\u0053ERVICE <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ {esc('SERVICE')} <{url}> {{ ?s ?p ?o }} }}",
        f"SELECT * {{ SERVICE <{url[:-1]}{esc(url[-1])}> {{ ?s ?p ?o }} }}",
        f"PREFIX x: <{base}> SELECT * {{ SERVICE x:\\u0073parql {{ ?s ?p ?o }} }}",
        f"PREFIX \\u0078: <{base}> SELECT * {{ SERVICE x:sparql {{ ?s ?p ?o }} }}",
        f"SELECT * {{ ?s ?p ?o # \\u000A {body}\n}}",
        f"SELECT * {{ ?s ?p ?o \\u0023 }} {body}\n}}",
        f'SELECT * {{ BIND("\\U0011FFFF" AS ?x) {body} }}',
        f'SELECT * {{ BIND("\\uD83D" AS ?x) {body} }}',
        f"SELECT * {{ ?s ?p ?o FILTER EXISTS {{ {body} }} }}",
        f"SELECT * {{ {{ SELECT ?s {{ OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }} }} }}",
    ]


@contextmanager
def serve(data: Path, **settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update({f"KG_{k.upper()}": str(v) for k, v in settings.items()})
    process = subprocess.Popen([KG, "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        url = re.search(r"http://[\d.]+:\d+/", process.stdout.readline()).group()
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "api/stats", timeout=5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


def ask(url: str, query: str, method: str = "POST") -> tuple[int, str, float]:
    """Send a query; return (status, error message or "", seconds)."""
    if method == "POST":
        request = urllib.request.Request(url + "sparql", data=query.encode(), method="POST",
                                         headers={"Content-Type": "application/sparql-query",
                                                  "Accept": "application/sparql-results+json"})
    else:
        request = urllib.request.Request(url + "sparql?" + urllib.parse.urlencode({"query": query}),
                                         headers={"Accept": "application/sparql-results+json"})
    began = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status, "", time.perf_counter() - began
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()).get("error", ""), time.perf_counter() - began


def get(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        response.read()
    return time.perf_counter() - began


def at_once(fn, args: list) -> list:
    out: list = [None] * len(args)

    def run(i):
        out[i] = fn(*args[i])
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def summary(answers: list[tuple[int, str, float]]) -> str:
    counts = Counter()
    for status, message, _ in answers:
        reason = re.search(r"sparql_\w+|SERVICE is refused|further escape|not a Unicode code point|"
                           r"lone surrogate|syntax error", message)
        counts[f"{status}{' ' + reason.group() if reason else ''}"] += 1
    return ", ".join(f"{n} x {k}" for k, n in sorted(counts.items()))


class Peak:
    def __init__(self, pid: int) -> None:
        self.pid, self.server, self.worker = pid, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.server = max(self.server, own_rss(self.pid))
            except OSError:
                pass
            for child in benchlib.children(self.pid):
                try:
                    text = Path(f"/proc/{child}/status").read_text()
                except OSError:
                    continue
                match = re.search(r"VmRSS:\s+(\d+)", text)
                if match:
                    self.worker = max(self.worker, int(match.group(1)) / 1024)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)


def own_rss(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a data directory built by kg build (default: build the seed)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the escape and first-query sets")
    args = parser.parse_args()
    data = args.data
    if data is None:
        data = Path(tempfile.mkdtemp(prefix="kg-redteam-")) / "data"
        subprocess.run([KG, "build", "--data", str(data)], check=True, cwd=ROOT, capture_output=True)
    rows, total = [], 0

    listener = Listener()
    with serve(data) as (url, _):
        queries = escape_queries(listener.url)
        answers = [ask(url, q, m) for _ in range(args.rounds) for q in queries for m in ("GET", "POST")]
        time.sleep(0.5)
        total += len(answers)
        rows.append(["escapes", len(answers), f"listener connections: **{listener.connections}**", summary(answers)])
    listener.close()

    with serve(data, threads=12, sparql_slots=8, sparql_queue=2) as (url, _):
        first = [f'SELECT (SHA384("{i}") AS ?h) {{}}' for i in range(8)]
        answers = at_once(ask, [(url, q) for q in first])
        later = [ask(url, q) for _ in range(args.rounds) for q in first]
        total += len(answers) + len(later)
        bad = sum(status != 200 for status, _, _ in answers + later)
        rows.append(["8 concurrent first queries, then more", len(answers) + len(later), f"non-200: **{bad}**",
                     summary(answers + later)])

    bomb = "SELECT * { FILTER(" + "+".join(["1"] * 4_990) + ") }"
    with serve(data) as (url, _):
        ask(url, "ASK {}")
        stats: list[float] = []

        def poll():
            time.sleep(0.3)
            for _ in range(20):
                stats.append(get(url + "api/stats"))
        poller = threading.Thread(target=poll)
        poller.start()
        answers = at_once(ask, [(url, bomb)] * 8)
        poller.join()
        total += len(answers) + len(stats)
        rows.append(["8 parse bombs at once", len(answers) + len(stats),
                     f"/api/stats meanwhile: median {sorted(stats)[10] * 1000:.0f} ms, max {max(stats) * 1000:.0f} ms",
                     summary(answers)])

    chain = 'SELECT ?i { BIND("0123456789" AS ?a) ' + " ".join(
        f"BIND(CONCAT({','.join(['?' + a] * 10)}) AS ?{b})" for a, b in zip("abcdefgh", "bcdefghi")) + " }"
    cartesian = "SELECT * {?a ?b ?c . ?d ?e ?f} ORDER BY ?c ?f LIMIT 5"
    for label, limits in (("default settings", {}),
                          ("sparql_memory_mb=384, sparql_timeout=60", {"sparql_memory_mb": 384, "sparql_timeout": 60})):
        with serve(data, **limits) as (url, pid):
            ask(url, "ASK {}")
            before = own_rss(pid)
            with Peak(pid) as peak:
                answers = at_once(ask, [(url, chain)] * 4 + [(url, cartesian)] * 4)
            after = own_rss(pid)
            total += len(answers)
            rows.append([f"4 CONCAT chains + 4 cartesian ORDER BY at once ({label})", len(answers),
                         f"server RSS {before:.0f} -> {after:.0f} MiB (peak {peak.server:.0f}); "
                         f"largest worker {peak.worker:.0f} MiB", summary(answers)])

    runaway = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with serve(data) as (url, _):
        get(url)
        pages: list[float] = []

        def browse():
            time.sleep(0.5)
            for _ in range(5):
                for path in ("", "sources", "api/stats", "search?q=care"):
                    pages.append(get(url + path))
        browser = threading.Thread(target=browse)
        browser.start()
        answers = at_once(ask, [(url, runaway)] * 8)
        browser.join()
        total += len(answers) + len(pages)
        rows.append(["8 runaway queries at once", len(answers) + len(pages),
                     f"pages meanwhile: p95 {benchlib.percentile(pages, 95) * 1000:.0f} ms, "
                     f"max {max(pages) * 1000:.0f} ms", summary(answers)])

    body = "\n".join([
        "## redteam_sparql: the SPARQL attacks of issue 12", "",
        f"Command: `{benchlib.command_line()}` ({benchlib.machine()}); {total} requests on loopback.", "",
        benchlib.table(["attack", "requests", "what matters", "answers"], rows), "",
    ])
    print(body)
    begin, end = "<!-- redteam-sparql:begin -->", "<!-- redteam-sparql:end -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else (
        "# Security figures\n\nRecorded by the scripts under bench/ named in each section.\n")
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
