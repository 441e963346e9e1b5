"""Inline citations: extraction with exact spans and locators, resolution, and cite queries.

The pinned table lists every inline citation of the seed corpus (38 occurrences in the 37 posts)
with its post offset, raw text, locator, resolved key (None: unresolved) and citation function.
Spans are post offsets, so the table holds however the claims step splits a post.
"""

from __future__ import annotations


import pytest

from kg.citations import (
    CitationResolver,
    extract_citations,
    parse_citation,
    parse_cite_query,
    resolve_citations,
)
from kg.errors import NotFound
from kg.model import Claim, Post, Reference
from kg.organisations import OrganisationIndex, load_organisations
from kg.references import key_year, latex_decode, load_library
from kg.settings import ROOT

PERSONALISATION = "payment-by-results-in-mental-health-and-personalisation"
PERSONAL = "personal"
INTERVENTIONS = "practicalities-of-introducing-pbr-in-mental-health-defined-interventions-and"
PROTOCOLS = "practicalities-of-introducing-pbr-in-mental-health-transition-protocols"
Q, E = "quotes", "citesAsEvidence"

# (post id, start offset in post.body, raw, locator, resolved key or None, function)
EXPECTED = [
    (PERSONALISATION, 868, 'DH, 2013:18', '18', 'DH2013', E),
    (PERSONALISATION, 1358, 'ADASS, 2009', None, 'ADASS2009', Q),
    (PERSONALISATION, 1787, 'ADASS, 2009', None, 'ADASS2009', Q),
    (PERSONALISATION, 2046, 'King’s Fund, 2009', None, None, E),
    (PERSONALISATION, 2436, 'ADASS, 2011', None, 'ADASS2011', E),
    (PERSONALISATION, 2564, 'NDTi, 2012:13', '13', 'NDTi2012', Q),
    (PERSONALISATION, 2956, 'RCP, 2012', None, 'RCP2012', Q),
    (PERSONALISATION, 3103, 'ADASS, 2009', None, 'ADASS2009', E),
    (PERSONALISATION, 3641, 'RCP, 2012', None, 'RCP2012', Q),
    (PERSONALISATION, 3756, 'MHN, 2011b:15', '15', 'MHN2011b', E),
    (PERSONALISATION, 3922, 'RCP, 2012:8', '8', 'RCP2012', Q),
    (PERSONALISATION, 4147, 'ADASS, 2011', None, 'ADASS2011', E),
    (PERSONALISATION, 4549, 'NDTi, 2012:15', '15', 'NDTi2012', Q),
    (PERSONALISATION, 4815, 'NDTi, 2012:13', '13', 'NDTi2012', E),
    (PERSONAL, 4376, 'SPRU, 2008', None, None, E),
    (INTERVENTIONS, 486, 'CHE, 2009:1', '1', 'CHE2009', E),
    (INTERVENTIONS, 764, 'MHN, 2011b:6', '6', 'MHN2011b', E),
    (INTERVENTIONS, 1172, 'CHE, 2009:4', '4', 'CHE2009', E),
    (INTERVENTIONS, 1371, 'CHE, 2009:4', '4', 'CHE2009', E),
    (INTERVENTIONS, 1751, 'DH, 2011b:6', '6', 'DH2011b', E),
    (INTERVENTIONS, 1764, 'DH, 2013:5', '5', 'DH2013', E),
    (INTERVENTIONS, 2261, 'RCP, 2012:6', '6', 'RCP2012', Q),
    (INTERVENTIONS, 2384, 'DH, 2010:7', '7', 'DH2010', E),
    (PROTOCOLS, 839, 'DH, 2011b:6', '6', 'DH2011b', E),
    (PROTOCOLS, 1455, 'DH, 2012a:7', '7', 'DH2012a', E),
    (PROTOCOLS, 1626, 'DH, 2012a:7', '7', 'DH2012a', E),
    (PROTOCOLS, 1867, 'DH, 2012a:6', '6', 'DH2012a', E),
    (PROTOCOLS, 2187, 'DH, 2011b:13', '13', 'DH2011b', E),
    (PROTOCOLS, 2543, 'King’s Fund, 2012:vi', 'vi', 'KingsFund2012', E),
    (PROTOCOLS, 3061, 'DH, 2010:14', '14', 'DH2010', E),
    (PROTOCOLS, 3361, 'DH, 2013:17', '17', 'DH2013', Q),
    (PROTOCOLS, 3499, 'DH, 2013:17', '17', 'DH2013', E),
    (PROTOCOLS, 3665, 'DH, 2012a:6', '6', 'DH2012a', E),
    (PROTOCOLS, 3908, 'ADASS, 2009:3', '3', 'ADASS2009', Q),
    (PROTOCOLS, 4129, 'DH, 2011b:13', '13', 'DH2011b', E),
    (PROTOCOLS, 4355, 'DH, 2011b:13', '13', 'DH2011b', Q),
    (PROTOCOLS, 4452, 'King’s Fund, 2012:40', '40', 'KingsFund2012', E),
    (PROTOCOLS, 4594, 'MHN, 2011a:3', '3', 'MHN2011a', E),
]


