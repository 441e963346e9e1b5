"""The real corpus as a model.Corpus for the search tests and benchmarks.

Uses ``kg.build.run_pipeline`` when every step it needs is importable. While kg.concepts is still
being written, the same pipeline runs with a stand-in concept step: the SKOS labels of
ontology/concepts.ttl, tagged by exact (analyzed) label match. The stand-in goes away by itself
as soon as kg.concepts lands.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from pathlib import Path

from kg.model import Concept, Corpus
from kg.settings import Settings, load_settings

SKOS = "http://www.w3.org/2004/02/skos/core#"


def pipeline_available() -> bool:
    # KG_SEARCH_STANDIN=1 forces the stand-in (for tuning while kg.concepts is being edited).
    if os.environ.get("KG_SEARCH_STANDIN") == "1":
        return False
    return importlib.util.find_spec("kg.concepts") is not None


def _load_scheme(path: Path) -> dict[str, Concept]:
    import rdflib

    g = rdflib.Graph().parse(path, format="turtle")
    skos = rdflib.Namespace(SKOS)
    concepts = {}
    for subject in set(g.subjects(rdflib.RDF.type, skos.Concept)):
        cid = str(subject).rsplit("/", 1)[-1]
        pref = str(g.value(subject, skos.prefLabel) or cid)
        alts = tuple(sorted(str(o) for o in g.objects(subject, skos.altLabel)))
        hidden = tuple(sorted(str(o) for o in g.objects(subject, skos.hiddenLabel)))
        concepts[cid] = Concept(cid, pref, alts, hidden)
    return concepts


def _is_acronym(label: str) -> bool:
    return " " not in label and sum(ch.isupper() for ch in label) >= 2


def _tag(claims, concepts: dict[str, Concept]) -> dict[str, tuple[str, ...]]:
    from kg.search import tokens

    patterns = []
    for cid, concept in concepts.items():
        for label in (concept.pref_label, *concept.alt_labels, *concept.hidden_labels):
            if _is_acronym(label):
                patterns.append((cid, None, re.compile(rf"(?<!\w){re.escape(label)}(?!\w)")))
            else:
                toks = tokens(label)[0]
                if toks:
                    patterns.append((cid, toks, None))
    subjects = {}
    for claim in claims:
        toks = tokens(claim.text)[0]
        joined = " " + " ".join(toks) + " "
        found = []
        for cid, label_toks, regex in patterns:
            if cid in found:
                continue
            if regex is not None:
                hit = regex.search(claim.text)
            else:
                hit = (" " + " ".join(label_toks) + " ") in joined
            if hit:
                found.append(cid)
        if found:
            subjects[claim.id] = tuple(found)
    return subjects


def _stand_in_pipeline(settings: Settings) -> Corpus:
    from kg import citations as citations_mod
    from kg import claims as claims_mod
    from kg import corpus as corpus_mod
    from kg import organisations as organisations_mod
    from kg import references as references_mod

    result = Corpus()
    result.posts, result.failures = corpus_mod.load_posts(settings.posts_dir)
    overrides = claims_mod.load_overrides(settings.corpus_dir / "claims-overrides.yaml")
    for post in result.posts:
        result.claims.extend(claims_mod.chunk_post(post, overrides))
    result.references, _ = references_mod.load_library(settings.references_file)
    result.organisations = organisations_mod.load_organisations(settings.ontology_dir / "organisations.ttl")
    found = [c for claim in result.claims for c in citations_mod.extract_citations(claim)]
    result.citations = citations_mod.resolve_citations(found, result.references, result.organisations)
    result.concepts = _load_scheme(settings.ontology_dir / "concepts.ttl")
    result.subjects = _tag(result.claims, result.concepts)
    return result


@functools.lru_cache(maxsize=1)
def real_corpus() -> Corpus:
    """The corpus of this checkout, derived once per process."""
    settings = load_settings(env={})
    if pipeline_available():
        from kg.build import run_pipeline

        return run_pipeline(settings)
    return _stand_in_pipeline(settings)


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
