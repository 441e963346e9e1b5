"""The catalog read API and the kg sparql / export / cite / refs check commands on the real corpus."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from graph_fixtures import build_real
from kg.catalog import Catalog
from kg.cli import main
from kg.errors import NotFound


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = build_real(tmp_path_factory)[0]
    return settings, Catalog(settings)


def test_stats(built):
    _, cat = built
    stats = cat.stats()
    assert (stats["posts"], stats["citations"], stats["unresolved"], stats["sources"], stats["cited_sources"]) == \
        (37, 44, 8, 15, 12)  # 38 author-date + 6 note citations; the 6 notes name sources the library lacks


def test_source_groups_citing_claims_by_post(built):
    _, cat = built
    src = cat.source("DH2011b")
    assert src["title"] == "Payment by Results: Draft 2012-13 Mental Health Guidance" and src["year"] == "2011"
    assert src["bibtex"].startswith("@") and "DH2011b" in src["bibtex"]
    assert src["citation_count"] == 5 and len(src["posts"]) == 2
    locators = sorted(c["locator"] for p in src["posts"] for cl in p["claims"] for c in cl["citations"])
    assert locators == ["13", "13", "13", "6", "6"]
    assert [c["key"] for c in src["co_cited"]] == ["DH2013"]
    assert src["creators"][0]["id"] == "dh"
    with pytest.raises(NotFound) as err:
        cat.source("DH2011")
    assert "DH2011b" in err.value.suggestions


def test_sources_sorting(built):
    _, cat = built
    assert [s["key"] for s in cat.sources()][:1] == ["DH2011b"]
    assert [s["key"] for s in cat.sources("key")][:3] == ["ADASS2009", "ADASS2011", "CHE2009"]
    with pytest.raises(NotFound):
        cat.sources("colour")


def test_audit(built):
    _, cat = built
    audit = cat.audit()
    assert sorted(u["raw"] for u in audit["unresolved"]) == ["King’s Fund, 2009", "SPRU, 2008",
                                                             "[1]", "[1]", "[1]", "[2]", "[2]", "[3]"]
    assert all("(note: " in u["reason"] for u in audit["unresolved"] if u["raw"].startswith("["))
    assert [u["key"] for u in audit["uncited"]] == ["DH2011a", "DH2012b", "Sitra2013"]


def test_post_and_claim(built):
    _, cat = built
    cit = cat.citations_of("DH2013")
    assert len(cit) == 4
    post = cat.post(cit[0]["post"]["id"])
    assert post["provenance"] and "DH2013" in post["cites"]
    claim = cat.claim(cit[0]["claim"]["id"])
    assert post["body"][claim["start"]:claim["end"]] == claim["text"]
    assert any(c["key"] == "DH2013" for c in claim["citations"])
    bibliography = next(p for p in cat.select("SELECT ?id { ?p kg:postKind 'bibliography' ; dcterms:identifier ?id }"))
    assert len(cat.post(bibliography["id"])["lists"]) == 15
    assert cat.keys_for(post=bibliography["id"]) == sorted(cat.keys(), key=str.lower)


def test_concepts_tree_and_keys_for_concept(built):
    _, cat = built
    tree = cat.concepts()
    assert tree["az"] == sorted(tree["az"], key=lambda c: c["label"].lower())
    assert len(tree["az"]) >= 20 and tree["tree"]
    pbr = cat.concept("payment-by-results")
    assert pbr["narrower"] and pbr["claims"]
    assert set(cat.keys_for(concept="payment-by-results")) == {s["key"] for s in pbr["sources"]}


def test_describe(built):
    settings, cat = built
    found = cat.describe(f"{settings.base_iri}source/DH2011b")
    assert any(p["predicate"].endswith("citationKey") for p in found["properties"])
    assert any(i["predicate"].endswith("hasCitedEntity") for i in found["incoming"])
    with pytest.raises(NotFound):
        cat.describe(f"{settings.base_iri}source/Nope2000")


def _run(settings, *args):
    return CliRunner().invoke(main, [*args, "--data", str(settings.data_dir)])


def test_cli_cite_json_and_unknown(built):
    settings, _ = built
    result = _run(settings, "cite", "Department of Health 2011b", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["reference"]["key"] == "DH2011b" and data["reference"]["bibtex"]
    assert len(data["citations"]) == 5
    first = data["citations"][0]
    assert set(first) >= {"locator", "raw", "claim", "post"} and set(first["claim"]) >= {"id", "text"}
    for query in ("DH2011b", "DH 2011b", "(DH, 2011b:6)"):
        assert json.loads(_run(settings, "cite", query, "--json").output)["reference"]["key"] == "DH2011b"
    unknown = _run(settings, "cite", "DH 2014")
    assert unknown.exit_code == 1 and "Error:" in unknown.output and "DH2013" in unknown.output


def test_cli_refs_check(built):
    settings, _ = built
    result = _run(settings, "refs", "check", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert len(data["unresolved"]) == 8 and [u["key"] for u in data["uncited"]] == ["DH2011a", "DH2012b", "Sitra2013"]
    assert {"raw", "claim", "post"} <= set(data["unresolved"][0])
    strict = _run(settings, "refs", "check", "--strict")
    assert strict.exit_code == 1 and "Sitra2013" in strict.output


def test_cli_sparql_and_export(built, tmp_path):
    settings, _ = built
    listing = _run(settings, "sparql", "--list")
    assert listing.exit_code == 0 and "most-cited-sources" in listing.output
    csv_out = _run(settings, "sparql", "--name", "claims-citing-source", "--param", "key=KingsFund2012", "--format", "csv")
    assert csv_out.exit_code == 0 and csv_out.output.count("KingsFund2012") == 2
    query = tmp_path / "q.rq"
    query.write_text("SELECT (COUNT(*) AS ?n) { ?c a cito:Citation }")
    assert "44" in _run(settings, "sparql", str(query)).output
    refused = _run(settings, "sparql", "DELETE WHERE { ?s ?p ?o }")
    assert refused.exit_code == 1 and "refused" in refused.output
    out = tmp_path / "graph.nt"
    assert _run(settings, "export", "--format", "nt", "-o", str(out)).exit_code == 0
    assert out.read_text().count("\n") == Catalog(settings).stats()["triples"]


def test_concept_lists_each_claims_citations_and_concepts_once(built):
    _, cat = built
    broad = [c["id"] for c in cat.concepts()["az"] if cat.concept(c["id"])["narrower"]]
    assert broad
    for concept_id in broad:
        for claim in cat.concept(concept_id)["claims"]:
            alone = cat.claim(claim["id"])  # the claim's own citations and concepts, one pattern match
            assert claim["citations"] == alone["citations"] and claim["concepts"] == alone["concepts"], claim["id"]
