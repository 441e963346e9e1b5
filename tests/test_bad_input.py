"""The bad-input catalogue: every kind of bad input a user or an attacker can send, each with the
clear error it must get. None gives a 500 or a traceback; each message says what is wrong.

Post files, dumps, .bib files, SPARQL, search strings and URL paths, through the library, the
CLI (click's CliRunner) and HTTP (the Flask test client) wherever both apply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg import corpus, references, sparql
from kg.cli import main
from kg.errors import KGError, SparqlError
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def run_cli(*args: str, env: dict[str, str] | None = None):
    """Run `kg ARGS` in-process; return (exit code, stdout + stderr), failing on any traceback."""
    result = CliRunner().invoke(main, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kg {' '.join(args)[:80]} raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status and body["error"], body
    assert "Traceback" not in body["error"]
    return body


# ============================================================================ post files

BOMB = b"".join([b"---\n", b"a: &a [x,x,x,x,x,x,x,x,x]\n"]
                + [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n".encode() for p, c in zip("abcdef", "bcdefg")]
                + [b"id: bomb\ntitle: T\nprovenance: *g\n---\nbody\n"])

POST_CASES = [
    # (file name, content, what the failure must say)
    ("latin1.md", "---\nid: latin\ntitle: Caf\xe9\n---\nx\n".encode("latin-1"), "not UTF-8 text (byte 24)"),
    ("png.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
    ("nul.md", b"---\nid: nul\ntitle: T\n---\nbody\x00more\n", "binary file (contains NUL bytes)"),
    ("empty.md", b"", "the file is empty"),
    ("blank.md", b"\n \n\t\n", "the file is empty"),
    ("no-title.md", b"---\nid: no-title\n---\nbody\n", "front matter has no 'title'"),
    ("blank-title.md", b"---\nid: blank-title\ntitle: '  '\n---\nbody\n", "front matter has no 'title'"),
    ("list-front.md", b"---\n- a\n- b\n---\nbody\n", "front matter must be a mapping of keys to values, not list"),
    ("scalar-front.md", b"---\njust words\n---\nbody\n", "front matter must be a mapping of keys to values, not str"),
    ("bad-yaml.md", b"---\ntitle: [unclosed\n---\nbody\n", "front matter is not valid YAML"),
    ("python-tag.md", b"---\ntitle: !!python/object/apply:os.system [ls]\n---\nx\n", "front matter is not valid YAML"),
    ("unclosed.md", b"---\nid: unclosed\ntitle: T\nbody\n", "front matter is not closed by a '---' line"),
    ("no-front.md", b"Just text\n", "no front matter"),
    ("bad-id.md", b"---\nid: Bad Id!\ntitle: T\n---\nx\n", "id 'Bad Id!' is not a slug"),
    ("list-id.md", b"---\nid: [a, b]\ntitle: T\n---\nx\n", "'id' must be text, not list"),
    ("int-title.md", b"---\ntitle: 123\n---\nx\n", "'title' must be text, not int"),
    ("bad-kind.md", b"---\ntitle: T\nkind: essay\n---\nx\n", "unknown kind 'essay'"),
    ("str-excerpt.md", b"---\ntitle: T\nexcerpt: 'no'\n---\nx\n", "'excerpt' must be true or false, not 'no'"),
    ("int-provenance.md", b"---\ntitle: T\nprovenance: 5\n---\nx\n", "'provenance' must be a list of entries, not int"),
    ("bad-provenance.md", b"---\ntitle: T\nprovenance: [{dump: x, lines: [1]}]\n---\nx\n", "bad provenance entry"),
    ("yaml-bomb.md", BOMB, "bad provenance entry"),
]


@pytest.mark.parametrize("name, content, problem", POST_CASES, ids=[c[0] for c in POST_CASES])
def test_bad_post_file_is_a_failure_naming_path_problem_and_fix(tmp_path, name, content, problem):
    (tmp_path / "good.md").write_text("---\nid: good\ntitle: Good\n---\nA fine post.\n", encoding="utf-8")
    (tmp_path / name).write_bytes(content)
    posts, failures = corpus.load_posts(tmp_path)
    assert [p.id for p in posts] == ["good"], "one bad file must not keep the others out"
    assert [f.item for f in failures] == [str(tmp_path / name)]
    message = failures[0].message
    assert problem in message and str(tmp_path / name) in message
    assert "(" in message and ")" in message, "the message names a fix in parentheses"
    assert len(message) < 1_000, "a YAML alias bomb must not expand into the message"


def test_duplicate_post_ids_keep_the_first_and_name_both_files(tmp_path):
    (tmp_path / "a.md").write_text("---\nid: same\ntitle: One\n---\nx\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nid: same\ntitle: Two\n---\ny\n", encoding="utf-8")
    posts, failures = corpus.load_posts(tmp_path)
    assert [p.title for p in posts] == ["One"]
    assert failures[0].item == str(tmp_path / "b.md")
    assert "duplicate post id 'same', also in" in failures[0].message and "a.md" in failures[0].message


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> Path:
    """A corpus folder: three real posts, every bad post file of the catalogue, two duplicates."""
    folder = tmp_path_factory.mktemp("bad-corpus")
    posts = folder / "posts"
    posts.mkdir()
    for path in sorted((ROOT / "corpus" / "posts").glob("*.md"))[:3]:
        shutil.copy(path, posts / path.name)
    for name, content, _ in POST_CASES:
        (posts / name).write_bytes(content)
    (posts / "dup-a.md").write_text("---\nid: dup\ntitle: A\n---\nx\n", encoding="utf-8")
    (posts / "dup-b.md").write_text("---\nid: dup\ntitle: B\n---\ny\n", encoding="utf-8")
    shutil.copy(ROOT / "corpus" / "references.bib", folder / "references.bib")
    return folder


def test_kg_build_reports_every_bad_post_file_and_builds_the_rest(bad_corpus, tmp_path):
    result = CliRunner().invoke(main, ["build", "--json", "--data", str(tmp_path / "data")],
                                env={"KG_CORPUS_DIR": str(bad_corpus)})
    assert result.exit_code == 1 and "Traceback" not in result.output
    for name, _, problem in POST_CASES:
        line = next((line for line in result.stderr.splitlines() if f"posts/{name}:" in line), None)
        assert line is not None and line.startswith("Error: [corpus]") and problem in line, (name, result.stderr)
    assert "duplicate post id 'dup'" in result.stderr
    report = json.loads(result.stdout)
    assert report["counts"]["posts"] == 4 and report["counts"]["indexed"] > 0


@pytest.mark.parametrize("front, least", [
    ("format: text\n", 9_999_000),  # read as the scraped text it is: the body is the file's text
    ("", 9_900_000),  # read as Markdown: the body is the text without its markup
])
def test_an_enormous_post_is_read_chunked_cited_and_tagged_in_bounded_time(tmp_path, front, least):
    # 10 MB of real corpus prose in one post. Run in a subprocess so a hang fails the test
    # (timeout) instead of stalling the suite.
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from kg import citations, claims, concepts, corpus
        folder = Path(sys.argv[1])
        bodies = [p.body for p in corpus.load_posts(Path(sys.argv[2]))[0]]
        text = "\\n\\n".join(bodies)
        big = ((text + "\\n\\n") * (10_000_000 // len(text) + 1))[:10_000_000]
        (folder / "big.md").write_text("---\\nid: big\\ntitle: Big\\n" + sys.argv[4] + "---\\n" + big, encoding="utf-8")
        began = time.perf_counter()
        posts, failures = corpus.load_posts(folder)
        assert failures == [] and len(posts[0].body) >= int(sys.argv[5])
        found = claims.chunk_post(posts[0])
        cited = [c for claim in found for c in citations.extract_citations(claim)]
        scheme = concepts.load_scheme(Path(sys.argv[3]))
        tagged = concepts.tag_claims(found, scheme, titles={"big": "Big"})
        assert all(posts[0].body[c.start:c.end] == c.text for c in found[::97])
        print(len(found), len(cited), len(tagged), round(time.perf_counter() - began, 1))
    """)
    process = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(ROOT / "corpus" / "posts"),
                              str(ROOT / "ontology" / "concepts.ttl"), front, str(least)],
                             capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stderr[-2000:]
    claims_n, cited_n, tagged_n, seconds = process.stdout.split()
    assert int(claims_n) > 50_000 and int(cited_n) > 2_000 and int(tagged_n) > 10_000
    assert float(seconds) < 180, f"a 10 MB post took {seconds} s to read, chunk, cite and tag"


