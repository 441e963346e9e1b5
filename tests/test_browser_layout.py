"""Every page in a real browser at a desk (1280 px) and on a phone (390 px), light and dark.

No page scrolls sideways on a phone, axe-core (injected from tests/axe, installed by
`make js-test-deps`) finds no accessibility violation, the formatted reference copies as shown,
print hides the site's furniture, the concept picture's lines cross no label, and a source page is
captured as Zotero's Embedded Metadata translator reads it. The citation
function (CiTO) each citing claim carries is shown and filterable on source pages and in the API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from test_browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"

HTML = {"Accept": "text/html"}

#: (width, colour scheme) of every layout checked.
LAYOUTS = [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]


# --- The citation function on a source (no browser) -------------------------------------------


def test_each_citation_of_a_source_says_its_function_and_the_source_counts_them(web_client):
    found = web_client.get("/api/source/DH2011b").get_json()
    citations = [ct for p in found["citing"] for c in p["claims"] for ct in c["citations"]]
    assert {ct["function"] for ct in citations} == {"citesAsEvidence", "includesQuotationFrom"}
    assert {(ct["function"], ct["function_label"]) for ct in citations} == {
        ("citesAsEvidence", "evidence"),
        ("includesQuotationFrom", "quotation"),
    }
    counts = {f["id"]: (f["label"], f["count"]) for f in found["functions"]}
    assert counts == {
        "citesAsEvidence": ("evidence", sum(ct["function"] == "citesAsEvidence" for ct in citations)),
        "includesQuotationFrom": ("quotation", sum(ct["function"] == "includesQuotationFrom" for ct in citations)),
    }
    assert sum(n for _, n in counts.values()) == found["times_cited"] == len(citations)
    assert found["function"] is None


def test_a_source_narrowed_to_one_citation_function_keeps_only_the_claims_citing_it_so(web_client):
    whole = web_client.get("/api/source/DH2011b").get_json()
    quoted = web_client.get("/api/source/DH2011b?function=includesQuotationFrom").get_json()
    assert quoted["function"] == "includesQuotationFrom"
    kept = [c for p in quoted["citing"] for c in p["claims"]]
    expected = [
        c
        for p in whole["citing"]
        for c in p["claims"]
        if any(ct["function"] == "includesQuotationFrom" for ct in c["citations"])
    ]
    assert kept == expected and 0 < len(kept) < sum(len(p["claims"]) for p in whole["citing"])
    assert all(p["claims"] for p in quoted["citing"])  # no post is left with no claim
    assert quoted["functions"] == whole["functions"]  # the facet still offers every function
    # The filter and the page locator work together.
    both = web_client.get("/api/source/DH2011b?function=citesAsEvidence&locator=6").get_json()
    assert both["function"] == "citesAsEvidence" and both["locator"] == "6"
    assert all(c["at_locator"] == any(ct["locator"] == "6" for ct in c["citations"])
               for p in both["citing"] for c in p["claims"])


def test_an_unknown_citation_function_is_refused_with_the_ones_the_source_has(web_client):
    response = web_client.get("/api/source/DH2011b?function=quotes")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "'quotes'" in error and "citesAsEvidence" in error and "includesQuotationFrom" in error


def test_the_source_page_shows_each_claims_citation_function_and_offers_it_as_a_facet(web_client):
    html = web_client.get("/source/DH2011b", headers=HTML).get_data(as_text=True)
    facet = re.search(r'<ul class="inline" aria-label="Citation function">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r'href="([^"]+)"', facet) == [
        "/source/DH2011b?function=citesAsEvidence",
        "/source/DH2011b?function=includesQuotationFrom",
    ]
    assert html.count('<span class="function" title="CiTO includesQuotationFrom">quotation</span>') == 1
    assert html.count('<span class="function" title="CiTO citesAsEvidence">evidence</span>') == 4
    narrowed = web_client.get("/source/DH2011b?function=includesQuotationFrom", headers=HTML).get_data(as_text=True)
    assert 'title="CiTO citesAsEvidence">evidence</span>' not in narrowed.split('id="citing-h"')[1].split("</section>")[0]
    # The selected chip takes the filter off again.
    assert re.search(r'<a class="chip on" href="/source/DH2011b" aria-current="true"', narrowed)


# --- In the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make js-test-deps` (npm ci --prefix tests/axe)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def pages(served):
    """Every kind of page, with real ids taken from the API."""
    import urllib.request

    def get(path: str) -> dict:
        with urllib.request.urlopen(served + path.lstrip("/"), timeout=20) as response:
            return json.load(response)

    posts = sorted(get("/api/posts")["posts"], key=lambda p: -p["citations"])
    post = get(f"/api/post/{quote(posts[0]['id'])}")
    claim = next(c for c in post["claims"] if c["citations"] and c["concepts"])
    return {
        "home": "/",
        "search": "/search?q=personal+budgets",
        "search-filtered": "/search?q=personal+budgets&concept=personal-budgets",
        "sources": "/sources",
        "source": "/source/DH2011b",
        "source-function": "/source/DH2011b?function=includesQuotationFrom&locator=6",
        "posts": "/posts",
        "post": f"/post/{quote(posts[0]['id'])}",
        "claim": f"/claim/{claim['id']}",
        "concepts": "/concepts",
        "concept": "/concept/payment-by-results",
        "org": "/org/dh",
        "audit": "/audit",
        "cite": "/cite?q=DH+2011b%3A6",
        "sparql": "/sparql",
        "sparql-run": "/sparql?named=most-cited-sources",
        "not-found": "/no-such-page",
        "unknown-source": "/source/NoSuchKey",
    }


def new_page(browser, served, width: int, scheme: str, **options):
    context = browser.new_context(
        base_url=served, viewport={"width": width, "height": 900}, color_scheme=scheme, **options
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def overflow(page) -> list[str]:
    """Return what sticks out past the right edge of the viewport (empty when nothing scrolls sideways)."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          if (root.scrollWidth <= root.clientWidth) return [];
          const out = [`scrollWidth ${root.scrollWidth} > clientWidth ${root.clientWidth}`];
          for (const e of document.querySelectorAll('body *')) {
            const r = e.getBoundingClientRect();
            if (r.width > 0 && r.right > root.clientWidth + 0.5) out.push(`${e.tagName}.${e.className} right=${r.right}`);
          }
          return out.slice(0, 8);
        }"""
    )


def axe_violations(page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # through the DevTools protocol: the page's CSP stays as it is
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
             v => `${v.id} (${v.impact}) x${v.nodes.length}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)"""
    )
    return found


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scheme"), LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def test_every_page_fits_the_screen_and_axe_finds_no_violation(browser, served, pages, width, scheme):
    context, page = new_page(browser, served, width, scheme)
    problems: dict[str, list[str]] = {}
    try:
        for name, path in pages.items():
            page.goto(path)
            if name == "sparql-run":
                page.get_by_role("button", name="Run query").click()
                page.wait_for_selector("#result-h")
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
            found = overflow(page) + axe_violations(page)
            if found:
                problems[f"{name} {path}"] = found
    finally:
        context.close()
    assert problems == {}


