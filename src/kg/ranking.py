"""Evaluate a Whoosh query over posting lists held as numpy arrays: which claims match, and their scores.

Whoosh matches and scores one document at a time in Python: in a big corpus a query of common
words ("mental health spending") visits most claims through a tree of matchers and takes
seconds (bench/RESULTS-search.md). Here each term's posting list is read once into arrays (kept in a
bounded cache), and a query is evaluated with whole-array operations: a boolean mask of the
matching claims and a float array of their scores.

The scores are Whoosh's own: BM25F with the searcher's idf and average field lengths, the
field lengths as Whoosh stores them (one byte, logarithmic), the boosts of every query node,
sums over an OR and an AND, constant scores for filters. tests/test_ranking.py checks the
ranking against Whoosh's collector on the project's corpus. A phrase of two words is one
posting list of the index's ``pairs`` field (kg.index.PairsField); a longer phrase is checked
with Whoosh's own phrase matcher on the claims that hold all of its pairs, and a phrase in a
field without pairs is found by that matcher; either is remembered per index version. A query
node this module does not know is evaluated by Whoosh's matcher, so nothing is ever left out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
from whoosh import matching
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching.wrappers import FilterMatcher
from whoosh.util.numeric import byte_to_length

from .cache import Cache
from .index import PAIRED_FIELDS

#: The field that holds "<field> <a> <b>" for every two adjacent terms (kg.index.PairsField).
PAIRS_FIELD = "pairs"
#: Decoded posting lists kept in memory, in bytes (ids and weights, 12 bytes a posting): room
#: for the lists of many common words at once.
POSTINGS_CACHE_BYTES = 96 * 1024 * 1024
#: Phrases whose matching claims are remembered (each a sorted array of claim numbers): those of
#: three words or more, and those in fields without pairs.
PHRASE_CACHE_SIZE = 2048
#: A scored term's claims and BM25F scores kept in memory, in bytes (16 bytes a posting): a term's
#: scores at boost 1 are fixed for an index version, so a word asked for again is not scored again
#: (Whoosh's scorer looks the term's statistics up on disk each time: a sixth of a search's time).
SCORED_CACHE_BYTES = 48 * 1024 * 1024

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


class Postings:
    """The posting lists of one opened index version, read into arrays on first use and cached.

    Claim numbers are the index's global document numbers. Thread-safe: the cache is shared,
    and each call reads through the calling thread's own Whoosh searcher.
    """

    def __init__(self, searcher, max_bytes: int = POSTINGS_CACHE_BYTES):
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.live = np.ones(self.size, dtype=bool)
        for leaf, offset in reader.leaf_readers():
            if leaf.has_deletions():
                self.live[np.fromiter(leaf.deleted_docs_set, dtype=np.int64) + offset] = False
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._terms: Cache[tuple[str, str], tuple[np.ndarray, np.ndarray]] = Cache(
            max_bytes, getsizeof=lambda found: found[0].nbytes + found[1].nbytes
        )
        self._lengths: dict[str, np.ndarray] = {}
        self._phrases: Cache[tuple[str, tuple[str, ...]], np.ndarray] = Cache(PHRASE_CACHE_SIZE)
        self._scored: Cache[tuple[str, str], tuple[np.ndarray, np.ndarray]] = Cache(
            SCORED_CACHE_BYTES, getsizeof=lambda found: found[0].nbytes + found[1].nbytes
        )

    def term(self, searcher, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (sorted claim numbers, weights) of one term; empty arrays if it is not indexed."""
        return self._terms.get((field, text), lambda: self._read(searcher, field, text))

    @staticmethod
    def _read(searcher, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        btext = searcher.schema[field].to_bytes(text)
        ids, weights = [], []
        for leaf, offset in searcher.reader().leaf_readers():
            if (field, btext) in leaf:
                leaf_ids, leaf_weights = Postings._read_leaf(leaf, offset, field, btext)
                ids.append(leaf_ids)
                weights.append(leaf_weights)
        if not ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        return np.concatenate(ids), np.concatenate(weights).astype(np.float64)

    @staticmethod
    def _read_leaf(leaf, offset: int, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        return Postings._read_matcher(leaf.postings(field, btext), offset)

    @staticmethod
    def _read_matcher(m, offset: int) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(m, FilterMatcher):
            m = m.child  # deleted claims are masked out at the end, with Postings.live
        ids, weights = [], []
        if isinstance(m, W3LeafMatcher):
            # Whole blocks at a time: the block's ids and its float32 weights as stored.
            while m.is_active():
                m._read_data()
                raw = np.asarray(m._data[0], dtype=np.int64)
                # Whoosh stores a block's ids as gaps (its delta_decode is a Python loop).
                ids.append(raw if m._byteids else np.cumsum(raw))
                m._read_weights()
                weights.append(np.asarray(m._weights, dtype=np.float32))
                m._next_block()
        else:
            one_ids, one_weights = [], []
            while m.is_active():
                one_ids.append(m.id())
                one_weights.append(m.weight())
                m.next()
            ids.append(np.asarray(one_ids, dtype=np.int64))
            weights.append(np.asarray(one_weights, dtype=np.float32))
        if not ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        return np.concatenate(ids) + offset, np.concatenate(weights)

    def lengths(self, searcher, field: str) -> np.ndarray:
        """Return every claim's length in ``field`` as Whoosh's scorer sees it (decoded from a byte)."""
        found = self._lengths.get(field)
        if found is None:
            found = np.zeros(self.size, dtype=np.float64)
            for leaf, offset in searcher.reader().leaf_readers():
                column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
                if column is None:
                    continue
                count = min(column._count, leaf.doc_count_all())
                raw = np.frombuffer(column._dbfile.get(column._basepos, count), dtype=np.uint8)
                found[offset : offset + count] = _LENGTH_OF_BYTE[raw]
            self._lengths[field] = found
        return found

    def field_table(self, searcher, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Return every term of a keyword field with its claims: (terms, claim numbers, term numbers).

        ``np.bincount(term_numbers[mask[claims]])`` then counts the matches of every term at once.
        """
        ids_of: dict[str, list[np.ndarray]] = {}
        for leaf, offset in searcher.reader().leaf_readers():
            leaf_terms, format_ = getattr(leaf, "_terms", None), searcher.schema[field].format
            for term, info in leaf.iter_field(field):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                btext = term if isinstance(term, bytes) else term.encode("utf-8")
                if leaf_terms is not None and hasattr(leaf_terms, "_codec") and hasattr(leaf_terms, "_postfile"):
                    # The term info is in hand: open its postings without looking the term up again
                    # (a field of many terms, such as the post ids, is read much faster).
                    m = leaf_terms._codec.postings_reader(leaf_terms._postfile, info, format_, term=(field, btext))
                    ids, _weights = self._read_matcher(m, offset)
                else:
                    ids, _weights = self._read_leaf(leaf, offset, field, btext)
                ids_of.setdefault(text, []).append(ids)
        terms = sorted(ids_of)
        claims = [np.concatenate(ids_of[t]) for t in terms]
        numbers = [np.full(len(c), i, dtype=np.int32) for i, c in enumerate(claims)]
        if not terms:
            return terms, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
        return terms, np.concatenate(claims), np.concatenate(numbers)

    def phrase(self, key: tuple[str, tuple[str, ...]], compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Return the remembered claims of a long phrase, computing them on first use."""
        return self._phrases.get(key, compute)

    def scored(
        self, key: tuple[str, str], compute: Callable[[], tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the remembered (claims, scores) of a term, computing them on first use. The
        arrays are shared between queries and threads, so they are made read-only."""

        def frozen() -> tuple[np.ndarray, np.ndarray]:
            ids, scores = compute()
            ids.flags.writeable = scores.flags.writeable = False
            return ids, scores

        return self._scored.get(key, frozen)


class _Result:
    """A query node's answer over every claim: a mask of the matches and their scores (0 elsewhere)."""

    __slots__ = ("mask", "scores")

    def __init__(self, mask: np.ndarray, scores: np.ndarray):
        self.mask = mask
        self.scores = scores


class _Sparse:
    """A query node's answer as its matching claims (sorted, unique) and their scores: a leaf's
    posting list stays this small until an OR adds it into a dense answer."""

    __slots__ = ("ids", "scores")

    def __init__(self, ids: np.ndarray, scores: np.ndarray):
        self.ids = ids
        self.scores = scores


#: Any query node's answer: dense over every claim, or sparse as its matching claims.
_Answer = _Result | _Sparse


class Evaluator:
    """Evaluate one query against one searcher's index with the shared Postings."""

    def __init__(self, searcher, postings: Postings):
        self.searcher = searcher
        self.postings = postings
        self.size = postings.size
        self.schema = searcher.schema

    # -- leaves --

    def _empty(self) -> _Result:
        return _Result(np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float64))

    def _sparse(self, ids: np.ndarray, scores: np.ndarray) -> _Sparse:
        return _Sparse(ids, scores)

    def dense(self, result: _Answer) -> _Result:
        """Return the answer as a mask and scores over every claim."""
        if isinstance(result, _Result):
            return result
        dense = self._empty()
        dense.mask[result.ids] = True
        dense.scores[result.ids] = result.scores
        return dense

    def term_scores(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (claims, Whoosh's score of the term in each) for one term, boost 1 (read-only arrays)."""
        if not self.schema[field].scorable:
            return self.postings.term(self.searcher, field, text)  # Whoosh's WeightScorer: the posting's weight
        return self.postings.scored((field, text), lambda: self._bm25(field, text))

    def _bm25(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, weights = self.postings.term(self.searcher, field, text)
        if not len(ids):
            return ids, weights.astype(np.float64)
        scorer = self.searcher.weighting.scorer(self.searcher, field, self.schema[field].to_bytes(text))
        lengths = self.postings.lengths(self.searcher, field)[ids]
        idf, avgfl, b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        # kg.search uses BM25F; whoosh.scoring.bm25 term by term, in the same order of operations.
        return ids, idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))

    def _term(self, q: wq.Term) -> _Answer:
        if q.fieldname not in self.schema:
            return self._empty()
        ids, scores = self.term_scores(q.fieldname, q.text)
        return self._sparse(ids, scores * q.boost if q.boost != 1.0 else scores)

    def _phrase(self, q: wq.Phrase) -> _Answer:
        field, words = q.fieldname, list(q.words)
        if field not in self.schema or PAIRS_FIELD not in self.schema or q.slop != 1 or not words:
            return self._whoosh(q)
        if len(words) == 1:
            return self._term(wq.Term(field, words[0], boost=q.boost))
        parts = [self.term_scores(field, w) for w in words]
        if any(not len(ids) for ids, _ in parts):
            return self._null(q)  # as Whoosh: a word missing from the field matches nothing
        ids = self.phrase_claims(field, tuple(words))
        # Whoosh scores a phrase as the sum of its words' scores (a tree of intersections).
        scores = [term_scores[np.searchsorted(term_ids, ids)] for term_ids, term_scores in parts]
        total = _tree_sum(scores)
        return self._sparse(ids, total * q.boost if q.boost != 1.0 else total)

    def phrase_claims(self, field: str, words: tuple[str, ...]) -> np.ndarray:
        """Return the sorted claims where ``words`` stand together in ``field``."""
        if field not in PAIRED_FIELDS:
            # No pairs indexed for this field: Whoosh's phrase matcher finds the claims, once per
            # index version (a phrase of concept labels such as "micro enterpris" is slow to match).
            return self.postings.phrase((field, words), lambda: self._whoosh(wq.Phrase(field, list(words))).ids)
        pairs = [
            self.postings.term(self.searcher, PAIRS_FIELD, f"{field} {a} {b}")[0] for a, b in zip(words, words[1:])
        ]
        ids = pairs[0]
        for more in pairs[1:]:
            ids = np.intersect1d(ids, more, assume_unique=True)
        if len(words) == 2 or not len(ids):
            return ids
        # Every pair present does not make the phrase ("adult social" here, "social care" there).
        return self.postings.phrase((field, words), lambda: self._verify(field, words, ids))

    def _verify(self, field: str, words: tuple[str, ...], candidates: np.ndarray) -> np.ndarray:
        m = wq.Phrase(field, list(words)).matcher(self.searcher)
        while not hasattr(m, "_get_spans") and isinstance(m, matching.WrappingMatcher):
            m = m.child
        if not hasattr(m, "_get_spans"):  # not Whoosh's span matcher: let it find the claims itself
            return np.intersect1d(self._whoosh(wq.Phrase(field, list(words))).ids, candidates)
        inner = m.child  # the intersection of the words' postings; _get_spans checks positions there
        found = []
        for docnum in candidates.tolist():
            if not inner.is_active():
                break
            inner.skip_to(docnum)
            if inner.is_active() and inner.id() == docnum and m._get_spans():
                found.append(docnum)
        return np.asarray(found, dtype=np.int64)

    # -- compounds --

    def evaluate(self, q: wq.Query) -> _Answer:
        """Return the mask and scores of ``q`` (deleted claims not yet removed)."""
        handler = _HANDLERS.get(type(q))
        return handler(self, q) if handler else self._whoosh(q)

    def _or(self, q: wq.Or) -> _Answer:
        if q.scale or q.minmatch:
            return self._whoosh(q)
        total = self._empty()
        mask, scores = total.mask, total.scores
        for sub in q.subqueries:
            part = self.evaluate(sub)
            if isinstance(part, _Sparse):
                mask[part.ids] = True
                scores[part.ids] += part.scores
            else:
                mask |= part.mask
                scores += part.scores
        if q.boost != 1.0:
            scores *= q.boost
        return total

    def _and(self, q: wq.And) -> _Result:
        parts = [self.dense(self.evaluate(sub)) for sub in q.subqueries]
        if not parts:
            return self._empty()
        mask = parts[0].mask.copy()
        for part in parts[1:]:
            mask &= part.mask
        scores = _tree_sum([part.scores for part in parts]) * mask
        return _Result(mask, scores * q.boost if q.boost != 1.0 else scores)

    def _and_maybe(self, q: wq.AndMaybe) -> _Result:
        required, optional = self.dense(self.evaluate(q.a)), self.dense(self.evaluate(q.b))
        scores = required.scores + optional.scores * required.mask
        return _Result(required.mask, scores * q.boost if q.boost != 1.0 else scores)

    def _and_not(self, q: wq.AndNot) -> _Result:
        positive, negative = self.dense(self.evaluate(q.a)), self.dense(self.evaluate(q.b))
        mask = positive.mask & ~negative.mask
        scores = positive.scores * mask
        return _Result(mask, scores * q.boost if q.boost != 1.0 else scores)

    def _constant(self, q: wq.ConstantScoreQuery) -> _Answer:
        inner = self.evaluate(q.child)
        if isinstance(inner, _Sparse):
            return _Sparse(inner.ids, np.full(len(inner.ids), float(q.score)))
        return _Result(inner.mask, inner.mask * float(q.score))

    def _every(self, q: wq.Every) -> _Answer:
        if q.fieldname not in (None, "", "*"):
            return self._whoosh(q)
        return _Result(self.postings.live.copy(), np.full(self.size, float(q.boost)))

    def _null(self, q) -> _Sparse:
        return _Sparse(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))

    def _whoosh(self, q: wq.Query) -> _Sparse:
        """Any other query: Whoosh's own matcher, one claim at a time."""
        ids, scores = [], []
        m = q.matcher(self.searcher, self.searcher.context())
        while m.is_active():
            ids.append(m.id())
            scores.append(m.score())
            m.next()
        return self._sparse(np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float64))


def _tree_sum(arrays: list[np.ndarray]) -> np.ndarray:
    """Sum arrays pairwise in halves, as Whoosh's binary matcher trees add their children's scores."""
    if len(arrays) == 1:
        return arrays[0]
    half = len(arrays) // 2
    return _tree_sum(arrays[:half]) + _tree_sum(arrays[half:])


_HANDLERS: dict[type, Callable[[Evaluator, wq.Query], _Answer]] = {
    wq.Term: Evaluator._term,
    wq.Phrase: Evaluator._phrase,
    wq.Or: Evaluator._or,
    wq.And: Evaluator._and,
    wq.AndMaybe: Evaluator._and_maybe,
    wq.AndNot: Evaluator._and_not,
    wq.ConstantScoreQuery: Evaluator._constant,
    wq.Every: Evaluator._every,
    type(wq.NullQuery): Evaluator._null,
}


def run(searcher, postings: Postings, q: wq.Query, top: int) -> tuple[list[tuple[float, int]], np.ndarray]:
    """Evaluate ``q``; return the best ``top`` as (score, claim) and the mask of every match.

    Ties are broken by claim number, lowest first, as Whoosh's collector does.
    """
    result = Evaluator(searcher, postings).evaluate(q)
    if isinstance(result, _Sparse):
        keep = postings.live[result.ids]
        ids, scores = result.ids[keep], result.scores[keep]
        mask = np.zeros(postings.size, dtype=bool)
        mask[ids] = True
    else:
        mask = result.mask & postings.live
        ids = np.flatnonzero(mask)
        scores = result.scores[ids]
    if len(ids) > top:
        # The top scores by value, then every claim tied with the last of them (lowest first).
        threshold = np.partition(scores, len(scores) - top)[len(scores) - top]
        keep = scores >= threshold
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:top]
    return [(float(scores[i]), int(ids[i])) for i in order], mask
