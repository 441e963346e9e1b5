"""The CSL-JSON reader: Zotero's, Mendeley's and pandoc's "CSL JSON" export into references.

A file is a JSON array of items (an object holding ``items`` is accepted too). Each item has a
``type`` and CSL variables: ``author`` as ``{"family", "given", "non-dropping-particle", ...}``
or ``{"literal": "Department of Health"}``, ``issued`` as ``{"date-parts": [[2010, 3]]}``,
``{"raw": "2010a"}`` or ``{"literal": ...}``. An item that cannot become an entry is reported
with its index, line and id; the rest import.
"""

from __future__ import annotations

import json
import re

from ..errors import ReferencesError
from ..model import Failure
from . import Parsed
from .work import Name, Work, mint_key, split_year, to_reference

STEP = "references"

# CSL item types -> the kinds of kg.refs.work.
_KINDS = {
    "article-journal": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "article": "article",
    "review": "article",
    "book": "book",
    "chapter": "chapter",
    "entry-encyclopedia": "chapter",
    "entry-dictionary": "chapter",
    "report": "report",
    "webpage": "web",
    "post-weblog": "web",
    "post": "web",
    "paper-conference": "conference",
    "thesis": "thesis",
    "manuscript": "unpublished",
    "pamphlet": "booklet",
}
_NAME_KEYS = {
    "family",
    "given",
    "literal",
    "non-dropping-particle",
    "dropping-particle",
    "suffix",
    "comma-suffix",
    "static-ordering",
    "parse-names",
}
_KEY_RULE = re.compile(r"^[A-Z][A-Za-z0-9]*\d{4}[a-z]?$")


def _item_lines(text: str) -> list[int]:
    """Return the 1-based line on which each top-level item of a JSON array starts."""
    decoder = json.JSONDecoder()
    lines: list[int] = []
    i = text.find("[")
    if i < 0:
        return []
    i += 1
    while True:
        while i < len(text) and text[i] in " \t\r\n,":
            i += 1
        if i >= len(text) or text[i] == "]":
            return lines
        lines.append(text.count("\n", 0, i) + 1)
        try:
            _, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            return lines


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, found {type(value).__name__} {json.dumps(value)[:40]}")
    return " ".join(value.split())


def _name(value) -> Name:
    if not isinstance(value, dict):
        raise ValueError(
            f'a name must be an object such as {{"family": "Needham", "given": '
            f'"Catherine"}} or {{"literal": "Department of Health"}}, found {json.dumps(value)[:40]}'
        )
    unknown = set(value) - _NAME_KEYS
    if unknown:
        raise ValueError(f"name {json.dumps(value)[:60]} has unknown parts {', '.join(sorted(unknown))}")
    if value.get("literal"):
        return Name(literal=_text(value["literal"]))
    family = _text(value.get("family"))
    if not family:
        raise ValueError(f"name {json.dumps(value)[:60]} has no family name or literal")
    particle = " ".join(
        p for p in (_text(value.get("dropping-particle")), _text(value.get("non-dropping-particle"))) if p
    )
    return Name(family=family, given=_text(value.get("given")), particle=particle, suffix=_text(value.get("suffix")))


def _date(value) -> tuple[str, str, int | None]:
    """Return year, suffix, month of a CSL date (date-parts, raw or literal)."""
    if isinstance(value, str):
        value = {"raw": value}
    if not isinstance(value, dict):
        raise ValueError(f'a date must be an object such as {{"date-parts": [[2010]]}}, found {json.dumps(value)[:40]}')
    parts = value.get("date-parts")
    if parts:
        if not (isinstance(parts, list) and isinstance(parts[0], list) and parts[0]):
            raise ValueError(f"date-parts must be [[year, month, day]], found {json.dumps(parts)[:40]}")
        first = parts[0]
        try:
            year = str(int(first[0]))
            month = int(first[1]) if len(first) > 1 and first[1] not in ("", None) else None
        except (TypeError, ValueError):
            raise ValueError(f"date-parts must hold numbers, found {json.dumps(parts)[:40]}") from None
        if month is not None and not 1 <= month <= 12:
            month = None  # CSL seasons are 13-16: no BibTeX month
        return year, "", month
    year, suffix = split_year(_text(value.get("raw") or value.get("literal") or ""))
    return year, suffix, None


