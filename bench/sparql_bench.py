"""Named SPARQL queries before and after a change: kg (worker, time limit, row cap) and direct pyoxigraph.

    .venv/bin/python bench/sparql_bench.py --data /tmp/kgbench/data-10000 [--before REV] [--repeat 3]

Every named query of ontology/queries runs without parameters and with the example value its
comment gives ("e.g. ..."), parameters bound as kg.sparql.run_named binds them. With --before,
the same query files at git revision REV run first through kg.sparql.run_query with Oxigraph's
substitutions (how kg ran them before), so both columns come from one run on one machine.
The direct column runs the current text on a read-only pyoxigraph Store, rows iterated to the
cap. Prints a Markdown table; queries past the time limit show as "timeout".
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from benchlib import timed  # noqa: E402
from kg import sparql  # noqa: E402
from kg.errors import QueryTimeout  # noqa: E402
from kg.graph import store_path  # noqa: E402
from kg.settings import load_settings  # noqa: E402
from kg.vocab import PREFIXES  # noqa: E402

_EXAMPLE = re.compile(r"\be\.g\.\s+([\w\-]+)")


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed_or_none(fn, repeat: int) -> list[float] | None:
    """Warm up once, then time ``repeat`` runs in ms (benchlib.timed); None if the query timed out."""
    try:
        return timed(fn, repeat)
    except QueryTimeout:
        return None


def old_text(rev: str, name: str) -> str | None:
    done = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:ontology/queries/{name}.rq"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def cell(samples: list[float] | None) -> str:
    if samples is None:
        return "timeout | timeout"
    p50, p95 = p50_p95(samples)
    return f"{p50:.0f} | {p95:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="built data directory")
    parser.add_argument("--before", help="git revision whose query files to time as well")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (default: %(default)s)")
    parser.add_argument("--only", help="run only the named queries whose name contains this")
    args = parser.parse_args()

    settings = load_settings(env={"KG_DATA_DIR": str(Path(args.data))})
    store = ox.Store.read_only(str(store_path(settings)))
    cap = settings.sparql_max_rows
    print(f"{args.data}: time limit {settings.sparql_timeout:g} s, row cap {cap}, {args.repeat} runs after a warm-up; ms\n")
    head = "| query | rows | " + ("before kg p50 | before kg p95 | " if args.before else "")
    print(head + "kg p50 | kg p95 | direct p50 | direct p95 | p95 <= 1 s |")
    print("|---" * (head.count("|") + 4) + "|")
    for query in sparql.list_named_queries(settings):
        if args.only and args.only not in query.name:
            continue
        variants = [(query.name, {})]
        for name, description in query.params:
            match = _EXAMPLE.search(description)
            if match:
                variants.append((f"{query.name} ({name}={match.group(1)})", {name: match.group(1)}))
        before = old_text(args.before, query.name) if args.before else None
        for label, params in variants:
            answered = {}

            def kg_run():
                result = sparql.run_named(settings, query.name, params or None)
                answered["rows"] = f"{len(result.rows)}{' (capped)' if result.truncated else ''}"

            def before_run():
                sparql.run_query(settings, before, params=params or None)

            text = sparql.bind_values(query.text, params)

            def direct_run():
                for n, solution in enumerate(store.query(text, prefixes=PREFIXES)):
                    if n == cap:
                        break
                    for value in solution:
                        if value is not None:
                            str(value)

            row = [label]
            kg_ms = timed_or_none(kg_run, args.repeat)
            row.append(answered.get("rows", ""))
            if args.before:
                row.append(cell(timed_or_none(before_run, args.repeat)) if before else "(new) | (new)")
            row.append(cell(kg_ms))
            row.append(cell(timed_or_none(direct_run, args.repeat)) if kg_ms is not None else "skipped | skipped")
            row.append("met" if kg_ms is not None and p50_p95(kg_ms)[1] <= 1000 else "MISSED")
            print("| " + " | ".join(row) + " |", flush=True)
    sparql.default_pool().close()


if __name__ == "__main__":
    main()
