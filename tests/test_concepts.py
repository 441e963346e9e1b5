"""The concept scheme (ontology/concepts.ttl) and concept tagging (kg.concepts)."""

from __future__ import annotations

import re
import time

import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS

from kg import claims as claims_mod
from kg.concepts import (
    Tagger, check_scheme, is_acronym, label_variants, load_scheme, normalise, other_labels, tag_claims,
)
from kg.corpus import load_posts
from kg.errors import ConceptError
from kg.model import Concept
from kg.settings import ROOT

SCHEME = ROOT / "ontology" / "concepts.ttl"
LABELS = ROOT / "tests" / "data" / "concept_labels.yaml"
KGC = "https://kg.example.org/concept/"


@pytest.fixture(scope="module")
def concepts() -> dict[str, Concept]:
    return load_scheme(SCHEME)


@pytest.fixture(scope="module")
def tagger(concepts) -> Tagger:
    return Tagger(concepts)


@pytest.fixture(scope="module")
def posts():
    return load_posts(ROOT / "corpus" / "posts")[0]


# --- The scheme as RDF ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graph() -> Graph:
    g = Graph()
    g.parse(SCHEME, format="turtle")
    return g


def test_scheme_parses_and_is_sizeable(graph):
    nodes = set(graph.subjects(RDF.type, SKOS.Concept))
    assert 60 <= len(nodes) <= 130
    scheme = URIRef("https://kg.example.org/concepts")
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    for node in nodes:
        assert str(node).startswith(KGC) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(node)[len(KGC):])
        assert (node, SKOS.inScheme, scheme) in graph
        prefs = list(graph.objects(node, SKOS.prefLabel))
        assert len(prefs) == 1 and prefs[0].language == "en", node
        definitions = list(graph.objects(node, SKOS.definition))
        assert len(definitions) == 1 and len(str(definitions[0])) > 40, node


def test_hierarchy_is_symmetric_closed_and_acyclic(graph):
    nodes = set(graph.subjects(RDF.type, SKOS.Concept))
    for a, p, b in graph.triples((None, None, None)):
        if p in (SKOS.broader, SKOS.narrower, SKOS.related):
            assert a in nodes and b in nodes, (a, p, b)
    for a, b in graph.subject_objects(SKOS.broader):
        assert (b, SKOS.narrower, a) in graph, f"{a} broader {b} without the narrower link"
    for a, b in graph.subject_objects(SKOS.narrower):
        assert (b, SKOS.broader, a) in graph, f"{a} narrower {b} without the broader link"
    for a, b in graph.subject_objects(SKOS.related):
        assert (b, SKOS.related, a) in graph
    # No cycles: every concept reaches a top concept by broader links, never revisiting one.
    for node in nodes:
        frontier, seen = {node}, set()
        while frontier:
            assert not (frontier & seen), f"broader cycle through {node}"
            seen |= frontier
            frontier = {b for n in frontier for b in graph.objects(n, SKOS.broader)}
    scheme = URIRef("https://kg.example.org/concepts")
    tops = {n for n in nodes if not list(graph.objects(n, SKOS.broader))}
    assert tops == set(graph.objects(scheme, SKOS.hasTopConcept)) == set(graph.subjects(SKOS.topConceptOf, scheme))
    assert 5 <= len(tops) <= 20


def test_loaded_scheme_is_consistent(concepts):
    assert check_scheme(concepts) == []


REQUIRED = (
    "personalisation personal-budgets personal-health-budgets direct-payments self-directed-support "
    "individual-budgets payment-by-results pbr-clusters mental-health-clustering-tool "
    "care-transition-protocols tariffs currencies honos care-pathways-and-packages market-forces-factor "
    "proms data-quality mental-health-minimum-data-set commissioning joint-commissioning "
    "people-led-commissioning decommissioning commissioning-cycle market-shaping integration "
    "integrated-personal-commissioning better-care-fund coproduction micro-enterprise "
    "resource-allocation-systems section-117-aftercare out-of-area-placements recovery person-centred-care "
    "care-and-support-planning self-management shared-decision-making social-care-funding funding-cuts "
    "mental-health-spending care-act-2014 putting-people-first learning-disability disability-rights "
    "advocacy-coalition-framework care-co-ordination patient-feedback user-led-organisations "
    "community-led-care carers older-people childrens-mental-health personal-assistants choice-and-control"
).split()


