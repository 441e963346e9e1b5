"""Server cold start, search latency (library, HTTP, FTS5) and named SPARQL queries (kg vs pyoxigraph).

    .venv/bin/python bench/serve_bench.py --data /tmp/kgbench/data-10000 [--repeat 5] [--starts 3]

On a data directory built by `kg build` (bench/build_scale.py leaves one per size):

* cold start: `kg serve --port 0` in a new process, timed from the spawn to the first answered
  GET /api/search (polled every 10 ms once the port is known); --starts times, median and max;
* search latency over a fixed mix of 30 queries (bench/search_latency.py's one word / several
  words / phrase classes), each run once to warm up, then --repeat times:
  - kg library: kg.search.search(settings, q) in this process (first page of 20, the total,
    facets, highlights, spelling);
  - kg HTTP: GET /api/search?q= on the server started above, over one keep-alive connection;
  - FTS5: SQLite FTS5 (bench/fts5_baseline.py) over the same claims read back from the index,
    top 20 by bm25() plus the count of matches (what a results page needs); ratio kg / FTS5;
* every named query of ontology/queries, without parameters (the whole graph: the slowest
  case) and with the example value its comment gives, through kg.sparql.run_named (a worker
  process, the row cap, the time limit) and directly in pyoxigraph on the same store (a
  read-only Store, the same text and prefixes, the rows iterated up to the same cap); ratio;
* the server's RSS after all of the above plus a round of source and concept pages over HTTP:
  its VmRSS split into anonymous memory and mapped files (from /proc/PID/smaps: the Whoosh
  segment files, the RocksDB files of the store, the rest), and the VmRSS of each of its
  descendant processes (the forkserver and the SPARQL workers, which waitress's threads start).

Results replace the "serve_bench-DATADIR" section of bench/RESULTS.md (one per data directory).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "src")]

import pyoxigraph as ox  # noqa: E402
from benchlib import KG, QUERIES, children, command_line, machine, percentile, table, timed, update_section  # noqa: E402
from fts5_baseline import FTS5  # noqa: E402

from kg import search as search_mod  # noqa: E402
from kg import sparql  # noqa: E402
from kg.errors import KGError  # noqa: E402
from kg.graph import store_path  # noqa: E402
from kg.index import live_version  # noqa: E402
from kg.settings import load_settings  # noqa: E402
from kg.vocab import PREFIXES  # noqa: E402

ALL_QUERIES = [q for qs in QUERIES.values() for q in qs]
_SERVING = re.compile(r"Serving .* at http://([^/]+):(\d+)/")
_EXAMPLE = re.compile(r"e\.g\.\s*([\w\-]+)")


class Server:
    """`kg serve` on a free port, in its own process group; stopped by stop()."""

    def __init__(self, data: Path, workers: int | None = None, kg: Path = KG):
        self.started = time.perf_counter()
        extra = ["--workers", str(workers)] if workers else []
        self.proc = subprocess.Popen([str(kg), "serve", "--data", str(data), "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        match = _SERVING.search(line)
        if not match:
            self.stop()
            raise SystemExit(f"kg serve did not start: {line}{self.proc.stderr.read()[-3000:]}")
        self.host, self.port = match.group(1), int(match.group(2))

    def wait_first_search(self, query: str = "tariff") -> float:
        """Poll /api/search until it answers 200; return seconds since the spawn."""
        while True:
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                conn.request("GET", "/api/search?q=" + urllib.parse.quote(query))
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status == 200:
                    return time.perf_counter() - self.started
                raise SystemExit(f"/api/search answered {response.status}")
            except (ConnectionError, OSError):
                if self.proc.poll() is not None:
                    raise SystemExit(f"kg serve exited: {self.proc.stderr.read()[-3000:]}") from None
                time.sleep(0.01)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its processes have used so far."""
        ticks = 0
        for pid in [self.proc.pid, *children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def memory(self) -> dict:
        """RSS and PSS (MiB) of the server's processes: the first (waitress, or gunicorn's master),
        the others (gunicorn's workers, SPARQL workers), and the sum of PSS, the honest total of
        processes that share pages."""
        from web.memory import process_memory

        found = {pid: process_memory(pid) for pid in [self.proc.pid, *children(self.proc.pid)]}
        known = {pid: m for pid, m in found.items() if not isinstance(m, str)}
        return {"processes": {pid: (m.rss_kib / 1024, m.pss_kib / 1024) for pid, m in known.items()},
                "rss_sum": sum(m.rss_kib for m in known.values()) / 1024,
                "pss_sum": sum(m.pss_kib for m in known.values()) / 1024}

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def stats_ms(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), percentile(values, 95)


def index_claims(index_dir: Path) -> list[tuple[str, str, str]]:
    """The claims the index holds, as FTS5 rows (id, post, text): the same claims both systems see."""
    from whoosh import index as whoosh_index
    ix = whoosh_index.open_dir(str(live_version(index_dir)))
    rows = []
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            doc = json.loads(fields["doc"])
            rows.append((fields["id"], doc["post"]["id"], doc["text"]))
    ix.close()
    return rows


def bench_search(settings, server: Server, repeat: int) -> dict:
    fts = FTS5(index_claims(settings.index_dir))
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)

    def http_search(q: str) -> None:
        conn.request("GET", "/api/search?q=" + urllib.parse.quote(q))
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"/api/search?q={q} answered {response.status}: {body[:300]!r}")

    per_class = {}
    for name, queries in [*QUERIES.items(), ("all", ALL_QUERIES)]:
        lib, web, fts5, lib_first = [], [], [], []
        for q in queries:
            lib += timed(lambda: search_mod.search(settings, q), repeat, lib_first if name != "all" else None)
            web += timed(lambda: http_search(q), repeat)
            fts5 += timed(lambda: (fts.search(q, limit=20), fts.count(q)), repeat)
        per_class[name] = {"lib": stats_ms(lib), "http": stats_ms(web), "fts5": stats_ms(fts5),
                           "first": stats_ms(lib_first) if lib_first else None}
    conn.close()
    per_class["claims"] = len(fts.db.execute("SELECT rowid FROM claims").fetchall())
    return per_class


