"""The reference library: bibliography parsing, load/write, merge, import, audit, atomicity."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kg import references as refs_mod
from kg.corpus import load_posts
from kg.errors import ReferencesError
from kg.model import Post, Reference
from kg.references import (
    check_library,
    extract_references,
    import_bibtex,
    latex_decode,
    latex_encode,
    load_library,
    merge,
    parse_bibtex,
    parse_reference_line,
    to_bibtex,
    write_library,
)
from kg.settings import ROOT

DATA = Path(__file__).parent / "data"
LIBRARY = ROOT / "corpus" / "references.bib"
BIBLIOGRAPHY = "payment-by-results-and-mental-health-bibliography-and-reading"

# The fifteen references the bibliography post lists: key, author as written, acronym, year, title.
LISTED = [
    ("ADASS2009", "Association of Directors of Adult Social Services", "ADASS", "2009",
     "Payment by Results for Mental Health as a driver for personalised services: Joint ADASS and DH position paper"),
    ("ADASS2011", "Association of Directors of Adult Social Services", "ADASS", "2011",
     "Position Paper: Recovery and Payment by Results in Mental Health"),
    ("CHE2009", "Centre for Health Economics", "CHE", "2009",
     "Payment by Results in Mental Health: A Review of the International Literature and an Economic "
     "Assessment of the Approach in the English NHS"),
    ("DH2010", "Department of Health", "DH", "2010", "Practical Guide to Preparing for Mental Health Payment by Results"),
    ("DH2011a", "Department of Health", "DH", "2011", "A simple guide to Payment by Results"),
    ("DH2011b", "Department of Health", "DH", "2011", "Payment by Results: Draft 2012-13 Mental Health Guidance"),
    ("DH2012a", "Department of Health", "DH", "2012", "Draft Mental Health Payment by Results Guidance for 2013-14"),
    ("DH2012b", "Department of Health", "DH", "2012", "Mental Health Clustering Booklet v3.0 2013/14"),
    ("DH2013", "Department of Health", "DH", "2013",
     "Key steps for successful implementation of Mental Health Payment by Results"),
    ("KingsFund2012", "King’s Fund", None, "2012",
     "Payment by Results: How can payment systems help to deliver better care?"),
    ("MHN2011a", "Mental Health Network, NHS Confederation", "MHN", "2011",
     "Payment by Results in mental health: a challenging journey worth taking"),
    ("MHN2011b", "Mental Health Network, NHS Confederation", "MHN", "2011",
     "Mental Health Payment by Results Readiness Review"),
    ("NDTi2012", "National Development Team for Inclusion", "NDTi", "2012",
     "Getting it together for mental health care: Payment by Results, personalisation and whole system working"),
    ("RCP2012", "Royal College of Psychiatrists", "RCP", "2012",
     "Payment by results for mental health (England): Position statement PS02/2012"),
    ("Sitra2013", "Sitra", None, "2013", "Report: Payment by Results"),
]


@pytest.fixture(scope="module")
def posts() -> dict[str, Post]:
    loaded, failures = load_posts(ROOT / "corpus" / "posts")
    assert failures == []
    return {post.id: post for post in loaded}


@pytest.fixture()
def library_copy(tmp_path) -> Path:
    target = tmp_path / "references.bib"
    shutil.copyfile(LIBRARY, target)
    return target


def test_the_bibliography_post_yields_exactly_the_fifteen_listed_references(posts):
    extracted = extract_references(posts[BIBLIOGRAPHY])
    assert [r.key for r in extracted] == [row[0] for row in LISTED]
    for ref, (key, author, acronym, year, title) in zip(extracted, LISTED):
        expected_fields = {"author", "institution", "year", "title"} | ({"shortauthor"} if acronym else set())
        assert set(ref.fields) == expected_fields, key  # nothing invented: no url, note, type, month
        assert ref.entry_type == "techreport"
        assert ref.fields["author"] == "{" + author + "}"  # one corporate name, never split
        assert latex_decode(ref.fields["institution"]) == author
        assert ref.fields.get("shortauthor") == acronym
        assert ref.fields["year"] == year
        assert latex_decode(ref.title) == title
        assert "available" not in ref.title and "pdf" not in ref.title


def test_acronyms_in_titles_are_protected_from_case_changes(posts):
    extracted = {r.key: r for r in extract_references(posts[BIBLIOGRAPHY])}
    assert extracted["ADASS2009"].title.endswith("Joint {ADASS} and {DH} position paper")
    assert extracted["RCP2012"].title == "Payment by results for mental health (England): Position statement {PS02/2012}"


def test_articles_and_prose_lines_are_not_references(posts):
    for post in posts.values():
        if post.id != BIBLIOGRAPHY:
            assert extract_references(post) == [], post.id
    assert parse_reference_line("This post is one in a series on Payment by Results in mental health.") is None
    assert parse_reference_line("Caring for People White Paper (1989), a landmark") is None


@pytest.mark.parametrize("line, key, fields", [
    ("Department of Health (DH) (2011b), Payment by Results: Draft 2012-13 Mental Health Guidance (available here)",
     "DH2011b", {"author": "{Department of Health}", "shortauthor": "DH", "institution": "Department of Health",
                 "year": "2011", "title": "Payment by Results: Draft 2012-13 Mental Health Guidance"}),
    ("King’s Fund (2012), Payment by Results: How can payment systems help to deliver better care? (available here)",
     "KingsFund2012", {"author": "{King’s Fund}", "institution": "King’s Fund", "year": "2012",
                       "title": "Payment by Results: How can payment systems help to deliver better care?"}),
    ("Some Trust & Partners (2014), Costs: 50% of £1m_total (available via here (pdf))",
     "SomeTrustPartners2014", {"author": r"{Some Trust \& Partners}", "institution": r"Some Trust \& Partners",
                               "year": "2014", "title": r"Costs: 50\% of £1m\_total"}),
])
def test_reference_line_table(line, key, fields):
    ref = parse_reference_line(line)
    assert (ref.key, ref.fields) == (key, fields)


def test_the_library_file_is_what_the_bibliography_states(posts):
    library, failures = load_library(LIBRARY)
    assert failures == []
    extracted = extract_references(posts[BIBLIOGRAPHY])
    assert sorted(library) == sorted(r.key for r in extracted)
    for ref in extracted:
        assert library[ref.key].fields == ref.fields
        assert library[ref.key].entry_type == ref.entry_type
    assert check_library(library) == []


def test_re_extraction_changes_nothing_and_never_overwrites_curation(posts, library_copy):
    before = library_copy.read_bytes()
    report = refs_mod.extract_into_library(posts.values(), library_copy)
    assert (report.added, report.filled, report.conflicts, report.duplicates) == ([], {}, [], [])
    assert len(report.unchanged) == 15
    assert library_copy.read_bytes() == before  # nothing changed, nothing written

    # A person curates: corrects a title, adds a note, removes the acronym.
    library, _ = load_library(library_copy)
    library["DH2011b"].fields["title"] = "Payment by Results: Draft 2012--13 Mental Health Guidance"
    library["DH2011b"].fields["note"] = "Superseded by DH2012a"
    del library["DH2010"].fields["shortauthor"]
    write_library(library_copy, library)

    report = refs_mod.extract_into_library(posts.values(), library_copy)
    after, _ = load_library(library_copy)
    assert after["DH2011b"].fields["title"] == "Payment by Results: Draft 2012--13 Mental Health Guidance"
    assert after["DH2011b"].fields["note"] == "Superseded by DH2012a"
    assert [(c.key, c.field) for c in report.conflicts] == [("DH2011b", "title")]
    assert report.filled == {"DH2010": ["shortauthor"]}  # a missing field is filled, not a curated one
    assert len(after) == 15


def lib(*refs: Reference) -> dict[str, Reference]:
    return {r.key: r for r in refs}


def dh(key="DH2011b", title="Payment by Results: Draft 2012-13 Mental Health Guidance", **extra) -> Reference:
    fields = {"author": "{Department of Health}", "shortauthor": "DH", "year": re.search(r"\d{4}", key).group(),
              "title": title}
    fields.update(extra)
    return Reference(key, "techreport", fields)


def test_merge_decisions():
    library = lib(dh(), dh("DH2013", "Key steps"))
    incoming = [
        dh(),  # identical: unchanged
        dh("DH2013", "Key steps", url="https://example.org/k"),  # a new field: filled
        dh("DH2012a", "Draft guidance"),  # new key: added
        dh("DoH2011", "payment by results: draft 2012-13 mental health guidance"),  # same work: duplicate
    ]
    report = merge(library, incoming)
    assert report.unchanged == ["DH2011b"]
    assert report.filled == {"DH2013": ["url"]}
    assert report.added == ["DH2012a"]
    assert report.duplicates == [("DoH2011", "DH2011b")]
    assert list(report.library) == ["DH2011b", "DH2013", "DH2012a"]
    assert library["DH2013"].fields.get("url") is None  # the input library is not modified


def test_merge_keeps_curated_values_unless_replace():
    library = lib(dh(note="curated"))
    incoming = [dh(title="Another title", note="machine")]
    kept = merge(library, incoming)
    assert kept.library["DH2011b"].fields["title"] == library["DH2011b"].fields["title"]
    assert sorted(c.field for c in kept.conflicts) == ["note", "title"]
    assert not kept.changed
    replaced = merge(library, incoming, replace=True)
    assert replaced.replaced == ["DH2011b"] and replaced.conflicts == []
    assert replaced.library["DH2011b"].fields["title"] == "Another title"


def test_malformed_bib_reports_line_numbers_and_keeps_the_rest():
    refs, failures = load_library(DATA / "refs_malformed.bib")
    assert list(refs) == ["Good2010", "Later2013"]
    assert [f.item.rsplit(":", 1)[1] for f in failures] == ["7", "12"]
    assert "NoComma2011" in failures[0].message and "Expected comma after entry key" in failures[0].message
    assert "Unclosed2012" in failures[1].message
    assert all("fix the braces" in f.message for f in failures)


def test_duplicate_keys_and_fields_are_failures():
    refs, failures = load_library(DATA / "refs_duplicate_keys.bib")
    assert refs["ADASS2009"].title == "First"
    messages = [f.message for f in failures]
    assert messages[0].startswith("line 7: duplicate key 'ADASS2009' (first defined at line 1)")
    assert messages[1].startswith("line 13: entry 'RCP2012' repeats the field(s) title")
    assert "RCP2012" not in refs


def test_library_errors_name_the_fix(tmp_path):
    with pytest.raises(ReferencesError, match="kg refs extract"):
        load_library(tmp_path / "missing.bib")
    assert load_library(tmp_path / "missing.bib", missing_ok=True) == ({}, [])
    latin = tmp_path / "latin.bib"
    latin.write_bytes("@misc{M2010, title = {Caf\xe9}, year = {2010}}".encode("latin-1"))
    with pytest.raises(ReferencesError, match="not UTF-8.*iconv"):
        load_library(latin)


def test_import_merges_reports_and_skips(library_copy):
    original, _ = load_library(library_copy)
    report = import_bibtex(DATA / "refs_user_export.bib", library_copy)
    assert [f.item.rsplit(":", 1)[1] for f in report.failures] == ["20"]
    assert report.merge.added == ["Needham2013", "SPRU2008"]
    assert report.merge.duplicates == [("DoH2010", "DH2010")]
    assert [(c.key, c.field) for c in report.merge.conflicts] == [("DH2011b", "title")]
    assert report.merge.filled == {"DH2011b": ["url"], "DH2010": ["note"]}
    assert report.written
    after, failures = load_library(library_copy)
    assert failures == []
    assert after["DH2011b"].title == original["DH2011b"].title  # not overwritten
    assert after["Needham2013"].fields["author"] == r"Needham, Catherine and Glasby, Jon and M{\"u}ller, J{\"o}rg"
    assert "DoH2010" not in after and len(after) == 17
    assert list(after)[:15] == list(original)  # curated order kept, new entries appended
    assert check_library(after) == []


def test_import_with_replace_takes_the_incoming_entry(library_copy):
    report = import_bibtex(DATA / "refs_user_export.bib", library_copy, replace=True)
    assert report.merge.replaced == ["DH2011b", "DH2010"]
    after, _ = load_library(library_copy)
    assert after["DH2011b"].title.endswith("(revised)")


def test_import_refuses_a_library_with_malformed_entries(tmp_path):
    library = tmp_path / "references.bib"
    shutil.copyfile(DATA / "refs_malformed.bib", library)
    before = library.read_bytes()
    with pytest.raises(ReferencesError, match="malformed entries.*fix them first"):
        import_bibtex(DATA / "refs_user_export.bib", library)
    assert library.read_bytes() == before


def test_a_failed_write_leaves_the_library_and_no_temporary_file(library_copy, monkeypatch):
    before = library_copy.read_bytes()
    library, _ = load_library(library_copy)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_library(library_copy, {})
    assert library_copy.read_bytes() == before
    assert sorted(p.name for p in library_copy.parent.iterdir()) == ["references.bib"]


KILLED_IMPORT = r"""
import os, sys, time
from kg import references

