"""The organisation authority: every organisation of the corpus once, found by every form."""

from __future__ import annotations

import pytest

from kg.errors import ReferencesError
from kg.model import Organisation
from kg.organisations import OrganisationIndex, key_part, load_organisations, normalise_name
from kg.settings import ROOT

AUTHORITY = ROOT / "ontology" / "organisations.ttl"


@pytest.fixture(scope="module")
def index() -> OrganisationIndex:
    return OrganisationIndex(load_organisations(AUTHORITY))


# Every form the corpus writes (or a reader types), and the organisation it names.
@pytest.mark.parametrize("written, org_id", [
    ("DH", "dh"), ("dh", "dh"), ("Department of Health", "dh"), ("The Department of Health", "dh"),
    ("Dept Health", "dh"), ("Dept. of Health", "dh"), ("department of health", "dh"),
    ("ADASS", "adass"), ("Association of Directors of Adult Social Services", "adass"),
    ("CHE", "che"), ("Centre for Health Economics", "che"),
    ("MHN", "mhn"), ("Mental Health Network, NHS Confederation", "mhn"), ("Mental Health Network", "mhn"),
    ("NHS Confederation", "nhs-confederation"),
    ("NDTi", "ndti"), ("NDTI", "ndti"), ("National Development Team for Inclusion", "ndti"),
    ("RCP", "rcp"), ("Royal College of Psychiatrists", "rcp"), ("Royal College of Psychiatrist", "rcp"),
    ("King’s Fund", "kings-fund"), ("King's Fund", "kings-fund"), ("The King’s Fund", "kings-fund"),
    ("the King's Fund", "kings-fund"), ("Kings Fund", "kings-fund"), ("KING’S FUND", "kings-fund"),
    ("Sitra", "sitra"), ("SPRU", "spru"), ("SCIE", "scie"),
    ("Social Care Institute for Excellence", "scie"), ("The Social Care Institute for Excellence", "scie"),
    ("TLAP", "tlap"), ("Think Local Act Personal", "tlap"), ("Think Local, Act Personal", "tlap"),
    ("NHS England", "nhs-england"), ("HSCIC", "hscic"), ("CQC", "cqc"), ("LGA", "lga"), ("PSSRU", "pssru"),
    ("NICE", "nice"), ("National Institute for Health and Clinical Excellence", "nice"), ("IRISS", "iriss"),
    ("In Control", "in-control"), ("In control", "in-control"),
    ("Department for Work & Pensions", "dwp"), ("Department for Work and Pensions", "dwp"), ("DWP", "dwp"),
    ("Office for Disability Issues", "office-for-disability-issues"), ("Monitor", "monitor"),
    ("Audit Commission", "audit-commission"), ("Health Foundation", "health-foundation"),
    ("The Health Foundation", "health-foundation"), ("National Voices", "national-voices"),
    ("Patient Opinion", "patient-opinion"), ("Coalition for Collaborative Care", "coalition-for-collaborative-care"),
    ("Co4CC", "coalition-for-collaborative-care"), ("HFMA", "hfma"),
    ("Healthcare Financial Management Association", "hfma"), ("University of Birmingham", "university-of-birmingham"),
])
def test_lookup_finds_every_corpus_form(index, written, org_id):
    found = index.lookup(written)
    assert found is not None, written
    assert found.id == org_id


@pytest.mark.parametrize("written", ["", "  ", "Department", "Health", "The", "King", "Fund",
                                     "Department of Wealth", "Kings Funds", "DHSC"])
def test_lookup_refuses_what_is_not_an_organisation(index, written):
    assert index.lookup(written) is None


def test_every_author_the_corpus_cites_is_in_the_authority(index):
    # The authors of the bibliography post and of every inline citation.
    for name in ("Association of Directors of Adult Social Services", "Centre for Health Economics",
                 "Department of Health", "King’s Fund", "Mental Health Network, NHS Confederation",
                 "National Development Team for Inclusion", "Royal College of Psychiatrists", "Sitra",
                 "SPRU", "DH", "ADASS", "CHE", "MHN", "NDTi", "RCP"):
        assert index.lookup(name) is not None, name


def test_each_organisation_once_with_name_acronym_and_forms():
    organisations = load_organisations(AUTHORITY)
    ids = [o.id for o in organisations]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    dh = next(o for o in organisations if o.id == "dh")
    assert dh == Organisation(id="dh", name="Department of Health", acronym="DH",
                              alt_names=("Dept Health", "Dept of Health"))
    kings = next(o for o in organisations if o.id == "kings-fund")
    assert kings.name == "King’s Fund" and kings.acronym is None
    assert "The King’s Fund" in kings.alt_names
    mhn = next(o for o in organisations if o.id == "mhn")
    assert (mhn.name, mhn.acronym) == ("Mental Health Network, NHS Confederation", "MHN")
    # No two organisations share a form: the index would refuse to build.
    assert len(OrganisationIndex(organisations)) == len(organisations)


