"""Search the claim index: understand the query, rank with BM25F, highlight, count facets, suggest.

A query is free text with "quoted phrases", AND/OR/NOT (or a leading ``-``), parentheses and
field filters (``source:DH2011b``, ``concept:payment-by-results``, ``post:<id>``, ``org:ADASS``,
``year:2011``, ``title:``/``section:`` words). Free text is expanded through the concept labels
(an acronym finds its expansion and back; a variant spelling finds the other), the expansions
weighted below the words typed. Syntax a user gets wrong never raises: it falls back to plain
words and says so in ``notice``.

``search(settings, query)`` returns the result JSON the CLI and the web app share.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh import query as wq
from whoosh.scoring import BM25F

from . import ranking
from .errors import NotFound, SearchError
from .index import META_FILE, SCHEMA_VERSION, analyzer, fold, is_short_form, live_version, uk_spelling
from .model import Concept
from .settings import Settings

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
#: Bonus for the typed words standing together as a phrase, and for each adjacent pair.
PHRASE_WEIGHT = 0.0
PAIR_WEIGHT = 0.35
#: Share of a claim's score that depends on how many of the typed words it matches (Whoosh's
#: coordination factor). Off: it made several-word queries 4x slower at 20k claims and did not help
#: nDCG@10 (0.851 with 0.5, 0.853 without; bench/RESULTS-search.md).
COORD_SCALE = 0.0

#: Fields a user may name in ``field:value``; the first group filters, the second searches words.
FILTER_FIELDS = ("source", "concept", "post", "org", "year")
WORD_FIELDS = ("title", "section", "text")
FIELD_ALIASES = {"src": "source", "ref": "source", "reference": "source", "key": "source",
                 "subject": "concept", "organisation": "org", "organization": "org", "author": "org"}
#: Score "more like this" gives a claim under the same heading of the same post.
MLT_SAME_SECTION = 1.0
#: Fields a word that must (or must not) match is looked for in: the claim's own words and heading.
STRICT_FIELDS = ("text", "section")
#: Question words dropped from free text when other words remain ("why is PbR hard ...").
QUESTION_WORDS = frozenset({"why", "what", "how", "does", "do", "did", "which", "who", "whom", "where",
                            "when", "whose"})
#: Most words one query may search for; the rest are ignored with a notice.
MAX_TERMS = 40
#: Deepest parenthesis nesting the parser follows; deeper queries are read as plain words.
MAX_DEPTH = 20
#: Longest word offered a spelling suggestion: edit-distance search grows with the word, and a
#: word this long is no misspelling of anything in the index.
MAX_SUGGEST_CHARS = 40
MAX_LIMIT = 200
FACET_LIMIT = 20
#: Characters of a claim that get highlighted; the rest is shown plain.
HIGHLIGHT_CHARS = 4000
QUERY_CACHE_SIZE = 512

_CITATION_PARENS = re.compile(r"\([^()]*\b\d{4}[a-z]?\b[^()]*\)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANALYZER = analyzer()
_TOKEN_CACHE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def tokens(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Analyze text as the index does: (positional tokens, joined hyphen forms)."""
    cached = _TOKEN_CACHE.get(text)
    if cached is None:
        plain, joined = [], []
        for t in _ANALYZER(text, mode="query"):
            (joined if getattr(t, "alias", False) else plain).append(t.text)
        cached = (tuple(plain), tuple(joined))
        if len(_TOKEN_CACHE) < 100_000:
            _TOKEN_CACHE[text] = cached
    return cached


# --- the query language ----------------------------------------------------------------------

class _Syntax(Exception):
    """A query the grammar cannot read; the search falls back to plain words."""


@dataclass
class _Tok:
    kind: str  # WORD PHRASE FIELD AND OR NOT LPAREN RPAREN
    text: str = ""
    field: str = ""
    phrase: bool = False


@dataclass
class Word:
    text: str


@dataclass
class Phrase:
    text: str


@dataclass
class FieldFilter:
    field: str
    value: str


@dataclass
class FieldWords:
    field: str
    text: str


@dataclass
class Group:
    clauses: list = field(default_factory=list)  # [node, "must" | "should" | "not"]