def example_value(query: sparql.NamedQuery, name: str) -> str | None:
    for param, description in query.params:
        if param == name:
            match = _EXAMPLE.search(description)
            return match.group(1) if match else None
    return None


def bench_sparql(settings, repeat: int) -> list[dict]:
    store = ox.Store.read_only(str(store_path(settings)))
    cap = settings.sparql_max_rows
    rows = []
    for query in sparql.list_named_queries(settings):
        variants = [(query.name, {})]
        for name, _ in query.params:
            value = example_value(query, name)
            if value:
                variants.append((f"{query.name} ({name}={value})", {name: value}))
        for label, params in variants:
            answered = {}

            def kg_run():
                result = sparql.run_named(settings, query.name, params or None)
                answered["rows"] = len(result.rows) if result.kind == "select" else result.boolean
                answered["truncated"] = result.truncated

            def direct_run():
                # The same text kg runs: parameters bound by a VALUES block (kg.sparql.bind_values).
                answer = store.query(sparql.bind_values(query.text, params), prefixes=PREFIXES)
                if isinstance(answer, ox.QuerySolutions):
                    n = 0
                    for solution in answer:
                        if n == cap:
                            break
                        for value in solution:
                            if value is not None:
                                str(value)
                        n += 1

            try:
                kg_ms = timed(kg_run, repeat)
            except KGError as exc:
                rows.append({"query": label, "error": str(exc)})
                continue
            direct_ms = timed(direct_run, repeat)
            rows.append({"query": label, "rows": answered.get("rows"), "truncated": answered.get("truncated"),
                         "kg": stats_ms(kg_ms), "direct": stats_ms(direct_ms)})
    return rows