def test_scheme_covers_the_corpus_topics(concepts):
    assert not [cid for cid in REQUIRED if cid not in concepts]


@pytest.mark.parametrize("cid, label, kind", [
    ("payment-by-results", "PbR", "alt"), ("mental-health-clustering-tool", "MHCT", "alt"),
    ("personal-health-budgets", "PHB", "alt"), ("resource-allocation-systems", "RAS", "alt"),
    ("self-directed-support", "SDS", "alt"), ("integrated-personal-commissioning", "IPC", "alt"),
    ("section-117-aftercare", "S117", "alt"), ("direct-payments", "DPs", "alt"),
    ("personalisation", "personalization", "alt"), ("coproduction", "co-production", "pref"),
    ("coproduction", "coproduction", "alt"), ("personalisation", "Peronalisation", "hidden"),
    ("better-care-fund", "Integration Transformation Fund", "alt"), ("pbr-clusters", "cluster", "context"),
])
def test_labels_users_type(concepts, cid, label, kind):
    c = concepts[cid]
    field = {"pref": (c.pref_label,), "alt": c.alt_labels, "hidden": c.hidden_labels,
             "context": c.context_labels}[kind]
    assert any(x.casefold() == label.casefold() for x in field)


def test_load_scheme_accepts_a_rebased_file(tmp_path, concepts):
    rebased = tmp_path / "concepts.ttl"
    rebased.write_text(SCHEME.read_text(encoding="utf-8").replace(
        "https://kg.example.org/concept", "https://other.example/kg/concept"), encoding="utf-8")
    again = load_scheme(rebased, base_iri="https://other.example/kg/")
    assert again == concepts


# --- Malformed schemes are refused with a fix ------------------------------------------------------

HEAD = """@prefix kgc: <https://kg.example.org/concept/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<https://kg.example.org/concepts> a skos:ConceptScheme ; skos:hasTopConcept kgc:a .
"""
A = ('kgc:a a skos:Concept ; skos:inScheme <https://kg.example.org/concepts> ; '
     'skos:topConceptOf <https://kg.example.org/concepts> ; skos:prefLabel "A"@en ; '
     'skos:definition "a"@en ; skos:narrower kgc:b .\n')
B = ('kgc:b a skos:Concept ; skos:inScheme <https://kg.example.org/concepts> ; skos:prefLabel "B"@en ; '
     'skos:definition "b"@en ; skos:broader kgc:a .\n')


def test_a_minimal_scheme_loads(tmp_path):
    path = tmp_path / "c.ttl"
    path.write_text(HEAD + A + B)
    loaded = load_scheme(path)
    assert loaded["b"].broader == ("a",) and loaded["a"].narrower == ("b",)


@pytest.mark.parametrize("text, message", [
    (None, "does not exist"),
    (HEAD + "kgc:a a skos:Concept ; skos:prefLabel .", "not valid Turtle"),
    (HEAD + A + B.replace("skos:broader kgc:a", "skos:broader kgc:a, kgc:c"), "kgc:c".replace("kgc:", "")),
    (HEAD + A.replace(" ; skos:narrower kgc:b", "") + B, "lacks skos:narrower"),
    (HEAD + A + B.replace('"B"@en', '"B"@en, "Bee"@en'), "prefLabel"),
    (HEAD + A + B.replace('skos:prefLabel "B"@en', 'skos:prefLabel "A"@en'), "names both"),
    (HEAD + A.replace("skos:narrower kgc:b", "skos:narrower kgc:b ; skos:broader kgc:b")
     + B.replace("skos:broader kgc:a", "skos:broader kgc:a ; skos:narrower kgc:a"), "top concept"),
    (HEAD + A + B.replace("skos:inScheme <https://kg.example.org/concepts> ; ", ""), "inScheme"),
])
def test_malformed_schemes_are_refused(tmp_path, text, message):
    path = tmp_path / "c.ttl"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConceptError) as info:
        load_scheme(path)
    assert message in str(info.value) and "(" in str(info.value)  # the hint says how to fix it