# ============================================================================ dumps

@pytest.mark.parametrize("name, content, problem", [
    ("latin1.txt", "Title\n\nCaf\xe9 au lait.\n".encode("latin-1"), "not UTF-8 text"),
    ("binary.txt", b"Title\n\n\x00\x01\x02", "binary file (contains NUL bytes)"),
    ("prose.txt", b"This dump starts with prose, not a title.\n\nTitle\n\nText.\n",
     "the dump does not start with a post title"),
])
def test_kg_corpus_import_sets_a_bad_dump_aside_and_imports_the_rest(tmp_path, name, content, problem):
    good = sorted((ROOT / "corpus" / "raw").glob("*.txt"))[0]
    bad = tmp_path / name
    bad.write_bytes(content)
    code, output = run_cli("corpus", "import", "--posts", str(tmp_path / "posts"), str(good), str(bad))
    assert code == 1
    assert f"Error: {bad}: " in output and problem in output
    assert "written" in output and len(list((tmp_path / "posts").glob("*.md"))) >= 5


def test_an_empty_dump_imports_nothing_and_fails_nothing(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = corpus.import_dumps([empty], corpus.SplitOverrides())
    assert result.posts == [] and result.failures == []


# ============================================================================ .bib files

BIB_CASES = [
    ("unbalanced-open.bib",
     "@techreport{DH2011b,\n  title = {Payment {by Results},\n  year = {2011}\n}\n\n"
     "@book{Good2000, title = {Kept}, year = {2000}}\n",
     "line 1: malformed entry '@techreport{DH2011b,'"),
    ("unbalanced-close.bib",
     "@techreport{DH2011b,\n  title = {Payment by Results}},\n  year = {2011}\n}\n\n"
     "@book{Good2000, title = {Kept}, year = {2000}}\n",
     "line 3: field 'year' stands outside any entry, so it was lost"),
    ("unknown-type.bib",
     "@weirdthing{DH2011b, title = {T}, year = {2011}}\n\n@book{Good2000, title = {Kept}, year = {2000}}\n",
     "entry 'DH2011b' has the unknown type @weirdthing"),
    ("duplicate-keys.bib",
     "@book{Good2000, title = {Kept}, year = {2000}}\n\n@book{Good2000, title = {Copy}, year = {2000}}\n",
     "line 3: duplicate key 'Good2000' (first defined at line 1)"),
    ("duplicate-fields.bib",
     "@book{Bad2001, title = {a}, title = {b}, year = {2001}}\n\n@book{Good2000, title = {Kept}, year = {2000}}\n",
     "entry 'Bad2001' repeats the field(s) title"),
    ("no-key.bib", "@book{, title = {x}, year = {2001}}\n\n@book{Good2000, title = {Kept}, year = {2000}}\n",
     "@book entry has no key"),
    ("unterminated.bib", "@book{Good2000, title = {Kept}, year = {2000}}\n\n@book{Bad2001, title = {x}\n",
     "malformed entry '@book{Bad2001, title = {x}'"),
]


@pytest.mark.parametrize("name, text, problem", BIB_CASES, ids=[c[0] for c in BIB_CASES])
def test_bad_bib_entries_are_failures_with_line_and_fix_and_the_rest_loads(tmp_path, name, text, problem):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    refs, failures = references.load_library(path)
    assert "Good2000" in refs and refs["Good2000"].title == "Kept"
    assert len(failures) == 1 and problem in failures[0].message, [f.message for f in failures]
    assert str(path) in failures[0].message and failures[0].item.startswith(f"{path}:")


@pytest.mark.parametrize("name, text, problem", BIB_CASES, ids=[c[0] for c in BIB_CASES])
def test_kg_refs_import_reports_bad_entries_and_imports_the_rest(tmp_path, name, text, problem):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    library = tmp_path / "library.bib"
    code, output = run_cli("refs", "import", str(path), "--library", str(library))
    assert code == 0 and "skipped" in output and problem in output, output
    assert "Good2000" in references.load_library(library)[0]
    code, output = run_cli("refs", "import", str(path), "--library", str(tmp_path / "strict.bib"), "--strict")
    assert code == 1 and "Error:" in output and "did not import cleanly" in output


@pytest.mark.parametrize("content, problem", [
    (b"", "holds no BibTeX entries"),
    (b"just some notes, no entries at all\n", "holds no BibTeX entries"),
    ("@book{Caf\xe92000, title={x}}".encode("latin-1"), "is not UTF-8 text"),
])
def test_kg_refs_import_of_a_file_that_is_no_bib_says_so(tmp_path, content, problem):
    path = tmp_path / "input.bib"
    path.write_bytes(content)
    code, output = run_cli("refs", "import", str(path), "--library", str(tmp_path / "library.bib"))
    assert code == 1 and output.startswith("Error:") and problem in output
    assert not (tmp_path / "library.bib").exists(), "a failed import must not write the library"


def test_latex_accents_import_and_decode(tmp_path):
    path = tmp_path / "accents.bib"
    path.write_text(r"""@book{Muller2000,
  author = {M{\"u}ller, J{\'e}r{\^o}me and \c{C}elik, {\O}ystein and {\AA}str{\"o}m, Bj{\o}rn},
  title = {Caf\'e {\ss}ociety: na\"ive r\'esum\'es --- \emph{and} more},
  year = {2000}
}
""", encoding="utf-8")
    library = tmp_path / "library.bib"
    code, output = run_cli("refs", "import", str(path), "--library", str(library))
    assert code == 0 and "added Muller2000" in output
    ref = references.load_library(library)[0]["Muller2000"]
    assert references.latex_decode(ref.fields["author"]) == "Müller, Jérôme and Çelik, Øystein and Åström, Bjørn"
    assert references.latex_decode(ref.title) == "Café ßociety: naïve résumés — and more"
    csl = references.to_csl_json([ref])[0]
    assert [name.get("family") for name in csl["author"]] == ["Müller", "Çelik", "Åström"]


def test_ten_thousand_entries_import_in_reasonable_time(tmp_path):
    path = tmp_path / "big.bib"
    path.write_text("".join(
        f"@techreport{{Org{i}{1900 + i % 120},\n  author = {{{{Organisation {i}}}}},\n  institution = {{Organisation {i}}},\n"
        f"  year = {{{1900 + i % 120}}},\n  title = {{Report number {i} on caf\\'e and care}}\n}}\n\n"
        for i in range(10_000)), encoding="utf-8")
    began = time.perf_counter()
    report = references.import_bibtex(path, tmp_path / "library.bib")
    seconds = time.perf_counter() - began
    assert report.failures == [] and len(report.merge.added) == 10_000 and report.written
    assert seconds < 60, f"importing 10,000 entries took {seconds:.1f} s"
    assert len(references.load_library(tmp_path / "library.bib")[0]) == 10_000


# ============================================================================ SPARQL

NESTED = "SELECT * WHERE " + "{ " * 200 + "?s ?p ?o " + "} " * 200
CARTESIAN_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CARTESIAN_ORDERED = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f LIMIT 1"

SPARQL_CASES = [
    # (query, HTTP status, what the message must say)
    ("SELEC ?x WHERE { ?x ?y ?z }", 400, "SPARQL syntax error"),
    ("SELECT ?x WHERE { ?x ?y", 400, "SPARQL syntax error"),
    ("SELECT * WHERE { ?s ?p ?o } ; INSERT DATA { <a:a> <a:b> <a:c> }", 400, "SPARQL syntax error"),
    ("# only a comment\n", 400, "the query is empty"),
    ("PREFIX ex: <http://example.org/>", 400, "the query is empty"),
    ("INSERT DATA { <http://a> <http://b> <http://c> }", 403, "SPARQL Update is refused"),
    ("DELETE WHERE { ?s ?p ?o }", 403, "SPARQL Update is refused"),
    ("CLEAR DEFAULT", 403, "SPARQL Update is refused"),
    ("LOAD <http://example.org/data.ttl>", 403, "LOAD is refused"),
    ("LOAD SILENT <file:///etc/passwd> INTO GRAPH <http://x>", 403, "LOAD is refused"),
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", 403, "SERVICE is refused"),
    ("SELECT * WHERE { SERVICE SILENT <http://x.org/> { ?s ?p ?o } }", 403, "SERVICE is refused"),
    ("SELECT * WHERE { { SELECT * WHERE { SERVICE <http://x.org/> { ?s ?p ?o } } } }", 403, "SERVICE is refused"),
    (NESTED, 400, "nests groups or parentheses too deeply"),
    ("SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 300 + "1" + ")" * 300 + ") }", 400, "too deeply"),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 1000000000000000000000000000000", 400, "limit should be a non negative integer"),
    ("SELECT * WHERE { ?s ?p ?o } OFFSET 99999999999999999999999999 LIMIT 1", 400, "offset should be a non negative"),
    ("SELECT * WHERE { ?s nope:p ?o }", 400, "unknown prefix nope:"),
    (CARTESIAN_COUNT, 503, "ran past its time limit of 1 s"),
    (CARTESIAN_ORDERED, 503, "ran past its time limit of 1 s"),
]


