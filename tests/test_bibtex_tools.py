"""BibTeX and CSL-JSON export, checked by the tools people use: bibtexparser, biber, classic bibtex.

Also the CLI: ``kg bibtex``, ``kg refs import``, ``kg refs extract``.
The ``tex`` tests need biber and bibtex with plain.bst: Debian packages biber, texlive-binaries,
texlive-base (installed by scripts/system-deps.sh).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.model import Reference
from kg.references import export, key_year, latex_decode, load_library, parse_bibtex, to_bibtex, to_csl_json
from kg.settings import ROOT

DATA = Path(__file__).parent / "data"
LIBRARY = ROOT / "corpus" / "references.bib"


@pytest.fixture(scope="module")
def library() -> dict[str, Reference]:
    refs, failures = load_library(LIBRARY)
    assert failures == [] and len(refs) == 15
    return refs


@pytest.fixture(scope="module")
def mixed() -> dict[str, Reference]:
    """The corpus library plus a user's entries: person names, accents, escapes, a url."""
    refs, _ = load_library(LIBRARY)
    user, _ = load_library(DATA / "refs_user_export.bib")
    return {**refs, "Needham2013": user["Needham2013"], "SPRU2008": user["SPRU2008"]}


def test_export_round_trips_through_bibtexparser(mixed):
    parsed, failures = parse_bibtex(to_bibtex(mixed, protect=False))  # as the library file is written
    assert failures == []
    assert {k: (r.entry_type, r.fields) for k, r in parsed.items()} == \
        {k: (r.entry_type, r.fields) for k, r in mixed.items()}
    # An export adds braces to titles and a sorttitle for a key's year letter, and nothing else.
    text = to_bibtex(mixed)
    parsed, failures = parse_bibtex(text)
    assert failures == []
    for key, ref in mixed.items():
        fields = dict(parsed[key].fields)
        assert fields.pop("sorttitle", None) == (key_year(ref) if key_year(ref) != ref.year else None)
        assert latex_decode(fields.pop("title")) == latex_decode(ref.title)
        assert fields == {n: v for n, v in ref.fields.items() if n != "title"}
    assert "author = {{Department of Health}}" in text
    assert r"author = {Needham, Catherine and Glasby, Jon and M{\"u}ller, J{\"o}rg}" in text


def test_csl_json_for_zotero_and_pandoc(mixed):
    items = {item["id"]: item for item in to_csl_json(mixed)}
    assert items["DH2011b"] == {
        "id": "DH2011b", "type": "report", "author": [{"literal": "Department of Health"}],
        "publisher": "Department of Health", "title": "Payment by Results: Draft 2012-13 Mental Health Guidance",
        "issued": {"date-parts": [[2011]]}, "year-suffix": "b"}  # the key's letter, for citeproc
    assert items["KingsFund2012"]["author"] == [{"literal": "King’s Fund"}]
    assert items["ADASS2009"]["title"].endswith("Joint ADASS and DH position paper")  # braces decoded
    needham = items["Needham2013"]
    assert needham["type"] == "article-journal"
    assert needham["author"] == [{"family": "Needham", "given": "Catherine"}, {"family": "Glasby", "given": "Jon"},
                                 {"family": "Müller", "given": "Jörg"}]
    assert needham["title"] == "The Personalisation of NHS Services: & What Follows"
    assert (needham["container-title"], needham["page"], needham["volume"]) == \
        ("Journal of Integrated Care", "10–20", "21")
    json.dumps(list(items.values()))  # serialisable as is


