"""Search the claim index: understand the query, rank with BM25F, highlight, count facets, suggest.

A query is free text with "quoted phrases", AND/OR/NOT (or a leading ``-``), parentheses and
field filters (``source:DH2011b``, ``concept:payment-by-results``, ``post:<id>``, ``org:ADASS``,
``year:2011``, ``title:``/``section:`` words). A typed filter narrows the words around it exactly
as the same facet parameter does (one field's values OR-ed, fields AND-ed). Free text is expanded
through the concept labels (an acronym finds its expansion and back; a variant spelling finds the
other), the expansions weighted below the words typed. A claim matches through its own fields
only (MATCH_FIELDS); the post title and section heading raise its rank (CONTEXT_FIELDS). Syntax
a user gets wrong never raises: it falls back to plain words and says so in ``notice``. A page
past the last is PastLastPage (a NotFound); a query that names a library source (``DH2011b``,
``DH 2011b``) offers it in ``source``.

``search(settings, query)`` returns the result JSON the CLI and the web app share.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import math
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.columns import VarBytesColumn
from whoosh.filedb.filestore import FileStorage
from whoosh.scoring import BM25F

from . import ranking
from .cache import Cache
from .citations import parse_cite_query
from .errors import KGError, NotFound, PastLastPage, SearchError
from .index import META_FILE, SCHEMA_VERSION, analyzer, fold, is_short_form, live_version, source_label
from .model import Concept, Organisation, Reference
from .organisations import OrganisationIndex
from .paging import page_links
from .query import (
    FIELD_ALIASES,
    FILTER_FIELDS,
    Either,
    FieldFilter,
    FieldWords,
    Group,
    Phrase,
    Word,
    parse,
)
from .settings import Settings
from .spelling import uk_spelling

# --- tuning (chosen on tests/data/judged_queries.yaml with bench/relevance.py) --------------

#: Weight of a query word in each searchable field (BM25F field weights).
FIELD_WEIGHTS: dict[str, float] = {"text": 1.0, "title": 0.8, "section": 0.8, "labels": 0.4, "orgnames": 0.4}
#: BM25 length normalisation per field: titles and headings repeat on many claims.
FIELD_B: dict[str, float] = {"text": 0.2, "title": 0.6, "section": 0.3, "labels": 0.3, "orgnames": 0.3}
K1 = 1.5
#: Weight of an expansion (another label of a concept the query names), spread over its words.
EXPANSION_WEIGHT = 0.6
#: Weight of "the claim is tagged with a concept the query names".
CONCEPT_TAG_WEIGHT = 0.4
#: Bonus for each adjacent pair of typed words standing together. (A whole-phrase bonus and a
#: coordination factor were tried and dropped: neither helped the judged queries and the factor
#: slowed several-word queries; bench/RESULTS-search.md.)
PAIR_WEIGHT = 0.35

#: Score "more like this" gives a claim under the same heading of the same post.
MLT_SAME_SECTION = 1.0
#: Where a free word matches a claim: its own text, the labels of the concepts it is tagged with
#: and the names of the organisations it cites (kg.index). These belong to the claim itself: the
#: concept tags come from the claim's own words (kg.concepts), the organisations from its own
#: citations. A claim matches, and is counted, only through these.
MATCH_FIELDS = ("text", "labels", "orgnames")
#: Context: the post's title and the section heading a claim stands under. They raise the rank of
#: a claim that matches on its own, and never make a match ("S117" in a post's title does not make
#: each of its claims about S117).
CONTEXT_FIELDS = ("title", "section")
#: Fields a word that must match is looked for in: the claim's own words.
STRICT_FIELDS = ("text",)
#: Fields a word that must not match is looked for in: the claim's words and its heading (NOT
#: means "nothing about it", and a heading names what the claims under it are about).
NOT_FIELDS = ("text", "section")
#: Question words dropped from free text when other words remain ("why is PbR hard ...").
QUESTION_WORDS = frozenset(
    {"why", "what", "how", "does", "do", "did", "which", "who", "whom", "where", "when", "whose"}
)
#: Most words one query may search for; the rest are ignored with a notice.
MAX_TERMS = 40
#: Longest word offered a spelling suggestion: edit-distance search grows with the word, and a
#: word this long is no misspelling of anything in the index.
MAX_SUGGEST_CHARS = 40
MAX_LIMIT = 200
FACET_LIMIT = 20
#: Orders a search's results come in: by score, or by post (title A to Z) and claim within it.
SORTS = ("relevance", "post")
#: Orders of a list of claims (a concept's, a source's, a post's, every claim): value -> label.
#: ``post`` is kg.index.listing_key's (post title, then place in the post); ``newest`` and
#: ``oldest`` go by the post's publication date, claims of undated posts last, then in post order.
CLAIM_SORTS = {"post": "post order", "newest": "newest post first", "oldest": "oldest post first"}
#: Facet groups of an answer: (filter field, group name), in the order pages show them.
FACET_GROUPS = (("source", "sources"), ("concept", "concepts"), ("post", "posts"), ("org", "orgs"), ("year", "years"))
#: Characters of a claim that get highlighted; the rest is shown plain.
HIGHLIGHT_CHARS = 4000
#: Compiled queries remembered per index version, and the longest query text remembered: a long
#: query is rarely typed twice, and 512 of them at max_query_chars would hold megabytes.
QUERY_CACHE_SIZE = 512
#: Longest query looked up as a citation (a key, "Department of Health 2011b", a pasted citation).
NAMED_SOURCE_CHARS = 200
QUERY_CACHE_TEXT_CHARS = 256

#: Analysed words remembered, in bytes (each whitespace-separated piece of a query, counted with
#: its tokens). Keyed on words, not whole queries: a phrase is looked up word by word, so long
#: phrases cannot fill memory, and the words people type repeat.
TOKEN_CACHE_BYTES = 4 * 1024 * 1024
#: Longest piece of a query remembered; a longer one is analysed each time it is typed.
TOKEN_CACHE_WORD_CHARS = 64

_CITATION_PARENS = re.compile(r"\([^()]*\b\d{4}[a-z]?\b[^()]*\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANALYZER = analyzer()

_Tokens = tuple[tuple[str, ...], tuple[str, ...]]


def _analyse(text: str) -> _Tokens:
    plain: list[str] = []
    joined: list[str] = []
    for t in _ANALYZER(text, mode="query"):
        (joined if getattr(t, "alias", False) else plain).append(t.text)
    return tuple(plain), tuple(joined)


class TokenCache:
    """Analysed words (kg.cache.Cache), bounded by an estimate of the bytes they hold."""

    def __init__(self, max_bytes: int = TOKEN_CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: Cache[str, tuple[_Tokens, int]] = Cache(max_bytes, getsizeof=lambda entry: entry[1])

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._items.size

    @staticmethod
    def _size(word: str, found: _Tokens) -> int:
        # The key, the two tuples and their strings, and the dictionary's own entry.
        size = sys.getsizeof(word) + sum(sys.getsizeof(part) for part in found) + 100
        return size + sum(sys.getsizeof(t) for part in found for t in part)

    def get(self, word: str) -> _Tokens:
        def analyse() -> tuple[_Tokens, int]:
            found = _analyse(word)
            return found, self._size(word, found)

        return self._items.get(word, analyse)[0]

    def clear(self) -> None:
        self._items.clear()


_TOKENS = TokenCache()


def tokens(text: str) -> _Tokens:
    """Analyze text as the index does: (positional tokens, joined hyphen forms).

    Whitespace never falls inside an index word, so the text is analysed piece by piece (each
    piece remembered) and the pieces' tokens joined: the same tokens as analysing it whole.
    """
    pieces = text.split()
    if len(pieces) == 1 and len(pieces[0]) <= TOKEN_CACHE_WORD_CHARS:
        return _TOKENS.get(pieces[0])
    plain: list[str] = []
    joined: list[str] = []
    for piece in pieces:
        found = _TOKENS.get(piece) if len(piece) <= TOKEN_CACHE_WORD_CHARS else _analyse(piece)
        plain.extend(found[0])
        joined.extend(found[1])
    return tuple(plain), tuple(joined)


# --- expansion through concept labels --------------------------------------------------------

# Expansion uses a concept's preferred label and short forms only: many alternative labels are
# narrower phrases ("cluster costs" for care clusters) that would drown the query.


@dataclass
class Expansions:
    """Concept labels by their analyzed words, for finding concept names inside free text."""

    by_tokens: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    labels: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # concept -> label token tuples
    ids: dict[str, str] = field(default_factory=dict)  # folded id or label -> concept id
    pref: dict[str, str] = field(default_factory=dict)
    longest: int = 1

    @classmethod
    def from_labels(cls, concepts: Mapping[str, tuple[str, Iterable[str]]]) -> Expansions:
        ex = cls()
        for cid, (pref, labels) in concepts.items():
            ex.pref[cid] = pref
            ex.ids[fold(cid)] = cid
            expand: list[tuple[str, ...]] = []
            for label in [pref, *labels]:
                ex.ids.setdefault(fold(label), cid)
                toks = tokens(label)[0]
                if not toks:
                    continue
                if cid not in ex.by_tokens.setdefault(toks, set()):
                    ex.by_tokens[toks].add(cid)
                    ex.longest = max(ex.longest, len(toks))
                if toks not in expand and (label == pref or is_short_form(label)):
                    expand.append(toks)
            ex.labels[cid] = expand
        return ex

    def find(self, toks: list[str]) -> list[tuple[int, int, set[str]]]:
        """Spans (start, end, concept ids) of the longest labels found in a token list."""
        spans, i = [], 0
        while i < len(toks):
            for size in range(min(self.longest, len(toks) - i), 0, -1):
                cids = self.by_tokens.get(tuple(toks[i : i + size]))
                if cids:
                    spans.append((i, i + size, cids))
                    i += size
                    break
            else:
                i += 1
        return spans


def _concepts_to_labels(concepts: Mapping[str, Concept]) -> dict[str, tuple[str, list[str]]]:
    from .index import concept_labels

    return {cid: (c.pref_label, concept_labels(c)) for cid, c in concepts.items()}


# --- compiling a parsed query to Whoosh ------------------------------------------------------


@dataclass(frozen=True)
class Highlight:
    """What to mark in a result: index terms wherever they stand, and phrases (term tuples) only
    where all their terms stand together (an expansion such as "resource allocation system")."""

    terms: frozenset[str] = frozenset()
    phrases: frozenset[tuple[str, ...]] = frozenset()


@dataclass
class _Compiled:
    query: wq.Query
    highlight: Highlight
    words: tuple[str, ...]  # plain words typed, for spelling suggestions
    notices: tuple[str, ...]
    filters: dict[str, list[str]]  # filters given in the query text, for facet "selected"
    source: str | None = None  # the library key the whole query names, if it names one


class _Compiler:
    def __init__(self, ex: Expansions, meta: dict, notices: list[str]):
        self.ex = ex
        self.meta = meta
        self.notices = notices
        self.highlight: set[str] = set()
        self.phrases: set[tuple[str, ...]] = set()
        self.words: list[str] = []
        self.filters: dict[str, list[str]] = {}
        self.terms = 0

    def _budget(self, n: int) -> bool:
        self.terms += n
        if self.terms > MAX_TERMS:
            if not any(n.startswith("The query is long") for n in self.notices):
                self.notices.append(f"The query is long: only its first {MAX_TERMS} words were searched.")
            return False
        return True

    def node(self, node) -> wq.Query | None:
        if isinstance(node, Either):
            parts = [q for q in (self.node(o) for o in node.options) if q is not None]
            return wq.Or(parts) if parts else None
        if isinstance(node, Group):
            return self.group(node)
        if isinstance(node, Word):
            return self.run([node.text], strict=True)
        if isinstance(node, Phrase):
            return self.phrase(node.text)
        if isinstance(node, FieldFilter):
            return self.node_filter(node)
        if isinstance(node, FieldWords):
            return self.field_words(node.field, node.text)
        raise TypeError(node)

    def group(self, group: Group) -> wq.Query | None:
        musts: list[wq.Query] = []
        shoulds: list[wq.Query] = []
        nots: list[wq.Query] = []
        chosen: dict[str, list[str | None]] = {}
        run: list[str] = []

        def flush():
            if run:
                q = self.run(list(run))
                if q is not None:
                    shoulds.append(q)
                run.clear()

        for node, kind in group.clauses:
            if kind == "should" and isinstance(node, Word):
                run.append(node.text)
                continue
            if kind == "must" and isinstance(node, FieldFilter):
                # A filter narrows the words around it, exactly as the same facet does; it does
                # not split them (``care source:DH2011b protocols`` is ``care protocols``).
                chosen.setdefault(node.field, []).append(self.filter(node.field, node.value))
                continue
            flush()
            q = (
                self.run([node.text], strict=True, negated=True)
                if kind == "not" and isinstance(node, Word)
                else self.node(node)
            )
            if q is None:
                continue
            if isinstance(node, FieldFilter):
                q = wq.ConstantScoreQuery(q, 0.0)
            {"must": musts, "should": shoulds, "not": nots}[kind].append(q)
        flush()
        if musts:
            base = musts[0] if len(musts) == 1 else wq.And(musts)
            if shoulds:
                base = wq.AndMaybe(base, wq.Or(shoulds))
        elif shoulds:
            base = shoulds[0] if len(shoulds) == 1 else wq.Or(shoulds)
        elif nots:
            base = wq.Every()
        else:
            base = None
        if base is not None and nots:
            base = wq.AndNot(base, wq.Or(nots))
        return narrow(base, filter_query(chosen))

    def _word_query(self, plain: tuple[str, ...], joined: tuple[str, ...], fields) -> wq.Query | None:
        options = []
        for name in fields:
            weight = FIELD_WEIGHTS.get(name, 1.0)
            if len(plain) == 1:
                options.append(wq.Term(name, plain[0], boost=weight))
            elif plain:
                options.append(wq.Phrase(name, list(plain), boost=weight))
            for j in joined:
                options.append(wq.Term(name, j, boost=weight))
        if not options:
            return None
        return options[0] if len(options) == 1 else wq.Or(options)

    def _mark(self, plain: tuple[str, ...], joined: tuple[str, ...] = ()) -> None:
        # A word of several index terms ("co-production", a label) is marked where it stands whole.
        if len(plain) > 1:
            self.phrases.add(tuple(plain))
        else:
            self.highlight.update(plain)
        self.highlight.update(joined)

    def run(self, words: list[str], strict: bool = False, negated: bool = False) -> wq.Query | None:
        """Free words: each in the claim's own fields, concept expansions, a phrase bonus; the post
        title and section heading raise the rank of a claim that matches, and match nothing alone.

        ``strict`` (a word that must or must not match) is looked for in the claim text (and, if
        ``negated``, its heading) and expands to the concept's names only, not to every claim
        tagged with the concept, so AND and NOT keep their literal meaning.
        """
        analyzed = [(w, *tokens(w)) for w in words]
        content = [a for a in analyzed if a[1] or a[2]]
        if not content:
            if words:
                shown = [w if len(w) <= 40 else w[:39] + "…" for w in words[:6]]
                self.notices.append(
                    "Only common words (" + ", ".join(shown) + ") were given; add a more specific word."
                )
            return None
        kept = [a for a in content if a[0].lower() not in QUESTION_WORDS] or content
        clauses: list[wq.Query] = []
        context: list[wq.Query] = []
        positional: list[str] = []
        fields = NOT_FIELDS if negated else STRICT_FIELDS if strict else MATCH_FIELDS
        # What a claim must not match is only excluded: no rank to raise.
        context_fields = [] if negated else [name for name in CONTEXT_FIELDS if FIELD_WEIGHTS.get(name, 1.0)]
        for word, plain, joined in kept:
            if not self._budget(len(plain) + len(joined)):
                break
            self.words.append(word)
            if not negated:
                self._mark(plain, joined)
            clauses.append(self._word_query(plain, joined, fields))
            if context_fields:
                context.append(self._word_query(plain, joined, context_fields))
            positional.extend(plain)
        clauses.extend(self._expand(positional, tags=not strict))
        if len(positional) >= 2:
            # Words typed next to each other rank claims that keep them together higher.
            if PAIR_WEIGHT:
                clauses.extend(
                    wq.Phrase("text", positional[k : k + 2], boost=PAIR_WEIGHT) for k in range(len(positional) - 1)
                )
        own = clauses[0] if len(clauses) == 1 else wq.Or(clauses)
        if not context:
            return own
        return wq.AndMaybe(own, context[0] if len(context) == 1 else wq.Or(context))

    def _expand(self, toks: list[str], tags: bool = True) -> list[wq.Query]:
        extra = []
        for start, end, cids in self.ex.find(toks):
            typed = tuple(toks[start:end])
            for cid in sorted(cids):
                self._budget(1)
                if tags:
                    extra.append(wq.Term("concept", cid.lower(), boost=CONCEPT_TAG_WEIGHT))
                names = self.ex.labels.get(cid, [])
                if typed not in names:
                    continue  # a narrower phrase of the concept: tag it, but do not rename it
                for label in names:
                    if label == typed:
                        continue
                    self._mark(label)
                    weight = EXPANSION_WEIGHT / len(label)
                    extra.append(
                        wq.Term("text", label[0], boost=weight)
                        if len(label) == 1
                        else wq.Phrase("text", list(label), boost=weight)
                    )
        return extra

    def phrase(self, text: str) -> wq.Query | None:
        plain, _ = tokens(text)
        if not plain:
            self.notices.append(f'The phrase "{text}" has only common words, so it was left out.')
            return None
        if not self._budget(len(plain)):
            return None
        self.words.extend(text.split())
        self._mark(plain)
        # Quotes mean "these words, together, in the claim": no other fields, no expansion.
        return self._word_query(plain, (), ("text",))

    def field_words(self, name: str, text: str) -> wq.Query | None:
        plain, joined = tokens(text)
        if not plain and not joined:
            self.notices.append(f"{name}:{text} has only common words, so it was left out.")
            return None
        if name == "text":
            self._mark(plain, joined)
        return self._word_query(plain, joined, (name,))

    def filter(self, name: str, value: str) -> str | None:
        """Resolve a typed filter to the value the index holds (None, with a notice, if unknown)."""
        resolved = resolve_filter(name, value, self.meta, self.ex)
        if resolved is None:
            self.notices.append(f"No {name} called {value!r} is in the index, so nothing matches {name}:{value}.")
            return None
        self.filters.setdefault(name, []).append(resolved)
        return resolved

    def node_filter(self, node: FieldFilter) -> wq.Query:
        return filter_query({node.field: [self.filter(node.field, node.value)]})


def filter_query(chosen: Mapping[str, Iterable[str | None]]) -> wq.Query | None:
    """The query of chosen filter values, typed or from a facet: the values of one field OR-ed,
    the fields AND-ed; a value None (not in the index) matches nothing. None if nothing is chosen."""
    parts = []
    for name, values in chosen.items():
        options = [wq.NullQuery if value is None else wq.Term(name, value.lower()) for value in values]
        if options:
            parts.append(options[0] if len(options) == 1 else wq.Or(options))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)


def narrow(q: wq.Query | None, filters: wq.Query | None) -> wq.Query | None:
    """``q`` limited to the claims ``filters`` select, which add nothing to the score."""
    if filters is None:
        return q
    only = wq.ConstantScoreQuery(filters, 0.0)
    return only if q is None else wq.And([q, only])


def resolve_filter(name: str, value: str, meta: dict, ex: Expansions) -> str | None:
    """Map a filter value as a user writes it to the value the index holds, or None."""
    value = value.strip()
    key = fold(value)
    if name == "source":
        for source in meta.get("sources", {}):
            if fold(source) == key:
                return source
        return None
    if name == "concept":
        return ex.ids.get(key) or ex.ids.get(key.replace("-", " "))
    if name == "post":
        return value if value in meta.get("posts", {}) else None
    if name == "org":
        for oid, org in meta.get("orgs", {}).items():
            if key in {fold(oid), *(fold(a) for a in org.get("aliases", []))}:
                return oid
        return None
    if name == "year":
        return value if re.fullmatch(r"\d{4}", value) else None
    return None


# --- the searcher ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedClaims:
    """A list of claims as the index orders them (Searcher.listed_claims)."""

    total: int
    ids: list[str]  # this page's claim ids, in the order asked for
    tagged: dict[str, int]  # concept id -> how many of all the claims carry it (a concept's list only)


def check_claim_sort(sort: str) -> str:
    """Return ``sort`` if it names an order of CLAIM_SORTS; raise KGError (a bad parameter, 400) naming them."""
    if sort not in CLAIM_SORTS:
        raise KGError(f"cannot sort claims by {sort!r}", hint="sort by " + ", ".join(CLAIM_SORTS))
    return sort


class _State:
    """One opened version of the index: its Whoosh index, meta, expansions and caches."""

    def __init__(self, path: Path, concepts: Mapping[str, Concept] | None):
        meta_path = path / META_FILE
        try:
            self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SearchError(
                f"the search index at {path} has no readable {META_FILE}: {exc}", hint="rebuild it with `kg build`"
            ) from None
        if self.meta.get("schema_version") != SCHEMA_VERSION:
            raise SearchError(
                f"the search index at {path} was built by another version of kg", hint="rebuild it with `kg build`"
            )
        self.path = path
        # Read, not memory-mapped: Whoosh copies each sub-file of a mapped segment into memory
        # per reader, and every server thread has its own reader, so memory grew with the threads
        # (kg.ranking caches the posting lists it needs).
        self.ix = FileStorage(str(path), supports_mmap=False).open_index()
        labels = (
            _concepts_to_labels(concepts)
            if concepts is not None
            else {cid: (c["label"], c["labels"]) for cid, c in self.meta.get("concepts", {}).items()}
        )
        self.expansions = Expansions.from_labels(labels)
        self.weighting = BM25F(B=0.75, K1=K1, **{f"{name}_B": b for name, b in FIELD_B.items()})
        self.local = threading.local()
        self.lock = threading.Lock()
        self.cache: Cache[str, _Compiled] = Cache(QUERY_CACHE_SIZE)
        self._searchers: list = []
        self._searchers_lock = threading.Lock()
        self.postings = ranking.Postings(self.searcher())
        # Computed by Searcher.warm before kg serve forked this worker, if it was this version.
        self._facets: dict[str, FacetTable] | None = None
        self._listing: np.ndarray | None = None
        if path in _WARMED:
            self._facets, self._listing = _WARMED[path]
        self._ranks: dict[str, np.ndarray] = {}
        self._source_keys: dict[str, str] | None = None
        self._library: tuple[dict[str, Reference], OrganisationIndex] | None = None
        self._folded_keys: frozenset[str] | None = None

    def searcher(self):
        s = getattr(self.local, "searcher", None)
        if s is None:
            # Whoosh searchers keep per-reader caches, so each thread gets its own.
            s = self.ix.searcher(weighting=self.weighting)
            self.local.searcher = s
            with self._searchers_lock:  # not self.lock: facet_tables asks for a searcher holding it
                self._searchers.append(s)
        return s

    def __del__(self):
        # Collected only when no thread holds this version any more: its readers' files can close.
        for s in getattr(self, "_searchers", ()):
            try:
                s.close()
            except Exception:
                pass

    def compiled(self, text: str) -> _Compiled:
        return self.cache.get(text, lambda: self._compile(text), keep=len(text) <= QUERY_CACHE_TEXT_CHARS)

    def _compile(self, text: str) -> _Compiled:
        notices: list[str] = []
        tree = parse(text, notices)
        compiler = _Compiler(self.expansions, self.meta, notices)
        q = compiler.node(tree) or wq.NullQuery
        return _Compiled(
            q,
            Highlight(frozenset(compiler.highlight), frozenset(compiler.phrases)),
            tuple(compiler.words),
            tuple(notices),
            compiler.filters,
            self.named_source(text),
        )

    def library(self) -> tuple[dict[str, Reference], OrganisationIndex]:
        """The reference library and the organisation authority the index was built with."""
        if self._library is None:
            references = {
                key: Reference(key, entry.get("entry_type", "misc"), dict(entry.get("fields", {})))
                for key, entry in self.meta.get("references", {}).items()
            }
            try:
                organisations = OrganisationIndex(
                    Organisation(oid, org["name"], org.get("acronym"), tuple(org.get("alt_names", ())))
                    for oid, org in self.meta.get("orgs", {}).items()
                )
            except (KGError, KeyError, TypeError):  # the build checks the authority; never fail a search on it
                organisations = OrganisationIndex(())
            self._library = (references, organisations)
        return self._library

    def named_source(self, text: str) -> str | None:
        """The key of the source the whole query names (``DH2011b``, ``DH 2011b``, ``Department of
        Health 2011b``, a pasted citation), found by kg.citations' lookup; None otherwise."""
        references, organisations = self.library()
        if not references or len(text) > NAMED_SOURCE_CHARS:
            return None
        # A key or an author-year holds a year (keys follow the naming rule); only such queries,
        # and the keys outside the rule, are worth the lookup, whose misses rank close matches.
        if not any(ch.isdigit() for ch in text) and text.casefold() not in self.folded_keys():
            return None
        try:
            return parse_cite_query(text, references, organisations)
        except KGError:
            return None

    def folded_keys(self) -> frozenset[str]:
        if self._folded_keys is None:
            self._folded_keys = frozenset(key.casefold() for key in self.library()[0])
        return self._folded_keys

    def source_offer(self, key: str | None) -> dict | None:
        """The source a query names, as search results offer it: its key and a short label."""
        if key is None:
            return None
        return {"key": key, "label": source_label(key, self.library()[0])}

    def source_keys(self) -> dict[str, str]:
        """Each cited source's key by its lower-case form (the index keeps keys lower-cased)."""
        if self._source_keys is None:
            self._source_keys = {key.lower(): key for key in self.meta.get("sources", {})}
        return self._source_keys

    def facet_tables(self) -> dict[str, FacetTable]:
        """Each facet field's values with their claims, as arrays (kg.ranking.Postings.field_table)."""
        if self._facets is None:
            with self.lock:
                if self._facets is None:
                    searcher = self.searcher()
                    self._facets = {
                        name: FacetTable(*self.postings.field_table(searcher, name), self.postings.size)
                        for name in FILTER_FIELDS
                    }
        return self._facets

    def listing(self) -> np.ndarray:
        """Each claim's place in a list of claims (kg.index.listing_key order), by claim number."""
        if self._listing is None:
            with self.lock:
                if self._listing is None:
                    keys = self._column("order")
                    rank = np.empty(len(keys), dtype=np.int64)
                    rank[sorted(range(len(keys)), key=keys.__getitem__)] = np.arange(len(keys))
                    self._listing = rank
        return self._listing

    def _column(self, name: str) -> list[bytes]:
        """A column's value for every claim number (deleted claims' included)."""
        values: list[bytes] = [b""] * self.postings.size
        for leaf, offset in self.searcher().reader().leaf_readers():
            count = leaf.doc_count_all()
            values[offset : offset + count] = _column_values(leaf.column_reader(name, translate=False), count)
        return values

    def rank(self, sort: str) -> np.ndarray:
        """Each claim's place in a list of claims in order ``sort`` (CLAIM_SORTS), by claim number.

        Computed once per index version from the listing rank and the date column, so a list's
        order costs a gather of the claims it holds, not a sort in the graph per request.
        """
        check_claim_sort(sort)
        if sort == "post":
            return self.listing()
        if sort not in self._ranks:
            listing = self.listing()
            with self.lock:
                if sort not in self._ranks:
                    dates = self._column("date")
                    undated = np.fromiter((not d for d in dates), dtype=bool, count=len(dates))
                    # Each date's place among the distinct dates (ISO 8601 text sorts by time).
                    distinct = sorted(set(dates))
                    place = {d: i for i, d in enumerate(distinct)}
                    day = np.fromiter((place[d] for d in dates), dtype=np.int64, count=len(dates))
                    if sort == "newest":
                        day = -day
                    # np.lexsort sorts by the last key first: undated last, then the date, then post order.
                    order = np.lexsort((listing, day, undated))
                    rank = np.empty(len(order), dtype=np.int64)
                    rank[order] = np.arange(len(order))
                    self._ranks[sort] = rank
        return self._ranks[sort]


