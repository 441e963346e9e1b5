"""Relevance of kg search on the judged query set, against a plain BM25 baseline (SQLite FTS5).

    .venv/bin/python bench/relevance.py [--json] [--details] [--ablation] [--counts]

Builds the index of this checkout's corpus in a temporary folder, runs every query of
tests/data/judged_queries.yaml through kg.search and through FTS5 over the same claims, and
prints nDCG@10 and recall@10 per query and their means. ``--counts`` also prints how many claims
each query matches (kg's total; FTS5's matches of the claim text).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "bench")]

from fts5_baseline import FTS5  # noqa: E402
from search_corpus import load_judged, metrics, pipeline_available, real_corpus  # noqa: E402

import kg.search as search_mod  # noqa: E402
from kg import generations  # noqa: E402
from kg.index import write_index  # noqa: E402
from kg.search import Searcher  # noqa: E402
from kg.settings import load_settings  # noqa: E402

#: Ablations: each switches parts of the ranking off (module constants of kg.search) to show its gain.
ABLATIONS = {
    "claim text only (no title/section/labels/org fields)":
        {"FIELD_WEIGHTS": {"text": 1.0, "title": 0.0, "section": 0.0, "labels": 0.0, "orgnames": 0.0}},
    "no context in the rank (post title, section heading)":
        {"FIELD_WEIGHTS": {"text": 1.0, "title": 0.0, "section": 0.0, "labels": 0.4, "orgnames": 0.4}},
    "no concept expansion or concept tags": {"EXPANSION_WEIGHT": 0.0, "CONCEPT_TAG_WEIGHT": 0.0},
    "no adjacent-pair bonus": {"PAIR_WEIGHT": 0.0},
}


def evaluate(corpus=None, judged=None, k: int = 10) -> dict:
    """Return per-query and mean nDCG@k / recall@k for kg search and the FTS5 baseline."""
    corpus = corpus or real_corpus()
    judged = judged or load_judged()
    titles = {p.id: p.title for p in corpus.posts}
    fts = FTS5((c.id, c.post_id, c.text) for c in corpus.claims)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, data_dir=Path(tmp))
        generations.publish(settings, index=Path(write_index(corpus, tmp).path))  # live, as `kg build` makes it
        searcher = Searcher(settings.index_dir)
        for item in judged:
            found = searcher.search(item["query"], limit=k, facets=False)
            ours = found["results"]
            ours_ranked = [(r["text"], r["post"]["title"]) for r in ours]
            base_ranked = [(text, titles[post]) for _, post, text in fts.search(item["query"], k)]
            rows.append({"query": item["query"], "kind": item.get("kind", ""),
                         "ours": metrics(ours_ranked, item["relevant"], k),
                         "fts5": metrics(base_ranked, item["relevant"], k),
                         "top": ours_ranked[:3], "total": found["total"],
                         "fts5_total": fts.count(item["query"])})
    mean = lambda system, m: sum(r[system][m] for r in rows) / len(rows)  # noqa: E731
    return {"k": k, "queries": len(rows), "rows": rows,
            "mean": {s: {"ndcg": mean(s, "ndcg"), "recall": mean(s, "recall")} for s in ("ours", "fts5")},
            "corpus": {"claims": len(corpus.claims), "pipeline": "kg.build.run_pipeline" if pipeline_available()
                       else "stand-in concept step (kg.concepts not yet available)"}}


def ablation(corpus=None, judged=None) -> dict[str, float]:
    """Mean nDCG@10 of kg search with each ablation applied in turn (the full system first)."""
    corpus = corpus or real_corpus()
    judged = judged or load_judged()
    out = {"full system": evaluate(corpus, judged)["mean"]["ours"]["ndcg"]}
    for name, changes in ABLATIONS.items():
        saved = {key: getattr(search_mod, key) for key in changes}
        try:
            for key, value in changes.items():
                setattr(search_mod, key, value)
            out[name] = evaluate(corpus, judged)["mean"]["ours"]["ndcg"]
        finally:
            for key, value in saved.items():
                setattr(search_mod, key, value)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--details", action="store_true", help="show each query's top 3 claims")
    parser.add_argument("--ablation", action="store_true", help="also show the mean with parts switched off")
    parser.add_argument("--counts", action="store_true", help="also show how many claims each query matches")
    args = parser.parse_args(argv)
    report = evaluate()
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(f"Judged queries: {report['queries']}  claims: {report['corpus']['claims']}  "
          f"({report['corpus']['pipeline']})")
    print(f"{'query':<46} {'kind':<12} {'nDCG@10':>8} {'FTS5':>6}   {'R@10':>5} {'FTS5':>5}")
    for r in report["rows"]:
        print(f"{r['query'][:46]:<46} {r['kind']:<12} {r['ours']['ndcg']:>8.3f} {r['fts5']['ndcg']:>6.3f}"
              f"   {r['ours']['recall']:>5.2f} {r['fts5']['recall']:>5.2f}")
        if args.details:
            for text, title in r["top"]:
                print(f"      - [{title[:30]}] {text[:90]}")
    m = report["mean"]
    print(f"{'MEAN':<46} {'':<12} {m['ours']['ndcg']:>8.3f} {m['fts5']['ndcg']:>6.3f}"
          f"   {m['ours']['recall']:>5.2f} {m['fts5']['recall']:>5.2f}")
    if args.counts:
        print(f"\n{'query':<46} {'matches':>8} {'FTS5':>6}")
        for r in report["rows"]:
            print(f"{r['query'][:46]:<46} {r['total']:>8} {r['fts5_total']:>6}")
    if args.ablation:
        print("\nAblation (mean nDCG@10):")
        for name, value in ablation().items():
            print(f"  {name:<56} {value:.3f}")


if __name__ == "__main__":
    main()
