"""The pipeline: run each step in order, collect what failed, write the graph and the index.

corpus/posts -> claims -> citations (resolved against references.bib and the organisations)
-> concepts -> RDF store -> search index. One bad item becomes a Failure; the build goes on.

Builds are incremental: what each post yields (claims, citations, concept links) depends only
on the post and on the shared inputs (the reference library, the ontology files, the claim
overrides, the base IRI). The build records a digest of each post in a manifest; the next build
re-derives only the posts whose digest changed, removes their old triples and index documents,
and adds the new ones. When a shared input changes, everything is rebuilt. Either way the new
store and index are written beside the live ones and swapped in, so readers never see a
half-built graph and a killed build leaves the previous one in place.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, generations
from . import citations as citations_mod
from . import claims as claims_mod
from . import concepts as concepts_mod
from . import corpus as corpus_mod
from . import graph as graph_mod
from . import index as index_mod
from . import organisations as organisations_mod
from . import references as references_mod
from . import refs as refs_pkg
from . import stats as stats_mod
from .errors import BuildError, KGError
from .files import atomic_write
from .model import (
    Citation,
    Claim,
    Concept,
    Corpus,
    Failure,
    Organisation,
    Post,
    Provenance,
    Reference,
    UnreadableCitation,
)
from .progress import Progress, no_progress
from .settings import Settings

#: Bump when what a post yields changes shape, so caches and manifests of older builds are ignored.
FORMAT = 5
#: Where builds before generations held their manifests (outside the generation it described).
LEGACY_MANIFEST = "manifest.json"


@dataclass
class Inputs:
    """What every post's derivation shares: the library, the authority, the scheme, the overrides."""

    references: dict[str, Reference]
    organisations: list[Organisation]
    concepts: dict[str, Concept]
    overrides: claims_mod.ClaimOverrides
    digest: str  # changes whenever any shared input changes
    failures: list[Failure] = field(default_factory=list)
    resolver: citations_mod.CitationResolver | None = None
    tagger: concepts_mod.Tagger | None = None
    minted: list[tuple[str, str]] = field(default_factory=list)  # (corporate author, library key) not in the authority


def _digest_files(paths: Iterable[Path], *extra: str) -> str:
    h = hashlib.sha256()
    for part in extra:
        h.update(part.encode("utf-8") + b"\x00")
    for path in paths:
        h.update(str(path.name).encode("utf-8") + b"\x00")
        h.update(path.read_bytes() if path.exists() else b"<missing>")
        h.update(b"\x00")
    return h.hexdigest()


def load_inputs(settings: Settings, posts: Iterable[Post] = ()) -> Inputs:
    """Read the shared inputs of the pipeline: reference library (with the posts' own reference
    lists merged in), organisations, concepts, overrides."""
    failures: list[Failure] = []
    references: dict[str, Reference] = {}
    if settings.references_file.exists():
        references, library_failures = references_mod.load_library(settings.references_file)
        failures.extend(library_failures)
    else:
        failures.append(
            Failure(
                "references",
                str(settings.references_file),
                "no reference library (run `kg refs extract` to bootstrap it)",
            )
        )
    references, post_problems = refs_pkg.library_with_post_references(references, posts)
    failures.extend(post_problems)
    overrides_file = settings.corpus_dir / "claims-overrides.yaml"
    overrides = claims_mod.load_overrides(overrides_file)
    authority = organisations_mod.OrganisationIndex(
        organisations_mod.load_organisations(settings.ontology_dir / "organisations.ttl")
    )
    # A corporate author the authority lacks is still one organisation, minted from the library.
    authority.mint(references.values())
    organisations = list(authority.organisations)
    concepts = concepts_mod.load_scheme(settings.ontology_dir / "concepts.ttl", base_iri=settings.base_iri)
    ontology = sorted(settings.ontology_dir.glob("*.ttl"))
    # The index schema too: an index written to an older schema cannot take new documents.
    digest = _digest_files(
        [settings.references_file, overrides_file, *ontology],
        __version__,
        str(FORMAT),
        f"index-schema-{index_mod.SCHEMA_VERSION}",
        settings.base_iri,
        references_mod.to_bibtex(references),
    )
    return Inputs(
        references,
        organisations,
        concepts,
        overrides,
        digest,
        failures,
        resolver=citations_mod.CitationResolver(references, authority),
        tagger=concepts_mod.Tagger(concepts, organisations=authority),
        minted=[(org.name, key) for org, key in authority.unknown],
    )


