"""Inline citations: extraction with exact spans and locators, resolution, and cite queries.

The pinned table lists every inline citation of the seed corpus (38 occurrences in the 37 posts)
with its post offset, raw text, locator, resolved key (None: unresolved) and citation function.
Spans are post offsets, so the table holds however the claims step splits a post.
"""

from __future__ import annotations


import pytest

from kg.citations import (
    CitationResolver,
    extract_post_citations,
    find_unreadable,
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
Q, E = "includesQuotationFrom", "citesAsEvidence"

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
    assert (quoted.function, plain.function, single.function) == (Q, E, Q)


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


# --- Every form of issue 14 (item 1), its span and locator, and every non-citation -------------

@pytest.mark.parametrize("text, expected", [
    ("as seen (Needham, 2009).", [("Needham, 2009", "Needham", "2009", None)]),
    ("as seen (Needham 2009).", [("Needham 2009", "Needham", "2009", None)]),
    ("as seen (Needham, 2009, p. 12).", [("Needham, 2009, p. 12", "Needham", "2009", "12")]),
    ("as seen (Needham, 2009: 12).", [("Needham, 2009: 12", "Needham", "2009", "12")]),
    ("as seen (Needham 2009, pp. 3–4).", [("Needham 2009, pp. 3–4", "Needham", "2009", "3–4")]),
    ("as seen (Needham, 2009, ch. 3).", [("Needham, 2009, ch. 3", "Needham", "2009", "ch. 3")]),
    ("as seen (DH 2012, para. 4.3).", [("DH 2012, para. 4.3", "DH", "2012", "para. 4.3")]),
    ("as seen (Ham, 2011, pp. vii–ix).", [("Ham, 2011, pp. vii–ix", "Ham", "2011", "vii–ix")]),
    ("as seen (Needham and Carr, 2009)", [("Needham and Carr, 2009", "Needham and Carr", "2009", None)]),
    ("as seen (Smith & Jones 2010)", [("Smith & Jones 2010", "Smith & Jones", "2010", None)]),
    ("as seen (Bennett et al., 1998)", [("Bennett et al., 1998", "Bennett et al.", "1998", None)]),
    ("as seen (Hudson et al 2011)", [("Hudson et al 2011", "Hudson et al", "2011", None)]),
    ("as seen (Duffy, Waters and Glasby, 2010)", [("Duffy, Waters and Glasby, 2010", "Duffy, Waters and Glasby", "2010", None)]),
    ("as seen (NHS Confederation, NHS Providers and the LGA, 2016)",
     [("NHS Confederation, NHS Providers and the LGA, 2016", "NHS Confederation, NHS Providers and the LGA", "2016", None)]),
    ("as seen (Bennett et al., 1998, 2004)",
     [("Bennett et al., 1998", "Bennett et al.", "1998", None), ("2004", "Bennett et al.", "2004", None)]),
    ("as seen (DH, 2010a, 2010b)", [("DH, 2010a", "DH", "2010a", None), ("2010b", "DH", "2010b", None)]),
    ("as seen (Age UK, 2017; ADASS, 2014)", [("Age UK, 2017", "Age UK", "2017", None), ("ADASS, 2014", "ADASS", "2014", None)]),
    ("as seen (see Glasby, 2011)", [("Glasby, 2011", "Glasby", "2011", None)]),
    ("as seen (e.g. NAO 2014)", [("NAO 2014", "NAO", "2014", None)]),
    ("as seen (cf. NAO, 2014, ch. 2)", [("NAO, 2014, ch. 2", "NAO", "2014", "ch. 2")]),
    ("as seen (Glasby, 2011, cited in Needham, 2013)",
     [("Glasby, 2011", "Glasby", "2011", None), ("Needham, 2013", "Needham", "2013", None)]),
    ("as seen (quoted in Hudson et al., 2011, p. 120)", [("Hudson et al., 2011, p. 120", "Hudson et al.", "2011", "120")]),
    ("as seen (Carr, Personalisation: a rough guide, 2008, p.9)",
     [("Carr, Personalisation: a rough guide, 2008, p.9", "Carr", "2008", "9")]),
    ("as seen (Department of Health/Department of Communities and Local Government 2010)",
     [("Department of Health/Department of Communities and Local Government 2010",
       "Department of Health/Department of Communities and Local Government", "2010", None)]),
    ("the Care Quality Commission (2019) found", [("Care Quality Commission (2019)", "Care Quality Commission", "2019", None)]),
    ("Needham et al. (2012: 4) argue", [("Needham et al. (2012: 4)", "Needham et al.", "2012", "4")]),
    ("the King’s Fund’s (2012) review", [("King’s Fund’s (2012)", "King’s Fund", "2012", None)]),
    ("the King's Fund's (2012) review", [("King's Fund's (2012)", "King's Fund", "2012", None)]),
    ("Department of Health (2010, p. 6) said", [("Department of Health (2010, p. 6)", "Department of Health", "2010", "6")]),
    ("Smith and Jones (2010) describe", [("Smith and Jones (2010)", "Smith and Jones", "2010", None)]),
    ("the DH (2010a, 2010b) said", [("DH (2010a", "DH", "2010a", None), ("2010b", "DH", "2010b", None)]),
])
def test_every_form_with_its_span_and_locator(text, expected):
    citations = extract_citations(claim_of(text))
    assert [(c.raw, c.author, c.year, c.locator) for c in citations] == expected
    for c in citations:
        assert text[c.start - 100:c.end - 100] == c.raw


@pytest.mark.parametrize("text", [
    "costs rose (from 2013) and fell", "the Children Act (1989) says", "as the report says (1989)",
    "see the table (p.2)", "spending in (2014/15) fell", "spending (2011-12) fell", "as before (see above)",
    "a payment (£250 in 2015) was made", "a fall (about 3% in 2014) was seen", "the Care Act (2014) turned",
"(1,150 words)", "Comments (4)", "a podcast (12 minutes)",
    "spending was £1.2bn (2015) and is lower", "(in 2020)", "In April (2013) the rules changed",
    "Department of Health (DH) (2011b), Payment by Results guidance",
    "King’s Fund (2012), Payment by Results: How can payment systems help?",
])
def test_what_is_not_a_citation(text):
    claim = claim_of(text)
    assert extract_citations(claim) == []
    assert find_unreadable(claim) == []


@pytest.mark.parametrize("text, reason", [
    ("as seen (Smith 2010 and elsewhere)", "after the year"),
    ("as seen (Glasby, 2011: )", "colon without a page"),
])
def test_citation_like_text_that_does_not_read_is_reported(text, reason):
    claim = claim_of(text)
    assert extract_citations(claim) == []
    [odd] = find_unreadable(claim)
    assert reason in odd.reason and text[odd.start - 100:odd.end - 100] == odd.text


def test_a_narrative_name_read_too_far_back_is_cut_to_what_resolves():
    refs = {"Glasby2011": Reference("Glasby2011", "report", {"author": "Glasby, Jon", "year": "2011", "title": "T"})}
    [cit] = resolve_citations(extract_citations(claim_of("As Glasby (2011) puts it")), refs, [])
    assert (cit.reference_key, cit.raw, cit.author) == ("Glasby2011", "Glasby (2011)", "Glasby")


def _people_library() -> dict[str, Reference]:
    rows = {
        "Needham2012": "Needham, Catherine and Glasby, Jon and Moran, Nicola",
        "NeedhamCarr2009": "Needham, Catherine and Carr, Sarah",
        "Needham2009": "Needham, Catherine",
        "OBrien2014": "O'Brien, John and M{\\\"u}ller, Anna",
        "Fontaine2001": "de la Fontaine, Jean",
    }
    years = {"Needham2012": "2012", "NeedhamCarr2009": "2009", "Needham2009": "2009", "OBrien2014": "2014",
             "Fontaine2001": "2001"}
    return {k: Reference(k, "article", {"author": v, "year": years[k], "title": k}) for k, v in rows.items()}


@pytest.mark.parametrize("written, key", [
    ("(Needham et al., 2012: 4)", "Needham2012"),
    ("(Needham and Carr, 2009)", "NeedhamCarr2009"),
    ("(Needham & Carr 2009)", "NeedhamCarr2009"),
    ("(Needham, 2009)", "Needham2009"),
    ("(O’Brien and Müller, 2014)", "OBrien2014"),
    ("(de la Fontaine, 2001)", "Fontaine2001"),
])
def test_resolution_goes_author_by_author(written, key):
    [cit] = resolve_citations(extract_citations(claim_of(f"x {written}")), _people_library(), [])
    assert cit.reference_key == key, cit.reason


def test_a_near_miss_names_the_closest_entries():
    [cit] = resolve_citations(extract_citations(claim_of("x (Neednam, 2012)")), _people_library(), [])
    assert cit.status == "unresolved" and "closest: Needham2012" in cit.reason


def test_an_organisation_s_own_report_beats_one_it_published(organisations):
    refs = {"KingsFund2012": Reference("KingsFund2012", "report", {"author": "{King's Fund}", "year": "2012", "title": "A"}),
            "Goodwin2012": Reference("Goodwin2012", "report", {"author": "Goodwin, Nick and Smith, Judith",
                                                               "institution": "King's Fund", "year": "2012", "title": "B"})}
    [cit] = resolve_citations(extract_citations(claim_of("the King’s Fund’s (2012) review")), refs, organisations)
    assert cit.reference_key == "KingsFund2012"


def test_a_corporate_list_resolves_through_every_body(organisations):
    refs = {"NHSConfederation2016": Reference("NHSConfederation2016", "report", {
        "author": "{NHS Confederation} and {NHS Providers} and {Local Government Association}", "year": "2016", "title": "T"})}
    index = OrganisationIndex(organisations.organisations)
    index.mint(refs.values())
    [cit] = resolve_citations(extract_citations(claim_of("x (NHS Confederation, NHS Providers and the LGA, 2016)")),
                              refs, index)
    assert cit.reference_key == "NHSConfederation2016", cit.reason


# --- Notes (item 3) ---------------------------------------------------------------------------

def test_a_note_marker_cites_the_source_its_note_names(organisations):
    body = ("Spending fell for five years[1]. Nothing to see here[2].\n\n"
            "[1] – Source for this is Table 3.4 in HSCIC’s 2013/14 social services expenditure report (pdf).\n\n"
            "[2] – I think this is strange.")
    post = Post(id="p", title="T", body=body)
    claims = paragraph_claims(post)
    refs = {"HSCIC2014": Reference("HSCIC2014", "report", {"author": "{Health and Social Care Information Centre}",
                                                           "shortauthor": "HSCIC", "year": "2014", "title": "PSS"})}
    found, odd = extract_post_citations(post, claims)
    [cit] = resolve_citations(found, refs, organisations)
    assert odd == [] and cit.form == "note" and cit.raw == "[1]" and body[cit.start:cit.end] == "[1]"
    assert (cit.author, cit.year, cit.locator, cit.reference_key) == ("HSCIC", "2013", "Table 3.4", "HSCIC2014")
    assert cit.note.startswith("Source for this is Table 3.4")
    [unres] = resolve_citations(found, {}, organisations)
    assert unres.status == "unresolved" and "(note: Source for this" in unres.reason


def test_a_markdown_footnote_linking_a_source_is_resolved_by_its_url():
    body = "Costs rose[^1].\n\n[^1]: See https://digital.nhs.uk/pss-expenditure-2013-14 for the tables."
    post = Post(id="p", title="T", body=body)
    refs = {"HSCIC2014": Reference("HSCIC2014", "report", {"author": "{HSCIC}", "year": "2014", "title": "PSS",
                                                           "url": "https://digital.nhs.uk/pss-expenditure-2013-14"})}
    found, _ = extract_post_citations(post, paragraph_claims(post))
    [cit] = resolve_citations(found, refs, [])
    assert cit.reference_key == "HSCIC2014" and cit.raw == "[^1]"


def test_two_authors_prefer_the_entry_with_exactly_those_authors():
    refs = {"NeedhamCarr2009": Reference("NeedhamCarr2009", "report", {"author": "Needham, C. and Carr, S.", "year": "2009", "title": "A"}),
            "Needham2009": Reference("Needham2009", "report", {"author": "Needham, C. and Carr, S. and Smith, J.", "year": "2009", "title": "B"})}
    [cit] = resolve_citations(extract_citations(claim_of("x (Needham and Carr, 2009)")), refs, [])
    assert cit.reference_key == "NeedhamCarr2009"


@pytest.mark.parametrize("group, expected", [
    # An acronym in capitals is an author even when it spells a lead-in word (as, in, or).
    ("(Department of Health, 2011; AS, 2012)", [("Department of Health", "2011"), ("AS", "2012")]),
    ("(ADASS, 2014; IN, 2015; OR, 2016)", [("ADASS", "2014"), ("IN", "2015"), ("OR", "2016")]),
    # The same words in lower case still lead in.
    ("(see DH, 2011; as in NDTi, 2013)", [("DH", "2011"), ("NDTi", "2013")]),
])
def test_capital_lead_in_words_are_acronyms(group, expected):
    from kg.model import Claim

    text = f"The point was made {group}."
    claim = Claim(id="c", post_id="p", ordinal=0, start=0, end=len(text), text=text)
    from kg.citations import extract_citations

    assert [(c.author, c.year) for c in extract_citations(claim)] == expected
