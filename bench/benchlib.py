"""Helpers the scale benchmarks share: the machine line, timed child processes, RESULTS.md sections.

Each script owns one section of bench/RESULTS.md, delimited by HTML comments, and replaces it
(or appends it) on every run, so the file always holds the latest figures of every benchmark.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
PYTHON = ROOT / ".venv" / "bin" / "python"
KG = ROOT / ".venv" / "bin" / "kg"
HEADER = ("# Scale benchmarks (issue 7)\n\n"
          "Written by bench/build_scale.py, bench/serve_bench.py and bench/load.py; each replaces its own "
          "section. Every figure comes from the command shown above its table. The machine is shared "
          "(2 cores, other engineers' builds and tests running), so absolute times wander; the ratios "
          "to FTS5 and pyoxigraph are measured in the same run and are the figures to compare.\n")


#: The fixed query mix of the search benchmarks (search_latency, serve_bench, load), by class.
QUERIES = {
    "one word": ["personalisation", "tariff", "commissioning", "integration", "carers", "outcomes",
                 "coproduction", "HoNOS", "RAS", "evidence"],
    "several words": ["care transition protocols", "personal health budgets", "mental health spending",
                      "data quality in payment by results", "older people personal budgets",
                      "why is PbR hard in mental health", "micro-enterprise outcomes",
                      "integrated personal commissioning", "adult social care funding cuts",
                      "advocacy coalition framework"],
    "phrase": ['"national tariff"', '"direct payments"', '"adult social care"', '"mental health services"',
               '"personal budgets"', '"local authority"', '"social care"', '"care and support"',
               '"payment system"', '"public services"'],
}


def machine() -> str:
    """One line naming the machine, Python and the kg commit the figures belong to."""
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "src", "web"],
                           capture_output=True, text=True).stdout.strip()
    return (f"{platform.node() or 'host'}: nproc {os.cpu_count()}, RAM {mem_kb / 1024 / 1024:.1f} GiB, "
            f"Python {platform.python_version()}, kg commit {commit}{' (+ uncommitted changes in src/web)' if dirty else ''}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def command_line() -> str:
    """The command that ran this script, as one could type it again from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *map(shlex.quote, sys.argv[1:])])


def update_section(name: str, body: str) -> None:
    """Replace section ``name`` of bench/RESULTS.md with ``body`` (append it if it is new)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    RESULTS.write_text(text, encoding="utf-8")


@dataclass
class Timed:
    """A finished child process: wall seconds, peak RSS (MiB) of it and its children, output, and
    its CPU seconds (user + system, GNU time's): on a shared machine the wall time waits for the
    CPU, the CPU time does not."""

    seconds: float
    peak_mib: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = float("nan")


_MAXRSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")
_CPU = re.compile(r"(?:User|System) time \(seconds\): ([\d.]+)")


def run_timed(args: list[str], env: dict | None = None, check: bool = True) -> Timed:
    """Run ``args`` under /usr/bin/time -v; return wall time and the peak RSS GNU time reports."""
    full_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *args], capture_output=True, text=True, env=full_env)
    seconds = time.perf_counter() - started
    match = _MAXRSS.search(proc.stderr)
    peak = int(match.group(1)) / 1024 if match else float("nan")
    cpu = sum(float(x) for x in _CPU.findall(proc.stderr)) if _CPU.search(proc.stderr) else float("nan")
    stderr = proc.stderr[: match.start()] if match else proc.stderr
    if check and proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{stderr[-4000:]}")
    return Timed(seconds, peak, proc.returncode, proc.stdout, stderr, cpu)


def timed(fn, repeat: int, first: list[float] | None = None) -> list[float]:
    """Run fn once to warm up (its time appended to ``first``), then time it ``repeat`` times."""
    began = time.perf_counter()
    fn()
    if first is not None:
        first.append((time.perf_counter() - began) * 1000)
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children now, in MiB (from /proc)."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``, whichever of its threads started it.

    /proc/PID/task/TID/children lists the children of one thread only, and the server's SPARQL
    forkserver is started by a waitress worker thread, not the main one.
    """
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