#: Each index version's facet tables and list order, as Searcher.warm computed them (by folder).
_WARMED: dict[Path, tuple[dict[str, FacetTable], np.ndarray]] = {}


def _column_values(reader: Any, count: int) -> list[bytes]:
    """The first ``count`` values of a segment's column, read in one piece where it can be.

    Whoosh's VarBytesColumn reader reads each value from the file on its own (a seek and a read
    per claim: 1.5 s for the 500,000 claims of 30,000 posts, on a concept page's first view).
    Its values lie end to end after the column's start, their lengths in an array it has
    already read, so one read and slices give the same values.
    """
    if isinstance(reader, VarBytesColumn.Reader):
        lengths = reader._lengths[:count]
        data = reader._dbfile.get(reader._basepos, sum(lengths))
        ends = list(itertools.accumulate(lengths))
        return [data[end - length : end] for end, length in zip(ends, lengths)]
    return list(reader)[:count]


class Searcher:
    """A reusable, thread-safe searcher over one index folder; reopens when a build swaps it."""

    def __init__(
        self,
        index_dir: str | Path,
        concepts: Mapping[str, Concept] | None = None,
        *,
        page_size: int = 20,
        max_query_chars: int = 10_000,
    ):
        self.index_dir = Path(index_dir)
        self.concepts = concepts
        self.page_size = page_size
        self.max_query_chars = max_query_chars
        self._lock = threading.Lock()
        self._state: _State | None = None

    def _current(self) -> _State:
        path = live_version(self.index_dir)
        if path is None or not (path / META_FILE).exists():
            raise SearchError(
                f"no search index at {self.index_dir}",
                hint="run `kg build` first, or pass --data DIR pointing at a built data directory",
            )
        state = self._state
        if state is None or state.path != path:
            with self._lock:
                state = self._state
                if state is None or state.path != path:
                    state = _State(path, self.concepts)
                    self._state = state
        return state

    def close(self) -> None:
        """Forget the opened index (each thread's Whoosh searcher is closed when collected)."""
        self._state = None

    def warm(self) -> None:
        """Open the live index and compute what its first search and first claim list compute
        (the facet tables, the list order), kept for the index version: kg serve does so before
        it forks its workers, which then share them and wait for neither (at 30,000 posts about
        a second each). The tables are arrays only: no open file of the index goes with them."""
        state = self._current()
        _WARMED.clear()  # one version's: the live one
        _WARMED[state.path] = (state.facet_tables(), state.listing())

    # -- searching --

    def clean(self, query: str) -> tuple[str, list[str]]:
        """Return the query without control characters, or raise if it is too long to search."""
        notices = []
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise SearchError(f"the query must be text, not {type(query).__name__}")
        if len(query) > self.max_query_chars:
            raise SearchError(
                f"the query is {len(query):,} characters long; the limit is {self.max_query_chars:,}",
                hint="search for a few distinctive words or a quoted phrase (the limit is the max_query_chars setting)",
            )
        cleaned = _CONTROL.sub(" ", unicodedata.normalize("NFC", query))
        if cleaned != unicodedata.normalize("NFC", query):
            notices.append("Control characters in the query were ignored.")
        return " ".join(cleaned.split()), notices

    def search(
        self,
        query: str,
        *,
        page: int = 1,
        limit: int | None = None,
        filters: Mapping[str, Any] | None = None,
        facets: bool = True,
        sort: str = "relevance",
    ) -> dict:
        """Search the claims; return the result JSON (see module docstring and README)."""
        if sort not in SORTS:
            raise SearchError(f"cannot sort a search by {sort!r}", hint="sort by " + " or ".join(SORTS))
        limit = self.page_size if limit is None else limit
        if not isinstance(page, int) or page < 1:
            raise SearchError(f"page must be a whole number from 1, not {page!r}", hint="use --page 1 or more")
        if not isinstance(limit, int) or limit < 1:
            raise SearchError(f"limit must be a whole number from 1, not {limit!r}", hint="use --limit 1 or more")
        limit = min(limit, MAX_LIMIT)
        text, notices = self.clean(query)
        state = self._current()
        filter_query, selected = self._filters(filters, state, notices)
        if not text and filter_query is None:
            return self._empty(text, page, notices + ["Type some words to search for, or choose a filter."])
        if text:
            compiled = state.compiled(text)
            # Facet filters narrow the query exactly as the same filters typed into it do.
            q = narrow(compiled.query, filter_query)
        else:
            compiled = _Compiled(wq.NullQuery, Highlight(), (), (), {})
            q = narrow(None, filter_query)
        notices.extend(compiled.notices)
        for name, values in compiled.filters.items():
            selected.setdefault(name, set()).update(values)
        s = state.searcher()
        # One evaluation ranks the page and marks every match (for the total and the facets).
        top, matched = ranking.run(s, state.postings, q, page * limit if sort == "relevance" else state.postings.size)
        if sort == "post":
            top = self._in_post_order(state, top)
        total = int(matched.sum())
        pages = math.ceil(total / limit)
        if page > max(pages, 1):
            raise PastLastPage(page, pages, total, limit)
        start = (page - 1) * limit
        results = [
            self._render(s, docnum, score, compiled.highlight, state.meta)
            for score, docnum in top[start : start + limit]
        ]
        suggestion = self._suggest(s, state, text, compiled) if compiled.words else None
        return {
            "query": text,
            "total": total,
            "page": page,
            "pages": pages,
            "limit": limit,
            "results": results,
            "facets": self._facets(state, matched, selected) if facets else {},
            "suggestion": suggestion,
            "source": state.source_offer(compiled.source),
            "notice": " ".join(dict.fromkeys(notices)) or None,
        }

    def listed_claims(
        self, field: str | None, values: Iterable[str], page: int, limit: int, sort: str = "post"
    ) -> ListedClaims:
        """The claims whose ``field`` (concept, source or post) holds any of ``values`` (every claim
        when ``field`` is None): how many, page ``page`` of their ids in order ``sort``
        (CLAIM_SORTS; ``limit`` a page), and for a concept's list how many of them each concept is
        tagged on. Read from the index's postings and its rank arrays, so the cost grows with the
        list's claims, not with a sort of them in the graph."""
        state = self._current()
        rank = state.rank(sort)
        if field is None:
            matched = state.postings.live.copy()
        else:
            table = state.facet_tables()[field]
            wanted = np.zeros(len(table.values), dtype=bool)
            for value in values:
                if value.lower() in table.number_of:
                    wanted[table.number_of[value.lower()]] = True
            matched = np.zeros(state.postings.size, dtype=bool)
            matched[table.claims[wanted[table.numbers]]] = True
            matched &= state.postings.live
        found = np.flatnonzero(matched)
        start = (page - 1) * limit
        if start >= len(found):
            chosen = found[:0]
        elif start + limit < len(found):
            # Only this page's claims are put in order: the rest are only known to come after.
            ranks = rank[found]
            cut = np.argpartition(ranks, start + limit - 1)[: start + limit]
            chosen = found[cut[np.argsort(ranks[cut], kind="stable")]][start:]
        else:
            chosen = found[np.argsort(rank[found], kind="stable")][start:]
        s = state.searcher()
        ids = [s.stored_fields(int(docnum))["id"] for docnum in chosen]
        tagged: dict[str, int] = {}
        if field == "concept":
            counts = table.counts(matched, found)
            original = {cid.lower(): cid for cid in state.meta.get("concepts", {})}
            tagged = {original.get(table.values[i], table.values[i]): int(counts[i]) for i in np.flatnonzero(counts)}
        return ListedClaims(total=len(found), ids=ids, tagged=tagged)

    def concept_claims(self, concept_ids: Iterable[str], page: int, limit: int, sort: str = "post") -> ListedClaims:
        """The claims tagged with any of ``concept_ids`` (a concept and those below it), as listed_claims lists them."""
        return self.listed_claims("concept", concept_ids, page, limit, sort)

    @staticmethod
    def _in_post_order(state: _State, ranked: list[tuple[float, int]]) -> list[tuple[float, int]]:
        """Order ranked claims as lists of claims are ordered (kg.index.listing_key: by their post's
        title, then their place in the post), as a concept's page lists them."""
        ids = np.fromiter((docnum for _, docnum in ranked), dtype=np.int64, count=len(ranked))
        return [ranked[i] for i in np.argsort(state.listing()[ids], kind="stable")]

    def _empty(self, text: str, page: int, notices: list[str]) -> dict:
        return {
            "query": text,
            "total": 0,
            "page": page,
            "pages": 0,
            "limit": self.page_size,
            "results": [],
            "facets": {plural: [] for _, plural in FACET_GROUPS},
            "suggestion": None,
            "source": None,
            "notice": " ".join(dict.fromkeys(notices)) or None,
        }

    def _filters(self, filters: Mapping[str, Any] | None, state: _State, notices: list[str]):
        if not filters:
            return None, {}
        chosen: dict[str, list[str | None]] = {}
        selected: dict[str, set[str]] = {}
        for name, values in filters.items():
            key = FIELD_ALIASES.get(name, name)
            key = {"sources": "source", "concepts": "concept", "posts": "post", "orgs": "org", "years": "year"}.get(
                key, key
            )
            if key not in FILTER_FIELDS:
                raise SearchError(f"unknown filter {name!r}", hint=f"filters are {', '.join(FILTER_FIELDS)}")
            values = [values] if isinstance(values, str) else list(values or [])
            for value in values:
                resolved = resolve_filter(key, str(value), state.meta, state.expansions)
                if resolved is None:
                    notices.append(f"No {key} called {value!r} is in the index, so nothing matches that filter.")
                else:
                    selected.setdefault(key, set()).add(resolved)
                chosen.setdefault(key, []).append(resolved)
        return filter_query(chosen), selected

    def _render(self, s, docnum: int, score: float | None, highlight: Highlight, meta: dict) -> dict:
        stored = s.stored_fields(docnum)
        labels = meta.get("reference_labels", {})
        doc = json.loads(stored["doc"])
        marks = highlight_marks(doc["text"], highlight.terms, highlight.phrases)  # once: both forms draw on it
        return {
            "id": stored["id"],
            "text": doc["text"],
            "highlight": marked_html(doc["text"], marks),
            "marks": [list(span) for span in marks],
            "score": round(float(score or 0.0), 4),
            "post": doc["post"],
            "section": doc.get("section"),
            # Each citation with its source's reference as every reader shows it (None if unresolved).
            "citations": [
                {**c, "label": labels.get(c["key"], c["key"]) if c.get("key") else None}
                for c in doc.get("citations", [])
            ],
            "concepts": doc.get("concepts", []),
        }

    def _facets(self, state: _State, matched, selected: dict[str, set[str]]) -> dict:
        meta = state.meta
        out = {}
        tables = state.facet_tables()
        found = np.flatnonzero(matched)
        for name, plural in FACET_GROUPS:
            table = tables[name]
            counts = table.counts(matched, found)
            chosen = {table.number_of[v.lower()] for v in selected.get(name, ()) if v.lower() in table.number_of}
            shown = _top_rows(counts, FACET_LIMIT)
            shown += sorted(chosen - set(shown), key=lambda i: (-counts[i], i))
            out[plural] = [
                self._facet_row(name, table.values[i], int(counts[i]), meta, state, i in chosen) for i in shown
            ]
        return out

    @staticmethod
    def _facet_row(name: str, value: str, count: int, meta: dict, state: _State, selected: bool) -> dict:
        if name == "source":
            key = state.source_keys().get(value, value)
            return {"value": key, "label": meta["sources"].get(key, key), "count": count, "selected": selected}
        if name == "concept":
            return {
                "value": value,
                "label": state.expansions.pref.get(value, value),
                "count": count,
                "selected": selected,
            }
        if name == "post":
            return {
                "value": value,
                "label": meta.get("posts", {}).get(value, value),
                "count": count,
                "selected": selected,
            }
        if name == "year":  # the year a cited source was published
            return {"value": value, "label": value, "count": count, "selected": selected}
        org = meta.get("orgs", {}).get(value, {})
        label = org.get("name", value)
        if org.get("acronym"):
            label = f"{label} ({org['acronym']})"
        return {"value": value, "label": label, "count": count, "selected": selected}

    def _suggest(self, s, state: _State, text: str, compiled: _Compiled) -> str | None:
        reader = s.reader()
        corrector = None
        suggestion = text
        changed = False
        for word in compiled.words:
            plain, joined = tokens(word)
            toks = plain + joined
            if not toks or any(reader.doc_frequency(f, t) for t in toks for f in ("text", "title")):
                continue
            if tuple(plain) in state.expansions.by_tokens or not word.isalpha() or len(word) > MAX_SUGGEST_CHARS:
                continue
            corrector = corrector or s.corrector("text")
            lower = uk_spelling(word.lower())
            options = corrector.suggest(lower, limit=1, maxdist=1 if len(lower) <= 5 else 2, prefix=1)
            if options and options[0] != lower:
                suggestion = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", options[0], suggestion, count=1)
                changed = True
        return suggestion if changed else None

    # -- more like this --

    def more_like_this(self, claim_id: str, limit: int = 10) -> dict:
        """Return the claims most like one claim: its distinctive words, concepts and sources."""
        state = self._current()
        s = state.searcher()
        docnum = s.document_number(id=claim_id)
        if docnum is None:
            raise NotFound(
                f"no claim {claim_id!r} in the search index",
                hint="use a claim id from a search result, or rebuild with `kg build`",
            )
        stored = s.stored_fields(docnum)
        doc = json.loads(stored["doc"])
        # Citations say who is cited, not what the claim is about: their words would dominate.
        words = _CITATION_PARENS.sub(" ", doc["text"])
        keywords = s.key_terms_from_text("text", words, numterms=8, normalize=True)
        clauses = [wq.Term("text", word, boost=weight) for word, weight in keywords]
        clauses += [wq.Term("concept", c["id"].lower(), boost=CONCEPT_TAG_WEIGHT) for c in doc.get("concepts", [])]
        clauses += [wq.Term("source", c["key"].lower(), boost=0.3) for c in doc.get("citations", []) if c.get("key")]
        # Claims under the same heading of the same post argue the same point.
        if doc.get("section"):
            section = tokens(doc["section"])[0]
            if section:
                same = wq.And(
                    [
                        wq.Term("post", doc["post"]["id"].lower()),
                        wq.Phrase("section", list(section)) if len(section) > 1 else wq.Term("section", section[0]),
                    ]
                )
                clauses.append(wq.ConstantScoreQuery(same, MLT_SAME_SECTION))
        claim = self._render(s, docnum, None, Highlight(), state.meta)
        if not clauses:
            return {"claim": claim, "total": 0, "results": []}
        q = wq.AndNot(wq.Or(clauses), wq.Term("id", claim_id))
        top, matched = ranking.run(s, state.postings, q, limit)
        highlight = Highlight(frozenset(word for word, _ in keywords))
        return {
            "claim": claim,
            "total": int(matched.sum()),
            "results": [self._render(s, docnum, score, highlight, state.meta) for score, docnum in top],
        }


