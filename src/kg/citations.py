"""Author-date and note citations: find them in claims, resolve them against the library, look them up.

The grammar (a tokenizer and a small recursive reader, not one pattern) covers the forms UK policy
writing uses:

- parenthetical: ``(RCP, 2012:8)``, ``(Curry and Ham 2010)``, ``(Bennett et al., 1998, 2004)``,
  ``(DH, 2010a, 2010b)``, ``(Age UK, 2017; ADASS, 2014)``, ``(NHS Confederation, NHS Providers
  and the LGA, 2016)``, ``(Carr, Personalisation: a rough guide, 2008, p.9)``, with lead-ins
  (``see``, ``e.g.``, ``cf.``, ``cited in``, ``quoted in``) and locators (``p. 12``, ``pp. 3–4``,
  ``: 12``, ``ch. 3``, ``para. 15``, roman numerals);
- narrative: ``the Care Quality Commission (2019) found``, ``Needham et al. (2012: 4) argue``,
  ``the King's Fund's (2012) review``;
- notes: a ``[1]`` or ``[^1]`` marker whose note, at the end of the post, names or links a source.

Not citations: a parenthesis without an author (``(1989)``, ``(from 2013)``, ``(p.2)``), financial
years ``(2014/15)``, a title such as ``the Care Act (2014)``, money and percentages. A parenthesis
that looks like a citation (a name and a year) but does not read as one is returned as an
``UnreadableCitation`` so the audit lists it.

Citation function (a CiTO property): ``includesQuotationFrom`` when the citation follows a closing quotation
mark, ``citesAsEvidence`` otherwise.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import NotFound
from .model import Citation, Claim, Organisation, Post, Reference, UnreadableCitation
from .names import fold_surname, split_persons
from .organisations import OrganisationIndex, normalise_name
from .references import KEY_RULE, key_year, latex_decode, reference_authors

__all__ = [
    "CitationResolver",
    "extract_citations",
    "extract_post_citations",
    "find_notes",
    "function_label",
    "parse_citation",
    "parse_cite_query",
    "resolve_citations",
]

QUOTES = "includesQuotationFrom"  # CiTO's term (2.8); "cito:quotes" is in no published version
EVIDENCE = "citesAsEvidence"
#: A CiTO citation function's local name -> the word a reader sees for it (the source page's facet).
FUNCTION_LABELS = {EVIDENCE: "evidence", QUOTES: "quotation", "citesForInformation": "information"}
PARENTHETICAL, NARRATIVE, NOTE = "parenthetical", "narrative", "note"
_CLOSING_QUOTES = ("”", '"', "»")

# --- Tokens ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
   (?P<url>(?:https?://|www\.)\S+)
 | (?P<year>(?<![\w/.£$€])(?:1[5-9]|20)\d\d[a-z]?(?![\w/%])(?!\s?[-–]\s?\d\d(?!\d)(?![.,:]\d)))
 | (?P<money>[£$€]\s?\d[\d,.]*\s*(?:bn|m|k|billion|million)?)
 | (?P<num>\d+(?:[.,]\d+)*%?)
 | (?P<etal>et\.?\s+al\b\.?)
 | (?P<label>(?i:pp|p|pg|ch|chap|paras|para|sect|sec|s)\.)(?=\s?(?:\d|[ivxlcdm]+\b))
 | (?P<word>[^\W\d_](?:[\w’'‘.\-]*[\w.])?)
 | (?P<punct>[,;:&/–\-“”"‘])
""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.lastgroup or "", m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


_ROMAN = re.compile(r"(?i)^[ivxlcdm]+$")
_LOCATOR_LABELS = {
    "p": "",
    "p.": "",
    "pp": "",
    "pp.": "",
    "page": "",
    "pages": "",
    "pg": "",
    "pg.": "",
    "ch": "ch. ",
    "ch.": "ch. ",
    "chap": "ch. ",
    "chap.": "ch. ",
    "chapter": "ch. ",
    "para": "para. ",
    "para.": "para. ",
    "paras": "para. ",
    "paras.": "para. ",
    "paragraph": "para. ",
    "paragraphs": "para. ",
    "section": "s. ",
    "sect.": "s. ",
    "s.": "s. ",
    "sec.": "s. ",
}
# Words that open a citation without being part of it.
_LEAD_IN = re.compile(
    r"""^\s*(?:(?:see(?:\s+also)?|but\s+see|cf\.?|compare|e\.\s?g\.?|eg\.?|i\.\s?e\.?|
    for\s+example|for\s+instance|also|as\s+cited\s+in|cited\s+in|as\s+quoted\s+in|quoted\s+in|
    reviewed\s+in|discussed\s+in|summarised\s+in|reported\s+in|in|and|or|as|by|from|after)(?![\w’'])\s*[,:]?\s*)+""",
    re.IGNORECASE | re.VERBOSE,
)


def _lead_end(text: str) -> int:
    """Where a citation starts after its lead-in words ("see also", "cited in"), 0 if it has none.

    A word in capitals is an acronym, not a lead-in: in "(DH, 2011; AS, 2012)" AS is an author.
    """
    lead = _LEAD_IN.match(text)
    if lead is None:
        return 0
    for word in re.finditer(r"[^\W\d_]+", lead.group()):
        if len(word.group()) > 1 and word.group().isupper():
            shorter = _LEAD_IN.match(text[: word.start()])
            return shorter.end() if shorter else 0
    return lead.end()


_SECONDARY = re.compile(
    r"^\s*[,;]?\s*(?:as\s+)?(?:cited|quoted|reviewed|discussed|reported|summarised)\s+in\b\s*", re.IGNORECASE
)
# Lowercase words that may stand inside a corporate name ("Department of Health and Social Care").
_CONNECTORS = {"of", "and", "for", "the", "&", "in", "on", "upon", "with", "de", "van", "von", "der", "du", "la", "le"}
# Closed-class words (determiners, conjunctions, prepositions, sentence adverbs) that are
# capitalised only because a sentence starts with them: never the start of a name.
_CLOSED = {
    w.casefold()
    for w in """The A An As In At By But And Or So Yet For From Both Either Neither This
    These That Those Its Their Our His Her While Whilst When Where Although Though Because Since
    After Before Following According Recently Similarly Likewise However Indeed Here There Such Some
    Many Most Other Others Further Moreover Thus Hence Also Even Only Yet Still Then Now Like Unlike
    Research Evidence Work Analysis Studies Study Data Figures Findings Guidance Polling Surveys""".split()
}
_MONTHS = {
    m.casefold()
    for m in """January February March April May June July August September October
    November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Spring Summer Autumn Winter""".split()
}
# A name ending in one of these is a document's title, not its author: "the Care Act (2014)".
_DOCUMENT_WORDS = {
    w.casefold()
    for w in """Act Acts Bill Paper Papers Plan Strategy Review Report Regulations
    Order Directive Measure Framework Programme Census Agreement Guidance Manifesto Statement
    Settlement Budget Inquiry Commission's Survey""".split()
}


def _capitalised(word: str) -> bool:
    return word[:1].isupper()


def _not_a_name(word: str) -> bool:
    """A lowercase connector, or a closed-class word or month written as a word (not as an acronym: "LA")."""
    if word in _CONNECTORS:
        return True
    return not (word.isupper() and len(word) > 1) and word.casefold() in _CLOSED | _MONTHS


@dataclass
class _Parsed:
    """One work a citation names: author as written, one year, its locator; spans within the part."""

    author: str
    author_start: int
    year: str
    year_start: int
    end: int
    locator: str | None = None
    title: str | None = None
    first: bool = True  # the first year of its author (the citation's raw starts at the author)


@dataclass
class _Part:
    works: list[_Parsed] = field(default_factory=list)
    error: str | None = None


def _locator(tokens: list[_Tok], i: int, label: str) -> tuple[str | None, int]:
    """Read pages ``12``, ``3–4``, ``vi``, ``12, 15`` from token i; return (locator, next index)."""
    pieces: list[str] = []
    j = i
    while j < len(tokens):
        tok = tokens[j]
        if (tok.kind in ("num", "year") and not tok.text.endswith("%")) or (
            tok.kind == "word" and _ROMAN.match(tok.text)
        ):
            if pieces and pieces[-1] not in ("-", "–", ","):
                break
            if pieces and pieces[-1] == "," and tok.kind == "year":
                break  # ", 2004": the next year of a citation, not a page
            pieces.append(tok.text.lower() if tok.kind == "word" else tok.text)
            j += 1
        elif tok.text in ("-", "–") and pieces and pieces[-1] not in ("-", "–", ","):
            pieces.append(tok.text)  # the dash as written, as the locator is
            j += 1
        elif tok.text == "," and pieces and pieces[-1] not in ("-", "–", ","):
            if j + 1 < len(tokens) and tokens[j + 1].kind == "num" and tokens[j + 1].start - tok.end <= 1:
                pieces.append(",")
                j += 1
            else:
                break
        else:
            break
    while pieces and pieces[-1] in ("-", "–", ","):
        pieces.pop()
        j -= 1
    if not pieces:
        return None, i
    text = "".join(p + (" " if p == "," else "") for p in pieces)
    return label + text, j


def _is_title(chunk: str) -> bool:
    words = re.findall(r"[^\W\d_][\w’'-]*", chunk)
    lower = [w for w in words if w.islower() and w not in _CONNECTORS]
    return ":" in chunk or chunk.strip().startswith(("‘", "“", '"', "'", "*", "_")) or len(lower) >= 2


def _author(text: str, tokens: list[_Tok]) -> tuple[str, int, str | None] | str:
    """Return (author, start, title) read from the tokens before a year, or why they are not one."""
    if not tokens:
        return ""
    if any(t.kind in ("url", "money") or (t.kind == "num") for t in tokens):
        return "holds a number or link where the author should be"
    words = [t for t in tokens if t.kind in ("word", "etal")]
    if not words or not any(_capitalised(t.text) for t in words if t.kind == "word"):
        return "no author"
    if not _capitalised(tokens[0].text) and tokens[0].text.casefold() not in _CONNECTORS | {"et"}:
        return "no author"
    start, end = tokens[0].start, tokens[-1].end
    while tokens and tokens[-1].text in (",", ":", "“", "”", '"', "‘"):
        tokens = tokens[:-1]
        end = tokens[-1].end if tokens else start
    span = text[start:end]
    # Month and day before the year belong to the date: "(NHS England, March 2014)".
    span_words = span.split()
    while span_words and span_words[-1].casefold().strip(",") in _MONTHS:
        span_words.pop()
        span = span[: span.rfind(span_words[-1]) + len(span_words[-1])] if span_words else ""
    # An acronym in brackets is the same body again: "Personal Social Services Research Unit [PSSRU]".
    span = re.sub(r"\s*\[[^\]]*\]?|\s*\([^)]*\)?", "", span).rstrip(" ,")
    if not span:
        return "no author"
    chunks = span.split(",")
    title = None
    if len(chunks) >= 2 and _is_title(chunks[-1]) and not _is_title(",".join(chunks[:-1])):
        title = chunks[-1].strip()
        span = ",".join(chunks[:-1]).rstrip()
    if len(span.split()) > 14:
        return "too long for an author"
    last = re.findall(r"[\w’']+", span)
    if last and last[-1].casefold() in _DOCUMENT_WORDS:
        return "a document's title, not an author"
    # "(In 2012)" is prose; "(An, 2012)" names someone: the comma before the year says so.
    if all(_not_a_name(w) for w in re.findall(r"[\w’']+", span)) and not (
        tokens[-1:]
        and text[tokens[-1].end :].lstrip().startswith(",")
        and span[:1].isupper()
        and not any(w in _CONNECTORS for w in span.split())
    ):
        return "no author"
    return span, start, title


def _parse_part(text: str, offset: int = 0, inherited: str | None = None) -> _Part:
    """Read one ``;``-separated part of a parenthesis: lead-in, author, years, locators, ``cited in``."""
    part = _Part()
    pos = _lead_end(text)
    tokens = [t for t in _tokens(text) if t.start >= pos]
    years = [n for n, t in enumerate(tokens) if t.kind == "year"]
    if not years:
        part.error = "no year"
        return part
    first = years[0]
    author = _author(text, tokens[:first])
    if author == "":
        if inherited is None:
            part.error = "no author"
            return part
        name, name_start, title = inherited, -1, None
    elif isinstance(author, str):
        part.error = author
        return part
    else:
        name, name_start, title = author
    i = first
    first_of_author = name_start >= 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind != "year":
            part.error = f"{tok.text!r} where a year should be"
            return part
        work = _Parsed(
            name,
            offset + (name_start if first_of_author else tok.start),
            tok.text,
            offset + tok.start,
            offset + tok.end,
            title=title,
            first=first_of_author,
        )
        first_of_author = False
        i += 1
        # Locator: ": 12", ", p. 12", " p 12", ", ch. 3".
        if i < len(tokens) and tokens[i].text == ":":
            loc, j = _locator(tokens, i + 1, "")
            if loc is None:
                part.error = "a colon without a page after the year"
                return part
            work.locator, work.end, i = loc, offset + tokens[j - 1].end, j
        else:
            j = i + 1 if i < len(tokens) and tokens[i].text == "," else i
            label = tokens[j].text.casefold() if j < len(tokens) else ""
            if j < len(tokens) and label in _LOCATOR_LABELS:
                loc, k = _locator(tokens, j + 1, _LOCATOR_LABELS[label])
                if loc is None:
                    part.error = f"{tokens[j].text!r} without a page"
                    return part
                work.locator, work.end, i = loc, offset + tokens[k - 1].end, k
        part.works.append(work)
        if i >= len(tokens):
            break
        if tokens[i].text == "," and i + 1 < len(tokens) and tokens[i + 1].kind == "year":
            i += 1
            continue
        rest_start = tokens[i].start
        secondary = _SECONDARY.match(text[rest_start:]) or (
            _LEAD_IN.match(text[rest_start:]) if tokens[i].text == "," and _lead_end(text[rest_start:]) else None
        )
        if secondary:
            skip = secondary.end() if secondary.re is _SECONDARY else 0
            nested = _parse_part(text[rest_start + skip :], offset + rest_start + skip)
            if nested.error:
                part.error = nested.error
            part.works += nested.works
            return part
        if text[rest_start:].strip(" .,") == "":
            break
        part.error = f"{text[rest_start:].strip()!r} after the year"
        return part
    return part


def parse_citation(text: str) -> dict[str, str | int | None] | None:
    """Parse one citation ``Author, Year[:locator]`` (lead-in allowed); None if it is not one.

    Returns author, year, locator and the start and end of the citation proper within ``text``.
    """
    part = _parse_part(text)
    if part.error or not part.works:
        return None
    work = part.works[0]
    return {
        "author": work.author,
        "year": work.year,
        "locator": work.locator,
        "start": work.author_start,
        "end": work.end,
    }


# --- Groups in a claim -----------------------------------------------------------------------


def _groups(text: str) -> Iterable[tuple[int, int]]:
    """Yield (start, end) of each innermost parenthesis, end past its ``)``."""
    stack: list[int] = []
    for i, char in enumerate(text):
        if char == "(":
            stack.append(i)
        elif char == ")" and stack:
            start = stack.pop()
            if "(" not in text[start + 1 : i]:
                yield start, i + 1


def function_label(name: str) -> str:
    """Return the word for a CiTO citation function (``citesAsEvidence`` -> ``evidence``; else its words)."""
    return FUNCTION_LABELS.get(name) or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def _function(text: str, start: int) -> str:
    before = text[:start].rstrip()
    if before.endswith(_CLOSING_QUOTES):
        return QUOTES
    if before.endswith("’") and "‘" in before:
        return QUOTES  # a single-quoted quotation; a bare ’ is usually an apostrophe
    return EVIDENCE


_NAME_WORD = re.compile(r"[^\s()\[\]]+")


def _narrative_name(before: str) -> tuple[int, str] | None:
    """Return (start, name) of the name written just before a parenthesis, or None.

    Reads back from the parenthesis over capitalised words, acronyms, ``et al.`` and the
    lowercase words a corporate name holds ("Department of Health and Social Care").
    """
    if not before.endswith((" ", "\u00a0")) or not before.strip():
        return None
    words = list(_NAME_WORD.finditer(before))
    taken: list[re.Match] = []
    edge = len(before)
    for m in reversed(words):
        word = m.group(0)
        if before[m.end() : edge].strip():
            break  # "Services (ADASS) (2009)": a bracket or mark stands between
        edge = m.start()
        if taken and word.endswith((",", ";", ":", ".", "!", "?", "”", '"')) and not word.endswith(("al.", "et")):
            if not (word.endswith(".") and re.fullmatch(r"(?:[A-Z]\.)+", word)):
                break
        bare = re.sub(r"[’']s?$", "", word.strip('“”"‘')) if not taken else word.strip('“”"‘')
        if bare in ("al.", "al") or (bare == "et" and taken and taken[-1].group(0).startswith("al")):
            taken.append(m)
            continue
        if _capitalised(bare) or bare == "&" or (bare in _CONNECTORS and taken):
            taken.append(m)
            if len(taken) > 12:
                return None
            continue
        break
    while taken and (taken[-1].group(0) in _CONNECTORS or taken[-1].group(0) == "&"):
        taken.pop()
    if not taken:
        return None
    start, end = taken[-1].start(), taken[0].end()
    name = before[start:end]
    if not any(
        _capitalised(w) and w.casefold() not in _CLOSED and not re.fullmatch(r"(?:[A-Z]\.)+", w) for w in name.split()
    ):
        return None
    name = re.sub(r"[’']s$", "", name) if re.search(r"[\w.][’']s$", name) else name
    name = name.rstrip("’'")
    last = re.findall(r"[\w’']+", name)
    if not last or last[-1].casefold() in _DOCUMENT_WORDS | _MONTHS:
        return None
    if last[-1] in ("et", "al"):
        if len(last) < 3:
            return None
    return start, name


def _reference_entry(text: str, name_start: int, g_end: int) -> bool:
    """A line that opens ``Name (Year)`` and goes on with a title is a reference-list entry."""
    if text[:name_start].strip(" \t-*•–0123456789."):
        return False
    return bool(re.match(r"[,.:]?\s*[A-Z‘“'\"*_]", text[g_end:]))


def _citation(
    claim: Claim,
    number: int,
    start: int,
    end: int,
    group_id: str,
    group_raw: str,
    work: _Parsed,
    form: str,
    function: str,
) -> Citation:
    return Citation(
        id=f"{claim.id}-{number}",
        claim_id=claim.id,
        post_id=claim.post_id,
        raw=claim.text[start:end],
        start=claim.start + start,
        end=claim.start + end,
        group_id=group_id,
        group_raw=group_raw,
        author=work.author,
        year=work.year,
        locator=work.locator,
        function=function,
        form=form,
    )


def _scan_claim(claim: Claim) -> tuple[list[Citation], list[UnreadableCitation]]:
    text = claim.text
    citations: list[Citation] = []
    unreadable: list[UnreadableCitation] = []
    group_number = 0
    for g_start, g_end in _groups(text):
        inner_start, inner = g_start + 1, text[g_start + 1 : g_end - 1]
        group_raw = text[g_start:g_end]
        works: list[_Parsed] = []
        errors: list[str] = []
        offset, author = inner_start, None
        parts = inner.split(";")
        for n, piece in enumerate(parts):
            parsed = _parse_part(piece, offset, inherited=author if n else None)
            if parsed.error:
                errors.append(parsed.error)
            else:
                works += parsed.works
                author = parsed.works[-1].author if parsed.works else author
            offset += len(piece) + 1
        form = PARENTHETICAL
        narrative = None
        if not works and errors and errors[0] == "no author" and len(parts) == 1:
            # A year list alone, "(2012: 4)": narrative if a name stands right before it.
            narrative = _narrative_name(text[:g_start])
            if narrative and _reference_entry(text, narrative[0], g_end):
                narrative = None
            bare = _parse_part(inner, inner_start, inherited="\x00")
            if narrative and not bare.error and bare.works:
                form, errors = NARRATIVE, []
                name_start, name = narrative
                for k, work in enumerate(bare.works):
                    work.author = name
                    if k == 0:
                        work.author_start, work.first = name_start, True
                works = bare.works
            else:
                errors = ["no author"]
        if works:
            group_number += 1
            group_id = f"{claim.id}-g{group_number}"
            function = _function(text, works[0].author_start if form == NARRATIVE else g_start)
            for work in works:
                start = work.author_start if work.first else work.year_start
                end = g_end if form == NARRATIVE and work is works[-1] and work.first else work.end
                if form == NARRATIVE and not work.first:
                    end = work.end
                citations.append(
                    _citation(claim, len(citations) + 1, start, end, group_id, group_raw, work, form, function)
                )
        if (
            errors
            and (works or _looks_like_citation(inner, errors))
            and not (works and all(e in ("no year", "no author") for e in errors))
        ):
            unreadable.append(
                UnreadableCitation(
                    id=f"{claim.id}-u{len(unreadable) + 1}",
                    claim_id=claim.id,
                    post_id=claim.post_id,
                    text=group_raw,
                    start=claim.start + g_start,
                    end=claim.start + g_end,
                    reason="; ".join(e for e in errors if e) or "does not read as a citation",
                )
            )
    return citations, unreadable


def _looks_like_citation(inner: str, errors: list[str]) -> bool:
    """A parenthesis that names someone and a year but did not read: worth a person's look."""
    if all(e in ("no year", "no author", "a document's title, not an author") for e in errors):
        return False
    tokens = _tokens(inner)
    if len(inner.split()) > 16 or any(t.kind in ("url", "money") for t in tokens):
        return False
    has_year = any(t.kind == "year" for t in tokens)
    words = [t.text for t in tokens if t.kind == "word"]
    return has_year and bool(words) and _capitalised(words[0]) and words[0].casefold() not in _CLOSED


def extract_citations(claim: Claim) -> list[Citation]:
    """Return every author-date citation in a claim, with spans in post offsets, in order."""
    return _scan_claim(claim)[0]


def find_unreadable(claim: Claim) -> list[UnreadableCitation]:
    """Return the citation-like parentheses of a claim that do not read as citations."""
    return _scan_claim(claim)[1]


# --- Notes -----------------------------------------------------------------------------------

_NOTE_LINE = re.compile(r"^[ \t]*\[\^?(?P<n>\d{1,3})\][ \t]*:?[ \t]*(?:[–—-][ \t]*)?(?P<text>\S.*)$", re.MULTILINE)
_MARKER = re.compile(r"(?<!^)(?<!\[)\[\^?(?P<n>\d{1,3})\](?!\()(?![ \t]*:)", re.MULTILINE)
_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>]+")
# "HSCIC’s 2013/14 social services expenditure report": a body's possessive, a year, a document.
_POSSESSIVE_SOURCE = re.compile(
    r"(?P<author>(?:[A-Z][\w&-]*|&)(?:\s+(?:of|and|for|the|&|[A-Z][\w&-]*))*)[’']s\s+"
    r"(?:(?P<year>(?:1[5-9]|20)\d\d)(?:/(?P<year2>\d\d))?\s+)?"
    r"(?P<title>(?:[\w,:–-]+\s+){0,10}?(?i:report|release|review|guidance|survey|statistics|data|dataset|"
    r"publication|paper|summary|analysis|accounts|figures|bulletin|briefing|evaluation|study|return))\b"
)
_NOTE_LOCATOR = re.compile(
    r"\b(?P<label>Table|Figure|Fig\.|Chart|paragraph|para\.?|page|p\.|Annex|Appendix|"
    r"section|chapter)\s+(?P<n>[\dA-Za-z]+(?:\.\d+)*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Note:
    """A footnote or endnote: its number, text and span in the post body."""

    number: str
    text: str
    start: int
    end: int


def find_notes(body: str) -> dict[str, Note]:
    """Return the notes of a post body by number: lines ``[1] – text`` or ``[^1]: text``."""
    notes: dict[str, Note] = {}
    for m in _NOTE_LINE.finditer(body):
        notes.setdefault(m.group("n"), Note(m.group("n"), m.group("text").strip(), m.start("text"), m.end("text")))
    return notes


def _note_locator(text: str, at: int | None = None) -> str | None:
    """Return the "Table 3.4" a note points into, in the sentence that names the source at ``at``."""
    if at is not None:
        sentence_start = max(text.rfind(". ", 0, at), text.rfind("; ", 0, at)) + 1
        text = text[sentence_start : text.find(". ", at) if ". " in text[at:] else len(text)]
    m = _NOTE_LOCATOR.search(text)
    return " ".join(m.group(0).split()) if m else None


def _note_works(note: Note) -> list[tuple[str, str, str | None]]:
    """Return (author, year, locator) of every source a note names; year may be empty (a link)."""
    works: list[tuple[str, str, str | None]] = []
    probe = Claim(id="note", post_id="", ordinal=0, start=0, end=len(note.text), text=note.text)
    for cit in extract_citations(probe):
        works.append((cit.author, cit.year, cit.locator))
    if not works:
        for m in _POSSESSIVE_SOURCE.finditer(note.text):
            author = re.sub(r"^(?:The|See|Source|In|From)\s+", "", m.group("author")).strip()
            if author.casefold() in _CLOSED or not author:
                continue
            year = m.group("year") or next(iter(re.findall(r"\b(?:1[5-9]|20)\d\d\b", m.group("title"))), "")
            works.append((author, year, _note_locator(note.text, m.start())))
    if not works:
        for url in _URL.findall(note.text):
            works.append((url.rstrip(".,;"), "", _note_locator(note.text)))
    return works


def extract_post_citations(post: Post, claims: Iterable[Claim]) -> tuple[list[Citation], list[UnreadableCitation]]:
    """Return every citation of a post's claims (author-date and notes) and the unreadable ones.

    A claim standing in a note (``[1] – ...``) is not scanned itself: the works its note names are
    cited by the claim that carries the marker, as ``form="note"`` citations with the note's text.
    """
    notes = find_notes(post.body)
    note_spans = [(n.start, n.end) for n in notes.values()]
    citations: list[Citation] = []
    unreadable: list[UnreadableCitation] = []
    for claim in claims:
        if any(s <= claim.start < e for s, e in note_spans) or _NOTE_LINE.match(claim.text):
            continue
        found, odd = _scan_claim(claim)
        for m in _MARKER.finditer(claim.text):
            note = notes.get(m.group("n"))
            if note is None:
                continue
            group_id = f"{claim.id}-n{m.group('n')}"
            for author, year, locator in _note_works(note):
                found.append(
                    Citation(
                        id="",
                        claim_id=claim.id,
                        post_id=claim.post_id,
                        raw=m.group(0),
                        start=claim.start + m.start(),
                        end=claim.start + m.end(),
                        group_id=group_id,
                        group_raw=m.group(0),
                        author=author,
                        year=year,
                        locator=locator,
                        function=EVIDENCE,
                        form=NOTE,
                        note=note.text,
                    )
                )
        found.sort(key=lambda c: (c.start, c.end))
        citations += [dataclasses.replace(c, id=f"{claim.id}-{n}") for n, c in enumerate(found, 1)]
        unreadable += odd
    return citations, unreadable


def masked_for_tagging(post: Post, claims: Iterable[Claim], citations: Iterable[Citation]) -> list[Claim]:
    """Return the claims with what only names a source blanked out, offsets kept, for concept tagging.

    A citation's parenthesis ("(Carr, Personalisation: a rough guide, 2008)") and the title of a
    source a note names ("HSCIC's ... Expenditure and Unit Costs report") say where a claim comes
    from, not what it is about.
    """
    groups: dict[str, list[tuple[int, int]]] = {}
    for cit in citations:
        if cit.form == PARENTHETICAL:
            groups.setdefault(cit.claim_id, []).append((cit.start, cit.end))
    note_spans = [(n.start, n.end) for n in find_notes(post.body).values()]
    out = []
    for claim in claims:
        text = claim.text
        spans = []
        for start, end in groups.get(claim.id, []):
            a, b = start - claim.start, end - claim.start
            a = text.rfind("(", 0, a + 1)
            b = text.find(")", b - 1)
            if a >= 0 and b >= 0:
                spans.append((a, b + 1))
        if any(s <= claim.start < e for s, e in note_spans) or _NOTE_LINE.match(text):
            spans += [m.span() for m in _POSSESSIVE_SOURCE.finditer(text)]
        for a, b in spans:
            text = text[:a] + " " * (b - a) + text[b:]
        out.append(claim if text == claim.text else dataclasses.replace(claim, text=text))
    return out


# --- Resolution ------------------------------------------------------------------------------


def _index(organisations: OrganisationIndex | Iterable[Organisation] | None) -> OrganisationIndex:
    if isinstance(organisations, OrganisationIndex):
        return organisations
    return OrganisationIndex(organisations or ())


_SPLIT_AUTHORS = re.compile(r"\s*(?:,|;|/|&|\band\b)\s*")
_ET_AL = re.compile(r"\s*,?\s*\bet\.?\s+al\b\.?\s*$")


@dataclass(frozen=True)
class _Entry:
    key: str
    year: str  # with suffix, "2011b"
    persons: tuple[str, ...]  # one identity per author in order: "org:dh" or "name:needham"
    bodies: frozenset[str]  # every corporate identity the entry names (shortauthor, institution ...)
    url: str


class CitationResolver:
    """Match cited authors and years to library keys, author by author, through the organisation authority."""

    def __init__(
        self,
        references: Mapping[str, Reference],
        organisations: OrganisationIndex | Iterable[Organisation] | None = None,
    ):
        self.references = references
        self.organisations = _index(organisations)
        self._entries: list[_Entry] = []
        self._by_first: dict[str, list[_Entry]] = {}
        self._by_url: dict[str, str] = {}
        for key, ref in references.items():
            persons = tuple(
                self._identity(n.text, n.corporate, n.last)
                for n in split_persons(ref.fields.get("author") or ref.fields.get("editor") or "")
            )
            bodies = {self.author_id(form) for form in reference_authors(ref)}
            bodies |= {p for p in persons if p.startswith("org:")}
            entry = _Entry(key, key_year(ref), persons, frozenset(bodies), ref.fields.get("url", ""))
            self._entries.append(entry)
            for who in {*(persons[:1]), *bodies}:
                self._by_first.setdefault(who, []).append(entry)
            if entry.url:
                self._by_url[entry.url.rstrip("/").casefold()] = key

    def _identity(self, text: str, corporate: bool, last: str) -> str:
        org = self.organisations.lookup(text)
        if org:
            return f"org:{org.id}"
        if corporate:
            return f"name:{normalise_name(text)}"
        return f"name:{fold_surname(last)}"

    def author_id(self, name: str) -> str:
        """Return what an author form stands for: an organisation, else its folded surname or name."""
        org = self.organisations.lookup(name)
        if org:
            return f"org:{org.id}"
        words = name.split()
        if len(words) == 1:
            return f"name:{fold_surname(name)}"
        return f"name:{normalise_name(name)}"

    def _cited(self, author: str) -> tuple[list[list[str]], bool]:
        """Return the ways to read a cited author string as a list of identities, and et al."""
        et_al = bool(_ET_AL.search(author))
        text = _ET_AL.sub("", author).strip(" ,")
        readings: list[list[str]] = []
        whole = self.organisations.lookup(text)
        if whole:
            readings.append([f"org:{whole.id}"])

        def split(piece: str) -> list[str]:
            piece = piece.strip()
            org = self.organisations.lookup(piece)
            if org:
                return [f"org:{org.id}"]
            pieces = [p for p in _SPLIT_AUTHORS.split(piece) if p.strip()]
            if len(pieces) > 1:
                return [i for p in pieces for i in split(p)]
            return [self.author_id(piece)]

        comma = [p for p in re.split(r"\s*[,/;]\s*", text) if p.strip()]
        readings.append([i for p in comma for i in split(p)])
        if not whole:
            readings.append([f"name:{normalise_name(text)}"])
        unique: list[list[str]] = []
        for r in readings:
            if r and r not in unique:
                unique.append(r)
        return unique, et_al

    def _matches(self, reading: list[str], et_al: bool, year: str) -> list[_Entry]:
        first = reading[0]
        found = []
        candidates = [e for e in self._by_first.get(first, []) if e.year == year]
        if len(reading) == 1 and not et_al:
            # An entry the body wrote beats one it only published: (King's Fund, 2012) is the
            # Fund's own report, not a paper by Goodwin et al. with the Fund as institution.
            own = [e for e in candidates if e.persons[:1] == (first,) or (not e.persons and first in e.bodies)]
            # And a sole author's work beats one written with others: (Needham, 2009).
            sole = [e for e in own if len(e.persons) <= 1]
            if sole or own:
                return list(dict.fromkeys(sole or own))
        if len(reading) > 1 and not et_al:
            # Every author named: the entry with exactly those authors, in that order, first.
            exact = [e for e in candidates if list(e.persons) == reading]
            if exact:
                return exact
        for entry in candidates:
            if len(reading) == 1 and not et_al:
                if first in entry.bodies or (entry.persons and entry.persons[0] == first):
                    found.append(entry)
            elif et_al:
                if entry.persons and entry.persons[0] == first:
                    found.append(entry)
            elif list(entry.persons) == reading or set(reading) <= set(entry.persons) | entry.bodies:
                found.append(entry)
        return list(dict.fromkeys(found))

    def resolve(self, author: str, year: str) -> tuple[str | None, str | None, list[str]]:
        """Return (key, None, [key]) when resolved, else (None, reason, candidate keys)."""
        readings, et_al = self._cited(author)
        for reading in readings:
            exact = sorted({e.key for e in self._matches(reading, et_al, year)})
            if len(exact) == 1:
                return exact[0], None, exact
            if len(exact) > 1:
                return None, f"{author} {year} is ambiguous: {', '.join(exact)}", exact
        if year[-1:].isdigit():
            for reading in readings:
                suffixed = sorted(
                    {e.key for e in self._by_first.get(reading[0], []) if e.year[:4] == year and e.year != year}
                )
                if len(suffixed) > 1:
                    return None, f"{author} {year} is ambiguous: {', '.join(suffixed)}", suffixed
                if len(suffixed) == 1:
                    return (
                        None,
                        (
                            f"no entry for {author} {year} in the library; {suffixed[0]} is "
                            f"{author} {key_year(self.references[suffixed[0]])}: add the suffix"
                        ),
                        suffixed,
                    )
        near = self._near(readings, year)
        if near:
            return None, (f"no entry for {author} {year} in the library; closest: {', '.join(near)}"), near
        return None, f"no entry for {author} {year} in the library", []

    def _near(self, readings: list[list[str]], year: str) -> list[str]:
        """Entries one step from the citation: same author another year, or a surname a letter off."""
        close: list[str] = []
        for reading in readings:
            for entry in self._by_first.get(reading[0], []):
                if entry.year[:4].isdigit() and year[:4].isdigit() and abs(int(entry.year[:4]) - int(year[:4])) <= 1:
                    close.append(entry.key)
            names = [w for w in self._by_first if w.startswith("name:")]
            for other in difflib.get_close_matches(reading[0], names, n=3, cutoff=0.85):
                if other != reading[0]:
                    close += [e.key for e in self._by_first[other] if e.year == year]
        return sorted(dict.fromkeys(close))[:5]

    def resolve_url(self, url: str) -> str | None:
        """Return the key of the entry whose url field is ``url``, or None."""
        return self._by_url.get(url.rstrip("/").casefold())

    def resolve_citation(self, citation: Citation) -> Citation:
        """Return ``citation`` resolved; a narrative name read too far back is cut to the part that resolves."""
        if citation.form == NOTE:
            return self._resolve_note(citation)
        key, reason, _ = self.resolve(citation.author, citation.year)
        if key is None and citation.form == NARRATIVE and citation.raw.startswith(citation.author):
            # "As Glasby (2011)": the name read back may start with a word of the sentence.
            words = list(re.finditer(r"\S+", citation.author))
            for w in words[1:]:
                shorter = citation.author[w.start() :]
                k, _, _ = self.resolve(shorter, citation.year)
                if k:
                    return dataclasses.replace(
                        citation,
                        author=shorter,
                        raw=citation.raw[w.start() :],
                        start=citation.start + w.start(),
                        reference_key=k,
                        status="resolved",
                        reason=None,
                    )
            trimmed = _trim_closed(citation.author)
            if trimmed != citation.author:
                cut = len(citation.author) - len(trimmed)
                citation = dataclasses.replace(
                    citation, author=trimmed, raw=citation.raw[cut:], start=citation.start + cut
                )
                key, reason, _ = self.resolve(trimmed, citation.year)
        if key:
            return dataclasses.replace(citation, reference_key=key, status="resolved", reason=None)
        return dataclasses.replace(citation, reference_key=None, status="unresolved", reason=reason)

    def _resolve_note(self, citation: Citation) -> Citation:
        note = f" (note: {citation.note})" if citation.note else ""
        if not citation.year:
            if _URL.match(citation.author):
                key = self.resolve_url(citation.author)
                if key:
                    return dataclasses.replace(citation, reference_key=key, status="resolved", reason=None)
                why = f"the note links {citation.author}, which no library entry has as its url"
            else:
                why = f"the note names a work by {citation.author} without its year"
            return dataclasses.replace(citation, status="unresolved", reference_key=None, reason=why + note)
        key, reason, _ = self.resolve(citation.author, citation.year)
        if key is None and citation.note and re.search(rf"{citation.year}/\d\d", citation.note):
            # A financial year "2013/14" is published under its second year as often as its first.
            end = re.search(rf"{citation.year}/(\d\d)", citation.note)
            if end:
                key = self.resolve(citation.author, citation.year[:2] + end.group(1))[0]
        if key:
            return dataclasses.replace(citation, reference_key=key, status="resolved", reason=None)
        return dataclasses.replace(citation, reference_key=None, status="unresolved", reason=f"{reason}{note}")


def _trim_closed(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[0].casefold() in _CLOSED:
        words = words[1:]
    return " ".join(words) if words != name.split() else name


def resolve_citations(
    citations: Iterable[Citation],
    references: Mapping[str, Reference],
    organisations: OrganisationIndex | Iterable[Organisation] | None = None,
    *,
    resolver: CitationResolver | None = None,
) -> list[Citation]:
    """Return the citations with reference_key/status/reason set against the library.

    Pass a ``resolver`` built once to resolve many batches (one per post) without rebuilding it.
    """
    resolver = resolver or CitationResolver(references, organisations)
    return [resolver.resolve_citation(citation) for citation in citations]


# --- Cite queries ----------------------------------------------------------------------------

_HUMAN = re.compile(
    r"^(?P<author>.*?\D)[\s,]+(?P<year>(?:1[5-9]|20)\d\d[a-zA-Z]?)"
    r"(?:\s*(?::|,)\s*(?:pp?\.\s*)?(?P<locator>\S.*))?$"
)


def _human_forms(resolver: CitationResolver) -> dict[str, str]:
    forms: dict[str, str] = {}
    for key, ref in resolver.references.items():
        forms[key.casefold()] = key
        for author in reference_authors(ref):
            forms[f"{latex_decode(author)} {key_year(ref)}".casefold()] = key
    return forms


def parse_cite_query(
    text: str,
    references: Mapping[str, Reference],
    organisations: OrganisationIndex | Iterable[Organisation] | None = None,
) -> str:
    """Return the library key a query names: a key, "DH 2011b", "Department of Health 2011b" or "(DH, 2011b:6)".

    Case-insensitive. Raises NotFound with the closest keys as suggestions otherwise.
    """
    query = " ".join(text.split())
    folded = {key.casefold(): key for key in references}
    if query.casefold() in folded:
        return folded[query.casefold()]
    resolver = CitationResolver(references, organisations)
    inner = query[1:-1].strip() if query.startswith("(") and query.endswith(")") else query
    parts = [p for p in inner.split(";") if p.strip()]
    if len(parts) > 1:
        keys = [k for k in (_query_key(resolver, p) for p in parts) if k]
        raise NotFound(
            f"{query!r} holds {len(parts)} citations; ask for one at a time",
            hint="e.g. " + ", ".join(keys) if keys else None,
            suggestions=keys,
        )
    reason: str | None = f"no library entry matches {query!r}"
    candidates: list[str] = []
    parsed = parse_citation(inner) or _human(inner)
    if parsed:
        key, reason, candidates = resolver.resolve(str(parsed["author"]), str(parsed["year"]).lower())
        if key:
            return key
        # A year suffix written in capitals ("2011B") or an author the authority lacks.
        key = folded.get(re.sub(r"\W+", "", str(parsed["author"])).casefold() + str(parsed["year"]).lower())
        if key:
            return key
    suggestions = candidates or _closest(query, resolver)
    raise NotFound(
        reason or f"no library entry matches {query!r}",
        hint=("closest: " + ", ".join(suggestions)) if suggestions else "list the keys with `kg bibtex`",
        suggestions=suggestions,
    )


def _human(text: str) -> dict | None:
    match = _HUMAN.match(text.strip())
    if not match:
        return None
    return {"author": match.group("author").strip(" ,"), "year": match.group("year").lower()}


def _query_key(resolver: CitationResolver, part: str) -> str | None:
    parsed = parse_citation(part) or _human(part)
    if not parsed:
        return None
    return resolver.resolve(str(parsed["author"]), str(parsed["year"]))[0]


def _closest(query: str, resolver: CitationResolver, n: int = 5) -> list[str]:
    forms = _human_forms(resolver)
    compact = re.sub(r"[\s(),:;]+", " ", query).strip().casefold()
    matches = difflib.get_close_matches(compact, list(forms), n=n * 3, cutoff=0.4)
    keys = list(dict.fromkeys(forms[m] for m in matches))
    if len(keys) < n:
        squeezed = re.sub(r"\W+", "", query).casefold()
        by_key = {k.casefold(): k for k in resolver.references}
        for m in difflib.get_close_matches(squeezed, list(by_key), n=n, cutoff=0.4):
            if by_key[m] not in keys:
                keys.append(by_key[m])
    return keys[:n]


def is_key(text: str) -> bool:
    """Return True if text has the shape of a library key (DH2011b)."""
    return bool(KEY_RULE.match(text))