@pytest.fixture(scope="module")
def quick_app(built_settings):
    """The web app with a 1 s SPARQL time limit, so runaway queries are stopped quickly. Oxigraph
    keeps the whole of a sorted cross product: on an idle machine it filled the default 1024 MB
    before the second was up, so the memory limit here is room for a second of it, and the time
    limit is what stops these queries (the memory limit has its own test in test_sparql_attacks)."""
    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(built_settings.with_(sparql_timeout=1.0, sparql_memory_mb=6144))
    yield app
    close_pool(app)


@pytest.mark.parametrize("query, status, problem", SPARQL_CASES, ids=range(len(SPARQL_CASES)))
def test_bad_sparql_over_http_is_refused_with_a_message(quick_app, query, status, problem):
    client = quick_app.test_client()
    for response in (client.get("/sparql", query_string={"query": query}, headers=JSON),
                     client.post("/sparql", data=query.encode(), content_type="application/sparql-query",
                                 headers=JSON)):
        body = assert_error_shape(response, status)
        assert problem in body["error"], body["error"]
    page = client.post("/sparql", data={"query": query}, headers=HTML)
    assert page.status_code == status and page.mimetype == "text/html"
    assert problem.split(" of ")[0].replace("'", "&#39;") in page.get_data(as_text=True)