class FacetTable:
    """One facet field's values and the claims holding each, as arrays, kept in two orders: by
    value (``claims`` and their value ``numbers``: one gather over every posting counts a broad
    match) and by claim (a few matches are counted from their own postings alone)."""

    __slots__ = ("_by_claim", "_starts", "claims", "number_of", "numbers", "values")

    def __init__(self, values: list[str], claims: np.ndarray, numbers: np.ndarray, size: int):
        self.values = values
        self.claims = claims
        self.numbers = numbers
        self.number_of = {v: i for i, v in enumerate(values)}
        order = np.argsort(claims, kind="stable")
        self._by_claim = numbers[order]
        self._starts = np.searchsorted(claims[order], np.arange(size + 1))

    def counts(self, matched: np.ndarray, found: np.ndarray) -> np.ndarray:
        """How many matched claims hold each value: ``matched`` is the mask over every claim,
        ``found`` the same claims' numbers (np.flatnonzero(matched))."""
        if 2 * len(found) >= len(self.claims):
            return np.bincount(self.numbers[matched[self.claims]], minlength=len(self.values))
        ends = self._starts[found + 1]
        lengths = ends - self._starts[found]
        # Each found claim's run of postings, end to end: run i is starts[i] .. ends[i] - 1.
        at = np.repeat(ends - np.cumsum(lengths), lengths) + np.arange(int(lengths.sum()))
        return np.bincount(self._by_claim[at], minlength=len(self.values))


