"""The JSON API, the one error shape, and bad input (XSS payloads, huge parameters, big bodies) on every route."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kg import catalog, search
from kg.cli import main

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def api(client, path, status=200, **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def assert_error(body, status):
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in body["error"]


# --- every route answers --------------------------------------------------------------------

def test_api_index_lists_routes_that_all_answer(web_client):
    routes = api(web_client, "/api/")["routes"]
    for name in ("stats", "concepts", "posts", "audit", "queries", "sources"):
        assert api(web_client, routes[name].split("?")[0])


def test_stats(web_client, built_settings):
    assert api(web_client, "/api/stats") == json.loads(json.dumps(catalog.stats(built_settings)))


def test_search_returns_exactly_the_json_of_kg_search(web_client, built_settings):
    body = api(web_client, "/api/search?q=care+transition+protocols&page=1")
    cli = CliRunner().invoke(main, ["search", "--data", str(built_settings.data_dir), "--json",
                                    "care transition protocols"], catch_exceptions=False)
    assert cli.exit_code == 0, cli.output
    assert body == json.loads(cli.output)
    assert body["total"] > 0 and body["results"][0]["highlight"]


def test_search_filters_and_paging(web_client, built_settings):
    body = api(web_client, "/api/search?q=payment+by+results&concept=care-transition-protocols&limit=2&page=1")
    expected = search.search(built_settings, "payment by results", filters={"concept": ["care-transition-protocols"]},
                             limit=2)
    assert body == json.loads(json.dumps(expected))
    assert all(any(c["id"] == "care-transition-protocols" for c in hit["concepts"]) for hit in body["results"])


def test_cite_lookup(web_client):
    body = api(web_client, "/api/cite", query_string={"q": "(DH, 2011b:6)"})
    assert body["key"] == "DH2011b" and body["url"] == "/source/DH2011b?locator=6" and body["locator"] == "6"
    missing = api(web_client, "/api/cite", 404, query_string={"q": "Department of Health 2011"})
    assert_error(missing, 404)
    assert missing["suggestions"] == ["DH2011a", "DH2011b"]


def test_sources_and_source(web_client, built_settings):
    body = api(web_client, "/api/sources?sort=year")
    years = [s["year"] for s in body["sources"]]
    assert years == sorted(years) and len(years) == len(catalog.sources(built_settings))
    source = api(web_client, "/api/source/DH2011b")
    assert source["bibtex"].startswith("@techreport{DH2011b,")
    assert source["times_cited"] == len(catalog.citations_of(built_settings, "DH2011b"))
    assert sum(len(g["claims"]) for g in source["citing"]) == len({c["claim"]["id"] for c in
                                                                  catalog.citations_of(built_settings, "DH2011b")})


def test_concepts_and_concept(web_client):
    scheme = api(web_client, "/api/concepts")
    assert scheme["count"] > 50 and scheme["tree"]
    entries = [e for _, group in scheme["az"] for e in group]
    assert sum(e["preferred"] for e in entries) == scheme["count"]
    alt = [e for e in entries if not e["preferred"]]
    assert alt and all(e["label"].casefold() != e["pref_label"].casefold() for e in alt)
    assert {"label": "PbR", "id": "payment-by-results", "pref_label": "Payment by Results", "preferred": False} in alt
    for letter, group in scheme["az"]:
        assert all(e["label"][:1].upper() == letter or (letter == "#" and not e["label"][:1].isalpha()) for e in group)
    concept = api(web_client, "/api/concept/payment-by-results")
    assert {"care-transition-protocols"} <= {n["id"] for n in concept["narrower"]}
    assert concept["co_occurring"] == sorted(concept["co_occurring"], key=lambda c: (-c["count"], c["label"].lower()))


def test_posts_post_claims_claim(web_client, built_settings):
    posts = api(web_client, "/api/posts")["posts"]
    assert len(posts) == catalog.stats(built_settings)["posts"]
    post_id = posts[0]["id"]
    post = api(web_client, f"/api/post/{post_id}")
    assert post["id"] == post_id and post["provenance"]
    claims = api(web_client, f"/api/claims?post={post_id}")
    assert [c["id"] for c in claims["claims"]] == [c["id"] for c in post["claims"]][:100]
    everything = api(web_client, "/api/claims?limit=50&page=2")
    assert everything["total"] == catalog.stats(built_settings)["claims"] and len(everything["claims"]) == 50
    claim = api(web_client, f"/api/claim/{post['claims'][1]['id']}")
    assert claim["before"][-1]["id"] == post["claims"][0]["id"]
    cited = api(web_client, "/api/claims?source=DH2011b")
    assert cited["total"] == len({c["claim"]["id"] for c in catalog.citations_of(built_settings, "DH2011b")})


def test_audit_and_queries(web_client, built_settings):
    audit = api(web_client, "/api/audit")
    found = catalog.audit(built_settings)
    assert [u["id"] for u in audit["unresolved"]] == [u["id"] for u in found["unresolved"]]
    assert [r["key"] for r in audit["never_cited"]] == [r["key"] for r in found["never_cited"]]
    queries = api(web_client, "/api/queries")["queries"]
    assert "most-cited-sources" in {q["name"] for q in queries}
    assert all("path" not in q for q in queries)  # no server paths leak


def test_pages_answer_json_when_asked(web_client):
    body = api(web_client, "/source/DH2011b", headers={"Accept": "application/json"})
    assert body["key"] == "DH2011b"


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path, status, what", [
    ("/api/source/NOPE2000", 404, "no source 'NOPE2000'"),
    ("/api/concept/nope", 404, "no concept 'nope'"),
    ("/api/post/nope", 404, "no post 'nope'"),
    ("/api/claim/c0000000000", 404, "no claim 'c0000000000'"),
    ("/api/claims?post=nope", 404, "no post 'nope'"),
    ("/api/claims?source=NOPE2000", 404, "no source 'NOPE2000'"),
    ("/api/nothing/here", 404, "no API route /api/nothing/here"),
    ("/api/search", 400, "no search given"),
    ("/api/search?q=x&page=0", 400, "parameter 'page' = 0 is out of range"),
    ("/api/search?q=x&page=abc", 400, "parameter 'page' must be a whole number"),
    ("/api/search?q=x&concept=nonexistent", 200, None),
    ("/api/sources?sort=colour", 400, "cannot sort sources by 'colour'"),
    ("/api/cite?q=", 400, "type a citation"),
])
def test_errors_have_one_shape_and_say_what_went_wrong(web_client, path, status, what):
    body = api(web_client, path, status)
    if what is None:
        assert body["total"] == 0 and "nothing matches" in body["notice"]
        return
    assert_error(body, status)
    assert what in body["error"]


def test_404_suggests_close_matches(web_client):
    body = api(web_client, "/api/concept/payment-by-result", 404)
    assert "payment-by-results" in body["suggestions"]


def test_browsers_get_error_pages_not_json(web_client):
    response = web_client.get("/concept/nope", headers=HTML)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "no concept" in response.get_data(as_text=True)


def test_wrong_method_is_405_in_the_error_shape(web_client):
    response = web_client.post("/api/stats")
    assert response.status_code == 405
    assert_error(response.get_json(), 405)
    assert "GET" in response.headers["Allow"]


# --- bad input everywhere -------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
]

ROUTES = [
    "/search?q={p}", "/search?q=care&concept={p}", "/search?q=care&source={p}", "/search?q=care&org={p}",
    "/search?q=care&post={p}", "/search?q=care&year={p}", "/search?q=care&page={p}", "/search/bibtex?q={p}",
    "/cite?q={p}", "/sources?sort={p}", "/sources?org={p}", "/sources/bibtex?org={p}", "/source/{p}",
    "/source/{p}/bibtex", "/concept/{p}", "/concept/{p}/bibtex", "/post/{p}", "/claim/{p}", "/org/{p}",
    "/citation/{p}", "/dump/{p}", "/concepts?format={p}", "/sparql?query={p}", "/sparql?named={p}",
    "/sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%201&format={p}",
    "/api/search?q={p}", "/api/search?q=care&limit={p}", "/api/cite?q={p}", "/api/sources?org={p}",
    "/api/source/{p}", "/api/concept/{p}", "/api/post/{p}", "/api/claim/{p}", "/api/claims?post={p}",
    "/api/claims?concept={p}", "/api/claims?source={p}",
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_xss_payloads_are_never_reflected_unescaped(web_client, route, accept):
    from urllib.parse import quote

    for payload in XSS:
        response = web_client.get(route.format(p=quote(payload, safe="")), headers={"Accept": accept})
        assert response.status_code < 500, (route, payload, response.get_data(as_text=True)[:500])
        body = response.get_data(as_text=True)
        if response.mimetype == "text/html":
            assert "<script>alert" not in body and "<img src=x" not in body and "<svg/onload" not in body
            assert 'href="javascript:' not in body
        if response.mimetype == "application/json" and response.status_code >= 400:
            assert_error(response.get_json(), response.status_code)


@pytest.mark.parametrize("route", ["/search?q={p}", "/api/search?q={p}", "/cite?q={p}", "/api/cite?q={p}",
                                   "/sparql?query={p}", "/search?q=care&concept={p}", "/sources?org={p}"])
def test_huge_parameters_are_refused_with_a_message(web_client, built_settings, route):
    huge = "a" * (built_settings.max_query_chars + 1)
    response = web_client.get(route.format(p=huge), headers={"Accept": "application/json"})
    assert response.status_code == 400
    body = response.get_json()
    assert_error(body, 400)
    assert "limit" in body["error"]


def test_request_bodies_over_the_limit_are_refused(web_app, built_settings):
    from web import create_app

    app = create_app(built_settings.with_(max_request_bytes=2000))
    client = app.test_client()
    response = client.post("/sparql", data={"query": "SELECT * { ?s ?p ?o } #" + "x" * 5000},
                           headers={"Accept": "application/json"})
    assert response.status_code == 413
    body = response.get_json()
    assert_error(body, 413)
    assert "max_request_bytes" in body["error"]


def test_control_characters_and_odd_unicode_do_not_break_search(web_client):
    for query in ["care\x00transition", "\u202eprotocols", "🙂 personal budgets", "((( \"unclosed", "NOT", "-"]:
        response = web_client.get("/api/search", query_string={"q": query})
        assert response.status_code in (200, 400), query
        if response.status_code == 400:
            assert_error(response.get_json(), 400)


#: Every CLI command with --json, beside the API route (and the page) answering the same question:
#: (kg arguments, path, query string, keys of the CLI's answer the API does not have).
CLI_AND_API = [
    (["search", "care transition protocols"], "/search", {"q": "care transition protocols"}, ()),
    (["search", "source:DH2011b care", "--limit", "3", "--page", "2"], "/search",
     {"q": "source:DH2011b care", "limit": "3", "page": "2"}, ()),
    (["cite", "(DH, 2011b:6; DH, 2013:5)"], "/cite", {"q": "(DH, 2011b:6; DH, 2013:5)"}, ()),
    (["cite", "(DH, 2011b:6)"], "/cite", {"q": "(DH, 2011b:6)"}, ()),
    (["cite", "dh2011b"], "/cite", {"q": "dh2011b"}, ()),
    # The library's own problems are read from corpus/, which the server never reads.
    (["refs", "check"], "/audit", {}, ("problems",)),
]


@pytest.mark.parametrize("args, path, query, cli_only", CLI_AND_API, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_kg_json_is_the_api_answer_and_the_page_json(web_client, built_settings, args, path, query, cli_only):
    out = CliRunner().invoke(main, [*args, "--json", "--data", str(built_settings.data_dir)])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.stdout)
    assert set(cli_only) <= set(cli)
    expected = {k: v for k, v in cli.items() if k not in cli_only}
    assert api(web_client, "/api" + path, query_string=query) == expected
    assert api(web_client, path, query_string=query, headers={"Accept": "application/json"}) == expected


def test_an_ambiguous_citation_is_a_404_naming_the_choices_kg_cite_lists(web_client, built_settings):
    ambiguous = json.loads(CliRunner().invoke(main, ["cite", "Department of Health 2011", "--json", "--data",
                                                     str(built_settings.data_dir)]).stdout)
    missing = api(web_client, "/api/cite", 404, query_string={"q": "Department of Health 2011"})
    assert missing["suggestions"] == ambiguous["lookup"][0]["candidates"] == ["DH2011a", "DH2011b"]
    assert [link["href"] for link in missing["links"]] == ["/source/DH2011a", "/source/DH2011b"]
