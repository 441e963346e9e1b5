"""Cold start of `kg serve`: from the spawn to the first answered search, the maximum over many starts.

    .venv/bin/python bench/cold_start.py --data DATA_DIR [--starts 20] [--workers 1,2]

Each start spawns `kg serve --port 0 --workers W` in a new process, reads the port from its first
line, then polls GET /api/search?q=tariff every 10 ms until it answers 200: the time from the
spawn to that answer is the cold start (bench/serve_bench.py's Server). The server's CPU time
(user + system of it and its processes) at that moment is taken too: on a machine shared with
other work the wall time waits for the CPU, the CPU time does not. Starts of the --workers values
alternate, so load on the machine falls on each alike; the load average is shown beside them.
The operating system's file cache is warm after the first start (the first is kept in the
figures). With --peer KG (another checkout's `kg`, e.g. main's), its `kg serve` (no --workers)
starts in the same alternation: the before of a change. Target: max <= 2 s.

Results replace the "cold_start-DATADIR" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH)]

from benchlib import command_line, machine, percentile, table, update_section  # noqa: E402
from serve_bench import Server  # noqa: E402

TARGET_S = 2.0


def one_start(data: Path, workers: int | None, kg: Path | None = None) -> tuple[float, float]:
    server = Server(data, workers, kg) if kg else Server(data, workers)
    try:
        wall = server.wait_first_search()
        return wall, server.cpu_seconds()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a data directory built by `kg build`")
    parser.add_argument("--starts", type=int, default=20, help="starts per --workers value (default: %(default)s)")
    parser.add_argument("--workers", default=f"1,{os.cpu_count() or 1}",
                        help="comma-separated worker counts to start with (default: %(default)s)")
    parser.add_argument("--peer", type=Path, help="another checkout's kg executable, started without --workers")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if not (args.data / "current").exists():
        raise SystemExit(f"{args.data} is not built; run `kg build --data {args.data}` first")
    counts: list[int | str] = list(dict.fromkeys(int(w) for w in args.workers.split(",")))
    if args.peer:
        counts.insert(0, "peer")
    walls: dict[int | str, list[float]] = {w: [] for w in counts}
    cpus: dict[int | str, list[float]] = {w: [] for w in counts}
    loads = []
    for i in range(args.starts):
        for w in counts:
            loads.append(os.getloadavg()[0])
            wall, cpu = one_start(args.data, None, args.peer) if w == "peer" else one_start(args.data, int(w))
            walls[w].append(wall)
            cpus[w].append(cpu)
            print(f"start {i + 1} workers {w}: {wall:.2f} s wall, {cpu:.2f} s CPU, load {loads[-1]:.1f}", flush=True)

    names = {"peer": f"peer: `{args.peer} serve`", 1: "waitress, one process"}
    rows = []
    for w in counts:
        rows.append([w if w != "peer" else "-", names.get(w, f"gunicorn, master + {w} workers"), len(walls[w]),
                     f"{statistics.median(walls[w]):.2f}", f"{percentile(walls[w], 95):.2f}", f"{max(walls[w]):.2f}",
                     f"{statistics.median(cpus[w]):.2f}", f"{max(cpus[w]):.2f}",
                     "met" if max(walls[w]) <= TARGET_S else "MISSED"])
    lines = [f"## Cold start (bench/cold_start.py): {args.data.name}\n", f"Machine: {machine()}\n",
             f"Command: `{command_line()}`\n",
             "`kg serve --port 0 --workers W` spawned, then GET /api/search?q=tariff polled every 10 ms: seconds from "
             "the spawn to the first 200. CPU = user + system seconds of the server's processes at that answer. "
             f"Load average (1 min) while measuring: median {statistics.median(loads):.1f}, max {max(loads):.1f} "
             f"on {os.cpu_count()} cores (the machine is shared).\n",
             table(["workers", "server", "starts", "wall median s", "wall p95 s", "wall max s", "CPU median s",
                    "CPU max s", f"max <= {TARGET_S:.0f} s"], rows)]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        update_section(f"cold_start-{args.data.name}", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