def _top_rows(counts, limit: int) -> list[int]:
    """The numbers of the ``limit`` largest non-zero counts, count down, then number (= value) up."""
    rows = np.flatnonzero(counts)
    if len(rows) > limit:
        found = counts[rows]
        rows = rows[found >= np.partition(found, len(found) - limit)[len(found) - limit]]
    return rows[np.lexsort((rows, -counts[rows]))][:limit].tolist()


@functools.lru_cache(maxsize=4096)
def _term_spans(text: str) -> tuple[tuple[str, int, int, int], ...]:
    """Each index term of the text with its characters and position (a shown claim is analysed
    once, not per query); a joined hyphen form shares the position of the word's last part."""
    return tuple(
        (t.text, t.startchar, t.endchar, t.pos) for t in _ANALYZER(text, chars=True, positions=True, mode="query")
    )


def highlight_spans(
    text: str, terms: Iterable[str] = (), phrases: Iterable[tuple[str, ...]] = ()
) -> list[tuple[int, int]]:
    """Return the (start, end) characters of the words to mark: each of ``terms`` wherever it
    stands, and the words of each phrase only where the whole phrase stands, term after term."""
    terms, phrases = set(terms), set(phrases)
    found = _term_spans(text)
    spans = [(start, end) for term, start, end, _ in found if term in terms]
    if phrases:
        at: dict[int, dict[str, tuple[int, int]]] = {}
        for term, start, end, pos in found:
            at.setdefault(pos, {}).setdefault(term, (start, end))
        for phrase in phrases:
            for pos, here in at.items():
                if phrase[0] not in here:
                    continue
                words = [at.get(pos + i, {}).get(term) for i, term in enumerate(phrase)]
                if all(words):
                    spans.extend(words)  # type: ignore[arg-type]
    return sorted(set(spans))