def run_tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.tex
def test_biber_validates_the_export_against_its_data_model(mixed, tmp_path):
    assert shutil.which("biber"), "biber is missing: run scripts/system-deps.sh (Debian package biber)"
    (tmp_path / "refs.bib").write_text(to_bibtex(mixed), encoding="utf-8")
    done = run_tool(["biber", "--tool", "--validate-datamodel", "refs.bib"], tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Datamodel validation complete" in log
    assert "WARN" not in log and "ERROR" not in log, log
    converted = (tmp_path / "refs_bibertool.bib").read_text(encoding="utf-8")
    assert converted.count("@") >= len(mixed)  # biber read every entry


@pytest.mark.tex
def test_classic_bibtex_accepts_the_export_on_a_tiny_document(mixed, tmp_path):
    assert shutil.which("bibtex"), "bibtex is missing: run scripts/system-deps.sh (texlive-binaries)"
    assert run_tool(["kpsewhich", "plain.bst"], tmp_path).stdout.strip(), \
        "plain.bst is missing: install the Debian package texlive-base"
    (tmp_path / "refs.bib").write_text(to_bibtex(mixed), encoding="utf-8")
    (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n", encoding="utf-8")
    done = run_tool(["bibtex", "doc"], tmp_path)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Warning--" not in log and "error message" not in log, log
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    for key in mixed:
        assert f"\\bibitem{{{key}}}" in bbl
    assert "{Department of Health}." in bbl and "{King’s Fund}." in bbl


# --- CLI ---------------------------------------------------------------------------------------

def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_kg_bibtex_exports_the_whole_library_and_by_keys(tmp_path, library):
    whole = invoke("bibtex")
    assert whole.exit_code == 0
    parsed, failures = parse_bibtex(whole.stdout)
    assert failures == [] and list(parsed) == list(library)

    some = invoke("bibtex", "dh2011b", "KingsFund2012", "DH2011b")
    assert some.exit_code == 0
    assert list(parse_bibtex(some.stdout)[0]) == ["DH2011b", "KingsFund2012"]

    target = tmp_path / "out.json"
    written = invoke("bibtex", "RCP2012", "--format", "csl-json", "-o", str(target))
    assert written.exit_code == 0 and written.stdout == ""
    assert [item["id"] for item in json.loads(target.read_text(encoding="utf-8"))] == ["RCP2012"]
    assert export(library, ["RCP2012"], "csl-json") == target.read_text(encoding="utf-8")


def test_kg_bibtex_unknown_key_suggests_close_ones():
    result = invoke("bibtex", "DH2011c")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no entry 'DH2011c' in the reference library")
    assert "DH2011b" in result.stderr


def test_kg_bibtex_filters_without_a_catalog_fail_cleanly(tmp_path):
    for option in ("--post", "--concept", "--query"):
        result = invoke("bibtex", option, "x", "--data", str(tmp_path / "nothing-built"))
        assert result.exit_code == 1, option
        assert result.stderr.startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr


def test_kg_refs_import_reports_and_is_strict_on_request(tmp_path):
    target = tmp_path / "references.bib"
    shutil.copyfile(LIBRARY, target)
    result = invoke("refs", "import", str(DATA / "refs_user_export.bib"), "--library", str(target))
    assert result.exit_code == 0
    assert "refs_user_export.bib:20: line 20: malformed entry '@article{Broken2014,'" in result.stdout
    assert "added Needham2013" in result.stdout and "library written" in result.stdout
    assert "conflict (kept the library's value; use --replace" in result.stdout
    assert "Needham2013" in load_library(target)[0]

    strict = invoke("refs", "import", str(DATA / "refs_malformed.bib"), "--library", str(target), "--strict",
                    "--json")
    assert strict.exit_code == 1
    report = json.loads(strict.stdout)
    assert [s["where"].rsplit(":", 1)[1] for s in report["skipped"]] == ["7", "12"]
    assert report["added"] == ["Good2010", "Later2013"]
    assert "did not import cleanly: 2 skipped" in strict.stderr


def test_kg_refs_extract_bootstraps_a_library(tmp_path, library):
    target = tmp_path / "references.bib"
    first = invoke("refs", "extract", "--library", str(target), "--json")
    assert first.exit_code == 0
    assert json.loads(first.stdout)["added"] == list(library)
    assert target.read_text(encoding="utf-8") == LIBRARY.read_text(encoding="utf-8")
    again = invoke("refs", "extract", "--library", str(target))
    assert again.exit_code == 0 and again.stdout.startswith("added 0, filled 0, replaced 0, unchanged 15")
