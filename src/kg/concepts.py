"""The concept step: read the SKOS scheme (ontology/concepts.ttl) and tag claims with concepts.

Matching rules (tests/test_concepts.py holds a table of them):

* Text and labels are compared in one canonical form (``normalise``): Unicode-folded, lower
  case, apostrophes dropped (children's = childrens, curly or straight), "&" read as "and",
  -ize/-yze spelt -ise/-yse, center/behavior spelt centre/behaviour, every word singular.
  A hyphen inside a word joins it (co-production -> coproduction), and a label's word breaks
  (spaces or hyphens) may be written with a space, a hyphen or nothing in the text.
* A label of one word with two or more capitals, or a capital and a digit (PbR, RAS, PHB,
  S117), is an acronym: it matches case-sensitively, as a whole word, with an optional plural
  "s", so "ras" or "Poet" never trigger it.
* The longest mention wins and mentions never overlap: "personal health budgets" is the
  concept personal health budgets only, "PbR Clusters" is care clusters only.
* Words that are not labels never match on their own: "care", "budget", "personal" and a
  heading such as "Personal" tag nothing.
* A context label (kg:contextLabel, e.g. "cluster", "currency", "recovery", "coalition") counts
  only when the claim, or the post it belongs to, also mentions by a full label some concept
  under the same top concept: "clusters" is a PbR care cluster only in a text about payment
  systems.
* Names of organisations and idioms that contain a label but are not about it (``STOP_PHRASES``:
  "Social Care Institute for Excellence", "Think Local Act Personal", "cut off") are read as
  one mention that tags nothing.

All labels of a scheme are compiled into one prefix-factored regular expression (plus one for
acronyms), so tagging costs one regex pass per claim whatever the size of the scheme.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from .errors import ConceptError
from .model import Claim, Concept
from .organisations import OrganisationIndex
from .spelling import uk_spelling
from .vocab import read_turtle

__all__ = [
    "CONCEPTS_FILE",
    "CONTEXT_LABEL",
    "SOURCE_BASE",
    "STOP_PHRASES",
    "Mention",
    "Tagger",
    "check_scheme",
    "is_acronym",
    "label_variants",
    "load_scheme",
    "normalise",
    "tag_claims",
    "top_concepts",
]

#: The scheme's file name inside settings.ontology_dir.
CONCEPTS_FILE = "concepts.ttl"
#: The base IRI ontology/concepts.ttl is written against.
SOURCE_BASE = "https://kg.example.org/"
#: kg's own annotation for labels that count only in context (declared in concepts.ttl).
CONTEXT_LABEL = URIRef("https://kg.example.org/ns#contextLabel")

#: Names and idioms that contain a concept label but are not about that concept.
STOP_PHRASES: tuple[str, ...] = (
    # Organisations and services named after what they work on.
    "Social Care Institute for Excellence",
    "School for Social Care Research",
    "NICE Collaborating Centre for Social Care",
    "Social Care Elf",
    "Mental Elf",
    "Think Local Act Personal",
    "Coalition for Collaborative Care",
    "Collaboration for Coordinated Care",
    "Clinical Commissioning Group",
    "Mental Health Network",
    "National Development Team for Inclusion",
    "Inclusion North",
    "Inclusive Change",
    "Department for Inclusion",
    "Office for Disability Issues",
    "Carers UK",
    "Carers Trust",
    "Age UK",
    "Disability Rights UK",
    "Audit Commission",
    # Idioms around the word "cut(s)" that are not about money.
    "cut off",
    "cut out",
    "cut and paste",
    "cut and pasted",
    "cut across",
    "cut through",
    "cut short",
    "cut corners",
    # Markets that are not the care market.
    "labour market",
    "housing market",
    "stock market",
)

_FRONT_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "′": "'"})
# A word: letters/digits, possibly joined by inner apostrophes or hyphens; or a lone "&".
_WORD = re.compile(r"&|[^\W_]+(?:(?:'|-)[^\W_]+)*")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


# --- Normal form -------------------------------------------------------------------------------


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes")):
        return word[:-2]
    return word[:-1]


@lru_cache(maxsize=1 << 17)
def _word_form(word: str) -> str:
    """Return the canonical form of one word as the tokenizer found it."""
    if word == "&":
        return "and"
    word = word.replace("'", "").replace("-", "")
    return _singular(uk_spelling(word))


def _fold(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII as it is, and every folded apostrophe is non-ASCII
        return text
    return unicodedata.normalize("NFKC", text).translate(_FRONT_APOSTROPHES)


def _words(text: str) -> list[re.Match]:
    return list(_WORD.finditer(_fold(text).casefold()))


def normalise(text: str) -> str:
    """Return the canonical form kg matches concept labels in: "Co-productions" -> "coproduction".

    Case, curly/straight apostrophes, "&"/"and", -ise/-ize, a few US spellings, plurals and
    in-word hyphens are folded away; words are joined by single spaces. Compare two strings
    by their normal forms (or with spaces removed, to ignore word breaks: "eco system").
    """
    return " ".join(_word_form(m.group(0)) for m in _words(text))


def _label_form(label: str) -> str:
    # A hyphen in a label marks a word break the text may write as a space, a hyphen or nothing.
    return normalise(_fold(label).replace("-", " "))


def is_acronym(label: str) -> bool:
    """Tell whether a label is matched case-sensitively: one word, 2+ capitals or a capital and a digit."""
    if not label or any(ch.isspace() for ch in label) or not re.fullmatch(r"[^\W_]+", label):
        return False
    capitals = sum(ch.isupper() for ch in label)
    return capitals >= 2 or (capitals >= 1 and any(ch.isdigit() for ch in label))


def other_labels(pref_label: str, labels: Iterable[str]) -> list[str]:
    """Return the labels a reader sees besides the preferred one: each once, ignoring case, sorted.

    "payment by results" next to "Payment by Results" says nothing new (matching ignores case
    for every label but an acronym), so a label equal to the preferred one or to an earlier
    label but for case is dropped; acronyms are kept as written ("NICE" is not "nice").
    """

    def key(label: str) -> str:
        return label if is_acronym(label) else label.casefold()

    seen = {key(pref_label)}
    out = []
    for label in sorted(dict.fromkeys(x.strip() for x in labels if x and x.strip()), key=lambda x: (x.casefold(), x)):
        if key(label) not in seen:
            seen.add(key(label))
            out.append(label)
    return out


def _acronym_stem(label: str) -> str:
    # "PROMs" and "DPs" are written plural; the stem takes the plural "s" or "S" back on.
    return label[:-1] if label.endswith("s") and len(label) > 2 else label


def label_variants(concept: Concept) -> set[str]:
    """Return the surface forms a search for the concept should also match (for query expansion).

    Every preferred, alternative and hidden label, with its hyphen/space/no-break forms, its
    singular and plural, and -ise/-ize spellings. Acronyms keep their case (with and without
    a plural "s"). Context labels are left out: on their own they are too ambiguous.
    """
    variants: set[str] = set()
    for label in (concept.pref_label, *concept.alt_labels, *concept.hidden_labels):
        label = _fold(label).strip()
        if not label:
            continue
        if is_acronym(label):
            stem = _acronym_stem(label)
            variants.update({label, stem, stem + "s"})
            continue
        base = label.casefold()
        forms = {base, base.replace("-", " "), base.replace("-", ""), re.sub(r"[-\s]+", "-", base)}
        for form in list(forms):
            head, _, last = form.rpartition(" ")
            singular = _singular(last)
            plural = (
                singular[:-1] + "ies"
                if singular.endswith("y") and singular[-2:-1] not in "aeiou"
                else singular + ("es" if singular.endswith(("s", "x", "ch", "sh", "z")) else "s")
            )
            for word in (singular, plural):
                forms.add(f"{head} {word}" if head else word)
        for form in list(forms):
            forms.add(re.sub(r"isation", "ization", re.sub(r"is(e|ed|es|ing)\b", r"iz\1", form)))
            forms.add(re.sub(r"ization", "isation", re.sub(r"iz(e|ed|es|ing)\b", r"is\1", form)))
            forms.add(form.replace("'", "’"))
        variants.update(f for f in forms if f)
    return variants


# --- Reading the scheme ------------------------------------------------------------------------


def _texts(graph: Graph, subject: URIRef, predicate: URIRef) -> list[str]:
    return sorted(
        {str(o).strip() for o in graph.objects(subject, predicate) if isinstance(o, Literal) and str(o).strip()}
    )


def load_scheme(path: str | Path, base_iri: str = SOURCE_BASE) -> dict[str, Concept]:
    """Read the SKOS concept scheme and return its concepts by id (the IRI's local name).

    Concept IRIs may be under the file's own base (``https://kg.example.org/concept/``) or
    already rebased under ``base_iri``. Raises ConceptError when the file is missing or
    malformed or the scheme is inconsistent (see ``check_scheme``).
    """
    path = Path(path)
    graph = read_turtle(path, ConceptError, "concept scheme", "ontology/concepts.ttl")

    schemes = [s for s in graph.subjects(RDF.type, SKOS.ConceptScheme) if isinstance(s, URIRef)]
    if len(schemes) != 1:
        raise ConceptError(
            f"{path}: expected one skos:ConceptScheme, found {len(schemes)}",
            hint="declare exactly one scheme, <https://kg.example.org/concepts>",
        )
    scheme = schemes[0]
    prefixes = {f"{base}concept/" for base in (SOURCE_BASE, base_iri)}
    scheme_base = str(scheme)[: -len("concepts")] if str(scheme).endswith("concepts") else None
    if scheme_base:
        prefixes.add(f"{scheme_base}concept/")

    def local(node: URIRef) -> str:
        text = str(node)
        for prefix in prefixes:
            if text.startswith(prefix) and _SLUG.fullmatch(text[len(prefix) :]):
                return text[len(prefix) :]
        raise ConceptError(
            f"{path}: concept IRI <{text}> is not {{base}}concept/<slug>",
            hint="name concepts kgc:<lower-case-slug> with the file's kgc: prefix",
        )

    problems: list[str] = []
    concepts: dict[str, Concept] = {}
    for subject in sorted(s for s in graph.subjects(RDF.type, SKOS.Concept) if isinstance(s, URIRef)):
        cid = local(subject)
        prefs = _texts(graph, subject, SKOS.prefLabel)
        if len(prefs) != 1:
            problems.append(f"{cid} has {len(prefs)} skos:prefLabel values {prefs} (give it exactly one)")
            continue
        definitions = _texts(graph, subject, SKOS.definition)
        if len(definitions) != 1:
            problems.append(f"{cid} has {len(definitions)} skos:definition values (give it exactly one)")
        if (subject, SKOS.inScheme, scheme) not in graph:
            problems.append(f"{cid} is not skos:inScheme the scheme (add skos:inScheme <{scheme}>)")

        def ids(predicate: URIRef, subject: URIRef = subject) -> tuple[str, ...]:
            return tuple(sorted(local(o) for o in graph.objects(subject, predicate) if isinstance(o, URIRef)))

        concepts[cid] = Concept(
            id=cid,
            pref_label=prefs[0],
            alt_labels=tuple(_texts(graph, subject, SKOS.altLabel)),
            hidden_labels=tuple(_texts(graph, subject, SKOS.hiddenLabel)),
            definition=definitions[0] if definitions else "",
            scope_note=" ".join(_texts(graph, subject, SKOS.scopeNote)),
            broader=ids(SKOS.broader),
            narrower=ids(SKOS.narrower),
            related=ids(SKOS.related),
            context_labels=tuple(_texts(graph, subject, CONTEXT_LABEL)),
        )
        top = (subject, SKOS.topConceptOf, scheme) in graph
        listed = (scheme, SKOS.hasTopConcept, subject) in graph
        if top != listed:
            problems.append(
                f"{cid}: skos:topConceptOf and the scheme's skos:hasTopConcept disagree (state both or neither)"
            )
        if top != (not concepts[cid].broader):
            problems.append(
                f"{cid}: a top concept must have no skos:broader, and a concept without one must be a top concept"
            )
    if not concepts:
        problems.append("no skos:Concept at all")
    problems.extend(check_scheme(concepts))
    if problems:
        raise ConceptError(
            f"{path}: the concept scheme is inconsistent: "
            + "; ".join(problems[:10])
            + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""),
            hint="fix ontology/concepts.ttl",
        )
    return concepts


def check_scheme(concepts: Mapping[str, Concept]) -> list[str]:
    """Return what is inconsistent in a set of concepts (empty when the scheme is sound).

    Checks that every referenced concept exists, broader/narrower and related are symmetric,
    broader has no cycles, and no label names two concepts.
    """
    problems: list[str] = []
    for c in concepts.values():
        for kind, others in (("broader", c.broader), ("narrower", c.narrower), ("related", c.related)):
            for other in others:
                if other not in concepts:
                    problems.append(f"{c.id} has skos:{kind} {other}, which does not exist")
        for other in c.broader:
            if other in concepts and c.id not in concepts[other].narrower:
                problems.append(f"{c.id} is skos:broader {other} but {other} lacks skos:narrower {c.id}")
        for other in c.narrower:
            if other in concepts and c.id not in concepts[other].broader:
                problems.append(f"{c.id} is skos:narrower {other} but {other} lacks skos:broader {c.id}")
        for other in c.related:
            if other in concepts and c.id not in concepts[other].related:
                problems.append(f"{c.id} is skos:related {other} but not the other way round")
            if other in c.broader or other in c.narrower or other == c.id:
                problems.append(f"{c.id} is both skos:related and hierarchically linked to {other}")

    # Cycles: depth-first search over broader links.
    state: dict[str, int] = {}

    def visit(cid: str, trail: list[str]) -> None:
        state[cid] = 1
        for other in concepts[cid].broader:
            if other not in concepts:
                continue
            if state.get(other) == 1:
                cycle = trail[trail.index(other) :] + [other] if other in trail else [cid, other]
                problems.append("skos:broader cycle " + " -> ".join(cycle))
            elif other not in state:
                visit(other, trail + [other])
        state[cid] = 2

    for cid in concepts:
        if cid not in state:
            visit(cid, [cid])

    owners: dict[str, str] = {}
    for c in concepts.values():
        full = {normalise(x).replace(" ", "") for x in (c.pref_label, *c.alt_labels, *c.hidden_labels)}
        for label in c.context_labels:
            if normalise(label).replace(" ", "") in full:
                problems.append(
                    f"{c.id}: context label {label!r} is also a full label, so it would always match (drop one of them)"
                )
        for label in (c.pref_label, *c.alt_labels, *c.hidden_labels, *c.context_labels):
            key = label if is_acronym(label) else normalise(label).replace(" ", "")
            if not key:
                problems.append(f"{c.id} has a label with no letters or digits: {label!r}")
                continue
            other = owners.setdefault(key, c.id)
            if other != c.id:
                problems.append(f"label {label!r} names both {other} and {c.id} (keep it on one)")
    return problems


def top_concepts(concepts: Mapping[str, Concept]) -> dict[str, frozenset[str]]:
    """Return, for each concept, the top concepts it falls under (itself if it is one)."""
    tops: dict[str, frozenset[str]] = {}

    def find(cid: str, seen: frozenset[str]) -> frozenset[str]:
        if cid in tops:
            return tops[cid]
        parents = [b for b in concepts[cid].broader if b in concepts and b not in seen]
        result = frozenset({cid}) if not parents else frozenset().union(*(find(b, seen | {cid}) for b in parents))
        tops[cid] = result
        return result

    for cid in concepts:
        find(cid, frozenset())
    return tops


# --- Tagging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """One place a text names a concept: ``text[start:end]`` as written."""

    start: int
    end: int
    concept_id: str
    context: bool = False  # matched by a context label


@dataclass(frozen=True)
class _Target:
    concept_id: str | None  # None: a stop phrase, which tags nothing
    context: bool


def _trie_pattern(keys: Iterable[str]) -> str:
    """Return one regex matching any of ``keys``, factored by prefix; a space means "space or nothing".

    At each branch longer continuations are tried before stopping, so at any position the
    regex prefers the longest label (and backs off when a longer one fails its word boundary).
    """
    trie: dict = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = True

    def emit(node: dict) -> str:
        branches = []
        for ch in sorted(k for k in node if k):
            part = " ?" if ch == " " else re.escape(ch)
            branches.append(part + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return emit(trie)


class Tagger:
    """Find the concepts a text is about; compile once per scheme, then call ``tag`` per claim."""

    def __init__(
        self,
        concepts: Mapping[str, Concept] | Iterable[Concept],
        stop_phrases: Iterable[str] = STOP_PHRASES,
        organisations: OrganisationIndex | None = None,
    ):
        # Words inside an organisation's name say who, not what: "the Health and Social Care
        # Information Centre" is no mention of integration. The one organisation matcher finds them.
        self.organisations = organisations
        if not isinstance(concepts, Mapping):
            concepts = {c.id: c for c in concepts}
        self.concepts: dict[str, Concept] = dict(concepts)
        self._tops = top_concepts(self.concepts)
        self._words: dict[str, _Target] = {}  # normal form without spaces -> target
        self._acronyms: dict[str, _Target] = {}  # acronym stem as written -> target
        clashes: list[str] = []

        def add(table: dict[str, _Target], key: str, target: _Target, label: str) -> None:
            old = table.setdefault(key, target)
            if old != target and old.concept_id != target.concept_id:
                clashes.append(
                    f"{label!r} names both {old.concept_id or 'a stop phrase'} and "
                    f"{target.concept_id or 'a stop phrase'}"
                )

        spaced: dict[str, str] = {}  # key without spaces -> a spaced normal form, for the trie
        for c in self.concepts.values():
            labels = [(label, False) for label in (c.pref_label, *c.alt_labels, *c.hidden_labels)]
            labels += [(label, True) for label in c.context_labels]
            for label, context in labels:
                target = _Target(c.id, context)
                if is_acronym(label) and not context:
                    add(self._acronyms, _acronym_stem(_fold(label)), target, label)
                    continue
                form = _label_form(label)
                if form:
                    add(self._words, form.replace(" ", ""), target, label)
                    spaced.setdefault(form.replace(" ", ""), form)
        for phrase in stop_phrases:
            form = _label_form(phrase)
            if form:
                # A stop phrase never displaces a concept label of the same words.
                self._words.setdefault(form.replace(" ", ""), _Target(None, False))
                spaced.setdefault(form.replace(" ", ""), form)
        if clashes:
            raise ConceptError(
                "the concept scheme is ambiguous: " + "; ".join(clashes),
                hint="give each label to one concept in ontology/concepts.ttl",
            )

        # Both the spaced form and its unbroken spelling must be reachable: "co production" and
        # "coproduction" are one key; the pattern's optional spaces cover both.
        keys = sorted(set(spaced.values()), key=lambda k: (-len(k), k))
        self._word_re = re.compile(r"(?<![^ ])(?:" + _trie_pattern(keys) + r")(?![^ ])") if keys else None
        stems = sorted(self._acronyms, key=lambda k: (-len(k), k))
        self._acronym_re = (
            re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, stems)) + r")[sS]?(?!\w)") if stems else None
        )

    # The raw pass: every non-overlapping mention, longest first, context labels not yet judged.
    def _mentions(self, text: str) -> list[Mention]:
        folded = _fold(text)
        lowered = folded.casefold()
        # Word strings first; their positions are found only for a text that mentions something
        # (most claims mention nothing, and match objects cost more than the matching).
        tokens = _WORD.findall(lowered)
        if not tokens:
            return []
        forms = [_word_form(token) for token in tokens]
        canonical = " ".join(forms)

        candidates: list[tuple[int, int, _Target]] = []  # (first word, last word + 1, target)
        if self._word_re is not None:
            offsets: list[int] | None = None
            for m in self._word_re.finditer(canonical):
                target = self._words.get(m.group(0).replace(" ", ""))
                if target is None:
                    continue
                if offsets is None:
                    offsets, position = [], 0
                    for form in forms:
                        offsets.append(position)
                        position += len(form) + 1
                first = bisect_right(offsets, m.start()) - 1
                last = bisect_right(offsets, m.end() - 1)
                candidates.append((first, last, target))
        words: list[re.Match] | None = None
        if self._acronym_re is not None:
            starts: list[int] | None = None
            for m in self._acronym_re.finditer(folded):
                key = m.group(0)
                target = self._acronyms.get(key) or self._acronyms.get(key[:-1])
                if target is None:
                    continue
                if starts is None:
                    words = list(_WORD.finditer(lowered))
                    starts = [w.start() for w in words]
                first = bisect_right(starts, m.start()) - 1
                candidates.append((first, first + 1, target))
        if not candidates:
            return []
        if words is None:
            words = list(_WORD.finditer(lowered))
        if self.organisations is not None:
            masked = self.organisations.name_spans(folded)
            if masked:
                candidates = [
                    c
                    for c in candidates
                    if not any(s < words[c[1] - 1].end() and words[c[0]].start() < e for s, e in masked)
                ]

        candidates.sort(key=lambda c: (c[0], -(c[1] - c[0]), c[2].concept_id is None))
        mentions: list[Mention] = []
        reached = 0
        for first, last, target in candidates:
            if first < reached:
                continue
            reached = last
            if target.concept_id is not None:
                mentions.append(Mention(words[first].start(), words[last - 1].end(), target.concept_id, target.context))
        return mentions

    def _cues(self, mentions: Iterable[Mention]) -> set[str]:
        cues: set[str] = set()
        for m in mentions:
            if not m.context:
                cues |= self._tops[m.concept_id]
        return cues

    def _judge(self, mentions: list[Mention], cues: set[str]) -> list[Mention]:
        return [m for m in mentions if not m.context or self._tops[m.concept_id] & cues]

    def find(self, text: str, context: str = "") -> list[Mention]:
        """Return the mentions of concepts in ``text``, in order; ``context`` is the text around it.

        A context label counts when ``text`` or ``context`` mentions, by a full label, a concept
        under the same top concept.
        """
        mentions = self._mentions(text)
        if any(m.context for m in mentions):
            cues = self._cues(mentions)
            if context:
                cues |= self._cues(self._mentions(context))
            mentions = self._judge(mentions, cues)
        return mentions

    def tag(self, text: str, context: str = "") -> tuple[str, ...]:
        """Return the ids of the concepts ``text`` is about, in order of first mention, once each."""
        return tuple(dict.fromkeys(m.concept_id for m in self.find(text, context)))


def tag_claims(
    claims: Iterable[Claim],
    concepts: Mapping[str, Concept],
    *,
    titles: Mapping[str, str] | None = None,
    tagger: Tagger | None = None,
) -> dict[str, tuple[str, ...]]:
    """Tag each claim with its concepts; return claim id -> concept ids for tagged claims only.

    The context of a claim is its whole post (every claim of the same post id, plus the post's
    title when ``titles`` maps post ids to titles): a context label such as "clusters" counts in
    any claim of a post that elsewhere names Payment by Results.
    """
    tagger = tagger or Tagger(concepts)
    found: list[tuple[Claim, list[Mention]]] = []
    cues: dict[str, set[str]] = {}
    for claim in claims:
        mentions = tagger._mentions(claim.text)
        found.append((claim, mentions))
        cues.setdefault(claim.post_id, set()).update(tagger._cues(mentions))
    for post_id, title in (titles or {}).items():
        if post_id in cues:
            cues[post_id] |= tagger._cues(tagger._mentions(title))

    subjects: dict[str, tuple[str, ...]] = {}
    for claim, mentions in found:
        if any(m.context for m in mentions):
            mentions = tagger._judge(mentions, cues[claim.post_id])
        ids = tuple(dict.fromkeys(m.concept_id for m in mentions))
        if ids:
            subjects[claim.id] = ids
    return subjects
