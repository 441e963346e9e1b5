"""The SPARQL editor in a real browser: Playwright driving Debian's Chromium against `kg serve`.

At a desktop width (1280 px) and a phone's (390 px), in the light and the dark scheme: a query typed into the editor runs on
Ctrl+Enter (and Cmd+Enter), its result has a URL that shows the same rows when opened again, the
result downloads as CSV through the endpoint's own formats, a syntax error names its line and
column (in the page, in the editor and in the JSON error), a long result is paged, and the plain
form still answers with script turned off.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect
from test_browser import browser  # noqa: F401  (the module's Chromium, reused)

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390}

#: Typed key by key; "sko" is completed to "skos:" from the endpoint's prefixes.
TYPED = "SELECT ?concept ?label WHERE { ?concept sko"
TYPED_REST = "prefLabel ?label } ORDER BY ?label LIMIT 7"
QUERY = "SELECT ?concept ?label WHERE { ?concept skos:prefLabel ?label } ORDER BY ?label LIMIT 7"

#: A syntax error on the third line: rdflib stops at the FILTER on line 3, column 3.
BROKEN = "SELECT ?s\nWHERE { ?s ?p ?o .\n  FILTER( }"


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def width(request):
    return WIDTHS[request.param]


@pytest.fixture(params=["light", "dark"])
def scheme(request):
    return request.param


@pytest.fixture()
def page(browser, served, width, scheme):  # noqa: F811
    context = browser.new_context(
        base_url=served, accept_downloads=True, viewport={"width": width, "height": 900}, color_scheme=scheme
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.set_default_timeout(15_000)
    page.problems = problems
    yield page
    context.close()
    # CSP violations (CodeMirror's styles, the bundle) and script errors show up here.
    assert problems == []


def editor_text(page) -> str:
    return page.evaluate("window.kgSparqlEditor.state.doc.toString()")


def replace_query(page, typed: str) -> None:
    """Empty the editor and type ``typed`` into it, key by key."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type(typed)


def table_rows(page) -> list[list[str]]:
    return [
        row.locator("td").all_inner_texts()
        for row in page.locator(".sparql-results table tbody tr").all()
        if row.is_visible()
    ]


def server_rows(page, query: str) -> tuple[list[str], list[list[str]]]:
    """The endpoint's own SPARQL JSON answer to ``query``: (variables, rows of values)."""
    answer = page.request.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert answer.ok, answer.text()
    body = answer.json()
    names = body["head"]["vars"]
    return names, [[b.get(v, {}).get("value", "") for v in names] for b in body["results"]["bindings"]]


def no_sideways_scroll(page) -> None:
    wide = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert wide[0] <= wide[1], f"the page is {wide[0]} px wide in a {wide[1]} px window"


def test_editor_starts_with_a_highlighted_example_query(page):
    page.goto("/sparql")
    editor = page.locator(".sparql-editor")
    expect(editor).to_be_visible()
    assert page.locator("#query").is_hidden()  # the editor stands in for the plain textarea
    text = editor_text(page)
    assert text.strip() and "SELECT" in text  # never empty at the start
    assert text == page.request.get("/api/queries").json()["queries"][4]["text"]  # most-cited-sources
    # Highlighting: keywords, variables and prefixed names get their token classes.
    assert "SELECT" in page.locator(".cm-content .tok-keyword").all_inner_texts()
    assert "?key" in page.locator(".cm-content .tok-variableName").all_inner_texts()
    assert "kg:citationCount" in page.locator(".cm-content .tok-atom").all_inner_texts()
    no_sideways_scroll(page)


def test_type_a_query_complete_a_prefix_run_it_with_ctrl_enter_and_reload_its_url(page, width):
    page.goto("/sparql")
    replace_query(page, TYPED)
    # The prefixes the endpoint declares are offered: "sko" completes to "skos:".
    option = page.locator(".cm-tooltip-autocomplete li", has_text="skos:")
    expect(option).to_be_visible()
    assert "http://www.w3.org/2004/02/skos/core#" in option.inner_text()
    expect(option).to_have_attribute("aria-selected", "true")
    # CodeMirror ignores an accept within 75 ms of the list changing (a keystroke meant for the
    # text); a person reads the list first.
    page.wait_for_timeout(200)
    if width == WIDTHS["phone"]:
        option.click()  # a tap on a phone
    else:
        page.keyboard.press("Enter")
    page.keyboard.type(TYPED_REST)
    assert editor_text(page) == QUERY

    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/sparql?query=*")
    assert parse_qs(urlsplit(page.url).query)["query"] == [QUERY]  # the URL is the run
    names, expected = server_rows(page, QUERY)
    assert names == ["concept", "label"] and len(expected) == 7
    assert page.locator(".sparql-results table thead th").all_inner_texts() == ["?concept", "?label"]
    assert table_rows(page) == expected
    no_sideways_scroll(page)

    # The shareable URL: opening it again shows the same query and the same rows.
    shared = page.url
    page.goto("/")
    page.goto(shared)
    assert editor_text(page) == QUERY
    assert table_rows(page) == expected

    # Cmd+Enter runs too (Meta is the Mac's Cmd key).
    replace_query(page, QUERY.replace("LIMIT 7", "LIMIT 3"))
    page.keyboard.press("Meta+Enter")
    page.wait_for_url("**LIMIT+3*")
    assert table_rows(page) == expected[:3]


