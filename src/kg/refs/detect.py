"""The one bibliography-detection rule: is this line a reference entry, where does a post's list start.

A reference entry is a line shaped ``AUTHORS [(ACRONYM|eds)] (YEAR[a-z]) TITLE...``: the author
block is names (capitalised words, initials, acronyms, particles and the small words of bodies'
names: "of", "for", "and", "&", "et al."), the year is in parentheses (or bare and followed by a
full stop, as in ``Needham, C., 2011. Title``), and a title follows, capitalised or quoted. It covers
the scraped blog's ``Department of Health (DH) (2011b), Title (available here)`` and Harvard's
``Department of Health (2010) Title. London: DH.``, ``Needham, C. and Carr, S. (2009) Title.``

A post's reference section starts at a heading line of its own: "References", "Bibliography",
"Sources", "Further reading", ... (every entry line under it is an entry; a line that cannot be
read is reported), or "Notes", "Endnotes" (where only lines shaped as entries are, since notes are
mostly prose). The corpus step (which posts are bibliographies), the claims step (which lines are
not claims) and the references step (what to parse) all ask this module. It imports nothing but
``re``, so the earliest step can use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

#: Headings under which every line is a reference entry.
REFERENCE_HEADINGS = frozenset(
    {
        "references",
        "reference list",
        "bibliography",
        "select bibliography",
        "sources",
        "sources cited",
        "works cited",
        "further reading",
        "reading list",
        "references and further reading",
        "references and notes",
        "notes and references",
        "sources and further reading",
        "literature",
        "bibliography and further reading",
        "key references",
        "useful resources and references",
    }
)
#: Headings under which only lines shaped as entries are (the rest are prose notes).
NOTE_HEADINGS = frozenset({"notes", "endnotes", "footnotes", "end notes", "notes and sources"})

_HEADING_MARKUP = re.compile(r"^\s*(?:#{1,6}\s*)?(?:[*_]{1,3})?\s*(.*?)\s*(?:[*_]{1,3})?\s*:?\s*(?:[*_]{1,3})?\s*$")
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z]\.|[IVX]{1,4}\.)\s+")

_YEAR = r"(?:1[5-9]|20)\d\d"
_ENTRY = re.compile(
    rf"""^\s*(?P<marker>(?:[-*•▪◦‣–]|\d{{1,3}}[.)])\s+|\[\d{{1,3}}\]\s*(?:[–—-]\s*)?)?
        (?P<authors>[^()\n]{{2,250}}?)
        (?:\s*\((?P<paren>[^()\n]{{1,40}})\))?
        (?:\s*,)?\s*
        (?:\((?P<year>{_YEAR}|n\.\s?d\.?|nd)(?P<suffix>[a-z]?)(?:,\s*[^()\n]{{1,25}})?\)(?P<after>[.,:;]?)
          |(?P<bare_year>{_YEAR})(?P<bare_suffix>[a-z]?)(?P<bare_after>[.,]))
        \s+(?P<rest>[*_]{{0,2}}[A-Z0-9“"‘'«\[(].*?)\s*$""",
    re.VERBOSE,
)
_HAS_YEAR = re.compile(rf"{_YEAR}|n\.\s?d\.")
# Small words of bodies' names and name particles; any other lower-case word is prose.
_SMALL_WORDS = frozenset(
    {
        "of",
        "for",
        "and",
        "the",
        "in",
        "on",
        "at",
        "to",
        "with",
        "upon",
        "&",
        "y",
        "et",
        "al",
        "al.",
        "de",
        "del",
        "della",
        "der",
        "den",
        "van",
        "von",
        "du",
        "la",
        "le",
        "da",
        "di",
        "dos",
        "das",
        "ter",
        "eds",
        "eds.",
        "ed",
        "ed.",
        "edn",
        "(eds)",
        "(ed)",
    }
)
_WORD = re.compile(r"[^\s,;]+")
MAX_CORPORATE_WORDS = 12  # longer than any body's name: a sentence that holds "(year),"
MAX_AUTHOR_WORDS = 40  # a long list of persons' surnames and initials


@dataclass(frozen=True)
class EntryShape:
    """The parts of a line shaped as a reference entry, as written."""

    authors: str
    paren: str | None  # "(DH)", "(eds)" between the authors and the year, without parentheses
    year: str  # "2011", or "n.d."
    suffix: str  # "b"
    after: str  # the punctuation right after the year: "," (the blog's form), "." or ""
    rest: str  # everything after the year: title, publisher, URL, ...
    marker: str  # a list marker or note number before the entry, if any


def _author_shape(text: str) -> bool:
    words = _WORD.findall(text)
    if any(c in text for c in ':?!“”"=|') or (words and words[-1].lower() in ("and", "&", "the", "of")):
        return False
    if not words or len(words) > MAX_AUTHOR_WORDS:
        return False
    initials = sum(1 for w in words if re.fullmatch(r"(?:[A-Z]\.?-?){1,4}", w))
    if not initials and len(words) > MAX_CORPORATE_WORDS:
        return False
    for word in words:
        bare = word.strip(".’'")
        if not bare:
            continue
        if (
            bare[0].isupper()
            or bare[0].isdigit()
            or (bare[0].isalpha() and not bare[0].islower())
            or word.lower() in _SMALL_WORDS
            or bare.lower() in _SMALL_WORDS
        ):  # 中国卫生部: no case
            continue
        if re.fullmatch(r"[a-z][’'][A-Z]\w*", bare):  # d’Souza
            continue
        return False
    return True


def entry_shape(line: str) -> EntryShape | None:
    """Return the parts of a line shaped as a reference entry, or None if it is not one."""
    if len(line) > 2000 or not _HAS_YEAR.search(line):
        return None
    match = _ENTRY.match(line)
    if not match:
        return None
    # "Body (ACR) (2011b), Title": a year in parentheses followed by a comma and a capital is the
    # blog's own form, distinctive enough that any short author text is taken as written.
    # (Not after a note's number: a note is prose that may hold "(2014), Table 3".)
    loose = (
        match.group("after") == ","
        and len(match.group("authors").split()) <= MAX_CORPORATE_WORDS
        and not (match.group("marker") or "").startswith("[")
    )
    if not (loose or _author_shape(match.group("authors"))):
        return None
    year = match.group("year") or match.group("bare_year")
    suffix = match.group("suffix") if match.group("year") else match.group("bare_suffix")
    after = match.group("after") if match.group("year") else match.group("bare_after")
    return EntryShape(
        authors=match.group("authors").strip().rstrip(","),
        paren=match.group("paren"),
        year=year,
        suffix=suffix or "",
        after=after or "",
        rest=match.group("rest"),
        marker=(match.group("marker") or "").strip(),
    )


def is_reference_line(line: str) -> bool:
    """Return True for a line shaped as a reference entry (see the module's rule)."""
    return entry_shape(line) is not None


def heading_kind(line: str) -> str | None:
    """Return "references" or "notes" for a heading that opens a reference section, else None."""
    if len(line) > 60:
        return None
    match = _HEADING_MARKUP.match(line)
    text = _NUMBERED_HEADING.sub("", match.group(1) if match else line.strip())
    text = " ".join(text.replace("’", "'").split()).casefold()
    if text in REFERENCE_HEADINGS:
        return "references"
    if text in NOTE_HEADINGS:
        return "notes"
    return None


def is_bibliography_body(body: str, *, min_references: int = 3) -> bool:
    """Return True for a body that mostly lists references: at least three, and half its lines."""
    lines = [line for line in body.split("\n") if line.strip()]
    # Stop once too few lines are left to make half of them references: an article is known
    # after about half its lines.
    count, misses, most = 0, 0, len(lines) // 2
    for line in lines:
        if is_reference_line(line.strip()):
            count += 1
        else:
            misses += 1
            if misses > most:
                return False
    if count < min_references or count * 2 < len(lines):
        return False
    # An article that ends in a long list under its own heading is an article with a reference
    # list, not a bibliography: two or more lines of prose stand before the heading.
    for index, line in enumerate(lines):
        if heading_kind(line.strip()):
            prose = sum(1 for before in lines[:index] if not is_reference_line(before.strip()))
            return prose < 2
    return True


@dataclass
class ReferenceSection:
    """A post's reference list: where its heading stands and its entries, as body spans."""

    heading: tuple[int, int] | None  # the heading line's span (None: the whole post is a list)
    kind: str  # "references" | "notes" | "bibliography"
    entries: list[tuple[int, int]] = field(default_factory=list)  # one span per entry (lines joined)
    unread: list[tuple[int, int]] = field(default_factory=list)  # lines under "References" not shaped as entries


def _lines(body: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in body.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


_CONTINUATION = re.compile(
    r"^\s*(?:(?:available|retrieved|accessed)\b|\[accessed|\(accessed|<?https?://|doi:|www\.)", re.IGNORECASE
)


def _ends_section(text: str) -> bool:
    # A short line with no year, URL or full stop under a list is the next heading or page furniture
    # ("About the author", "Share this:"); the list ends there.
    return (
        len(text.split()) <= 6 and not _HAS_YEAR.search(text) and "://" not in text and not text.rstrip().endswith(".")
    )


def reference_sections(body: str, *, bibliography: bool = False) -> list[ReferenceSection]:
    """Return a post's reference lists: each headed section, or the whole body of a bibliography post.

    An entry that wraps onto following lines (no blank line between, or a line starting
    "Available at:", a URL, "[Accessed ...]") is one entry.
    """
    spans = _lines(body)
    if bibliography:
        section = ReferenceSection(heading=None, kind="bibliography")
        section.entries = [(a, b) for a, b in spans if is_reference_line(body[a:b].strip())]
        return [section]
    sections: list[ReferenceSection] = []
    current: ReferenceSection | None = None
    previous_blank = True
    for a, b in spans:
        text = body[a:b].strip()
        if not text:
            previous_blank = True
            continue
        kind = heading_kind(text)
        if kind:
            current = ReferenceSection(heading=(a, b), kind=kind)
            sections.append(current)
            previous_blank = True
            continue
        if current is None:
            previous_blank = False
            continue
        shaped = is_reference_line(text)
        if shaped:
            current.entries.append((a, b))
        elif current.entries and current.entries[-1][1] + 1 == a and (not previous_blank or _CONTINUATION.match(text)):
            current.entries[-1] = (current.entries[-1][0], b)  # the entry goes on
        elif current.entries and _CONTINUATION.match(text):
            current.entries[-1] = (current.entries[-1][0], b)
        elif current.kind == "references":
            if _ends_section(text):
                current = None
            else:
                current.unread.append((a, b))
        previous_blank = False
    return [s for s in sections if s.entries or s.unread]


@lru_cache(maxsize=64)
def reference_spans(body: str) -> tuple[tuple[int, int], ...]:
    """Return the body spans of the entries of a post's headed reference lists (not claims)."""
    return tuple(span for section in reference_sections(body) for span in section.entries)


def in_reference_list(body: str, start: int) -> bool:
    """Return True when the text at ``start`` stands in an entry of a post's reference list."""
    return any(a <= start < b for a, b in reference_spans(body))