@pytest.fixture(scope="module")
def library() -> dict[str, Reference]:
    refs, failures = load_library(ROOT / "corpus" / "references.bib")
    assert failures == []
    return refs


@pytest.fixture(scope="module")
def organisations() -> OrganisationIndex:
    return OrganisationIndex(load_organisations(ROOT / "ontology" / "organisations.ttl"))


def paragraph_claims(post: Post) -> list[Claim]:
    """Every line of a post as one claim: spans in post offsets, like the claims step gives."""
    claims, start = [], 0
    for number, line in enumerate(post.body.split("\n"), 1):
        if line.strip():
            claims.append(Claim(id=f"c{post.id[:8]}{number}", post_id=post.id, ordinal=number,
                                start=start, end=start + len(line), text=line))
        start += len(line) + 1
    return claims


def corpus_citations(posts, claims_of, library, organisations):
    found = []
    for post in posts.values():
        for claim in claims_of(post):
            assert post.body[claim.start:claim.end] == claim.text
            found.extend(resolve_citations(extract_citations(claim), library, organisations))
    return found


def as_rows(citations):
    return sorted((c.post_id, c.start, c.raw, c.locator, c.reference_key, c.function) for c in citations)


def test_every_inline_citation_of_the_corpus_is_pinned(posts, library, organisations):
    citations = corpus_citations(posts, paragraph_claims, library, organisations)
    assert len(EXPECTED) == 38
    assert as_rows(citations) == sorted(EXPECTED)
    for c in citations:
        assert posts[c.post_id].body[c.start:c.end] == c.raw
        assert c.raw in c.group_raw and c.group_raw.startswith("(") and c.group_raw.endswith(")")
        assert c.status == ("resolved" if c.reference_key else "unresolved")


def test_the_corpus_has_exactly_two_unresolved_citations_with_reasons(posts, library, organisations):
    citations = corpus_citations(posts, paragraph_claims, library, organisations)
    unresolved = sorted((c.raw, c.reason) for c in citations if c.status == "unresolved")
    assert unresolved == [
        ("King’s Fund, 2009", "no entry for King’s Fund 2009 in the library"),
        ("SPRU, 2008", "no entry for SPRU 2008 in the library"),
    ]


def test_the_same_citations_come_out_of_the_claims_step(posts, library, organisations):
    from kg.claims import chunk_post
    citations = corpus_citations(posts, chunk_post, library, organisations)
    assert as_rows(citations) == sorted(EXPECTED)


