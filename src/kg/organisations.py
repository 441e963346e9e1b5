"""The organisation authority: read ontology/organisations.ttl and look names up in it.

Each organisation is one resource with ``skos:prefLabel`` (its name), ``skos:notation`` (its
acronym) and ``skos:altLabel`` (every other form writers use). ``OrganisationIndex.lookup`` finds
an organisation by any of those forms, insensitive to case, curly or straight apostrophes, a
leading "The", "Dept"/"Department", "&"/"and" and punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, ORG, RDF, SKOS

from .errors import ReferencesError
from .model import Organisation, Reference
from .names import decode, split_persons
from .vocab import read_turtle

__all__ = [
    "ORGANISATIONS_FILE",
    "OrganisationIndex",
    "corporate_names",
    "key_part",
    "load_organisations",
    "normalise_name",
    "org_slug",
]

#: Fields of a library entry that name its corporate authors.
CORPORATE_FIELDS = ("author", "editor", "shortauthor", "institution", "organization")

#: The authority's file name inside settings.ontology_dir.
ORGANISATIONS_FILE = "organisations.ttl"

_ORG_CLASSES = (FOAF.Organization, ORG.Organization, ORG.FormalOrganization, ORG.OrganizationalUnit)
_APOSTROPHES = str.maketrans({"’": "", "‘": "", "'": "", "`": "", "ʼ": ""})
# Words that never tell two organisations apart but vary between writers.
_NOISE_WORDS = {"of"}
_WORD_FORMS = {"dept": "department", "&": "and", "univ": "university"}


def normalise_name(name: str) -> str:
    """Return the lookup form of an organisation name: "The King’s Fund" -> "kings fund"."""
    text = unicodedata.normalize("NFKC", name).casefold().translate(_APOSTROPHES)
    text = text.replace("&", " & ")
    words = [w for w in re.split(r"[^\w&]+", text) if w]
    words = [_WORD_FORMS.get(w, w) for w in words]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return " ".join(w for w in words if w not in _NOISE_WORDS)


def _local_id(subject: URIRef) -> str:
    return re.split(r"[/#]", str(subject).rstrip("/"))[-1]


def _texts(graph: Graph, subject: URIRef, predicate: URIRef) -> list[str]:
    values = [str(o) for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    return sorted(values)


def load_organisations(path: str | Path) -> list[Organisation]:
    """Read the organisation authority (Turtle) and return every organisation, sorted by id.

    Raises ReferencesError when the file is missing or malformed, or when an organisation has no
    name or two names or two acronyms: the authority must say each thing once.
    """
    path = Path(path)
    graph = read_turtle(path, ReferencesError, "organisation authority", "ontology/organisations.ttl")

    subjects = {s for cls in _ORG_CLASSES for s in graph.subjects(RDF.type, cls) if isinstance(s, URIRef)}
    organisations: list[Organisation] = []
    for subject in subjects:
        org_id = _local_id(subject)
        names = _texts(graph, subject, SKOS.prefLabel)
        acronyms = _texts(graph, subject, SKOS.notation)
        if len(names) != 1:
            raise ReferencesError(
                f"{path}: organisation {org_id} has {len(names)} skos:prefLabel values {names}",
                hint="give it exactly one prefLabel; put other forms in skos:altLabel",
            )
        if len(acronyms) > 1:
            raise ReferencesError(
                f"{path}: organisation {org_id} has several acronyms {acronyms}",
                hint="keep one skos:notation; put other forms in skos:altLabel",
            )
        organisations.append(
            Organisation(
                id=org_id,
                name=names[0],
                acronym=acronyms[0] if acronyms else None,
                alt_names=tuple(_texts(graph, subject, SKOS.altLabel)),
            )
        )
    organisations.sort(key=lambda o: o.id)
    return organisations


class OrganisationIndex:
    """Find an organisation by its name, acronym or any alternative form."""

    def __init__(self, organisations: Iterable[Organisation]):
        self.organisations: list[Organisation] = list(organisations)
        self._by_id = {o.id: o for o in self.organisations}
        self._by_form: dict[str, Organisation] = {}
        self._acronyms: dict[str, Organisation] = {}
        clashes: list[str] = []
        for org in self.organisations:
            for form in (org.name, *org.alt_names):
                key = normalise_name(form)
                other = self._by_form.setdefault(key, org)
                if other is not org:
                    clashes.append(f"{form!r} names both {other.id} and {org.id}")
            if org.acronym:
                # Acronyms match case-insensitively but only as a whole: "DH" never matches "dh fund".
                other = self._acronyms.setdefault(org.acronym.casefold(), org)
                if other is not org:
                    clashes.append(f"acronym {org.acronym!r} names both {other.id} and {org.id}")
        self._minted: dict[str, Organisation] = {}
        #: (organisation, library key) for each corporate author minted from a reference.
        self.unknown: list[tuple[Organisation, str]] = []  # (minted organisation, a key naming it)
        self._names_re: re.Pattern | None = None
        if clashes:
            raise ReferencesError(
                "the organisation authority is ambiguous: " + "; ".join(clashes),
                hint="give each form to one organisation in ontology/organisations.ttl",
            )

    def __len__(self) -> int:
        return len(self.organisations)

    def __iter__(self):
        return iter(self.organisations)

    def get(self, org_id: str) -> Organisation | None:
        """Return the organisation with this id, or None."""
        return self._by_id.get(org_id)

    def lookup(self, name: str) -> Organisation | None:
        """Return the organisation a name, acronym or variant form stands for, or None."""
        if not name or not name.strip():
            return None
        text = re.sub(r"^(?i:the)\s+(?=\S)", "", name.strip())  # "the LGA" is the LGA
        org = self._acronyms.get(text.casefold().strip(".")) or self._acronyms.get(
            text.casefold().translate(_APOSTROPHES).replace(".", "")
        )
        if org:
            return org
        key = normalise_name(text)
        return self._by_form.get(key) or self._minted.get(key)

    def creators(self, ref: Reference) -> list[Organisation]:
        """Return the organisations a library entry names as its authors, in field order, once each.

        A corporate author the authority lacks is minted (``mint``) so that it is still one
        resource; ``unknown`` lists those.
        """
        found: list[Organisation] = []
        for name in corporate_names(ref):
            org = self.lookup(name)
            if org and org not in found:
                found.append(org)
        return found

    def mint(self, references: Iterable[Reference]) -> list[Organisation]:
        """Add an organisation for every corporate author of ``references`` the authority lacks.

        Returns the minted organisations (id from the name, ``org_slug``); they are looked up
        like the authority's own from then on.
        """
        minted: list[Organisation] = []
        for ref in references:
            for name in corporate_names(ref, fields=("author", "editor", "institution", "organization")):
                known = self._minted.get(normalise_name(name))
                if known is not None:
                    self.unknown.append((known, ref.key))  # every entry naming it is reported
                    continue
                if self.lookup(name):
                    continue
                org_id = org_slug(name)
                while org_id in self._by_id:
                    org_id += "-x"
                org = Organisation(id=org_id, name=name)
                self._minted[normalise_name(name)] = org
                self._by_id[org_id] = org
                self.organisations.append(org)
                self.unknown.append((org, ref.key))
                minted.append(org)
        if minted:
            self._names_re = None
        return minted

    def name_spans(self, text: str) -> list[tuple[int, int]]:
        """Return the spans of ``text`` that name an organisation, by its name or any form.

        Names match as written (a capital letter where the name has one), so "people in control"
        is not the organisation In Control; apostrophes and a leading "the" are free.
        """
        if self._names_re is None:
            forms = {f for o in self.organisations for f in (o.name, *o.alt_names, o.acronym) if f}
            parts = []
            for form in sorted(forms, key=len, reverse=True):
                words = [w for w in re.split(r"[^\w&’']+", form) if w]
                if not words or (len(words) == 1 and len(words[0]) < 3):
                    continue
                parts.append(r"[\W_]+".join(re.escape(w).replace("’", "[’']?").replace("'", "[’']?") for w in words))
            self._names_re = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)") if parts else re.compile(r"(?!)")
        return [m.span() for m in self._names_re.finditer(text)]

    def short_name(self, org: Organisation) -> str:
        """Return the form used in citation keys: the acronym, else the name without spaces/punctuation."""
        return key_part(org.acronym or org.name)

    def forms(self, org: Organisation) -> list[str]:
        """Return every form of an organisation: acronym first, then name and alternatives."""
        return [f for f in (org.acronym, org.name, *org.alt_names) if f]


def key_part(text: str) -> str:
    """Return a name as it stands in a citation key: "King’s Fund" -> "KingsFund"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = re.split(r"[^A-Za-z0-9]+", text.translate(_APOSTROPHES))
    return "".join(w[:1].upper() + w[1:] if w.islower() else w for w in words if w)


def org_slug(name: str) -> str:
    """Return an organisation id made from its name: "Age UK" -> "age-uk"."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().translate(_APOSTROPHES)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "organisation"


def corporate_names(ref: Reference, fields: Iterable[str] = CORPORATE_FIELDS) -> list[str]:
    """Return the corporate author names of a library entry, as plain text, once each.

    In ``author``/``editor`` only names braced whole are corporate (``{Age UK}``); ``shortauthor``,
    ``institution`` and ``organization`` name a body as they stand.
    """
    names: list[str] = []
    for field in fields:
        value = ref.fields.get(field, "")
        if not value.strip():
            continue
        if field in ("author", "editor"):
            names += [n.text for n in split_persons(value) if n.corporate]
        else:
            names.append(decode(value).strip())  # whole: "Department of Health and Social Care"
    return list(dict.fromkeys(n for n in names if n))
