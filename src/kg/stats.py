"""The statistics graph: aggregates computed at build time, kept up to date post by post.

Citation counts per source, co-citation pairs, concept-to-source counts and claims per concept
(narrower concepts rolled up through skos:broader / skos:narrower, transitively), pairs of
concepts on one claim, single-source claims: what the named queries and the catalog's pages
count. They are written into the named graph ``kg:statistics`` (described in ontology/kg.ttl),
so a query reads a count instead of computing it over the whole graph.

The one rule is ``contribution``: what one post adds to every count. Every count is a sum of
posts' contributions (a claim, a citation and a parenthesis belong to one post), so a full
build adds up every post's, and an incremental build takes the live totals (kept beside the
store in ``TOTALS_FILE``), subtracts the old contribution of each changed or removed post and
adds the new one; only the nodes whose counts moved are rewritten. Nodes have IRIs minted from
what they count (no blank nodes: Virtuoso refuses them in a named graph it loads).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from itertools import combinations
from pathlib import Path
from urllib.parse import quote

from .graph import Iris, _lit
from .model import Citation, Claim, Concept, Corpus
from .vocab import DCTERMS, KG, RDF

_NS = str(KG._NS)

#: The named graph the statistics live in (a schema IRI, so it stays put whatever the base IRI).
GRAPH = _NS + "statistics"
#: The live totals, written into each store folder beside its build record.
TOTALS_FILE = "kg-statistics.json"
#: Parts of a node key and of an example measure are joined with this (never in a key or an id).
SEP = "\x1f"
#: A co-cited pair's measure naming one parenthesis text that cites both; the smallest is shown.
EXAMPLE = "example" + SEP

Totals = dict[str, Counter]

_TYPE = str(RDF.type)
_INT = {name: _NS + name for name in ("citationCount", "claimCount", "postCount", "groupCount", "taggedClaimCount")}


def ancestors(concepts: Mapping[str, Concept]) -> dict[str, frozenset[str]]:
    """Each concept id -> itself and every concept above it (skos:broader, or ^skos:narrower, transitively)."""
    parents: dict[str, set[str]] = defaultdict(set)
    for concept in concepts.values():
        parents[concept.id].update(concept.broader)
        for child in concept.narrower:
            parents[child].add(concept.id)
    found: dict[str, frozenset[str]] = {}
    for cid in concepts:
        seen = {cid}
        todo = [cid]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        found[cid] = frozenset(c for c in seen if c in concepts)
    return found


def contribution(
    claims: Iterable[Claim],
    citations: Iterable[Citation],
    subjects: Mapping[str, tuple[str, ...]],
    library: Mapping[str, object],
    up: Mapping[str, frozenset[str]],
) -> Totals:
    """What one post adds to every count: node key -> measure -> amount.

    ``library`` is the reference library (only its keys are sources with a kg:citationKey),
    ``up`` the ``ancestors`` of each concept of the scheme.
    """
    out: Totals = defaultdict(Counter)
    cited = [c for c in citations if c.status == "resolved" and c.reference_key]
    by_claim: dict[str, list[Citation]] = defaultdict(list)
    for cit in cited:
        by_claim[cit.claim_id].append(cit)
        out[f"source{SEP}{cit.reference_key}"]["citationCount"] += 1
    for key in {c.reference_key for c in cited}:
        out[f"source{SEP}{key}"]["postCount"] += 1
    groups: dict[str, set[str]] = defaultdict(set)
    raw: dict[str, str] = {}
    for cit in cited:
        groups[cit.group_id].add(cit.reference_key or "")
        raw[cit.group_id] = cit.group_raw
    for group_id, keys in groups.items():
        if not raw[group_id]:
            continue  # a group without text has no c4o:hasContent, so the query never saw it
        for k1, k2 in combinations(sorted(keys), 2):
            node = out[f"cocited{SEP}{k1}{SEP}{k2}"]
            node["groupCount"] += 1
            node[EXAMPLE + raw[group_id]] += 1
    for claim in claims:
        keys = {c.reference_key or "" for c in by_claim.get(claim.id, ())}
        for key in keys:
            out[f"source{SEP}{key}"]["claimCount"] += 1
        in_library = sorted(k for k in keys if k in library)
        if len(in_library) == 1:
            out[f"single{SEP}{claim.id}{SEP}{in_library[0]}"]["single"] += 1
        tags = sorted(t for t in subjects.get(claim.id, ()) if t in up)
        if not tags:
            continue
        tops = set().union(*(up[t] for t in tags))
        for tag in tags:
            out[f"concept{SEP}{tag}"]["taggedClaimCount"] += 1
        for c1, c2 in combinations(tags, 2):
            out[f"pair{SEP}{c1}{SEP}{c2}"]["claimCount"] += 1
        for top in tops:
            out[f"concept{SEP}{top}"]["claimCount"] += 1
            for other in tags:
                if top not in up[other]:  # not the concept itself nor one below it
                    out[f"with{SEP}{top}{SEP}{other}"]["claimCount"] += 1
            for key in keys:
                out[f"cs{SEP}{top}{SEP}{key}"]["claimCount"] += 1
            for cit in by_claim.get(claim.id, ()):
                out[f"cs{SEP}{top}{SEP}{cit.reference_key}"]["citationCount"] += 1
    return out


def ranks(concepts: Iterable[str], keys: Iterable[str], titles: Mapping[str, str], base_iri: str) -> dict[str, int]:
    """The sort keys the named queries order by, as integers: IRI -> dense rank.

    Concepts by identifier, sources by citation key, posts by title (equal titles share a rank),
    in code-point order, which is SPARQL's order of simple literals in Oxigraph. Comparing two
    integers reads nothing from disk; comparing two strings reads both. A post's rank moves when
    a post before it comes or goes, so every build computes them all and rewrites those that moved.
    """
    ids = Iris(base_iri)
    found: dict[str, int] = {}
    for iri, values in (
        (ids.concept, {c: c for c in concepts}),
        (ids.source, {k: k for k in keys}),
        (ids.post, titles),
    ):
        order = {value: n for n, value in enumerate(sorted(set(values.values())), 1)}
        found.update({iri(name): order[value] for name, value in values.items()})
    return found


def add(totals: Totals, part: Totals, sign: int = 1) -> set[str]:
    """Add ``part`` into ``totals`` (subtract with ``sign=-1``); return the node keys touched."""
    for node, measures in part.items():
        target = totals.setdefault(node, Counter())
        for measure, amount in measures.items():
            target[measure] += sign * amount
            if target[measure] == 0:
                del target[measure]
            elif target[measure] < 0:
                raise ValueError(f"statistics went below zero at {node!r} {measure!r}: the live totals are stale")
        if not target:
            del totals[node]
    return set(part)


class Writer:
    """N-Quads lines of the statistics graph, IRIs under one base."""

    def __init__(self, base_iri: str):
        self.ids = Iris(base_iri)
        self.base = base_iri

    def _node(self, kind: str, *parts: str) -> str:
        return f"{self.base}statistics/{kind}/" + "/".join(quote(p, safe="-._~") for p in parts)

    def node_lines(self, node: str, measures: Mapping[str, int]) -> list[str]:
        """The quads one node's measures make (none when it counts nothing)."""
        if not measures:
            return []
        kind, *parts = node.split(SEP)
        ids, out = self.ids, []

        def iri(s: str, p: str, o: str) -> None:
            out.append(f"<{s}> <{p}> <{o}> <{GRAPH}> .\n")

        def counts(s: str) -> None:
            for measure, amount in sorted(measures.items()):
                if measure in _INT:
                    out.append(f"<{s}> <{_INT[measure]}> {_lit(amount)} <{GRAPH}> .\n")

        if kind == "source":
            counts(ids.source(parts[0]))
        elif kind == "concept":
            counts(ids.concept(parts[0]))
        elif kind == "single":
            iri(ids.claim(parts[0]), _NS + "singleSource", ids.source(parts[1]))
        elif kind == "cocited":
            s = self._node("co-cited", *parts)
            iri(s, _TYPE, _NS + "CoCitation")
            iri(s, _NS + "firstSource", ids.source(parts[0]))
            iri(s, _NS + "secondSource", ids.source(parts[1]))
            counts(s)
            example = min(m[len(EXAMPLE) :] for m in measures if m.startswith(EXAMPLE))
            out.append(f"<{s}> <{_NS}exampleText> {_lit(example)} <{GRAPH}> .\n")
        elif kind == "pair":
            s = self._node("co-occurring", *parts)
            iri(s, _TYPE, _NS + "ConceptPair")
            iri(s, _NS + "firstConcept", ids.concept(parts[0]))
            iri(s, _NS + "secondConcept", ids.concept(parts[1]))
            counts(s)
        elif kind == "with":
            s = self._node("concept-with", *parts)
            iri(s, _TYPE, _NS + "ConceptCoOccurrence")
            iri(s, _NS + "concept", ids.concept(parts[0]))
            iri(s, _NS + "otherConcept", ids.concept(parts[1]))
            counts(s)
        elif kind == "cs":
            s = self._node("concept-source", *parts)
            iri(s, _TYPE, _NS + "ConceptSourceCount")
            iri(s, _NS + "concept", ids.concept(parts[0]))
            iri(s, _NS + "source", ids.source(parts[1]))
            counts(s)
        else:
            raise ValueError(f"unknown statistics node {node!r}")
        return out

    def scheme_lines(self, up: Mapping[str, frozenset[str]]) -> list[str]:
        """kg:rollsUpTo from each concept to itself and every concept above it."""
        return [
            f"<{self.ids.concept(c)}> <{_NS}rollsUpTo> <{self.ids.concept(top)}> <{GRAPH}> .\n"
            for c in sorted(up)
            for top in sorted(up[c])
        ]

    def name_lines(self, concepts: Iterable[str], keys: Iterable[str]) -> list[str]:
        """Each concept's dcterms:identifier and each source's kg:citationKey, as in the default
        graph: a query can then stay in this graph from a bound name to the counts."""
        ident, key = str(DCTERMS.identifier), _NS + "citationKey"
        return [f"<{self.ids.concept(c)}> <{ident}> {_lit(c)} <{GRAPH}> .\n" for c in sorted(concepts)] + [
            f"<{self.ids.source(k)}> <{key}> {_lit(k)} <{GRAPH}> .\n" for k in sorted(keys)
        ]

    def rank_lines(self, ranks: Mapping[str, int]) -> list[str]:
        return [f"<{iri}> <{_NS}sortRank> {_lit(n)} <{GRAPH}> .\n" for iri, n in sorted(ranks.items())]

    def lines(self, totals: Totals, up: Mapping[str, frozenset[str]], ranks: Mapping[str, int]) -> list[str]:
        """Every quad of the statistics graph for ``totals`` and ``ranks``."""
        out = self.scheme_lines(up) + self.rank_lines(ranks)
        for node in sorted(totals):
            out.extend(self.node_lines(node, totals[node]))
        return out

    def changes(
        self, before: Totals, after: Totals, touched: Iterable[str], ranks: tuple[Mapping[str, int], Mapping[str, int]]
    ) -> tuple[list[str], list[str]]:
        """The quads to remove and to add so the graph of ``before`` becomes that of ``after``
        (the ``touched`` nodes, and the ranks that moved from ``ranks[0]`` to ``ranks[1]``)."""
        old_ranks, new_ranks = (set(self.rank_lines(r)) for r in ranks)
        removed: list[str] = sorted(old_ranks - new_ranks)
        added: list[str] = sorted(new_ranks - old_ranks)
        for node in sorted(set(touched)):
            old = set(self.node_lines(node, before.get(node, Counter())))
            new = set(self.node_lines(node, after.get(node, Counter())))
            removed.extend(sorted(old - new))
            added.extend(sorted(new - old))
        return removed, added