@dataclass
class PostData:
    """Everything one post yields, with the post as it was when derived."""

    post: Post
    claims: list[Claim] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    unreadable: list[UnreadableCitation] = field(default_factory=list)
    subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    listed: tuple[str, ...] = ()  # reference keys a bibliography post lists
    failures: list[Failure] = field(default_factory=list)
    bibliography: bool = False  # references.is_bibliography(post), decided once

    def to_json(self) -> dict:
        post = dataclasses.asdict(self.post)
        # Claims and citations hold only scalars: a shallow copy of their fields is what
        # dataclasses.asdict gives, without its deep copy (a fifth of a full build's derive step).
        return {
            "post": post,
            "claims": [dict(vars(c)) for c in self.claims],
            "citations": [dict(vars(c)) for c in self.citations],
            "unreadable": [dict(vars(u)) for u in self.unreadable],
            "subjects": {k: list(v) for k, v in self.subjects.items()},
            "listed": list(self.listed),
            "bibliography": self.bibliography,
            "failures": [dataclasses.asdict(f) for f in self.failures],
        }

    @classmethod
    def from_json(cls, data: dict) -> PostData:
        post = dict(data["post"])
        post["provenance"] = tuple(Provenance(**p) for p in post["provenance"])
        return cls(
            post=Post(**post),
            claims=[Claim(**c) for c in data["claims"]],
            citations=[Citation(**c) for c in data["citations"]],
            unreadable=[UnreadableCitation(**u) for u in data.get("unreadable", [])],
            subjects={k: tuple(v) for k, v in data["subjects"].items()},
            listed=tuple(data["listed"]),
            failures=[Failure(**f) for f in data["failures"]],
            bibliography=bool(data["bibliography"]),
        )

    def counts(self) -> dict[str, int]:
        return {
            "claims": len(self.claims),
            "questions": sum(c.is_question for c in self.claims),
            "citations": len(self.citations),
            "resolved": sum(c.status == "resolved" for c in self.citations),
            "unreadable": len(self.unreadable),
            "tagged_claims": len(self.subjects),
        }


def derive_post(post: Post, inputs: Inputs) -> PostData:
    """Chunk a post into claims, extract and resolve its citations, and tag its claims."""
    data = PostData(post=post)
    try:
        data.claims = claims_mod.chunk_post(post, inputs.overrides)
    except KGError as exc:
        data.failures.append(Failure("claims", post.path or post.id, str(exc)))
        return data
    found, data.unreadable = citations_mod.extract_post_citations(post, data.claims)
    data.citations = citations_mod.resolve_citations(
        found, inputs.references, inputs.organisations, resolver=inputs.resolver
    )
    tagged = citations_mod.masked_for_tagging(post, data.claims, data.citations)
    data.subjects = concepts_mod.tag_claims(tagged, inputs.concepts, titles={post.id: post.title}, tagger=inputs.tagger)
    data.bibliography = references_mod.is_bibliography(post)
    if data.bibliography:
        listed = references_mod.extract_references(post)
        data.listed = tuple(ref.key for ref in listed if ref.key in inputs.references)
        missing = [ref.key for ref in listed if ref.key not in inputs.references]
        if missing:
            data.failures.append(
                Failure(
                    "references",
                    post.path or post.id,
                    f"listed but not in the library: {', '.join(missing)} (run `kg refs extract` to add them)",
                )
            )
    return data


def post_digest(post: Post, inputs: Inputs) -> str:
    """Return the digest that decides whether a post must be derived again."""
    return hashlib.sha256(f"{corpus_mod.content_hash(post)}:{inputs.digest}".encode()).hexdigest()[:32]


