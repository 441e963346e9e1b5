"""The performance fixes of issue 7, before and after, measured in the same run on the same input.

    .venv/bin/python bench/before_after.py [--posts 1000] [--rev 1c36fba] [--work /tmp/kgbench]

Loads kg.index and kg.corpus as they were at --rev (from git, beside today's modules) and times,
on the same generated corpus (bench/generate.py, seed 1) in this one process:

* the search index build: index.write_index(corpus) with each version's defaults (CPU seconds
  of this process, and wall seconds), and whether both indexes hold the same terms and postings;
* reading every post file: corpus.load_posts(posts/) with each version, and whether both read
  the same posts.

CPU seconds are the figure to compare on this shared machine. Results replace the
"before_after" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "src")]

from benchlib import ROOT, command_line, machine, table, update_section  # noqa: E402
from build_scale import ensure_corpus  # noqa: E402

from kg import build as build_mod  # noqa: E402
from kg import corpus as corpus_now  # noqa: E402
from kg import index as index_now  # noqa: E402
from kg.settings import load_settings  # noqa: E402


def module_at(rev: str, name: str):
    """Import src/kg/NAME.py as it was at ``rev``, as kg._before_NAME (relative imports resolve in kg)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:src/kg/{name}.py"], capture_output=True,
                            text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="kg-before-"))
    path = folder / f"_before_{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"kg._before_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def postings(path: str) -> dict:
    """Every (field, term) -> [(docnum, weight, value)] of an index, for comparing two builds."""
    from whoosh import index as whoosh_index
    ix = whoosh_index.open_dir(path)
    out = {}
    with ix.reader() as reader:
        for field, term in reader.all_terms():
            m = reader.postings(field, term)
            found = []
            while m.is_active():
                found.append((m.id(), round(m.weight(), 6), m.value()))
                m.next()
            out[(field, term)] = found
    ix.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--posts", type=int, default=1000, help="generated posts (default: %(default)s)")
    parser.add_argument("--rev", default="1c36fba", help="the commit before the fixes (default: %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kgbench"), help="folder of corpora (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    corpus_dir = ensure_corpus(args.work, args.posts, 1)
    index_before, corpus_before = module_at(args.rev, "index"), module_at(args.rev, "corpus")

    rows = []
    (posts_b, _), wall_b, cpu_b = timed(lambda: corpus_before.load_posts(corpus_dir / "posts"))
    (posts_a, _), wall_a, cpu_a = timed(lambda: corpus_now.load_posts(corpus_dir / "posts"))
    rows.append(["read every post file (corpus.load_posts)", f"{cpu_b:.2f}", f"{cpu_a:.2f}", f"{cpu_b / cpu_a:.1f}x",
                 f"{wall_b:.2f}", f"{wall_a:.2f}", "same posts" if posts_a == posts_b else "DIFFERENT POSTS"])
    print(rows[-1], flush=True)

    settings = load_settings(env={"KG_CORPUS_DIR": str(corpus_dir)})
    corpus = build_mod.run_pipeline(settings)
    out = Path(tempfile.mkdtemp(prefix="kg-before-after-", dir=args.work))
    try:
        stats_b, wall_b, cpu_b = timed(lambda: index_before.write_index(corpus, out / "before"))
        stats_a, wall_a, cpu_a = timed(lambda: index_now.write_index(corpus, out / "after"))
        same = postings(stats_b.path) == postings(stats_a.path)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    rows.append([f"search index build (index.write_index, {len(corpus.claims):,} claims)", f"{cpu_b:.1f}",
                 f"{cpu_a:.1f}", f"{cpu_b / cpu_a:.1f}x", f"{wall_b:.1f}", f"{wall_a:.1f}",
                 "same terms and postings" if same else "DIFFERENT POSTINGS"])
    print(rows[-1], flush=True)

    text = "\n".join([
        "## Fixes, before and after (bench/before_after.py)\n", f"Machine: {machine()}\n",
        f"Command: `{command_line()}`\n",
        f"Before = src/kg/index.py and src/kg/corpus.py at {args.rev}; after = this checkout; same process, "
        f"same {args.posts:,}-post generated corpus.\n",
        table(["step", "CPU s before", "CPU s after", "speed-up (CPU)", "wall s before", "wall s after", "output"], rows),
    ]) + "\n"
    print(text)
    if not args.no_write:
        update_section("before_after", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
