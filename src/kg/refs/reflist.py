"""The reference-list reader: entries as people write them at the end of a post or briefing.

Handles the forms UK policy writing uses (Harvard and its variants, and the scraped blog's own):

    Department of Health (2010) Equity and excellence: liberating the NHS. London: DH. Cm 7881.
    Needham, C. and Carr, S. (2009) Co-production. SCIE Research Briefing 31. London: SCIE.
    Glasby, J. and Dickinson, H. (eds) (2009) International perspectives on ... Bristol: Policy Press.
    Le Grand, J. (2014) ‘Choice in care’, in Smith, A. (ed.) Care. Bristol: Policy Press, pp. 5–7.
    Bennett, L. et al. (2015) ‘Title’, Journal of Integrated Care, 23(4), pp. 12–24. doi:10.1108/x.
    King’s Fund (2012), Title (available here)       Available at: https://... [Accessed 3 May 2024].

A hand-written grammar rather than a library: the parsers on PyPI (refextract, GROBID's clients,
anystyle's wrappers) target journal references in scientific PDFs, need a server or a model, or
another language's runtime; grey literature's corporate authors and report numbers are exactly
what they get wrong. The entry's start is ``kg.refs.detect``'s rule; this module reads its parts.
"""

from __future__ import annotations

import datetime as dt
import re

from ..model import Failure, Reference
from . import Parsed
from .detect import EntryShape, entry_shape
from .work import Name, Work, mint_key, to_reference

STEP = "references"

# The link text a scrape leaves where a link was: "(available here)", "(available via here (pdf))".
_AVAILABLE = re.compile(r"\s*\(available\b[^()]*(?:\([^()]*\)[^()]*)*\)\s*$", re.IGNORECASE)
_URL = re.compile(r"<?(?P<url>(?:https?://|www\.)[^\s<>\]]+)>?")
_AVAILABLE_AT = re.compile(r"\b(?:available\s+(?:at|from|online)|retrieved\s+from|online)\s*:?\s*$", re.IGNORECASE)
_ACCESSED = re.compile(
    r"[\[(]?\s*(?:last\s+)?(?:accessed|viewed|retrieved)(?:\s+on)?\s*:?\s*(?P<date>[^\])]*?)\s*[\])]?\s*\.?\s*$",
    re.IGNORECASE,
)
_DOI = re.compile(r"(?:\bdoi:\s*|https?://(?:dx\.)?doi\.org/)(?P<doi>10\.\d{4,9}/[^\s\]>]+)", re.IGNORECASE)
_ACRONYM = re.compile(r"^[A-Za-z][\w’'&.-]{0,15}$")
_EDITORS = re.compile(r"^(?:eds?\.?|editors?)$", re.IGNORECASE)
# Words a full stop ends without ending a sentence.
_ABBREVIATIONS = frozenset(
    {
        "no",
        "vol",
        "vols",
        "pp",
        "p",
        "st",
        "dr",
        "co",
        "ltd",
        "inc",
        "etc",
        "e.g",
        "i.e",
        "v",
        "rev",
        "ch",
        "para",
        "paras",
        "fig",
        "dept",
        "govt",
        "univ",
    }
)
_BOUNDARY = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9(\[“‘\"'<]|In\b|in:|doi:|https?://|www\.)")
_PLACE_PUBLISHER = re.compile(
    r"^(?P<place>[A-Z][\w .’'-]{1,40}?)\s*:\s*(?P<publisher>[^:]{2,120}?)"
    r"(?:,\s*(?:pp?\.\s*)?(?P<pages>\d+\s*[-–—]\s*\d+|\d+))?$"
)
_JOURNAL = re.compile(
    r"^(?P<journal>[A-Z].{2,120}?)(?:,\s*|\s+[Vv]ol\.?\s*)(?:[Vv]ol\.?\s*)?(?P<volume>\d+)"
    r"(?:\s*\((?P<issue>[^)]{1,15})\))?"
    r"(?:\s*[,:]\s*(?:pp?\.\s*)?(?P<pages>[\dA-Za-z]+(?:\s*[-–—]\s*[\dA-Za-z]+)?))?$"
)
_EDITION = re.compile(r"^(?P<edition>\d+)(?:st|nd|rd|th)\s+(?:edn|ed|edition)\.?$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<series>[A-Z][^:]{0,80}?\D)\s+(?:[Nn]o\.?\s*)?(?P<number>\d[\w/.-]*)$")
# Publishers of books; any other publisher is a body publishing its own reports.
_BOOK_PUBLISHER = re.compile(
    r"\b(?:Press|Publish\w*|Books|Wiley|Routledge|Sage|Palgrave|Springer|Elsevier|"
    r"Macmillan|Blackwell|Penguin|Jessica Kingsley|Earthscan|Edward Elgar)\b"
)
_INITIALS = re.compile(r"^(?:[A-Z]\.?\s?-?){1,4}$")
_GIVEN = re.compile(r"^[A-Z][a-zà-ÿ’'-]+(?:\s+(?:[A-Z]\.?|[A-Z][a-zà-ÿ’'-]+))*$")
_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        1,
    )
}


