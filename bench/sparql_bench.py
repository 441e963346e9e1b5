"""Named SPARQL queries: kg (worker, time limit, row cap) beside pyoxigraph running kg's old query text.

    .venv/bin/python bench/sparql_bench.py --data /tmp/kgbench/data-10000 [--repeat 20] [--peer-repeat 5]
        [--peer DIR] [--before REV] [--write]

Every named query of ontology/queries runs without parameters and with the example value its
comment gives ("e.g. ..."), parameters bound as kg.sparql.run_named binds them. The peer is
pyoxigraph running kg's old text of the query on the same store: the texts in --peer (default
tests/data/queries-before-statistics, the queries before the statistics graph computed their
aggregates over the whole graph), or the query's current text where it was not rewritten. The
peer runs in kg's query worker (kg.sparql.run_query) so it stops at the same time limit; the
"direct" column is the current text on a read-only pyoxigraph Store in this process, rows
iterated to the cap. With --before, the query files at git revision REV are timed too.
Prints a Markdown table; with --write it also replaces the "sparql_bench-NAME" section of
bench/RESULTS.md. Goals: the aggregates (queries reading kg:statistics, but for
claims-about-concept, which lists claims) p95 <= 100 ms, every query p95 <= 1 s.
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

from benchlib import command_line, machine, timed, update_section  # noqa: E402

from kg import sparql  # noqa: E402
from kg.errors import QueryTimeout  # noqa: E402
from kg.graph import build_info, store_path  # noqa: E402
from kg.settings import load_settings  # noqa: E402
from kg.vocab import PREFIXES  # noqa: E402

_EXAMPLE = re.compile(r"\be\.g\.\s+([\w\-]+)")
PEER = ROOT / "tests" / "data" / "queries-before-statistics"
#: Named queries that list claims rather than count: the 1 s goal, not the aggregates' 100 ms.
LISTINGS = {"claims-about-concept", "claims-citing-source", "unresolved-citations", "uncited-references"}


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
    return f"{p50:.1f} | {p95:.1f}"


def goal(name: str, samples: list[float] | None) -> str:
    limit = 1000 if name in LISTINGS else 100
    if samples is None:
        return f"<= {limit} ms: MISSED (timeout)"
    return f"<= {limit} ms: " + ("met" if p50_p95(samples)[1] <= limit else "MISSED")


def run(args: argparse.Namespace) -> str:
    settings = load_settings(env={"KG_DATA_DIR": str(Path(args.data))})
    store = ox.Store.read_only(str(store_path(settings)))
    info = build_info(settings)
    cap = settings.sparql_max_rows
    out = [f"{args.data}: {info['posts']:,} posts, {info['claims']:,} claims, {info['triples']:,} triples; "
           f"time limit {settings.sparql_timeout:g} s, row cap {cap}; kg and direct {args.repeat} runs, "
           f"peer {args.peer_repeat} runs, each after a warm-up; ms\n"]
    head = ["query", "rows"] + (["before p50", "before p95"] if args.before else []) + [
        "kg p50", "kg p95", "peer (old text) p50", "peer (old text) p95", "direct p50", "direct p95",
        "peer / kg (p50)", "goal (p95)"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---" * len(head) + "|")
    print("\n".join(out), flush=True)
    for query in sparql.list_named_queries(settings):
        if args.only and args.only not in query.name:
            continue
        variants: list[tuple[str, dict[str, str]]] = [(query.name, {})]
        for name, description in query.params:
            match = _EXAMPLE.search(description)
            if match:
                variants.append((f"{query.name} ({name}={match.group(1)})", {name: match.group(1)}))
        peer_file = Path(args.peer) / f"{query.name}.rq"
        peer_text = peer_file.read_text(encoding="utf-8") if peer_file.exists() else query.text
        before = old_text(args.before, query.name) if args.before else None
        for label, params in variants:
            answered: dict[str, str] = {}

            def kg_run(name=query.name, params=params, answered=answered):
                result = sparql.run_named(settings, name, params or None)
                answered["rows"] = f"{len(result.rows)}{' (capped)' if result.truncated else ''}"

            def peer_run(text=sparql.bind_values(peer_text, params)):
                sparql.run_query(settings, text)

            def before_run(text=before, params=params):
                sparql.run_query(settings, text, params=params or None)

            def direct_run(text=sparql.bind_values(query.text, params)):
                for n, solution in enumerate(store.query(text, prefixes=PREFIXES)):
                    if n == cap:
                        break
                    for value in solution:
                        if value is not None:
                            str(value)

            kg_ms = timed_or_none(kg_run, args.repeat)
            row = [label + ("" if peer_file.exists() else " (not rewritten)"), answered.get("rows", "")]
            if args.before:
                row.append(cell(timed_or_none(before_run, args.repeat)) if before else "(new) | (new)")
            peer_ms = timed_or_none(peer_run, args.peer_repeat)
            row.append(cell(kg_ms))
            row.append(cell(peer_ms))
            row.append(cell(timed_or_none(direct_run, args.repeat)) if kg_ms is not None else "skipped | skipped")
            if kg_ms is not None and peer_ms is not None:
                row.append(f"{p50_p95(peer_ms)[0] / max(p50_p95(kg_ms)[0], 0.01):.1f}x")
            else:
                row.append("peer timed out" if peer_ms is None else "")
            row.append(goal(query.name, kg_ms))
            line = "| " + " | ".join(row) + " |"
            print(line, flush=True)
            out.append(line)
    sparql.default_pool().close()
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="built data directory")
    parser.add_argument("--before", help="git revision whose query files to time as well")
    parser.add_argument("--peer", default=str(PEER), help="folder of the old query texts (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query, kg and direct (default: %(default)s)")
    parser.add_argument("--peer-repeat", type=int, default=5, help="timed runs per query, peer (default: %(default)s)")
    parser.add_argument("--only", help="run only the named queries whose name contains this")
    parser.add_argument("--write", action="store_true", help="replace this data directory's section of bench/RESULTS.md")
    args = parser.parse_args()
    body = run(args)
    if args.write:
        name = Path(args.data).name
        update_section(f"sparql_bench-{name}", "\n".join([
            f"## Named SPARQL queries on the statistics graph, {name} (bench/sparql_bench.py)\n",
            f"Machine: {machine()}\n", f"Command: `{command_line()}`\n",
            "kg = kg.sparql.run_named (worker process, time limit, row cap) on the current query text, which "
            "reads the build's kg:statistics graph (kg.stats); peer = pyoxigraph running kg's old text of "
            "the query (tests/data/queries-before-statistics, or the current text where the query was not "
            "rewritten) through the same worker and limits; direct = pyoxigraph in this process, current "
            "text, rows iterated to the cap.\n", body]))


if __name__ == "__main__":
    main()