def report(data: Path, starts: list[float], search: dict, queries: list[dict], rss: dict, repeat: int) -> str:
    cold = statistics.median(starts)
    lines = [f"### {data}: {search['claims']:,} claims\n",
             f"Cold start, `kg serve` spawn to the first answered /api/search, {len(starts)} starts: "
             f"median {cold:.2f} s, max {max(starts):.2f} s (target <= 2 s: {'met' if max(starts) <= 2 else 'MISSED'}).\n",
             f"Search latency in ms, {repeat} timed runs of each query after one warm-up "
             "(kg: first page of 20 with total, facets, highlights; FTS5: top 20 by bm25 + count):\n"]
    lines.append(table(["queries", "kg lib p50", "kg lib p95", "kg HTTP p50", "kg HTTP p95", "FTS5 p50", "FTS5 p95",
                        "kg lib / FTS5 (p50)"],
                       [[name, *(f"{v:.1f}" for v in (s["lib"] + s["http"] + s["fts5"])),
                         f"{s['lib'][0] / s['fts5'][0]:.1f}x" if s["fts5"][0] else "-"]
                        for name, s in search.items() if name != "claims"]))
    firsts = [(name, s["first"]) for name, s in search.items() if name != "claims" and s.get("first")]
    if firsts:
        lines.append("\nThe warm-up run of each query through the library, the first time this process searched for "
                     "it (its words' posting lists not yet in kg's cache unless an earlier query read them), ms: "
                     + "; ".join(f"{name} p50 {v[0]:.1f}, p95 {v[1]:.1f}" for name, v in firsts)
                     + ". A new server pays these once per word, until kg's posting cache holds it.\n")
    allq = search["all"]
    lines.append(f"\nTargets (library, all queries): p50 {allq['lib'][0]:.1f} ms <= 30: "
                 f"{'met' if allq['lib'][0] <= 30 else 'MISSED'}; p95 {allq['lib'][1]:.1f} ms <= 150: "
                 f"{'met' if allq['lib'][1] <= 150 else 'MISSED'}.\n")
    lines.append(f"Named SPARQL queries in ms, {repeat} timed runs after one warm-up (kg: kg.sparql.run_named, "
                 "worker process, row cap; direct: pyoxigraph read-only Store, same text, rows iterated to the cap):\n")
    qrows = []
    for q in queries:
        if "error" in q:
            qrows.append([q["query"], "", "error: " + q["error"][:80], "", "", "", "", ""])
            continue
        qrows.append([q["query"], f"{q['rows']}{' (capped)' if q['truncated'] else ''}",
                      *(f"{v:.1f}" for v in q["kg"] + q["direct"]),
                      f"{q['kg'][0] / q['direct'][0]:.2f}x" if q["direct"][0] else "-",
                      "met" if q["kg"][1] <= 1000 else "MISSED"])
    lines.append(table(["query", "rows", "kg p50", "kg p95", "direct p50", "direct p95", "kg / direct (p50)",
                        "p95 <= 1 s"], qrows))
    own = rss["main"]
    kids = rss["children"]
    lines.append(f"\nServer RSS after the runs above and the pages of the {PAGES_EACH} most-cited sources and "
                 f"{PAGES_EACH} biggest concepts: {own['VmRSS']:.0f} MiB, peak {own['VmHWM']:.0f} MiB (server process: "
                 f"{own['RssAnon']:.0f} MiB anonymous, {own['RssFile']:.0f} MiB mapped files: "
                 f"{own['whoosh']:.0f} Whoosh index, {own['rocksdb']:.0f} graph store, {own['other']:.0f} other); "
                 f"{len(kids)} descendant processes (SPARQL forkserver and workers): "
                 f"{sum(kids.values()):.0f} MiB ({', '.join(f'{v:.0f}' for v in kids.values()) or 'none'}); "
                 f"{rss['total']:.0f} MiB in all (target <= 600 MiB: {'met' if rss['total'] <= 600 else 'MISSED'}).\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--data", type=Path, action="append", required=True,
                        help="built data directory (repeat for several sizes)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (default: %(default)s)")
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    header = ["## Serving: cold start, search, SPARQL (bench/serve_bench.py)\n", f"Machine: {machine()}\n",
                f"Command: `{command_line()}`\n"]
    for data in args.data:
        settings = load_settings(env={"KG_DATA_DIR": str(data)})
        starts = []
        for _ in range(args.starts):
            server = Server(data)
            try:
                starts.append(server.wait_first_search())
            finally:
                server.stop()
        print(f"{data}: cold starts {[round(s, 2) for s in starts]}", flush=True)
        server = Server(data)
        try:
            server.wait_first_search()
            search = bench_search(settings, server, args.repeat)
            print(json.dumps(search), flush=True)
            queries = bench_sparql(settings, args.repeat)
            # The server's own SPARQL workers: run each named query once over HTTP before reading RSS.
            conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
            for q in sparql.list_named_queries(settings):
                conn.request("GET", "/sparql?query=" + urllib.parse.quote(q.text),
                             headers={"Accept": "application/sparql-results+json"})
                conn.getresponse().read()
            conn.close()
            drive_pages(server, settings)
            rss = server_rss(server.proc.pid)
        finally:
            server.stop()
        text = "\n".join([*header, report(data, starts, search, queries, rss, args.repeat)])
        print(text, flush=True)
        if not args.no_write:
            update_section(f"serve_bench-{data.name}", text)
    return 0