@pytest.mark.browser
def test_chips_are_not_cut_off_on_a_phone(browser, served, pages):
    context, page = new_page(browser, served, 390, "light")
    try:
        for name in ("search", "claim", "concept", "source"):
            page.goto(pages[name])
            chips = page.locator("a.chip")
            assert chips.count() > 0, name
            cut = page.evaluate(
                """() => [...document.querySelectorAll('a.chip')].filter(c => {
                     const r = c.getBoundingClientRect(), p = c.closest('main').getBoundingClientRect();
                     return r.left < p.left - 0.5 || r.right > p.right + 0.5 || c.scrollWidth > c.clientWidth + 1;
                   }).map(c => c.textContent)"""
            )
            assert cut == [], name
    finally:
        context.close()


@pytest.mark.browser
def test_facets_are_folded_above_the_results_on_a_phone_and_open_beside_them_at_a_desk(browser, served, pages):
    for width, folded in ((390, True), (1280, False)):
        context, page = new_page(browser, served, width, "light")
        try:
            page.goto(pages["search"])
            facets = page.locator("details.facets")
            first_facet = facets.locator("ul.facet a").first
            results = page.locator("ol.results")
            assert facets.evaluate("d => d.open") is (not folded)
            facet_box, results_box = facets.bounding_box(), results.bounding_box()
            if folded:
                assert facet_box["y"] + facet_box["height"] <= results_box["y"]  # above the results
                assert not first_facet.is_visible()
                page.get_by_text("Narrow the results", exact=True).click()
                assert first_facet.is_visible()
            else:
                assert facet_box["x"] >= results_box["x"] + results_box["width"]  # beside them
                assert first_facet.is_visible()
                assert not page.get_by_text("Narrow the results", exact=True).is_visible()
            first_facet.click()
            page.wait_for_url(re.compile(r"/search\?.*q=personal\+budgets"))
            assert "Filtered by" in page.locator("main").inner_text()
        finally:
            context.close()


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scheme"), LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def test_copy_the_harvard_and_apa_reference_of_a_source(browser, served, width, scheme):
    context, page = new_page(browser, served, width, scheme, permissions=["clipboard-read", "clipboard-write"])
    try:
        page.goto("/source/DH2011b")
        for name, label in (("harvard", "Harvard"), ("apa", "APA")):
            shown = page.locator(f"#ref-{name}").inner_text()
            assert shown.startswith("Department of Health") and "2011" in shown
            page.get_by_role("button", name=f"Copy {label} reference").click()
            expect(page.locator(f"#ref-{name}-status")).to_have_text("Copied")
            assert page.evaluate("navigator.clipboard.readText()") == shown
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize(("width", "scheme"), LAYOUTS, ids=[f"{w}-{s}" for w, s in LAYOUTS])
def test_zotero_captures_a_source_page_from_its_dom(browser, served, width, scheme):
    """What the Zotero Connector saves from a source page open in Chromium: the citation_* tags read
    from the live DOM as its Embedded Metadata translator reads them, and the CSL-JSON the page links."""
    from zotero_capture import DOM_TAGS, item_from_tags

    context, page = new_page(browser, served, width, scheme)
    try:
        page.goto("/source/DH2011b")
        tags = page.evaluate(DOM_TAGS)
        item = item_from_tags((name, content) for name, content in tags)
        assert item["itemType"] == "report"
        assert item["title"] == page.locator("h1").inner_text() == "Payment by Results: Draft 2012-13 Mental Health Guidance"
        assert item["date"] == "2011" and item["institution"] == "Department of Health"
        assert item["creators"] == []  # the organisation is the institution, never a person "Health, Department of"
        # The CSL-JSON the page links (and offers to download) is the same reference.
        linked = page.evaluate(
            """async () => {
                 const link = document.querySelector('link[rel=alternate][type="application/vnd.citationstyles.csl+json"]');
                 const answer = await fetch(link.href);
                 return {href: link.getAttribute('href'), type: answer.headers.get('content-type'), body: await answer.json()};
               }"""
        )
        assert linked["href"] == "/source/DH2011b/csl"
        assert linked["type"].startswith("application/vnd.citationstyles.csl+json")
        [csl] = linked["body"]
        assert csl["type"] == "report" and csl["title"] == item["title"]
        assert csl["issued"] == {"date-parts": [[2011]]}
        assert csl["author"] == [{"literal": "Department of Health"}]  # a name as a whole, not family and given
        assert page.get_by_role("link", name="CSL-JSON", exact=True).first.get_attribute("href") == linked["href"]
        assert overflow(page) == []
    finally:
        context.close()