def test_normalise_name_and_key_part():
    assert normalise_name("The King’s Fund") == normalise_name("kings fund") == "kings fund"
    assert normalise_name("Dept. Health") == normalise_name("Department of Health")
    assert normalise_name("The") == "the"
    assert key_part("King’s Fund") == "KingsFund"
    assert key_part("NDTi") == "NDTi"
    assert key_part("Mental Health Network, NHS Confederation") == "MentalHealthNetworkNHSConfederation"


def test_an_ambiguous_authority_is_refused():
    with pytest.raises(ReferencesError, match="'The DH' names both dh and other"):
        OrganisationIndex([Organisation("dh", "DH"), Organisation("other", "Other", alt_names=("The DH",))])
    with pytest.raises(ReferencesError, match="acronym 'dh' names both dh and x"):
        OrganisationIndex([Organisation("dh", "Department of Health", "DH"), Organisation("x", "X", "dh")])


def test_malformed_or_missing_authority_names_the_fix(tmp_path):
    with pytest.raises(ReferencesError, match="does not exist"):
        load_organisations(tmp_path / "missing.ttl")
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<a> skos:prefLabel \"x\" \n", encoding="utf-8")
    with pytest.raises(ReferencesError, match="not valid Turtle"):
        load_organisations(bad)
    two_names = tmp_path / "two.ttl"
    two_names.write_text(
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n@prefix foaf: <http://xmlns.com/foaf/0.1/> .\n"
        "<https://kg.example.org/org/x> a foaf:Organization ; skos:prefLabel \"X\", \"Y\" .\n", encoding="utf-8")
    with pytest.raises(ReferencesError, match="organisation x has 2 skos:prefLabel"):
        load_organisations(two_names)


# --- One organisation matcher for graph, citations and tagging (issue 14 items 2 and 7) -------

from kg.model import Reference  # noqa: E402
from kg.organisations import corporate_names, org_slug  # noqa: E402


def test_creators_are_the_bodies_an_entry_names(index):
    ref = Reference("X2016", "report", {"author": "{NHS Confederation} and Smith, Judith",
                                        "shortauthor": "NHS Confederation", "institution": "Department of Health"})
    assert [o.id for o in index.creators(ref)] == ["nhs-confederation", "dh"]


def test_a_corporate_author_the_authority_lacks_is_minted_and_listed():
    index = OrganisationIndex(load_organisations(ROOT / "ontology" / "organisations.ttl"))
    refs = [Reference("AgeUK2017", "report", {"author": "{Age UK}", "year": "2017", "title": "T"}),
            Reference("DH2010", "report", {"author": "{Department of Health}", "year": "2010", "title": "T"})]
    minted = index.mint(refs)
    assert [(o.id, o.name) for o in minted] == [("age-uk", "Age UK")]
    assert [(o.id, key) for o, key in index.unknown] == [("age-uk", "AgeUK2017")]
    assert index.lookup("Age UK").id == "age-uk" and [o.id for o in index.creators(refs[0])] == ["age-uk"]
    assert index.mint(refs) == []  # once


def test_corporate_names_keep_a_name_with_and_whole():
    ref = Reference("DHSC2018", "report", {"author": "{Department of Health and Social Care}",
                                           "institution": "Department of Health and Social Care"})
    assert corporate_names(ref) == ["Department of Health and Social Care"]
    assert org_slug("King’s Fund") == "kings-fund"


def test_the_before_an_acronym_is_free(index):
    assert index.lookup("the LGA").id == index.lookup("LGA").id


def test_name_spans_find_organisations_as_written(index):
    text = "Figures from the Health and Social Care Information Centre, and people in control of money."
    spans = [text[s:e] for s, e in index.name_spans(text)]
    assert spans == ["Health and Social Care Information Centre"]  # "in control" is not In Control


def test_the_tagger_does_not_tag_from_inside_an_organisation_s_name(index):
    from kg.concepts import Tagger, load_scheme
    concepts = load_scheme(ROOT / "ontology" / "concepts.ttl")
    text = "Figures from the Health and Social Care Information Centre show a rise."
    assert Tagger(concepts).tag(text) == ("adult-social-care",)  # what the unmasked tagger did
    assert Tagger(concepts, organisations=index).tag(text) == ()
    assert Tagger(concepts, organisations=index).tag("Integration of health and social care") == ("integration",)
