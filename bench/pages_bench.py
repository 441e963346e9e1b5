"""Page latency at scale: the five broadest concepts' and the five most-cited sources' pages (issue 17).

    .venv/bin/python bench/pages_bench.py --data /work/bench-data/gen10k [--starts 3] [--repeat 10]

On a data directory built by `kg build`, against `kg serve` over HTTP (bench/serve_bench.py's
Server: a new process, the first search answered before any page is asked):

* which pages: the five sources with the most citations (/api/sources, sorted by citations) and
  the five concepts with the most claims (/api/concepts' tree, each node's own count), each as
  its HTML page and its JSON twin (/source/KEY, /api/source/KEY, /concept/ID, /api/concept/ID);
* first view: each page asked once in a newly started server (nothing kept yet: the answer is
  computed from the store), --starts servers; the median and the maximum over the starts;
* kept view: the same page asked --repeat more times in the same server (the answer kept per
  build); p50 and p95;
* the size of each answer in bytes, and for a concept the claims it lists on its first page
  beside the total (a concept page lists a page of claims at a time).

The goal (issue 17): every page's p95 at most 1 s at 10,000 posts, first views included.
Results replace the "pages_bench-DATADIR" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import command_line, machine, percentile, table, update_section  # noqa: E402
from serve_bench import Server  # noqa: E402

EACH = 5


class Client:
    """One keep-alive connection to a server; get() returns (ms, body) and fails on non-200."""

    def __init__(self, server: Server):
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=300)

    def get(self, path: str, accept: str = "text/html") -> tuple[float, bytes]:
        began = time.perf_counter()
        self.conn.request("GET", path, headers={"Accept": accept})
        response = self.conn.getresponse()
        body = response.read()
        ms = (time.perf_counter() - began) * 1000
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:300]!r}")
        return ms, body

    def close(self) -> None:
        self.conn.close()


def choose_pages(client: Client) -> list[tuple[str, str]]:
    """The (label, path) pairs to time: HTML and JSON of the most-cited sources and the broadest concepts."""
    sources = json.loads(client.get("/api/sources", "application/json")[1])["sources"]
    flat: dict[str, int] = {}
    todo = list(json.loads(client.get("/api/concepts", "application/json")[1])["tree"])
    while todo:
        node = todo.pop()
        flat[node["id"]] = node["claims"]
        todo.extend(node["narrower"])
    concepts = sorted(flat, key=lambda cid: (-flat[cid], cid))[:EACH]
    pages = []
    for s in sources[:EACH]:
        key = urllib.parse.quote(s["key"])
        pages += [(f"source {s['key']} ({s['times_cited']} citations)", f"/source/{key}"),
                  (f"source {s['key']} JSON", f"/api/source/{key}")]
    for cid in concepts:
        quoted = urllib.parse.quote(cid)
        pages += [(f"concept {cid} ({flat[cid]} claims)", f"/concept/{quoted}"),
                  (f"concept {cid} JSON", f"/api/concept/{quoted}")]
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data directory built by `kg build`")
    parser.add_argument("--starts", type=int, default=3, help="servers started, each giving one first view per page")
    parser.add_argument("--repeat", type=int, default=10, help="kept views per page in each server")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    first: dict[str, list[float]] = {}
    kept: dict[str, list[float]] = {}
    size: dict[str, int] = {}
    listed: dict[str, str] = {}
    pages: list[tuple[str, str]] = []
    for start in range(args.starts):
        server = Server(args.data)
        try:
            server.wait_first_search()
            client = Client(server)
            pages = pages or choose_pages(client)
            for label, path in pages:
                accept = "application/json" if path.startswith("/api/") else "text/html"
                ms, body = client.get(path, accept)
                first.setdefault(path, []).append(ms)
                size[path] = len(body)
                if path.startswith("/api/concept/"):
                    answer = json.loads(body)
                    listed[path] = f"{len(answer['claims'])} of {answer['claims_total']}"
                for _ in range(args.repeat):
                    kept.setdefault(path, []).append(client.get(path, accept)[0])
                print(f"  start {start + 1}: {label}: first {ms:.0f} ms, {len(body):,} bytes", flush=True)
            client.close()
        finally:
            server.stop()

    rows = []
    for label, path in pages:
        rows.append([label, f"{statistics.median(first[path]):.0f}", f"{max(first[path]):.0f}",
                     f"{percentile(kept[path], 50):.1f}", f"{percentile(kept[path], 95):.1f}",
                     f"{size[path]:,}", listed.get(path, "")])
    worst = max(max(v) for v in first.values())
    body = (f"## Pages at scale: {args.data} (bench/pages_bench.py)\n\n{machine()}\n\n    {command_line()}\n\n"
            f"First view: the page's first request in a newly started server ({args.starts} servers: median, max). "
            f"Kept view: {args.repeat} more requests in each server (p50, p95). Times in ms over one keep-alive "
            "HTTP connection.\n\n"
            + table(["page", "first median", "first max", "kept p50", "kept p95", "bytes", "claims listed"], rows)
            + f"\n\nSlowest first view: {worst:.0f} ms.\n")
    print(body)
    if not args.no_write:
        update_section(f"pages_bench-{args.data}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
