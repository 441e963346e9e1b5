"""Lists in a real browser (issue 19): download a search's CSV, walk the JSON pages, export a source's
references, complete a concept label, walk the concept tree by keyboard, sort the posts."""

from __future__ import annotations

import csv
import json
import re
import urllib.request

import bibtexparser
import pytest
import rispy
from conftest import serve_data
from playwright.sync_api import expect
from test_browser import browser, page  # noqa: F401  (the fixtures: Debian's Chromium, a checked page)
from test_web_lists import build_posts_corpus

pytestmark = pytest.mark.browser


def test_download_the_csv_of_a_search_and_walk_its_json(page, served, tmp_path):
    page.goto("/search?q=personal+budgets&limit=10")
    shown = [a.get_attribute("href").split("/claim/")[1] for a in page.locator("ol.results > li p.text a").all()]
    assert len(shown) == 10
    exports = page.locator("p.exports")
    with page.expect_download() as caught:
        exports.get_by_role("link", name="CSV", exact=True).click()
    download = caught.value
    assert download.suggested_filename == "search.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == shown
    assert all(r["post_title"] and r["text"] for r in rows)

    # The JSON link is the same view; its next links walk every result once.
    href = exports.get_by_role("link", name="JSON", exact=True).get_attribute("href")
    seen, total, url = [], None, href
    while url:
        with urllib.request.urlopen(served.rstrip("/") + url) as response:
            body = json.load(response)
        total = body["total"]
        seen += [hit["id"] for hit in body["results"]]
        url = body["links"]["next"]
    assert seen[:10] == shown and len(seen) == len(set(seen)) == total


def test_page_size_and_the_year_facet_in_the_browser(page):
    page.goto("/search?q=payment+by+results")
    page.locator("p.hint").get_by_role("link", name="10", exact=True).click()
    page.wait_for_url(re.compile(r"limit=10"))
    assert page.locator("ol.results > li").count() == 10
    years = page.locator("aside").get_by_role("heading", name="Year of the cited source")
    expect(years).to_be_visible()
    first = page.locator("aside ul.facet").last.locator("a").first
    year = first.locator("span").first.inner_text().strip()[:4]
    count = int(first.locator(".n").inner_text())
    first.click()
    page.wait_for_url(re.compile(rf"year={year}"))
    assert page.locator("#results-h").inner_text().startswith(f"{count} claim")
    assert page.get_by_role("link", name=f"Remove filter year: {year}").is_visible()


