"""The HTML pages of the web app on the real seed corpus, through Flask's test client."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import bibtexparser
from markupsafe import escape
import pytest

from kg import catalog, search
from kg.errors import PastLastPage
from zotero_capture import zotero_item

def esc(text: str) -> str:
    """Escape as Jinja's autoescape does."""
    return str(escape(text))


HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def get(client, path, **kwargs):
    return client.get(path, headers=HTML, **kwargs)


def text_of(response) -> str:
    """The page's visible text, tags dropped and entities decoded (good enough for assertions)."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def links(response) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', response.get_data(as_text=True))]


# --- home -------------------------------------------------------------------------------------

def test_home_shows_search_box_statistics_examples_and_named_queries(web_client, built_settings):
    response = get(web_client, "/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<form class="big" role="search" action="/search"' in page
    stats = catalog.stats(built_settings)
    shown = text_of(response)
    assert f"{stats['posts']} posts" in " ".join(shown.split())
    assert f"{stats['claims']} claims" in " ".join(shown.split())
    hrefs = links(response)
    assert any(h.startswith("/search?q=") for h in hrefs)
    assert "/sparql?named=most-cited-sources" in hrefs


def test_every_example_search_on_the_home_page_finds_claims(web_client, built_settings):
    examples = [h for h in links(get(web_client, "/")) if h.startswith("/search?q=")]
    assert len(examples) >= 3
    for href in examples:
        query = parse_qs(urlparse(href).query)["q"][0]
        assert search.search(built_settings, query)["total"] > 0, query


# --- search -----------------------------------------------------------------------------------

def test_search_for_care_transition_protocols_highlights_and_links_sources(web_client):
    response = get(web_client, "/search?q=care+transition+protocols")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<mark>" in page
    marked = {m.lower() for m in re.findall(r"<mark>([^<]*)</mark>", page)}
    assert {"care", "transition", "protocols"} <= marked
    # A cited source with its locator, linked to its source page.
    assert re.search(r'Cites <a href="/source/DH2013">[^<]+</a> <span class="loc">p\. 17</span>', page)
    assert "/post/practicalities-of-introducing-pbr-in-mental-health-transition-protocols#" in page


def test_search_facets_narrow_the_results(web_client, built_settings):
    everything = search.search(built_settings, "payment by results")
    response = get(web_client, "/search?q=payment+by+results")
    facet = next(h for h in links(response) if "concept=" in h and h.startswith("/search?"))
    narrowed = get(web_client, facet)
    assert narrowed.status_code == 200
    chosen = parse_qs(urlparse(facet).query)["concept"][0]
    result = search.search(built_settings, "payment by results", filters={"concept": [chosen]})
    assert 0 < result["total"] < everything["total"]
    assert f"{result['total']} claim" in text_of(narrowed)
    # The active filter can be removed again.
    removal = [h for h in links(narrowed) if h == "/search?q=payment+by+results"]
    assert removal


def test_search_pages_through_results(web_client, built_settings):
    result = search.search(built_settings, "personal budgets")
    assert result["pages"] >= 2
    first = get(web_client, "/search?q=personal+budgets")
    second = get(web_client, "/search?q=personal+budgets&page=2")
    assert second.status_code == 200
    ids = lambda r: re.findall(r'href="/claim/(c[0-9a-f]+[-0-9]*)"', r.get_data(as_text=True))  # noqa: E731
    assert ids(first) and ids(second) and not set(ids(first)) & set(ids(second))
    assert 'rel="next"' in first.get_data(as_text=True)
    assert 'rel="prev"' in second.get_data(as_text=True)


def test_search_offers_did_you_mean(web_client, built_settings):
    result = search.search(built_settings, "personel budgets")
    assert result["suggestion"]
    page = get(web_client, "/search?q=personel+budgets").get_data(as_text=True)
    assert "Did you mean" in page
    assert esc(result["suggestion"]) in page


def test_search_bibtex_button_downloads_the_results_sources(web_client, built_settings):
    page = get(web_client, "/search?q=care+transition+protocols")
    button = next(h for h in links(page) if h.startswith("/search/bibtex?"))
    response = web_client.get(button)
    assert response.status_code == 200
    assert response.mimetype == "application/x-bibtex"
    assert "attachment" in response.headers["Content-Disposition"]
    library = bibtexparser.parse_string(response.get_data(as_text=True))
    keys = {entry.key for entry in library.entries}
    cited = set()
    page_number = 1
    while True:
        result = search.search(built_settings, "care transition protocols", page=page_number, limit=200)
        cited |= {c["key"] for hit in result["results"] for c in hit["citations"] if c["key"]}
        if page_number >= result["pages"]:
            break
        page_number += 1
    assert keys == cited and "DH2013" in keys


def test_empty_search_page_asks_for_words(web_client):
    response = get(web_client, "/search")
    assert response.status_code == 200
    assert "Type some words" in text_of(response)


# --- citation lookup --------------------------------------------------------------------------

@pytest.mark.parametrize("query, target", [
    ("DH 2011b", "/source/DH2011b"), ("(DH, 2011b:6)", "/source/DH2011b?locator=6"), ("dh2011b", "/source/DH2011b"),
    ("Department of Health 2011b", "/source/DH2011b"), ("DH 2011b:13", "/source/DH2011b?locator=13")])
def test_cite_lookup_redirects_to_the_source_page_keeping_the_locator(web_client, query, target):
    response = get(web_client, "/cite", query_string={"q": query})
    assert response.status_code == 303
    assert response.headers["Location"] == target


def test_cite_lookup_of_an_ambiguous_year_lists_the_sources_to_choose_from(web_client):
    # DH published two reports in 2011 (2011a, 2011b): the lookup must not guess, and the page
    # it lands on is a list to choose from, not only a warning.
    response = get(web_client, "/cite", query_string={"q": "Department of Health 2011"})
    assert response.status_code == 404
    assert "ambiguous" in text_of(response)
    html_ = response.get_data(as_text=True)
    choices = re.search(r'<ul class="choices">(.*?)</ul>', html_, re.S)
    assert choices, "no list of candidates"
    assert re.findall(r'href="([^"]+)"', choices.group(1)) == ["/source/DH2011a", "/source/DH2011b"]
    assert "A simple guide to Payment by Results" in choices.group(1)
    assert 'value="Department of Health 2011"' in html_


def test_the_cite_pages_own_examples_all_lead_somewhere(web_client):
    page_ = get(web_client, "/cite")
    examples = [h for h in links(page_) if h.startswith("/cite?q=")]
    assert len(examples) >= 4
    for href in examples:
        response = get(web_client, href)
        assert response.status_code in (200, 303, 404), href
        if response.status_code != 303:
            assert re.search(r'<ul class="choices">|<ol class="lookup">', response.get_data(as_text=True)), href


def test_cite_lookup_of_a_pasted_group_shows_every_source(web_client):
    response = get(web_client, "/cite", query_string={"q": "(DH, 2011b:6; DH, 2013:5)"})
    assert response.status_code == 200
    html_ = response.get_data(as_text=True)
    lookup = re.search(r'<ol class="lookup">(.*?)</ol>', html_, re.S).group(1)
    assert re.findall(r'href="([^"]+)"', lookup) == ["/source/DH2011b?locator=6", "/source/DH2013?locator=5"]
    api = web_client.get("/api/cite", query_string={"q": "(DH, 2011b:6; DH, 2013:5)"}).get_json()
    assert api["key"] is None
    assert [(c["key"], c["locator"], c["status"]) for c in api["lookup"]] == [("DH2011b", "6", "resolved"),
                                                                               ("DH2013", "5", "resolved")]


def test_a_locator_marks_the_claims_citing_that_page(web_client, built_settings):
    page6 = get(web_client, "/source/DH2011b?locator=6").get_data(as_text=True)
    marked = re.findall(r'<li class="at-locator">.*?href="/claim/([^"]+)"', page6, re.S)
    expected = {c["claim"]["id"] for c in catalog.citations_of(built_settings, "DH2011b") if c["locator"] == "6"}
    assert len(expected) == 2 and set(marked) == expected
    assert "2 claims cite p. 6" in text_of(get(web_client, "/source/DH2011b?locator=6"))
    plain = get(web_client, "/source/DH2011b").get_data(as_text=True)
    assert 'class="at-locator"' not in plain
    api = web_client.get("/api/source/DH2011b?locator=6").get_json()
    assert api["locator"] == "6" and api["at_locator"] == 2
    assert {c["id"] for p in api["citing"] for c in p["claims"] if c["at_locator"]} == expected


def test_source_keys_are_found_in_any_case(web_client):
    for path, target in (("/source/dh2011b", "/source/DH2011b"), ("/source/DH2011B?locator=6", "/source/DH2011b?locator=6"),
                         ("/source/dh2011b/bibtex", "/source/DH2011b/bibtex"), ("/api/source/dh2011b", "/api/source/DH2011b")):
        response = get(web_client, path)
        assert response.status_code in (301, 308), path
        assert response.headers["Location"] == target, path
    assert get(web_client, "/source/dh2011b", follow_redirects=True).status_code == 200


def test_cite_lookup_of_nothing_known_offers_matches_not_an_error_page(web_client):
    response = get(web_client, "/cite", query_string={"q": "DH 2099"})
    assert response.status_code == 404
    assert "Closest matches" in text_of(response)
    assert any(h.startswith("/source/DH") for h in links(response))


# --- sources ----------------------------------------------------------------------------------

def test_sources_sort_by_times_cited_year_and_organisation(web_client, built_settings):
    rows = {s["key"]: s for s in catalog.sources(built_settings)}

    def order(sort):
        page = get(web_client, f"/sources?sort={sort}")
        assert page.status_code == 200
        return [h.split("/")[-1] for h in links(page) if h.startswith("/source/")]

    by_cited = order("citations")
    assert set(by_cited) == set(rows)
    counts = [rows[k]["times_cited"] for k in by_cited]
    assert counts == sorted(counts, reverse=True)
    years = [str(rows[k]["year"]) for k in order("year")]
    assert years == sorted(years)
    by_org = order("organisation")
    assert by_org.index("ADASS2009") < by_org.index("DH2010") < by_org.index("RCP2012")


def test_sources_of_one_organisation(web_client):
    page = get(web_client, "/sources?org=dh")
    keys = [h.split("/")[-1] for h in links(page) if h.startswith("/source/")]
    assert keys and all(k.startswith("DH") for k in keys)


def test_source_page_has_reference_bibtex_citing_claims_co_cited_and_concepts(web_client, built_settings):
    response = get(web_client, "/source/DH2011b")
    assert response.status_code == 200
    shown = " ".join(text_of(response).split())
    assert "Department of Health (DH) (2011b), Payment by Results: Draft 2012-13 Mental Health Guidance" in shown
    page = response.get_data(as_text=True)
    assert '<pre id="bibtex"><code>@techreport{DH2011b,' in page
    assert 'data-copy="bibtex"' in page
    assert 'href="/source/DH2011b/bibtex"' in page
    found = catalog.source(built_settings, "DH2011b")
    for citing in found["citing"]:
        assert f'href="/post/{citing["post"]["id"]}"' in page
        for claim in citing["claims"]:
            assert f'href="/claim/{claim["id"]}"' in page
            for citation in claim["citations"]:
                assert f"locator {citation['locator']}" in shown
    for other in found["co_cited"]:
        assert f'href="/source/{other["key"]}"' in page
    for concept in found["concepts"]:
        assert f'href="/concept/{concept["id"]}"' in page


def test_source_bibtex_download_parses_back(web_client):
    response = web_client.get("/source/DH2011b/bibtex")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="DH2011b.bib"'
    entries = bibtexparser.parse_string(response.get_data(as_text=True)).entries
    assert [e.key for e in entries] == ["DH2011b"]


def test_unknown_source_is_a_404_page_suggesting_close_keys(web_client):
    response = get(web_client, "/source/DH2011")
    assert response.status_code == 404
    assert "no source 'DH2011'" in text_of(response)
    assert "/source/DH2011b" in links(response)


def test_organisation_page_lists_its_sources(web_client):
    response = get(web_client, "/org/dh")
    assert response.status_code == 200
    assert "Department of Health" in text_of(response)
    assert "/source/DH2011b" in links(response)
    assert get(web_client, "/org/no-such-org").status_code == 404


# --- concepts ---------------------------------------------------------------------------------

def test_concepts_page_shows_tree_and_az_with_alt_labels_leading_to_preferred(web_client, built_settings):
    response = get(web_client, "/concepts")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    scheme = catalog.concepts(built_settings)
    top = {n["id"] for n in scheme["tree"]}
    assert "payment-systems" in top and "personalisation" in top
    # Nested: a narrower concept sits inside its broader one's list.
    tree = page[page.index('<ul class="tree">'):page.index("</section>")]
    assert tree.index('href="/concept/payment-systems"') < tree.index('href="/concept/payment-by-results"') \
        < tree.index('href="/concept/care-transition-protocols"')
    az = page[page.index('id="az-h"'):]
    assert re.search(r'<span class="alt-label">PbR</span> → <a href="/concept/payment-by-results">Payment by Results</a>', az)


def test_concept_page_has_definition_labels_neighbours_picture_sources_and_claims(web_client, built_settings):
    response = get(web_client, "/concept/payment-by-results")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    found = catalog.concept(built_settings, "payment-by-results")
    assert esc(found["definition"]) in page
    assert "PbR" in text_of(response)
    narrower = page[page.index("<dt>Narrower</dt>"):page.index("<dt>Related</dt>")]
    for n in found["narrower"]:
        assert f'href="/concept/{n["id"]}"' in narrower
    svg = page[page.index("<svg"):page.index("</svg>")]
    for n in found["narrower"] + found["broader"] + found["related"]:
        assert f'href="/concept/{n["id"]}"' in svg
    assert 'class="edge co"' in svg
    for s in found["sources"]:
        assert f'href="/source/{s["key"]}"' in page
    assert 'href="/concept/payment-by-results/bibtex"' in page
    for claim in found["claims"][:20]:
        assert f'href="/claim/{claim["id"]}"' in page


def test_concept_bibtex_export_lists_its_most_cited_sources(web_client, built_settings):
    response = web_client.get("/concept/payment-by-results/bibtex")
    assert response.status_code == 200
    keys = [e.key for e in bibtexparser.parse_string(response.get_data(as_text=True)).entries]
    assert keys == [s["key"] for s in catalog.concept(built_settings, "payment-by-results")["sources"]]


def test_unknown_concept_suggests_close_ids(web_client):
    response = get(web_client, "/concept/payment-by-result")
    assert response.status_code == 404
    assert "/concept/payment-by-results" in links(response)


# --- posts, claims, audit ---------------------------------------------------------------------

def test_posts_list_links_every_post_with_provenance(web_client, built_settings):
    response = get(web_client, "/posts")
    ids = {h.split("/")[-1] for h in links(response) if h.startswith("/post/")}
    assert len(ids) == catalog.stats(built_settings)["posts"]
    assert ".txt" in text_of(response)


def test_post_page_marks_claims_links_citations_and_keeps_the_text_exact(web_client, built_settings):
    post_id = "practicalities-of-introducing-pbr-in-mental-health-transition-protocols"
    found = catalog.post(built_settings, post_id)
    response = get(web_client, f"/post/{post_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    article = page[page.index('<article class="post-body">') + len('<article class="post-body">'):page.index("</article>")]
    without_numbers = re.sub(r'<a class="claim-no"[^>]*>\d+</a>', "", article)
    assert html.unescape(re.sub(r"<[^>]+>", "", without_numbers)) == found["body"]
    for claim in found["claims"]:
        assert f'id="{claim["id"]}"' in article
        for citation in claim["citations"]:
            if citation["key"]:
                assert f'href="/source/{citation["key"]}"' in article
    for place in found["provenance"]:
        assert place["dump"] in text_of(response)
        assert f"lines {place['start']}–{place['end']}" in text_of(response)


def test_claim_page_shows_the_claim_in_context(web_client, built_settings):
    post_id = "practicalities-of-introducing-pbr-in-mental-health-transition-protocols"
    claims = sorted(catalog.post(built_settings, post_id)["claims"], key=lambda c: c["ordinal"])
    middle = next(c for c in claims[2:] if c["citations"])
    index = claims.index(middle)
    response = get(web_client, f"/claim/{middle['id']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<blockquote class="claim">{esc(middle["text"])}</blockquote>' in page
    assert f'href="/claim/{claims[index - 1]["id"]}"' in page
    if index + 1 < len(claims):
        assert f'href="/claim/{claims[index + 1]["id"]}"' in page
    for citation in middle["citations"]:
        if citation["key"]:
            assert f'href="/source/{citation["key"]}"' in page


def test_citation_iri_leads_browsers_to_its_claim(web_client, built_settings):
    cited = catalog.citations_of(built_settings, "DH2011b")[0]
    response = get(web_client, f"/citation/{cited['id']}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/claim/{cited['claim']['id']}#{cited['id']}"


def test_audit_lists_unresolved_citations_and_never_cited_references(web_client, built_settings):
    found = catalog.audit(built_settings)
    response = get(web_client, "/audit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert found["unresolved"] and found["never_cited"]
    for item in found["unresolved"]:
        assert f'id="{item["id"]}"' in page
        assert esc(item["raw"]) in page
    for item in found["never_cited"]:
        assert f'href="/source/{item["key"]}"' in page


def test_unknown_page_is_a_404_page(web_client):
    response = get(web_client, "/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Not found" in text_of(response)


def test_source_answers_are_kept_per_live_store(web_app, monkeypatch):
    """A second view of a source page asks the graph nothing; a new live store asks again."""
    from web import resources

    calls = []  # the graph asked for a source's answer
    original = catalog.Catalog._source

    def counting(self, key):
        calls.append(key)
        return original(self, key)

    monkeypatch.setattr(catalog.Catalog, "_source", counting)
    state = web_app.extensions[resources.EXTENSION]
    with state.lock:
        state.answers = None  # earlier tests viewed these pages
    client = web_app.test_client()

    pages = []  # a view asked the catalog for a source
    asked = catalog.Catalog.source
    monkeypatch.setattr(
        catalog.Catalog, "source", lambda self, key, *rest: pages.append(key) or asked(self, key, *rest)
    )
    html = {"Accept": "text/html"}
    first = [client.get("/source/DH2011b", headers=html).data, client.get("/api/source/DH2011b").data]
    second = [client.get("/source/DH2011b", headers=html).data, client.get("/api/source/DH2011b").data]
    assert first == second and b"<html" in first[0] and calls == ["DH2011b"]
    assert pages == ["DH2011b", "DH2011b", "DH2011b"]  # the second HTML view was not even rendered
    with state.lock:  # the answers kept belong to another store, as after a rebuild went live
        state.answers = (Path("/an/older/generation/store"), state.answers[1])
    assert client.get("/source/DH2011b").status_code == 200
    assert calls == ["DH2011b", "DH2011b"]


# --- issue 13: error pages speak web ----------------------------------------------------------

#: Every way the web app answers 404, with the list page it must point to.
NOT_FOUND_PATHS = [
    ("/source/DH2099", "/sources"), ("/source/nope/bibtex", "/sources"), ("/api/source/DH2099", "/sources"),
    ("/concept/nope", "/concepts"), ("/concept/nope/bibtex", "/concepts"), ("/api/concept/nope", "/concepts"),
    ("/post/nope", "/posts"), ("/api/post/nope", "/posts"), ("/claim/nope", "/search"), ("/api/claim/nope", "/search"),
    ("/api/claim/nope/similar", "/search"), ("/org/nope", "/sources"), ("/sources?org=nope", "/sources"),
    ("/api/sources?org=nope", "/sources"), ("/cite?q=DH+2099", "/sources"), ("/api/cite?q=DH+2099", "/sources"),
    ("/api/claims?source=nope", "/sources"), ("/api/claims?concept=nope", "/concepts"),
    ("/api/claims?post=nope", "/posts"), ("/nowhere", "/"), ("/api/nowhere", "/"), ("/citation/nope", "/"),
    ("/citation-group/nope", "/"), ("/dump/nope", "/"), ("/search/bibtex?q=zzzzqqq", "/"),
]
CLI_WORDING = re.compile(r"`kg\b|\bkg (?:sparql|search|build|bibtex|cite|refs|serve|export)\b")


@pytest.mark.parametrize("path, listing", NOT_FOUND_PATHS)
def test_every_404_links_to_the_web_and_never_to_the_command_line(web_client, path, listing):
    as_json = web_client.get(path)
    assert as_json.status_code == 404, path
    body = as_json.get_json()
    assert not CLI_WORDING.search(json.dumps(body)), body
    assert body["see"]["href"] == listing
    assert len(body["links"]) == len(body["suggestions"]) and all(link["href"] for link in body["links"]), body
    if path.startswith("/api/"):
        return
    page_ = get(web_client, path)
    assert page_.status_code == 404 and page_.mimetype == "text/html"
    assert not CLI_WORDING.search(text_of(page_)), text_of(page_)
    hrefs = links(page_)
    assert listing in hrefs, hrefs
    for suggestion in body["suggestions"]:
        assert any(h.endswith("/" + suggestion) for h in hrefs), (suggestion, hrefs)


def test_an_unknown_source_page_links_the_closest_keys_and_the_sources_list(web_client):
    page_ = get(web_client, "/source/DH2099")
    hrefs = links(page_)
    assert "/source/DH2013" in hrefs and "/sources" in hrefs
    assert "most-cited-sources" not in page_.get_data(as_text=True)


# --- issue 17: a concept's claims a page at a time -------------------------------------------


def _broadest(settings) -> tuple[str, int]:
    """The concept with the most claims (its own and those below it), and how many."""
    cat = catalog.Catalog(settings)
    counts = {}
    for entry in cat.concepts()["az"]:
        cid = entry["id"]
        if cid not in counts:
            counts[cid] = cat.claim_list(concept_id=cid, limit=1000)["total"]
    cid = max(counts, key=lambda c: (counts[c], c))
    return cid, counts[cid]


def test_a_concept_pages_partition_its_claims_and_count_every_claim(built_settings):
    """Pages of a broad concept's claims, put together, are every claim once in post order; the
    co-occurring concepts and the total count every claim, not the page's."""
    cid, total = _broadest(built_settings)
    assert total > 2 * catalog.CONCEPT_PAGE_SIZE  # the seed's broadest concept spans three pages
    cat = catalog.Catalog(built_settings)
    everything = cat.claim_list(concept_id=cid, limit=1000)["claims"]
    first = cat.concept(cid)
    assert first["claims_total"] == total and first["limit"] == catalog.CONCEPT_PAGE_SIZE
    assert first["pages"] == -(-total // catalog.CONCEPT_PAGE_SIZE) and first["page"] == 1
    seen = []
    for number in range(1, first["pages"] + 1):
        found = cat.concept(cid, page=number)
        assert 0 < len(found["claims"]) <= catalog.CONCEPT_PAGE_SIZE
        assert found["co_occurring"] == first["co_occurring"] and found["sources"] == first["sources"]
        seen += found["claims"]
    assert [c["id"] for c in seen] == [c["id"] for c in everything]
    # Co-occurring: every other concept on these claims, counted over all of them, except the
    # concept itself and those below it.
    counted: dict[str, int] = {}
    for claim in seen:
        for c in claim["concepts"]:
            counted[c["id"]] = counted.get(c["id"], 0) + 1

    def below(other: str) -> bool:
        up, todo = set(), [other]
        while todo:
            for b in cat.concept(todo.pop(), limit=1)["broader"]:
                if b["id"] not in up:
                    up.add(b["id"])
                    todo.append(b["id"])
        return cid in up

    co = {row["id"]: row["count"] for row in first["co_occurring"]}
    assert co and co == {c: n for c, n in counted.items() if c != cid and not below(c)}
    with pytest.raises(PastLastPage) as info:
        cat.concept(cid, page=first["pages"] + 1)
    assert info.value.last == first["pages"]


def test_a_concept_page_links_its_pages_and_the_api_answers_the_same_page(web_client, built_settings):
    cid, total = _broadest(built_settings)
    size = catalog.CONCEPT_PAGE_SIZE
    response = web_client.get(f"/concept/{cid}", headers=HTML)
    body = response.get_data(as_text=True)
    assert f"Claims 1–{size} of {total}, in post order" in body
    assert f'href="/concept/{cid}?page=2" rel="next"' in body and 'rel="prev"' not in body
    second = web_client.get(f"/concept/{cid}?page=2", headers=HTML).get_data(as_text=True)
    assert f"Claims {size + 1}–{2 * size} of {total}" in second
    assert f'href="/concept/{cid}" rel="prev"' in second and f'href="/concept/{cid}?page=3" rel="next"' in second
    api_page = web_client.get(f"/api/concept/{cid}?page=2").get_json()
    assert api_page == json.loads(json.dumps(catalog.Catalog(built_settings).concept(cid, page=2)))
    for claim in api_page["claims"]:
        assert esc(claim["text"]) in second
    small = web_client.get(f"/concept/{cid}?limit=10&page=3", headers=HTML).get_data(as_text=True)
    assert f"Claims 21–30 of {total}" in small and f'href="/concept/{cid}?limit=10&amp;page=4" rel="next"' in small
    past = web_client.get(f"/api/concept/{cid}?page=99")
    assert past.status_code == 404 and "past the last page" in past.get_json()["error"]
    assert web_client.get(f"/api/concept/{cid}?limit=1001").status_code == 400


# --- issue 19: a source page carries the metadata reference managers capture ---------------------


def test_a_source_page_is_captured_as_its_reference(web_client, built_settings):
    """The Zotero Connector takes a source page for the report it is, with its institution and year,
    and the page links the same reference as CSL-JSON."""
    body = web_client.get("/source/DH2011b", headers=HTML).get_data(as_text=True)
    item = zotero_item(body)
    found = catalog.Catalog(built_settings).source("DH2011b")
    assert item["itemType"] == "report"
    assert item["title"] == found["title"] == "Payment by Results: Draft 2012-13 Mental Health Guidance"
    assert item["date"] == "2011" and item["institution"] == "Department of Health"
    assert item["creators"] == []  # an organisation is the institution, never a person "Health, Department of"
    linked = re.search(r'<link rel="alternate" type="application/vnd.citationstyles.csl\+json" href="([^"]+)"', body)
    assert linked and linked.group(1) == "/source/DH2011b/csl"
    download = web_client.get(linked.group(1))
    assert download.status_code == 200 and download.mimetype == "application/vnd.citationstyles.csl+json"
    assert download.get_json(force=True) == [found["csl"]] and 'filename="DH2011b.json"' in download.headers["Content-Disposition"]
    assert web_client.get("/source/dh2011b/csl").status_code == 301
    assert found["csl"]["type"] == "report" and found["csl"]["issued"] == {"date-parts": [[2011]]}


@pytest.mark.parametrize("entry, expected", [
    # A report by two people, with its institution and number.
    ("@techreport{NC2009, author = {Needham, Catherine and Carr, Sarah}, title = {Co-production: an emerging evidence base},"
     " institution = {Social Care Institute for Excellence}, number = {31}, year = {2009}}",
     {"itemType": "report", "institution": "Social Care Institute for Excellence", "number": "31", "date": "2009",
      "creators": [{"lastName": "Needham", "firstName": "Catherine"}, {"lastName": "Carr", "firstName": "Sarah"}]}),
    # An article: its journal, volume, issue and pages.
    ("@article{Gl2009, author = {Glasby, Jon}, title = {Personalisation and its critics}, journal = {Journal of Care Services},"
     " volume = {12}, number = {3}, pages = {45--58}, year = {2009}}",
     {"itemType": "journalArticle", "publicationTitle": "Journal of Care Services", "volume": "12", "date": "2009",
      "creators": [{"lastName": "Glasby", "firstName": "Jon"}]}),
    # A chapter in a book, published by a publisher, written by an organisation.
    ("@incollection{KF2014, author = {{King's Fund}}, title = {Commissioning}, booktitle = {Health policy explained},"
     " publisher = {Policy Press}, year = {2014}}",
     {"itemType": "bookSection", "bookTitle": "Health policy explained", "publisher": "Policy Press", "creators": []}),
])
def test_highwire_tags_read_as_zotero_reads_them(entry, expected):
    from kg.references import highwire_tags, parse_bibtex, to_csl_json

    references, failures = parse_bibtex(entry, "a test entry")
    assert not failures
    tags = highwire_tags(to_csl_json(references.values())[0])
    page = "<html><head>" + "".join(f'<meta name="{n}" content="{esc(c)}">' for n, c in tags) + "</head></html>"
    item = zotero_item(page)
    assert {k: item.get(k) for k in expected} == expected, tags


def test_a_source_page_offers_its_reference_in_harvard_and_apa_to_copy(web_client, built_settings):
    """The formatted references are citeproc-py's rendering of the source's CSL-JSON, shown with a copy button each."""
    found = catalog.Catalog(built_settings).source("DH2011b")
    assert found["formatted"] == {
        "harvard": "Department of Health (2011b) Payment by Results: Draft 2012-13 Mental Health Guidance. "
                   "Department of Health.",
        "apa": "Department of Health. (2011b). Payment by Results: Draft 2012-13 Mental Health Guidance. "
               "Department of Health.",
    }
    body = web_client.get("/source/DH2011b", headers=HTML).get_data(as_text=True)
    for name in ("harvard", "apa"):
        assert f'<span id="ref-{name}">{esc(found["formatted"][name])}</span>' in body
        assert f'data-copy="ref-{name}"' in body
    assert web_client.get("/api/source/DH2011b").get_json()["formatted"] == found["formatted"]