@pytest.mark.browser
def test_filter_a_sources_claims_by_citation_function_in_the_browser(browser, served):
    context, page = new_page(browser, served, 390, "light")
    try:
        page.goto("/source/DH2011b")
        claims = page.locator("ul.citing > li")
        every = claims.count()
        facet = page.get_by_role("list", name="Citation function")
        facet.get_by_role("link", name=re.compile(r"^quotation")).click()
        page.wait_for_url("**/source/DH2011b?function=includesQuotationFrom")
        assert 0 < claims.count() < every
        assert all("quotation" in text for text in claims.all_inner_texts())
        facet.get_by_role("link", name=re.compile(r"^quotation")).click()  # selected: takes the filter off
        page.wait_for_url(re.compile(r"/source/DH2011b$"))
        assert claims.count() == every
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["source", "post"])
def test_print_shows_the_content_without_the_sites_furniture_and_with_link_targets(browser, served, pages, name):
    context, page = new_page(browser, served, 1280, "light")
    try:
        page.goto(pages[name])
        assert page.locator("header.site nav").is_visible()
        page.emulate_media(media="print")
        for hidden in ("header.site nav", "footer.site", "form", "button"):
            boxes = page.locator(hidden)
            assert all(not boxes.nth(i).is_visible() for i in range(boxes.count())), hidden
        assert page.locator("h1").is_visible()
        link = page.locator("main a[href^='/source/'], main a[href^='/post/']").first
        after = link.evaluate("a => getComputedStyle(a, '::after').content")
        assert link.get_attribute("href") in after
        page.emulate_media(media="screen")
        assert page.locator("header.site nav").is_visible()
    finally:
        context.close()