class Cache:
    """Derived post data on disk, addressed by post digest (so an entry is never stale)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._made: set[Path] = set()  # entry folders known to exist

    def _path(self, digest: str) -> Path:
        assert self.folder is not None
        return self.folder / digest[:2] / f"{digest}.json"

    def get(self, digest: str) -> PostData | None:
        if self.folder is None:
            return None
        try:
            return PostData.from_json(json.loads(self._path(digest).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or unreadable: derive again

    def put(self, digest: str, data: PostData) -> None:
        """Store one entry through a temporary file and a rename, without fsync.

        A cache entry is worth no fsync (one per post was a third of a full build's derive
        step): the rename keeps a killed build from leaving half an entry, and an entry a power
        cut empties fails to parse and is derived again.
        """
        if self.folder is None:
            return
        path = self._path(digest)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        atomic_write(path, json.dumps(data.to_json(), ensure_ascii=False), durable=False)

    def keep_only(self, digests: set[str]) -> None:
        """Delete entries no manifest refers to any more."""
        if self.folder is None or not self.folder.exists():
            return
        for path in self.folder.glob("*/*.json"):
            if path.stem not in digests:
                path.unlink(missing_ok=True)


def _assemble(posts: list[Post], derived: dict[str, PostData], inputs: Inputs, failures: list[Failure]) -> Corpus:
    result = Corpus(
        posts=posts,
        references=inputs.references,
        organisations=inputs.organisations,
        concepts=inputs.concepts,
        failures=list(failures),
    )
    for post in posts:
        data = derived[post.id]
        result.claims.extend(data.claims)
        result.citations.extend(data.citations)
        result.unreadable.extend(data.unreadable)
        result.subjects.update(data.subjects)
        if data.bibliography:
            result.bibliography[post.id] = data.listed
        result.failures.extend(data.failures)
    return result


def _derive_all(
    posts: list[Post], inputs: Inputs, progress: Progress, cache: Cache, digests: dict[str, str]
) -> dict[str, PostData]:
    derived = {}
    for post in progress(posts, "Deriving claims", len(posts)):
        data = cache.get(digests[post.id])
        if data is None:
            data = derive_post(post, inputs)
            cache.put(digests[post.id], data)
        derived[post.id] = data
    return derived


def run_pipeline(settings: Settings, progress: Progress | None = None) -> Corpus:
    """Read corpus/ and ontology/ and derive every claim, citation and concept link in memory."""
    progress = progress or no_progress
    posts, failures = load_posts(settings)
    inputs = load_inputs(settings, posts)
    failures = failures + inputs.failures + claims_mod.check_overrides(posts, inputs.overrides)
    digests = {post.id: post_digest(post, inputs) for post in posts}
    derived = _derive_all(posts, inputs, progress, Cache(None), digests)
    return _assemble(posts, derived, inputs, failures)


def load_posts(settings: Settings) -> tuple[list[Post], list[Failure]]:
    """Read corpus/posts, leaving out (as failures) posts larger than the max_post_bytes setting.

    One huge file (a dump saved as a post) would otherwise take the whole build down: its text
    goes into single graph literals and index fields far past what the store and index take.
    """
    posts, failures = corpus_mod.load_posts(settings.posts_dir)
    limit = settings.max_post_bytes
    kept = []
    for post in posts:
        size = _post_size(post)
        if size > limit:
            failures.append(
                Failure(
                    "corpus",
                    post.path or post.id,
                    f"the post is {size:,} bytes; the limit is {limit:,} (split it into "
                    "several posts, or raise the max_post_bytes setting)",
                )
            )
        else:
            kept.append(post)
    return kept, failures


def _post_size(post: Post) -> int:
    try:
        return Path(post.path).stat().st_size if post.path else len(post.body.encode("utf-8"))
    except OSError:
        return len(post.body.encode("utf-8"))


@dataclass
class BuildReport:
    """What a build did: counts per kind of thing, its duration, and every failure."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    data_dir: str = ""
    mode: str = "full"  # "full" | "incremental" | "unchanged"
    repaired: str = ""  # what was wrong with the live build this one replaced, if anything
    changed: dict[str, list[str]] = field(default_factory=dict)  # added/changed/removed post ids
    steps: dict[str, float] = field(
        default_factory=dict
    )  # seconds per step: load, derive, graph, index, graph_wait, publish

    def summary(self) -> str:
        c = self.counts
        how = {
            "full": "full build",
            "unchanged": "nothing changed",
            "incremental": ", ".join(f"{len(v)} {k}" for k, v in self.changed.items() if v) or "incremental",
        }
        lines = [
            f"Built {self.data_dir} in {self.seconds:.1f} s ({how[self.mode] if self.mode in how else self.mode})",
            f"  posts       {c.get('posts', 0):>8}  ({c.get('bibliography_posts', 0)} bibliography, "
            f"{c.get('excerpts', 0)} excerpts)",
            f"  claims      {c.get('claims', 0):>8}  ({c.get('questions', 0)} questions)",
            f"  citations   {c.get('citations', 0):>8}  ({c.get('resolved', 0)} resolved, "
            f"{c.get('unresolved', 0)} unresolved, {c.get('unreadable', 0)} unreadable: `kg refs check`)",
            f"  references  {c.get('references', 0):>8}  ({c.get('cited_references', 0)} cited)",
            f"  concepts    {c.get('concepts', 0):>8}  ({c.get('tagged_claims', 0)} claims tagged)",
            *(
                [
                    f"  new orgs    {c['minted_organisations']:>8}  (corporate authors not in ontology/organisations.ttl: "
                    "`kg refs check`)"
                ]
                if c.get("minted_organisations")
                else []
            ),
            f"  triples     {c.get('triples', 0):>8}",
            f"  indexed     {c.get('indexed', 0):>8}  claims",
        ]
        if self.repaired:
            lines.append(f"  repaired    the live build was damaged and is rebuilt in full ({self.repaired})")
        if self.failures:
            lines.append(f"  FAILED      {len(self.failures):>8}  (listed below)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "data_dir": self.data_dir,
            "seconds": round(self.seconds, 3),
            "mode": self.mode,
            "changed": self.changed,
            "repaired": self.repaired,
            "counts": self.counts,
            "steps": {name: round(seconds, 3) for name, seconds in self.steps.items()},
            "failures": [{"step": f.step, "item": f.item, "message": f.message} for f in self.failures],
        }


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
        "unreadable": len(corpus.unreadable),
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
            raise BuildError(
                f"another build is running on {data_dir}", hint="wait for it to finish, or pass another --data DIR"
            ) from None
        yield
    finally:
        os.close(fd)


