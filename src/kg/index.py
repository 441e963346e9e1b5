"""Build the Whoosh index of claims: one document per claim, built beside the live one.

Each build writes a new versioned folder ``data/index-v<ns>/``; kg.generations makes it live
with its graph store in one ``os.replace`` of ``data/current``: a reader sees the old index or
the new one, never half of one. The folder also holds ``meta.json``: the labels facets show and the
concept labels query expansion uses, so a search needs nothing but the index folder.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import Composable, Filter, IDTokenizer, LowercaseFilter, Token, Tokenizer
from whoosh.analysis import StemFilter as WhooshStemFilter
from whoosh.analysis.filters import STOP_WORDS
from whoosh.codec import whoosh3
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, FieldType, Schema
from whoosh.formats import Existence, Positions

from .concepts import label_variants
from .errors import SearchError
from .model import Citation, Claim, Concept, Corpus, Failure, Organisation, Reference
from .organisations import OrganisationIndex
from .progress import Progress, no_progress
from .references import format_reference, source_label
from .spelling import uk_spelling

#: Bumped when the schema or meta.json changes shape; a searcher refuses an older index.
SCHEMA_VERSION = 8
#: Fields whose adjacent terms the pairs field holds (PairsField). Not concept labels or
#: organisation names: concept labels repeat on every tagged claim, and their pairs made the
#: index build the slowest step of a large build (bench/RESULTS-search.md, bench/pairs_cost.py);
#: a phrase there comes only from a hyphenated word, and kg.ranking remembers its claims per
#: index version after Whoosh's matcher found them once.
PAIRED_FIELDS = ("text", "title", "section")
META_FILE = "meta.json"
VERSION_PREFIX = "index-v"

#: Writer processes by default. On 2 shared cores two processes were slower than one, the merge
#: outweighing the parallel analysis (bench/RESULTS-search.md, bench/search_latency.py --build-procs).
DEFAULT_PROCS = 1

#: Whoosh's posting pool budget (by its own size estimate of a posting). Past it the pool pickles
#: sorted runs to disk and merges them back, a large share of the index build; a budget that
#: holds a build's postings avoids that and costs little resident memory, since Whoosh's
#: estimate is well above what a posting really takes.
LIMIT_MB = 2048
#: Claims a full build writes into one segment before it starts the next. Whoosh sorts a segment's
#: postings in memory and, past LIMIT_MB, in runs pickled to disk and merged back, which took most
#: of the index step once a segment passed ~100k claims (py-spy, 30,000 posts). Segments of 50k
#: claims stay in memory: at 30,000 posts (504k claims) the index step took 290 s against 527 s in
#: one segment and 475 s in segments of 200k, with 86 s at 10,000 posts either way, and peak
#: memory fell (bench/build_scale.py). Searches read the segments in turn (kg.ranking.Postings).
SEGMENT_CLAIMS = 50_000

# A word, keeping intra-word hyphens ("co-production") and dots ("e.g") together.
_WORD = re.compile(r"\w+(?:[-‐‑.]\w+)*", re.UNICODE)
_HYPHENS = re.compile(r"[-‐‑]")


class WordTokenizer(Tokenizer):
    """Split text into words; a hyphenated word yields its parts and then the joined form.

    The joined form ("coproduction") shares the position of the last part, so "co-production",
    "co production" and "coproduction" all find each other and phrases over the parts still match.
    """

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            t.alias = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos - 1
        for match in _WORD.finditer(value):
            word = match.group(0)
            pieces = [(word, match.start(), match.end(), False)]
            if _HYPHENS.search(word):
                pieces = []
                offset = match.start()
                for part in _HYPHENS.split(word):
                    if part:
                        pieces.append((part, offset, offset + len(part), False))
                    offset += len(part) + 1
                pieces.append((_HYPHENS.sub("", word), match.start(), match.end(), True))
            for text, start, end, alias in pieces:
                if not alias:
                    pos += 1
                t.text = text
                t.boost = 1.0
                t.stopped = False
                t.alias = alias
                if keeporiginal:
                    t.original = text
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = start_char + start, start_char + end
                yield t


class UKSpellingFilter(Filter):
    """Map American spellings to British ones so both find the same claims."""

    def __eq__(self, other):
        return self.__class__ is other.__class__

    def __call__(self, tokens):
        for t in tokens:
            t.text = uk_spelling(t.text)
            yield t


class StopFilter(Filter):
    """Drop stop words and one-letter tokens, renumbering positions so phrases skip them.

    Unlike Whoosh's StopFilter it keeps a joined hyphen form at its part's position.
    """

    def __init__(self, stoplist: Iterable[str] = STOP_WORDS, minsize: int = 2):
        self.stops = frozenset(stoplist)
        self.minsize = minsize

    def __eq__(self, other):
        return self.__class__ is other.__class__ and self.stops == other.stops and self.minsize == other.minsize

    def __call__(self, tokens):
        stops, minsize = self.stops, self.minsize
        pos = -1
        for t in tokens:
            if len(t.text) < minsize or t.text in stops:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            if t.positions:
                if not getattr(t, "alias", False) or pos < 0:
                    pos += 1
                t.pos = pos
            t.stopped = False
            yield t


class StemFilter(WhooshStemFilter):
    """English stems, cached with functools.lru_cache: Whoosh's own cache is not thread-safe."""

    def clear(self):
        self._stem = functools.lru_cache(maxsize=self.cachesize or None)(self.stemfn)

    def cache_info(self):
        return self._stem.cache_info()