#: Pages fetched after the searches and queries, before RSS is read: the most-cited sources and
#: the concepts with the most claims (the pages that hold the most rows).
PAGES_EACH = 5


def drive_pages(server: Server, settings) -> None:
    """Fetch the source pages of the most-cited sources and the concept pages of the biggest concepts."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=300)

    def get(path: str) -> bytes:
        conn.request("GET", path, headers={"Accept": "text/html"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
        return body

    sources = json.loads(get("/api/sources"))["sources"]
    flat, todo = {}, list(json.loads(get("/api/concepts"))["tree"])
    while todo:
        node = todo.pop()
        flat[node["id"]] = node["claims"]
        todo.extend(node["narrower"])
    concepts = sorted(flat, key=lambda cid: (-flat[cid], cid))
    for key in [s["key"] for s in sources[:PAGES_EACH]]:
        get("/source/" + urllib.parse.quote(key))
    for cid in concepts[:PAGES_EACH]:
        get("/concept/" + urllib.parse.quote(cid))
    conn.close()


def _status_mib(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def _mapped_files_mib(pid: int) -> dict:
    """Resident MiB of the file mappings, by kind: Whoosh segments, RocksDB (the store), other files."""
    out = {"whoosh": 0.0, "rocksdb": 0.0, "other": 0.0}
    kind = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            path = head[5] if len(head) > 5 else ""
            if not path.startswith("/"):
                kind = None
            elif path.endswith(".seg") or "/index" in path:
                kind = "whoosh"
            elif path.endswith((".sst", ".log")) or "/store" in path:
                kind = "rocksdb"
            else:
                kind = "other"
        elif kind and head and head[0] == "Rss:":
            out[kind] += int(head[1]) / 1024
    return out


def server_rss(pid: int) -> dict:
    """The server's VmRSS with its anonymous / file-mapped split, and each descendant's VmRSS."""
    main = {**_status_mib(pid), **_mapped_files_mib(pid)}
    kids = {}
    for kid in children(pid):
        try:
            kids[kid] = _status_mib(kid)["VmRSS"]
        except (OSError, KeyError):
            pass
    return {"main": main, "children": kids, "total": main["VmRSS"] + sum(kids.values())}


if __name__ == "__main__":
    sys.exit(main())