@dataclass
class Either:
    options: list


_QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“"}


def lex(text: str, notices: list[str]) -> list[_Tok]:
    """Split a query into tokens, repairing stray quotes and colons with a notice."""
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _QUOTES:
            close = text.find(_QUOTES[ch], i + 1) if ch != '"' else text.find('"', i + 1)
            if close < 0 and ch in "“„":
                close = text.find('"', i + 1)
            if close < 0:
                notices.append("A quote was not closed, so the words after it were searched as plain words.")
                i += 1
                continue
            out.append(_Tok("PHRASE", text[i + 1:close]))
            i = close + 1
        elif ch == "(":
            out.append(_Tok("LPAREN"))
            i += 1
        elif ch == ")":
            out.append(_Tok("RPAREN"))
            i += 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and (i == 0 or text[i - 1].isspace() or text[i - 1] == "("):
            out.append(_Tok("NOT"))
            i += 1
        else:
            m = re.compile(r"[^\s()\"“”„]+").match(text, i)
            word = m.group(0)
            i = m.end()
            if word in ("AND", "&&"):
                out.append(_Tok("AND"))
            elif word in ("OR", "||"):
                out.append(_Tok("OR"))
            elif word == "NOT":
                out.append(_Tok("NOT"))
            elif ":" in word:
                name, _, value = word.partition(":")
                key = FIELD_ALIASES.get(name.lower(), name.lower())
                if not name or not name.isalpha():
                    if not name or not value:
                        notices.append(f"Ignored a stray colon in {word!r}.")
                    out.extend(_Tok("WORD", part) for part in word.split(":") if part)
                elif key not in FILTER_FIELDS + WORD_FIELDS:
                    known = ", ".join(f"{f}:" for f in FILTER_FIELDS + WORD_FIELDS)
                    notices.append(f"Unknown field {name!r}: searched {word!r} as words (fields are {known}).")
                    out.extend(_Tok("WORD", part) for part in word.split(":") if part)
                elif not value:
                    if i < n and text[i] in _QUOTES:
                        close = text.find(_QUOTES[text[i]] if text[i] != '"' else '"', i + 1)
                        if close < 0:
                            notices.append(f"The quote after {word!r} was not closed; searched the rest as words.")
                            i += 1
                            continue
                        out.append(_Tok("FIELD", text[i + 1:close], key, phrase=True))
                        i = close + 1
                    else:
                        notices.append(f"{word!r} names a field but no value: write {key}:VALUE. "
                                       "Searched the word instead.")
                        out.append(_Tok("WORD", name))
                else:
                    out.append(_Tok("FIELD", value, key))
            else:
                out.append(_Tok("WORD", word))
    return out


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*; unary := [NOT] atom."""

    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.toks[self.i].kind if self.i < len(self.toks) else None

    def parse(self):
        node = self.parse_or()
        if self.peek() is not None:
            raise _Syntax("a closing parenthesis has no opening one")
        return node

    def parse_or(self):
        options = [self.parse_and()]
        while self.peek() == "OR":
            self.i += 1
            if self.peek() in (None, "OR", "AND", "RPAREN"):
                raise _Syntax("OR needs a word on both sides")
            options.append(self.parse_and())
        return options[0] if len(options) == 1 else Either(options)

    def parse_and(self):
        group = Group()
        pending_and = False
        while self.peek() not in (None, "OR", "RPAREN"):
            if self.peek() == "AND":
                self.i += 1
                if not group.clauses or self.peek() in (None, "OR", "AND", "RPAREN"):
                    raise _Syntax("AND needs a word on both sides")
                if group.clauses[-1][1] == "should":
                    group.clauses[-1][1] = "must"
                pending_and = True
                continue
            node, negated = self.parse_unary()
            kind = "not" if negated else ("must" if pending_and or isinstance(node, FieldFilter) else "should")
            group.clauses.append([node, kind])
            pending_and = False
        if not group.clauses:
            raise _Syntax("OR needs a word on both sides" if self.peek() == "OR"
                          else "an operator or parenthesis has no words to work on")
        return group

    def parse_unary(self):
        if self.peek() == "NOT":
            self.i += 1
            if self.peek() in (None, "AND", "OR", "RPAREN", "NOT"):
                raise _Syntax("NOT needs a word after it")
            node, _ = self.parse_unary()
            return node, True
        return self.parse_atom(), False

    def parse_atom(self):
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Syntax(f"parentheses nest more than {MAX_DEPTH} deep")
            node = self.parse_or()
            self.depth -= 1
            if self.peek() != "RPAREN":
                raise _Syntax("a parenthesis was not closed")
            self.i += 1
            return node
        if tok.kind == "RPAREN":
            raise _Syntax("a closing parenthesis has no opening one")
        if tok.kind == "PHRASE":
            return Phrase(tok.text)
        if tok.kind == "FIELD":
            if tok.field in FILTER_FIELDS:
                return FieldFilter(tok.field, tok.text)
            return FieldWords(tok.field, tok.text)
        return Word(tok.text)


def parse(text: str, notices: list[str]):
    """Parse a cleaned query into a tree; on a syntax error, plain words plus a notice."""
    toks = lex(text, notices)
    try:
        return _Parser(toks).parse()
    except _Syntax as problem:
        notices.append(f"Could not read the query ({problem}), so it was searched as plain words.")
        words = re.sub(r"[()\"“”„:]", " ", text).split()
        return Group([[Word(w), "should"] for w in words if w not in ("AND", "OR", "NOT", "&&", "||")])


# --- expansion through concept labels --------------------------------------------------------

#: Expand to every label of a concept, not only its preferred label and short forms. Off: many
#: alternative labels are narrower phrases ("cluster costs" for care clusters) that drown the query.
EXPAND_ALL_LABELS = False


@dataclass
class Expansions:
    """Concept labels by their analyzed words, for finding concept names inside free text."""

    by_tokens: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    labels: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # concept -> label token tuples
    ids: dict[str, str] = field(default_factory=dict)  # folded id or label -> concept id
    pref: dict[str, str] = field(default_factory=dict)
    longest: int = 1

    @classmethod
    def from_labels(cls, concepts: Mapping[str, tuple[str, Iterable[str]]]) -> "Expansions":
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
                if toks not in expand and (label == pref or EXPAND_ALL_LABELS or is_short_form(label)):
                    expand.append(toks)
            ex.labels[cid] = expand
        return ex

    def find(self, toks: list[str]) -> list[tuple[int, int, set[str]]]:
        """Spans (start, end, concept ids) of the longest labels found in a token list."""
        spans, i = [], 0
        while i < len(toks):
            for size in range(min(self.longest, len(toks) - i), 0, -1):
                cids = self.by_tokens.get(tuple(toks[i:i + size]))
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

@dataclass
class _Compiled:
    query: wq.Query
    highlight: frozenset[str]
    words: tuple[str, ...]  # plain words typed, for spelling suggestions
    notices: tuple[str, ...]
    filters: dict[str, list[str]]  # filters given in the query text, for facet "selected"


class _Compiler:
    def __init__(self, ex: Expansions, meta: dict, notices: list[str]):
        self.ex = ex
        self.meta = meta
        self.notices = notices
        self.highlight: set[str] = set()
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
            return self.filter(node.field, node.value)
        if isinstance(node, FieldWords):
            return self.field_words(node.field, node.text)
        raise TypeError(node)

    def group(self, group: Group) -> wq.Query | None:
        musts, shoulds, nots = [], [], []
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
            flush()
            q = self.node(node)
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
            return None
        if nots:
            base = wq.AndNot(base, wq.Or(nots))
        return base

    def _word_query(self, plain: tuple[str, ...], joined: tuple[str, ...], fields=None) -> wq.Query:
        fields = fields or FIELD_WEIGHTS
        options = []
        for name in fields:
            weight = FIELD_WEIGHTS.get(name, 1.0)
            if len(plain) == 1:
                options.append(wq.Term(name, plain[0], boost=weight))
            elif plain:
                options.append(wq.Phrase(name, list(plain), boost=weight))
            for j in joined:
                options.append(wq.Term(name, j, boost=weight))
        return options[0] if len(options) == 1 else wq.Or(options)

    def run(self, words: list[str], strict: bool = False) -> wq.Query | None:
        """Free words: each in every field, concept expansions, and a phrase bonus.

        ``strict`` (a word that must or must not match) expands to the concept's names only,
        not to every claim tagged with the concept, so AND and NOT keep their literal meaning.
        """
        analyzed = [(w, *tokens(w)) for w in words]
        content = [a for a in analyzed if a[1] or a[2]]
        if not content:
            if words:
                shown = [w if len(w) <= 40 else w[:39] + "…" for w in words[:6]]
                self.notices.append("Only common words (" + ", ".join(shown) + ") were given; "
                                    "add a more specific word.")
            return None
        kept = [a for a in content if a[0].lower() not in QUESTION_WORDS] or content
        clauses: list[wq.Query] = []
        positional: list[str] = []
        for word, plain, joined in kept:
            if not self._budget(len(plain) + len(joined)):
                break
            self.words.append(word)
            self.highlight.update(plain)
            self.highlight.update(joined)
            clauses.append(self._word_query(plain, joined, fields=STRICT_FIELDS if strict else None))
            positional.extend(plain)
        if COORD_SCALE and len(clauses) > 1:
            # Claims that match more of the typed words rank higher (a coordination factor).
            clauses = [wq.Or(clauses, scale=COORD_SCALE)]
        clauses.extend(self._expand(positional, tags=not strict))
        if len(positional) >= 2:
            # Words typed next to each other rank claims that keep them together higher.
            if PHRASE_WEIGHT and len(positional) > 2:
                clauses.append(wq.Phrase("text", positional, boost=PHRASE_WEIGHT))
            if PAIR_WEIGHT:
                clauses.extend(wq.Phrase("text", positional[k:k + 2], boost=PAIR_WEIGHT)
                               for k in range(len(positional) - 1))
        return clauses[0] if len(clauses) == 1 else wq.Or(clauses)

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
                    self.highlight.update(label)
                    weight = EXPANSION_WEIGHT / len(label)
                    extra.append(wq.Term("text", label[0], boost=weight) if len(label) == 1
                                 else wq.Phrase("text", list(label), boost=weight))
        return extra

    def phrase(self, text: str) -> wq.Query | None:
        plain, joined = tokens(text)
        if not plain:
            self.notices.append(f"The phrase \"{text}\" has only common words, so it was left out.")
            return None
        if not self._budget(len(plain)):
            return None
        self.words.extend(text.split())
        self.highlight.update(plain)
        self.highlight.update(joined)
        # Quotes mean "these words, together, in the claim": no other fields, no expansion.
        return self._word_query(plain, (), fields=("text",))

    def field_words(self, name: str, text: str) -> wq.Query | None:
        plain, joined = tokens(text)
        if not plain and not joined:
            self.notices.append(f"{name}:{text} has only common words, so it was left out.")
            return None
        self.highlight.update(plain if name == "text" else ())
        return self._word_query(plain, joined, fields=(name,))

    def filter(self, name: str, value: str) -> wq.Query:
        resolved = resolve_filter(name, value, self.meta, self.ex)
        if resolved is None:
            self.notices.append(f"No {name} called {value!r} is in the index, so nothing matches {name}:{value}.")
            return wq.NullQuery
        self.filters.setdefault(name, []).append(resolved)
        return wq.Term(name, resolved.lower())


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

class _State:
    """One opened version of the index: its Whoosh index, meta, expansions and caches."""

    def __init__(self, path: Path, concepts: Mapping[str, Concept] | None):
        meta_path = path / META_FILE
        try:
            self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SearchError(f"the search index at {path} has no readable {META_FILE}: {exc}",
                              hint="rebuild it with `kg build`") from None
        if self.meta.get("schema_version") != SCHEMA_VERSION:
            raise SearchError(f"the search index at {path} was built by another version of kg",
                              hint="rebuild it with `kg build`")
        self.path = path
        # Read, not memory-mapped: Whoosh copies each sub-file of a mapped segment into memory
        # per reader, and every server thread has its own reader (10,000 posts, 8 threads:
        # 2.1 GB -> 137 MB after the same searches; kg.ranking caches the posting lists it needs).
        self.ix = FileStorage(str(path), supports_mmap=False).open_index()
        labels = (_concepts_to_labels(concepts) if concepts is not None else
                  {cid: (c["label"], c["labels"]) for cid, c in self.meta.get("concepts", {}).items()})
        self.expansions = Expansions.from_labels(labels)
        self.weighting = BM25F(B=0.75, K1=K1, **{f"{name}_B": b for name, b in FIELD_B.items()})
        self.local = threading.local()
        self.lock = threading.Lock()
        self.cache: OrderedDict[str, _Compiled] = OrderedDict()
        self._searchers: list = []
        self._searchers_lock = threading.Lock()
        self.postings = ranking.Postings(self.searcher())
        self._facets: dict[str, tuple[list[str], Any, Any, dict[str, int]]] | None = None
        self._source_keys: dict[str, str] | None = None

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
            except Exception:  # noqa: BLE001 - a reader already closed or half-built
                pass

    def compiled(self, text: str) -> _Compiled:
        with self.lock:
            hit = self.cache.get(text)
            if hit is not None:
                self.cache.move_to_end(text)
                return hit
        notices: list[str] = []
        tree = parse(text, notices)
        compiler = _Compiler(self.expansions, self.meta, notices)
        q = compiler.node(tree) or wq.NullQuery
        result = _Compiled(q, frozenset(compiler.highlight), tuple(compiler.words), tuple(notices),
                           compiler.filters)
        with self.lock:
            self.cache[text] = result
            if len(self.cache) > QUERY_CACHE_SIZE:
                self.cache.popitem(last=False)
        return result

    def source_keys(self) -> dict[str, str]:
        """Each cited source's key by its lower-case form (the index keeps keys lower-cased)."""
        if self._source_keys is None:
            self._source_keys = {key.lower(): key for key in self.meta.get("sources", {})}
        return self._source_keys

    def facet_tables(self) -> dict[str, tuple[list[str], Any, Any, dict[str, int]]]:
        """Each facet field's values with their claims, as arrays (kg.ranking.Postings.field_table)."""
        if self._facets is None:
            with self.lock:
                if self._facets is None:
                    searcher = self.searcher()
                    facets = {}
                    for name in FILTER_FIELDS[:4]:
                        values, claims, numbers = self.postings.field_table(searcher, name)
                        facets[name] = (values, claims, numbers, {v: i for i, v in enumerate(values)})
                    self._facets = facets
        return self._facets


