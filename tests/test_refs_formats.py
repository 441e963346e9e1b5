"""Reference managers' exports: CSL-JSON and RIS (and BibTeX @string macros) into the library.

The files under tests/data/refs/ are shaped like Zotero's "CSL JSON" export and EndNote/Zotero
RIS exports (their data is our own): corporate and personal authors, particles, a/b years,
DOIs, URLs, report numbers, and malformed entries that must be reported, never dropped silently.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg import refs
from kg.cli import main
from kg.errors import ReferencesError
from kg.references import check_library, import_references, load_library, parse_bibtex, write_library
from kg.settings import ROOT

DATA = Path(__file__).parent / "data" / "refs"
CSL = DATA / "zotero-export.json"
RIS = DATA / "endnote-export.ris"
LIBRARY = ROOT / "corpus" / "references.bib"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- the registry ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, text, fmt", [
    ("x.bib", "", "bibtex"), ("x.JSON", "", "csl-json"), ("x.ris", "", "ris"), ("refs.txt", "", "reflist"),
    ("export", '[{"type": "report"}]', "csl-json"),
    ("export", "\nTY  - RPRT\nER  - \n", "ris"),
    ("export", "% zotero\n@techreport{DH2010,\n}", "bibtex"),
])
def test_the_format_comes_from_the_extension_else_the_content(name, text, fmt):
    assert refs.detect_format(name, text) == fmt


def test_an_unknown_format_names_the_option():
    with pytest.raises(ReferencesError, match="--format bibtex\\|csl-json\\|ris\\|reflist"):
        refs.detect_format("notes", "Some notes about references")
    with pytest.raises(ReferencesError, match="unknown reference format 'endnote-xml'"):
        refs.detect_format("x.xml", "", "endnote-xml")


# --- CSL-JSON -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def csl() -> refs.Parsed:
    return refs.read_file(CSL)[1]


def test_csl_items_become_entries_with_every_field(csl):
    by_key: dict = {}
    for ref in csl.references:  # before import settles them, two works may share a made-up key
        by_key.setdefault(ref.key, ref)
    dh = by_key["DepartmentOfHealth2010"]
    assert dh.entry_type == "techreport"
    assert dh.fields == {
        "author": "{Department of Health}", "title": "Equity and excellence: liberating the {NHS}",
        "institution": "The Stationery Office", "address": "London", "year": "2010", "month": "jul",
        "number": "Cm 7881",
        "url": "https://www.gov.uk/government/publications/liberating-the-nhs-white-paper",
        "urldate": "2024-03-04"}
    scie = by_key["Needham2009"]
    assert (scie.fields["author"], scie.fields["type"], scie.fields["number"]) == \
        ("Needham, Catherine and Carr, Sarah", "SCIE Research Briefing", "31")
    article = by_key["VanDenBerg2016"]
    assert article.fields["author"] == "van den Berg, Jan and O'Reilly, Siobhán and De Souza, Ana"
    assert (article.fields["journal"], article.fields["pages"], article.fields["doi"], article.fields["month"]) == \
        ("Journal of Integrated Care", "141--153", "10.5555/kg.test.2016.014", "may")  # Mendeley's string parts
    chapter = by_key["LeGrand2014"]
    assert (chapter.entry_type, chapter.fields["editor"], chapter.fields["booktitle"]) == \
        ("incollection", "Glasby, Jon and Dickinson, Helen", "Understanding care, welfare and community")
    assert by_key["Okafor2019"].fields["author"] == "Okafor, Jr., Chidi"
    assert by_key["LocalGovernmentAssociation2018"].fields["author"] == \
        "{Local Government Association} and {Association of Directors of Adult Social Services}"


def test_csl_year_suffixes_and_declared_keys_are_kept(csl):
    keys = [r.key for r in csl.references]
    assert "KingsFund2012a" in keys and "KingsFund2012b" in keys  # Better BibTeX's citation-key
    assert "ThinkLocalActPersonal2018a" in keys  # issued {"raw": "2018a"}


def test_csl_malformed_items_are_reported_with_index_line_and_fix(csl):
    messages = [f.message for f in csl.failures]
    assert len(messages) == 3
    assert messages[0].startswith("item 13 (line 139), id 'http://zotero.org/users/4417203/items/BADAUTH1': "
                                  "author must be a list of names")
    assert "item 14 (line 146)" in messages[1] and "has no year in 'issued'" in messages[1]
    assert "add its date in the reference manager" in messages[1]
    assert messages[2].startswith("item 15 (line 153) is not an object")
    assert any("CSL type 'legislation' imported as @misc" in n for n in csl.notes)
    # Nothing lost: every item is an entry or a failure.
    assert len(csl.references) + len(csl.failures) == len(json.loads(CSL.read_text(encoding="utf-8")))


def test_invalid_json_names_line_and_column(tmp_path):
    bad = tmp_path / "export.json"
    bad.write_text('[\n  {"type": "report",\n   "title": "x",}\n]\n', encoding="utf-8")
    with pytest.raises(ReferencesError, match=r"export.json:3:\d+: not valid JSON"):
        refs.read_file(bad)


# --- RIS ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ris() -> refs.Parsed:
    return refs.read_file(RIS)[1]


def test_ris_records_become_entries(ris):
    by_key = {r.key: r for r in ris.references}
    assert list(by_key) == ["DH2012a", "DH2012b", "Humphries2016", "VanDerLinden2015", "Duffy2014",
                            "NHSEngland2019", "CareQualityCommission2019a", "CareQualityCommission2019b",
                            "SocialCareInstituteForExcellence2013", "Bennett2014", "Glasby2016"]
    dh = by_key["DH2012a"].fields
    assert (dh["author"], dh["number"], dh["month"], dh["urldate"]) == \
        ("{Department of Health}", "Cm 8378", "jul", "2024-02-20")  # EndNote's "Body," form; SN as number
    article = by_key["VanDerLinden2015"].fields
    assert article["author"] == "van der Linden, Maria and O'Brien, Kevin and MacDonald, Fiona J."
    assert (article["journal"], article["pages"], article["number"], article["issn"]) == \
        (r"Health \& Social Care in the Community", "402--411", "4", "0966-0410")
    assert by_key["Duffy2014"].fields["editor"] == "Needham, Catherine and Glasby, Jon"  # A2 of a chapter
    assert by_key["CareQualityCommission2019a"].fields["number"] == "HC 2709"  # M1: EndNote's report number
    # biblatex's report has neither isbn nor series: the ISBN goes to the note, the series is its type.
    assert by_key["Humphries2016"].fields["note"] == "ISBN 978-1-909029-69-9"
    assert (by_key["SocialCareInstituteForExcellence2013"].fields["type"],
            by_key["SocialCareInstituteForExcellence2013"].fields["number"]) == ("SCIE Guide", "51")
    assert by_key["Glasby2016"].fields["isbn"] == "9781447327080"


def test_ris_problems_are_reported_with_lines_and_nothing_is_lost(ris):
    messages = [f.message for f in ris.failures]
    assert any(m.startswith("line 119: text 'This line was pasted here by mistake.' stands outside any record")
               for m in messages)
    assert any(m.startswith("record at lines 107-111 ('Adult social care: a guide for councillors') has no year")
               for m in messages)
    assert any("record at lines 113-117 ('Untitled web clipping') has no author" in m for m in messages)
    assert any("121: record has no 'ER  - ' line before the next record at line 129" in n for n in ris.notes)
    assert any("tags not imported (no library field): AD" in n for n in ris.notes)
    records = RIS.read_text(encoding="utf-8").count("TY  - ")
    assert len(ris.references) + sum("record at lines" in m for m in messages) == records


def test_ris_with_windows_line_endings_reads_the_same(tmp_path, ris):
    crlf = tmp_path / "export.ris"
    crlf.write_bytes(RIS.read_bytes().replace(b"\n", b"\r\n"))
    again = refs.read_file(crlf)[1]
    assert [(r.key, r.fields) for r in again.references] == [(r.key, r.fields) for r in ris.references]


# --- import through the library and the CLI ---------------------------------------------------

def test_import_mints_keys_by_the_naming_rule_with_suffixes(tmp_path):
    target = tmp_path / "references.bib"
    report = import_references(CSL, target)
    library, failures = load_library(target)
    assert failures == []
    # Two Department of Health works of 2010 and of 2011: a and b in the order of their titles.
    assert library["DepartmentOfHealth2010a"].title.startswith("A vision for adult social care")
    assert library["DepartmentOfHealth2010b"].title.startswith("Equity and excellence")
    assert library["DepartmentOfHealth2011a"].title.startswith("Caring for our future")
    assert library["DepartmentOfHealth2011b"].title.startswith("Transparency in outcomes")
    assert ("DepartmentOfHealth2010", "DepartmentOfHealth2010a") in report.renamed
    assert [p for p in check_library(library) if p.kind != "missing-field"] == []


def test_a_minted_key_never_takes_another_works_key(tmp_path):
    target = tmp_path / "references.bib"
    items = json.loads(CSL.read_text(encoding="utf-8"))
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps([items[0]]), encoding="utf-8")  # DH 2010: Equity and excellence
    second.write_text(json.dumps([items[10]]), encoding="utf-8")  # DH 2010: A vision for adult social care
    import_references(first, target)
    report = import_references(second, target)
    library = load_library(target)[0]
    assert library["DepartmentOfHealth2010"].title.startswith("Equity and excellence")
    assert library["DepartmentOfHealth2010a"].title.startswith("A vision for adult social care")
    assert report.renamed == [("DepartmentOfHealth2010", "DepartmentOfHealth2010a")]
    again = import_references(second, target)  # the same work again: found, not added twice
    assert again.merge.added == [] and not again.written


def test_cli_imports_csl_json_and_ris_reporting_every_skip(tmp_path):
    target = tmp_path / "references.bib"
    shutil.copyfile(LIBRARY, target)
    result = invoke("refs", "import", str(CSL), "--library", str(target))
    assert result.exit_code == 0, result.output
    assert "(csl-json)" in result.stdout and "library written" in result.stdout
    assert "skipped" in result.stdout and "item 13 (line 139)" in result.stdout
    ris_result = invoke("refs", "import", str(RIS), "--library", str(target), "--json")
    assert ris_result.exit_code == 0
    report = json.loads(ris_result.stdout)
    assert report["format"] == "ris" and len(report["skipped"]) == 3
    assert "CareQualityCommission2019a" in report["added"] and report["written"]
    library, failures = load_library(target)
    assert failures == [] and {"CareQualityCommission2019b", "Needham2009", "DH2012a", "LeGrand2014"} <= set(library)
    strict = invoke("refs", "import", str(RIS), "--library", str(target), "--strict")
    assert strict.exit_code == 1 and "did not import cleanly: 3 skipped" in strict.stderr


def test_cli_conflicts_keep_the_library_value_unless_replace(tmp_path):
    target = tmp_path / "references.bib"
    invoke("refs", "import", str(RIS), "--library", str(target))
    changed = tmp_path / "changed.ris"
    changed.write_text(RIS.read_text(encoding="utf-8").replace(
        "TI  - Caring for our future: reforming care and support",
        "TI  - Caring for our future (white paper)"), encoding="utf-8")
    kept = invoke("refs", "import", str(changed), "--library", str(target))
    assert "conflict (kept the library's value" in kept.stdout
    assert load_library(target)[0]["DH2012a"].title == "Caring for our future: reforming care and support"
    invoke("refs", "import", str(changed), "--library", str(target), "--replace")
    assert load_library(target)[0]["DH2012a"].title == "Caring for our future (white paper)"


def test_cli_format_option_reads_a_file_without_extension(tmp_path):
    target = tmp_path / "references.bib"
    export = tmp_path / "export"
    shutil.copyfile(RIS, export)
    result = invoke("refs", "import", str(export), "--format", "ris", "--library", str(target))
    assert result.exit_code == 0 and "(ris)" in result.stdout
    bad = invoke("refs", "import", str(export), "--format", "marc", "--library", str(target))
    assert bad.exit_code == 2


# --- BibTeX @string macros (issue 12, finding 12) ---------------------------------------------

def test_string_macros_and_concatenations_are_expanded():
    text = ('@string{dh = "Department of Health"}\n@string{pbr = {Payment by Results}}\n'
            '@string{pbrmh = pbr # " in mental health"}\n'
            '@techreport{DH2011b,\n author = {{Department of Health}},\n institution = dh,\n'
            ' title = pbr # ": draft " # {2012--13} # " guidance",\n series = pbrmh,\n'
            ' month = jan,\n year = 2011\n}\n'
            '@techreport{DH2013,\n author = {{Department of Health}},\n title = DH # " steps",\n year = 2013\n}\n')
    found, failures = parse_bibtex(text, "lib.bib")
    fields = found["DH2011b"].fields
    assert fields["institution"] == "Department of Health"
    assert fields["title"] == "Payment by Results: draft 2012--13 guidance"
    assert fields["series"] == "Payment by Results in mental health"
    assert fields["month"] == "jan"  # a month macro stays a macro
    assert found["DH2013"].fields["title"] == "Department of Health steps"  # macro names are case-blind


def test_an_undefined_macro_is_reported_with_the_fix():
    text = '@techreport{X2010,\n author = {{X}},\n title = nosuch # " report",\n year = 2010\n}\n'
    found, failures = parse_bibtex(text, "lib.bib")
    assert found == {}
    assert failures[0].message == (
        "line 1: entry 'X2010' uses the undefined @string macro(s) nosuch; define them with "
        "@string{name = {...}} before the entry, or brace the value as text, in lib.bib")


# --- round trip through the tools people use -------------------------------------------------

@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("lib") / "refs.bib"
    import_references(CSL, target)
    import_references(RIS, target)
    return target


def test_imported_library_round_trips_through_bibtexparser(imported, tmp_path):
    library, failures = load_library(imported)
    assert failures == [] and len(library) == 13 + 11
    copy = tmp_path / "copy.bib"
    write_library(copy, library)
    assert copy.read_text(encoding="utf-8") == imported.read_text(encoding="utf-8")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.tex
def test_biber_accepts_the_imported_library(imported, tmp_path):
    assert shutil.which("biber"), "biber is missing: run scripts/system-deps.sh (Debian package biber)"
    shutil.copyfile(imported, tmp_path / "refs.bib")
    done = _run(["biber", "--tool", "--validate-datamodel", "refs.bib"], tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "WARN" not in log and "ERROR" not in log, log


@pytest.mark.tex
def test_classic_bibtex_accepts_the_imported_library(imported, tmp_path):
    assert shutil.which("bibtex"), "bibtex is missing: run scripts/system-deps.sh (texlive-binaries)"
    shutil.copyfile(imported, tmp_path / "refs.bib")
    (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n", encoding="utf-8")
    done = _run(["bibtex", "doc"], tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Warning--" not in log and "error message" not in log, log
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    for key in load_library(imported)[0]:
        assert f"\\bibitem{{{key}}}" in bbl


def test_escaped_braces_and_hashes_are_text_not_concatenation():
    text = '@misc{A2010,\n author = {{A\\} \\# B}},\n title = {C\\# and \\{x\\} # y},\n year = 2010\n}\n'
    found, failures = parse_bibtex(text, "lib.bib")
    assert failures == []
    assert found["A2010"].fields["title"] == "C\\# and \\{x\\} # y"
