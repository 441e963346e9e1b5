"""Every term kg writes is a published term of its vocabulary, or one of kg's own declared in ontology/kg.ttl.

The published term lists are shipped under tests/data/vocab/, one file per vocabulary, each naming
its source and version in its header (the rdflib-derived ones are written by make_rdflib_lists.py).
Checked: every predicate and rdf:type class of the graph built from the real corpus, of the
ontology files, and of the named queries, plus every IRI anywhere in them that lies in a listed
vocabulary's namespace, and every term the vocabulary classes of kg.vocab declare.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef

from kg import vocab
from kg.graph import open_store

ROOT = Path(__file__).resolve().parents[1]
LISTS = ROOT / "tests" / "data" / "vocab"
ONTOLOGY = ROOT / "ontology"
KG_NS = str(vocab.KG._NS)
RDF_TYPE = str(vocab.RDF.type)


def load_lists() -> dict[str, set[str]]:
    """Return namespace IRI -> published local names, from the shipped term lists."""
    lists: dict[str, set[str]] = {}
    for path in sorted(LISTS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        header = [line for line in lines if line.startswith("#")]
        namespace = next(line.split(":", 1)[1].strip() for line in header if line.startswith("# namespace:"))
        assert len(header) >= 3 and "http" in header[0], f"{path.name} must name its source and version first"
        lists[namespace] = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return lists


PUBLISHED = load_lists()


def kg_declared() -> set[str]:
    """Return kg's own terms that ontology/kg.ttl declares with a label and a definition."""
    g = Graph().parse(ONTOLOGY / "kg.ttl")
    return {str(s)[len(KG_NS):] for s in set(g.subjects(vocab.RDFS.comment, None))
            if str(s).startswith(KG_NS) and g.value(s, vocab.RDFS.label) is not None}


KG_TERMS = kg_declared()


def problem(term: str) -> str | None:
    """Return why ``term`` is not a published or declared term, or None when it is one."""
    if term.startswith(KG_NS):
        local = term[len(KG_NS):]
        return None if local in KG_TERMS else f"{term} is a kg term ontology/kg.ttl does not declare (add it there with rdfs:label and rdfs:comment)"
    namespace = max((ns for ns in PUBLISHED if term.startswith(ns)), key=len, default=None)
    if namespace is None:
        return f"{term} is in no vocabulary with a term list; add tests/data/vocab/NAME.txt from its published file"
    local = term[len(namespace):]
    return None if local in PUBLISHED[namespace] else f"{term} is not a published term of {namespace}"


def triples_terms(triples) -> set[str]:
    """Return the predicates, rdf:type classes and listed-namespace IRIs of (s, p, o) string triples."""
    terms: set[str] = set()
    for s, p, o in triples:
        terms.add(p)
        if p == RDF_TYPE and o is not None:
            terms.add(o)
        for node in (s, o):
            if node is not None and (node.startswith(KG_NS) or any(node.startswith(ns) for ns in PUBLISHED)):
                terms.add(node)
    return terms


def _iri(node) -> str | None:
    if isinstance(node, ox.NamedNode):
        return node.value
    return str(node) if isinstance(node, URIRef) else None


def graph_terms(g: Graph) -> set[str]:
    return triples_terms((_iri(s), str(p), _iri(o)) for s, p, o in g)


def problems(terms: set[str]) -> list[str]:
    return sorted(filter(None, map(problem, terms)))


def test_every_shipped_list_names_its_source_and_holds_terms():
    assert {"cito", "c4o", "co", "doco", "fabio", "bibo", "oa", "dcterms", "skos", "prov", "foaf", "org"} <= {
        p.stem for p in LISTS.glob("*.txt")}
    assert all(PUBLISHED.values())
    assert "includesQuotationFrom" in PUBLISHED["http://purl.org/spar/cito/"]
    assert "quotes" not in PUBLISHED["http://purl.org/spar/cito/"]


def test_the_built_graph_of_the_real_corpus_uses_only_published_or_declared_terms(built_settings):
    store = open_store(built_settings)
    terms = triples_terms((_iri(q.subject), q.predicate.value, _iri(q.object)) for q in store.quads_for_pattern(None, None, None, None))
    assert str(vocab.CITO.includesQuotationFrom) in terms or str(vocab.CITO.cites) in terms
    assert str(vocab.KG.citedLocator) in terms and str(vocab.CO.index) in terms
    assert problems(terms) == []


@pytest.mark.parametrize("path", sorted(ONTOLOGY.glob("*.ttl")), ids=lambda p: p.name)
def test_the_ontology_files_use_only_published_or_declared_terms(path):
    assert problems(graph_terms(Graph().parse(path))) == []


_QUERY_STRING = re.compile(r'"""(.*?)"""', re.S)
_PREFIXED = re.compile(r"(?<![\w:/#<])(" + "|".join(vocab.PREFIXES) + r"):([A-Za-z][\w-]*)")


def query_terms(text: str) -> set[str]:
    """Return the prefixed names of a SPARQL text (comments dropped), expanded with kg's prefixes."""
    text = "\n".join(line.split("#", 1)[0] if not line.lstrip().startswith("PREFIX") else "" for line in text.splitlines())
    return {vocab.PREFIXES[p] + local for p, local in _PREFIXED.findall(text)}


