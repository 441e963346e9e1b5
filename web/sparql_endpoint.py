"""``/sparql``: a read-only SPARQL 1.1 Protocol endpoint, and its HTML form for browsers.

Queries come by ``GET ?query=``, ``POST`` form-encoded or ``POST application/sparql-query``;
they run through ``kg.sparql``: parsed, checked and run in a worker process without network
(Update, LOAD and SERVICE refused), under a time, memory, row and byte limit, with a bounded
number of query slots so runaway queries leave the server's other threads to pages. Results by ``Accept`` (or
``?format=``): SPARQL JSON/XML/CSV/TSV for SELECT and ASK, Turtle/JSON-LD/N-Triples for
CONSTRUCT and DESCRIBE, an HTML table for browsers.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from kg import sparql
from kg.errors import KGError, SparqlError

from .http import param, wants_html
from .resources import get_settings
from .linkify import local_href

bp = Blueprint("sparql", __name__)

POOL = "kg.sparql_pool"

#: Media type -> kg.sparql format, for table results (SELECT, ASK) and graph results.
TABLE_TYPES = {
    "application/sparql-results+json": "json", "application/json": "json",
    "application/sparql-results+xml": "xml", "application/xml": "xml", "text/xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle", "application/x-turtle": "turtle",
    "application/ld+json": "jsonld", "application/json": "jsonld",
    "application/n-triples": "nt", "text/plain": "nt",
}
#: The media type each format is sent as.
FORMAT_TYPES = {
    "json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
    "csv": "text/csv", "tsv": "text/tab-separated-values", "turtle": "text/turtle",
    "jsonld": "application/ld+json", "nt": "application/n-triples",
}


def get_pool() -> sparql.QueryPool:
    """Return this app's pool of query workers, started on first use."""
    pool = current_app.extensions.get(POOL)
    if pool is None:
        pool = current_app.extensions.setdefault(POOL, sparql.QueryPool.for_settings(get_settings(), server=True))
    return pool


def close_pool(app) -> None:
    """Stop the app's idle query workers (tests and servers call this when they stop)."""
    pool = app.extensions.pop(POOL, None)
    if pool is not None:
        pool.close()


def _query_text() -> str | None:
    if request.method == "POST":
        mimetype = request.mimetype
        if mimetype == "application/sparql-query":
            text = request.get_data(as_text=True)
        elif mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            text = request.form.get("query")
        else:
            raise KGError(f"cannot read a query sent as {mimetype or 'no content type'}",
                          hint="POST it as application/sparql-query, or form-encoded with a query= field")
    else:
        text = request.args.get("query")
    if text is not None:
        limit = get_settings().max_query_chars
        if len(text) > limit:
            raise SparqlError(f"the query is {len(text)} characters long; the limit is {limit}",
                              hint="shorten it, or raise the max_query_chars setting")
    if request.values.getlist("default-graph-uri") or request.values.getlist("named-graph-uri"):
        raise SparqlError("default-graph-uri and named-graph-uri are not supported: the data is one default graph",
                          hint="drop those parameters and query the default graph")
    return text


def _format_for(kind: str) -> str | None:
    """Pick the result format from ?format= or Accept; None means an HTML page."""
    table = kind != "graph"
    explicit = param("format", limit=20).strip().lower()
    if explicit:
        if explicit == "html":
            return None
        return explicit  # kg.sparql checks the name and whether it fits the result
    types = TABLE_TYPES if table else GRAPH_TYPES
    best = request.accept_mimetypes.best_match([*types, "text/html"])
    if best == "text/html":
        return None
    # No Accept, */*, or only types we lack: the protocol's usual defaults.
    return types.get(best or "", "json" if table else "turtle")


def _named_queries():
    return sparql.list_named_queries(get_settings())


def _named_params(chosen: str | None) -> dict[str, str]:
    """Return the values given for a named query's ``# param:`` variables (``param.key=DH2011b``)."""
    if not chosen:
        return {}
    declared = [name for name, _ in sparql.named_query(get_settings(), chosen).params]
    values = {name: param(f"param.{name}", limit=500).strip() for name in declared}
    return {name: value for name, value in values.items() if value}


def _form_page(query: str, *, status: int = 200, result=None, error: str | None = None,
               chosen: str | None = None, params: dict[str, str] | None = None) -> Response:
    named = _named_queries()
    declared = next((q.params for q in named if q.name == chosen), ())
    html = render_template("sparql.html", query=query, result=result, error=error, named=named,
                           chosen=chosen, local_href=local_href, declared=declared, params=params or {})
    return Response(html, status=status, mimetype="text/html")


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer a SPARQL query (protocol clients) or show the query form (browsers)."""
    settings = get_settings()
    text = _query_text()
    chosen = param("named", limit=200).strip() or None
    if text is None or not text.strip():
        if chosen:
            text = sparql.named_query(settings, chosen).text
        if wants_html():
            return _form_page(text or "", chosen=chosen)
        if not text:
            raise SparqlError("no query given", hint="send ?query=SELECT ... (or POST it); see /sparql in a browser for examples")
    params = _named_params(chosen)
    try:
        result = sparql.run_query(settings, text, params=params or None, pool=get_pool())
    except SparqlError as exc:
        if wants_html():
            return _form_page(text, status=exc.status, error=str(exc), chosen=chosen, params=params)
        raise
    fmt = _format_for(result.kind)
    if fmt is None:
        return _form_page(text, result=result, chosen=chosen, params=params)
    body = result.serialize(fmt)
    name = sparql.FORMAT_ALIASES.get(fmt, fmt)
    response = Response(body, mimetype=FORMAT_TYPES.get(name, "text/plain"))
    if result.truncated:
        response.headers["X-KG-Truncated"] = "true"
    return response