def _sentences(text: str) -> list[str]:
    """Split text at sentence ends, but not after initials or abbreviations ("No.", "pp.")."""
    parts, start = [], 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()]
        word = re.split(r"[\s(]", before.rstrip(".?!"))[-1]
        if before.endswith(".") and (word.lower().rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word)):
            continue
        parts.append(before.strip())
        start = match.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _date(text: str) -> str:
    """Return an access date as ISO text: "3 May 2024", "May 3, 2024", "03/05/2024" (UK order)."""
    text = text.strip().rstrip(".")
    match = re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})", text)
    if match and match.group(2).lower()[:3] in {m[:3] for m in _MONTHS}:
        month = next(v for k, v in _MONTHS.items() if k[:3] == match.group(2).lower()[:3])
        return _iso(int(match.group(3)), month, int(match.group(1)))
    match = re.search(r"([A-Za-z]+)\s+(\d{1,2}),?\s+(\d{4})", text)
    if match and match.group(1).lower()[:3] in {m[:3] for m in _MONTHS}:
        month = next(v for k, v in _MONTHS.items() if k[:3] == match.group(1).lower()[:3])
        return _iso(int(match.group(3)), month, int(match.group(2)))
    match = re.search(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
    if match:
        return _iso(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        return _iso(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return ""


def _iso(year: int, month: int, day: int) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return ""


def _person(surname: str, given: str) -> Name:
    words = surname.split()
    particle = []
    while len(words) > 1 and words[0].islower():
        particle.append(words.pop(0))
    return Name(family=" ".join(words), given=given.strip(), particle=" ".join(particle))


# The last word of a body's name says what kind of body it is; "X Association and Y" is two bodies,
# while "Department of Health and Social Care" or "Department for Work and Pensions" is one.
_BODY_KINDS = frozenset(
    {
        "association",
        "trust",
        "fund",
        "foundation",
        "commission",
        "council",
        "office",
        "institute",
        "network",
        "partnership",
        "committee",
        "confederation",
        "government",
        "england",
        "uk",
        "wales",
        "scotland",
        "centre",
        "center",
        "college",
        "society",
        "alliance",
        "federation",
        "board",
        "authority",
        "agency",
        "unit",
        "group",
        "forum",
        "coalition",
        "charity",
        "providers",
        "improvement",
        "excellence",
        "inclusion",
        "ombudsman",
        "treasury",
        "parliament",
        "assembly",
        "executive",
        "university",
    }
)


def split_bodies(text: str) -> list[str]:
    """Split "NHS Confederation, NHS Providers and the LGA" into bodies; keep one body's name whole."""
    # Commas separate bodies only in a list that ends in "and": "Mental Health Network, NHS
    # Confederation" is one body, the network of the confederation.
    if not re.search(r"\s(?:and|&)\s", text):
        return [text]
    parts = re.split(r"\s+(?:and|&)\s+|,\s+(?=(?:the\s+)?[A-Z])", text)
    if len(parts) < 2:
        return [text]
    for left, right in zip(parts, parts[1:]):
        last = left.split()[-1].casefold() if left.split() else ""
        right_words = re.sub(r"^the\s+", "", right).split()
        full = len(right_words) >= 2 or (right_words and re.fullmatch(r"[A-Z][A-Za-z]*[A-Z]+[a-z]?", right_words[0]))
        if last not in _BODY_KINDS or not full:
            return [text]
    return [p.strip() for p in parts]


def parse_names(text: str) -> tuple[list[Name], bool]:
    """Return the names of an author block, and whether it ended in "et al.".

    Persons are ``Surname, I.`` (or ``Surname I`` as Vancouver writes them), joined by commas,
    "and" or "&". A block with no initials or given names is one body's name, kept whole: "and"
    and commas stand inside bodies' names ("Department of Health and Social Care",
    "Mental Health Network, NHS Confederation").
    """
    et_al = bool(re.search(r"\bet\s+al\.?\s*$", text))
    text = re.sub(r",?\s*\bet\s+al\.?\s*$", "", text).strip().rstrip(",")
    chunks = [c.strip() for c in re.split(r"\s*(?:,\s*and\b|\band\b|&|;)\s*", text) if c.strip()]
    people: list[Name] = []
    for chunk in chunks:
        parts = [p.strip() for p in chunk.split(",") if p.strip()]
        i = 0
        while i < len(parts):
            part = parts[i]
            following = parts[i + 1] if i + 1 < len(parts) else None
            if following and (
                _INITIALS.match(following)
                or (_GIVEN.match(following) and len(following.split()) <= 3 and len(part.split()) <= 3)
            ):
                people.append(_person(part, following))
                i += 2
                continue
            return [Name(literal=body) for body in split_bodies(text)], et_al  # not persons: bodies
        continue
    return people, et_al


def _take_links(rest: str, work: Work) -> str:
    """Take the DOI, URL and access date out of an entry's text; return what is left."""
    doi = _DOI.search(rest)
    if doi:
        work.doi = doi.group("doi").rstrip(".,;")
        rest = (rest[: doi.start()] + rest[doi.end() :]).strip()
    accessed = _ACCESSED.search(rest)
    if accessed and accessed.group("date"):
        work.accessed = _date(accessed.group("date"))
        rest = rest[: accessed.start()].strip()
    url = _URL.search(rest)
    if url:
        work.url = url.group("url").rstrip(".,;)")
        if work.url.startswith("www."):
            work.url = "https://" + work.url
        before = _AVAILABLE_AT.sub("", rest[: url.start()].rstrip()).rstrip()
        after = rest[url.end() :].strip().lstrip(".,;) ")
        rest = (before + (" " + after if after else "")).strip()
    return _AVAILABLE_AT.sub("", rest).strip()


def _title_and_rest(rest: str) -> tuple[str, list[str]]:
    quoted = re.match(r"^[‘'“\"](?P<title>.+?)[’'”\"](?=[\s,.:;]|$)[,.]?\s*(?P<rest>.*)$", rest)
    if quoted:
        return quoted.group("title").strip(), _sentences(quoted.group("rest"))
    italic = re.match(r"^(?P<mark>\*{1,2}|_{1,2})(?P<title>.+?)(?P=mark)[,.]?\s*(?P<rest>.*)$", rest)
    if italic:
        return italic.group("title").strip(), _sentences(italic.group("rest"))
    sentences = _sentences(rest)
    return (sentences[0] if sentences else ""), sentences[1:]


def _chapter(segment: str, work: Work) -> bool:
    match = re.match(r"^[Ii]n:?\s+(?P<editors>.+?)\s*\((?P<role>eds?\.?|editors?)\)\s*,?\s*(?P<book>.+)$", segment)
    if not match:
        return False
    work.kind = "chapter"
    work.editors = parse_names(match.group("editors"))[0]
    book = match.group("book").strip().strip("*_")
    sentences = _sentences(book)
    work.container = sentences[0].rstrip(".").strip("*_ ") if sentences else book
    for extra in sentences[1:]:
        _segment(extra, work)
    return True


def _segment(segment: str, work: Work) -> None:
    """Read one sentence after the title: publisher, journal, number, edition; else keep it as a note."""
    segment = segment.strip().rstrip(".").strip()
    if not segment:
        return
    if re.match(r"^[Ii]n:?\s", segment) and _chapter(segment, work):
        return
    pages = re.fullmatch(r"pp?\.\s*(?P<pages>\d+(?:\s*[-–—]\s*\d+)?)", segment)
    if pages:
        work.pages = pages.group("pages")
        return
    place = _PLACE_PUBLISHER.match(segment)
    if place and not work.publisher:
        work.place, work.publisher = place.group("place").strip(), place.group("publisher").strip()
        if place.group("pages"):
            work.pages = place.group("pages")
        return
    if not work.container:
        journal = _JOURNAL.match(segment)
        if journal:
            work.kind = "article"
            work.container = journal.group("journal").strip("*_ ")
            work.volume, work.issue = journal.group("volume"), journal.group("issue") or ""
            work.pages = journal.group("pages") or ""
            return
    edition = _EDITION.match(segment)
    if edition:
        work.edition = edition.group("edition")
        return
    numbered = _NUMBERED.match(segment)
    if numbered and not work.number:
        series = numbered.group("series").strip()
        if len(series) <= 4:  # "Cm 7881", "HC 2709": the number is both
            work.number = segment
        else:
            work.series, work.number = series, numbered.group("number")
        return
    work.note = "; ".join(filter(None, [work.note, segment]))


def parse_entry(text: str, shape: EntryShape | None = None) -> tuple[Work | None, str | None]:
    """Return the work one reference entry states, or None and why it cannot be read."""
    text = re.sub(r"[^\S\n]*\n\s*", " ", text).strip()  # an entry wrapped over lines; else as written
    shape = shape or entry_shape(text)
    if shape is None:
        return None, "not shaped as a reference (authors, then the year in parentheses, then a title)"
    work = Work()
    if not re.fullmatch(r"\d{4}", shape.year):
        return None, "has no year (n.d.), so no author-date citation can find it; add the year"
    work.year, work.suffix = shape.year, shape.suffix
    authors = shape.authors
    paren = (shape.paren or "").strip()
    editors = bool(_EDITORS.match(paren))
    if paren and not editors:
        if _ACRONYM.match(paren) and not paren.isdigit():
            work.shortauthor = paren
        else:
            authors = f"{authors} ({paren})"
    names, _et_al = parse_names(authors)
    if names and names[0].literal and len(names[0].literal.split()) > 12:
        return None, "the author part is too long for a body's name: a sentence, not a reference"
    if editors:
        work.editors = names
    else:
        work.authors = names
    rest = _AVAILABLE.sub("", shape.rest).strip()
    if shape.after == "," and not re.search(r"[.?!]\s+[A-Z]|https?://|www\.|\bdoi:", rest):
        # The blog's own form: "Body (ACR) (2011b), Title (available here)": all of it is the title.
        work.title = rest.rstrip(",;").strip()
        segments: list[str] = []
    else:
        title, segments = _title_and_rest(_take_links(rest, work))
        work.title = title.rstrip(".,;:").strip().strip("*_").strip()
    if not work.title:
        return None, "has no title after the year"
    for segment in segments:
        _segment(segment, work)
    if work.kind == "misc":
        lead_is_body = bool(work.authors) and work.authors[0].corporate
        if work.series or work.number or lead_is_body:
            work.kind = "report"
        elif work.publisher and _BOOK_PUBLISHER.search(work.publisher):
            work.kind = "book"
        elif work.publisher:
            work.kind = "report"  # a person's work published by a body: grey literature
        elif work.url:
            work.kind = "web"
    return work, None


def parse_reference(text: str) -> tuple[Reference | None, str | None]:
    """Return the library entry (a Reference) one entry's text states, or None and why not."""
    work, problem = parse_entry(text)
    if work is None:
        return None, problem
    return to_reference(work, mint_key(work)), None


def read(text: str, source: str) -> Parsed:
    """Read a pasted reference list: one entry per line (wrapped lines joined); report the rest."""
    from .detect import reference_sections

    parsed = Parsed()
    body = text.replace("\r\n", "\n")
    sections = reference_sections(body, bibliography=True)
    spans = sorted(sections[0].entries)
    covered = {body.count("\n", 0, a) + 1 for a, _ in spans}
    for number, line in enumerate(body.split("\n"), 1):
        if line.strip() and number not in covered and not line.lstrip().startswith("%"):
            parsed.failures.append(
                Failure(
                    STEP,
                    f"{source}:{number}",
                    (
                        f"line {number}: {line.strip()[:80]!r} is not shaped as a reference (authors, the year "
                        f"in parentheses, a title); fix it in {source}"
                    ),
                )
            )
    for a, b in spans:
        line_no = body.count("\n", 0, a) + 1
        work, problem = parse_entry(body[a:b])
        if work is None:
            parsed.failures.append(
                Failure(STEP, f"{source}:{line_no}", f"line {line_no}: {body[a:b].strip()[:80]!r} {problem}")
            )
            continue
        work.where = f"{source}:{line_no}"
        parsed.minted.add(len(parsed.references))
        parsed.references.append(to_reference(work, mint_key(work)))
    return parsed
