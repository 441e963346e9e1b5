"""The HTTP surface: the OpenAPI description is served and complete, schemathesis checks a running
server against it, and the escaping, header, size and read-only promises hold on every route.

test_web_security.py covers headers on a fixed list of paths, the CSP, CORS, templates without
inline script and a read-only data dir for GETs; test_web_api.py reflects XSS payloads through
query parameters. Here: the API description, schemathesis, stored XSS from corpus text and titles,
headers and size limits on a served instance, and no writes under any method.
"""

from __future__ import annotations

import html
import re
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st

from kg import build
from kg.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


# --- the description ------------------------------------------------------------------------

def test_openapi_json_is_served_and_describes_every_json_route(web_app, web_client):
    response = web_client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    described = set(document["paths"])
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in web_app.url_map.iter_rules()
             if rule.endpoint.startswith("api.") and "anything" not in rule.rule}
    assert rules - described == set(), "routes missing from web/openapi.yaml"
    assert described - rules == {"/sparql"}, "paths described that the app does not have"
    assert set(document["paths"]["/sparql"]) == {"get", "post"}
    assert web_client.get("/api/").get_json()["routes"]["openapi"] == "/api/openapi.json"


def test_every_operation_documents_the_error_shape(web_client):
    document = web_client.get("/api/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            assert "default" in operation["responses"], (method, path)


# --- schemathesis against the served instance -----------------------------------------------

# Operations are read from the file at collection time (one test per operation); requests go to
# the served instance. (schemathesis.pytest.from_fixture does not run under pytest 9.)
SCHEMA = schemathesis.openapi.from_path(ROOT / "web" / "openapi.yaml")
# A negative request may be refused by waitress itself, before the app, when its URL passes the
# header size limit (431, described as HeadersTooLarge): that is a refusal too.
_REJECTION = SCHEMA.config.checks.negative_data_rejection
SCHEMA.config.checks.negative_data_rejection = type(_REJECTION)(
    expected_statuses=[*_REJECTION.expected_statuses, "431"])
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
#: What every answer is checked for: no 5xx, a documented status code and content type, headers
#: and a body that match the description, and a schema-valid request accepted.
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance, schemathesis.checks.positive_data_acceptance]
#: Schema-invalid requests must be refused (4xx), not answered as if valid.
NEGATIVE_CHECKS = [*CHECKS[:-1], schemathesis.checks.negative_data_rejection]
# Any string is a valid `query` by the description, but few are SPARQL: for the SPARQL endpoint
# a 400 naming the syntax error is the right answer to a schema-valid request. Everywhere else a
# schema-valid request must be answered.
GRAMMAR_OPERATIONS = {"GET /sparql", "POST /sparql"}
#: Examples per operation and mode: enough to reach every parameter, bounded in time (about a
#: minute for the whole description on two cores).
MAX_EXAMPLES = 25
#: Negative examples carry long, many-valued parameters (a slow URL to send and refuse): fewer.
MAX_NEGATIVE_EXAMPLES = 15
CALLS: Counter = Counter()
STATUSES: Counter = Counter()


@pytest.fixture(scope="module")
def counted():
    yield CALLS
    # Figures for the report: run `pytest tests/test_openapi.py -s` to see them.
    print(f"\nschemathesis: {len(CALLS)} operations, {sum(CALLS.values())} requests; "
          f"statuses {dict(sorted(STATUSES.items()))}")


def _checks(label: str, checks: list) -> list:
    if label in GRAMMAR_OPERATIONS:
        return [c for c in checks if c is not schemathesis.checks.positive_data_acceptance]
    return checks


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_served_api_conforms_to_its_description(served, counted, label, data):
    case = data.draw(OPERATIONS[label].as_strategy())
    response = case.call_and_validate(base_url=served.rstrip("/"), timeout=30, checks=_checks(label, CHECKS))
    CALLS[label] += 1
    STATUSES[response.status_code] += 1


#: Operations with something a request can get wrong by the description (a parameter's type,
#: range, length, enum or presence); the others take nothing but what the path names.
NEGATIVE_OPERATIONS = sorted(label for label, op in OPERATIONS.items()
                             if any(p.location == "query" for p in op.iter_parameters()) or op.body)


