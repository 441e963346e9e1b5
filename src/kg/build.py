"""The pipeline: run each step in order, collect what failed, write the graph and the index.

corpus/posts -> claims -> citations (resolved against references.bib and the organisations)
-> concepts -> RDF store -> search index. One bad item becomes a Failure; the build goes on.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import citations as citations_mod
from . import claims as claims_mod
from . import concepts as concepts_mod
from . import corpus as corpus_mod
from . import graph as graph_mod
from . import index as index_mod
from . import organisations as organisations_mod
from . import references as references_mod
from .errors import BuildError, KGError
from .model import Corpus, Failure
from .progress import Progress, no_progress
from .settings import Settings


def _fail(step: str, item: str, exc: Exception) -> Failure:
    return Failure(step, item, str(exc))


def run_pipeline(settings: Settings, progress: Progress | None = None) -> Corpus:
    """Read corpus/ and ontology/ and derive every claim, citation and concept link in memory."""
    progress = progress or no_progress
    result = Corpus()
    posts, failures = corpus_mod.load_posts(settings.posts_dir)
    result.posts = posts
    result.failures.extend(failures)

    overrides = claims_mod.load_overrides(settings.corpus_dir / "claims-overrides.yaml")
    result.failures.extend(claims_mod.check_overrides(posts, overrides))
    for post in progress(posts, "Chunking claims", len(posts)):
        try:
            result.claims.extend(claims_mod.chunk_post(post, overrides))
        except KGError as exc:
            result.failures.append(_fail("claims", post.path or post.id, exc))

    if settings.references_file.exists():
        references, failures = references_mod.load_library(settings.references_file)
        result.references = references
        result.failures.extend(failures)
    else:
        result.failures.append(Failure("references", str(settings.references_file),
                                       "no reference library (run `kg refs extract` to bootstrap it)"))
    result.organisations = organisations_mod.load_organisations(settings.ontology_dir / "organisations.ttl")

    found = []
    for claim in progress(result.claims, "Extracting citations", len(result.claims)):
        found.extend(citations_mod.extract_citations(claim))
    result.citations = citations_mod.resolve_citations(found, result.references, result.organisations)

    for post in posts:
        if references_mod.is_bibliography(post):
            listed = references_mod.extract_references(post)
            result.bibliography[post.id] = tuple(ref.key for ref in listed if ref.key in result.references)
            missing = [ref.key for ref in listed if ref.key not in result.references]
            if missing:
                result.failures.append(Failure("references", post.path or post.id,
                                               f"listed but not in the library: {', '.join(missing)} "
                                               "(run `kg refs extract` to add them)"))

    result.concepts = concepts_mod.load_scheme(settings.ontology_dir / "concepts.ttl", base_iri=settings.base_iri)
    result.subjects = concepts_mod.tag_claims(progress(result.claims, "Tagging concepts", len(result.claims)),
                                              result.concepts, titles={p.id: p.title for p in posts})
    return result


@dataclass
class BuildReport:
    """What a build did: counts per kind of thing, its duration, and every failure."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    data_dir: str = ""

    def summary(self) -> str:
        c = self.counts
        lines = [
            f"Built {self.data_dir} in {self.seconds:.1f} s",
            f"  posts       {c.get('posts', 0):>8}  ({c.get('bibliography_posts', 0)} bibliography, "
            f"{c.get('excerpts', 0)} excerpts)",
            f"  claims      {c.get('claims', 0):>8}  ({c.get('questions', 0)} questions)",
            f"  citations   {c.get('citations', 0):>8}  ({c.get('resolved', 0)} resolved, "
            f"{c.get('unresolved', 0)} unresolved)",
            f"  references  {c.get('references', 0):>8}  ({c.get('cited_references', 0)} cited)",
            f"  concepts    {c.get('concepts', 0):>8}  ({c.get('tagged_claims', 0)} claims tagged)",
            f"  triples     {c.get('triples', 0):>8}",
            f"  indexed     {c.get('indexed', 0):>8}  claims",
        ]
        if self.failures:
            lines.append(f"  FAILED      {len(self.failures):>8}  (listed below)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"data_dir": self.data_dir, "seconds": round(self.seconds, 3), "counts": self.counts,
                "failures": [{"step": f.step, "item": f.item, "message": f.message} for f in self.failures]}


def count(corpus: Corpus) -> dict[str, int]:
    """Count what the pipeline derived."""
    resolved = sum(1 for c in corpus.citations if c.status == "resolved")
    return {
        "posts": len(corpus.posts),
        "bibliography_posts": sum(1 for p in corpus.posts if p.kind == "bibliography"),
        "excerpts": sum(1 for p in corpus.posts if p.excerpt),
        "claims": len(corpus.claims),
        "questions": sum(1 for c in corpus.claims if c.is_question),
        "citations": len(corpus.citations),
        "resolved": resolved,
        "unresolved": len(corpus.citations) - resolved,
        "references": len(corpus.references),
        "cited_references": len({c.reference_key for c in corpus.citations if c.reference_key}),
        "concepts": len(corpus.concepts),
        "tagged_claims": len(corpus.subjects),
    }


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the data directory so two builds never interleave."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / ".build.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"another build is running on {data_dir}",
                             hint="wait for it to finish, or pass another --data DIR") from None
        yield
    finally:
        os.close(fd)


def build(settings: Settings, progress: Progress | None = None) -> BuildReport:
    """Run the pipeline and write the RDF store and the search index into the data directory."""
    started = time.perf_counter()
    with build_lock(settings.data_dir):
        corpus = run_pipeline(settings, progress)
        counts = count(corpus)
        stats = graph_mod.build_graph(corpus, settings, progress=progress)
        counts["triples"] = stats.triples
        indexed = index_mod.build_index(corpus, settings.index_dir, progress=progress)
        counts["indexed"] = indexed.documents
    return BuildReport(counts=counts, seconds=time.perf_counter() - started, failures=corpus.failures,
                       data_dir=str(settings.data_dir))
