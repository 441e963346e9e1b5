"""The rewritten named queries answer their old texts' rows, on a built data directory of any size.

    .venv/bin/python bench/same_rows.py --data /work/bench-data/scale/data-3000 [--write]

Runs tests/test_stats.py's comparison (the same assertions the suite makes on the seed corpus
and 300 generated posts): every query of tests/data/queries-before-statistics beside the
current query of that name, without parameters and with each parameter value the test tries,
every row on a read-only store in this process, no row cap and no time limit. The rows must be
the same multiset and come in the same order of what the old query sorted by. Prints a Markdown
table of the rows compared and the time each pair took; with --write it also replaces the
"same_rows-NAME" section of bench/RESULTS.md. An assertion error names the query that differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from benchlib import command_line, machine, update_section  # noqa: E402
from test_stats import assert_same_answers  # noqa: E402

from kg.graph import build_info  # noqa: E402
from kg.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="built data directory (kg build --data DIR)")
    parser.add_argument("--write", action="store_true", help="replace this data directory's section of bench/RESULTS.md")
    args = parser.parse_args()
    settings = load_settings(env={"KG_DATA_DIR": str(args.data)})
    info = build_info(settings)
    print(f"comparing on {args.data}: {info['posts']:,} posts, {info['claims']:,} claims", file=sys.stderr, flush=True)
    began = time.perf_counter()
    compared = assert_same_answers(settings)
    seconds = time.perf_counter() - began
    lines = [
        f"## The rewritten named queries answer the old rows: {args.data.name} (bench/same_rows.py)",
        "",
        machine(),
        "",
        f"    {command_line()}",
        "",
        f"{info['posts']:,} posts, {info['claims']:,} claims, {info['triples']:,} triples. Every pair below "
        f"answered the same rows in the same order of the old sort keys ({seconds:.0f} s in all).",
        "",
        "| query (parameters) | rows, both texts |",
        "|---|---|",
        *(f"| {name} | {rows:,} |" for name, rows in compared.items()),
        "",
        f"{sum(compared.values()):,} rows compared in {len(compared)} pairs.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        update_section(f"same_rows-{args.data.name}", body)


if __name__ == "__main__":
    main()