def clear_leftovers(settings: Settings) -> None:
    """Remove what killed builds left behind: unfinished stores and indexes, temporary files.

    Call only under the build lock: then no other build is writing them.
    """
    data = settings.data_dir
    generations.prune(settings)
    (data / LEGACY_MANIFEST).unlink(missing_ok=True)  # describes no generation: never trusted
    for pattern in (".index-building-*", ".current-link-*"):
        for path in data.glob(pattern):
            if path.is_symlink() or path.is_file():
                path.unlink(missing_ok=True)
            else:
                shutil.rmtree(path, ignore_errors=True)
    for path in data.glob("**/.*.tmp"):
        path.unlink(missing_ok=True)


def _usable_manifest(health: generations.Health) -> dict | None:
    """The live manifest, if an incremental build may start from it: the generation it describes
    is sound (kg.generations.verify checks the manifest's shape too) and it is this format."""
    manifest = health.manifest
    if not health.sound or manifest is None or manifest.get("format") != FORMAT:
        return None
    return manifest


def build(settings: Settings, progress: Progress | None = None, full: bool = False) -> BuildReport:
    """Build (or bring up to date) the RDF store and the search index in the data directory.

    Only posts whose text changed since the last build are derived and written again, unless
    ``full`` is set or a shared input (library, ontology, overrides, base IRI) changed.
    """
    progress = progress or no_progress
    started = time.perf_counter()
    with build_lock(settings.data_dir):
        clear_leftovers(settings)
        try:
            report = _build(settings, progress, full)
        except BaseException as exc:
            _after_failure(settings)
            problem = _write_error(exc, settings)
            if problem is not None:
                raise problem from exc
            raise
    report.seconds = time.perf_counter() - started
    report.data_dir = str(settings.data_dir)
    return report