def test_broader_cycles_are_found():
    a = Concept("a", "A", broader=("c",), narrower=("b",))
    b = Concept("b", "B", broader=("a",), narrower=("c",))
    c = Concept("c", "C", broader=("b",), narrower=("a",))
    assert any("cycle" in p for p in check_scheme({x.id: x for x in (a, b, c)}))


# --- Normal form and variants ----------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("Co-productions", "coproduction"), ("Personalization", "personalisation"),
    ("children’s", "children's"), ("Children & Families", "children and family"),
    ("person-centered", "person-centred"), ("policies", "policy"), ("Direct Payments", "direct payment"),
])
def test_normalise_folds_variants(a, b):
    assert normalise(a).replace(" ", "") == normalise(b).replace(" ", "")


@pytest.mark.parametrize("a, b", [("care", "carer"), ("personal", "personalisation"), ("budget", "personal budget")])
def test_normalise_keeps_words_apart(a, b):
    assert normalise(a) != normalise(b)


def test_acronyms():
    assert all(map(is_acronym, ["PbR", "RAS", "PHBs", "S117", "HoNOS", "5YFV"]))
    assert not any(map(is_acronym, ["Personal", "care", "Care Act", "co-production"]))


def test_label_variants(concepts):
    co = label_variants(concepts["coproduction"])
    assert {"co-production", "coproduction", "co production"} <= co
    pers = label_variants(concepts["personalisation"])
    assert {"personalisation", "personalization", "peronalisation"} <= pers
    assert {"PHB", "PHBs", "personal health budget", "personal health budgets"} <= label_variants(
        concepts["personal-health-budgets"])
    assert "cluster" not in label_variants(concepts["pbr-clusters"])  # context labels stay out


# --- Matching rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, context, expected", [
    ("Personal", "", ()),
    ("What do we mean by ‘personal’?", "", ()),
    ("Why do we care what the Daily Mail thinks?", "", ()),
    ("That budget was spent on the care of older people.", "", ("older-people",)),
    ("Care Transition Protocols apply", "", ("care-transition-protocols",)),
    ("personal health budgets", "", ("personal-health-budgets",)),
    ("Personal Budgets and Personal Health Budgets", "", ("personal-budgets", "personal-health-budgets")),
    ("the PbR Clusters", "", ("pbr-clusters",)),
    ("PbR and payment by results, then personalisation", "", ("payment-by-results", "personalisation")),
    ("the RAS and PHBs", "", ("resource-allocation-systems", "personal-health-budgets")),
    ("ras, Poet, sds and phb are just words", "", ()),
    ("PROMS and PROMs", "", ("proms",)),
    ("co-production", "", ("coproduction",)),
    ("Co production", "", ("coproduction",)),
    ("COPRODUCTION", "", ("coproduction",)),
    ("personalization", "", ("personalisation",)),
    ("Peronalisation quadrants", "", ("personalisation",)),
    ("person-centered care", "", ("person-centred-care",)),
    ("children's mental health", "", ("childrens-mental-health",)),
    ("children’s mental health", "", ("childrens-mental-health",)),
    ("the Children & Families Act", "", ("children-and-families-act",)),
    ("“joint” or “integrated” commissioning", "", ("joint-commissioning",)),
    ("The Social Care Institute for Excellence hosted it", "", ()),
    ("working for Think Local Act Personal", "", ()),
    ("IPCMy current work", "", ()),
    ("he was cut out to be a leader", "", ()),
    ("funding cuts", "", ("funding-cuts",)),
    ("the clusters were large", "", ()),
    ("the clusters were large", "Payment by Results in mental health", ("pbr-clusters",)),
    ("the clusters were large", "a tariff for each", ("pbr-clusters",)),
    ("the clusters were large", "personalisation and choice", ()),
    ("a broad coalition", "", ("advocacy-coalition-framework",)),
    ("in the coalition", "", ()),
    ("in the coalition", "the Advocacy Coalition Framework", ("advocacy-coalition-framework",)),
    ("support recovery", "", ()),
    ("support recovery", "mental health services", ("recovery",)),
    ("S117 aftercare and out-of-area placements", "", ("section-117-aftercare", "out-of-area-placements")),
    ("the Integration Transformation Fund", "", ("better-care-fund",)),
])
def test_matching_rules(tagger, text, context, expected):
    assert tagger.tag(text, context) == expected


