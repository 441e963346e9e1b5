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

    .venv/bin/python bench/before_after.py --build [--posts 3000] [--build-rev e267da1~1]

With --build, the whole kg package at --build-rev is loaded as kg_before (every module as it
was, its relative imports among themselves) and the build's own steps are timed instead, both
versions twice, alternating, in this one process: reading the posts, deriving every post
(claims, citations, concepts, bibliography; with the cache entries written as a build writes
them), and writing the graph's N-Triples. The outputs are compared (claims, citations, concept
links, bibliographies; the N-Triples bytes). The store's bulk load (Oxigraph, unchanged) and the
index are left out. Results replace the "before_after_build" section.
"""

from __future__ import annotations

import argparse
import importlib
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


def package_at(rev: str, name: str = "kg_before"):
    """Import the whole src/kg package as it was at ``rev``, as NAME."""
    folder = Path(tempfile.mkdtemp(prefix="kg-before-")) / name
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/kg"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder.parent)], input=archive, check=True)
    (folder.parent / "src" / "kg").rename(folder)
    # settings.ROOT is found from the package's place: point the old one at this checkout.
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    importlib.import_module(f"{name}.settings").ROOT = ROOT
    return module


def build_steps(rev: str, corpus_dir: Path, work: Path) -> list[list[str]]:
    """Time reading, deriving and writing the graph's lines with kg at ``rev`` and now; compare outputs."""
    package_at(rev)
    versions = {"before": {m: importlib.import_module(f"kg_before.{m}") for m in ("build", "corpus", "graph")},
                "after": {m: importlib.import_module(f"kg.{m}") for m in ("build", "corpus", "graph")}}
    settings = load_settings(env={"KG_CORPUS_DIR": str(corpus_dir)})
    out = Path(tempfile.mkdtemp(prefix="kg-before-after-", dir=work))
    cpu: dict[tuple[str, str], list[float]] = {}
    wall: dict[tuple[str, str], list[float]] = {}
    outputs: dict[str, tuple] = {}
    try:
        for round_ in range(2):
            for tag, mods in versions.items():
                b, c, g = mods["build"], mods["corpus"], mods["graph"]
                (posts, failures), w, t = timed(lambda: c.load_posts(settings.posts_dir))
                cpu.setdefault(("load", tag), []).append(t)
                wall.setdefault(("load", tag), []).append(w)
                inputs = b.load_inputs(settings)
                digests = {p.id: b.post_digest(p, inputs) for p in posts}
                cache = b.Cache(out / f"cache-{tag}-{round_}")
                derived, w, t = timed(lambda: b._derive_all(posts, inputs, b.no_progress, cache, digests))
                cpu.setdefault(("derive", tag), []).append(t)
                wall.setdefault(("derive", tag), []).append(w)
                corpus = b._assemble(posts, derived, inputs, failures)
                nt = out / f"{tag}.nt"

                def write_lines():
                    with open(nt, "wb") as handle:
                        for line in g.corpus_lines_iter(corpus, settings, []):
                            handle.write(line.encode("utf-8"))
                _, w, t = timed(write_lines)
                cpu.setdefault(("lines", tag), []).append(t)
                wall.setdefault(("lines", tag), []).append(w)
                outputs[tag] = ([vars(x) for x in posts], [vars(x) for x in corpus.claims],
                                [vars(x) for x in corpus.citations], corpus.subjects, corpus.bibliography,
                                nt.read_bytes())
                print(f"round {round_ + 1} {tag}: CPU s " + ", ".join(f"{k[0]} {v[-1]:.2f}" for k, v in cpu.items()
                                                                  if k[1] == tag), flush=True)
        before, after = outputs["before"], outputs["after"]
        n = len(after[1])
    finally:
        shutil.rmtree(out, ignore_errors=True)
    # Posts differ only in the Provenance class of the old package: compare their fields.
    same_posts = [{**p, "provenance": [vars(x) for x in p["provenance"]]} for p in before[0]] == \
        [{**p, "provenance": [vars(x) for x in p["provenance"]]} for p in after[0]]
    rows = []
    for step, label, same in (
            ("load", "read every post file (corpus.load_posts)", "same posts" if same_posts else "DIFFERENT POSTS"),
            ("derive", f"derive every post, cache entries written ({n:,} claims)",
             "same claims, citations, concepts, bibliographies" if before[1:5] == after[1:5] else "DIFFERENT"),
            ("lines", "write the graph's N-Triples (graph.corpus_lines_iter)",
             "same bytes" if before[5] == after[5] else "DIFFERENT TRIPLES")):
        b_cpu, a_cpu = min(cpu[(step, "before")]), min(cpu[(step, "after")])
        b_wall, a_wall = min(wall[(step, "before")]), min(wall[(step, "after")])
        rows.append([label, f"{b_cpu:.2f}", f"{a_cpu:.2f}", f"{b_cpu / a_cpu:.1f}x", f"{b_wall:.2f}", f"{a_wall:.2f}",
                     same])
    return rows


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
    parser.add_argument("--build", action="store_true",
                        help="time the build's reading, deriving and graph writing at --build-rev and now instead")
    parser.add_argument("--build-rev", default="e267da1~1",
                        help="the commit before the build fixes, for --build (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.build:
        corpus_dir = ensure_corpus(args.work, args.posts, 1)
        rows = build_steps(args.build_rev, corpus_dir, args.work)
        text = "\n".join([
            "## Build steps, before and after (bench/before_after.py --build)\n", f"Machine: {machine()}\n",
            f"Command: `{command_line()}`\n",
            f"Before = the whole src/kg package at {args.build_rev}; after = this checkout; same process, "
            f"same {args.posts:,}-post generated corpus, each version run twice alternating (best of two). "
            "The derive step writes each post's cache entry as a build does (before: with an fsync per "
            "entry). The store's bulk load and the index are not in these figures: a full build now "
            "bulk-loads the store in a background thread while it writes the index.\n",
            table(["step", "CPU s before", "CPU s after", "speed-up (CPU)", "wall s before", "wall s after", "output"],
                  rows),
        ]) + "\n"
        print(text)
        if not args.no_write:
            update_section("before_after_build", text)
        return 0
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
