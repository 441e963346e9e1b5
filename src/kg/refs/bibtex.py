"""The BibTeX reader: a .bib file (the library itself, or a reference manager's export) into references.

bibtexparser 2 splits the file; its string middleware resolves a field that is one ``@string``
name, and ``ConcatenateStringsMiddleware`` (below) expands the rest: ``pfx # " by " # {Results}``
and names defined from other names, as BibTeX itself does. Values are otherwise kept exactly as
the file stores them (LaTeX, inner braces and all), so a braced corporate author
``{{Department of Health}}`` stays one name.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.middlewares import ResolveStringReferencesMiddleware
from bibtexparser.middlewares.enclosing import RemoveEnclosingMiddleware
from bibtexparser.middlewares.middleware import LibraryMiddleware
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ImplicitComment,
    ParsingFailedBlock,
)

from ..model import Failure, Reference

STEP = "references"

#: Entry types BibTeX's standard styles or BibLaTeX know; any other is refused with the list.
ENTRY_TYPES = frozenset(
    {
        "article",
        "book",
        "booklet",
        "inbook",
        "incollection",
        "inproceedings",
        "conference",
        "manual",
        "mastersthesis",
        "misc",
        "phdthesis",
        "proceedings",
        "techreport",
        "unpublished",
        "artwork",
        "audio",
        "bibnote",
        "bookinbook",
        "collection",
        "commentary",
        "customa",
        "customb",
        "customc",
        "customd",
        "custome",
        "customf",
        "dataset",
        "electronic",
        "image",
        "inreference",
        "jurisdiction",
        "legal",
        "legislation",
        "letter",
        "movie",
        "music",
        "mvbook",
        "mvcollection",
        "mvproceedings",
        "mvreference",
        "online",
        "patent",
        "performance",
        "periodical",
        "reference",
        "report",
        "review",
        "set",
        "software",
        "standard",
        "suppbook",
        "suppcollection",
        "suppperiodical",
        "thesis",
        "video",
        "www",
        "xdata",
    }
)
# Text between entries that holds "name = {" is a field an entry lost: a brace closed it too early.
_STRAY_FIELD = re.compile(r"^[\s,]*([A-Za-z][\w-]*)\s*=\s*[{\"\d]", re.MULTILINE)

#: BibTeX's predefined month macros, and what they stand for inside a concatenation.
MONTHS = {
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "may": "May",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}

_UNRESOLVED = "kg_unresolved_macros"


@contextmanager
def captured_parser_log():
    """Keep bibtexparser's own log lines off the terminal: its failed blocks carry the reasons."""
    logger = logging.getLogger("bibtexparser")
    previous, propagate = logger.level, logger.propagate
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(previous)


def _split_concatenation(value: str) -> list[str] | None:
    """Split ``a # "b" # {c}`` on the ``#`` outside braces and quotes; None for a single part."""
    parts, depth, quoted, start = [], 0, False, 0
    escaped = False
    for i, char in enumerate(value):
        if escaped:  # "\}", "\#", '\"': an escaped character, not structure
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append(value[start:i].strip())
            start = i + 1
    if not parts:
        return None
    parts.append(value[start:].strip())
    return parts


def _part_text(part: str, strings: dict[str, str], missing: list[str]) -> str:
    if len(part) >= 2 and ((part[0] == "{" and part[-1] == "}") or (part[0] == '"' and part[-1] == '"')):
        return part[1:-1]
    if part.isdigit():
        return part
    name = part.lower()
    if name in strings:
        return strings[name]
    if name in MONTHS:
        return MONTHS[name]
    missing.append(part)
    return part


class ConcatenateStringsMiddleware(LibraryMiddleware):
    """Expand ``#`` concatenations of @string names, quoted and braced parts, as BibTeX does.

    Runs after ResolveStringReferencesMiddleware (which handles a field that is one name) and
    before RemoveEnclosingMiddleware, and leaves each expanded value braced. A name no
    ``@string`` defines is kept as written and recorded in the entry's parser metadata, so the
    reader can report it.
    """

    def __init__(self, allow_inplace_modification: bool = True):
        super().__init__(allow_inplace_modification)

    @classmethod
    def metadata_key(cls) -> str:
        return "ConcatenateStrings"

    def _strings(self, library: Library) -> dict[str, str]:
        # A @string may be defined from earlier ones: expand them in the file's order.
        strings: dict[str, str] = {}
        for string in library.strings:
            value = str(string.value)
            parts = _split_concatenation(value)
            if parts is None:
                text = _part_text(value, strings, [])
            else:
                text = "".join(_part_text(p, strings, []) for p in parts)
            strings[string.key.lower()] = text
            string.value = "{" + text + "}"
        return strings

    def transform(self, library: Library) -> Library:
        strings = self._strings(library)
        for entry in library.entries:
            missing: list[str] = []
            for fld in entry.fields:
                if not isinstance(fld.value, str):
                    continue
                parts = _split_concatenation(fld.value)
                if parts is None:
                    value = fld.value.strip()
                    # A bare word: a name defined from another name, or one no @string defines
                    # (month macros stay macros).
                    if re.fullmatch(r"[A-Za-z][\w:.+/-]*", value) and value.lower() not in MONTHS:
                        if value.lower() in strings:
                            fld.value = "{" + strings[value.lower()] + "}"
                        else:
                            missing.append(value)
                    continue
                fld.value = "{" + "".join(_part_text(p, strings, missing) for p in parts) + "}"
            if missing:
                entry.parser_metadata[_UNRESOLVED] = missing
        return library