real_fsync = os.fsync
def stall(fd):
    # The temporary file is written; say so, then wait to be killed before the rename.
    print("writing", flush=True)
    time.sleep(60)
    real_fsync(fd)

os.fsync = stall
references.import_bibtex(sys.argv[1], sys.argv[2])
"""


def test_an_import_killed_midway_leaves_the_library_intact(library_copy, tmp_path):
    before = library_copy.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, str(DATA / "refs_user_export.bib"),
                              str(library_copy)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temporaries) == 1 and "Needham2013" in temporaries[0].read_text(encoding="utf-8")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert library_copy.read_bytes() == before
    library, failures = load_library(library_copy)
    assert failures == [] and len(library) == 15
    # The next import completes normally.
    assert import_bibtex(DATA / "refs_user_export.bib", library_copy).written
    assert "Needham2013" in load_library(library_copy)[0]


def test_check_library_finds_duplicates_and_bad_keys():
    library = lib(
        dh(), dh("dh2011b"), dh("DoH2011", "payment by results: draft 2012-13 mental health guidance"),
        dh("DH-2013", "Key steps"), dh("DH2014", "Something", year="2013"),
        Reference("Smith2010", "article", {"author": "Jones, Ann", "year": "2010", "title": "T"}),
        Reference("Jones2010", "article", {"author": "Jones, Ann", "year": "2010"}),
    )
    problems = {(p.kind, p.keys) for p in check_library(library)}
    assert ("duplicate", ("DH2011b", "dh2011b", "DoH2011")) in problems
    assert ("key-case", ("DH2011b", "dh2011b")) in problems
    assert ("key-rule", ("dh2011b",)) in problems
    assert ("key-rule", ("DoH2011",)) in problems
    assert ("key-rule", ("DH-2013",)) in problems
    assert ("key-rule", ("DH2014",)) in problems
    assert ("key-rule", ("Smith2010",)) in problems
    assert ("missing-field", ("Jones2010",)) in problems
    assert ("key-rule", ("DH2011b",)) not in problems and ("key-rule", ("Jones2010",)) not in problems
    message = next(p.message for p in check_library(library) if p.keys == ("DH2014",))
    assert "says 2014 but the entry's year is 2013" in message and "DH2013" in message


printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


@settings(max_examples=200, deadline=None)
@given(printable)
def test_latex_encoding_round_trips(text):
    assert latex_decode(latex_encode(text)) == text
    assert latex_decode(latex_encode(text, protect_acronyms=True)) == text


names = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Zs", "Nd", "Po")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and " and " not in f" {s.lower()} " and s.strip())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(names, st.integers(1900, 2030), printable.filter(str.strip)), min_size=1, max_size=5,
                unique_by=lambda t: (t[0], t[1])))
def test_to_bibtex_round_trips_through_bibtexparser(rows):
    refs = [Reference(f"K{i}{year}", "techreport",
                      {"author": "{" + latex_encode(name) + "}", "institution": latex_encode(name),
                       "year": str(year), "title": latex_encode(title, protect_acronyms=True)})
            for i, (name, year, title) in enumerate(rows)]
    parsed, failures = parse_bibtex(to_bibtex(refs, protect=False))  # as the library file is written
    assert failures == []
    assert [(r.key, r.entry_type, r.fields) for r in parsed.values()] == [(r.key, r.entry_type, r.fields) for r in refs]
    exported, failures = parse_bibtex(to_bibtex(refs))  # an export only adds braces to titles
    assert failures == []
    for ref, again, (name, _year, title) in zip(parsed.values(), exported.values(), rows):
        assert latex_decode(ref.fields["author"]) == name and latex_decode(ref.title) == title
        assert latex_decode(again.title) == title


@pytest.mark.parametrize("refs, prose, expected", [
    (3, 3, True),   # half the lines are references: a bibliography
    (3, 4, False),  # one prose line more: an article
    (2, 0, False),  # too few references
    (4, 1, True),
    (0, 6, False),
])
def test_is_bibliography_at_the_half_way_line(refs, prose, expected):
    reference = "Department of Health (DH) ({}), Payment by Results: a simple guide (available here)"
    lines = [reference.format(2010 + n) for n in range(refs)]
    lines += [f"Commissioners said the tariff ({n}), which paid by activity, would change." for n in range(prose)]
    # The order must not matter: references first, prose first, interleaved.
    for body in (lines, lines[::-1], lines[::2] + lines[1::2]):
        assert refs_mod.is_bibliography(Post(id="p", title="T", body="\n\n".join(body))) is expected
