"""HTTP throughput and latency of `kg serve` under load from wrk, steady and through rebuilds.

    .venv/bin/python bench/load.py --size 10000 [--work /tmp/kgbench] [--duration 60] [--connections 8]

Uses the corpus and data directory bench/build_scale.py leaves (WORK/corpus-N, WORK/data-N).
Starts `kg serve` on a free port and drives it with wrk (2 threads, --connections keep-alive
connections) through bench/load.lua: a fixed mix of 30 searches (/api/search?q=..., the query
mix of bench/serve_bench.py) and source pages (/source/KEY, HTML, 2 in every 5 requests, keys
of the 20 most cited sources). Every response that is not 200, and every socket error, counts
as an error. Every path is fetched once before the runs (warm-up, timed and reported). Two runs:

1. steady: --duration seconds; then the same with searches only (the searches/s target);
2. rebuild: wrk runs while one post is changed (a sentence with a unique word added) and
   `kg build` runs, then `kg build --full`; wrk is stopped 5 s after the second build ends (at
   least --duration seconds in all). After the first build the unique word must be found through
   the running server: it picked the new build up without a restart. The post is restored and
   the data directory rebuilt at the end.

With --workers 1,2 the runs are made once per value, one server after the other in the same
run (1 is one waitress process, more are gunicorn workers), and compared; the memory of each
server after its steady runs is the PSS summed over its processes (web.memory). The rebuild run
is made with the last value (--skip-full: the incremental build only). --data DIR serves another
data directory (the seed corpus's build, say) with no rebuild run.

Results replace the "load-workers-N" (or "load-workers-DATADIR") section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from benchlib import KG, command_line, machine, rss_mib, table, update_section  # noqa: E402
from serve_bench import ALL_QUERIES, Server  # noqa: E402

MARK = "zebrafinchbenchmark"


def get_json(server: Server, path: str) -> dict:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}: {body[:300]!r}")
    return json.loads(body)


def replace_text(path: Path, text: str) -> None:
    """Write a corpus file whole or not at all: a benchmark stopped mid-write must not empty a post."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def get_page(server: Server, path: str) -> None:
    """GET path as load.lua asks for it (source pages as HTML); raise unless it answers 200."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    conn.request("GET", path, headers={"Accept": "text/html"} if path.startswith("/source/") else {})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"GET {path} answered {response.status}")


def load_paths(server: Server) -> list[str]:
    sources = get_json(server, "/api/sources")
    items = sources.get("sources", sources) if isinstance(sources, dict) else sources
    keys = [s["key"] for s in items][:20]
    if not keys:
        raise SystemExit("the server lists no sources; build a corpus with citations first")
    searches = ["/api/search?q=" + urllib.parse.quote(q) for q in ALL_QUERIES]
    pages = ["/source/" + urllib.parse.quote(k) for k in keys]
    mix, s, p = [], 0, 0
    while s < len(searches) or p < len(pages):
        for _ in range(3):
            mix.append(searches[s % len(searches)])
            s += 1
        for _ in range(2):
            mix.append(pages[p % len(pages)])
            p += 1
    return mix


_WRK = {
    "requests": re.compile(r"(\d+) requests in ([\d.]+)(\w+)"),
    "rps": re.compile(r"Requests/sec:\s+([\d.]+)"),
    "non2xx": re.compile(r"Non-2xx or 3xx responses: (\d+)"),
    "socket": re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
    "kg_failed": re.compile(r"KG non-200 responses: (\d+)"),
    "pcts": re.compile(r"KG latency p50/p95/p99 ms: ([\d.]+) ([\d.]+) ([\d.]+)"),
}


def parse_wrk(out: str) -> dict:
    found = {name: rx.search(out) for name, rx in _WRK.items()}
    if not found["rps"] or not found["requests"]:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    socket = [int(x) for x in found["socket"].groups()] if found["socket"] else [0, 0, 0, 0]
    p50, p95, p99 = (float(x) for x in found["pcts"].groups())
    errors = (int(found["non2xx"].group(1)) if found["non2xx"] else 0) + sum(socket)
    return {"requests": int(found["requests"].group(1)), "rps": float(found["rps"].group(1)),
            "non200": int(found["kg_failed"].group(1)), "socket": socket, "errors": errors,
            "p50": p50, "p95": p95, "p99": p99}


def start_wrk(server: Server, paths_file: Path, connections: int, duration: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s",
                             "-s", str(BENCH / "load.lua"), f"http://{server.host}:{server.port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "KG_LOAD_PATHS": str(paths_file)})


def timed_run(server: Server, paths_file: Path, connections: int, duration: int) -> dict:
    """Run wrk over the paths for ``duration`` seconds; its figures and the server's peak RSS."""
    wrk = start_wrk(server, paths_file, connections, duration)
    peak = 0.0
    while wrk.poll() is None:
        peak = max(peak, rss_mib(server.proc.pid))
        time.sleep(1)
    return {**parse_wrk(wrk.stdout.read()), "rss": peak}


