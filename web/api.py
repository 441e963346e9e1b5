"""The JSON API under ``/api/``; errors are ``{"ok": false, "error", "status"}``.

A route with a page (``/api/source/<key>`` and ``/source/<key>``) is that page's view function,
registered here again: one view answers both, JSON on these paths. The routes below without a
page (stats, claims, similar, queries) are the API's own.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from flask import Blueprint, jsonify, url_for

from kg import catalog as catalog_mod
from kg import sparql
from kg.errors import NotFound
from kg.paging import page_links
from kg.store import live_key

from . import pages
from .exports import CLAIM_COLUMNS, csv_download, list_format
from .http import int_param, param
from .resources import catalog, get_settings

bp = Blueprint("api", __name__)

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")


@functools.lru_cache(maxsize=1)
def openapi_document() -> dict:
    """Return the OpenAPI 3 description of the JSON API (web/openapi.yaml), read once."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


def _public(query: sparql.NamedQuery) -> dict:
    # The query file's path is a detail of this server, not of the API.
    return {k: v for k, v in query.to_dict().items() if k != "path"}


@bp.get("/")
def index():
    """List the API's routes."""
    return jsonify(
        {
            "ok": True,
            "routes": {
                "stats": url_for("api.stats"),
                "health": url_for("api.health"),
                "search": url_for("api.search")
                + "?q=personal+budgets&page=1&limit=20&concept=…&source=…&org=…&post=…&year=…&format=json|csv",
                "cite": url_for("api.cite") + "?q=(DH, 2011b:6)",
                "sources": url_for("api.sources") + "?sort=citations|year|organisation|title|key&org=…&format=json|csv",
                "source": url_for("api.source", key="DH2011b"),
                "concepts": url_for("api.concepts"),
                "concepts_complete": url_for("api.concepts_complete") + "?q=perso",
                "concept": url_for("api.concept", concept_id="payment-by-results"),
                "posts": url_for("api.posts") + "?sort=title|date|claims&format=json|csv",
                "post": url_for("api.post", post_id="…"),
                "claims": url_for("api.claims")
                + "?post=…|concept=…|source=…&sort=post|newest|oldest&page=1&limit=100&format=json|csv",
                "claim": url_for("api.claim", claim_id="…"),
                "similar": url_for("api.similar", claim_id="…"),
                "audit": url_for("api.audit"),
                "queries": url_for("api.queries"),
                "sparql": url_for("sparql.endpoint") + "?query=…",
                "openapi": url_for("api.openapi"),
            },
        }
    )


@bp.get("/openapi.json")
def openapi():
    """Describe this JSON API in OpenAPI 3."""
    return jsonify(openapi_document())


@bp.get("/stats")
def stats():
    """Count what the graph holds."""
    return jsonify(catalog().stats())


@bp.get("/health")
def health():
    """Say that this app answers: its live build is readable and its graph opens (load balancers check it)."""
    settings = get_settings()
    live = live_key(settings)  # GraphError (500) if the graph cannot be reached; a damaged build is a 503 before this
    # The embedded store by its folder's name only: a health check shows no server paths.
    name = live.name if isinstance(live, Path) else live
    return jsonify({"ok": True, "store": settings.store, "graph": name})


@bp.get("/claims")
def claims():
    """List claims: of a post, a concept or a source, or all, a page at a time, in post order or by post
    date (``sort=post|newest|oldest``), as JSON (with the links of its pages) or CSV (``format=csv``)."""
    chosen = {name: param(name, limit=300).strip() for name in ("post", "concept", "source")}
    number, limit = int_param("page", 1), int_param("limit", 100, maximum=pages.MAX_PAGE_SIZE)
    sort = pages.claim_sort()
    fmt = list_format()
    found = catalog().claim_list(
        post_id=chosen["post"] or None,
        concept_id=chosen["concept"] or None,
        source_key=chosen["source"] or None,
        page=number,
        limit=limit,
        sort=sort,
    )
    if fmt == "csv":
        named = next((f"{name}-{value}" for name, value in chosen.items() if value), "all")
        return csv_download(found["claims"], CLAIM_COLUMNS, f"claims-{named}")
    params = [(name, value) for name, value in chosen.items() if value] + [("limit", str(limit))]
    if sort != "post":
        params.append(("sort", sort))
    return jsonify({**found, "links": page_links(url_for("api.claims"), params, number, found["pages"])})


@bp.get("/concepts/complete")
def concepts_complete():
    """Complete a concept label: the concepts with a preferred or other label starting with ``q`` (or a word of it)."""
    return jsonify(
        catalog().complete_concept(
            param("q", limit=200), limit=int_param("limit", catalog_mod.COMPLETION_LIMIT, maximum=50)
        )
    )


@bp.get("/claim/<claim_id>/similar")
def similar(claim_id: str):
    """Return the claims most like one claim."""
    return jsonify({"claim": claim_id, "results": catalog().similar(claim_id, int_param("limit", 5, maximum=50))})


@bp.get("/queries")
def queries():
    """List the named SPARQL queries with their text."""
    return jsonify({"queries": [{**_public(q), "text": q.text} for q in sparql.list_named_queries(get_settings())]})


#: The pages whose JSON is their API route's answer: (rule, view).
PAGE_TWINS = (
    ("/search", pages.search),
    ("/cite", pages.cite),
    ("/sources", pages.sources),
    ("/source/<key>", pages.source),
    ("/concepts", pages.concepts),
    ("/concept/<concept_id>", pages.concept),
    ("/posts", pages.posts),
    ("/post/<post_id>", pages.post),
    ("/claim/<claim_id>", pages.claim),
    ("/audit", pages.audit),
)
for _rule, _view in PAGE_TWINS:
    bp.add_url_rule(_rule, _view.__name__, _view, methods=["GET"])


@bp.route("/<path:anything>")
def missing(anything: str):
    """Answer an unknown API path with the one error shape and the list of routes."""
    raise NotFound(
        f"no API route /api/{anything}", hint="GET /api/ lists the routes", suggestions=[url_for("api.index")]
    )
