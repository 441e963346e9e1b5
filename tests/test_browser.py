"""The site in a real browser: Playwright driving Debian's Chromium against `kg serve`."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def watched_page(browser, served, **context_options):
    """A page of a new browser context at ``served``, failing the test on a script error or a CSP
    violation (both show up in the console)."""
    context = browser.new_context(base_url=served, accept_downloads=True, **context_options)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert problems == []


@pytest.fixture()
def page(browser, served):
    with watched_page(browser, served, permissions=["clipboard-read", "clipboard-write"]) as page:
        yield page


def test_search_open_a_cited_source_see_citing_claims_and_download_its_bibtex(page, tmp_path):
    page.goto("/")
    page.get_by_role("searchbox", name="Search claims").fill("care transition protocols")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=care\+transition\+protocols"))
    heading = page.locator("#results-h")
    assert re.match(r"\d+ claims? found", heading.inner_text())
    first = page.locator("ol.results > li").first
    assert first.locator("mark").count() >= 1

    # Open a cited source from the results.
    cited = page.locator("ul.cited a[href^='/source/']").first
    key = cited.get_attribute("href").rsplit("/", 1)[-1]
    cited.click()
    page.wait_for_url(f"**/source/{key}")
    assert page.locator("h1").inner_text()
    claims = page.locator("#citing-h ~ ul.citing li a[href^='/claim/']")
    assert claims.count() >= 1

    # The copy button appears once the script runs, and copies.
    copy = page.get_by_role("button", name="Copy BibTeX")
    assert copy.is_visible()
    copy.click()
    expect(page.locator("#bibtex-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#bibtex").inner_text()

    # Download the BibTeX file.
    with page.expect_download() as caught:
        page.get_by_role("link", name=f"Download {key}.bib").click()
    download = caught.value
    assert download.suggested_filename == f"{key}.bib"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("@") and f"{{{key}," in text


def test_browse_a_concepts_narrower_concepts(page):
    page.goto("/concepts")
    page.get_by_role("tree").get_by_role("treeitem", name="Payment by Results", exact=True).first.click()
    page.wait_for_url("**/concept/payment-by-results")
    assert page.locator("h1").inner_text() == "Payment by Results"
    narrower = page.get_by_role("list", name="Narrower concepts").get_by_role("link")
    names = narrower.all_inner_texts()
    assert "Care transition protocols" in names
    narrower.filter(has_text="Care transition protocols").click()
    page.wait_for_url("**/concept/care-transition-protocols")
    assert page.locator("h1").inner_text() == "Care transition protocols"
    # Its broader concept leads back up, and the picture links the neighbourhood.
    assert page.locator("figure.graph svg:visible a[href='/concept/payment-by-results']").count() == 1


def test_run_a_named_sparql_query(page):
    page.goto("/sparql")
    page.get_by_role("tab", name="Your query").click()
    page.get_by_role("tab", name="most-cited-sources").click()  # its tab loads it into the editor
    assert "kg:citationCount ?citations" in page.evaluate("window.kgSparqlEditor.state.doc.toString()")
    page.get_by_role("button", name="Run query").click()
    page.wait_for_selector("#result-h")
    assert "named=most-cited-sources" in page.url
    rows = page.locator("section table tbody tr")
    assert rows.count() >= 5
    assert page.locator("section table thead").inner_text().split() [:2] == ["?key", "?title"]


def test_keyboard_skip_link_and_slash_to_search(page):
    page.goto("/sources")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "quick-q"


def test_pages_work_without_javascript(browser, served):
    context = browser.new_context(base_url=served, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/sparql?named=most-cited-sources")
        page.get_by_role("button", name="Run query").click()
        page.wait_for_selector("#result-h")
        page.goto("/search?q=personal+budgets")
        page.locator("aside ul.facet a").first.click()
        assert "Filtered by" in page.locator("main").inner_text()
    finally:
        context.close()

