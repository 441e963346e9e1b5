"""Search as a user meets it, through all three surfaces on the built seed corpus: `kg search`,
the page /search and the API /api/search (issue 13: typed filters, honest counts, highlights of
expansions, paging past the end, empty queries, a query naming a source, the page's limit=)."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.search import MAX_LIMIT

SURFACES = ("cli", "page", "api")


def cli_json(settings, query: str, *args: str) -> dict:
    out = CliRunner().invoke(main, ["search", query, "--json", *args, "--data", str(settings.data_dir)])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def page_html(client, **params) -> tuple[int, str]:
    response = client.get("/search", query_string=params, headers={"Accept": "text/html"})
    return response.status_code, response.get_data(as_text=True)


def _page_result(body: str) -> dict:
    """The total, the claim ids and the highlights a results page shows."""
    heading = re.search(r'<h2 id="results-h">(\d+) claims? found', body)
    assert heading, body[:2000]
    hits = re.findall(r'<li class="result">\s*<p class="text"><a href="/claim/([^"]+)">(.*?)</a></p>', body, re.S)
    return {"total": int(heading.group(1)), "ids": [h[0] for h in hits], "highlights": [h[1] for h in hits]}


def found(surface: str, settings, client, q: str, limit: int = MAX_LIMIT, **filters: str | list[str]) -> dict:
    """Search through one surface: the total, the ids in rank order and the highlights shown."""
    if surface == "cli":
        if filters:
            pytest.skip("kg search takes filters typed into the query only")
        data = cli_json(settings, q, "--limit", str(limit))
    elif surface == "api":
        response = client.get("/api/search", query_string={"q": q, "limit": limit, **filters})
        assert response.status_code == 200, response.get_data(as_text=True)
        data = response.get_json()
    else:
        status, body = page_html(client, q=q, limit=limit, **filters)
        assert status == 200, body[:500]
        return _page_result(body)
    return {"total": data["total"], "ids": [r["id"] for r in data["results"]],
            "highlights": [r["highlight"] for r in data["results"]], "results": data["results"]}


# --- 1. a filter typed in the box narrows the words, exactly as the facet does ------------------

TYPED_AND_FACET = [
    ("source:DH2011b zebra", "zebra", {"source": "DH2011b"}),
    ("source:DH2011b protocols", "protocols", {"source": "DH2011b"}),
    ("concept:personalisation budgets", "budgets", {"concept": "personalisation"}),
    ("year:2011 care", "care", {"year": "2011"}),
    # A filter between words does not split them (the pair bonus and expansions see "care protocols").
    ("care source:DH2011b protocols", "care protocols", {"source": "DH2011b"}),
    # Two values of one field widen, as two ticked facets do.
    ("source:DH2011b source:DH2013 care", "care", {"source": ["DH2011b", "DH2013"]}),
]


@pytest.mark.parametrize("typed, words, facet", TYPED_AND_FACET)
def test_typed_filter_gives_the_facets_answer(built_settings, web_client, typed, words, facet):
    api = web_client.get("/api/search", query_string={"q": words, "limit": MAX_LIMIT, **facet}).get_json()
    expected = {"total": api["total"], "ids": [r["id"] for r in api["results"]]}
    for surface in SURFACES:
        got = found(surface, built_settings, web_client, typed)
        assert {"total": got["total"], "ids": got["ids"]} == expected, surface
        # The page's own facet parameters give the same as well.
        if surface == "page":
            by_facet = found("page", built_settings, web_client, words, **facet)
            assert by_facet["ids"] == expected["ids"]


def test_typed_filter_keeps_the_words_required(built_settings, web_client):
    only_filter = found("api", built_settings, web_client, "concept:personalisation")["total"]
    narrowed = found("api", built_settings, web_client, "concept:personalisation budgets")
    assert 0 < narrowed["total"] < only_filter
    assert all(re.search(r"budget", r["text"], re.I) or any("budget" in c["label"].lower() for c in r["concepts"])
               for r in narrowed["results"])
    assert found("api", built_settings, web_client, "source:DH2011b zebra")["total"] == 0


# --- 4. a claim matching only through its post's title is not a match -------------------------

S117 = re.compile(r"\bS\.?\s?117\b|\bsection\s+117\b", re.I)


@pytest.mark.parametrize("surface", SURFACES)
def test_s117_counts_only_claims_that_mention_it(built_settings, web_client, surface):
    got = found(surface, built_settings, web_client, "S117")
    texts = [re.sub(r"</?mark>", "", html.unescape(h)) for h in got["highlights"]]
    assert 0 < got["total"] == len(texts) <= 10
    assert all(S117.search(t) for t in texts), [t[:80] for t in texts if not S117.search(t)]


# --- 5. an expansion is marked only where the whole expanded phrase stands ---------------------

@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("query, phrase, lone", [
    ("RAS", r"resource\s+allocation\s+systems?", r"resource|allocation|systems?"),
    ("PbR", r"payment\s+(?:by\s+)?results?", r"payment|results?"),
])
def test_expansions_are_marked_only_as_whole_phrases(built_settings, web_client, surface, query, phrase, lone):
    got = found(surface, built_settings, web_client, query)
    whole = re.compile(r"<mark>(?:[^<]*)</mark>(?:\s+(?:by\s+)?<mark>[^<]*</mark>)*", re.I)
    marked_expansion = 0
    for highlight in got["highlights"]:
        for run in whole.findall(highlight):
            words = re.sub(r"</?mark>", "", run)
            if re.fullmatch(lone, words.split()[0], re.I) or re.fullmatch(lone, words.split()[-1], re.I):
                # A marked expansion word stands in a marked run that is the whole expansion.
                assert re.fullmatch(phrase, words, re.I), (surface, words, highlight[:200])
                marked_expansion += 1
    assert marked_expansion, "the expansion should be found and marked somewhere"


def test_ras_does_not_mark_system_alone(built_settings, web_client):
    hits = found("api", built_settings, web_client, "RAS")["results"]
    shaking = [r for r in hits if "shaking up the system" in " ".join(r["text"].split())]
    assert shaking, "the claim the issue names should still be found (it says RAS)"
    assert all("<mark>system</mark>" not in r["highlight"] for r in shaking)
    assert all("<mark>RAS</mark>" in r["highlight"] for r in shaking)


# --- 6. past the last page is a 404 linking the last page --------------------------------------

def test_past_the_last_page_is_a_404_with_the_last_page(built_settings, web_client):
    first = web_client.get("/api/search", query_string={"q": "care"}).get_json()
    last = first["pages"]
    assert last > 1
    response = web_client.get("/api/search", query_string={"q": "care", "page": last + 1})
    body = response.get_json()
    assert response.status_code == 404
    assert body["ok"] is False and body["status"] == 404 and f"page {last}" in body["error"]
    assert body["last_page"] == f"/api/search?q=care&page={last}"
    assert web_client.get(body["last_page"]).status_code == 200

    last10 = -(-first["total"] // 10)
    status, page = page_html(web_client, q="care", page=last10 + 1, limit=10)
    assert status == 404 and f"page {last10 + 1} of" not in page
    assert f'href="/search?q=care&amp;page={last10}&amp;limit=10"' in page
    status, page = page_html(web_client, q="care", page=last10, limit=10)
    assert status == 200 and f"page {last10} of {last10}" in page

    out = CliRunner().invoke(main, ["search", "care", "--page", str(last + 1), "--data", str(built_settings.data_dir)])
    assert out.exit_code == 1 and f"past the last page of results, page {last}" in out.output


def test_a_search_with_no_match_has_only_page_one(built_settings, web_client):
    assert web_client.get("/api/search", query_string={"q": "zebra"}).status_code == 200
    response = web_client.get("/api/search", query_string={"q": "zebra", "page": 2})
    assert response.status_code == 404 and response.get_json()["last_page"] == "/api/search?q=zebra"


# --- 8. an empty query is a usage error ---------------------------------------------------------

@pytest.mark.parametrize("args", [[""], ["   "], ["\t"], []])
def test_empty_cli_query_is_a_usage_error(built_settings, args):
    out = CliRunner().invoke(main, ["search", *args, "--data", str(built_settings.data_dir)])
    assert out.exit_code == 2, out.output
    assert "give the words to search for" in out.output and "No claims match" not in out.output


# --- 11. a query that names a source offers its page -------------------------------------------

@pytest.mark.parametrize("query", ["DH2011b", "dh2011B", "DH 2011b", "Department of Health 2011b", "(DH, 2011b:6)"])
def test_a_query_naming_a_source_offers_it(built_settings, web_client, query):
    data = cli_json(built_settings, query)
    assert data["source"]["key"] == "DH2011b" and "2011b" in data["source"]["label"]
    api = web_client.get("/api/search", query_string={"q": query}).get_json()
    assert api["source"] == data["source"]
    status, page = page_html(web_client, q=query)
    assert status == 200 and 'href="/source/DH2011b"' in page and "names a source in the library" in page
    out = CliRunner().invoke(main, ["search", query, "--data", str(built_settings.data_dir)])
    assert out.exit_code == 0 and "Source: DH2011b" in out.output


@pytest.mark.parametrize("query", ["care transition protocols", "2011", "DH", "Department of Health 2099"])
def test_other_queries_offer_no_source(built_settings, web_client, query):
    assert cli_json(built_settings, query)["source"] is None
    assert web_client.get("/api/search", query_string={"q": query}).get_json()["source"] is None
    assert "names a source in the library" not in page_html(web_client, q=query)[1]


# --- 13. the page honours limit= ---------------------------------------------------------------

def test_page_honours_limit_and_keeps_it_in_its_links(built_settings, web_client):
    status, body = page_html(web_client, q="care", limit=7)
    shown = _page_result(body)
    api = web_client.get("/api/search", query_string={"q": "care", "limit": 7}).get_json()
    assert status == 200 and shown["ids"] == [r["id"] for r in api["results"]] and len(shown["ids"]) == 7
    assert 'href="/search?q=care&amp;page=2&amp;limit=7"' in body
    assert '<input type="hidden" name="limit" value="7">' in body
    assert f"takes 1 to {MAX_LIMIT}" in body


@pytest.mark.parametrize("limit", [0, MAX_LIMIT + 1, "many"])
def test_page_limit_out_of_range_is_refused_naming_the_range(web_client, limit):
    status, body = page_html(web_client, q="care", limit=limit)
    assert status == 400 and f"from 1 to {MAX_LIMIT}" in body
    api = web_client.get("/api/search", query_string={"q": "care", "limit": limit})
    assert api.status_code == 400 and f"from 1 to {MAX_LIMIT}" in api.get_json()["error"]
