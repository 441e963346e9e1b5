"""The search query language: words, "phrases", field:value, AND/OR/NOT, -word and parentheses.

Pure Python, no index: `parse` turns a query into a tree of `Word`, `Phrase`, `FieldFilter`,
`FieldWords`, `Group` and `Either` nodes, repairing what it cannot read (a stray quote or colon,
an operator with nothing to work on) with a notice instead of failing. kg.search compiles the
tree into an index query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Fields a user may name in ``field:value``; the first group filters, the second searches words.
FILTER_FIELDS = ("source", "concept", "post", "org", "year")
WORD_FIELDS = ("title", "section", "text")
FIELD_ALIASES = {
    "src": "source",
    "ref": "source",
    "reference": "source",
    "key": "source",
    "subject": "concept",
    "organisation": "org",
    "organization": "org",
    "author": "org",
}
#: Deepest parenthesis nesting the parser follows; deeper queries are read as plain words.
MAX_DEPTH = 20


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
            out.append(_Tok("PHRASE", text[i + 1 : close]))
            i = close + 1
        elif ch == "(":
            out.append(_Tok("LPAREN"))
            i += 1
        elif ch == ")":
            out.append(_Tok("RPAREN"))
            i += 1
        elif (
            ch == "-"
            and i + 1 < n
            and not text[i + 1].isspace()
            and (i == 0 or text[i - 1].isspace() or text[i - 1] == "(")
        ):
            out.append(_Tok("NOT"))
            i += 1
        else:
            m = re.compile(r"[^\s()\"“”„]+").match(text, i)
            assert m is not None  # text[i] is none of the characters the pattern stops at
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
                        out.append(_Tok("FIELD", text[i + 1 : close], key, phrase=True))
                        i = close + 1
                    else:
                        notices.append(
                            f"{word!r} names a field but no value: write {key}:VALUE. Searched the word instead."
                        )
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
            raise _Syntax(
                "OR needs a word on both sides"
                if self.peek() == "OR"
                else "an operator or parenthesis has no words to work on"
            )
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
