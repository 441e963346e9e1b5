"""A post's own reference list: the one detection rule, the entry parser, the merge, the build.

The posts under tests/data/refs/posts/ end with reference lists in the forms UK policy writing
uses (Harvard with "Available at:" and "[Accessed ...]", APA variants, quoted titles, chapters,
journal articles, report numbers, "Notes" with footnotes); their text is our own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kg import build
from kg.claims import chunk_post
from kg.cli import main
from kg.corpus import classify, load_posts
from kg.model import Post, Reference
from kg.references import load_library
from kg.refs import library_with_post_references
from kg.refs.detect import heading_kind, is_bibliography_body, is_reference_line, reference_sections
from kg.refs.postrefs import post_references
from kg.refs.reflist import parse_entry, parse_reference
from kg.settings import ROOT, load_settings

DATA = Path(__file__).parent / "data" / "refs"
POSTS = DATA / "posts"


@pytest.fixture(scope="module")
def posts() -> dict[str, Post]:
    loaded, failures = load_posts(POSTS)
    assert failures == []
    return {p.id: p for p in loaded}


# --- the one detection rule -------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "Department of Health (DH) (2011b), Payment by Results: Draft 2012-13 Mental Health Guidance (available here)",
    "Department of Health (2010) Equity and excellence: liberating the NHS. London: DH.",
    "Needham, C. and Carr, S. (2009) Co-production. SCIE Research Briefing 31. London: SCIE.",
    "Glasby, J. and Dickinson, H. (eds) (2009) International perspectives. Oxford: Wiley-Blackwell.",
    "Bottery, S. & Ward, D. (2021). Social care 360. London: The King's Fund.",
    "Curry, N. et al. (2013) Integrated care pilot in north-west London. London: Nuffield Trust.",
    "Needham, C., 2011. Personalising public services. Bristol: Policy Press.",
    "- Ham, C., Dixon, A. and Brooke, B. (2012) Transforming the delivery of care. London: The King's Fund.",
    "[2] – ADASS (2019) ADASS Budget Survey 2019. London: ADASS.",
    "de Bruin, A. and d'Souza, R. (2018) 'Direct payments', Dementia, 17(2), pp. 201–219.",
    "NHS England (2014) Five year forward view. Leeds: NHS England.",
])
def test_reference_lines(line):
    assert is_reference_line(line)


@pytest.mark.parametrize("line", [
    "This post is one in a series on Payment by Results in mental health.",
    "Caring for People White Paper (1989), a landmark",
    "The Care Quality Commission (2019) found that many carers were never assessed.",
    "A report by the Department of Health (2010) Equity and excellence set out the reforms.",
    "Spending rose by £1.2bn (2014) Councils said the rise was not enough.",
    "[1] – Source for this is Table 3.4 in HSCIC’s 2013/14 report (2014), Table 3.4.",
    "Uptake remains low (Carers UK, 2019) and many carers do not know the right exists.",
    "Commissioners said the tariff (2012), which paid by activity, would change.",
])
def test_prose_lines_are_not_references(line):
    assert not is_reference_line(line)


@pytest.mark.parametrize("line, kind", [
    ("References", "references"), ("References:", "references"), ("## Further reading", "references"),
    ("**Bibliography**", "references"), ("Sources", "references"), ("5. References", "references"),
    ("Notes", "notes"), ("Notes:", "notes"), ("Endnotes", "notes"),
    ("References to the Care Act are in the annex.", None), ("Referencing", None), ("About the author", None),
])
def test_reference_headings(line, kind):
    assert heading_kind(line) == kind


def test_the_corpus_and_claims_steps_use_the_same_rule(posts):
    # corpus.classify counts lines by this rule; articles with a reference list stay articles.
    for post in posts.values():
        assert classify(post.body) == "article"
        assert is_bibliography_body(post.body) is False
    seed, _ = load_posts(ROOT / "corpus" / "posts")
    assert [p.id for p in seed if classify(p.body) == "bibliography"] == \
        ["payment-by-results-and-mental-health-bibliography-and-reading"]


def test_a_reference_list_is_found_under_its_heading_and_ends_at_page_furniture(posts):
    post = posts["personal-budgets-mental-health-evidence"]
    [section] = reference_sections(post.body)
    assert section.kind == "references"
    assert post.body[slice(*section.heading)] == "References"
    assert len(section.entries) == 7 and section.unread == []  # "About the author" ends the list


def test_notes_keep_only_entries_and_prose_notes_are_left_alone(posts):
    sections = reference_sections(posts["carers-and-the-care-act"].body)
    assert [(s.kind, len(s.entries), len(s.unread)) for s in sections] == [("notes", 1, 0), ("references", 4, 1)]


def test_reference_list_lines_are_not_claims(posts):
    for post in posts.values():
        for claim in chunk_post(post):
            assert not is_reference_line(claim.text), claim.text
            assert "(2014a) Personal budgets" not in claim.text


# --- the entry parser -------------------------------------------------------------------------

@pytest.mark.parametrize("line, key, entry_type, fields", [
    ("Department of Health (2010) Equity and excellence: liberating the NHS. Cm 7881. London: The Stationery Office.",
     "DepartmentOfHealth2010", "techreport",
     {"author": "{Department of Health}", "institution": "The Stationery Office", "year": "2010",
      "title": "Equity and excellence: liberating the {NHS}", "address": "London", "number": "Cm 7881"}),
    ("Needham, C. and Carr, S. (2009) Co-production: an emerging evidence base for adult social care "
     "transformation. SCIE Research Briefing 31. London: SCIE.",
     "Needham2009", "techreport",
     {"author": "Needham, C. and Carr, S.", "institution": "SCIE", "year": "2009",
      "title": "Co-production: an emerging evidence base for adult social care transformation",
      "address": "London", "type": "SCIE Research Briefing", "number": "31"}),
    ("Care Quality Commission (2019a) The state of adult social care. Newcastle upon Tyne: CQC. Available at: "
     "https://www.cqc.org.uk/state-of-care [Accessed 14 March 2024].",
     "CareQualityCommission2019a", "techreport",
     {"author": "{Care Quality Commission}", "institution": "CQC", "year": "2019",
      "title": "The state of adult social care", "address": "Newcastle upon Tyne",
      "url": "https://www.cqc.org.uk/state-of-care", "urldate": "2024-03-14"}),
    ("Miller, R., Glasby, J. and Dickinson, H. (2016) 'Integrated care in England: ten years on', "
     "International Journal of Integrated Care, 16(4), pp. 1–12. doi:10.5334/ijic.2534.",
     "Miller2016", "article",
     {"author": "Miller, R. and Glasby, J. and Dickinson, H.", "year": "2016",
      "title": "Integrated care in England: ten years on", "journal": "International Journal of Integrated Care",
      "volume": "16", "number": "4", "pages": "1--12", "doi": "10.5334/ijic.2534"}),
    ("Dickinson, H. (2014) 'Making a reality of integration', in Glasby, J. and Dickinson, H. (eds) "
     "Partnership working in health and social care. 2nd edn. Bristol: Policy Press, pp. 67–81.",
     "Dickinson2014", "incollection",
     {"author": "Dickinson, H.", "editor": "Glasby, J. and Dickinson, H.", "publisher": "Policy Press",
      "year": "2014", "title": "Making a reality of integration",
      "booktitle": "Partnership working in health and social care", "address": "Bristol",
      "pages": "67--81", "edition": "2"}),
    ("Le Grand, J. (2007) The other invisible hand. Princeton: Princeton University Press.",
     "LeGrand2007", "book",
     {"author": "Le Grand, J.", "publisher": "Princeton University Press", "year": "2007",
      "title": "The other invisible hand", "address": "Princeton"}),
    ("NHS Confederation, NHS Providers and the LGA (2016) Shared ambition. London: NHS Confederation.",
     "NHSConfederation2016", "techreport",
     {"author": "{NHS Confederation} and {NHS Providers} and {the LGA}", "institution": "NHS Confederation",
      "year": "2016", "title": "Shared ambition", "address": "London"}),
])
def test_entry_table(line, key, entry_type, fields):
    ref, problem = parse_reference(line)
    assert problem is None
    assert (ref.key, ref.entry_type, ref.fields) == (key, entry_type, fields)


def test_bodies_whose_names_hold_and_stay_whole():
    for name in ("Department of Health and Social Care", "Department for Work and Pensions",
                 "Mental Health Network, NHS Confederation", "Some Trust & Partners"):
        work, _ = parse_entry(f"{name} (2020) A title. London: Them.")
        assert [n.literal for n in work.authors] == [name]


def test_unreadable_entries_say_why():
    assert parse_entry("Age UK (n.d.) Care in crisis. London: Age UK.")[1].startswith("has no year (n.d.)")
    assert parse_entry("Personal budgets: a guide (2015). Carers Trust.")[1].startswith("not shaped as a reference")


# --- a post's list, its provenance and the merge ----------------------------------------------

def test_post_entries_keep_their_provenance_and_failures_their_text(posts):
    found, failures = post_references(posts["carers-and-the-care-act"])
    assert [(e.start_line, e.reference.key) for e in found] == \
        [(9, "ADASS2019"), (13, "CarersUK2019"), (15, "HealthFoundation2018"), (21, "Hudson2016")]
    body = posts["carers-and-the-care-act"].body
    assert all(" ".join(body[e.start:e.end].split()) == e.text for e in found)
    assert len(failures) == 2
    assert "line 17 of the body" in failures[0].message and "Age UK (n.d.)" in failures[0].message
    assert "'Carers are entitled to an assessment whatever" in failures[1].message


def test_merge_never_overwrites_curated_fields_and_adds_what_is_missing(posts):
    curated = Reference("Needham2009", "techreport", {
        "author": "Needham, Catherine and Carr, Sarah", "institution": "Social Care Institute for Excellence",
        "year": "2009", "title": "Co-production: an emerging evidence base for adult social care transformation"})
    other = Reference("TLAP2014a", "misc", {"author": "{Someone Else}", "year": "2014", "title": "Another work"})
    library = {"Needham2009": curated, "TLAP2014a": other}
    merged, problems = library_with_post_references(library, [posts["personal-budgets-mental-health-evidence"]])
    assert problems == []
    needham = merged["Needham2009"].fields
    assert needham["institution"] == "Social Care Institute for Excellence"  # curated, kept
    assert needham["author"] == "Needham, Catherine and Carr, Sarah"
    assert (needham["type"], needham["number"]) == ("SCIE Research Briefing", "31")  # filled in
    assert merged["TLAP2014a"].fields == other.fields  # another work keeps its key ...
    # ... and the post's work of "2014a" another form of its author's name, keeping the year it is cited by.
    assert merged["ThinkLocalActPersonal2014a"].title.startswith("Personal budgets in mental health")
    assert merged["TLAP2014b"].title == "Making it real for mental health"
    assert "DepartmentOfHealth2010" in merged and "CareQualityCommission2019a" in merged
    assert library["Needham2009"].fields == curated.fields and len(library) == 2  # the input is not changed


def test_a_slightly_different_title_is_the_same_work():
    library = {"Bennett2014": Reference("Bennett2014", "techreport", {
        "author": "Bennett, Lucy and Humphries, Richard", "year": "2014",
        "title": "Making best use of the Better Care Fund: Spending to save"})}
    post = Post(id="p", title="T", body=(
        "References\n\nBennett, L. and Humphries, R. (2014) Making best use of the Better Care Fund: "
        "spending to save? London: The King's Fund."))
    merged, _ = library_with_post_references(library, [post])
    assert list(merged) == ["Bennett2014"]
    assert merged["Bennett2014"].fields["institution"] == "The King's Fund"


def test_the_seed_bibliography_adds_nothing_to_the_seed_library():
    library, _ = load_library(ROOT / "corpus" / "references.bib")
    seed, _ = load_posts(ROOT / "corpus" / "posts")
    merged, problems = library_with_post_references(library, seed)
    assert problems == []
    assert {k: (r.entry_type, r.fields) for k, r in merged.items()} == \
        {k: (r.entry_type, r.fields) for k, r in library.items()}


def test_the_build_resolves_a_posts_citations_from_its_own_list(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(POSTS, corpus / "posts")  # and no reference library at all
    result = build.run_pipeline(load_settings(env={}, corpus_dir=corpus))
    resolved = {(c.raw, c.reference_key) for c in result.citations if c.status == "resolved"}
    assert {("Carers UK, 2019", "CarersUK2019"), ("Bolton, 2015: 8", "Bolton2015"),
            ("Department of Health, 2010", "DepartmentOfHealth2010"),
            ("Think Local Act Personal, 2014a", "TLAP2014a")} <= resolved
    messages = [f.message for f in result.failures]
    assert any("Age UK (n.d.)" in m and "cannot read the reference" in m for m in messages)


def test_kg_refs_import_reads_a_pasted_reference_list(tmp_path):
    target = tmp_path / "references.bib"
    result = CliRunner().invoke(main, ["refs", "import", str(DATA / "harvard-list.txt"), "--library", str(target)],
                                catch_exceptions=False)
    assert result.exit_code == 0 and "(reflist)" in result.stdout
    assert "harvard-list.txt:26: line 26: 'Age UK (n.d.) Care in crisis. London: Age UK.' has no year" in result.stdout
    library, failures = load_library(target)
    assert failures == [] and len(library) == 22
    assert library["NHSEngland2014"].fields["urldate"] == "2024-06-01"


def test_judged_reference_lists_are_read_right():
    """The figure of bench/RESULTS-references.md, kept from slipping."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reference_lists", ROOT / "bench" / "reference_lists.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.evaluate()
    judged = yaml.safe_load((DATA / "judged-reference-lists.yaml").read_text(encoding="utf-8"))
    assert result["entries"] == sum(map(len, judged["posts"].values())) + sum(map(len, judged["lists"].values()))
    assert result["right"] >= 49
    assert not any("LOST" in e for e in result["errors"])
    assert result["unreadable_reported"] == result["unreadable"]