def _operation(document: dict, label: str):
    return next(r.ok() for r in schemathesis.openapi.from_dict(document).get_all_operations() if r.ok().label == label)


def test_the_conformance_checks_catch_a_description_that_disagrees(served):
    """The checks above can fail: a status code or a field the description gets wrong is caught."""
    import copy

    base = served.rstrip("/")
    # The API answers a search without q with 400: a description without that status is wrong.
    document = copy.deepcopy(SCHEMA.raw_schema)
    responses = document["paths"]["/api/search"]["get"]["responses"]
    del responses["400"], responses["default"]
    with pytest.raises(BaseExceptionGroup):
        _operation(document, "GET /api/search").Case(query={}).call_and_validate(base_url=base, timeout=30, checks=CHECKS)
    # A field the description requires that the answer lacks.
    document = copy.deepcopy(SCHEMA.raw_schema)
    document["paths"]["/api/stats"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "required"].append("no_such_count")
    with pytest.raises(BaseExceptionGroup):
        _operation(document, "GET /api/stats").Case().call_and_validate(base_url=base, timeout=30, checks=CHECKS)
    # The real description passes the same requests.
    _operation(SCHEMA.raw_schema, "GET /api/stats").Case().call_and_validate(base_url=base, timeout=30, checks=CHECKS)
    _operation(SCHEMA.raw_schema, "GET /api/search").Case(query={}).call_and_validate(
        base_url=base, timeout=30, checks=CHECKS[:-1])


def test_search_without_q_is_refused_as_the_description_says(web_client):
    described = next(p for p in SCHEMA.raw_schema["paths"]["/api/search"]["get"]["parameters"] if p.get("name") == "q")
    assert described["required"] is True and described["schema"]["minLength"] == 1
    for query in ({}, {"q": ""}, {"q": "   "}):
        response = web_client.get("/api/search", query_string=query)
        assert response.status_code == 400, query


def test_schemathesis_covers_every_operation():
    assert len(OPERATIONS) == 20, sorted(OPERATIONS)


# --- stored XSS: payloads in the corpus itself --------------------------------------------------

PAYLOADS = ['<script>alert("kg")</script>', '"><img src=x onerror=alert(1)>', "'><svg/onload=alert(2)>",
            "</textarea><script>alert(3)</script>", "javascript:alert(4)"]
TITLE = 'Evil <script>alert("t")</script> "><img src=x onerror=alert(5)> title'


@pytest.fixture(scope="module")
def xss_app(tmp_path_factory):
    """A corpus of one hostile post (title, headings, claims, citation, list) next to a real one, built and served."""
    corpus_dir = tmp_path_factory.mktemp("xss-corpus")
    posts = corpus_dir / "posts"
    posts.mkdir()
    body = "\n\n".join([
        "Heading <b>bold</b> \"><img src=x onerror=alert(6)>",
        *(f"Personal budgets matter {p} for care (DH, 2011b:6)." for p in PAYLOADS),
        "  • a list item <iframe src=javascript:alert(7)></iframe>",
        "Payment by Results is the tariff <style>body{display:none}</style> (Evil<script>, 2012).",
    ])
    (posts / "evil-post.md").write_text(f"---\nid: evil-post\ntitle: '{TITLE}'\n---\n{body}\n", encoding="utf-8")
    real = sorted((ROOT / "corpus" / "posts").glob("*.md"))[0]
    shutil.copy(real, posts / real.name)
    shutil.copy(ROOT / "corpus" / "references.bib", corpus_dir / "references.bib")
    settings_ = load_settings(env={}, corpus_dir=corpus_dir, data_dir=tmp_path_factory.mktemp("xss-data"))
    report = build.build(settings_)
    assert report.failures == [] or all("references" == f.step for f in report.failures), report.failures
    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(settings_)
    yield app
    close_pool(app)


#: The payloads as live markup: none may reach a page unescaped.
LIVE = ["<script>alert", "<img src=x", "<svg/onload", "<iframe src", "<style>body", "<b>bold"]


def _assert_escaped(page: str, where: str) -> None:
    found = [tag for tag in LIVE if tag in page]
    assert not found, f"{where}: unescaped markup {found}"
    assert not re.search(r"<[^>]*\b(href|src)=[\"']?javascript:", page, re.I), where