def of_corpus(corpus: Corpus, base_iri: str) -> tuple[Totals, dict[str, int], list[str]]:
    """The statistics of a whole corpus: totals (each post's contribution added up), ranks, quads."""
    claims, citations = corpus.by_post()
    up = ancestors(corpus.concepts)
    totals = total(
        contribution(claims[post.id], citations[post.id], corpus.subjects, corpus.references, up)
        for post in corpus.posts
    )
    found = ranks(corpus.concepts, corpus.references, {post.id: post.title for post in corpus.posts}, base_iri)
    writer = Writer(base_iri)
    return totals, found, writer.lines(totals, up, found) + writer.name_lines(corpus.concepts, corpus.references)


def total(parts: Iterable[Totals]) -> Totals:
    totals: Totals = {}
    for part in parts:
        add(totals, part)
    return totals


def save(store_dir: Path, totals: Totals, ranks: Mapping[str, int], triples: int) -> None:
    """Write the totals and ranks a store's statistics graph was made from into its folder."""
    data = {"triples": triples, "ranks": dict(ranks), "totals": {node: dict(m) for node, m in sorted(totals.items())}}
    (store_dir / TOTALS_FILE).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def load(store_dir: Path) -> tuple[Totals, dict[str, int], int] | None:
    """The totals, ranks and triple count of a store's statistics graph, or None if it has no readable record."""
    try:
        data = json.loads((store_dir / TOTALS_FILE).read_text(encoding="utf-8"))
        totals = {node: Counter(m) for node, m in data["totals"].items()}
        return totals, {str(k): int(v) for k, v in data["ranks"].items()}, int(data["triples"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
