"""Citation extraction on a judged set and on the seed corpus, through kg's real pipeline.

    .venv/bin/python bench/extraction.py            # figures as Markdown tables
    .venv/bin/python bench/extraction.py --json     # the same as JSON
    .venv/bin/python bench/extraction.py --sample   # print 50 sampled tagged claims to judge

The judged set is tests/data/extraction/ (ten posts, their library, gold.yaml; concepts.yaml
holds the hand judgements of 50 sampled claims' concept tags). Each post goes through the build's
own steps (build.run_pipeline: posts -> claims -> citations -> resolution -> concepts).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kg import build  # noqa: E402
from kg.settings import load_settings  # noqa: E402

DATA = ROOT / "tests" / "data" / "extraction"


def run(corpus_dir: Path):
    settings = load_settings(env={"KG_CORPUS_DIR": str(corpus_dir), "KG_ONTOLOGY_DIR": str(ROOT / "ontology"),
                                  "KG_DATA_DIR": str(ROOT / "data")})
    return build.run_pipeline(settings)


def score(corpus, gold: dict) -> dict:
    """Match found citations to gold by (post, raw, year), each used once; figures by form."""
    wanted = defaultdict(list)
    for g in gold["citations"]:
        wanted[(g["post"], g["raw"], str(g["year"]))].append(g)
    by_form = defaultdict(Counter)
    false_positives = []
    for c in corpus.citations:
        matches = wanted.get((c.post_id, c.raw, c.year))
        if not matches:
            false_positives.append(f"{c.post_id}: {c.raw!r}")
            by_form["(not in gold)"]["false_positive"] += 1
            continue
        g = matches.pop(0)
        form = by_form[g["form"]]
        form["found"] += 1
        if c.reference_key == g["key"] and (c.locator or None) == (g["locator"] or None):
            form["right"] += 1
    missed = [f"{k[0]}: {k[1]!r}" for k, left in wanted.items() for _ in left]
    for g in gold["citations"]:
        by_form[g["form"]]["gold"] += 1
    for k, left in wanted.items():
        for g in left:
            by_form[g["form"]]["missed"] += 1
    total = Counter()
    for form, n in by_form.items():
        total.update(n)
    found = total["found"]
    return {
        "by_form": {f: dict(n) for f, n in sorted(by_form.items())},
        "gold": total["gold"], "found": found, "false_positives": false_positives, "missed": missed,
        "precision": found / (found + total["false_positive"]) if found else 0.0,
        "recall": found / total["gold"] if total["gold"] else 0.0,
        "resolved_right": total["right"] / total["gold"] if total["gold"] else 0.0,
    }


def debris(corpus, gold: dict) -> list[str]:
    lines = [d.strip() for d in gold.get("debris", [])]
    return [c.text for c in corpus.claims if c.kind != "caption" and any(d in c.text or c.text in d for d in lines)]


def empty_posts(corpus) -> list[str]:
    with_claims = {c.post_id for c in corpus.claims}
    return [p.id for p in corpus.posts if p.id not in with_claims]


def sample_claims(corpus, n: int = 50, seed: int = 14, more=None) -> list:
    """Return n tagged claims: the judged set's (sampled when it has more), then the seed corpus's."""
    tagged = [c for c in corpus.claims if c.id in corpus.subjects]
    picked = random.Random(seed).sample(tagged, min(n, len(tagged)))
    if len(picked) < n and more is not None:
        extra = [c for c in more.claims if c.id in more.subjects]
        picked += random.Random(seed).sample(extra, min(n - len(picked), len(extra)))
    return picked


def concept_precision(corpus, judged_file: Path, more=None) -> dict | None:
    """Precision of the tags of the hand-judged claims: tags judged right / tags given."""
    if not judged_file.exists():
        return None
    judged = yaml.safe_load(judged_file.read_text(encoding="utf-8"))["claims"]
    by_id = {c.id: c for c in [*corpus.claims, *(more.claims if more else [])]}
    subjects = {**(more.subjects if more else {}), **corpus.subjects}
    right = wrong = 0
    stale = []
    for row in judged:
        if row["claim"] not in by_id:
            stale.append(row["claim"])
            continue
        tags = set(subjects.get(row["claim"], ()))
        good = set(row.get("right", []))
        right += len(tags & good)
        wrong += len(tags - good)
    return {"claims": len(judged) - len(stale), "tags": right + wrong,
            "precision": right / (right + wrong) if right + wrong else 0.0, "stale": stale}


def seed_figures(corpus) -> dict:
    author_date = [c for c in corpus.citations if c.form != "note"]
    notes = [c for c in corpus.citations if c.form == "note"]
    cited = {c.reference_key for c in corpus.citations if c.reference_key}
    return {
        "posts": len(corpus.posts), "author_date": len(author_date),
        "author_date_resolved": sum(c.status == "resolved" for c in author_date),
        "note_citations": len(notes), "note_resolved": sum(c.status == "resolved" for c in notes),
        "unresolved": sorted(f"{c.author} {c.year}".strip() + (" (note)" if c.form == "note" else "")
                             for c in corpus.citations if c.status != "resolved"),
        "never_cited": sorted(set(corpus.references) - cited),
        "unreadable": [u.text for u in corpus.unreadable],
        "empty_posts": empty_posts(corpus),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--sample", action="store_true", help="print 50 sampled tagged claims to judge")
    args = parser.parse_args(argv)
    gold = yaml.safe_load((DATA / "gold.yaml").read_text(encoding="utf-8"))
    judged = run(DATA / "corpus")
    seed = run(ROOT / "corpus")
    if args.sample:
        subjects = {**seed.subjects, **judged.subjects}
        for c in sample_claims(judged, more=seed):
            print(yaml.safe_dump([{"claim": c.id, "tags": list(subjects[c.id]), "text": c.text}],
                                 allow_unicode=True, width=200))
        return 0
    report = {"judged": {**score(judged, gold), "posts": len(judged.posts), "claims": len(judged.claims),
                         "debris_leaked": debris(judged, gold), "empty_posts": empty_posts(judged),
                         "unreadable": [u.text for u in judged.unreadable],
                         "concepts": concept_precision(judged, DATA / "concepts.yaml", more=seed)},
              "seed": seed_figures(seed)}
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    j = report["judged"]
    print(f"## Judged set ({j['posts']} posts, {j['gold']} citations, {j['claims']} claims)\n")
    print("| form | in gold | found | missed | resolved with the right locator |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for form, n in j["by_form"].items():
        print(f"| {form} | {n.get('gold', 0)} | {n.get('found', n.get('false_positive', 0))} | {n.get('missed', 0)} "
              f"| {n.get('right', 0)} |")
    print(f"\nprecision {j['precision']:.3f}, recall {j['recall']:.3f}, "
          f"resolved with the right locator {j['resolved_right']:.3f}")
    print(f"false positives: {j['false_positives'] or 'none'}; missed: {j['missed'] or 'none'}")
    print(f"debris claims leaked: {len(j['debris_leaked'])} of {len(gold.get('debris', []))} debris lines"
          + "".join(f"\n  - {t}" for t in j["debris_leaked"]))
    print(f"empty posts: {len(j['empty_posts'])}; unreadable citation-like text reported: {j['unreadable'] or 'none'} "
          f"(gold: {gold.get('unreadable', [])})")
    if j["concepts"]:
        c = j["concepts"]
        print(f"concept-tag precision on {c['claims']} sampled claims: {c['precision']:.3f} ({c['tags']} tags)")
    s = report["seed"]
    print(f"\n## Seed corpus ({s['posts']} posts)\n")
    print(f"author-date citations {s['author_date']} ({s['author_date_resolved']} resolved); "
          f"note citations {s['note_citations']} ({s['note_resolved']} resolved)")
    print(f"unresolved: {s['unresolved']}")
    print(f"never cited: {s['never_cited']}; unreadable: {s['unreadable'] or 'none'}; "
          f"empty posts: {len(s['empty_posts'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