def analyzer() -> Composable:
    """The analyzer of every text field: words, lower case, British spelling, stop words, stems."""
    return WordTokenizer() | LowercaseFilter() | UKSpellingFilter() | StopFilter() | StemFilter(cachesize=50000)


class _Analysis:
    """One claim text analysed once: its stemmed terms with positions and weights, its words.

    The text field (postings and spelling words) and the pairs field (adjacent terms) both need
    the analysis of the same claim text; whichever Whoosh indexes first computes it, the other
    finds it here (the writer passes both the same string object).
    """

    def __init__(self):
        self.value = None
        self.result = None

    def __call__(self, analyzer, value: str):
        if self.value is value:
            return self.result
        items = getattr(analyzer, "items", ())
        stemmer = items[-1] if items and isinstance(items[-1], WhooshStemFilter) else None
        if stemmer is None:
            return None
        stem, ignore = stemmer._stem, stemmer.ignore
        poses: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, float] = defaultdict(float)
        words = set()
        for t in analyzer(value, no_morph=True, positions=True, boosts=True, mode="index"):
            if t.stopped:
                continue
            words.add(t.text)
            term = t.text if t.text in ignore else stem(t.text)
            poses[term].append(t.pos)
            weights[term] += t.boost
        self.value, self.result = value, (poses, weights, words)
        return self.result


def _pairs(poses: dict[str, list[int]]) -> set[str]:
    """Every "a b" where term b stands at the position right after term a (a phrase of two)."""
    at: dict[int, list[str]] = defaultdict(list)
    for term, positions in poses.items():
        for pos in positions:
            at[pos].append(term)
    return {f"{a} {b}" for pos, firsts in at.items() for a in firsts for b in at.get(pos + 1, ())}