def test_mentions_point_at_the_text(tagger):
    text = "In theory, PbR should support personal health budgets."
    spans = [(text[m.start:m.end], m.concept_id) for m in tagger.find(text)]
    assert spans == [("PbR", "payment-by-results"), ("personal health budgets", "personal-health-budgets")]


def test_tag_claims_uses_the_post_as_context(posts, concepts):
    post = next(p for p in posts if p.id == "practicalities-of-introducing-pbr-in-mental-health-transition-protocols")
    claims = claims_mod.chunk_post(post)
    subjects = tag_claims(claims, concepts)
    by_text = {c.text: subjects.get(c.id, ()) for c in claims}
    assert by_text["Inconsistency in whether users are correctly allocated to clusters"] == ("pbr-clusters",)
    assert set(subjects) == {c.id for c in claims if subjects.get(c.id)}
    assert all(ids and len(set(ids)) == len(ids) and set(ids) <= set(concepts) for ids in subjects.values())
    # Alone, without its post, the same claim is not about care clusters.
    lone = [c for c in claims if c.text.startswith("Inconsistency in whether users")]
    assert tag_claims(lone, concepts) == {}


def test_tag_claims_on_the_whole_corpus(posts, concepts):
    claims = [c for p in posts for c in claims_mod.chunk_post(p)]
    subjects = tag_claims(claims, concepts, titles={p.id: p.title for p in posts})
    assert 0.5 < len(subjects) / len(claims) < 0.95
    used = {cid for ids in subjects.values() for cid in ids}
    assert len(used) >= 0.8 * len(concepts)


def test_tagging_is_fast(posts, concepts):
    claims = [c for p in posts for c in claims_mod.chunk_post(p)]
    many = (claims * 40)[:20000]
    tagger = Tagger(concepts)
    start = time.perf_counter()
    tag_claims(many, concepts, tagger=tagger)
    # 20,000 claims in a few seconds even on a loaded machine: 400,000 in well under ten minutes.
    assert time.perf_counter() - start < 15


# --- Precision and recall on the hand-labelled set -------------------------------------------------

@pytest.fixture(scope="module")
def labelled():
    return yaml.safe_load(LABELS.read_text(encoding="utf-8"))


def test_labelled_set_is_sound(labelled, posts, concepts):
    by_title = {p.title: p for p in posts}
    assert len(labelled) >= 60
    assert sum(1 for item in labelled if not item["concepts"]) >= 3  # claims about nothing in the scheme
    for item in labelled:
        assert item["text"] in by_title[item["post"]].body, item["text"]
        assert set(item["concepts"]) <= set(concepts), item["concepts"]
        assert len(set(item["concepts"])) == len(item["concepts"])


def test_precision_and_recall(labelled, posts, tagger):
    by_title = {p.title: p for p in posts}
    tp = fp = fn = 0
    for item in labelled:
        post = by_title[item["post"]]
        got = set(tagger.tag(item["text"], context=f"{post.title}\n{post.body}"))
        expected = set(item["concepts"])
        tp, fp, fn = tp + len(got & expected), fp + len(got - expected), fn + len(expected - got)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, f"precision {precision:.3f} (run bench/concept_tagging.py --errors)"
    assert recall >= 0.9, f"recall {recall:.3f} (run bench/concept_tagging.py --errors)"


# --- issue 13: labels that differ only by case are one label --------------------------------

def test_no_concept_has_two_labels_equal_ignoring_case():
    graph = Graph().parse(SCHEME)
    twins = []
    for subject in set(graph.subjects(RDF.type, SKOS.Concept)):
        labels = [str(o) for p in (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel) for o in graph.objects(subject, p)]
        folded = [label.casefold() for label in labels]
        twins += [(str(subject), label) for label, f in zip(labels, folded) if folded.count(f) > 1]
    assert twins == [], "case-only duplicate labels: run scripts/case_duplicate_labels.py --fix"