def test_page_the_posts_list_and_download_the_page_shown(page, tmp_path):
    page.goto("/posts?sort=claims")
    total = int(page.locator("main h1 + p").inner_text().split()[0])
    assert page.locator("tbody tr").count() == total  # one page of 100 by default
    page.locator("p.per-page").get_by_role("link", name="10", exact=True).click()
    page.wait_for_url(re.compile(r"/posts\?sort=claims&limit=10$"))
    assert page.locator("tbody tr").count() == 10
    pager = page.get_by_role("navigation", name="Pages of posts")
    pager.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"page=2&limit=10"))
    counts = [int(n) for n in page.locator("tbody tr td:nth-child(4)").all_inner_texts()]
    assert len(counts) == 10 and counts == sorted(counts, reverse=True)
    pages = -(-total // 10)
    pager.get_by_role("link", name=str(pages), exact=True).click()  # the window of pages reaches the last
    page.wait_for_url(re.compile(rf"page={pages}&limit=10"))
    shown = [a.get_attribute("href").rsplit("/", 1)[1] for a in page.locator("tbody tr td:first-child > a").all()]
    assert len(shown) == total - 10 * (pages - 1)
    # The page's CSV is the rows shown, and sorting keeps the page size.
    with page.expect_download() as caught:
        page.locator("p.exports").get_by_role("link", name="CSV", exact=True).click()
    caught.value.save_as(tmp_path / "posts.csv")
    with (tmp_path / "posts.csv").open(encoding="utf-8", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == shown
    page.get_by_label("Sort by").select_option("title")
    page.wait_for_url(re.compile(r"/posts\?limit=10&sort=title$"))  # the form's hidden limit, then its select
    assert page.locator("tbody tr").count() == 10


def test_sort_a_search_by_post(page):
    page.goto("/search?q=personal+budgets")
    page.get_by_role("link", name="by post, in the order of its claims").click()
    page.wait_for_url(re.compile(r"sort=post"))
    titles = [t.casefold() for t in page.locator("ol.results > li p.where > a").all_inner_texts()]
    assert len(titles) > 5 and titles == sorted(titles)
    assert "sort=post" in page.locator("p.exports").get_by_role("link", name="CSV", exact=True).get_attribute("href")
    page.get_by_role("searchbox", name="Search claims").fill("direct payments")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=direct\+payments.*sort=post"))


def test_a_source_exports_bibtex_csl_json_and_ris(page, tmp_path):
    page.goto("/source/DH2011b")
    exports = page.locator("#citing-h ~ p.exports")
    parsed = {}
    for name in ("BibTeX", "CSL-JSON", "RIS"):
        with page.expect_download() as caught:
            exports.get_by_role("link", name=name, exact=True).click()
        target = tmp_path / caught.value.suggested_filename
        caught.value.save_as(target)
        parsed[name] = target.read_text(encoding="utf-8")
    assert [e.key for e in bibtexparser.parse_string(parsed["BibTeX"]).entries] == ["DH2011b"]
    assert [item["id"] for item in json.loads(parsed["CSL-JSON"])] == ["DH2011b"]
    assert [r["id"] for r in rispy.loads(parsed["RIS"])] == ["DH2011b"]


def test_complete_a_concept_label_and_open_it(page):
    page.goto("/concepts")
    box = page.get_by_role("combobox", name="Find a concept by any of its names")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/concepts/complete" in r.url else None)
    loads: list[str] = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    box.press_sequentially("social care bud")
    option = page.get_by_role("option", name=re.compile(r"^personal social care budget"))
    expect(option).to_be_visible()
    assert box.get_attribute("aria-expanded") == "true"
    assert loads == [] and asked  # completed by JSON requests, no page load
    option.click()
    page.wait_for_url("**/concept/personal-budgets")
    assert page.locator("h1").inner_text() == "Personal budgets"
    assert "Social care budgets only" in page.locator("p.scope-note").inner_text()


def test_complete_by_keyboard(page):
    page.goto("/concepts")
    box = page.get_by_role("combobox", name="Find a concept by any of its names")
    box.press_sequentially("PHB")
    expect(page.get_by_role("option").first).to_contain_text("PHB")
    box.press("ArrowDown")
    assert page.get_by_role("option").first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == page.get_by_role("option").first.get_attribute("id")
    box.press("Enter")
    page.wait_for_url("**/concept/personal-health-budgets")


def test_find_a_concept_without_javascript(browser, served):  # noqa: F811
    context = browser.new_context(base_url=served, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/concepts")
        page.get_by_role("combobox").fill("brokerage")
        page.get_by_role("button", name="Go").click()
        page.wait_for_url("**/concept/support-brokerage")
    finally:
        context.close()


def test_the_concept_tree_is_walked_by_keyboard(page):
    page.goto("/concepts")
    tree = page.locator("ul.tree")
    assert tree.locator("summary a, summary button, a summary").count() == 0  # nothing interactive nested
    first = tree.locator("a").first
    first.focus()
    label = first.inner_text()
    page.keyboard.press("Tab")  # to its toggle, a control of its own
    toggle = page.evaluate("document.activeElement.tagName")
    assert toggle == "SUMMARY"
    page.keyboard.press("Enter")  # closes its narrower concepts
    assert tree.locator("details").first.get_attribute("open") is None
    page.keyboard.press("Enter")
    assert tree.locator("details").first.get_attribute("open") == ""
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/concept/"))
    assert page.locator("h1").inner_text() == label


# --- posts with author, date and URL -----------------------------------------------------------

@pytest.fixture(scope="module")
def posts_served(tmp_path_factory):
    """`kg serve` over posts that carry author, date and URL (build_posts_corpus)."""
    settings = build_posts_corpus(tmp_path_factory.mktemp("lists-posts-served"))
    with serve_data(settings.data_dir) as url:
        yield url


def test_sort_the_posts_and_read_a_posts_facts(browser, posts_served):  # noqa: F811
    context = browser.new_context(base_url=posts_served)
    try:
        page = context.new_page()
        page.goto("/posts")
        page.get_by_label("Sort by").select_option("date")  # the script submits on change
        page.wait_for_url("**/posts?sort=date")
        dates = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
        dated = [d for d in dates if d != "—"]
        assert dated == sorted(dated, reverse=True) and dates[: len(dated)] == dated
        page.get_by_role("link", name="Claims", exact=True).click()
        page.wait_for_url("**/posts?sort=claims")
        counts = [int(n) for n in page.locator("tbody tr td:nth-child(4)").all_inner_texts()]
        assert counts == sorted(counts, reverse=True)
        page.get_by_role("link", name="Why hospital discharge still stalls in winter").click()
        page.wait_for_url("**/post/discharge-delays")
        facts = page.locator("dl.facts")
        assert "Hannah Okafor" in facts.inner_text()
        assert facts.locator("time").get_attribute("datetime") == "2023-01-18"
        assert facts.get_by_role("link", name="https://blog.example.org.uk/2023/01/discharge-delays").is_visible()
        words = facts.locator("dt:has-text('Where it comes from') + dd").inner_text()
        assert words.startswith("From lines 1–") and "discharge-delays.md in your corpus folder, read when" in words
    finally:
        context.close()
