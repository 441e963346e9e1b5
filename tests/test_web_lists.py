"""Lists as data (issue 19): JSON with the links of its pages, CSV, sort and page size checked, the
year facet, BibTeX/CSL-JSON/RIS of every source, concept and search, concept label completion,
scope notes, and posts with their author, date, original URL and provenance in words."""

from __future__ import annotations

import csv
import html as htmllib
import io
import json
import re
import shutil
from pathlib import Path

import bibtexparser
import pytest
import rispy
from click.testing import CliRunner
from test_web_api import HTML, api

from kg import build
from kg.cli import main
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def build_posts_corpus(tmp: Path):
    """Build the posts of tests/data/posts/corpus (Markdown, HTML, feeds, a WordPress export), which
    carry author, date and URL, with the seed library, into ``tmp/data``; return its settings."""
    corpus = tmp / "corpus"
    (corpus / "posts").mkdir(parents=True)
    for path in (ROOT / "tests" / "data" / "posts" / "corpus").iterdir():
        shutil.copy(path, corpus / "posts" / path.name)
    shutil.copy(ROOT / "corpus" / "references.bib", corpus / "references.bib")
    settings = load_settings(env={}, data_dir=tmp / "data", corpus_dir=corpus)
    assert build.build(settings).failures == []
    return settings


def walk(client, first: str) -> list[dict]:
    """Follow a paged JSON list's ``next`` links from ``first`` to the end; return every page."""
    pages, url = [], first
    while url:
        page = api(client, url)
        pages.append(page)
        assert page["links"]["first"] == pages[0]["links"]["first"]
        url = page["links"]["next"]
        assert len(pages) < 100, "the next links do not end"
    return pages


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Content-Disposition"].endswith('.csv"')
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# --- JSON pages walk the whole list -----------------------------------------------------------

