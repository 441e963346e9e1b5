"""The RIS reader: Zotero's, Mendeley's and EndNote's tagged export into references.

A record runs from ``TY  - RPRT`` to ``ER  - ``; each line is a two-character tag, two spaces,
a hyphen and the value. kg splits the file into records itself, so each keeps its line numbers
(and a record that lacks its ``ER`` line is still read, and said so), and reads each record's tags
with rispy. Authors are ``Last, First``; a name with no comma, or EndNote's corporate form with a
trailing comma (``Department of Health,``), is a body and stays whole.
"""

from __future__ import annotations

import re

import rispy

from ..model import Failure
from . import Parsed
from .work import Name, Work, mint_key, split_year, to_reference

STEP = "references"

_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*)|\s*)$")
_KINDS = {
    "JOUR": "article",
    "JFULL": "article",
    "MGZN": "article",
    "NEWS": "article",
    "EJOUR": "article",
    "INPR": "article",
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "book",
    "CHAP": "chapter",
    "ECHAP": "chapter",
    "RPRT": "report",
    "GOVDOC": "report",
    "ELEC": "web",
    "WEB": "web",
    "BLOG": "web",
    "ICOMM": "web",
    "CONF": "conference",
    "CPAPER": "conference",
    "THES": "thesis",
    "UNPB": "unpublished",
    "MANSCPT": "unpublished",
    "PAMP": "booklet",
    "GEN": "misc",
}
_KEY_RULE = re.compile(r"^[A-Z][A-Za-z0-9]*\d{4}[a-z]?$")
_ISBN = re.compile(r"^(?:ISBN[:\s]*)?(?=[\dXx -]{10,17}$)(?:[\d-]+ ?){9,}[\dXx]$")
_ISSN = re.compile(r"^\d{4}-\d{3}[\dXx]$")
# Tags whose content kg keeps (rispy's names); any other tag present is reported as left out.
_USED = {
    "type_of_reference",
    "authors",
    "first_authors",
    "secondary_authors",
    "tertiary_authors",
    "title",
    "primary_title",
    "secondary_title",
    "tertiary_title",
    "journal_name",
    "alternate_title1",
    "alternate_title2",
    "alternate_title3",
    "publisher",
    "place_published",
    "year",
    "publication_year",
    "date",
    "urls",
    "doi",
    "issn",
    "number",
    "volume",
    "start_page",
    "end_page",
    "edition",
    "abstract",
    "notes_abstract",
    "notes",
    "note",
    "keywords",
    "language",
    "access_date",
    "type_of_work",
    "id",
    "label",
    "unknown_tag",
    "end_of_reference",
}
_TAGS = {name: tag for tag, name in rispy.TAG_KEY_MAPPING.items()}
_IGNORED = {
    "file_attachments1",
    "file_attachments2",
    "name_of_database",
    "database_provider",
    "accession_number",
    "call_number",
}  # local to one user's manager: nothing to cite