def named_and_reader_queries() -> list[tuple[str, str]]:
    queries = [(p.name, p.read_text(encoding="utf-8")) for p in sorted((ONTOLOGY / "queries").glob("*.rq"))]
    for source in (ROOT / "src" / "kg" / "catalog.py", ROOT / "web" / "data.py"):
        for n, text in enumerate(_QUERY_STRING.findall(source.read_text(encoding="utf-8"))):
            if re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", text):
                queries.append((f"{source.name}#{n}", text))
    return queries


@pytest.mark.parametrize("name,text", named_and_reader_queries(), ids=lambda v: v if "\n" not in v else "")
def test_the_queries_kg_reads_with_use_only_published_or_declared_terms(name, text):
    assert problems(query_terms(text)) == [], name


@pytest.mark.parametrize("ns", [vocab.CITO, vocab.C4O, vocab.CO, vocab.DOCO, vocab.FABIO, vocab.BIBO, vocab.OA, vocab.KG])
def test_every_term_kg_vocab_declares_is_published_or_declared(ns):
    # A term the code may write for some other corpus (a citation function the seed never uses).
    assert problems({str(ns._NS) + name for name in ns.__annotations__}) == []


@pytest.mark.parametrize("term,why", [
    ("http://purl.org/spar/cito/quotes", "not a published term of http://purl.org/spar/cito/"),
    ("http://purl.org/spar/cito/Quotes", "not a published term"),
    ("http://purl.org/ontology/bibo/citedPage", "not a published term of http://purl.org/ontology/bibo/"),
    ("http://purl.org/co/elements", "not a published term of http://purl.org/co/"),
    ("http://purl.org/dc/terms/creater", "not a published term of http://purl.org/dc/terms/"),
    ("https://kg.example.org/ns#pageCited", "ontology/kg.ttl does not declare"),
    ("http://example.org/vocab#thing", "no vocabulary with a term list"),
])
def test_a_made_up_term_is_reported(term, why):
    g = Graph()
    g.add((URIRef("https://kg.example.org/citation/c1"), URIRef(term), Literal("x")))
    g.add((URIRef("https://kg.example.org/citation/c2"), vocab.RDF.type, URIRef(term)))
    found = problems(graph_terms(g))
    assert len(found) == 1 and why in found[0], found
    assert problems(query_terms(f"SELECT * {{ ?c <{term}> ?x }}")) == []  # a full IRI is not a prefixed name
    prefixed = next((f"{p}:{term[len(ns):]}" for p, ns in vocab.PREFIXES.items() if term.startswith(ns) and "/" not in term[len(ns):]), None)
    if prefixed:
        assert len(problems(query_terms(f"SELECT * {{ ?c {prefixed} ?x }}"))) == 1


AGENT_PROPERTIES = [vocab.DCTERMS.creator, vocab.DCTERMS.publisher, vocab.DCTERMS.contributor,
                    vocab.PROV.wasAttributedTo, vocab.PROV.wasAssociatedWith, vocab.PROV.agent]
AGENT_CLASSES = {vocab.FOAF.Agent, vocab.FOAF.Organization, vocab.FOAF.Person, vocab.DCTERMS.Agent,
                 vocab.ORG.Organization, vocab.PROV.Agent, vocab.PROV.SoftwareAgent}


def test_every_creator_publisher_and_agent_is_a_typed_resource_not_a_name(built_settings):
    g = Graph()
    for path in ONTOLOGY.glob("*.ttl"):
        g.parse(path)
    store = open_store(built_settings)
    for q in store.quads_for_pattern(None, None, None, None):
        s, p, o = (URIRef(q.subject.value) if isinstance(q.subject, ox.NamedNode) else BNode(q.subject.value)), \
            URIRef(q.predicate.value), q.object
        if p in AGENT_PROPERTIES or p == vocab.RDF.type:
            g.add((s, p, URIRef(o.value) if isinstance(o, ox.NamedNode) else Literal(o.value)))
    seen = 0
    for prop in AGENT_PROPERTIES:
        for s, agent in g.subject_objects(prop):
            seen += 1
            assert isinstance(agent, URIRef), f"{s} {prop} {agent!r}: an agent must be a resource, not a literal"
            assert set(g.objects(agent, vocab.RDF.type)) & AGENT_CLASSES, f"{agent} is not typed as an agent"
    assert seen > 0


def test_a_parenthesis_keeps_the_order_it_names_its_works_in(built_settings):
    store = open_store(built_settings)
    rows = list(store.query(vocab.sparql_prologue() + """
        SELECT ?group ?raw ?n ?cit ?next ?size ?first WHERE {
          ?group a c4o:InTextReferencePointerList, co:List ; c4o:hasContent ?raw ; co:size ?size ;
                 co:firstItem ?first ; co:item ?item .
          ?item a c4o:InTextReferencePointerListItem ; co:index ?n ; co:itemContent ?c .
          ?c c4o:hasContent ?cit .
          OPTIONAL { ?item co:nextItem ?nx . ?nx co:index ?next }
        } ORDER BY ?group ?n"""))
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r["group"].value, []).append(r)
    assert groups
    for items in groups.values():
        indexes = [int(r["n"].value) for r in items]
        assert indexes == list(range(1, int(items[0]["size"].value) + 1))
        assert [int(r["next"].value) if r["next"] else None for r in items] == indexes[1:] + [None]
        raw = items[0]["raw"].value
        positions = [raw.find(r["cit"].value) for r in items]
        assert -1 not in positions and positions == sorted(positions), (raw, [r["cit"].value for r in items])
    assert any(len(items) > 1 for items in groups.values())