class Searcher:
    """A reusable, thread-safe searcher over one index folder; reopens when a build swaps it."""

    def __init__(self, index_dir: str | Path, concepts: Mapping[str, Concept] | None = None, *,
                 page_size: int = 20, max_query_chars: int = 10_000):
        self.index_dir = Path(index_dir)
        self.concepts = concepts
        self.page_size = page_size
        self.max_query_chars = max_query_chars
        self._lock = threading.Lock()
        self._state: _State | None = None

    def _current(self) -> _State:
        path = live_version(self.index_dir)
        if path is None or not (path / META_FILE).exists():
            raise SearchError(f"no search index at {self.index_dir}",
                              hint="run `kg build` first, or pass --data DIR pointing at a built data directory")
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

    # -- searching --

    def clean(self, query: str) -> tuple[str, list[str]]:
        """Return the query without control characters, or raise if it is too long to search."""
        notices = []
        if query is None:
            query = ""
        if not isinstance(query, str):
            raise SearchError(f"the query must be text, not {type(query).__name__}")
        if len(query) > self.max_query_chars:
            raise SearchError(f"the query is {len(query):,} characters long; the limit is "
                              f"{self.max_query_chars:,}",
                              hint="search for a few distinctive words or a quoted phrase "
                                   "(the limit is the max_query_chars setting)")
        cleaned = _CONTROL.sub(" ", unicodedata.normalize("NFC", query))
        if cleaned != unicodedata.normalize("NFC", query):
            notices.append("Control characters in the query were ignored.")
        return " ".join(cleaned.split()), notices

    def search(self, query: str, *, page: int = 1, limit: int | None = None,
               filters: Mapping[str, Any] | None = None, facets: bool = True) -> dict:
        """Search the claims; return the result JSON (see module docstring and README)."""
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
        compiled = state.compiled(text) if text else _Compiled(wq.Every(), frozenset(), (), (), {})
        notices.extend(compiled.notices)
        for name, values in compiled.filters.items():
            selected.setdefault(name, set()).update(values)
        q = compiled.query
        if filter_query is not None:
            q = wq.And([q, wq.ConstantScoreQuery(filter_query, 0.0)])
        s = state.searcher()
        # One evaluation ranks the page and marks every match (for the total and the facets).
        top, matched = ranking.run(s, state.postings, q, page * limit)
        total = int(matched.sum())
        start = (page - 1) * limit
        results = [self._render(s, docnum, score, compiled.highlight)
                   for score, docnum in top[start:start + limit]]
        suggestion = self._suggest(s, state, text, compiled) if compiled.words else None
        return {
            "query": text,
            "total": total,
            "page": page,
            "pages": math.ceil(total / limit) if total else 0,
            "limit": limit,
            "results": results,
            "facets": self._facets(state, matched, selected) if facets else {},
            "suggestion": suggestion,
            "notice": " ".join(dict.fromkeys(notices)) or None,
        }

    def _empty(self, text: str, page: int, notices: list[str]) -> dict:
        return {"query": text, "total": 0, "page": page, "pages": 0, "limit": self.page_size, "results": [],
                "facets": {"sources": [], "concepts": [], "posts": [], "orgs": []},
                "suggestion": None, "notice": " ".join(dict.fromkeys(notices)) or None}

    def _filters(self, filters: Mapping[str, Any] | None, state: _State, notices: list[str]):
        if not filters:
            return None, {}
        parts, selected = [], {}
        for name, values in filters.items():
            key = FIELD_ALIASES.get(name, name)
            key = {"sources": "source", "concepts": "concept", "posts": "post", "orgs": "org",
                   "years": "year"}.get(key, key)
            if key not in FILTER_FIELDS:
                raise SearchError(f"unknown filter {name!r}", hint=f"filters are {', '.join(FILTER_FIELDS)}")
            values = [values] if isinstance(values, str) else list(values or [])
            options = []
            for value in values:
                resolved = resolve_filter(key, str(value), state.meta, state.expansions)
                if resolved is None:
                    notices.append(f"No {key} called {value!r} is in the index, so nothing matches that filter.")
                    options.append(wq.NullQuery)
                else:
                    selected.setdefault(key, set()).add(resolved)
                    options.append(wq.Term(key, resolved.lower()))
            if options:
                parts.append(options[0] if len(options) == 1 else wq.Or(options))
        if not parts:
            return None, selected
        return (parts[0] if len(parts) == 1 else wq.And(parts)), selected

    def _render(self, s, docnum: int, score: float | None, highlight: frozenset[str]) -> dict:
        stored = s.stored_fields(docnum)
        doc = json.loads(stored["doc"])
        return {
            "id": stored["id"],
            "text": doc["text"],
            "highlight": highlight_html(doc["text"], highlight),
            "score": round(float(score or 0.0), 4),
            "post": doc["post"],
            "section": doc.get("section"),
            "citations": doc.get("citations", []),
            "concepts": doc.get("concepts", []),
        }

    def _facets(self, state: _State, matched, selected: dict[str, set[str]]) -> dict:
        meta = state.meta
        out = {}
        tables = state.facet_tables()
        for name, plural in (("source", "sources"), ("concept", "concepts"), ("post", "posts"), ("org", "orgs")):
            values, claims, numbers, number_of = tables[name]
            counts = np.bincount(numbers[matched[claims]], minlength=len(values))
            chosen = {number_of[v.lower()] for v in selected.get(name, ()) if v.lower() in number_of}
            shown = _top_rows(counts, FACET_LIMIT)
            shown += sorted(chosen - set(shown), key=lambda i: (-counts[i], i))
            out[plural] = [self._facet_row(name, values[i], int(counts[i]), meta, state, i in chosen)
                           for i in shown]
        return out

    @staticmethod
    def _facet_row(name: str, value: str, count: int, meta: dict, state: _State, selected: bool) -> dict:
        if name == "source":
            key = state.source_keys().get(value, value)
            return {"value": key, "label": meta["sources"].get(key, key), "count": count, "selected": selected}
        if name == "concept":
            return {"value": value, "label": state.expansions.pref.get(value, value), "count": count,
                    "selected": selected}
        if name == "post":
            return {"value": value, "label": meta.get("posts", {}).get(value, value), "count": count,
                    "selected": selected}
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
            raise NotFound(f"no claim {claim_id!r} in the search index",
                           hint="use a claim id from a search result, or rebuild with `kg build`")
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
                same = wq.And([wq.Term("post", doc["post"]["id"].lower()),
                               wq.Phrase("section", list(section)) if len(section) > 1 else wq.Term("section", section[0])])
                clauses.append(wq.ConstantScoreQuery(same, MLT_SAME_SECTION))
        claim = self._render(s, docnum, None, frozenset())
        if not clauses:
            return {"claim": claim, "total": 0, "results": []}
        q = wq.AndNot(wq.Or(clauses), wq.Term("id", claim_id))
        top, matched = ranking.run(s, state.postings, q, limit)
        highlight = frozenset(word for word, _ in keywords)
        return {"claim": claim, "total": int(matched.sum()),
                "results": [self._render(s, docnum, score, highlight) for score, docnum in top]}