def _work(item: dict) -> Work:
    kind = _KINDS.get(_text(item.get("type")), "misc")
    work = Work(kind=kind)
    for role, target in (("author", work.authors), ("editor", work.editors)):
        names = item.get(role) or []
        if not isinstance(names, list):
            raise ValueError(f"{role} must be a list of names")
        target.extend(_name(n) for n in names)
    work.title = _text(item.get("title"))
    work.container = _text(item.get("container-title"))
    work.publisher = _text(item.get("publisher") or item.get("authority"))
    work.place = _text(item.get("publisher-place"))
    if item.get("issued") not in (None, "", {}):
        work.year, work.suffix, work.month = _date(item["issued"])
    suffix = _text(item.get("year-suffix"))
    if suffix and re.fullmatch(r"[a-z]", suffix):
        work.suffix = suffix
    if item.get("accessed"):
        year, _, month = _date(item["accessed"])
        parts = (item["accessed"].get("date-parts") or [[]])[0] if isinstance(item["accessed"], dict) else []
        day = parts[2] if len(parts) > 2 else None
        work.accessed = "-".join([year] + [f"{int(p):02d}" for p in (month, day) if p])
    work.number = _text(item.get("number") or item.get("collection-number"))
    work.issue = _text(item.get("issue"))
    work.volume = _text(item.get("volume"))
    work.pages = _text(item.get("page"))
    work.edition = _text(item.get("edition"))
    work.series = _text(item.get("collection-title"))
    work.genre = _text(item.get("genre"))
    work.url = _text(item.get("URL"))
    work.doi = _text(item.get("DOI"))
    work.isbn = _text(item.get("ISBN"))
    work.issn = _text(item.get("ISSN"))
    work.abstract = _text(item.get("abstract"))
    work.note = _text(item.get("note"))
    work.language = _text(item.get("language"))
    keywords = _text(item.get("keyword"))
    work.keywords = [k.strip() for k in re.split(r"[,;]", keywords) if k.strip()]
    for candidate in (item.get("citation-key"), item.get("id")):
        if isinstance(candidate, str) and _KEY_RULE.match(candidate):
            work.key = candidate
            break
    return work


def read(text: str, source: str) -> Parsed:
    """Read CSL-JSON text: one entry per item; an item that cannot be converted is a Failure."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReferencesError(
            f"{source}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
            hint="export the collection again as CSL JSON, or fix the JSON at that line",
        ) from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ReferencesError(
            f"{source}: CSL-JSON must be an array of items, found {type(data).__name__}",
            hint="export as 'CSL JSON' from Zotero or Mendeley",
        )
    lines = _item_lines(text)
    parsed = Parsed()
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else None
        where = f"{source}:{line}" if line else f"{source}#{index}"
        label = f"item {index}" + (f" (line {line})" if line else "")
        if not isinstance(item, dict):
            parsed.failures.append(
                Failure(
                    STEP,
                    where,
                    f"{label} is not an object; each item must be "
                    f'{{"type": ..., "title": ...}}: fix or remove it in {source}',
                )
            )
            continue
        ident = item.get("id")
        label += f", id {ident!r}" if ident is not None else ""
        try:
            work = _work(item)
        except ValueError as exc:
            parsed.failures.append(
                Failure(
                    STEP, where, f"{label}: {exc}; fix it in the reference manager and export again, or edit {source}"
                )
            )
            continue
        if not work.year:
            parsed.failures.append(
                Failure(
                    STEP,
                    where,
                    (
                        f"{label} ({work.title[:50]!r}) has no year in 'issued', so no author-date citation "
                        f'can find it; add its date in the reference manager (or "issued": '
                        f'{{"date-parts": [[YYYY]]}} in {source}) and import again'
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
                        f"{label} ({work.title[:50]!r}) has no author, editor or publisher to cite it by; "
                        f"add one in the reference manager and import again"
                    ),
                )
            )
            continue
        work.where = where
        if item.get("type") and _text(item["type"]) not in _KINDS:
            parsed.notes.append(f"{label}: CSL type {item['type']!r} imported as @misc")
        if not work.key:
            parsed.minted.add(len(parsed.references))
        parsed.references.append(to_reference(work, work.key or mint_key(work)))
    return parsed