def test_search_json_next_links_walk_every_result_once(web_client):
    everything = api(web_client, "/api/search", query_string={"q": "personal budgets", "limit": 200})
    assert everything["total"] > 20 and everything["links"]["next"] is None and everything["links"]["prev"] is None
    pages = walk(web_client, "/api/search?q=personal+budgets&limit=7")
    assert len(pages) == pages[0]["pages"] == -(-everything["total"] // 7)
    assert [hit["id"] for p in pages for hit in p["results"]] == [hit["id"] for hit in everything["results"]]
    # prev walks back, and first/last name the ends.
    assert pages[1]["links"]["prev"] == pages[0]["links"]["first"]
    assert api(web_client, pages[-1]["links"]["prev"])["page"] == len(pages) - 1
    assert pages[0]["links"]["last"] == pages[-1]["links"]["last"]
    assert api(web_client, pages[0]["links"]["last"])["page"] == len(pages)


def test_search_links_keep_the_filters(web_client):
    first = api(web_client, "/api/search", query_string={"q": "care", "concept": "personalisation", "limit": 3})
    assert "concept=personalisation" in first["links"]["next"]
    second = api(web_client, first["links"]["next"])
    assert second["page"] == 2 and second["total"] == first["total"]


@pytest.mark.parametrize("chosen, limit", [({"concept": "personalisation"}, 4), ({"source": "DH2011b"}, 2), ({}, 90)])
def test_claims_json_next_links_walk_the_whole_list(web_client, chosen, limit):
    everything = api(web_client, "/api/claims", query_string={**chosen, "limit": 1000})
    pages = walk(web_client, "/api/claims?" + "&".join(f"{k}={v}" for k, v in {**chosen, "limit": limit}.items()))
    assert len(pages) > 2
    ids = [c["id"] for p in pages for c in p["claims"]]
    assert ids == [c["id"] for c in everything["claims"]] and len(ids) == everything["total"]
    assert pages[0]["links"]["prev"] is None and pages[-1]["links"]["next"] is None


@pytest.mark.parametrize("path, rows, key, sort", [
    ("/api/sources", "sources", "key", "citations"),
    ("/api/sources", "sources", "key", "year"),
    ("/api/posts", "posts", "id", "title"),
    ("/api/posts", "posts", "id", "claims"),
])
def test_sources_and_posts_json_pages_walk_the_whole_list(web_client, path, rows, key, sort):
    everything = api(web_client, path, query_string={"sort": sort})
    # By default one page of 100 holds the seed corpus's list; its links say there is no other.
    assert everything["page"] == everything["pages"] == 1 and everything["limit"] == 100
    assert len(everything[rows]) == everything["total"] > 8
    assert everything["links"]["next"] is None and everything["links"]["prev"] is None
    pages = walk(web_client, f"{path}?sort={sort}&limit=4")
    assert len(pages) == pages[0]["pages"] == -(-everything["total"] // 4) > 2
    assert all(len(p[rows]) == 4 for p in pages[:-1]) and 1 <= len(pages[-1][rows]) <= 4
    assert [r[key] for p in pages for r in p[rows]] == [r[key] for r in everything[rows]]
    assert all(f"sort={sort}" in p["links"]["first"] and "limit=4" in p["links"]["last"] for p in pages)
    assert pages[1]["links"]["prev"] == pages[0]["links"]["first"]
    assert pages[0]["links"]["last"] == pages[-1]["links"]["last"]
    assert api(web_client, pages[0]["links"]["last"])["page"] == len(pages)


def test_one_organisations_sources_are_paged_with_the_organisation_kept(web_client):
    everything = api(web_client, "/api/sources", query_string={"org": "dh", "sort": "year"})
    assert everything["total"] >= 3, everything["total"]
    pages = walk(web_client, "/api/sources?org=dh&sort=year&limit=2")
    assert all("org=dh" in p["links"]["first"] for p in pages)
    assert [s["key"] for p in pages for s in p["sources"]] == [s["key"] for s in everything["sources"]]


@pytest.mark.parametrize("path, rows, key", [("/api/sources", "sources", "key"), ("/api/posts", "posts", "id")])
def test_sources_and_posts_csv_is_the_page_asked_for(web_client, path, rows, key):
    shown = api(web_client, path, query_string={"limit": 5, "page": 2})[rows]
    assert len(shown) == 5
    assert [r[key] for r in rows_of(web_client.get(path, query_string={"limit": 5, "page": 2, "format": "csv"}))] == [
        r[key] for r in shown
    ]


@pytest.mark.parametrize("path, noun", [("/sources", "source"), ("/posts", "post")])
def test_sources_and_posts_past_the_last_page_is_a_404_linking_the_last(web_client, path, noun):
    first = api(web_client, "/api" + path, query_string={"limit": 5})
    last = first["pages"]
    response = web_client.get("/api" + path, query_string={"limit": 5, "page": last + 1})
    body = response.get_json()
    assert response.status_code == 404 and body["status"] == 404
    assert f"past the last page of results, page {last} ({first['total']} {noun}s found, 5 a page)" in body["error"]
    assert body["last_page"] == f"/api{path}?sort={first['sort']}&page={last}&limit=5"
    assert api(web_client, body["last_page"])["page"] == last
    html = web_client.get(path, query_string={"limit": 5, "page": last + 1}, headers=HTML)
    assert html.status_code == 404
    assert f'href="{path}?sort={first["sort"]}&amp;page={last}&amp;limit=5"' in html.get_data(as_text=True)


@pytest.mark.parametrize("path, rows, label, limit", [("/sources", "sources", "sources", 1), ("/posts", "posts", "posts", 3)])
def test_sources_and_posts_pages_have_page_size_and_first_prev_next_last_links(web_client, path, rows, label, limit):
    everything = api(web_client, "/api" + path)
    pages = -(-everything["total"] // limit)
    assert pages >= 9  # so the window of pages around the middle leaves out both ends
    middle = (pages + 1) // 2
    text = web_client.get(path, query_string={"limit": limit, "page": middle}, headers=HTML).get_data(as_text=True)
    html = text.replace("&amp;", "&")
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == limit
    assert f"page {middle} of {pages}" in html
    nav = re.search(rf'<nav class="pager" aria-label="Pages of {label}">(.*?)</nav>', html, re.S)
    assert nav, html
    links = dict(re.findall(r'<a href="([^"]+)" rel="(\w+)"', nav.group(1)))
    by_rel = {rel: href for href, rel in links.items()}
    sort = everything["sort"]
    assert by_rel["prev"] == f"{path}?sort={sort}&page={middle - 1}&limit={limit}"
    assert by_rel["next"] == f"{path}?sort={sort}&page={middle + 1}&limit={limit}"
    assert by_rel["last"] == f"{path}?sort={sort}&page={pages}&limit={limit}"
    assert by_rel["first"] == f"{path}?sort={sort}&limit={limit}"
    # Each link shows the rows its JSON twin has.
    second = web_client.get(by_rel["next"], headers=HTML).get_data(as_text=True)
    twin = api(web_client, "/api" + by_rel["next"])
    assert twin["page"] == middle + 1
    for row in twin[rows]:
        assert (row.get("title") or row.get("key")) in htmllib.unescape(second)
    # The page size links, the JSON/CSV links and the sort form keep to the view shown.
    sizes = html.split(f'<p class="hint per-page">{label.capitalize()} a page: ')[1].split("</p>")[0]
    assert f"<strong>{limit}</strong>" in sizes and f'<a href="{path}?sort={sort}&limit=10">10</a>' in sizes
    assert f'<a href="{path}?sort={sort}">100</a>' in sizes  # the default needs no limit=
    assert f'href="/api{path}?sort={sort}&page={middle}&limit={limit}" type="application/json"' in html
    assert f'<input type="hidden" name="limit" value="{limit}">' in html


# --- CSV ----------------------------------------------------------------------------------------

def test_search_csv_is_the_page_of_results_with_a_header_and_quoting(web_client):
    query = {"q": "personal budgets", "limit": 15, "page": 2}
    found = api(web_client, "/api/search", query_string=query)
    response = web_client.get("/api/search", query_string={**query, "format": "csv"})
    assert response.headers["Content-Disposition"] == 'attachment; filename="search.csv"'
    text = response.get_data(as_text=True)
    assert text.splitlines()[0] == "id,text,post_id,post_title,section,sources,locators,concepts,score"
    rows = rows_of(response)
    assert [r["id"] for r in rows] == [hit["id"] for hit in found["results"]]
    # Commas, quotes and line breaks in a claim survive: the csv module quoted them.
    assert [r["text"] for r in rows] == [hit["text"] for hit in found["results"]]
    assert any("," in r["text"] for r in rows)
    assert [r["concepts"] for r in rows] == ["; ".join(c["id"] for c in hit["concepts"]) for hit in found["results"]]


def test_the_search_page_csv_link_is_its_view(web_client):
    page = web_client.get("/search?q=personal+budgets&page=2&limit=5&concept=personalisation", headers=HTML)
    html = page.get_data(as_text=True)
    csv_href = re.search(r'href="([^"]+format=csv)"', html).group(1).replace("&amp;", "&")
    json_href = re.search(r'href="([^"]+)" type="application/json"', html).group(1).replace("&amp;", "&")
    assert csv_href.startswith("/api/search?") and "page=2" in csv_href and "concept=personalisation" in csv_href
    found = api(web_client, json_href)
    assert found["page"] == 2
    assert [r["id"] for r in rows_of(web_client.get(csv_href))] == [hit["id"] for hit in found["results"]]


def test_sources_posts_and_claims_as_csv(web_client, built_settings):
    sources = api(web_client, "/api/sources?sort=year")["sources"]
    rows = rows_of(web_client.get("/api/sources?sort=year&format=csv"))
    assert [r["key"] for r in rows] == [s["key"] for s in sources]
    assert [int(r["times_cited"]) for r in rows] == [s["times_cited"] for s in sources]
    posts = api(web_client, "/api/posts?sort=claims")["posts"]
    rows = rows_of(web_client.get("/api/posts?sort=claims&format=csv"))
    assert [r["id"] for r in rows] == [p["id"] for p in posts]
    assert list(rows[0]) == ["id", "title", "author", "date", "url", "kind", "excerpt", "claims", "citations", "found_in"]
    claims = api(web_client, "/api/claims?source=DH2011b")["claims"]
    rows = rows_of(web_client.get("/api/claims?source=DH2011b&format=csv"))
    assert [r["id"] for r in rows] == [c["id"] for c in claims]
    assert all("DH2011b" in r["sources"].split("; ") for r in rows)


def test_every_list_page_links_its_json_and_csv(web_client):
    for path, api_path in [("/search?q=care", "/api/search?"), ("/source/DH2011b", "/api/claims?source=DH2011b"),
                           ("/concept/personal-budgets", "/api/claims?concept=personal-budgets"),
                           ("/sources", "/api/sources?"), ("/posts", "/api/posts?")]:
        html = web_client.get(path, headers=HTML).get_data(as_text=True).replace("&amp;", "&")
        links = re.findall(r'href="(/api/[^"]+)"', html)
        assert any(link.startswith(api_path) and "format=csv" in link for link in links), (path, links)
        assert any(link.startswith(api_path) and "format=csv" not in link for link in links), (path, links)
        for link in links:
            if link.startswith(api_path):
                assert web_client.get(link).status_code == 200, link


# --- bad parameters name what is allowed -------------------------------------------------------

@pytest.mark.parametrize("path, named", [
    ("/api/search?q=care&format=xml", ["json", "csv"]),
    ("/api/claims?format=ttl", ["json", "csv"]),
    ("/api/sources?format=html", ["json", "csv"]),
    ("/api/posts?format=tsv", ["json", "csv"]),
    ("/api/posts?sort=author", ["title", "date", "claims"]),
    ("/api/sources?sort=pages", ["citations", "year", "organisation", "title", "key"]),
    ("/api/search?q=care&limit=0", ["1", "200"]),
    ("/api/search?q=care&sort=year", ["relevance", "post"]),
    ("/api/search?q=care&limit=lots", ["1", "200"]),
    ("/api/claims?limit=5000", ["1", "1000"]),
    ("/api/claims?sort=date", ["post", "newest", "oldest"]),
    ("/api/claims?concept=personalisation&sort=relevance", ["post", "newest", "oldest"]),
    ("/api/concept/personalisation?sort=title", ["post", "newest", "oldest"]),
    ("/concept/personalisation?sort=title", ["post", "newest", "oldest"]),
    ("/api/sources?limit=0", ["1", "1000"]),
    ("/api/sources?limit=5000", ["1", "1000"]),
    ("/api/posts?limit=lots", ["1", "1000"]),
    ("/api/posts?page=0", ["1", "10000"]),
    ("/sources?limit=-3", ["1", "1000"]),
    ("/api/concepts/complete?q=", ["q="]),
])
def test_a_bad_list_parameter_is_a_400_naming_the_allowed_values(web_client, path, named):
    body = api(web_client, path, 400)
    assert body["ok"] is False and body["status"] == 400
    for value in named:
        assert value in body["error"], body["error"]


# --- search order ----------------------------------------------------------------------------

def test_search_sorted_by_post_keeps_each_posts_claim_order(web_client):
    ranked = api(web_client, "/api/search", query_string={"q": "personal budgets", "limit": 200})
    pages = walk(web_client, "/api/search?q=personal+budgets&limit=9&sort=post")
    hits = [hit for p in pages for hit in p["results"]]
    assert all("sort=post" in p["links"]["first"] for p in pages)
    assert sorted(h["id"] for h in hits) == sorted(h["id"] for h in ranked["results"]) and len(hits) == ranked["total"]
    titles = [h["post"]["title"].casefold() for h in hits]
    assert titles == sorted(titles) and hits != ranked["results"]
    for post_id in {h["post"]["id"] for h in hits}:
        in_post = [c["id"] for c in api(web_client, "/api/claims", query_string={"post": post_id})["claims"]]
        found = [h["id"] for h in hits if h["post"]["id"] == post_id]
        assert found == [cid for cid in in_post if cid in found], post_id


def test_kg_search_sort_is_the_api_answer(web_client, built_settings):
    out = CliRunner().invoke(main, ["search", "--data", str(built_settings.data_dir), "--json", "--sort", "post",
                                    "--limit", "5", "--page", "2", "personal budgets"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == api(web_client, "/api/search", query_string={
        "q": "personal budgets", "sort": "post", "limit": 5, "page": 2})


def test_the_search_page_offers_both_orders_and_keeps_the_order_in_its_links(web_client):
    html = web_client.get("/search?q=personal+budgets&sort=post&limit=10", headers=HTML).get_data(as_text=True)
    html = html.replace("&amp;", "&")
    order = html[html.index('id="search-order"'):]
    order = order[:order.index("</p>")]
    assert "<strong>by post" in order and 'href="/search?q=personal+budgets&limit=10">best match first' in order
    assert 'name="sort" value="post"' in html
    assert re.search(r'href="/api/search\?[^"]*sort=post[^"]*format=csv"', html)
    assert re.search(r'href="/search\?q=personal\+budgets&page=2&limit=10&sort=post"', html)


# --- the year facet --------------------------------------------------------------------------

def test_search_offers_a_year_facet_that_filters(web_client):
    found = api(web_client, "/api/search", query_string={"q": "payment by results"})
    years = found["facets"]["years"]
    assert years and all(re.fullmatch(r"\d{4}", row["value"]) for row in years)
    top = years[0]
    narrowed = api(web_client, "/api/search", query_string={"q": "payment by results", "year": top["value"]})
    assert narrowed["total"] == top["count"] < found["total"]
    assert [row for row in narrowed["facets"]["years"] if row["value"] == top["value"]][0]["selected"] is True
    page = web_client.get(f"/search?q=payment+by+results&year={top['value']}", headers=HTML).get_data(as_text=True)
    assert "Year of the cited source" in page and f"year: {top['value']}" in page


# --- references in every format --------------------------------------------------------------

@pytest.mark.parametrize("base, name", [
    ("/source/DH2011b", "DH2011b"),
    ("/concept/personal-budgets", "personal-budgets-sources"),
    ("/search", "search-sources"),
])
def test_sources_export_as_bibtex_csl_json_and_ris_that_parse(web_client, base, name):
    query = {"q": "personal budgets"} if base == "/search" else {}
    bib = web_client.get(f"{base}/bibtex", query_string=query)
    assert bib.status_code == 200 and bib.mimetype == "application/x-bibtex"
    keys = [entry.key for entry in bibtexparser.parse_string(bib.get_data(as_text=True)).entries]
    assert keys
    csl = web_client.get(f"{base}/csl", query_string=query)
    assert csl.mimetype == "application/vnd.citationstyles.csl+json"
    assert csl.headers["Content-Disposition"] == f'attachment; filename="{name}.json"'
    items = json.loads(csl.get_data(as_text=True))
    assert [item["id"] for item in items] == keys and all(item["title"] for item in items)
    ris = web_client.get(f"{base}/ris", query_string=query)
    assert ris.mimetype == "application/x-research-info-systems"
    assert ris.headers["Content-Disposition"] == f'attachment; filename="{name}.ris"'
    records = rispy.loads(ris.get_data(as_text=True))
    assert [r["id"] for r in records] == keys
    by_id = {item["id"]: item for item in items}
    for record in records:
        assert record["title"] == by_id[record["id"]]["title"]
        assert record["year"] == str(by_id[record["id"]]["issued"]["date-parts"][0][0])
        assert record["type_of_reference"] in {"RPRT", "BOOK", "JOUR", "CHAP", "ELEC", "GEN", "CPAPER", "THES",
                                               "UNPB", "PAMP"}


def test_ris_reads_back_through_kgs_own_ris_reader(web_client):
    from kg.refs import read_text

    text = web_client.get("/source/DH2011b/ris").get_data(as_text=True)
    parsed = read_text(text, "DH2011b.ris", "ris")
    assert parsed.failures == [] and [r.key for r in parsed.references] == ["DH2011b"]
    assert parsed.references[0].fields["title"].startswith("Payment by Results")


def test_kg_bibtex_exports_ris_too(built_settings):
    out = CliRunner().invoke(main, ["bibtex", "--data", str(built_settings.data_dir), "--format", "ris", "DH2011b"])
    assert out.exit_code == 0, out.output
    assert [r["id"] for r in rispy.loads(out.stdout)] == ["DH2011b"]


# --- concepts: completion, scope notes, the tree -----------------------------------------------

@pytest.mark.parametrize("typed, first", [
    ("PHB", "personal-health-budgets"),
    ("brokera", "support-brokerage"),  # part of the alt label "brokerage"
    ("direct pay", "direct-payments"),
    ("  Payment  by ", "payment-by-results"),
])
def test_completion_finds_a_concept_by_part_of_any_label(web_client, typed, first):
    found = api(web_client, "/api/concepts/complete", query_string={"q": typed})
    assert found["results"][0]["id"] == first
    assert found["results"][0]["url"] == f"/concept/{first}"
    assert len({r["id"] for r in found["results"]}) == len(found["results"])  # each concept once


def test_a_label_starting_with_the_text_comes_before_one_with_a_word_starting_so(web_client):
    found = api(web_client, "/api/concepts/complete", query_string={"q": "social care budg"})
    assert [(r["label"], r["id"]) for r in found["results"]] == [
        ("social care budgets", "social-care-funding"), ("personal social care budget", "personal-budgets")]


def test_completion_covers_every_pref_and_alt_label(web_client):
    scheme = api(web_client, "/api/concepts")
    entries = [e for _, group in scheme["az"] for e in group]
    for entry in entries[::7]:
        found = api(web_client, "/api/concepts/complete", query_string={"q": entry["label"], "limit": 50})
        assert entry["id"] in [r["id"] for r in found["results"]], entry


def test_find_without_javascript_opens_the_best_match_or_says_none(web_client):
    found = web_client.get("/concepts/find?q=PHB", headers=HTML)
    assert found.status_code == 303 and found.headers["Location"] == "/concept/personal-health-budgets"
    missing = web_client.get("/concepts/find?q=qqqzzzxx", headers=HTML)
    assert missing.status_code == 404 and "no concept has a label like" in missing.get_data(as_text=True)


def test_scope_notes_are_in_the_answer_and_on_the_page(web_client):
    concept = api(web_client, "/api/concept/personal-budgets")
    assert concept["scope_note"].startswith("Social care budgets only")
    assert api(web_client, "/api/concept/care-act-2014")["scope_note"] is None
    page = web_client.get("/concept/personal-budgets", headers=HTML).get_data(as_text=True)
    assert "Scope:" in page and "Social care budgets only" in page


def test_the_concept_tree_nests_no_link_in_a_toggle(web_client):
    page = web_client.get("/concepts", headers=HTML).get_data(as_text=True)
    summaries = re.findall(r"<summary>(.*?)</summary>", page, re.S)
    assert len(summaries) > 10
    assert not any("<a " in s or "<button" in s for s in summaries)
    tree = page[page.index('<ul class="tree">'):page.index("</section>")]
    assert tree.count('<a href="/concept/') >= api(web_client, "/api/concepts")["count"]


# --- posts: author, date, original URL, sortable, provenance in words --------------------------

@pytest.fixture(scope="module")
def posts_settings(tmp_path_factory):
    """The settings of a build of posts that carry author, date and URL (build_posts_corpus)."""
    return build_posts_corpus(tmp_path_factory.mktemp("lists-posts"))


@pytest.fixture(scope="module")
def posts_client(posts_settings):
    """The app over posts that carry author, date and URL (build_posts_corpus)."""
    from web import create_app

    settings = posts_settings
    return create_app({"DATA_DIR": str(settings.data_dir), "TESTING": True}).test_client()


def test_posts_carry_author_date_and_original_url(posts_client):
    posts = {p["id"]: p for p in api(posts_client, "/api/posts")["posts"]}
    delays = posts["discharge-delays"]
    assert (delays["author"], delays["date"], delays["url"]) == (
        "Hannah Okafor", "2023-01-18", "https://blog.example.org.uk/2023/01/discharge-delays")
    assert posts["icbs-one-year-on"]["author"] == "Leila Haddad and Martin Cole"
    undated = posts["personal-health-budgets"]
    assert (undated["author"], undated["date"], undated["url"]) == (None, None, None)
    post = api(posts_client, "/api/post/discharge-delays")
    assert (post["author"], post["date"], post["url"]) == (delays["author"], delays["date"], delays["url"])
    assert post["found_in"] == delays["found_in"]


def test_provenance_is_said_in_words(posts_client):
    delays = api(posts_client, "/api/post/discharge-delays")
    assert re.fullmatch(r"From lines 1–\d+ of the file discharge-delays\.md in your corpus folder, "
                        r"read when this graph was built on \d{1,2} [A-Z][a-z]+ 20\d\d\.", delays["found_in"])
    page = posts_client.get("/post/discharge-delays", headers=HTML).get_data(as_text=True)
    assert "Hannah Okafor" in page and '<time datetime="2023-01-18">' in page
    assert '<a href="https://blog.example.org.uk/2023/01/discharge-delays" rel="noopener noreferrer">' in page
    assert delays["found_in"] in page and "dump <code>" not in page


@pytest.mark.parametrize("sort", ["title", "date", "claims"])
def test_the_posts_list_sorts(posts_client, sort):
    posts = api(posts_client, "/api/posts", query_string={"sort": sort})["posts"]
    assert len(posts) == 10
    if sort == "title":
        assert [p["title"].casefold() for p in posts] == sorted(p["title"].casefold() for p in posts)
    elif sort == "date":
        dated = [p["date"] for p in posts if p["date"]]
        assert dated == sorted(dated, reverse=True) and len(dated) < len(posts)
        assert [p["date"] for p in posts[len(dated):]] == [None] * (len(posts) - len(dated))  # undated last
    else:
        assert [p["claims"] for p in posts] == sorted((p["claims"] for p in posts), reverse=True)
    page = posts_client.get("/posts", query_string={"sort": sort}, headers=HTML).get_data(as_text=True)
    titles = re.findall(r'<td><a href="/post/([^"]+)">', page)
    assert titles == [p["id"] for p in posts]


@pytest.mark.parametrize("path, link, see", [
    ("/source/DH2011x/ris", "/source/DH2011b", "/sources"),
    ("/concept/personal-budget/csl", "/concept/personal-budgets", "/concepts"),
    ("/concepts/find?q=persnalisaton", "/concept/personalisation", "/concepts"),
])
def test_a_404_of_an_export_or_a_find_links_the_closest_and_the_list(web_client, path, link, see):
    body = api(web_client, path, 404)
    assert link in [entry["href"] for entry in body["links"]]
    assert body["see"]["href"] == see


# --- claim lists by post date ----------------------------------------------------------------

def post_dates(settings) -> dict[str, str | None]:
    """Each post's publication date as the corpus files give it (read here, not from the build)."""
    from kg.corpus import load_posts

    posts, failures = load_posts(settings.corpus_dir / "posts")
    assert failures == []
    return {post.id: post.date for post in posts}


def in_order(claims: list[dict], dates: dict[str, str | None], sort: str) -> list[str]:
    """The ids of ``claims`` in order ``sort``, computed here: post order is the post title (as code
    points) then the place in the post; by date, the dated posts' claims newest or oldest first (a
    stable sort keeps post order within a day), then the undated posts' claims in post order."""
    by_post = sorted(claims, key=lambda c: (c["post"]["title"], c["ordinal"], c["id"]))
    if sort == "post":
        return [c["id"] for c in by_post]
    dated = sorted((c for c in by_post if dates[c["post"]["id"]]), key=lambda c: dates[c["post"]["id"]],
                   reverse=sort == "newest")
    return [c["id"] for c in dated + [c for c in by_post if not dates[c["post"]["id"]]]]


@pytest.fixture(scope="module")
def dated(posts_settings):
    return post_dates(posts_settings)


@pytest.mark.parametrize("sort", ["post", "newest", "oldest"])
@pytest.mark.parametrize("chosen, limit", [({}, 9), ({"concept": "care-workforce"}, 2), ({"concept": "personalisation"}, 1)])
def test_claim_lists_sort_by_post_date_with_undated_posts_last(posts_client, dated, chosen, sort, limit):
    everything = api(posts_client, "/api/claims", query_string={**chosen, "limit": 1000, "sort": "post"})
    expected = in_order(everything["claims"], dated, sort)
    assert len(expected) == everything["total"] > limit
    query = "&".join(f"{k}={v}" for k, v in {**chosen, "limit": limit, "sort": sort}.items())
    pages = walk(posts_client, f"/api/claims?{query}")
    assert [c["id"] for p in pages for c in p["claims"]] == expected
    # Every link of every page keeps the order (post order is the default, named by none).
    for p in pages:
        for link in filter(None, p["links"].values()):
            assert (f"sort={sort}" in link) == (sort != "post"), link
    # The boundary: an undated post's claims come after every dated one's, in both date orders.
    flags = [dated[c["post"]["id"]] is None for p in pages for c in p["claims"]]
    if sort != "post":
        assert flags == sorted(flags)
    # The CSV of a page is that page, in the same order.
    csv_rows = rows_of(posts_client.get(f"/api/claims?{query}&page=2&format=csv"))
    assert [r["id"] for r in csv_rows] == [c["id"] for c in pages[1]["claims"]]


def test_the_three_orders_differ_on_a_list_with_dates_and_no_date(posts_client, dated):
    orders = {sort: [c["id"] for c in api(posts_client, "/api/claims", query_string={"sort": sort, "limit": 1000})["claims"]]
              for sort in ("post", "newest", "oldest")}
    assert len({tuple(ids) for ids in orders.values()}) == 3
    undated = [c for c in api(posts_client, "/api/claims?post=personal-health-budgets")["claims"]]
    assert undated and dated["personal-health-budgets"] is None
    tail = [c["id"] for c in undated]
    assert orders["newest"][-len(tail):] == orders["oldest"][-len(tail):] == tail


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_the_concept_page_and_its_json_list_claims_by_post_date(posts_client, dated, sort):
    everything = api(posts_client, "/api/claims", query_string={"concept": "care-workforce", "limit": 1000})
    expected = in_order(everything["claims"], dated, sort)
    answer = api(posts_client, "/api/concept/care-workforce", query_string={"sort": sort, "limit": 4, "page": 2})
    assert answer["sort"] == sort and [c["id"] for c in answer["claims"]] == expected[4:8]
    html = posts_client.get(f"/concept/care-workforce?sort={sort}&limit=4&page=2", headers=HTML)
    assert html.status_code == 200
    page = html.get_data(as_text=True).replace("&amp;", "&")
    claims = page[page.index('id="claims-h"'):]
    assert re.findall(r'<li><a href="/claim/([^"]+)">', claims) == expected[4:8]
    label = {"newest": "newest post first", "oldest": "oldest post first"}[sort]
    assert f"of {len(expected)}, {label}" in claims
    # The sort form keeps the page size; the pager, the page sizes and the downloads keep the order.
    form = claims[claims.index("<form"):claims.index("</form>")]
    assert f'<option value="{sort}" selected>' in form and '<input type="hidden" name="limit" value="4">' in form
    assert re.search(rf'href="/concept/care-workforce\?limit=4&sort={sort}" rel="prev"', claims)
    assert re.search(rf'href="/concept/care-workforce\?limit=4&sort={sort}&page=3" rel="next"', claims)
    assert re.search(rf'href="/concept/care-workforce\?limit=10&sort={sort}"', claims)
    json_link = re.search(r'href="(/api/claims[^"]+)" type="application/json"', claims).group(1)
    csv_link = re.search(r'href="(/api/claims[^"]+format=csv)"', claims).group(1)
    assert f"sort={sort}" in json_link and f"sort={sort}" in csv_link
    assert [c["id"] for c in api(posts_client, json_link)["claims"]] == expected[4:8]
    assert [r["id"] for r in rows_of(posts_client.get(csv_link))] == expected[4:8]


def test_the_concept_page_in_post_order_names_no_sort(posts_client):
    page = posts_client.get("/concept/care-workforce?limit=4", headers=HTML).get_data(as_text=True)
    claims = page[page.index('id="claims-h"'):]
    assert "in post order" in claims and "sort=post" not in claims
    assert '<option value="post" selected>' in claims


def test_a_source_pages_downloads_keep_the_order_chosen(web_client):
    page = web_client.get("/source/DH2011b?sort=newest", headers=HTML).get_data(as_text=True).replace("&amp;", "&")
    links = re.findall(r'href="(/api/claims\?[^"]+)"', page)
    assert links and all("source=DH2011b" in link and "sort=newest" in link for link in links)
    order = page[page.index('id="list-order"'):]
    order = order[:order.index("</p>")]
    assert '<strong aria-current="true">newest post first</strong>' in order
    assert 'href="/source/DH2011b#citing-h">post order</a>' in order
    assert 'href="/source/DH2011b?sort=oldest#citing-h">oldest post first</a>' in order
    wrong = web_client.get("/source/DH2011b?sort=year", headers=HTML)
    assert wrong.status_code == 400 and "sort by post, newest, oldest" in wrong.get_data(as_text=True)
    plain = web_client.get("/source/DH2011b", headers=HTML).get_data(as_text=True)
    assert "sort=" not in "".join(re.findall(r'href="/api/claims[^"]+"', plain))


@pytest.mark.parametrize("chosen", [{"source": "DH2011b"}, {"concept": "personal-budgets"}, {}])
def test_claims_of_undated_posts_keep_post_order_in_both_date_orders(web_client, chosen):
    # The seed corpus's posts were scraped without dates: every claim is an undated post's.
    orders = [[c["id"] for c in api(web_client, "/api/claims", query_string={**chosen, "limit": 1000, "sort": sort})["claims"]]
              for sort in ("post", "newest", "oldest")]
    assert orders[0] and orders[0] == orders[1] == orders[2]


def test_an_incremental_build_lists_claims_by_the_new_dates(tmp_path):
    from kg.catalog import Catalog

    settings = build_posts_corpus(tmp_path)
    before = Catalog(settings).claim_list(limit=1000, sort="newest")["claims"]
    assert before[0]["post"]["id"] != "carers-breaks"
    # The oldest dated post becomes the newest, and the undated one gets a date.
    posts = settings.corpus_dir / "posts"
    carers = posts / "carers-breaks.md"
    carers.write_text(carers.read_text(encoding="utf-8").replace("date: 2021-06-07", "date: 2024-02-01"),
                      encoding="utf-8")
    budgets = posts / "personal-health-budgets.md"
    budgets.write_text("---\ndate: 2019-05-01\n---\n" + budgets.read_text(encoding="utf-8"), encoding="utf-8")
    report = build.build(settings)
    assert report.failures == [] and report.mode == "incremental", report.mode
    dates = post_dates(settings)
    assert dates["carers-breaks"] == "2024-02-01" and dates["personal-health-budgets"] == "2019-05-01"
    everything = Catalog(settings).claim_list(limit=1000)["claims"]
    for sort in ("newest", "oldest"):
        listed = Catalog(settings).claim_list(limit=1000, sort=sort)["claims"]
        assert [c["id"] for c in listed] == in_order(everything, dates, sort)
    newest = Catalog(settings).claim_list(limit=1000, sort="newest")["claims"]
    assert newest[0]["post"]["id"] == "carers-breaks" and newest[-1]["post"]["id"] == "personal-health-budgets"