def _records(text: str, source: str, parsed: Parsed) -> list[tuple[int, int, list[str]]]:
    """Split RIS text into records (first line, last line, lines); report text outside them."""
    records: list[tuple[int, int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        match = _TAG.match(line.rstrip())
        tag = match.group(1) if match else None
        if tag == "TY":
            if current is not None:
                parsed.notes.append(
                    f"{source}:{start}: record has no 'ER  - ' line before the next "
                    f"record at line {number}; read up to line {number - 1}"
                )
                records.append((start, number - 1, current))
            current, start = [line], number
        elif current is None:
            if line.strip():
                what = f"tag {tag}" if tag else f"text {line.strip()[:40]!r}"
                parsed.failures.append(
                    Failure(
                        STEP,
                        f"{source}:{number}",
                        (
                            f"line {number}: {what} stands outside any record, so it was not imported; a "
                            f"record starts with 'TY  - ' (e.g. 'TY  - RPRT') and ends with 'ER  - ': fix {source}"
                        ),
                    )
                )
        elif tag == "ER":
            records.append((start, number, current + [line]))
            current = None
        else:
            current.append(line)
    if current is not None:
        parsed.notes.append(f"{source}:{start}: the last record has no 'ER  - ' line; read to the end of the file")
        records.append((start, start + len(current) - 1, current))
    return records


def _name(text: str) -> Name | None:
    text = " ".join(text.split())
    if not text:
        return None
    if text.endswith(",") or "," not in text:
        return Name(literal=text.rstrip(", "))  # EndNote's corporate form, or a body
    family, rest = (p.strip() for p in text.split(",", 1))
    suffix = ""
    if "," in rest:  # "Last, First, Jr." (RIS) puts the suffix last
        rest, suffix = (p.strip() for p in rest.split(",", 1))
    words = family.split()
    particle = []
    while len(words) > 1 and words[0].islower():
        particle.append(words.pop(0))
    return Name(family=" ".join(words), given=rest, particle=" ".join(particle), suffix=suffix)


def _first(record: dict, *names: str) -> str:
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value and str(value).strip():
            return " ".join(str(value).split())
    return ""


def _month(date: str) -> int | None:
    match = re.match(r"^\d{4}[/-](\d{1,2})", date)
    if match and 1 <= int(match.group(1)) <= 12:
        return int(match.group(1))
    return None


def _iso(date: str) -> str:
    match = re.match(r"^(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?", date.strip())
    if not match:
        return ""
    return "-".join([match.group(1)] + [f"{int(p):02d}" for p in match.groups()[1:] if p])


def _work(record: dict, code: str) -> tuple[Work, list[str]]:
    kind = _KINDS.get(code, "misc")
    work = Work(kind=kind)
    left_out: list[str] = []
    for value in (record.get("authors") or []) + (record.get("first_authors") or []):
        name = _name(value)
        if name:
            work.authors.append(name)
    unknown = record.get("unknown_tag") or {}
    editors = list(unknown.get("ED", []))
    if kind in ("chapter", "book", "conference"):
        editors += record.get("secondary_authors") or []
    elif record.get("secondary_authors"):
        left_out.append("A2")
    for value in editors:
        name = _name(value)
        if name:
            work.editors.append(name)
    left_out += [tag for tag in unknown if tag != "ED"]
    work.title = _first(record, "title", "primary_title")
    container = _first(record, "journal_name", "alternate_title3", "alternate_title2", "alternate_title1")
    if kind in ("article", "chapter", "conference"):
        work.container = _first(record, "secondary_title") or container
        work.series = _first(record, "tertiary_title")
    else:
        work.series = _first(record, "tertiary_title", "secondary_title")
    work.publisher = _first(record, "publisher")
    work.place = _first(record, "place_published")
    date = _first(record, "year", "publication_year")
    work.year, work.suffix = split_year(date)
    work.month = _month(_first(record, "date") or date)
    if not work.year:
        work.year, work.suffix = split_year(_first(record, "date"))
    work.url = _first(record, "urls")
    if len(record.get("urls") or []) > 1:
        work.note = "Also at " + ", ".join(record["urls"][1:])
    work.doi = _first(record, "doi")
    serial = _first(record, "issn")
    if _ISSN.match(serial):
        work.issn = serial
    elif _ISBN.match(serial):
        work.isbn = re.sub(r"^ISBN[:\s]*", "", serial)
    elif kind == "report":
        work.number = serial  # Zotero writes a report's number as SN
    elif serial:
        work.note = "; ".join(filter(None, [work.note, serial]))
    issue = _first(record, "number")
    if kind == "article":
        work.issue = issue
    else:
        work.number = work.number or issue
    extra = _first(record, "note")  # M1: EndNote's "number" of a report, else a note
    if extra and kind == "report" and not work.number:
        work.number = extra
    elif extra:
        work.note = "; ".join(filter(None, [work.note, extra]))
    work.volume = _first(record, "volume")
    start, end = _first(record, "start_page"), _first(record, "end_page")
    work.pages = f"{start}--{end}" if start and end else start or end
    work.edition = _first(record, "edition")
    work.abstract = _first(record, "abstract", "notes_abstract")
    notes = [" ".join(n.split()) for n in record.get("notes") or [] if n.strip()]
    if notes:
        work.note = "; ".join(filter(None, [work.note, *notes]))
    work.keywords = [k.strip() for k in record.get("keywords") or [] if k.strip()]
    work.language = _first(record, "language")
    work.accessed = _iso(_first(record, "access_date"))
    work.genre = _first(record, "type_of_work")
    for candidate in (_first(record, "label"), _first(record, "id")):
        if _KEY_RULE.match(candidate):
            work.key = candidate
            break
    left_out += [_TAGS.get(name, name) for name in record if name not in _USED and name not in _IGNORED]
    return work, left_out


def read(text: str, source: str) -> Parsed:
    """Read RIS text: one entry per record; a record that cannot be converted is a Failure."""
    parsed = Parsed()
    for first, last, lines in _records(text, source, parsed):
        where = f"{source}:{first}"
        label = f"record at lines {first}-{last}"
        try:
            found = rispy.loads("\n".join(lines + ([] if lines[-1].startswith("ER") else ["ER  - "])))
        except Exception as exc:  # rispy raises bare exceptions on broken tags
            parsed.failures.append(
                Failure(
                    STEP, where, f"{label}: rispy cannot read it ({exc}); check each line is 'XX  - value' in {source}"
                )
            )
            continue
        if len(found) != 1:
            parsed.failures.append(Failure(STEP, where, f"{label}: not one record; fix {source}"))
            continue
        record = found[0]
        code = str(record.get("type_of_reference", "")).strip().upper()
        work, left_out = _work(record, code)
        title = f" ({work.title[:50]!r})" if work.title else ""
        if not work.year:
            parsed.failures.append(
                Failure(
                    STEP,
                    where,
                    (
                        f"{label}{title} has no year (PY  - YYYY), so no author-date citation can find it; "
                        f"add its date in the reference manager, or a 'PY  - ' line in {source}, and import again"
                    ),
                )
            )
            continue
        if not work.lead_author():  # no author, editor or publisher to cite it by
            parsed.failures.append(
                Failure(
                    STEP,
                    where,
                    (
                        f"{label}{title} has no author (AU), editor or publisher (PB) to cite it by; add one "
                        f"and import again"
                    ),
                )
            )
            continue
        if not work.title:
            parsed.notes.append(f"{where}: {label} has no title (TI  - ); imported without one")
        if code not in _KINDS:
            parsed.notes.append(f"{where}: {label}: RIS type {code or 'missing'!r} imported as @misc")
        if left_out:
            parsed.notes.append(
                f"{where}: {label}: tags not imported (no library field): " + ", ".join(sorted(set(left_out)))
            )
        work.where = where
        if not work.key:
            parsed.minted.add(len(parsed.references))
        parsed.references.append(to_reference(work, work.key or mint_key(work)))
    return parsed


# --- the writer --------------------------------------------------------------------------------

#: CSL item type -> RIS type, for the writer (the reader's _KINDS read them back).
_RIS_OF_CSL = {
    "article-journal": "JOUR",
    "book": "BOOK",
    "chapter": "CHAP",
    "report": "RPRT",
    "webpage": "ELEC",
    "paper-conference": "CPAPER",
    "thesis": "THES",
    "manuscript": "UNPB",
    "pamphlet": "PAMP",
}
#: CSL variable -> rispy field, for the plain text ones.
_RIS_FIELDS = {
    "title": "title",
    "container-title": "secondary_title",
    "publisher": "publisher",
    "publisher-place": "place_published",
    "volume": "volume",
    "number": "number",
    "DOI": "doi",
    "edition": "edition",
    "abstract": "abstract",
    "note": "notes",
}


class _Writer(rispy.RisWriter):
    """rispy's RIS writer without its "1." line before each record, which RIS does not define (and
    kg's own reader, like EndNote's, reports as text outside a record)."""

    def set_header(self, count: int) -> str:
        return ""


def _ris_name(name: dict) -> str:
    # A body ("Department of Health") is written whole, with no comma, which the reader keeps whole.
    if name.get("literal"):
        return str(name["literal"])
    return ", ".join(part for part in (name.get("family", ""), name.get("given", "")) if part)


def write(items: list[dict]) -> str:
    """Return CSL-JSON items (kg.references.to_csl_json) as RIS text, one record each, keyed by ``ID``."""
    records = []
    for item in items:
        record: dict = {"type_of_reference": _RIS_OF_CSL.get(item.get("type", ""), "GEN"), "id": item["id"]}
        for role, field in (("author", "authors"), ("editor", "secondary_authors")):
            if item.get(role):
                record[field] = [_ris_name(n) for n in item[role]]
        for variable, field in _RIS_FIELDS.items():
            if item.get(variable):
                record[field] = str(item[variable])
        issued = item.get("issued") or {}
        parts = (issued.get("date-parts") or [[]])[0]
        if parts:
            record["year"] = str(parts[0])
            if len(parts) > 1:
                record["date"] = "/".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts))
        elif issued.get("literal"):
            record["year"] = str(issued["literal"])
        if item.get("page"):
            first, _, last = str(item["page"]).replace("–", "-").partition("-")
            record["start_page"] = first.strip()
            if last.strip():
                record["end_page"] = last.strip()
        if item.get("ISBN") or item.get("ISSN"):
            record["issn"] = str(item.get("ISBN") or item.get("ISSN"))
        if item.get("URL"):
            record["urls"] = [str(item["URL"])]
        records.append(record)
    return rispy.dumps(records, implementation=_Writer) if records else ""
