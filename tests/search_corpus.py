"""The real corpus as a model.Corpus for the search tests and benchmarks.

Uses ``kg.build.run_pipeline`` when every step it needs is importable. While kg.concepts is still
being written, the same pipeline runs with a stand-in concept step: the SKOS labels of
ontology/concepts.ttl, tagged by exact (analyzed) label match. The stand-in goes away by itself
as soon as kg.concepts lands.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from kg.model import Corpus
from kg.settings import load_settings

SKOS = "http://www.w3.org/2004/02/skos/core#"


@functools.lru_cache(maxsize=1)
def real_corpus() -> Corpus:
    """The corpus of this checkout, derived once per process."""
    from kg.build import run_pipeline

    return run_pipeline(load_settings(env={}))


# --- the judged query set --------------------------------------------------------------------

JUDGED = Path(__file__).resolve().parent / "data" / "judged_queries.yaml"


def norm(text: str) -> str:
    """Collapse every run of white space (the dumps use no-break spaces) to one space."""
    return re.sub(r"\s+", " ", text).strip()


def load_judged(path: Path = JUDGED) -> list[dict]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def judgement_of(claim_text: str, post_title: str, relevant: list[dict]) -> int | None:
    """Index of the judgement a claim satisfies (excerpt inside the claim, or claim inside excerpt)."""
    text = norm(claim_text)
    title = norm(post_title)
    for i, judged in enumerate(relevant):
        if norm(judged["post"]) != title:
            continue
        excerpt = norm(judged["text"])
        if excerpt in text or (len(text) >= 12 and text in excerpt):
            return i
    return None


def metrics(ranked: list[tuple[str, str]], relevant: list[dict], k: int = 10) -> dict:
    """nDCG@k (gain 2^grade - 1) and recall@k of a ranked list of (claim text, post title).

    Each judgement counts once: a second claim matching the same judgement gains nothing.
    """
    import math

    seen: set[int] = set()
    dcg = 0.0
    for rank, (text, title) in enumerate(ranked[:k], start=1):
        i = judgement_of(text, title, relevant)
        if i is not None and i not in seen:
            seen.add(i)
            dcg += (2 ** relevant[i]["grade"] - 1) / math.log2(rank + 1)
    ideal_grades = sorted((j["grade"] for j in relevant), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(r + 1) for r, g in enumerate(ideal_grades, start=1))
    return {"ndcg": dcg / idcg if idcg else 0.0, "recall": len(seen) / len(relevant) if relevant else 0.0,
            "found": sorted(seen)}
