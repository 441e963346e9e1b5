"""A plain BM25 baseline: SQLite FTS5 (porter tokenizer, bm25()) over the claim text alone.

Free words are OR-ed (a bag of words, like our free text), "quoted phrases" stay phrases; no
fields, no expansion, no phrase bonus. Used by bench/relevance.py and bench/search_latency.py.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Iterable

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+")


def fts5_query(text: str) -> str | None:
    """Translate a user query to FTS5: phrases kept, other words OR-ed; None if nothing is left."""
    parts = []
    for phrase in _PHRASE.findall(text):
        words = _WORD.findall(phrase)
        if words:
            parts.append('"' + " ".join(words) + '"')
    rest = _PHRASE.sub(" ", text)
    parts.extend(f'"{w}"' for w in _WORD.findall(rest) if w not in ("AND", "OR", "NOT"))
    return " OR ".join(parts) if parts else None


class FTS5:
    """An in-memory FTS5 table of claims: (id, post, text)."""

    def __init__(self, rows: Iterable[tuple[str, str, str]]):
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE claims USING fts5(id UNINDEXED, post UNINDEXED, text, "
                        "tokenize='porter unicode61')")
        self.db.executemany("INSERT INTO claims (id, post, text) VALUES (?, ?, ?)", rows)
        self.db.commit()

    def search(self, text: str, limit: int = 10) -> list[tuple[str, str, str]]:
        """Return the top (id, post, text) rows by bm25()."""
        q = fts5_query(text)
        if q is None:
            return []
        return self.db.execute("SELECT id, post, text FROM claims WHERE claims MATCH ? ORDER BY bm25(claims) "
                               "LIMIT ?", (q, limit)).fetchall()

    def count(self, text: str) -> int:
        q = fts5_query(text)
        if q is None:
            return 0
        return self.db.execute("SELECT count(*) FROM claims WHERE claims MATCH ?", (q,)).fetchone()[0]
