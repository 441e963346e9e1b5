"""Generate a synthetic corpus of N posts from the seed corpus, deterministically from a seed.

Posts are made from the seed posts' paragraphs, re-mixed across posts, with the field's
vocabulary swapped between related concepts, numbers varied, and citations re-pointed at a
generated library of references (so claims, citations and concept mentions all grow, instead of
N copies of the same text). Writes a corpus folder (posts/ and references.bib) that `kg build`
reads with KG_CORPUS_DIR=FOLDER.

    python bench/generate.py 1000 /tmp/corpus-1k [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kg.corpus import load_posts, write_posts  # noqa: E402
from kg.model import Post, Provenance, Reference  # noqa: E402
from kg.references import load_library, write_library  # noqa: E402

# Terms of the field that can stand in for each other in a sentence without breaking it.
SWAPS = [
    ["personal budgets", "personal health budgets", "direct payments", "individual budgets"],
    ["Personal Budgets", "Personal Health Budgets", "Direct Payments", "Individual Budgets"],
    ["personalisation", "self-directed support", "coproduction", "integration"],
    ["Payment by Results", "Integrated Personal Commissioning", "Self-Directed Support"],
    ["PbR", "IPC", "SDS", "PHBs"],
    ["mental health", "learning disability", "older people's services", "children's mental health"],
    ["commissioning", "decommissioning", "market shaping", "care co-ordination"],
    ["care transition protocols", "care pathways", "resource allocation systems", "care clusters"],
    ["social care", "health and social care", "adult social care", "community care"],
    ["local authorities", "councils", "clinical commissioning groups", "health and wellbeing boards"],
    ["Section 117 aftercare", "out-of-area placements", "continuing healthcare", "reablement"],
]
ORGS = [  # (key stem, corporate author, acronym as cited)
    ("DH", "Department of Health", "DH"),
    ("ADASS", "Association of Directors of Adult Social Services", "ADASS"),
    ("CHE", "Centre for Health Economics", "CHE"),
    ("NDTi", "National Development Team for Inclusion", "NDTi"),
    ("RCP", "Royal College of Psychiatrists", "RCP"),
    ("KingsFund", "King’s Fund", "King’s Fund"),
    ("MHN", "Mental Health Network, NHS Confederation", "MHN"),
    ("SCIE", "Social Care Institute for Excellence", "SCIE"),
    ("TLAP", "Think Local Act Personal", "TLAP"),
    ("LGA", "Local Government Association", "LGA"),
]
TOPICS = ["Payment by Results", "personal budgets", "integration", "commissioning", "coproduction",
          "micro-enterprise", "mental health spending", "self-directed support", "care transition protocols",
          "resource allocation systems", "Section 117 aftercare", "personal health budgets", "direct payments"]
TITLE_FORMS = ["{topic}: what the evidence says", "Why {topic} matters for {other}", "{topic} and {other}",
               "Five lessons on {topic}", "{topic}: a reading list", "What next for {topic}?",
               "Making {topic} work in {other}", "{topic} – an update"]
_CITATION = re.compile(r"\(((?:see, for example, )?)([A-Z][^,()]{1,40}), (\d{4}[a-z]?)(?::([0-9ivx]+(?:-[0-9]+)?))?\)")
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3})(?=%| per cent)")


def paragraphs(posts: list[Post]) -> list[str]:
    """Return the seed paragraphs worth re-mixing (prose and list blocks, not headings)."""
    out = []
    for post in posts:
        if post.kind != "article":
            continue
        for block in re.split(r"\n\s*\n", post.body):
            block = block.strip("\n")
            if len(block) > 80:
                out.append(block)
    return out


def vary(text: str, rng: random.Random, references: list[tuple[str, str, str]]) -> str:
    """Swap related terms, vary percentages and re-point citations at generated references."""
    for group in SWAPS:
        for term in group:
            if term in text and rng.random() < 0.5:
                text = text.replace(term, rng.choice(group))
                break
    text = _NUMBER.sub(lambda m: str(max(1, min(99, int(m.group(1)) + rng.randint(-9, 9)))), text)

    def recite(match: re.Match) -> str:
        cited, year, _key = rng.choice(references)
        locator = f":{rng.randint(1, 120)}" if rng.random() < 0.7 else ""
        return f"({match.group(1)}{cited}, {year}{locator})"

    text = _CITATION.sub(recite, text)
    if rng.random() < 0.25:  # add a citation to a sentence that had none
        cited, year, _key = rng.choice(references)
        text = re.sub(r"\.$", f" ({cited}, {year}:{rng.randint(1, 60)}).", text, count=1)
    return text


def make_library(rng: random.Random, size: int) -> tuple[list[Reference], list[tuple[str, str, str]]]:
    """Generate `size` references: (org, year, suffix) combinations with report titles."""
    refs: list[Reference] = []
    cited: list[tuple[str, str, str]] = []
    combos = [(org, year) for org in ORGS for year in range(2000, 2025)]
    rng.shuffle(combos)
    for (stem, author, acronym), year in combos[:max(1, size // 2)]:
        for suffix in ("a", "b")[: rng.randint(1, 2)]:
            if len(refs) >= size:
                break
            year_text = f"{year}{suffix}"
            key = f"{stem}{year_text}"
            title = f"{rng.choice(TOPICS).capitalize()} in {rng.choice(SWAPS[5])}: {rng.choice(['guidance', 'a review', 'position paper', 'evaluation', 'briefing'])}"
            refs.append(Reference(key=key, entry_type="report", fields={
                "author": f"{{{author}}}", "shortauthor": acronym, "year": str(year), "title": title,
                "institution": author, "type": "Report"}))
            cited.append((acronym, year_text, key))
    return refs, cited


def generate(count: int, target: Path, seed: int = 1) -> dict:
    """Write a corpus of `count` posts into `target` (posts/ and references.bib)."""
    rng = random.Random(seed)
    seeds, failures = load_posts(ROOT / "corpus" / "posts")
    if failures:
        raise SystemExit(f"the seed corpus has failures: {failures}")
    pool = paragraphs(seeds)
    library, _ = load_library(ROOT / "corpus" / "references.bib")
    generated, cited = make_library(rng, max(50, count // 5))
    if target.exists():
        shutil.rmtree(target)
    (target / "posts").mkdir(parents=True)
    posts = []
    for n in range(1, count + 1):
        topic, other = rng.sample(TOPICS, 2)
        title = rng.choice(TITLE_FORMS).format(topic=topic, other=other)
        title = f"{title[0].upper()}{title[1:]} ({n})"
        blocks = [vary(p, rng, cited) for p in rng.sample(pool, rng.randint(4, 12))]
        if rng.random() < 0.3:
            blocks.insert(rng.randint(1, len(blocks)), rng.choice(["Conclusion", "Background", "What next?", "Timing"]))
        posts.append(Post(id=f"synthetic-{n:05d}", title=title, body="\n\n".join(blocks),
                          provenance=(Provenance(f"synthetic-seed-{seed}.txt", n, n),)))
    write_posts(posts, target / "posts")
    write_library(target / "references.bib", {**library, **{r.key: r for r in generated}})
    return {"posts": len(posts), "references": len(library) + len(generated)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", type=int, help="number of posts to generate")
    parser.add_argument("target", type=Path, help="corpus folder to write (replaced if it exists)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same corpus)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    result = generate(args.count, args.target, args.seed)
    print(f"wrote {result['posts']} posts and {result['references']} references to {args.target} "
          f"in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