def test_the_escaping_check_catches_live_markup():
    for page in ['<p><script>alert("kg")</script></p>', '<a href="javascript:alert(4)">x</a>', '<b>bold</b>']:
        with pytest.raises(AssertionError):
            _assert_escaped(page, "sample")
    _assert_escaped("<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;iframe src=javascript:x&gt;</p>", "sample")


def test_hostile_titles_and_text_are_escaped_on_every_page_that_shows_them(xss_app):
    client = xss_app.test_client()
    claims = client.get("/api/post/evil-post").get_json()["claims"]
    assert len(claims) >= 6 and any("<script>" in c["text"] for c in claims), "the payloads must reach the graph"
    claim_id = next(c["id"] for c in claims if "<script>" in c["text"])
    citation = next(c for c in claims if c["citations"])["citations"][0]["id"]
    concept = next(c for c in claims if c["concepts"])["concepts"][0]["id"]
    pages = ["/", "/posts", "/post/evil-post", f"/claim/{claim_id}", f"/citation/{citation}",
             "/search?q=personal+budgets", "/search?q=alert", "/search?q=script", "/search?q=onerror",
             "/search?q=evil", f"/concept/{concept}", "/source/DH2011b", "/audit", "/concepts", "/sources",
             "/sparql?query=" + urllib.request.quote("SELECT ?t WHERE { ?p dcterms:title ?t }"),
             "/sparql?named=claims-citing-source&param.key=DH2011b"]
    shown = 0
    for path in pages:
        response = client.get(path, headers=HTML, follow_redirects=True)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        _assert_escaped(page, path)
        shown += "alert(" in html.unescape(page)
    assert shown >= 8, "the payload text should be visible (escaped) on most of these pages"