def highlight_marks(
    text: str, terms: Iterable[str] = (), phrases: Iterable[tuple[str, ...]] = ()
) -> list[tuple[int, int]]:
    """Return the (start, end) characters to mark in ``text``, overlapping spans merged.

    The structure every renderer draws from (the templates, the CLI, ``highlight_html``); only
    the first HIGHLIGHT_CHARS characters are searched for words to mark.
    """
    terms, phrases = frozenset(terms), frozenset(phrases)
    if not terms and not phrases:
        return []
    merged: list[list[int]] = []
    for start, end in highlight_spans(text[:HIGHLIGHT_CHARS], terms, phrases):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def marked_pieces(text: str, marks: Iterable[Iterable[int]]) -> list[tuple[str, bool]]:
    """Cut ``text`` at ``marks`` into (piece, marked) pairs, in order, for a renderer to style."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for start, end in marks:
        if start > last:
            pieces.append((text[last:start], False))
        pieces.append((text[start:end], True))
        last = end
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def marked_html(text: str, marks: Iterable[Iterable[int]]) -> str:
    """Return ``text`` HTML-escaped, with <mark> around each of ``marks``."""
    return "".join(
        f"<mark>{html.escape(piece, quote=False)}</mark>" if marked else html.escape(piece, quote=False)
        for piece, marked in marked_pieces(text, marks)
    )


def highlight_html(text: str, terms: Iterable[str] = (), phrases: Iterable[tuple[str, ...]] = ()) -> str:
    """Return the text HTML-escaped, with <mark> around the words highlight_marks finds."""
    return marked_html(text, highlight_marks(text, terms, phrases))


# --- module-level entry points ---------------------------------------------------------------

_SEARCHERS: dict[tuple[str, int, int], Searcher] = {}
_SEARCHERS_LOCK = threading.Lock()


def searcher_for(settings: Settings) -> Searcher:
    """Return the cached Searcher of the settings' index folder (one per folder and limits)."""
    key = (os.path.abspath(settings.index_dir), settings.search_page_size, settings.max_query_chars)
    with _SEARCHERS_LOCK:
        searcher = _SEARCHERS.get(key)
        if searcher is None:
            searcher = Searcher(
                settings.index_dir, page_size=settings.search_page_size, max_query_chars=settings.max_query_chars
            )
            _SEARCHERS[key] = searcher
    return searcher


def search(
    settings: Settings,
    query: str,
    *,
    page: int = 1,
    limit: int | None = None,
    filters: Mapping[str, Any] | None = None,
    sort: str = "relevance",
) -> dict:
    """Search the built index of ``settings.data_dir``; return the result JSON, with the links of its pages."""
    found = searcher_for(settings).search(query, page=page, limit=limit, filters=filters, sort=sort)
    params = [("q", query)] if query else []
    for name, values in (filters or {}).items():
        params += [(name, str(v)) for v in ([values] if isinstance(values, str) else values)]
    params.append(("limit", str(found["limit"])))
    if sort != "relevance":
        params.append(("sort", sort))
    found["links"] = page_links("/api/search", params, found["page"], found["pages"])
    return found


def more_like_this(settings: Settings, claim_id: str, limit: int = 10) -> dict:
    """Return the claims most like ``claim_id`` (``{"claim", "total", "results"}``)."""
    return searcher_for(settings).more_like_this(claim_id, limit)