class TextField(TEXT):
    """A TEXT field that analyses a claim's text once for its postings, its spelling words and
    its adjacent pairs (see PairsField).

    Whoosh runs the analyzer twice per document for a field with ``spelling=True``: once for the
    postings, once without the stemmer for the spelling words. Here one pass without the stemmer
    gives the spelling words, and the stemmer (the analyzer's last step, cached) turns the same
    tokens into the postings: the terms, positions and weights are those of ``TEXT.index``.
    """

    def __init__(self, *args, analysis: _Analysis | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.analysis = analysis or _Analysis()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_spelling", None)
        state["analysis"] = _Analysis()
        return state

    def index(self, value, **kwargs):
        result = None
        if not kwargs and isinstance(value, str) and type(self.format) is Positions:
            result = self.analysis(self.analyzer, value)
        if result is None:
            self.__dict__.pop("_spelling", None)
            yield from super().index(value, **kwargs)
            return
        poses, weights, words = result
        self._spelling = (value, words)
        boost = self.format.field_boost
        for term, positions in poses.items():
            yield term.encode("utf-8"), len(positions), weights[term] * boost, self.format.encode(positions)

    def spellable_words(self, value):
        remembered = self.__dict__.get("_spelling")
        if remembered is not None and remembered[0] is value:
            return iter(sorted(remembered[1]))
        return super().spellable_words(value)


class PairsField(FieldType):
    """Which terms stand next to each other, per text field: the term ``"<field> <a> <b>"``.

    A two-word phrase is then one posting list instead of a position check in every claim that
    has both words (kg.search answers phrases from it, far faster on common words in a large
    corpus). The value is ``(field name, text)`` pairs, analysed as those fields are.
    """

    _MEMO_SIZE = 4096

    def __init__(self, analyzer, analysis: _Analysis):
        super().__init__(Existence(), IDTokenizer(), scorable=False, stored=False)
        self.text_analyzer = analyzer
        self.analysis = analysis

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_memo", None)
        state["analysis"] = _Analysis()
        return state

    def _field_pairs(self, name: str, value: str) -> set[str]:
        if name == "text":  # unique per claim: shared with the text field, not memoised
            result = self.analysis(self.text_analyzer, value)
            if result is not None:
                return _pairs(result[0])
        memo = self.__dict__.setdefault("_memo", {})
        found = memo.get(value)
        if found is None:
            if len(memo) >= self._MEMO_SIZE:
                memo.clear()
            poses: dict[str, list[int]] = defaultdict(list)
            for t in self.text_analyzer(value, positions=True, mode="index"):
                poses[t.text].append(t.pos)
            found = memo[value] = _pairs(poses)
        return found

    def index(self, value, **kwargs):
        terms = set()
        for name, text in value:
            if text:
                terms.update(f"{name} {pair}" for pair in self._field_pairs(name, text))
        return ((term.encode("utf-8"), 1, 1.0, b"") for term in sorted(terms))


class RepeatedTextField(TEXT):
    """A TEXT field whose values repeat across documents (a post's title, a section heading,
    concept labels): each distinct value is analysed once per writer, not once per claim."""

    _MEMO_SIZE = 4096

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_memo", None)
        return state

    def index(self, value, **kwargs):
        if kwargs or not isinstance(value, str):
            return super().index(value, **kwargs)
        memo = self.__dict__.setdefault("_memo", {})
        postings = memo.get(value)
        if postings is None:
            if len(memo) >= self._MEMO_SIZE:
                memo.clear()
            postings = memo[value] = tuple(super().index(value))
        return iter(postings)


def _cache_missing_columns() -> None:
    """Remember, per segment reader, that a column file does not exist.

    Whoosh's W3PerDocReader looks a field's length column up with a filesystem stat on every
    call when the column is missing (keyword and spelling fields have none), and the segment
    writer asks once per posting, so a build stats the same missing file again and again. A
    segment's files never change once written, so the answer holds for the reader's lifetime.
    """
    reader = whoosh3.W3PerDocReader
    if getattr(reader, "_kg_missing_cached", False):
        return
    original = reader._cached_reader

    def _cached_reader(self, fieldname, column):
        if fieldname in self._readers:
            return self._readers[fieldname]
        found = original(self, fieldname, column)
        if found is None:
            self._readers[fieldname] = None
        return found

    reader._cached_reader = _cached_reader
    reader._kg_missing_cached = True


_cache_missing_columns()


def schema() -> Schema:
    """The index schema: searchable text fields, filter/facet keyword fields and one stored blob."""
    text = analyzer()
    analysis = _Analysis()
    return Schema(
        id=ID(stored=True, unique=True),
        text=TextField(analyzer=text, phrase=True, spelling=True, analysis=analysis),
        title=RepeatedTextField(analyzer=text, phrase=True),
        section=RepeatedTextField(analyzer=text, phrase=True),
        labels=RepeatedTextField(analyzer=text, phrase=True),  # labels of the claim's concepts
        orgnames=RepeatedTextField(analyzer=text, phrase=True),  # names and acronyms of the cited organisations
        pairs=PairsField(text, analysis),  # adjacent terms of the fields above, for phrases
        source=KEYWORD(lowercase=True),
        concept=KEYWORD(lowercase=True),
        post=KEYWORD(lowercase=True),
        org=KEYWORD(lowercase=True),
        year=KEYWORD(),
        doc=STORED(),  # JSON: everything a result needs to render, read once per shown result
        order=COLUMN(VarBytesColumn()),  # listing_key: where the claim comes in a list of claims
        date=COLUMN(VarBytesColumn()),  # the post's publication date (ISO 8601), empty when it has none
    )


def listing_key(post_title: str, ordinal: int, claim_id: str) -> bytes:
    """Where a claim comes in a list of claims (a concept's page): by its post's title, then its
    place in the post, then its id; the order of the graph's ``ORDER BY ?postTitle ?ordinal
    ?claim`` (UTF-8 bytes sort as code points; NUL ends the title so "A" comes before "A b")."""
    return f"{post_title}\x00{ordinal:010d}\x00{claim_id}".encode()


@dataclass
class IndexStats:
    """What a build wrote: how many claims, where, in how long, with which writer."""

    documents: int
    path: str  # the versioned folder the index symlink now points at
    seconds: float
    segments: int
    procs: int
    failures: list[Failure] = field(default_factory=list)


# --- turning a Corpus into documents -------------------------------------------------------


def fold(text: str) -> str:
    """Fold a name for matching: NFKC, lower case, curly apostrophes straightened, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").lower()
    return " ".join(text.split())


def concept_labels(concept: Concept) -> list[str]:
    """Every label of a concept: preferred, alternative, hidden, plus the scheme's own variants."""
    labels = [concept.pref_label, *concept.alt_labels, *concept.hidden_labels]
    labels.extend(sorted(label_variants(concept)))
    seen, unique = set(), []
    for label in labels:
        key = fold(label)
        if label and key not in seen:
            seen.add(key)
            unique.append(label)
    return unique


_SHORT_FORM = re.compile(r"^(?=\w*[A-Z]\w*[A-Z0-9])\w+$")


def is_short_form(label: str) -> bool:
    """Whether a label is, or contains, an acronym or code: PbR, RAS, S117 aftercare, IPC programme."""
    return any(_SHORT_FORM.match(word) for word in label.split())


def name_labels(concept: Concept) -> list[str]:
    """The labels that name a concept outright: the preferred label and its short forms.

    Other alternative labels are often narrower phrases ("cluster costs" for care clusters);
    searching them as if they were the concept's name drowns the query.
    """
    return [label for label in concept_labels(concept) if label == concept.pref_label or is_short_form(label)]


def _cited_organisations(
    citation: Citation, references: Mapping[str, Reference], authority: OrganisationIndex
) -> list[Organisation]:
    """Return the organisations a citation cites, as the graph says them.

    A resolved citation cites its source, whose organisations are the creators graph.global_lines
    writes (dcterms:creator, from ``OrganisationIndex.creators``). An unresolved one has no source:
    the graph keeps its author as written (kg:citedAuthor), and the same authority reads that name,
    so a claim citing a body whose work the library lacks still filters by that body.
    """
    if citation.status == "resolved" and citation.reference_key:
        ref = references.get(citation.reference_key)
        return authority.creators(ref) if ref else []
    org = authority.lookup(citation.author)
    return [org] if org else []


def _documents(corpus: Corpus, progress: Progress, failures: list[Failure]) -> Iterator[dict]:
    posts = {post.id: post for post in corpus.posts}
    citations_of: dict[str, list] = defaultdict(list)
    for citation in corpus.citations:
        citations_of[citation.claim_id].append(citation)
    # The graph's own authority (graph.global_lines builds the same one), minted names included.
    authority = OrganisationIndex(corpus.organisations)
    names = {cid: name_labels(concept) for cid, concept in corpus.concepts.items()}
    for claim in progress(corpus.claims, "Indexing claims", len(corpus.claims)):
        try:
            yield _document(claim, posts, citations_of.get(claim.id, []), corpus, authority, names)
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(
                Failure("index", claim.id, f"claim not indexed: {exc!r}; check the claim's post and citations")
            )


def _document(claim: Claim, posts, citations, corpus: Corpus, authority: OrganisationIndex, names) -> dict:
    if not isinstance(claim.text, str) or not claim.text.strip():
        raise ValueError("the claim has no text")
    post = posts.get(claim.post_id)
    title = post.title if post else claim.post_id
    citations = sorted(citations, key=lambda c: c.start)
    sources: list[str] = []
    cited: list[Organisation] = []
    years: list[str] = []
    for citation in citations:
        if citation.reference_key and citation.reference_key not in sources:
            sources.append(citation.reference_key)
        for org in _cited_organisations(citation, corpus.references, authority):
            if org not in cited:
                cited.append(org)
        year = citation.year[:4]
        if year.isdigit() and year not in years:
            years.append(year)
    concept_ids = [cid for cid in corpus.subjects.get(claim.id, ()) if cid in corpus.concepts]
    labels = [label for cid in concept_ids for label in names[cid]]
    names = []
    for org in cited:
        names.extend([org.name, org.acronym or "", *org.alt_names])
    stored = {
        "text": claim.text,
        "post": {"id": claim.post_id, "title": title},
        "section": claim.section,
        "ordinal": claim.ordinal,
        "citations": [{"key": c.reference_key, "locator": c.locator, "raw": c.raw} for c in citations],
        "concepts": [{"id": cid, "label": corpus.concepts[cid].pref_label} for cid in concept_ids],
    }
    words = {
        "text": claim.text,
        "title": title,
        "section": claim.section or "",
        "labels": " ; ".join(labels),
        "orgnames": " ; ".join(n for n in names if n),
    }
    return {
        "id": claim.id,
        **words,
        "pairs": tuple((name, words[name]) for name in PAIRED_FIELDS),
        "source": " ".join(sources),
        "concept": " ".join(concept_ids),
        "post": claim.post_id,
        "org": " ".join(org.id for org in cited),
        "year": " ".join(years),
        "doc": json.dumps(stored, ensure_ascii=False, separators=(",", ":")),
        "order": listing_key(title, claim.ordinal, claim.id),
        "date": ((post.date if post else None) or "").encode(),
    }


def build_meta(corpus: Corpus, documents: int) -> dict:
    """What a searcher needs besides the index: facet labels, concept labels for expansion, the library."""
    cited = {c.reference_key for c in corpus.citations if c.reference_key}
    return {
        "schema_version": SCHEMA_VERSION,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "documents": documents,
        "posts": {post.id: post.title for post in corpus.posts},
        "sources": {key: source_label(key, corpus.references) for key in sorted(cited)},
        "orgs": {
            org.id: {
                "name": org.name,
                "acronym": org.acronym,
                "alt_names": list(org.alt_names),
                "aliases": sorted({org.name, org.acronym or "", *org.alt_names} - {""}),
            }
            for org in corpus.organisations
        },
        # The library as built, so a query that names a source (a key, "DH 2011b") can offer it
        # through kg.citations' own lookup.
        "references": {
            key: {"entry_type": ref.entry_type, "fields": dict(ref.fields)}
            for key, ref in sorted(corpus.references.items())
        },
        # Each reference as every reader shows it (kg.references.format_reference), so a search
        # answer names its sources without the library being parsed again at query time.
        "reference_labels": {key: format_reference(ref, key) for key, ref in sorted(corpus.references.items())},
        "concepts": {
            cid: {"label": concept.pref_label, "labels": concept_labels(concept)}
            for cid, concept in sorted(corpus.concepts.items())
        },
    }


# --- writing ----------------------------------------------------------------------------------


@contextmanager
def _new_version(parent: Path, doing: str, hint: str) -> Iterator[tuple[Path, list[Path]]]:
    """Yield a scratch folder under ``parent`` and a list; on success the folder is renamed to a
    new version folder (appended to the list), on any failure it is removed."""
    building = Path(tempfile.mkdtemp(prefix=".index-building-", dir=parent))
    final: list[Path] = []
    try:
        yield building, final
        final.append(parent / f"{VERSION_PREFIX}{time.time_ns()}")
        os.rename(building, final[0])
    except OSError as exc:
        shutil.rmtree(building, ignore_errors=True)
        raise SearchError(f"cannot {doing} the search index under {parent}: {exc}", hint=hint) from exc
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _fill(
    writer,
    corpus: Corpus,
    progress: Progress,
    failures: list[Failure],
    remove_posts: Iterable[str] = (),
    next_segment: Callable[[], Any] | None = None,
) -> int:
    """Delete the documents of ``remove_posts``, add the corpus's claims and commit; return how many
    were added. With ``next_segment`` (a new writer on the same index), every SEGMENT_CLAIMS claims
    are committed as a segment of their own, unmerged, and the rest go on in the next writer."""
    added = 0
    try:
        for post_id in remove_posts:
            writer.delete_by_term("post", post_id.lower())
        for document in _documents(corpus, progress, failures):
            writer.add_document(**document)
            added += 1
            if next_segment is not None and added % SEGMENT_CLAIMS == 0:
                writer.commit(merge=False)
                writer = next_segment()
    except BaseException:
        writer.cancel()
        raise
    writer.commit(merge=next_segment is None)
    return added


def write_index(
    corpus: Corpus,
    parent: str | Path,
    progress: Progress | None = None,
    *,
    procs: int | None = None,
    multisegment: bool = False,
    limitmb: int = LIMIT_MB,
) -> IndexStats:
    """Index every claim of the corpus into a new version folder under ``parent``; swap nothing.

    ``procs`` > 1 analyses documents in that many processes (Whoosh's MpWriter), merged into one
    segment unless ``multisegment``; the default is DEFAULT_PROCS. A claim that cannot be indexed
    becomes a Failure in the returned stats; the rest go on. The caller makes the version live
    (kg.generations, with the graph store).
    """
    started = time.perf_counter()
    progress = progress or no_progress
    parent = Path(parent)
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SearchError(
            f"cannot write the search index under {parent}: {exc}", hint="pass --data DIR naming a folder kg may write"
        ) from None
    procs = DEFAULT_PROCS if procs is None else max(1, procs)
    failures: list[Failure] = []
    with _new_version(
        parent, "write", "check the data directory is writable and has free space, or pass --data DIR"
    ) as (building, final):
        ix = whoosh_index.create_in(str(building), schema())
        if procs > 1:
            writer = ix.writer(procs=procs, limitmb=limitmb, multisegment=multisegment)
            documents = _fill(writer, corpus, progress, failures)
        else:
            documents = _fill(
                ix.writer(limitmb=limitmb), corpus, progress, failures, next_segment=lambda: ix.writer(limitmb=limitmb)
            )
        segments = len(ix.reader().leaf_readers()) if documents else 0
        ix.close()
        (building / META_FILE).write_text(
            json.dumps(build_meta(corpus, documents), ensure_ascii=False), encoding="utf-8"
        )
    return IndexStats(
        documents=documents,
        path=str(final[0]),
        seconds=time.perf_counter() - started,
        segments=segments,
        procs=procs,
        failures=failures,
    )


def update_index(
    corpus: Corpus,
    live: str | Path,
    parent: str | Path,
    *,
    remove_posts: Iterable[str] = (),
    cited: Iterable[str] | None = None,
    post_titles: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> IndexStats:
    """Write a new index version under ``parent``: the ``live`` one without ``remove_posts``, plus
    ``corpus``'s claims; swap nothing.

    ``corpus`` holds only the posts to (re)index, with the shared references, organisations and
    concepts; ``cited`` and ``post_titles`` describe the whole corpus for meta.json. Whoosh never
    rewrites a file in place (new segments, new tables of contents), so the new version starts
    as hard links to the live one's files and the live one is never touched.
    """
    started = time.perf_counter()
    progress = progress or no_progress
    live, parent = Path(live), Path(parent)
    failures: list[Failure] = []
    with _new_version(
        parent, "update", "check the data directory is writable and has free space, or run `kg build --full`"
    ) as (building, final):
        for path in live.iterdir():
            if path.is_file() and path.name != META_FILE and not path.name.endswith("LOCK"):
                os.link(path, building / path.name)
        ix = whoosh_index.open_dir(str(building))
        _fill(ix.writer(), corpus, progress, failures, remove_posts)
        documents = ix.doc_count()
        segments = len(ix.reader().leaf_readers()) if documents else 0
        ix.close()
        meta = json.loads((live / META_FILE).read_text(encoding="utf-8"))
        fresh = build_meta(corpus, documents)
        meta.update(
            built=fresh["built"],
            documents=documents,
            orgs=fresh["orgs"],
            concepts=fresh["concepts"],
            references=fresh["references"],
            reference_labels=fresh["reference_labels"],
        )
        if post_titles is not None:
            meta["posts"] = dict(post_titles)
        if cited is not None:
            meta["sources"] = {key: source_label(key, corpus.references) for key in sorted(cited)}
        (building / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return IndexStats(
        documents=documents,
        path=str(final[0]),
        seconds=time.perf_counter() - started,
        segments=segments,
        procs=1,
        failures=failures,
    )


def live_version(index_dir: str | Path) -> Path | None:
    """Return the versioned folder ``index_dir`` points at now, or None if there is no index."""
    index_dir = Path(index_dir)
    # Resolved through every symlink (data/current -> builds/<gen>, its index -> index-v<ns>),
    # so a reader notices when a build swaps in a new version.
    return Path(os.path.realpath(index_dir)) if index_dir.is_dir() else None