def kg_build(corpus: Path, data: Path, *extra: str) -> tuple[float, dict]:
    began = time.perf_counter()
    proc = subprocess.run([str(KG), "build", "--data", str(data), "--json", *extra], capture_output=True, text=True,
                          env={**os.environ, "KG_CORPUS_DIR": str(corpus)})
    report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    if proc.returncode != 0 and not report.get("failures"):
        raise SystemExit(f"kg build failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - began, report


def serve_runs(data: Path, workers: int | None, connections: int, duration: int) -> tuple[Server, dict, dict]:
    """Start `kg serve` (--workers ``workers`` unless None), warm it up, run the mix and the
    searches alone; return the running server, its runs and what the runs need to be described."""
    server = Server(data, workers)
    server.wait_first_search()
    paths = load_paths(server)
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")
        paths_file = Path(f.name)
    # Warm-up: every path of the mix once, as a visitor would, before the timed runs (the first
    # view of a source and the first search for a word read from disk; see serve_bench's
    # first-run figures). Each request is a new connection, which the kernel hands to any worker:
    # with W workers every path is fetched 2W times, so each worker has most likely seen it
    # (source pages are kept per process).
    began = time.perf_counter()
    for _ in range(2 * (workers or os.cpu_count() or 1) if workers != 1 else 1):
        for path in dict.fromkeys(paths):
            get_page(server, path)
    info = {"paths_file": paths_file, "share": sum(p.startswith("/api/search") for p in paths) / len(paths),
            "warmup": (len(set(paths)), time.perf_counter() - began)}
    runs = {"steady": timed_run(server, paths_file, connections, duration)}
    print(workers, "steady", runs["steady"], flush=True)
    # The same, searches only: what the searches/s target is about.
    searches_file = paths_file.with_suffix(".searches")
    searches_file.write_text("\n".join(p for p in paths if p.startswith("/api/search")) + "\n")
    runs["searches only"] = timed_run(server, searches_file, connections, duration)
    print(workers, "searches only", runs["searches only"], flush=True)
    info["memory"] = server.memory()
    return server, runs, info


def rebuild_run(server: Server, corpus: Path, data: Path, paths_file: Path, connections: int, duration: int,
                full: bool) -> tuple[dict, dict]:
    """wrk on the mix while one post changes and `kg build` runs (then `kg build --full` if ``full``)."""
    rebuild: dict = {}
    post = sorted((corpus / "posts").glob("synthetic-00005*.md"))[0]
    original = post.read_text(encoding="utf-8")
    if not original.strip():
        raise SystemExit(f"{post} is empty: regenerate the corpus with bench/generate.py")
    wrk = start_wrk(server, paths_file, connections, 3600)
    began = time.perf_counter()
    peak = 0.0
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mib(server.proc.pid))
            time.sleep(1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        time.sleep(5)
        replace_text(post, original.rstrip("\n") + f"\n\nThe {MARK} pilot reported its outcomes (DH, 2011b:6).\n")
        rebuild["incremental_s"], report = kg_build(corpus, data)
        rebuild["incremental_mode"] = report.get("mode")
        # Fresh connections, so each worker is asked: every answer must hold the new word.
        rebuild["picked_up"] = all(get_json(server, "/api/search?q=" + MARK).get("total", 0) >= 1 for _ in range(20))
        if full:
            rebuild["full_s"], report = kg_build(corpus, data, "--full")
            rebuild["picked_up_after_full"] = all(
                get_json(server, "/api/search?q=" + MARK).get("total", 0) >= 1 for _ in range(20))
        remaining = duration - (time.perf_counter() - began)
        time.sleep(max(5.0, remaining))
    finally:
        replace_text(post, original)
        if wrk.poll() is None:
            wrk.send_signal(signal.SIGINT)
        out = wrk.communicate(timeout=60)[0]
        stop.set()
    result = {**parse_wrk(out), "rss": peak}
    print("rebuild", result, rebuild, flush=True)
    kg_build(corpus, data)  # back to the generated corpus
    return result, rebuild


def describe_memory(memory: dict) -> str:
    processes = memory["processes"]
    each = ", ".join(f"{rss:.0f}/{pss:.0f}" for rss, pss in processes.values())
    return f"{memory['pss_sum']:.0f} (RSS sum {memory['rss_sum']:.0f}; RSS/PSS per process: {each})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--size", type=int, default=10000, help="posts of the generated corpus (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kgbench"), help="folder of corpora and data (default: %(default)s)")
    parser.add_argument("--data", type=Path, help="serve this data directory instead of WORK/data-SIZE (no rebuild run)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of the steady run (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (default: %(default)s)")
    parser.add_argument("--workers", default="", help="comma-separated `kg serve --workers` values, each run in turn "
                        "(e.g. 1,2); default: one run of `kg serve` with its default")
    parser.add_argument("--skip-rebuild", action="store_true", help="only the steady runs")
    parser.add_argument("--skip-full", action="store_true", help="in the rebuild run, only the incremental build")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    corpus, data = args.work / f"corpus-{args.size}", args.data or args.work / f"data-{args.size}"
    if not (data / "current").exists():
        raise SystemExit(f"{data} is not built; run bench/build_scale.py --sizes {args.size} first")
    counts: list[int | None] = [int(w) for w in args.workers.split(",") if w] or [None]
    runs: dict[tuple, dict] = {}
    infos: dict[int | None, dict] = {}
    rebuild: dict = {}
    for index, workers in enumerate(counts):
        server, found, info = serve_runs(data, workers, args.connections, args.duration)
        infos[workers] = info
        runs.update({(workers, name): r for name, r in found.items()})
        try:
            if index == len(counts) - 1 and not (args.skip_rebuild or args.data):
                runs[(workers, "through rebuilds")], rebuild = rebuild_run(
                    server, corpus, data, info["paths_file"], args.connections, args.duration, not args.skip_full)
        finally:
            server.stop()

    searches = infos[counts[0]]["share"]
    label = {None: "default"}
    warmups = ", ".join(f"{label.get(w, w)} workers {i['warmup'][1]:.1f} s" for w, i in infos.items())
    lines = ["## HTTP under load (bench/load.py)\n", f"Machine: {machine()}\n", f"Command: `{command_line()}`\n",
             f"wrk (2 threads, {args.connections} connections, keep-alive) on `kg serve` over `{data}`; the mix is "
             f"{searches:.0%} searches (30 queries, JSON) and {1 - searches:.0%} HTML source pages (20 most cited "
             "sources, `Accept: text/html`). Errors = non-2xx responses + socket errors (connect, read, write, "
             "timeout). Before the runs of each server every path of the mix was fetched, one at a time, once (1 "
             "worker) or 2W times (W workers, so that each worker most likely has it) "
             f"(warm-up: {warmups}). "
             "Workers 1 is one waitress process; more are gunicorn's master and its forked workers.\n"]
    lines.append(table(["workers", "run", "seconds", "requests", "requests/s", "searches/s (share)", "p50 ms", "p95 ms",
                        "p99 ms", "errors", "RSS peak MiB (all processes)"],
                       [[label.get(w, w), name, f"{r['requests'] / r['rps']:.0f}" if r["rps"] else "-", r["requests"],
                         f"{r['rps']:.1f}", f"{r['rps'] * (1.0 if name == 'searches only' else searches):.1f}",
                         f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['p99']:.1f}", r["errors"], f"{r['rss']:.0f}"]
                        for (w, name), r in runs.items()]))
    lines.append("\nMemory after the steady runs, MiB: PSS summed over the server's processes (each shared page "
                 "counted once, split between its sharers), then the RSS sum (shared pages counted in every process) "
                 "and each process's RSS/PSS (the first is waitress or gunicorn's master):\n")
    lines.append(table(["workers", "PSS total MiB (RSS sum; per process RSS/PSS)"],
                       [[label.get(w, w), describe_memory(i["memory"])] for w, i in infos.items()]))
    if len(counts) > 1 and counts[0] == 1:
        base = {name: r for (w, name), r in runs.items() if w == 1}
        ratios = [f"workers {w}: mix {runs[(w, 'steady')]['rps'] / base['steady']['rps']:.2f}x, searches "
                  f"{runs[(w, 'searches only')]['rps'] / base['searches only']['rps']:.2f}x"
                  for w in counts[1:]]
        lines.append(f"\nRequests/s against one waitress process in the same run: {'; '.join(ratios)}.\n")
    if rebuild:
        full = (f"; then `kg build --full` took {rebuild['full_s']:.1f} s (word found by 20 more: "
                f"{'yes' if rebuild['picked_up_after_full'] else 'NO'})") if "full_s" in rebuild else ""
        last = counts[-1]
        lines.append(f"\nDuring the rebuild run ({label.get(last, last)} workers): `kg build` after changing one post "
                     f"took {rebuild['incremental_s']:.1f} s ({rebuild['incremental_mode']}); 20 fresh connections "
                     f"afterwards all found the new word: {'yes' if rebuild['picked_up'] else 'NO'}{full}. Failed "
                     f"requests through the rebuild: {runs[(last, 'through rebuilds')]['errors']}.\n")
    errors = sum(r["errors"] for r in runs.values())
    best = max(r["rps"] for (w, name), r in runs.items() if name == "searches only")
    lines.append(f"Target: >= 150 searches/s with no errors: best {best:.1f} searches/s when only searching; "
                 f"{errors} errors in all runs ({'met' if best >= 150 and errors == 0 else 'MISSED'}).\n")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_section(f"load-workers-{data.name if args.data else args.size}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
