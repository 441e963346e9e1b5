"""Query latency of kg search vs SQLite FTS5, on the seed corpus and a synthetic ~100k-claim corpus.

    .venv/bin/python bench/search_latency.py [--claims 100000] [--repeat 5] [--build-procs 1,2]

Both systems index the same claims and answer the same queries in the same run (warm: each query
is run once before timing). Reported per query class (one word, several words, phrase):

  kg full    kg.search.Searcher.search: rank, count all matches, 4 facets, highlights, spelling
  kg page    the same without facets
  whoosh     the compiled query alone: Whoosh top 10 + their stored fields (no count, no facets)
  fts5       SELECT id, post, text ... MATCH ... ORDER BY bm25 LIMIT 10
  fts5+count the same plus SELECT count(*) (what "kg page" also computes)

The synthetic corpus is generated deterministically (seed 7) from the seed claims' vocabulary:
a word-bigram chain over the seed claims writes each claim, claims are grouped 25 to a post,
10% of claims cite a seed reference, and claims carry the seed corpus's concepts in proportion.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from fts5_baseline import FTS5  # noqa: E402
from search_corpus import real_corpus  # noqa: E402

from kg import generations  # noqa: E402
from kg.index import write_index  # noqa: E402
from kg.model import Claim, Corpus, Post  # noqa: E402
from benchlib import QUERIES  # noqa: E402
from kg.search import Searcher  # noqa: E402
from kg.settings import load_settings  # noqa: E402

_TOKEN = re.compile(r"\S+")


def synthetic_corpus(seed: Corpus, n_claims: int, rng_seed: int = 7) -> Corpus:
    """Write n_claims claims from a word-bigram chain over the seed claims; deterministic."""
    rng = random.Random(rng_seed)
    chain: dict[str, list[str]] = defaultdict(list)
    starts, lengths = [], []
    for claim in seed.claims:
        words = _TOKEN.findall(re.sub(r"\([^()]*\d{4}[^()]*\)", " ", claim.text))
        if len(words) < 3:
            continue
        starts.append(words[0])
        lengths.append(len(words))
        for a, b in zip(words, words[1:]):
            chain[a].append(b)
    cites = [c for c in seed.citations if c.reference_key]
    tag_pool = [cid for ids in seed.subjects.values() for cid in ids]
    tagged_share = len(seed.subjects) / max(1, len(seed.claims))
    posts, claims, citations, subjects = [], [], [], {}
    per_post = 25
    for p in range((n_claims + per_post - 1) // per_post):
        title_words = [rng.choice(starts)]
        while len(title_words) < rng.randint(4, 10):
            title_words.append(rng.choice(chain.get(title_words[-1]) or starts))
        post_id = f"synthetic-{p:05d}"
        posts.append(Post(id=post_id, title=" ".join(title_words).strip(".,;:"), body=""))
        section = None
        for k in range(min(per_post, n_claims - len(claims))):
            if k % 8 == 0:
                section = rng.choice(["Timing", "Data quality", "Transition protocols", "Conclusion", None,
                                      "National / local tariff", "What do we mean by commissioning?"])
            target = rng.choice(lengths)
            words = [rng.choice(starts)]
            while len(words) < target:
                words.append(rng.choice(chain.get(words[-1]) or starts))
            text = " ".join(words)
            cite = None
            if rng.random() < 0.10:
                cite = rng.choice(cites)
                text = f"{text} ({cite.raw})"
            cid = "c" + hashlib.sha1(f"{post_id}\n{text}".encode()).hexdigest()[:10]
            claims.append(Claim(id=cid, post_id=post_id, ordinal=k + 1, start=0, end=len(text), text=text,
                                section=section))
            if cite:
                start = text.rindex("(") + 1
                citations.append(dataclasses.replace(cite, id=f"{cid}-1", claim_id=cid, post_id=post_id,
                                                     start=start, end=start + len(cite.raw),
                                                     group_id=f"{cid}-g1", group_raw=f"({cite.raw})"))
            if rng.random() < tagged_share:
                subjects[cid] = tuple(sorted({rng.choice(tag_pool) for _ in range(rng.randint(1, 3))}))
    return Corpus(posts=posts, claims=claims, citations=citations, references=seed.references,
                  organisations=seed.organisations, concepts=seed.concepts, subjects=subjects)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return p50 * 1000, p95 * 1000


def measure(corpus: Corpus, label: str, repeat: int, procs: list[int]) -> dict:
    rows = [(c.id, c.post_id, c.text) for c in corpus.claims]
    started = time.perf_counter()
    fts = FTS5(rows)
    fts_build = time.perf_counter() - started
    out = {"label": label, "claims": len(corpus.claims), "fts5_build_s": fts_build, "builds": {}, "classes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, data_dir=Path(tmp))
        index_dir = settings.index_dir
        for n in procs:
            stats = write_index(corpus, tmp, procs=n)
            generations.publish(settings, index=Path(stats.path))  # live, as `kg build` makes it
            out["builds"][n] = {"seconds": stats.seconds, "segments": stats.segments}
        searcher = Searcher(index_dir)
        state = searcher._current()
        whoosh = state.searcher()

        def kg_full(q):
            searcher.search(q, limit=10)

        def kg_page(q):
            searcher.search(q, limit=10, facets=False)

        def whoosh_core(q):
            hits = whoosh.search(state.compiled(q).query, limit=10, terms=False)
            for hit in hits:
                whoosh.stored_fields(hit.docnum)

        def fts_top(q):
            fts.search(q, 10)

        def fts_count(q):
            fts.search(q, 10)
            fts.count(q)

        systems = {"kg full": kg_full, "kg page": kg_page, "whoosh": whoosh_core, "fts5": fts_top,
                   "fts5+count": fts_count}
        for klass, queries in QUERIES.items():
            result = {}
            for name, fn in systems.items():
                samples = []
                for q in queries:
                    fn(q)  # warm: caches, stemmer, pages of the index in memory
                    for _ in range(repeat):
                        t = time.perf_counter()
                        fn(q)
                        samples.append(time.perf_counter() - t)
                result[name] = _percentiles(samples)
            result["matches"] = statistics.median(fts.count(q) for q in queries)
            out["classes"][klass] = result
    return out


def report(m: dict) -> str:
    lines = [f"## {m['label']}: {m['claims']:,} claims",
             "",
             "Index build: " + ", ".join(f"procs={n}: {b['seconds']:.1f} s ({b['segments']} segment"
                                         f"{'s' if b['segments'] != 1 else ''})" for n, b in m["builds"].items())
             + f"; FTS5 build {m['fts5_build_s']:.1f} s",
             "",
             "| query class | median matches | kg full p50/p95 ms | kg page p50/p95 | whoosh p50/p95 | "
             "fts5 p50/p95 | fts5+count p50/p95 | ratio whoosh/fts5 (p50) | ratio kg page/fts5+count (p50) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for klass, r in m["classes"].items():
        f = lambda name: f"{r[name][0]:.1f} / {r[name][1]:.1f}"  # noqa: E731
        lines.append(f"| {klass} | {r['matches']:,.0f} | {f('kg full')} | {f('kg page')} | {f('whoosh')} | "
                     f"{f('fts5')} | {f('fts5+count')} | {r['whoosh'][0] / r['fts5'][0]:.1f}x | "
                     f"{r['kg page'][0] / r['fts5+count'][0]:.1f}x |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000, help="claims in the synthetic corpus")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--build-procs", default="1", help="writer processes to time the build with, e.g. 1,2")
    parser.add_argument("--seed-only", action="store_true", help="measure the seed corpus only")
    args = parser.parse_args(argv)
    procs = [int(p) for p in args.build_procs.split(",")]
    seed = real_corpus()
    print(report(measure(seed, "Seed corpus", args.repeat, [1])))
    if not args.seed_only:
        started = time.perf_counter()
        synthetic = synthetic_corpus(seed, args.claims)
        print(f"\n(generated {len(synthetic.claims):,} synthetic claims in {time.perf_counter() - started:.1f} s; "
              f"{len(synthetic.citations):,} citations, {len(synthetic.subjects):,} tagged claims, "
              f"vocabulary {len(Counter(w for c in synthetic.claims for w in c.text.split())):,} words)\n")
        print(report(measure(synthetic, "Synthetic corpus", args.repeat, procs)))


if __name__ == "__main__":
    main()