def parse_stack() -> list:
    """Return the middlewares kg parses BibTeX with: strings resolved, outer delimiters removed."""
    return [
        ResolveStringReferencesMiddleware(True),
        ConcatenateStringsMiddleware(True),
        RemoveEnclosingMiddleware(True),
    ]


def _failure_message(block: ParsingFailedBlock, source: str) -> str:
    line = (block.start_line or 0) + 1
    if isinstance(block, DuplicateBlockKeyBlock):
        first = (block.previous_block.start_line or 0) + 1
        return (
            f"line {line}: duplicate key {block.key!r} (first defined at line {first}); "
            f"rename one of the entries or delete the copy in {source}"
        )
    if isinstance(block, DuplicateFieldKeyBlock):
        key = getattr(block.ignore_error_block, "key", "?")
        return (
            f"line {line}: entry {key!r} repeats the field(s) {', '.join(sorted(block.duplicate_keys))}; "
            f"keep one of each in {source}"
        )
    reason = getattr(block.error, "abort_reason", None) or str(block.error) or type(block.error).__name__
    first_line = (block.raw or "").strip().splitlines()[0][:60] if (block.raw or "").strip() else ""
    return (
        f"line {line}: malformed entry {first_line!r}: {reason.strip()}; "
        f"fix the braces, commas and key of this entry in {source}"
    )


def parse_bibtex(text: str, source: str = "<string>") -> tuple[dict[str, Reference], list[Failure]]:
    """Parse BibTeX text into references by key; malformed blocks become Failures with line numbers."""
    with captured_parser_log():
        library = bibtexparser.parse_string(text, parse_stack=parse_stack())
    references: dict[str, Reference] = {}
    failures: list[Failure] = []
    previous = None
    for block in library.blocks:
        after, previous = previous, block
        line = (block.start_line or 0) + 1
        where = f"{source}:{line}"
        if isinstance(block, ParsingFailedBlock):
            failures.append(Failure(STEP, where, _failure_message(block, source)))
        elif isinstance(block, ImplicitComment) and isinstance(after, Entry):
            # (After a failed block the rest of it lands here too; that block is reported already.)
            stray = _STRAY_FIELD.search(block.comment or "")
            if stray:
                line += block.comment[: stray.start(1)].count("\n")
                failures.append(
                    Failure(
                        STEP,
                        f"{source}:{line}",
                        (
                            f"line {line}: field {stray.group(1)!r} stands outside any entry, so it was lost; "
                            f"the entry above it closes too early: balance its braces in {source}"
                        ),
                    )
                )
        elif isinstance(block, Entry) and not block.key.strip():
            failures.append(
                Failure(
                    STEP,
                    where,
                    (f"line {line}: @{block.entry_type} entry has no key; give it one (e.g. DH2011b) in {source}"),
                )
            )
        elif isinstance(block, Entry) and block.entry_type.lower() not in ENTRY_TYPES:
            failures.append(
                Failure(
                    STEP,
                    where,
                    (
                        f"line {line}: entry {block.key!r} has the unknown type @{block.entry_type}; use a "
                        f"BibTeX or BibLaTeX type such as @report, @article, @book or @misc in {source}"
                    ),
                )
            )
        elif isinstance(block, Entry) and block.parser_metadata.get(_UNRESOLVED):
            names = ", ".join(dict.fromkeys(block.parser_metadata[_UNRESOLVED]))
            failures.append(
                Failure(
                    STEP,
                    where,
                    (
                        f"line {line}: entry {block.key!r} uses the undefined @string macro(s) {names}; "
                        f"define them with @string{{name = {{...}}}} before the entry, or brace the value "
                        f"as text, in {source}"
                    ),
                )
            )
        elif isinstance(block, Entry):
            fields = {f.key.lower(): str(f.value) for f in block.fields}
            references[block.key] = Reference(
                key=block.key, entry_type=block.entry_type.lower(), fields=fields, start_line=line
            )
    return references, failures


def read(text: str, source: str):
    """Read a .bib file's text: its references in file order, and a Failure per bad entry."""
    from . import Parsed

    references, failures = parse_bibtex(text, source)
    return Parsed(list(references.values()), failures)
