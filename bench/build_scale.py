"""Build time and peak memory at 1,000 / 3,000 / 10,000 generated posts, full and incremental.

    .venv/bin/python bench/build_scale.py [--sizes 1000,3000,10000] [--work /tmp/kgbench] [--seed 1]

For each size N: generate the corpus (bench/generate.py, seed --seed; reused when the folder
already holds N posts from the same seed), then run `kg build --full --json` as a child process
under /usr/bin/time -v (wall time, peak RSS of the build and anything it starts; per-step times
come from the build report). Then two incremental builds on the same data directory: after
changing one post's text, and after adding one new post. The change is undone at the end, so
the corpus matches the generator again; the data directory is left built (bench/serve_bench.py
and bench/load.py use it). Growth with N is the ratio of each figure to the smallest size's.

Results replace the "build_scale" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from math import nan
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import KG, PYTHON, ROOT, command_line, machine, run_timed, table, update_section  # noqa: E402

# graph_wait: a full build bulk-loads the store in the background while it writes the index;
# "graph" is then writing the triples and graph_wait the load's time past the index.
STEPS = ("load", "derive", "graph", "index", "graph_wait", "publish", "cache")
CHANGED_POST = "synthetic-00002"
ADDED_POST = "synthetic-bench-added"
EDIT = "\n\nCommissioners said the new tariff would be reviewed by the end of the year (DH, 2011b:6).\n"


def corpus_dir(work: Path, n: int) -> Path:
    return work / f"corpus-{n}"


def data_dir(work: Path, n: int) -> Path:
    return work / f"data-{n}"


def ensure_corpus(work: Path, n: int, seed: int) -> Path:
    """Generate the corpus of n posts unless the folder already holds it (same n, same seed)."""
    target = corpus_dir(work, n)
    stamp = target / ".generated"
    want = f"{n} {seed}"
    if stamp.exists() and stamp.read_text() == want and len(list((target / "posts").glob("*.md"))) == n:
        return target
    subprocess.run([str(PYTHON), str(ROOT / "bench" / "generate.py"), str(n), str(target), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(want)
    return target


def kg_build(corpus: Path, data: Path, full: bool) -> tuple[dict, float, float]:
    """Run `kg build` in a child process; return its JSON report (with the build's CPU seconds
    under "cpu_s"), wall seconds and peak RSS (MiB)."""
    args = [str(KG), "build", "--data", str(data), "--json"] + (["--full"] if full else [])
    timed = run_timed(args, env={"KG_CORPUS_DIR": str(corpus)}, check=False)
    try:
        report = json.loads(timed.stdout)
    except ValueError:
        raise SystemExit(f"kg build printed no report ({timed.returncode}):\n{timed.stderr[-4000:]}") from None
    if timed.returncode != 0 and not report.get("failures"):
        raise SystemExit(f"kg build failed ({timed.returncode}):\n{timed.stderr[-4000:]}")
    report["cpu_s"] = timed.cpu_seconds
    return report, timed.seconds, timed.peak_mib


def post_file(corpus: Path, post_id: str) -> Path:
    matches = sorted((corpus / "posts").glob(f"{post_id}*.md"))
    if not matches:
        raise SystemExit(f"no post file for {post_id} in {corpus / 'posts'}; regenerate the corpus")
    return matches[0]


def run_size(work: Path, n: int, seed: int, keep: bool, previous: dict | None = None) -> dict:
    """Measure size n; with ``previous`` (figures of an earlier run), only the incremental builds."""
    corpus = ensure_corpus(work, n, seed)
    data = data_dir(work, n)
    if previous is None:
        if data.exists() and not keep:
            shutil.rmtree(data)
        full, full_s, full_rss = kg_build(corpus, data, full=True)
        print(f"  {n}: full build {full_s:.1f} s ({full['cpu_s']:.1f} s CPU), peak {full_rss:.0f} MiB, "
              f"steps {full.get('steps')}", flush=True)
    else:
        full = {"counts": previous["counts"], "steps": previous["steps"], "cpu_s": previous.get("full_cpu_s", nan)}
        full_s, full_rss = previous["full_s"], previous["full_rss"]

    changed = post_file(corpus, CHANGED_POST)
    original = changed.read_text(encoding="utf-8")
    added = corpus / "posts" / f"{ADDED_POST}.md"
    try:
        changed.write_text(original.rstrip("\n") + EDIT, encoding="utf-8")
        inc_change, change_s, change_rss = kg_build(corpus, data, full=False)
        print(f"  {n}: one post changed {change_s:.1f} s ({inc_change['cpu_s']:.1f} s CPU; {inc_change['mode']}, "
              f"{inc_change.get('changed')})", flush=True)
        added.write_text(original.replace(CHANGED_POST, ADDED_POST, 1), encoding="utf-8")
        inc_add, add_s, add_rss = kg_build(corpus, data, full=False)
        print(f"  {n}: one post added {add_s:.1f} s ({inc_add['mode']}, {inc_add.get('changed')})", flush=True)
    finally:
        changed.write_text(original, encoding="utf-8")
        added.unlink(missing_ok=True)
    # Back to the generated corpus, so the servers benchmarked next see exactly N posts.
    restore, restore_s, _ = kg_build(corpus, data, full=False)
    for report, what in ((inc_change, "changed"), (inc_add, "added")):
        if report["mode"] != "incremental" or len(report["changed"].get(what, [])) != 1:
            raise SystemExit(f"expected an incremental build with one post {what}, got {report['mode']} "
                             f"{report['changed']}")
    return {"n": n, "commit": subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h"], capture_output=True,
                                             text=True).stdout.strip(), "counts": full["counts"], "full_s": full_s, "full_rss": full_rss, "steps": full.get("steps", {}),
            "full_cpu_s": full["cpu_s"], "change_cpu_s": inc_change["cpu_s"], "change_s": change_s, "change_rss": change_rss, "change_steps": inc_change.get("steps", {}),
            "add_s": add_s, "add_rss": add_rss, "restore_s": restore_s}


def report(rows: list[dict]) -> str:
    base = rows[0]
    lines = ["## Build at scale (bench/build_scale.py)\n", f"Machine: {machine()}\n",
             f"Command: `{command_line()}`\n",
             "Each build is a `kg build` child process under `/usr/bin/time -v`; peak RSS is GNU time's "
             "maximum resident set size. Incremental builds run on the data directory of the full build: "
             f"one post ({CHANGED_POST}) given one more cited sentence, then one new post added.\n"]
    lines.append(table(
        ["posts", "kg commit", "claims", "citations", "triples", "full build s", "full CPU s", "peak RSS MiB",
         "1 changed s", "1 changed CPU s", "1 added s", "incr. peak MiB", "targets (10k)"],
        [[r["n"], r.get("commit", ""), r["counts"].get("claims"), r["counts"].get("citations"), r["counts"].get("triples"),
          f"{r['full_s']:.1f}", f"{r.get('full_cpu_s', nan):.1f}", f"{r['full_rss']:.0f}", f"{r['change_s']:.2f}",
          f"{r.get('change_cpu_s', nan):.2f}", f"{r['add_s']:.2f}",
          f"{max(r['change_rss'], r['add_rss']):.0f}",
          ("full <= 300 s: " + ("met" if r["full_s"] <= 300 else "MISSED") + "; RSS <= 3072: "
           + ("met" if r["full_rss"] <= 3072 else "MISSED") + "; 1 changed <= 5 s: "
           + ("met" if r["change_s"] <= 5 else "MISSED")) if r["n"] >= 10000 else ""]
         for r in rows]))
    lines.append("\nSeconds per step of the full build (from the build report) and of the one-post change. "
                 "Builds that bulk-load the store while writing the index (graph_wait present) count in "
                 "\"graph\" only writing the triples; graph_wait is the load's time past the index:\n")
    lines.append(table(["posts", *STEPS, "incr: " + ", ".join(STEPS)],
                       [[r["n"], *(f"{r['steps'].get(s, 0):.1f}" for s in STEPS),
                         ", ".join(f"{r['change_steps'].get(s, 0):.2f}" for s in STEPS)] for r in rows]))
    if len(rows) > 1:
        lines.append(f"\nGrowth relative to {base['n']} posts (x the smaller figure):\n")
        lines.append(table(["posts", "posts x", "claims x", "full build x", "full CPU x", "peak RSS x", "1 changed x",
                            "1 changed CPU x"],
                           [[r["n"], f"{r['n'] / base['n']:.1f}",
                             f"{r['counts']['claims'] / base['counts']['claims']:.1f}",
                             f"{r['full_s'] / base['full_s']:.1f}",
                             f"{r.get('full_cpu_s', nan) / base.get('full_cpu_s', nan):.1f}",
                             f"{r['full_rss'] / base['full_rss']:.1f}", f"{r['change_s'] / base['change_s']:.1f}",
                             f"{r.get('change_cpu_s', nan) / base.get('change_cpu_s', nan):.1f}"] for r in rows]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--sizes", default="1000,3000,10000", help="comma-separated post counts (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kgbench"),
                        help="folder for generated corpora and data directories (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep an existing data directory (its cache makes the full build's derive step cheaper)")
    parser.add_argument("--no-write", action="store_true", help="print the table only; leave bench/RESULTS.md alone")
    parser.add_argument("--incremental-only", action="store_true",
                        help="keep the full-build figures saved for each size; time the incremental builds again "
                             "on the data directory left by that full build")
    parser.add_argument("--report-only", action="store_true",
                        help="measure nothing: rewrite the section from the figures saved in WORK/build_scale.json")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    # Sizes measured by earlier runs (another --sizes) stay in the table until measured again.
    saved = args.work / "build_scale.json"
    known = {int(k): v for k, v in json.loads(saved.read_text()).items()} if saved.exists() else {}
    sizes = [] if args.report_only else sorted(int(s) for s in args.sizes.split(","))
    text = report([known[k] for k in sorted(known)]) if known else "nothing measured yet\n"
    if args.report_only and known and not args.no_write:
        update_section("build_scale", text)
    for n in sizes:
        previous = known.get(n) if args.incremental_only else None
        if args.incremental_only and previous is None:
            raise SystemExit(f"no saved full build of {n} posts in {saved}; run without --incremental-only first")
        known[n] = run_size(args.work, n, args.seed, args.keep, previous)
        if previous is not None:
            known[n]["commit"] = f"{previous.get('commit', '')} full / {known[n]['commit']} incremental"
        saved.write_text(json.dumps(known, indent=1))
        rows = [known[k] for k in sorted(known)]
        text = report(rows)
        if not args.no_write:
            update_section("build_scale", text)  # after every size: partial results survive a stop
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