def _build(settings: Settings, progress: Progress, full: bool) -> BuildReport:
    clock = _Clock()
    posts, failures = load_posts(settings)
    inputs = load_inputs(settings, posts)
    failures = failures + inputs.failures + claims_mod.check_overrides(posts, inputs.overrides)
    digests = {post.id: post_digest(post, inputs) for post in posts}
    cache = Cache(settings.data_dir / "cache")
    # The live generation is checked every time: a damaged one (a truncated file, junk JSON) is
    # rebuilt rather than reported as up to date.
    health = generations.verify(settings)
    manifest = None if full else _usable_manifest(health)
    if manifest is not None and manifest["inputs"] != inputs.digest:
        manifest = None
    clock.lap("load")
    if manifest is None:
        report = _full(settings, posts, inputs, failures, digests, cache, progress, clock)
    else:
        report = _incremental(settings, posts, inputs, failures, digests, cache, manifest, progress, clock)
    report.repaired = health.describe()
    clock.lap("publish")  # the store, the index and the manifest going live together
    cache.keep_only(set(digests.values()))
    clock.lap("cache")
    report.steps = clock.laps
    return report


def _after_failure(settings: Settings) -> None:
    """Leave the data directory as the last good build left it: remove the unpublished store and
    index versions, temporary files and the cache entries the live manifest does not use."""
    try:
        clear_leftovers(settings)
        manifest = generations.read_manifest(settings)
        posts = manifest.get("posts") if isinstance(manifest, dict) else None
        digests = (
            {r["digest"] for r in posts.values() if isinstance(r, dict) and isinstance(r.get("digest"), str)}
            if isinstance(posts, dict)
            else set()
        )
        Cache(settings.data_dir / "cache").keep_only(digests)
    except OSError:
        pass  # the failure being reported matters more than a cleanup that cannot finish


#: errno values meaning the disk (or the user's quota) is full.
_FULL = (errno.ENOSPC, errno.EDQUOT)