def test_several_citations_in_one_parenthesis_share_the_group(posts, library, organisations):
    post = posts[INTERVENTIONS]
    claim = next(c for c in paragraph_claims(post) if "(DH, 2011b:6; DH, 2013:5)" in c.text)
    citations = [c for c in extract_citations(claim) if c.group_raw == "(DH, 2011b:6; DH, 2013:5)"]
    assert [c.raw for c in citations] == ["DH, 2011b:6", "DH, 2013:5"]
    assert len({c.group_id for c in citations}) == 1
    assert [c.id for c in extract_citations(claim)] == [f"{claim.id}-{n}" for n in (1, 2, 3)]
    assert post.body[citations[0].start - 1:citations[1].end + 1] == "(DH, 2011b:6; DH, 2013:5)"


def test_a_lead_in_is_not_part_of_the_citation(posts):
    claim = next(c for c in paragraph_claims(posts[PROTOCOLS]) if "see, for example" in c.text)
    citation = extract_citations(claim)[0]
    assert citation.raw == "King’s Fund, 2012:40"
    assert citation.group_raw == "(see, for example, King’s Fund, 2012:40)"
    assert citation.author == "King’s Fund" and citation.year == "2012" and citation.locator == "40"


def claim_of(text: str, start: int = 100) -> Claim:
    return Claim(id="cx", post_id="p", ordinal=1, start=start, end=start + len(text), text=text)


@pytest.mark.parametrize("text, expected", [
    ("as stated (RCP, 2012:8).", [("RCP", "2012", "8")]),
    ("as stated (ADASS, 2009).", [("ADASS", "2009", None)]),
    ("as stated (King’s Fund, 2012:vi).", [("King’s Fund", "2012", "vi")]),
    ("as stated (King's Fund, 2012: 18-19).", [("King's Fund", "2012", "18-19")]),
    ("as stated (DH, 2011b:6; DH, 2013:5).", [("DH", "2011b", "6"), ("DH", "2013", "5")]),
    ("as stated (see, for example, King’s Fund, 2012:40).", [("King’s Fund", "2012", "40")]),
    ("as stated (cf. Department of Health, 2011b, p. 6).", [("Department of Health", "2011b", "6")]),
    ("as stated (SPRU, 2008)", [("SPRU", "2008", None)]),
    ("Caring for People White Paper (1989) said so", []),
    ("the Act (2014) might mean", []),
    ("on page 2 (p.2)", []),
    ("a report (pdf)", []),
    ("In its introduction to the payment system (from 2013) the Department", []),
    ("falling (by 2.3% in real-terms between 2011-12 and 2013-14.)", []),
    ("a note (For those interested, see https://example.org/2013/10/30/x) is here", []),
    ("an aside (in 2012, costs rose)", []),
])
def test_extraction_table(text, expected):
    citations = extract_citations(claim_of(text))
    assert [(c.author, c.year, c.locator) for c in citations] == expected
    for c in citations:
        assert text[c.start - 100:c.end - 100] == c.raw


def test_a_quotation_with_its_attribution_quotes_the_source():
    quoted = extract_citations(claim_of("“The results should be better.” (ADASS, 2009)"))[0]
    plain = extract_citations(claim_of("PbR should support personalisation (ADASS, 2009)."))[0]
    single = extract_citations(claim_of("to move to a true ‘payment by results’ (RCP, 2012:8)"))[0]
    assert (quoted.function, plain.function, single.function) == ("quotes", "citesAsEvidence", "quotes")


def test_parse_citation_reports_the_span_without_the_lead_in():
    parsed = parse_citation("see also DH, 2011b:6")
    assert parsed == {"author": "DH", "year": "2011b", "locator": "6", "start": 9, "end": 20}
    assert parse_citation("from 2013") is None


def ref(key: str, year: str, author: str = "{Department of Health}", short: str = "DH") -> Reference:
    return Reference(key, "techreport", {"author": author, "shortauthor": short, "year": year,
                                         "title": f"Title of {key}"})