@pytest.mark.parametrize("query, status, problem", SPARQL_CASES, ids=range(len(SPARQL_CASES)))
def test_bad_sparql_on_the_command_line_exits_1_with_the_message(built_settings, query, status, problem):
    # The memory limit as quick_app's, so that the time limit is what stops a sorted cross product.
    code, output = run_cli("sparql", "--data", str(built_settings.data_dir), "--timeout", "1", query,
                           env={"KG_SPARQL_MEMORY_MB": "6144"})
    assert code == 1 and output.startswith("Error: ") and problem in output, output[:500]


@pytest.fixture(scope="module")
def capped_app(built_settings):
    """The web app with the default SPARQL time limit: the row-cap tests answer 10,000 rows, which
    on a loaded machine can take longer than the 1 s that stops runaways quickly."""
    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(built_settings)
    yield app
    close_pool(app)


def test_a_cartesian_product_without_order_is_cut_at_the_row_cap(capped_app, built_settings):
    response = capped_app.test_client().get(
        "/sparql", query_string={"query": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"},
        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and response.headers["X-KG-Truncated"] == "true"
    assert len(response.get_json()["results"]["bindings"]) == built_settings.sparql_max_rows


def test_a_huge_limit_that_fits_is_capped_at_the_row_cap(capped_app, built_settings):
    response = capped_app.test_client().get(
        "/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 9223372036854775807"},
        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and response.headers["X-KG-Truncated"] == "true"


def test_an_empty_sparql_body_is_no_query(quick_app):
    response = quick_app.test_client().post("/sparql", data=b"", content_type="application/sparql-query",
                                            headers=JSON)
    assert "no query given" in assert_error_shape(response, 400)["error"]


def test_a_lone_surrogate_is_refused_before_it_reaches_the_store(built_settings):
    # Only the CLI can carry one: Python maps a non-UTF-8 argv byte to a lone surrogate.
    with pytest.raises(SparqlError, match="lone surrogate"):
        sparql.run_query(built_settings, 'SELECT * WHERE { ?s ?p "\udcff" }')


def test_sparql_query_files_that_are_not_utf8_or_missing_are_errors(built_settings, tmp_path):
    bad = tmp_path / "latin1.rq"
    bad.write_bytes("SELECT * WHERE { ?s ?p 'caf\xe9' }".encode("latin-1"))
    code, output = run_cli("sparql", "--data", str(built_settings.data_dir), str(bad))
    assert code == 1 and "not UTF-8" in output and str(bad) in output
    code, output = run_cli("sparql", "--data", str(built_settings.data_dir), str(tmp_path / "missing.rq"))
    assert code == 1 and "no query file" in output


def test_sparql_row_cap_and_timeout_options_must_be_positive(built_settings):
    for option in ("--max-rows", "--timeout"):
        code, output = run_cli("sparql", "--data", str(built_settings.data_dir), option, "-1",
                               "SELECT * WHERE { ?s ?p ?o } LIMIT 1")
        assert code == 2 and option in output, output


# ============================================================================ search strings

SEARCH_CASES = [
    # (query, HTTP status, what the answer must say: the notice for 200, the error otherwise)
    ('"care transition', 200, "A quote was not closed"),
    ("“personal budgets", 200, "A quote was not closed"),
    ('title:"unclosed', 200, "was not closed"),
    ("the of and a to", 200, "Only common words (the, of, and, a, to) were given"),
    ('"the of"', 200, "has only common words"),
    (("personal budgets care " * 500)[:10_000], 200, "only its first 40 words were searched"),
    ("care " * 2_001, 400, "characters long; the limit is 10"),
    ("care\x00transition\x1b[31m\x7f", 200, "Control characters in the query were ignored"),
    ("(" * 3_000 + "care" + ")" * 3_000, 200, "parentheses nest more than 20 deep"),
    ("care AND", 200, "AND needs a word on both sides"),
    ("OR care", 200, "OR needs a word on both sides"),
    ("care)", 200, "a closing parenthesis has no opening one"),
    ("colour:red", 200, "Unknown field 'colour'"),
    ("concept:", 200, "names a field but no value"),
    ("source:NOPE2099", 200, "No source called 'NOPE2099'"),
    ("a" * 9_000, 200, None),  # one enormous word: answered (quickly), nothing found
]


@pytest.mark.parametrize("query, status, message", SEARCH_CASES, ids=range(len(SEARCH_CASES)))
def test_bad_search_strings_over_http(web_client, query, status, message):
    began = time.perf_counter()
    response = web_client.get("/api/search", query_string={"q": query})
    assert time.perf_counter() - began < 5, "a search took seconds to answer"
    if status != 200:
        assert message in assert_error_shape(response, status)["error"]
    else:
        assert response.status_code == 200
        body = response.get_json()
        if message:
            assert message in body["notice"], body["notice"]
        else:
            assert body["total"] == 0
    page = web_client.get("/search", query_string={"q": query}, headers=HTML)
    assert page.status_code == status and page.mimetype == "text/html"
    if message:
        assert message.replace("'", "&#39;") in page.get_data(as_text=True)


@pytest.mark.parametrize("query, status, message", [c for c in SEARCH_CASES if c[2]], ids=range(15))
def test_bad_search_strings_on_the_command_line(built_settings, query, status, message):
    code, output = run_cli("search", "--data", str(built_settings.data_dir), query)
    if status == 200:
        assert code == 0 and message in output, output[:500]
    else:
        assert code == 1 and output.startswith("Error: ") and message in output


# ============================================================================ URL paths

PATH_CASES = [
    # (path, what the 404 message must say)
    ("/static/../../pyproject.toml", "no page at"),
    ("/static/..%2f..%2fpyproject.toml", "no page at"),
    ("/static/%2e%2e/%2e%2e/src/kg/settings.py", "no page at"),
    ("/static/..%5c..%5cpyproject.toml", "no page at"),
    ("/post/..%2F..%2Fetc%2Fpasswd", "no page at"),
    ("/post/../../etc/passwd", "no page at"),
    ("/post/%252e%252e%252fetc", "no post '%2e%2e%2fetc'"),
    ("/post/no-such-post", "no post 'no-such-post'"),
    ("/source/DH2011b%2F..%2F..", "no page at"),
    ("/source/NOPE2099", "no source 'NOPE2099'"),
    ("/concept/%00", "no concept"),
    ("/concept/no-such-concept", "no concept 'no-such-concept'"),
    ("/claim/c0000000000", "no claim 'c0000000000'"),
    ("/claim/%ff%fe", "no claim"),
    ("/org/no-such-org", "no organisation"),
    ("/citation/..", "no citation '..'"),
    ("/citation/c0000000000-1", "no citation 'c0000000000-1'"),
    ("/citation-group/nope", "nothing is known about"),
    ("/dump/..%2F..%2Fpyproject.toml", "no page at"),
    ("/dump/nope.txt", "nothing is known about"),
    ("/api/post/..%2F..%2Fetc%2Fpasswd", "no API route"),
    ("/api/source/a%2Fb", "no API route"),
    ("/api/claim/nope/similar", "no claim 'nope'"),
    ("/api/nothing", "no API route /api/nothing"),
    ("/sparql?named=..%2F..%2Fetc%2Fpasswd", "no named query '../../etc/passwd'"),
]


@pytest.mark.parametrize("path, message", PATH_CASES, ids=[c[0] for c in PATH_CASES])
def test_odd_url_paths_are_404s_that_say_what_is_missing(web_client, path, message):
    response = web_client.get(path, headers=JSON)
    body = assert_error_shape(response, 404)
    assert message in body["error"], body["error"]
    page = web_client.get(path, headers=HTML)
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert "[project]" not in text and "root:" not in text and "Traceback" not in text


def test_static_files_cannot_be_reached_by_traversal_on_a_served_instance(served):
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(served)
    for raw in ("/static/../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%2f..%2fpyproject.toml",
                "/static//etc/passwd", "/../../etc/passwd"):
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        connection.request("GET", raw, headers=JSON)  # sent as typed: no client-side normalising
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        connection.close()
        if response.status == 308:  # werkzeug merges doubled slashes; the target stays under /static/
            assert response.getheader("Location").split("//", 1)[-1].partition("/")[2].startswith("static/"), raw
        else:
            assert response.status in (400, 404), (raw, response.status)
        assert "[project]" not in body and "root:" not in body, raw


# ============================================================================ settings

@pytest.mark.parametrize("variable, value, problem", [
    ("KG_SPARQL_TIMEOUT", "-1", "sparql_timeout"),
    ("KG_PORT", "99999", "port"),
    ("KG_BASE_IRI", "ftp://x", "base_iri"),
    ("KG_MAX_QUERY_CHARS", "lots", "max_query_chars"),
])
def test_bad_settings_from_the_environment_name_the_variable(built_settings, variable, value, problem):
    code, output = run_cli("search", "--data", str(built_settings.data_dir), "care", env={variable: value})
    assert code == 1 and output.startswith("Error: ") and variable in output and problem in output
    with pytest.raises(KGError, match=problem):
        load_settings(env={variable: value, **{k: v for k, v in os.environ.items() if not k.startswith("KG_")}})