def test_the_duplicate_label_script_finds_and_removes_case_twins(tmp_path):
    import subprocess
    import sys

    scheme = tmp_path / "concepts.ttl"
    text = SCHEME.read_text(encoding="utf-8")
    text = text.replace('skos:altLabel "PbR"@en ;', 'skos:altLabel "PbR"@en, "payment by results"@en ;', 1)
    scheme.write_text(text, encoding="utf-8")
    script = [sys.executable, str(ROOT / "scripts" / "case_duplicate_labels.py")]
    listed = subprocess.run([*script, str(scheme)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 1 and "payment-by-results: skos:altLabel 'payment by results'" in listed.stdout
    fixed = subprocess.run([*script, "--fix", str(scheme)], capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert scheme.read_text(encoding="utf-8") == SCHEME.read_text(encoding="utf-8")


def test_other_labels_are_each_once_ignoring_case():
    assert other_labels("Payment by Results", ["PbR", "payment by results"]) == ["PbR"]
    assert other_labels("Adult social care", ["ASC", "social care", "adult social care", "Social care"]) == \
        ["ASC", "Social care"]
    # Acronyms keep their case: an organisation's acronym is not the common word.
    assert other_labels("National Institute for Health and Care Excellence", ["NICE", "nice"]) == ["NICE", "nice"]


@pytest.mark.parametrize("text", ["payment by results in mental health", "PAYMENT BY RESULTS in mental health",
                                  "Payment By Results in mental health", "Payment by Results in mental health"])
def test_tagging_matches_any_case_of_a_label_without_its_lower_case_twin(tagger, concepts, text):
    assert all(label != "payment by results" for label in concepts["payment-by-results"].alt_labels)
    assert "payment-by-results" in tagger.tag(text)


@pytest.fixture(scope="module")
def case_twin_app(tmp_path_factory):
    """A build whose scheme still has a case-only twin ("payment by results" beside "Payment by Results")."""
    import shutil

    from kg import build
    from kg.settings import load_settings
    from web import create_app
    from web.sparql_endpoint import close_pool

    ontology = tmp_path_factory.mktemp("twin-ontology")
    shutil.copytree(ROOT / "ontology", ontology, dirs_exist_ok=True)
    text = (ontology / "concepts.ttl").read_text(encoding="utf-8")
    (ontology / "concepts.ttl").write_text(
        text.replace('skos:altLabel "PbR"@en ;', 'skos:altLabel "PbR"@en, "payment by results"@en ;', 1), encoding="utf-8")
    corpus = tmp_path_factory.mktemp("twin-corpus")
    (corpus / "posts").mkdir()
    shutil.copy(ROOT / "corpus" / "references.bib", corpus / "references.bib")
    (corpus / "posts" / "pbr.md").write_text("---\nid: pbr\ntitle: PbR\n---\nPayment by Results starts in April.\n",
                                              encoding="utf-8")
    settings = load_settings(env={}, corpus_dir=corpus, ontology_dir=ontology,
                             data_dir=tmp_path_factory.mktemp("twin-data"))
    assert build.build(settings).failures == []
    app = create_app(settings)
    yield app
    close_pool(app)


def test_pages_and_api_show_a_case_only_twin_once(case_twin_app):
    client = case_twin_app.test_client()
    concept = client.get("/api/concept/payment-by-results").get_json()
    assert concept["alt_labels"] == ["PbR"]
    page = client.get("/concept/payment-by-results", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert re.search(r"<dt>Also called</dt><dd>PbR</dd>", page), page
    tree = client.get("/api/concepts").get_json()
    entries = [e["label"] for _, letter in tree["az"] for e in letter if e["id"] == "payment-by-results"]
    assert sorted(entries, key=str.casefold) == ["Payment by Results", "PbR"]


@pytest.mark.parametrize("american, british", [
    ("organizational", "organisational"), ("personalization", "personalisation"),
    ("analyzed", "analysed"), ("behavioral", "behavioural"), ("centered", "centred"),
    ("size", "size"), ("citizens", "citizens"), ("person-centered", "person-centred"),
])
def test_tagging_and_search_fold_a_spelling_alike(american, british):
    """Tagging, indexing and search fold US spellings with one rule (they once disagreed)."""
    from kg.concepts import normalise
    from kg.index import analyzer
    from kg.spelling import uk_spelling

    assert uk_spelling(american) == british
    assert normalise(american) == normalise(british)
    assert [t.text for t in analyzer()(american)] == [t.text for t in analyzer()(british)]