def test_download_the_result_as_csv_tsv_and_json(page, tmp_path):
    page.goto("/sparql?" + urlencode({"query": QUERY}))  # a shared URL, opened
    names, expected = server_rows(page, QUERY)
    downloads = page.locator("p.downloads a")
    assert downloads.all_inner_texts() == ["CSV", "TSV", "JSON", "XML"]

    with page.expect_download() as caught:
        page.get_by_role("link", name="CSV", exact=True).click()
    assert caught.value.suggested_filename == "kg-result.csv"
    caught.value.save_as(tmp_path / "result.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "result.csv").read_text(encoding="utf-8"))))
    assert rows[0] == names and rows[1:] == expected

    with page.expect_download() as caught:
        page.get_by_role("link", name="TSV", exact=True).click()
    caught.value.save_as(tmp_path / "result.tsv")
    lines = (tmp_path / "result.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["?concept", "?label"] and len(lines) == 1 + len(expected)

    with page.expect_download() as caught:
        page.get_by_role("link", name="JSON", exact=True).click()
    caught.value.save_as(tmp_path / "result.srj")
    body = json.loads((tmp_path / "result.srj").read_text(encoding="utf-8"))
    assert [[b[v]["value"] for v in names] for b in body["results"]["bindings"]] == expected


def test_a_construct_result_downloads_as_turtle(page, tmp_path):
    import rdflib

    query = "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:prefLabel ?l } LIMIT 5"
    page.goto("/sparql")
    replace_query(page, query)
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/sparql?query=CONSTRUCT*")
    assert page.locator("p.downloads a").all_inner_texts() == ["Turtle", "N-Triples", "JSON-LD", "RDF/XML"]
    with page.expect_download() as caught:
        page.get_by_role("link", name="Turtle", exact=True).click()
    assert caught.value.suggested_filename == "kg-result.ttl"
    caught.value.save_as(tmp_path / "result.ttl")
    graph = rdflib.Graph().parse(tmp_path / "result.ttl", format="turtle")
    assert len(graph) == 5
    assert set(graph.predicates()) == {rdflib.SKOS.prefLabel}
    no_sideways_scroll(page)


def test_a_syntax_error_names_its_line_and_column(page):
    page.goto("/sparql")
    replace_query(page, "")
    page.keyboard.insert_text(BROKEN)  # as pasted: no brackets closed for it
    typed = editor_text(page)
    assert typed == BROKEN
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/sparql?query=*")
    error = page.locator("#sparql-error")
    expect(error).to_be_visible()
    text = error.inner_text()
    assert text.startswith("SPARQL syntax error at line 3, column 3: 'FILTER' cannot stand here"), text
    assert (error.get_attribute("data-line"), error.get_attribute("data-column")) == ("3", "3")
    column = 3
    # The editor marks the place and puts the cursor there.
    mark = page.locator(".cm-content .cm-lintRange-error")
    expect(mark).to_have_count(1)
    assert mark.inner_text() == "F"  # of FILTER
    cursor = page.evaluate(
        "(() => { const s = window.kgSparqlEditor.state; const h = s.selection.main.head;"
        " const l = s.doc.lineAt(h); return [l.number, h - l.from + 1]; })()"
    )
    assert cursor == [3, column]
    no_sideways_scroll(page)
    # A protocol client gets the same words with the place as numbers.
    answer = page.request.get("/sparql", params={"query": typed}, headers={"Accept": "application/json"})
    assert answer.status == 400
    body = answer.json()
    assert (body["line"], body["column"]) == (3, column)
    assert body["error"].startswith(f"SPARQL syntax error at line 3, column {column}: ")
    page.problems[:] = [p for p in page.problems if "status of 400" not in p]  # the error page's own status


def test_a_long_result_is_paged(page):
    query = "SELECT ?claim ?post WHERE { ?claim dcterms:isPartOf ?post } ORDER BY ?claim LIMIT 120"
    page.goto("/sparql")
    replace_query(page, query)
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/sparql?query=*")
    _, expected = server_rows(page, query)
    assert len(expected) == 120
    status = page.locator(".sparql-page-status")
    expect(status).to_have_text("Rows 1–50 of 120")
    assert table_rows(page) == expected[:50]
    previous = page.get_by_role("button", name="← Previous")
    assert previous.is_disabled()
    page.get_by_role("button", name="Next →").click()
    expect(status).to_have_text("Rows 51–100 of 120")
    assert table_rows(page) == expected[50:100]
    page.get_by_role("button", name="Next →").click()
    expect(status).to_have_text("Rows 101–120 of 120")
    assert table_rows(page) == expected[100:]
    assert page.get_by_role("button", name="Next →").is_disabled()
    previous.click()
    expect(status).to_have_text("Rows 51–100 of 120")
    no_sideways_scroll(page)


def tab_state(page) -> list[tuple[str, str, str]]:
    """Each tab's (name, aria-selected, tabindex)."""
    return page.get_by_role("tab").evaluate_all(
        "tabs => tabs.map(t => [t.textContent, t.getAttribute('aria-selected'), t.getAttribute('tabindex')])"
    )


def selected_tab(page) -> str:
    return page.locator("[role=tab][aria-selected=true]").inner_text()


def test_the_named_queries_are_tabs_walked_by_keyboard_and_keep_their_edits(page):
    page.goto("/sparql")
    queries = {q["name"]: q["text"] for q in page.request.get("/api/queries").json()["queries"]}
    names = list(queries)
    tablist = page.get_by_role("tablist", name="Example queries")
    expect(tablist).to_be_visible()
    assert tablist.get_by_role("tab").all_inner_texts() == ["Your query", *names]
    assert page.locator("form.named-picker").is_hidden()  # the tabs stand in for the picker
    # The editor starts on the start query's tab: the one tab in the Tab order.
    start = names.index("most-cited-sources") + 1
    assert [tuple(t[1:]) for t in tab_state(page)] == [("true", "0") if i == start else ("false", "-1")
                                                for i in range(len(names) + 1)]
    panel = page.get_by_role("tabpanel")
    assert panel.get_attribute("aria-labelledby") == page.get_by_role("tab", name="most-cited-sources").get_attribute("id")
    assert panel.locator(".sparql-editor").count() == 1
    # Arrow keys move between tabs and load each one's text; Home and End reach the ends.
    page.get_by_role("tab", name="most-cited-sources").focus()
    page.keyboard.press("ArrowRight")
    following = names[start]  # the tab after most-cited-sources (tabs[0] is "Your query")
    assert page.evaluate("document.activeElement.textContent") == following == selected_tab(page)
    assert editor_text(page) == queries[following]
    assert sum(1 for t in tab_state(page) if t[2] == "0") == 1
    page.keyboard.press("ArrowLeft")
    assert selected_tab(page) == "most-cited-sources" and editor_text(page) == queries["most-cited-sources"]
    page.keyboard.press("End")
    assert selected_tab(page) == names[-1] and editor_text(page) == queries[names[-1]]
    page.keyboard.press("ArrowRight")  # round to the first
    assert selected_tab(page) == "Your query"
    page.keyboard.press("Home")
    assert selected_tab(page) == "Your query"
    # Edits stay with their tab while you switch.
    replace_query(page, QUERY)
    page.get_by_role("tab", name="Your query").focus()
    page.keyboard.press("ArrowRight")
    assert selected_tab(page) == names[0] and editor_text(page) == queries[names[0]]
    replace_query(page, "")
    page.keyboard.insert_text(queries[names[0]] + "# mine\n")  # as pasted, not re-indented key by key
    page.get_by_role("tab", name=names[0]).focus()
    page.keyboard.press("ArrowLeft")
    assert editor_text(page) == QUERY
    page.keyboard.press("ArrowRight")
    assert editor_text(page) == queries[names[0]] + "# mine\n"
    no_sideways_scroll(page)


def test_run_a_named_querys_tab_with_its_parameter_and_reload_its_url(page):
    page.goto("/sparql")
    page.get_by_role("tab", name="most-cited-sources").focus()
    # claims-citing-source is before most-cited-sources: walk to it by keyboard.
    names = [q["name"] for q in page.request.get("/api/queries").json()["queries"]]
    for _ in range(names.index("most-cited-sources") - names.index("claims-citing-source")):
        page.keyboard.press("ArrowLeft")
    assert selected_tab(page) == "claims-citing-source"
    text = editor_text(page)
    page.get_by_label("?key").fill("DH2011b")  # the tab's parameter
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/sparql?query=*")
    asked = parse_qs(urlsplit(page.url).query)
    # (A form sends a textarea's lines ended by CRLF, as HTML says.)
    assert [q.replace("\r\n", "\n") for q in asked["query"]] == [text]
    assert asked["named"] == ["claims-citing-source"] and asked["param.key"] == ["DH2011b"]
    answer = page.request.get("/sparql", params={"query": text, "named": "claims-citing-source", "param.key": "DH2011b"},
                              headers={"Accept": "application/sparql-results+json"})
    body = answer.json()
    expected = [[b.get(v, {}).get("value", "") for v in body["head"]["vars"]] for b in body["results"]["bindings"]]
    assert len(expected) >= 1 and table_rows(page) == expected
    # The shared URL opens the same tab, text, parameter and rows.
    shared = page.url
    page.goto("/")
    page.goto(shared)
    assert selected_tab(page) == "claims-citing-source"
    assert editor_text(page) == text and page.get_by_label("?key").input_value() == "DH2011b"
    assert table_rows(page) == expected
    # A query of your own runs from its tab without named=, and comes back on that tab.
    page.get_by_role("tab", name="Your query").click()
    replace_query(page, QUERY)
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**LIMIT+7*")
    assert "named" not in parse_qs(urlsplit(page.url).query)
    page.goto(page.url)
    assert selected_tab(page) == "Your query" and editor_text(page) == QUERY
    _, rows = server_rows(page, QUERY)
    assert table_rows(page) == rows
    no_sideways_scroll(page)


@contextlib.contextmanager
def script_free_page(browser, served, width):
    """A page of a new browser context with JavaScript off, ``width`` px wide."""
    context = browser.new_context(base_url=served, java_script_enabled=False, viewport={"width": width, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_the_named_query_picker_loads_a_query_without_javascript(browser, served, width):  # noqa: F811
    with script_free_page(browser, served, width) as page:
        page.goto("/sparql")
        assert page.get_by_role("tablist").count() == 0
        page.select_option("#named-picker", "claims-citing-source")
        page.get_by_role("button", name="Load").click()
        page.wait_for_url("**/sparql?named=claims-citing-source")
        text = page.locator("#query").input_value()
        assert text == page.request.get("/api/queries").json()["queries"][1]["text"]
        page.get_by_label("?key").fill("DH2011b")
        page.get_by_role("button", name="Run query").click()
        page.wait_for_url("**/sparql?query=*")
        assert parse_qs(urlsplit(page.url).query)["param.key"] == ["DH2011b"]
        assert page.locator(".sparql-results table tbody tr").count() >= 1
        # The downloads carry the named query's parameter too, and every named query is a link.
        href = page.get_by_role("link", name="CSV", exact=True).get_attribute("href")
        assert parse_qs(urlsplit(href).query)["param.key"] == ["DH2011b"]
        links = page.locator("ul.named-queries a")
        assert links.count() == len(page.request.get("/api/queries").json()["queries"])
        no_sideways_scroll(page)


@pytest.mark.parametrize("width", list(WIDTHS.values()), ids=list(WIDTHS))
def test_the_plain_form_answers_without_javascript(browser, served, width):  # noqa: F811
    with script_free_page(browser, served, width) as page:
        page.goto("/sparql")
        textarea = page.locator("#query")
        expect(textarea).to_be_visible()
        assert page.locator(".sparql-editor").count() == 0
        assert "SELECT" in textarea.input_value()
        textarea.fill(QUERY)
        page.get_by_role("button", name="Run query").click()
        page.wait_for_url("**/sparql?query=*")
        _, expected = server_rows(page, QUERY)
        rows = [r.locator("td").all_inner_texts() for r in page.locator(".sparql-results table tbody tr").all()]
        assert rows == expected
        # Its download links are plain links to the endpoint's formats.
        href = page.get_by_role("link", name="CSV", exact=True).get_attribute("href")
        answer = page.request.get(href)
        assert answer.headers["content-type"].startswith("text/csv")
        assert list(csv.reader(io.StringIO(answer.text())))[1:] == expected
        # A syntax error names its place here too.
        textarea.fill(BROKEN)
        page.get_by_role("button", name="Run query").click()
        assert page.locator("#sparql-error").inner_text().startswith("SPARQL syntax error at line 3, column 3:")
        no_sideways_scroll(page)
