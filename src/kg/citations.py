"""Inline author-year citations: find them in claims, resolve them against the library, look them up.

A citation is ``Author, Year[suffix][:locator]`` inside parentheses: ``(RCP, 2012:8)``,
``(ADASS, 2009)``, ``(King’s Fund, 2012:vi)``; one parenthesis may hold several separated by
semicolons ``(DH, 2011b:6; DH, 2013:5)`` and may open with a lead-in such as "see, for example,".
A parenthesis without an author and a comma before the year, ``(1989)``, ``(from 2013)``,
``(p.2)``, is not a citation.

Citation function (a CiTO property): ``quotes`` when the parenthesis follows a closing quotation
mark (a quotation with its attribution after it), ``citesAsEvidence`` otherwise.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Mapping

from .errors import NotFound
from .model import Citation, Claim, Organisation, Reference
from .organisations import OrganisationIndex, normalise_name
from .references import KEY_RULE, key_year, latex_decode, reference_authors

__all__ = ["CitationResolver", "extract_citations", "parse_citation", "parse_cite_query",
           "resolve_citations"]

_GROUP = re.compile(r"\(([^()]*)\)")
_NUMBER = r"(?:\d+|(?i:[ivxlcdm]+))"
_PAGES = rf"{_NUMBER}(?:\s*[-–]\s*{_NUMBER})?"
_CITATION = re.compile(
    rf"""^(?P<lead>\s*(?i:(?:see(?:\s+also)?|cf\.?|compare|e\.g\.?|for\s+example|for\s+instance|also)
                         \s*,?\s*)*)
        (?P<author>[A-Z][^,;()\d]{{0,80}}?)\s*,\s*
        (?P<year>(?:1[5-9]|20)\d\d[a-z]?)
        (?:\s*(?::|,\s*(?i:pp?\.|page|pages))\s*(?P<locator>{_PAGES}(?:\s*,\s*{_PAGES})*))?
        \s*$""",
    re.VERBOSE,
)
_CLOSING_QUOTES = ("”", '"', "»")

QUOTES = "quotes"
EVIDENCE = "citesAsEvidence"


def parse_citation(text: str) -> dict[str, str | int | None] | None:
    """Parse one citation ``Author, Year[:locator]`` (lead-in allowed); None if it is not one.

    Returns author, year, locator and the start and end of the citation proper within ``text``.
    """
    match = _CITATION.match(text)
    if not match:
        return None
    locator = match.group("locator")
    end = match.end("locator") if locator else match.end("year")
    return {"author": match.group("author").strip(), "year": match.group("year"),
            "locator": re.sub(r"\s*([-–])\s*", r"\1", locator) if locator else None,
            "start": match.start("author"), "end": end}


def _function(text: str, paren_start: int) -> str:
    before = text[:paren_start].rstrip()
    if before.endswith(_CLOSING_QUOTES):
        return QUOTES
    if before.endswith("’") and "‘" in before:
        return QUOTES  # a single-quoted quotation; a bare ’ is usually an apostrophe
    return EVIDENCE


def extract_citations(claim: Claim) -> list[Citation]:
    """Return every author-year citation in a claim, with spans in post offsets, in order."""
    citations: list[Citation] = []
    group_number = 0
    for group in _GROUP.finditer(claim.text):
        content_start = group.start(1)
        parts: list[tuple[int, dict]] = []
        offset = 0
        for part in group.group(1).split(";"):
            parsed = parse_citation(part)
            if parsed is not None:
                parts.append((content_start + offset, parsed))
            offset += len(part) + 1
        if not parts:
            continue
        group_number += 1
        function = _function(claim.text, group.start())
        for part_start, parsed in parts:
            start = part_start + int(parsed["start"])
            end = part_start + int(parsed["end"])
            citations.append(Citation(
                id=f"{claim.id}-{len(citations) + 1}", claim_id=claim.id, post_id=claim.post_id,
                raw=claim.text[start:end], start=claim.start + start, end=claim.start + end,
                group_id=f"{claim.id}-g{group_number}", group_raw=group.group(0),
                author=str(parsed["author"]), year=str(parsed["year"]), locator=parsed["locator"],
                function=function))
    return citations


def _index(organisations: OrganisationIndex | Iterable[Organisation] | None) -> OrganisationIndex:
    if isinstance(organisations, OrganisationIndex):
        return organisations
    return OrganisationIndex(organisations or ())


class CitationResolver:
    """Match (author, year) pairs to library keys through the organisation authority."""

    def __init__(self, references: Mapping[str, Reference],
                 organisations: OrganisationIndex | Iterable[Organisation] | None = None):
        self.references = references
        self.organisations = _index(organisations)
        self._by_label: dict[tuple[str, str], list[str]] = {}
        self._by_year: dict[tuple[str, str], list[str]] = {}
        for key, ref in references.items():
            label = key_year(ref)
            for author in {self.author_id(form) for form in reference_authors(ref)}:
                self._by_label.setdefault((author, label), []).append(key)
                self._by_year.setdefault((author, ref.year.strip()), []).append(key)

    def author_id(self, name: str) -> str:
        """Return what an author form stands for: an organisation, else its normalised name."""
        org = self.organisations.lookup(name)
        return f"org:{org.id}" if org else f"name:{normalise_name(name)}"

    def resolve(self, author: str, year: str) -> tuple[str | None, str | None, list[str]]:
        """Return (key, None, [key]) when resolved, else (None, reason, candidate keys)."""
        who = self.author_id(author)
        exact = list(dict.fromkeys(self._by_label.get((who, year), [])))
        if len(exact) == 1:
            return exact[0], None, exact
        if len(exact) > 1:
            return None, f"{author} {year} is ambiguous: {', '.join(sorted(exact))}", sorted(exact)
        if year[-1:].isdigit():
            suffixed = sorted(dict.fromkeys(self._by_year.get((who, year), [])))
            if len(suffixed) > 1:
                return None, f"{author} {year} is ambiguous: {', '.join(suffixed)}", suffixed
            if len(suffixed) == 1:
                return None, (f"no entry for {author} {year} in the library; {suffixed[0]} is "
                              f"{author} {key_year(self.references[suffixed[0]])}: add the suffix"), suffixed
        return None, f"no entry for {author} {year} in the library", []


def resolve_citations(citations: Iterable[Citation], references: Mapping[str, Reference],
                      organisations: OrganisationIndex | Iterable[Organisation] | None = None, *,
                      resolver: CitationResolver | None = None) -> list[Citation]:
    """Return the citations with reference_key/status/reason set against the library.

    Pass a ``resolver`` built once to resolve many batches (one per post) without rebuilding it.
    """
    resolver = resolver or CitationResolver(references, organisations)
    resolved = []
    for citation in citations:
        key, reason, _ = resolver.resolve(citation.author, citation.year)
        if key:
            resolved.append(dataclasses.replace(citation, reference_key=key, status="resolved", reason=None))
        else:
            resolved.append(dataclasses.replace(citation, reference_key=None, status="unresolved", reason=reason))
    return resolved


_HUMAN = re.compile(r"^(?P<author>.*?\D)[\s,]+(?P<year>(?:1[5-9]|20)\d\d[a-zA-Z]?)"
                    r"(?:\s*(?::|,)\s*(?:pp?\.\s*)?(?P<locator>\S.*))?$")


def _human_forms(resolver: CitationResolver) -> dict[str, str]:
    forms: dict[str, str] = {}
    for key, ref in resolver.references.items():
        forms[key.casefold()] = key
        for author in reference_authors(ref):
            forms[f"{latex_decode(author)} {key_year(ref)}".casefold()] = key
    return forms


def parse_cite_query(text: str, references: Mapping[str, Reference],
                     organisations: OrganisationIndex | Iterable[Organisation] | None = None) -> str:
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
        raise NotFound(f"{query!r} holds {len(parts)} citations; ask for one at a time",
                       hint="e.g. " + ", ".join(keys) if keys else None, suggestions=keys)
    reason, candidates = f"no library entry matches {query!r}", []
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
    raise NotFound(reason or f"no library entry matches {query!r}",
                   hint=("closest: " + ", ".join(suggestions)) if suggestions else "list the keys with `kg bibtex`",
                   suggestions=suggestions)


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
