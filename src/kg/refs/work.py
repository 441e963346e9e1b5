"""What every reader yields before it is a library entry: a ``Work``, and its one mapping to BibTeX.

CSL-JSON, RIS and a post's reference list each describe a work in their own terms; each reader
translates its terms into a Work, and ``to_reference`` alone decides the BibTeX entry type and
fields (so an imported report is the same ``@techreport`` whichever file it came from, and
biber and classic BibTeX both accept it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model import Reference

#: The kinds of work readers report; each maps to one BibTeX type both biber and bibtex know.
KINDS = {
    "article": "article",
    "book": "book",
    "chapter": "incollection",
    "report": "techreport",
    "web": "misc",
    "conference": "inproceedings",
    "thesis": "phdthesis",
    "misc": "misc",
    "unpublished": "unpublished",
    "booklet": "booklet",
}

# Fields of each BibTeX type that carry the container (journal or book) and the publishing body.
_CONTAINER = {"article": "journal", "incollection": "booktitle", "inproceedings": "booktitle"}
_PUBLISHER = {"techreport": "institution", "phdthesis": "school"}

# Fields biblatex's data model allows only on some entry types (biber --validate-datamodel).
_HAS_SERIES = {"book", "incollection", "inproceedings", "article", "booklet"}
_HAS_ISBN = {"book", "incollection", "inproceedings"}

_ORDER = ("author", "editor", "shortauthor", "institution", "school", "publisher", "year", "title")

_YEAR = re.compile(r"(?P<year>1[5-9]\d\d|20\d\d)(?P<suffix>[a-z]?)\b")


@dataclass
class Name:
    """One author or editor: a person (family, given, particle, suffix) or a body (literal)."""

    family: str = ""
    given: str = ""
    particle: str = ""  # "van der", "de": BibTeX's von part
    suffix: str = ""  # "Jr"
    literal: str = ""  # a corporate author, kept whole: "Department of Health"

    @property
    def corporate(self) -> bool:
        return bool(self.literal) or not self.given

    def display(self) -> str:
        """Return the name as a citation writes it: the family name, or the body's name."""
        if self.literal:
            return self.literal
        return " ".join(p for p in (self.particle, self.family) if p)


@dataclass
class Work:
    """One work as a reader found it, in neutral terms; provenance says where."""

    kind: str = "misc"  # a key of KINDS
    authors: list[Name] = field(default_factory=list)
    editors: list[Name] = field(default_factory=list)
    title: str = ""
    container: str = ""  # journal, book (for a chapter), proceedings, website
    publisher: str = ""
    place: str = ""
    year: str = ""
    suffix: str = ""  # the a/b of "2011b"
    month: int | None = None
    number: str = ""  # report or series number
    genre: str = ""  # "Research Briefing", "PhD thesis"
    volume: str = ""
    issue: str = ""
    pages: str = ""
    edition: str = ""
    series: str = ""
    url: str = ""
    doi: str = ""
    isbn: str = ""
    issn: str = ""
    accessed: str = ""  # ISO date "2024-03-01"
    note: str = ""
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    language: str = ""
    shortauthor: str = ""  # the acronym a text gives: "DH"
    key: str = ""  # the key the source declares, if any
    where: str = ""  # provenance: "file:line" or "post id:lines"

    def lead_author(self) -> str:
        people = self.authors or self.editors
        if people:
            return people[0].display()
        return self.publisher


def split_year(text: str) -> tuple[str, str]:
    """Return the year and its a/b suffix found in a date text: "2011b" -> ("2011", "b")."""
    match = _YEAR.search(text or "")
    return (match.group("year"), match.group("suffix")) if match else ("", "")


def _bibtex_name(name: Name, encode) -> str:
    if name.corporate:
        return "{" + encode(name.literal or name.family) + "}"
    last = " ".join(p for p in (name.particle, name.family) if p)
    parts = [encode(last)]
    if name.suffix:
        parts.append(encode(name.suffix))
    parts.append(encode(name.given))
    return ", ".join(parts)


def _pages(text: str) -> str:
    return re.sub(r"\s*[-–—]+\s*", "--", text.strip())


def to_reference(work: Work, key: str) -> Reference:
    """Return the library entry of a work, under this key: its BibTeX type and fields."""
    from ..references import latex_encode  # the library's one encoder (kg.references imports us)

    entry_type = KINDS.get(work.kind, "misc")
    fields: dict[str, str] = {}

    def put(name: str, value: str, *, protect: bool = False) -> None:
        if value and value.strip() and name not in fields:
            fields[name] = latex_encode(value.strip(), protect_acronyms=protect)

    if work.authors:
        fields["author"] = " and ".join(_bibtex_name(n, latex_encode) for n in work.authors)
    if work.editors:
        fields["editor"] = " and ".join(_bibtex_name(n, latex_encode) for n in work.editors)
    put("shortauthor", work.shortauthor)
    put("title", work.title, protect=True)
    if work.container:
        put(_CONTAINER.get(entry_type, "howpublished"), work.container, protect=True)
    publisher = work.publisher
    if entry_type == "techreport" and not publisher and work.authors and work.authors[0].corporate:
        publisher = work.authors[0].display()  # a body's report is published by that body
    if publisher:
        put(_PUBLISHER.get(entry_type, "publisher"), publisher)
    put("address", work.place)
    if work.year:
        fields["year"] = work.year
    if work.month:
        fields["month"] = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")[
            work.month - 1
        ]
    if entry_type == "techreport":
        # biblatex's report has no series: "SCIE Research Briefing" + number 31 is its type.
        put("type", work.genre or work.series)
        if work.genre and work.series:
            put("note", work.series)
    elif entry_type in _HAS_SERIES:
        put("type", work.genre)
        put("series", work.series)
    else:
        put("type", work.genre)
        put("note", work.series)
    put("volume", work.volume)
    if work.number and work.issue:
        put("number", work.issue)
        put("note", f"No. {work.number}")
    else:
        put("number", work.number or work.issue)
    if work.pages:
        fields["pages"] = _pages(latex_encode(work.pages.replace("--", "-")))
    put("edition", work.edition)
    if entry_type in _HAS_ISBN:
        put("isbn", work.isbn)
    elif work.isbn:
        put("note", "ISBN " + work.isbn)
    put("issn", work.issn)
    if work.doi:
        fields["doi"] = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", work.doi.strip(), flags=re.I)
    if work.url:
        fields["url"] = work.url.strip()  # BibTeX styles print URLs verbatim: no escaping
    put("urldate", work.accessed)
    put("language", work.language)
    if work.keywords:
        put("keywords", ", ".join(work.keywords))
    put("abstract", work.abstract)
    if work.note and "note" in fields:
        fields["note"] += "; " + latex_encode(work.note.strip())
    else:
        put("note", work.note)
    # The order people read an entry in (and the library's own): who, what body, when, what.
    first = [n for n in _ORDER if n in fields]
    fields = {name: fields[name] for name in first + [n for n in fields if n not in _ORDER]}
    return Reference(key=key, entry_type=entry_type, fields=fields)


def mint_key(work: Work) -> str:
    """Return the key a work gets when its source declares none: short name + year + suffix.

    The short name is the acronym the source gives ("DH"), else the lead author's family name
    or the body's whole name ("KingsFund"): one rule for every reader, so the same work read
    from a post's list and from a Zotero export gets the same key.
    """
    from ..references import key_prefix

    lead = work.shortauthor or work.lead_author() or work.title.split(":")[0] or "Anon"
    return key_prefix(lead) + work.year + work.suffix
