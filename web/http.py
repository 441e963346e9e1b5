"""What every response shares: content negotiation, the one error shape, security headers, limits.

Errors are ``{"ok": false, "error": "...", "status": N}`` (404s add ``suggestions``) for API
clients and a page for browsers; no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from kg.errors import DamagedBuild, GraphError, KGError, NotFound, SearchError
from kg.settings import ROOT

from .resources import get_settings, live_health

log = logging.getLogger(__name__)

#: Nothing is fetched from anywhere but this app; scripts only from our static files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: Sent with every response, the server's own error answers included (web.server).
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: Which page a 404's suggestions link to, by the endpoint that raised it.
SUGGESTION_LINKS = {
    "pages.source": ("pages.source", "key"),
    "api.source": ("pages.source", "key"),
    "pages.source_bibtex": ("pages.source", "key"),
    "pages.source_references": ("pages.source", "key"),
    "pages.concept": ("pages.concept", "concept_id"),
    "api.concept": ("pages.concept", "concept_id"),
    "pages.concept_bibtex": ("pages.concept", "concept_id"),
    "pages.concept_references": ("pages.concept", "concept_id"),
    "pages.concept_find": ("pages.concept", "concept_id"),
    "pages.post": ("pages.post", "post_id"),
    "api.post": ("pages.post", "post_id"),
    "pages.claim": ("pages.claim", "claim_id"),
    "api.claim": ("pages.claim", "claim_id"),
    "pages.org": ("pages.org", "org_id"),
    "pages.cite": ("pages.source", "key"),
    "api.cite": ("pages.source", "key"),
    "pages.sources": ("pages.org", "org_id"),
    "api.sources": ("pages.org", "org_id"),
    "pages.sources_bibtex": ("pages.org", "org_id"),
}
#: /api/claims looks one thing up by whichever parameter it was given.
CLAIMS_LINKS = {
    "source": ("pages.source", "key", "pages.sources", "all sources"),
    "concept": ("pages.concept", "concept_id", "pages.concepts", "all concepts"),
    "post": ("pages.post", "post_id", "pages.posts", "all posts"),
}


def wants_html() -> bool:
    """Return True when the client names HTML in Accept above JSON (browsers); API paths never do.

    ``*/*`` alone (curl, scripts) gets JSON: a page only goes to clients that ask for one.
    """
    if request.path.startswith("/api/"):
        return False
    accept = request.accept_mimetypes
    html_q = max((q for value, q in accept if value in ("text/html", "application/xhtml+xml")), default=0)
    json_q = max((q for value, q in accept if value == "application/json" or value.endswith("+json")), default=0)
    return html_q > 0 and html_q >= json_q


def param(name: str, default: str = "", *, limit: int | None = None) -> str:
    """Return a query/form parameter, refusing one longer than the max_query_chars setting."""
    value = request.values.get(name, default)
    limit = limit or get_settings().max_query_chars
    if len(value) > limit:
        raise KGError(
            f"parameter {name!r} is {len(value)} characters long; the limit is {limit}",
            hint="shorten it, or raise the max_query_chars setting",
        )
    return value


def int_param(name: str, default: int, *, minimum: int = 1, maximum: int = 10_000) -> int:
    """Return a whole-number parameter within bounds, or raise a 400 naming the allowed range."""
    raw = param(name, str(default), limit=20)
    try:
        value = int(raw)
    except ValueError:
        raise KGError(
            f"parameter {name!r} must be a whole number, not {raw!r}", hint=f"use a number from {minimum} to {maximum}"
        ) from None
    if not minimum <= value <= maximum:
        raise KGError(f"parameter {name!r} = {value} is out of range", hint=f"use a number from {minimum} to {maximum}")
    return value


#: The page listing every thing of the kind a 404 did not find, by the endpoint that raised it.
LIST_PAGES = {
    "source": ("pages.sources", "all sources"),
    "cite": ("pages.sources", "all sources"),
    "concept": ("pages.concepts", "all concepts"),
    "concept_find": ("pages.concepts", "all concepts"),
    "post": ("pages.posts", "all posts"),
    "org": ("pages.sources", "all sources by organisation"),
    "claim": ("pages.search", "search the claims"),
    "similar": ("pages.search", "search the claims"),
}


def _claims_lookup() -> tuple[str, str, str, str] | None:
    if request.endpoint != "api.claims":
        return None
    return next((CLAIMS_LINKS[name] for name in CLAIMS_LINKS if request.args.get(name, "").strip()), None)


def _list_page() -> dict | None:
    claims = _claims_lookup()
    if claims:
        return {"label": claims[3], "href": url_for(claims[2])}
    kind = (request.endpoint or "").split(".")[-1].removesuffix("_bibtex").removesuffix("_references")
    if kind == "sources" and request.args.get("org"):
        kind = "org"
    if not request.endpoint or kind not in LIST_PAGES:
        return None
    endpoint, label = LIST_PAGES[kind]
    return {"label": label, "href": url_for(endpoint)}


def _suggestion_href(suggestion: str) -> str | None:
    if suggestion.startswith("/"):
        return suggestion  # already a path of this app (an unknown API route suggests /api/)
    claims = _claims_lookup()
    target = claims[:2] if claims else SUGGESTION_LINKS.get(request.endpoint or "")
    if not target:
        return None
    values: dict[str, Any] = {target[1]: suggestion}
    return url_for(target[0], **values)


#: An absolute file path inside a message (up to a space, quote or bracket).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s'\"()\[\]<>,;:]+/)*[^\s'\"()\[\]<>,;:]+")


def without_paths(message: str) -> str:
    """Name files of the data directory relative to it, and hide every other absolute path.

    Errors from the store and the index carry the machine's paths (RocksDB names each file);
    a client learns nothing from them but how the server is laid out.
    """
    settings = get_settings()
    roots = {str(settings.data_dir), os.path.realpath(settings.data_dir)}
    named = [(root, "the data directory") for root in sorted(roots, key=len, reverse=True)]
    named += [
        (str(settings.corpus_dir), "the corpus folder"),
        (str(settings.ontology_dir), "the ontology folder"),
        (str(ROOT), "the checkout"),
        (sys.prefix, "the Python environment"),
    ]
    for root, name in named:
        message = message.replace(root + os.sep, "").replace(root, name)

    def hide(match: re.Match) -> str:
        path = match.group()
        top = path.split("/")[1]
        # Only paths of this machine: URL paths (/api/..., the request's own) are left alone.
        if path == request.path or not top or not os.path.isdir("/" + top):
            return path
        return os.path.basename(path.rstrip("/")) or path

    return _ABSOLUTE_PATH.sub(hide, message)


def error_response(status: int, message: str, suggestions: list[str] | None = None) -> Response:
    """Answer an error in the one shape: JSON for clients, a page for browsers.

    A 404 links to the web: each suggestion's page (``links``) and the list it was looked for in
    (``see``), so neither the page nor the JSON sends a reader to the command line.
    """
    message = without_paths(message)
    body: dict[str, Any] = {"ok": False, "error": message, "status": status}
    links: list[dict] = []
    if suggestions is not None:
        body["suggestions"] = suggestions
        links = [{"label": suggestion, "href": _suggestion_href(suggestion)} for suggestion in suggestions]
        body["links"] = links
    see = _list_page() if status == 404 else None
    if status == 404:
        body["see"] = see or {"label": "the start page", "href": url_for("pages.home")}
    if wants_html():
        html = render_template("error.html", status=status, message=message, suggestions=links, see=see)
        return Response(html, status=status, mimetype="text/html")
    response = jsonify(body)
    response.status_code = status
    return response


def _refuse_a_damaged_build() -> None:
    """Answer 503 naming `kg build --full` while the live build is damaged, before any reader
    trips on it (Whoosh, failing to read a truncated segment, even leaves the file open)."""
    if request.path.startswith("/static/"):
        return
    health = live_health()
    if health.built and not health.readable:
        raise health.error(get_settings().data_dir)


def _damaged(exc: BaseException, *, fresh: bool = False) -> KGError | None:
    """If the live build is damaged, the 503 to answer instead of ``exc`` (naming `kg build --full`).

    ``fresh`` checks in full again (opening the store and the index): for unexpected errors only,
    which a client cannot cause at will, unlike a search error.
    """
    try:
        health = live_health(fresh=fresh)
    except Exception:
        log.exception("checking the live build after %s", type(exc).__name__)
        return None
    if health.built and not health.readable:
        return health.error(get_settings().data_dir)
    if str(exc).startswith("Corruption") or "Corruption:" in str(exc):
        # RocksDB found a bad block (its checksums) in a file of the right size.
        return DamagedBuild(
            f"the graph store in {get_settings().data_dir} is damaged ({exc})", hint="rebuild it with `kg build --full`"
        )
    return None


def _kg_error(exc: KGError) -> Response:
    if isinstance(exc, (GraphError, SearchError)):
        # A store or index that cannot be read: say it is damaged, if it is, not 400 or 500.
        exc = _damaged(exc) or exc
    status = int(getattr(exc, "status", 400) or 400)
    if status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.path, exc)
    suggestions = exc.suggestions if isinstance(exc, NotFound) else None
    return error_response(status, str(exc), suggestions)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    messages = {
        404: f"no page at {request.path}; see the links at the top of any page, or /api/ for the API",
        405: f"{request.method} is not allowed on {request.path}",
        413: (
            f"the request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes; "
            "send a smaller one, or raise the max_request_bytes setting"
        ),
    }
    message = messages.get(status) or (exc.description or exc.name)
    response = error_response(status, message, [] if status == 404 else None)
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _unexpected(exc: Exception) -> Response:
    damaged = _damaged(exc, fresh=True)
    if damaged is not None:
        # The damage is the news, not the traceback of the reader that tripped on it.
        log.error("%s on %s (%s: %s)", damaged, request.path, type(exc).__name__, exc)
        return error_response(damaged.status, str(damaged))
    log.exception("unexpected error on %s", request.path)
    return error_response(
        500, "internal error: the server could not answer this request; the details are in the server log"
    )


def _headers(response: Response) -> Response:
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    location = headers.get("Location")
    if location:
        # Werkzeug's own redirects (a missing slash on /api, merged slashes in /static//x) name
        # the host from the request's Host header: keep only the path, so no client can make a
        # redirect point at another host.
        parts = urlsplit(location)
        if parts.scheme or parts.netloc or location.startswith("//"):
            path = "/" + parts.path.lstrip("/")  # "//host/x" would be another host again
            headers["Location"] = urlunsplit(("", "", path, parts.query, parts.fragment))
    if request.path.startswith(("/api/", "/sparql")):
        # Read-only and cookie-free: scripts on other sites may query the data.
        headers.setdefault("Access-Control-Allow-Origin", "*")
        headers.setdefault("Access-Control-Allow-Methods", "GET, POST")
        headers.setdefault("Access-Control-Allow-Headers", "Accept, Content-Type")
    if "Accept" not in headers.get("Vary", ""):
        headers.add("Vary", "Accept")
    return response


def init_app(app: Flask) -> None:
    """Register the error handlers, the security headers and the template helpers."""
    app.register_error_handler(KGError, _kg_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    app.before_request(_refuse_a_damaged_build)
    app.after_request(_headers)