def _write_error(exc: BaseException, settings: Settings) -> BuildError | None:
    """Turn a full disk or an unwritable data directory, wherever in the build it surfaced, into
    an error naming the folder and the fix (RocksDB reports it as text, the index as SearchError)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if (
            (isinstance(seen, OSError) and seen.errno in _FULL)
            or "No space left on device" in text
            or "Disk quota exceeded" in text
        ):
            return BuildError(
                f"the disk holding {settings.data_dir} is full; the build stopped and the previous build is still live",
                hint="free space on that disk (a full build needs room for a second copy "
                "of the store and the index), or pass --data DIR on a disk with room",
            )
        if isinstance(seen, OSError) and seen.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            return BuildError(
                f"cannot write to {seen.filename or settings.data_dir}: {seen.strerror}; "
                "the previous build is still live",
                hint="make the data directory writable by this user, or pass --data DIR",
            )
        seen = seen.__cause__ or seen.__context__
    return None


def _manifest(
    inputs: Inputs, posts: list[Post], digests: dict[str, str], per_post: dict[str, dict], counts: dict[str, int]
) -> dict:
    return {
        "format": FORMAT,
        "version": __version__,
        "inputs": inputs.digest,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "dumps": sorted({p.dump for post in posts for p in post.provenance}),
        "posts": {post.id: {"digest": digests[post.id], **per_post[post.id]} for post in posts},
        "counts": counts,
    }


def _post_record(post: Post, data: PostData) -> dict:
    return {
        **data.counts(),
        "kind": post.kind,
        "excerpt": post.excerpt,
        "cited": sorted({c.reference_key for c in data.citations if c.reference_key}),
        "failures": [dataclasses.asdict(f) for f in data.failures],
    }


def _totals(inputs: Inputs, records: Iterable[dict]) -> dict[str, int]:
    records = list(records)
    totals = {
        name: sum(r[name] for r in records)
        for name in ("claims", "questions", "citations", "resolved", "tagged_claims")
    }
    unreadable = sum(r.get("unreadable", 0) for r in records)
    return {
        "posts": len(records),
        "bibliography_posts": sum(r["kind"] == "bibliography" for r in records),
        "excerpts": sum(bool(r["excerpt"]) for r in records),
        "claims": totals["claims"],
        "questions": totals["questions"],
        "citations": totals["citations"],
        "resolved": totals["resolved"],
        "unresolved": totals["citations"] - totals["resolved"],
        "unreadable": unreadable,
        "minted_organisations": len({name for name, _ in inputs.minted}),
        "references": len(inputs.references),
        "cited_references": len({key for r in records for key in r["cited"]}),
        "concepts": len(inputs.concepts),
        "tagged_claims": totals["tagged_claims"],
    }


def _full(
    settings: Settings,
    posts: list[Post],
    inputs: Inputs,
    failures: list[Failure],
    digests: dict[str, str],
    cache: Cache,
    progress: Progress,
    clock: _Clock | None = None,
) -> BuildReport:
    clock = clock or _Clock()
    derived = _derive_all(posts, inputs, progress, cache, digests)
    corpus = _assemble(posts, derived, inputs, failures)
    counts = count(corpus)
    counts["minted_organisations"] = len({name for name, _ in inputs.minted})
    clock.lap("derive")
    # The store is bulk-loaded in the background while the index is written: "graph" is the
    # time to write its triples, "graph_wait" the load's time past the index, then the ontology.
    with graph_mod.loading(corpus, settings, progress=progress) as load:
        clock.lap("graph")
        indexed = index_mod.write_index(corpus, settings.data_dir, progress=progress)
        clock.lap("index")
    stats = load.stats
    assert stats is not None  # set by the load on leaving the block, or it raised
    counts["statistics_triples"] = stats.statistics_triples
    clock.lap("graph_wait")
    counts["triples"] = stats.triples
    counts["indexed"] = indexed.documents
    records = {post.id: _post_record(post, derived[post.id]) for post in posts}
    generations.publish(
        settings, _manifest(inputs, posts, digests, records, counts), store=Path(stats.store), index=Path(indexed.path)
    )
    return BuildReport(counts=counts, failures=corpus.failures + stats.failures + indexed.failures, mode="full")


def _incremental(
    settings: Settings,
    posts: list[Post],
    inputs: Inputs,
    failures: list[Failure],
    digests: dict[str, str],
    cache: Cache,
    manifest: dict,
    progress: Progress,
    clock: _Clock | None = None,
) -> BuildReport:
    clock = clock or _Clock()
    before: dict[str, dict] = manifest["posts"]
    by_id = {post.id: post for post in posts}
    added = [pid for pid in by_id if pid not in before]
    changed = [pid for pid in by_id if pid in before and before[pid]["digest"] != digests[pid]]
    removed = [pid for pid in before if pid not in by_id]
    # What the live graph holds for the posts that go: re-derived from the cache of the last build.
    cached = {pid: cache.get(before[pid]["digest"]) for pid in changed + removed}
    old = {pid: data for pid, data in cached.items() if data is not None}
    live_index = index_mod.live_version(settings.index_dir)
    live_stats = stats_mod.load(graph_mod.store_path(settings))
    if len(old) < len(cached) or live_index is None or live_stats is None:
        return _full(settings, posts, inputs, failures, digests, cache, progress, clock)
    new = {pid: derive_post(by_id[pid], inputs) for pid in added + changed}
    for pid, data in new.items():
        cache.put(digests[pid], data)

    records = {pid: before[pid] for pid in by_id if pid not in new}
    records.update({pid: _post_record(by_id[pid], data) for pid, data in new.items()})
    counts = _totals(inputs, (records[post.id] for post in posts))
    # Failures of unchanged posts are remembered in the manifest, so they are reported every time.
    all_failures = failures + [Failure(**f) for post in posts for f in records[post.id].get("failures", [])]
    report = BuildReport(
        counts=counts,
        failures=all_failures,
        mode="incremental",
        changed={"added": added, "changed": changed, "removed": removed},
    )
    if not (added or changed or removed):
        report.mode = "unchanged"
        report.counts.update(
            {name: manifest["counts"].get(name, 0) for name in ("triples", "indexed", "statistics_triples")}
        )
        return report

    # The graph: remove the old lines of changed and removed posts, add the new lines.
    removed_lines = [line for data in old.values() for line in _lines(data.post, data, inputs, settings)]
    added_lines = [line for pid, data in new.items() for line in _lines(by_id[pid], data, inputs, settings)]
    dumps_now = sorted({p.dump for post in posts for p in post.provenance})
    gone = set(manifest.get("dumps", [])) - set(dumps_now)
    new_dumps = set(dumps_now) - set(manifest.get("dumps", []))
    removed_lines += graph_mod.dump_lines(gone, settings)
    added_lines += graph_mod.dump_lines(new_dumps, settings)
    # The statistics: the old contributions out, the new in; only the nodes that moved are rewritten.
    up = stats_mod.ancestors(inputs.concepts)
    totals, old_ranks, stat_triples = live_stats
    ranks = _ranks(posts, inputs, settings)
    stats_before: stats_mod.Totals = {node: Counter(measures) for node, measures in totals.items()}
    touched = set()
    for data in old.values():
        touched |= stats_mod.add(totals, _contribution(data, inputs, up), -1)
    for data in new.values():
        touched |= stats_mod.add(totals, _contribution(data, inputs, up))
    stat_removed, stat_added = stats_mod.Writer(settings.base_iri).changes(
        stats_before, totals, touched, (old_ranks, ranks)
    )
    removed_lines += stat_removed
    added_lines += stat_added
    graph_counts = {
        "posts": len(posts),
        "claims": counts["claims"],
        "citations": counts["citations"],
        "references": len(inputs.references),
        "organisations": len(inputs.organisations),
        "concepts": len(inputs.concepts),
    }
    clock.lap("derive")
    stat_triples += len(stat_added) - len(stat_removed)
    stats = graph_mod.update_graph(settings, removed_lines, added_lines, graph_counts, progress=progress)
    stats_mod.save(Path(stats.store), totals, ranks, stat_triples)
    clock.lap("graph")

    # The index: drop every document of the changed and removed posts, add the new ones.
    partial = _assemble([by_id[pid] for pid in new], new, inputs, [])
    indexed = index_mod.update_index(
        partial,
        live_index,
        settings.data_dir,
        remove_posts=changed + removed,
        cited={key for post in posts for key in records[post.id]["cited"]},
        post_titles={post.id: post.title for post in posts},
        progress=progress,
    )
    clock.lap("index")
    report.counts.update(triples=stats.triples, indexed=indexed.documents, statistics_triples=stat_triples)
    generations.publish(
        settings,
        _manifest(inputs, posts, digests, records, report.counts),
        store=Path(stats.store),
        index=Path(indexed.path),
    )
    return report


class _Clock:
    """Seconds spent per step of a build, for the report (bench/build_scale.py reads them)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


def _lines(post: Post, data: PostData, inputs: Inputs, settings: Settings) -> list[str]:
    return graph_mod.post_lines(
        post,
        data.claims,
        data.citations,
        data.subjects,
        data.listed,
        inputs.references,
        settings,
        unreadable=data.unreadable,
    )


def _contribution(data: PostData, inputs: Inputs, up: dict[str, frozenset[str]]) -> stats_mod.Totals:
    return stats_mod.contribution(data.claims, data.citations, data.subjects, inputs.references, up)


def _ranks(posts: list[Post], inputs: Inputs, settings: Settings) -> dict[str, int]:
    # As kg.stats.of_corpus ranks them in a full build.
    titles = {post.id: post.title for post in posts}
    return stats_mod.ranks(inputs.concepts, inputs.references, titles, settings.base_iri)
