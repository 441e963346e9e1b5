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
from test_browser import browser, page, watched_page  # noqa: F401  (the fixtures: Debian's Chromium, a checked page)
from test_web_lists import build_posts_corpus, in_order, post_dates

pytestmark = pytest.mark.browser

#: (width, colour scheme) of the layouts the issue's "done when" journeys are walked in.
LAYOUTS = [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]


@pytest.fixture(params=LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def any_page(browser, served, request):  # noqa: F811
    """A page at each layout, failing the test on a script error or CSP violation."""
    width, scheme = request.param
    with watched_page(browser, served, color_scheme=scheme, viewport={"width": width, "height": 900}) as page:
        yield page


def test_download_the_csv_of_a_search_and_walk_its_json(any_page, served, tmp_path):
    page = any_page
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


def test_page_the_posts_list_and_download_the_page_shown(any_page, tmp_path):
    page = any_page
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


def test_complete_a_concept_label_and_open_it(any_page):
    page = any_page
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


def preorder(nodes: list[dict]) -> list[str]:
    """The concept ids of the tree as a reader meets them going down, every branch open."""
    out: list[str] = []
    for node in nodes:
        out.append(node["id"])
        out += preorder(node["narrower"])
    return out


def focused(page) -> int:
    """The place of the focused tree item among all the tree's items (a concept may stand under several)."""
    return page.evaluate("[...document.querySelectorAll('[role=treeitem]')].indexOf(document.activeElement)")


@pytest.mark.parametrize("width, scheme", LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def test_the_concept_tree_is_a_tree_view_walked_by_keyboard(browser, served, width, scheme):  # noqa: F811
    from test_browser_layout import AXE, axe_violations

    assert AXE.exists(), "run `make js-test-deps`"
    context = browser.new_context(base_url=served, color_scheme=scheme, viewport={"width": width, "height": 900})
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.set_default_timeout(15_000)
        page.goto("/concepts")
        nodes = page.request.get("/api/concepts").json()["tree"]
        order = preorder(nodes)
        tree = page.get_by_role("tree", name="Hierarchy")
        expect(tree).to_be_visible()
        items = tree.get_by_role("treeitem")
        assert [h.rsplit("/", 1)[1] for h in items.evaluate_all("l => l.map(a => a.getAttribute('href'))")] == order
        assert tree.locator("summary, details, button").count() == 0  # the no-JS toggles are gone
        # One item in the Tab order: Tab from the find box's button lands on the first concept.
        assert tree.locator("[tabindex='0']").count() == 1
        page.get_by_role("button", name="Go").focus()
        page.keyboard.press("Tab")
        assert focused(page) == 0
        # A branch below a top concept (its parent is a branch too), by its place in the tree.
        top, parent = next((t, n) for t in nodes for n in t["narrower"] if n["narrower"])
        top_at = order.index(top["id"])
        siblings = top["narrower"][: top["narrower"].index(parent)]
        at = top_at + 1 + sum(len(preorder([n])) for n in siblings)
        assert order[at] == parent["id"] and at > 0
        for _ in range(at):
            page.keyboard.press("ArrowDown")
        assert focused(page) == at
        item = items.nth(at)
        assert item.get_attribute("aria-expanded") == "true" and item.get_attribute("tabindex") == "0"
        assert tree.locator("[tabindex='0']").count() == 1
        # Right moves to the first child; Left back to the parent; Left again closes it.
        page.keyboard.press("ArrowRight")
        assert focused(page) == at + 1 and order[at + 1] == parent["narrower"][0]["id"]
        page.keyboard.press("ArrowLeft")
        assert focused(page) == at
        page.keyboard.press("ArrowLeft")
        assert item.get_attribute("aria-expanded") == "false" and focused(page) == at
        group = page.locator(f"#{item.get_attribute('aria-owns')}")
        expect(group).to_be_hidden()
        assert group.get_attribute("role") == "group"
        # Left on a closed branch moves to its parent, which stays open.
        page.keyboard.press("ArrowLeft")
        assert focused(page) == top_at and items.nth(top_at).get_attribute("aria-expanded") == "true"
        for _ in range(at - top_at):
            page.keyboard.press("ArrowDown")  # the siblings before it are leaves or open branches
        assert focused(page) == at
        # Down now skips the closed branch; Up comes back.
        after = at + len(preorder([parent]))
        page.keyboard.press("ArrowDown")
        assert focused(page) == (after if after < len(order) else at)
        page.keyboard.press("ArrowUp")
        assert focused(page) == at
        # Right opens it again (focus stays), Home and End reach the ends.
        page.keyboard.press("ArrowRight")
        assert item.get_attribute("aria-expanded") == "true" and focused(page) == at
        expect(group).to_be_visible()
        page.keyboard.press("End")
        assert focused(page) == len(order) - 1
        page.keyboard.press("Home")
        assert focused(page) == 0
        assert tree.locator("[tabindex='0']").count() == 1
        # The mouse's twisty closes a branch too, and axe finds nothing, closed or open.
        page.locator(f"li:has(> [aria-owns='{item.get_attribute('aria-owns')}']) > .twisty").click()
        assert item.get_attribute("aria-expanded") == "false"
        expect(group).to_be_hidden()
        assert axe_violations(page) == []
        # Tab comes back to the item last focused; Enter follows its link (the items before the
        # closed branch are as they were).
        page.get_by_role("button", name="Go").focus()
        page.keyboard.press("Tab")
        assert focused(page) == 0
        for _ in range(at):
            page.keyboard.press("ArrowDown")
        assert focused(page) == at
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/concept/{parent['id']}")
        assert page.locator("h1").inner_text() == parent["label"]
    finally:
        context.close()
    assert problems == []


def test_the_concept_tree_without_javascript_is_links_and_toggles(browser, served):  # noqa: F811
    context = browser.new_context(base_url=served, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/concepts")
        assert page.get_by_role("tree").count() == 0
        tree = page.locator("ul.tree")
        toggle = tree.locator("summary").first
        page.locator("ul.tree a").first.focus()
        page.keyboard.press("Tab")  # every link and toggle is in the Tab order
        assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
        page.keyboard.press("Enter")
        assert tree.locator("details").first.get_attribute("open") is None
        toggle.click()
        assert tree.locator("details").first.get_attribute("open") == ""
        page.keyboard.press("Shift+Tab")
        label = page.evaluate("document.activeElement.textContent")
        page.keyboard.press("Enter")
        page.wait_for_url("**/concept/*")
        assert page.locator("h1").inner_text() == label
    finally:
        context.close()


# --- posts with author, date and URL -----------------------------------------------------------

@pytest.fixture(scope="module")
def posts_build(tmp_path_factory):
    """A build of posts that carry author, date and URL (build_posts_corpus): its settings."""
    return build_posts_corpus(tmp_path_factory.mktemp("lists-posts-served"))


@pytest.fixture(scope="module")
def posts_served(posts_build):
    """`kg serve` over posts that carry author, date and URL (build_posts_corpus)."""
    with serve_data(posts_build.data_dir) as url:
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


@pytest.mark.parametrize("width, scheme", LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def test_sort_a_concepts_claims_by_post_date_and_page_through_them(browser, posts_served, posts_build, tmp_path,  # noqa: F811
                                                                   width, scheme):
    with urllib.request.urlopen(f"{posts_served}/api/claims?concept=care-workforce&limit=1000") as answer:
        listed = json.load(answer)["claims"]
    expected = in_order(listed, post_dates(posts_build), "newest")
    assert expected != [c["id"] for c in listed]
    context = browser.new_context(base_url=posts_served, accept_downloads=True, color_scheme=scheme,
                                  viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto("/concept/care-workforce?limit=4")
        claims = page.locator("section[aria-labelledby=claims-h]")

        def shown() -> list[str]:
            return [a.get_attribute("href").split("/claim/")[1] for a in claims.locator("ul.citing > li > a").all()]

        assert shown() == [c["id"] for c in listed][:4]
        claims.get_by_label("Sort by").select_option("newest")  # the script submits on change
        page.wait_for_url("**/concept/care-workforce?limit=4&sort=newest")
        assert shown() == expected[:4]
        expect(claims.get_by_label("Sort by")).to_have_value("newest")
        claims.get_by_role("link", name="Next →").click()
        page.wait_for_url("**/concept/care-workforce?limit=4&sort=newest&page=2")
        assert shown() == expected[4:8]
        with page.expect_download() as caught:
            claims.locator("p.exports").get_by_role("link", name="CSV", exact=True).click()
        target = tmp_path / caught.value.suggested_filename
        caught.value.save_as(target)
        with target.open(encoding="utf-8", newline="") as handle:
            assert [r["id"] for r in csv.DictReader(handle)] == expected[4:8]
    finally:
        context.close()
