"""Measure concept tagging against the hand-labelled claims, and its speed.

    .venv/bin/python bench/concept_tagging.py [--errors] [--speed N]

Prints micro precision and recall of kg.concepts.Tagger against tests/data/concept_labels.yaml,
then the false positives and false negatives per concept (with the claims, under --errors).
Each labelled claim is tagged with its whole post (title and body) as context, as
kg.concepts.tag_claims does in the build. --speed N times tag_claims over N claims (the
corpus's claims repeated). Results are recorded in bench/RESULTS-concepts.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from kg import claims as claims_mod
from kg.concepts import Tagger, load_scheme, tag_claims
from kg.corpus import load_posts
from kg.settings import load_settings

LABELS = Path(__file__).resolve().parents[1] / "tests" / "data" / "concept_labels.yaml"


def evaluate(labels_path: Path = LABELS) -> dict:
    """Tag every labelled claim and return counts, precision, recall and per-item errors."""
    settings = load_settings()
    concepts = load_scheme(settings.ontology_dir / "concepts.ttl", base_iri=settings.base_iri)
    tagger = Tagger(concepts)
    posts, _ = load_posts(settings.posts_dir)
    by_title = {p.title: p for p in posts}
    items = yaml.safe_load(labels_path.read_text(encoding="utf-8"))
    tp = fp = fn = 0
    per_fp: Counter = Counter()
    per_fn: Counter = Counter()
    errors = []
    for item in items:
        post = by_title[item["post"]]
        expected = set(item["concepts"])
        got = set(tagger.tag(item["text"], context=f"{post.title}\n{post.body}"))
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        per_fp.update(got - expected)
        per_fn.update(expected - got)
        if got != expected:
            errors.append((item["text"], sorted(got - expected), sorted(expected - got)))
    return {
        "items": len(items), "labels": sum(len(i["concepts"]) for i in items),
        "tp": tp, "fp": fp, "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "per_fp": per_fp, "per_fn": per_fn, "errors": errors, "concepts": len(concepts),
    }


def speed(n: int) -> tuple[int, float, int]:
    """Time tag_claims over n claims (the corpus's claims repeated); return (n, seconds, tagged)."""
    settings = load_settings()
    concepts = load_scheme(settings.ontology_dir / "concepts.ttl", base_iri=settings.base_iri)
    posts, _ = load_posts(settings.posts_dir)
    overrides = claims_mod.load_overrides(settings.corpus_dir / "claims-overrides.yaml")
    claims = [c for p in posts for c in claims_mod.chunk_post(p, overrides)]
    many = (claims * (n // len(claims) + 1))[:n]
    start = time.perf_counter()
    tagger = Tagger(concepts)
    subjects = tag_claims(many, concepts, tagger=tagger)
    return n, time.perf_counter() - start, len(subjects)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every claim the tagger gets wrong")
    parser.add_argument("--speed", type=int, default=0, metavar="N", help="also time tagging N claims")
    args = parser.parse_args(argv)

    r = evaluate()
    print(f"scheme: {r['concepts']} concepts; labelled set: {r['items']} claims, {r['labels']} labels")
    print(f"micro precision {r['precision']:.3f}  ({r['tp']} right of {r['tp'] + r['fp']} tagged)")
    print(f"micro recall    {r['recall']:.3f}  ({r['tp']} found of {r['tp'] + r['fn']} labelled)")
    print("\nper concept (false positives / false negatives):")
    for cid in sorted(set(r["per_fp"]) | set(r["per_fn"]), key=lambda c: (-(r["per_fp"][c] + r["per_fn"][c]), c)):
        print(f"  {cid:34} FP {r['per_fp'][cid]:>2}  FN {r['per_fn'][cid]:>2}")
    if args.errors:
        print("\nclaims tagged differently from their labels:")
        for text, extra, missing in r["errors"]:
            print(f"  - {text[:110]}")
            print(f"      extra {extra}  missing {missing}")
    if args.speed:
        n, seconds, tagged = speed(args.speed)
        print(f"\nspeed: {n} claims tagged in {seconds:.1f} s ({n / seconds:,.0f} claims/s); {tagged} distinct claims tagged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