def _top_rows(counts, limit: int) -> list[int]:
    """The numbers of the ``limit`` largest non-zero counts, count down, then number (= value) up."""
    rows = np.flatnonzero(counts)
    if len(rows) > limit:
        found = counts[rows]
        rows = rows[found >= np.partition(found, len(found) - limit)[len(found) - limit]]
    return rows[np.lexsort((rows, -counts[rows]))][:limit].tolist()


@functools.lru_cache(maxsize=4096)
def _term_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """Each index term of the text with its characters (a shown claim is analysed once, not per query)."""
    return tuple((t.text, t.startchar, t.endchar) for t in _ANALYZER(text, chars=True, mode="query"))


def highlight_html(text: str, terms: frozenset[str] | set[str]) -> str:
    """Return the text HTML-escaped, with <mark> around the words whose index terms are given."""
    if not terms:
        return html.escape(text, quote=False)
    head, tail = text[:HIGHLIGHT_CHARS], text[HIGHLIGHT_CHARS:]
    spans = sorted((start, end) for term, start, end in _term_spans(head) if term in terms)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(html.escape(head[last:start], quote=False))
        out.append(f"<mark>{html.escape(head[start:end], quote=False)}</mark>")
        last = end
    out.append(html.escape(head[last:] + tail, quote=False))
    return "".join(out)


# --- module-level entry points ---------------------------------------------------------------

_SEARCHERS: dict[tuple[str, int, int], Searcher] = {}
_SEARCHERS_LOCK = threading.Lock()


def searcher_for(settings: Settings) -> Searcher:
    """Return the cached Searcher of the settings' index folder (one per folder and limits)."""
    key = (os.path.abspath(settings.index_dir), settings.search_page_size, settings.max_query_chars)
    with _SEARCHERS_LOCK:
        searcher = _SEARCHERS.get(key)
        if searcher is None:
            searcher = Searcher(settings.index_dir, page_size=settings.search_page_size,
                                max_query_chars=settings.max_query_chars)
            _SEARCHERS[key] = searcher
    return searcher


def search(settings: Settings, query: str, *, page: int = 1, limit: int | None = None,
           filters: Mapping[str, Any] | None = None) -> dict:
    """Search the built index of ``settings.data_dir``; return the result JSON."""
    return searcher_for(settings).search(query, page=page, limit=limit, filters=filters)


def more_like_this(settings: Settings, claim_id: str, limit: int = 10) -> dict:
    """Return the claims most like ``claim_id`` (``{"claim", "total", "results"}``)."""
    return searcher_for(settings).more_like_this(claim_id, limit)