def test_hostile_text_in_json_and_rdf_stays_data(xss_app):
    client = xss_app.test_client()
    response = client.get("/api/search", query_string={"q": "alert"})
    assert response.mimetype == "application/json"
    for hit in response.get_json()["results"]:
        assert "<script" not in hit["highlight"] and "<img" not in hit["highlight"]
        assert html.unescape(re.sub(r"</?mark>", "", hit["highlight"])) == hit["text"]
    turtle = client.get("/post/evil-post", headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle" and turtle.headers["X-Content-Type-Options"] == "nosniff"


# --- headers, sizes and read-only, on the served instance ------------------------------------

def _get(url: str, headers: dict | None = None, data: bytes | None = None, method: str | None = None):
    request = urllib.request.Request(url, headers=headers or {}, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _routes(served_pages):
    return ["", "search?q=care", "sources", "source/DH2011b", "source/DH2011b/bibtex", "concepts",
            "concept/payment-by-results", "posts", "audit", "sparql", "cite?q=DH+2011b", "sources/bibtex",
            "api/", "api/stats", "api/openapi.json", "api/search?q=care", "api/sources", "api/concepts",
            "api/posts", "api/claims", "api/audit", "api/queries", "api/nope", "nope", "static/style.css",
            "favicon.ico", "sparql?query=SELECT%20*%20%7B%3Fs%20%3Fp%20%3Fo%7D%20LIMIT%201",
            "sparql?query=SELEC", "search?q=" + "x" * 20_000]


@pytest.mark.parametrize("accept", ["text/html", "application/json", "*/*"])
def test_security_headers_on_every_route_of_a_served_instance(served, accept):
    for path in _routes(served):
        status, headers, _ = _get(served + path, {"Accept": accept})
        assert status < 500, path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin", path
        assert "Set-Cookie" not in headers, path
        assert (headers.get("Server") or "kg") == "kg", "the server must not announce its software"


def test_request_size_limits_on_a_served_instance(served, built_settings):
    import http.client
    from urllib.parse import urlsplit

    from web.server import WAITRESS_HEADROOM

    where = urlsplit(served)
    limit = built_settings.max_request_bytes
    # Just over the limit: the app's 413 in the one error shape, naming the setting.
    status, headers, content = _get(served + "sparql", {"Content-Type": "application/x-www-form-urlencoded",
                                                        "Accept": "application/json"},
                                    data=b"query=" + b"x" * (limit + 10))
    assert status == 413 and headers["Content-Type"] == "application/json", (status, content[:300])
    assert b"max_request_bytes" in content
    # Far over it: waitress refuses before buffering the body (it may close before the client
    # has sent everything; either way nothing was accepted).
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request("POST", "/sparql", body=b"query=" + b"x" * (limit + WAITRESS_HEADROOM + 10), headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        assert connection.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
        pass
    finally:
        connection.close()
    assert _get(served + "api/stats", {"Accept": "application/json"})[0] == 200, "the server must still answer"
    long_url = served + "api/search?q=" + "x" * 70_000
    status, _, _ = _get(long_url, {"Accept": "application/json"})
    assert status in (400, 414, 431), "an enormous URL is refused, not served"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_no_method_on_any_route_writes_to_the_data_dir(served, built_settings):
    before = _snapshot(built_settings.data_dir)
    for path in _routes(served)[:-1]:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, _, _ = _get(served + path, {"Accept": "application/json",
                                                "Content-Type": "application/sparql-update"},
                                data=b"DROP ALL", method=method)
            assert status < 500, (method, path)
    for update in ("DROP ALL", "CLEAR DEFAULT", 'INSERT DATA { <http://a> <http://b> "c" }',
                   "LOAD <file:///etc/passwd>"):
        for content_type, data in (("application/sparql-query", update.encode()),
                                   ("application/x-www-form-urlencoded", b"query=" + update.encode()),
                                   ("application/x-www-form-urlencoded", b"update=" + update.encode())):
            status, _, _ = _get(served + "sparql", {"Content-Type": content_type, "Accept": "application/json"},
                                data=data)
            assert status in (400, 403), (update, content_type, status)
    assert _snapshot(built_settings.data_dir) == before


@pytest.mark.parametrize("label", NEGATIVE_OPERATIONS)
@settings(max_examples=MAX_NEGATIVE_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_served_api_refuses_what_its_description_does_not_allow(served, counted, label, data):
    # Negative cases: wrong types, out of range, too long, missing or extra values. Each must be
    # refused with a 4xx (negative_data_rejection), documented, in the one error shape, never a 5xx.
    case = data.draw(OPERATIONS[label].as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
    response = case.call_and_validate(base_url=served.rstrip("/"), timeout=30, checks=NEGATIVE_CHECKS)
    CALLS[label + " (negative)"] += 1
    STATUSES[response.status_code] += 1
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body["ok"] is False and body["status"] == response.status_code and body["error"]


# --- reflected input on every page route, any text ---------------------------------------------

PAGE_ROUTES = ["/source/{}", "/source/{}/bibtex", "/concept/{}", "/post/{}", "/claim/{}", "/org/{}",
               "/citation/{}", "/citation-group/{}", "/dump/{}", "/search?q={}", "/search?q=care&concept={}",
               "/search?q=care&page={}", "/cite?q={}", "/sources?org={}", "/sources?sort={}", "/sparql?named={}",
               "/sparql?query={}", "/concept/payment-by-results?format={}", "/api/search?q={}", "/api/cite?q={}"]
HOSTILE = st.lists(st.one_of(st.sampled_from(list("<>\"'&/\\%;:=() ") + ["<script>", "javascript:", "\x00", "..",
                                                                             "%2F", "\u202e", "{{7*7}}", "${x}"]),
                              st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=20).map("".join)


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(PAGE_ROUTES), text=HOSTILE, accept=st.sampled_from([HTML["Accept"], "application/json"]))
def test_any_text_in_any_route_is_answered_and_never_reflected_raw(web_app, route, text, accept):
    from urllib.parse import quote

    marked = f"zq{text}qz"  # markers that make a raw echo unmistakable
    response = web_app.test_client().get(route.format(quote(marked, safe="")), headers={"Accept": accept})
    assert response.status_code < 500, (route, marked, response.get_data(as_text=True)[:300])
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html" and any(ch in text for ch in "<>\"'&"):
        assert marked not in body, f"{route} reflected {marked!r} unescaped"
    if response.mimetype == "application/json" and response.status_code >= 400:
        error = response.get_json()
        assert error["ok"] is False and error["status"] == response.status_code and error["error"]