@pytest.mark.browser
def test_dark_scheme_changes_the_colours(browser, served):
    colours = {}
    for scheme in ("light", "dark"):
        context, page = new_page(browser, served, 1280, scheme)
        try:
            page.goto("/source/DH2011b")
            colours[scheme] = page.evaluate(
                "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
            )
        finally:
            context.close()
    assert colours["light"] == ["rgb(255, 255, 255)", "rgb(29, 36, 48)"]
    assert colours["dark"] != colours["light"]
    # Contrast between text and ground is checked by axe (color-contrast) in both schemes above.


#: In each displayed concept picture: the label boxes (from the browser's own text metrics) that a
#: line crosses, that overlap each other or that stick out of the picture, and the drawn label size.
PICTURE_PROBLEMS = """() => {
  const out = [], sizes = [];
  const crosses = (x1, y1, x2, y2, L, T, R, B) => {  // Liang-Barsky: does the segment enter the box?
    let t0 = 0, t1 = 1; const dx = x2 - x1, dy = y2 - y1;
    for (const [p, q] of [[-dx, x1 - L], [dx, R - x1], [-dy, y1 - T], [dy, B - y1]]) {
      if (p === 0) { if (q < 0) return false; continue; }
      const r = q / p;
      if (p < 0) { if (r > t1) return false; if (r > t0) t0 = r; } else { if (r < t0) return false; if (r < t1) t1 = r; }
    }
    return t1 - t0 > 1e-6;
  };
  for (const svg of document.querySelectorAll('figure.graph svg')) {
    if (!svg.getClientRects().length) continue;  // the other layout, not displayed at this width
    const vb = svg.viewBox.baseVal;
    const lines = [...svg.querySelectorAll('line')].map(l => ['x1', 'y1', 'x2', 'y2'].map(a => +l.getAttribute(a)));
    const boxes = [...svg.querySelectorAll('text')].map(t => {
      const b = t.getBBox(); sizes.push(t.getBoundingClientRect().height);
      return [t.textContent, b.x, b.y, b.x + b.width, b.y + b.height];
    });
    for (const [x1, y1, x2, y2] of lines) for (const [text, L, T, R, B] of boxes)
      if (crosses(x1, y1, x2, y2, L, T, R, B)) out.push(`line (${x1},${y1})-(${x2},${y2}) crosses ${text}`);
    boxes.forEach(([a, L, T, R, B], i) => {
      if (L < vb.x || T < vb.y || R > vb.x + vb.width || B > vb.y + vb.height) out.push(`${a} sticks out`);
      for (const [b, L2, T2, R2, B2] of boxes.slice(i + 1))
        if (L < R2 && L2 < R && T < B2 && T2 < B) out.push(`${a} overlaps ${b}`);
    });
  }
  return {problems: out, smallest: Math.min(...sizes), pictures: document.querySelectorAll('figure.graph svg').length};
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_no_line_of_a_concept_picture_crosses_a_label_and_labels_stay_readable(browser, served, width):
    import urllib.request

    with urllib.request.urlopen(served + "api/concepts", timeout=20) as response:
        tree = json.load(response)["tree"]
    ids: list[str] = []
    while tree:
        node = tree.pop()
        ids.append(node["id"])
        tree.extend(node["narrower"])
    ids = list(dict.fromkeys(ids))
    assert len(ids) > 100
    context, page = new_page(browser, served, width, "light")
    problems, drawn = {}, 0
    try:
        for concept_id in ids:
            page.goto(f"/concept/{concept_id}")
            found = page.evaluate(PICTURE_PROBLEMS)
            if not found["pictures"]:
                continue
            drawn += 1
            assert page.locator("figure.graph svg:visible").count() == 1  # one layout at a time
            visible = page.locator("figure.graph svg:visible").get_attribute("class")
            assert visible == ("wide" if width > 640 else "narrow")
            if found["problems"]:
                problems[concept_id] = found["problems"]
            # Drawn labels are at least 11 px tall on screen: the phone gets its own layout, not a shrunk one.
            assert found["smallest"] >= 11, (concept_id, found["smallest"])
    finally:
        context.close()
    assert drawn > 100
    assert problems == {}