def test_ambiguous_year_without_suffix_is_reported(organisations):
    refs = {r.key: r for r in (ref("DH2011a", "2011"), ref("DH2011b", "2011"), ref("DH2010", "2010"))}
    citations = extract_citations(claim_of("text (DH, 2011:4; Department of Health, 2011b:6; DH, 2010)"))
    resolved = resolve_citations(citations, refs, organisations)
    assert [(c.status, c.reference_key, c.reason) for c in resolved] == [
        ("unresolved", None, "DH 2011 is ambiguous: DH2011a, DH2011b"),
        ("resolved", "DH2011b", None),
        ("resolved", "DH2010", None),
    ]


def test_resolution_goes_through_the_organisation_authority(organisations):
    refs = {"KingsFund2012": ref("KingsFund2012", "2012", "{King’s Fund}", "")}
    del refs["KingsFund2012"].fields["shortauthor"]
    for written in ("King’s Fund", "King's Fund", "The King’s Fund", "Kings Fund"):
        resolved = resolve_citations(extract_citations(claim_of(f"x ({written}, 2012:vi)")), refs, organisations)
        assert resolved[0].reference_key == "KingsFund2012", written


def test_resolution_without_an_authority_matches_written_names():
    refs = {"Needham2013": Reference("Needham2013", "article",
                                     {"author": "Needham, Catherine and Glasby, Jon", "year": "2013", "title": "T"})}
    resolved = resolve_citations(extract_citations(claim_of("x (Needham, 2013:4)")), refs, [])
    assert resolved[0].reference_key == "Needham2013"


@pytest.mark.parametrize("query", [
    "DH2011b", "dh2011b", "DH 2011b", "dh 2011B", "Department of Health 2011b", "department of health, 2011b",
    "(DH, 2011b:6)", "(Department of Health, 2011b)", "The Department of Health 2011b", "Dept Health 2011b",
])
def test_cite_queries_name_a_key(query, library, organisations):
    assert parse_cite_query(query, library, organisations) == "DH2011b"


@pytest.mark.parametrize("query, key", [
    ("King’s Fund 2012", "KingsFund2012"), ("kings fund 2012", "KingsFund2012"),
    ("(see, for example, King’s Fund, 2012:40)", "KingsFund2012"), ("MHN 2011a", "MHN2011a"),
    ("Mental Health Network, NHS Confederation 2011b", "MHN2011b"), ("sitra 2013", "Sitra2013"),
])
def test_cite_queries_for_other_authors(query, key, library, organisations):
    assert parse_cite_query(query, library, organisations) == key


def test_unknown_cite_query_suggests_the_closest_keys(library, organisations):
    with pytest.raises(NotFound) as caught:
        parse_cite_query("DH 2011c", library, organisations)
    assert "no entry for DH 2011c" in str(caught.value)
    assert "DH2011b" in caught.value.suggestions and "DH2011a" in caught.value.suggestions
    with pytest.raises(NotFound) as caught:
        parse_cite_query("DH 2011", library, organisations)
    assert caught.value.message == "DH 2011 is ambiguous: DH2011a, DH2011b"
    assert caught.value.suggestions == ["DH2011a", "DH2011b"]
    with pytest.raises(NotFound) as caught:
        parse_cite_query("Kings Fnd 2012", library, organisations)
    assert caught.value.suggestions[0] == "KingsFund2012"
    with pytest.raises(NotFound) as caught:
        parse_cite_query("(DH, 2011b:6; DH, 2013:5)", library, organisations)
    assert caught.value.suggestions == ["DH2011b", "DH2013"]


def test_resolver_finds_every_library_entry_by_acronym_and_by_name(library, organisations):
    resolver = CitationResolver(library, organisations)
    for key, reference in library.items():
        label = key_year(reference)
        name = latex_decode(reference.fields["author"])
        assert resolver.resolve(name, label)[0] == key
        if "shortauthor" in reference.fields:
            assert resolver.resolve(reference.fields["shortauthor"], label)[0] == key
