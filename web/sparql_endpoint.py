"""``/sparql``: a read-only SPARQL 1.1 Protocol endpoint, and its HTML form for browsers.

Queries come by ``GET ?query=``, ``POST`` form-encoded or ``POST application/sparql-query``;
they run through ``kg.sparql``: parsed, checked and run in a worker process without network
(Update, LOAD and SERVICE refused), under a time, memory, row and byte limit, with a bounded
number of query slots so runaway queries leave the server's other threads to pages. Results by ``Accept`` (or
``?format=``, with SPARQLWrapper's names): SPARQL JSON/XML/CSV/TSV for SELECT, JSON/XML for ASK,
Turtle (also as N3), N-Triples, RDF/XML and JSON-LD for CONSTRUCT and DESCRIBE, an HTML table
for browsers; 406 for what a result has no form in. default-graph-uri and named-graph-uri name
graphs of kg's own store (kg.sparql.Dataset). GET without a query and with an RDF Accept
answers the SPARQL Service Description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, render_template, request, url_for

from kg import formats, sparql
from kg.errors import KGError, QueryRefused, SparqlError
from kg.vocab import PREFIXES

from .http import error_response, param, wants_html
from .linkify import local_href
from .resources import get_settings

bp = Blueprint("sparql", __name__)

POOL = "kg.sparql_pool"

#: Form fields and URL parameters the protocol defines for a query request.
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")

#: The named query the editor starts with, so it is never empty.
START_QUERY = "most-cited-sources"

#: Rows of a result table the editor shows a page at a time (the page without script shows all).
PAGE_ROWS = 50

#: The downloads offered after a run, by result kind: (label, ?format= name, file extension).
DOWNLOADS = {
    "select": (("CSV", "csv", "csv"), ("TSV", "tsv", "tsv"), ("JSON", "json", "srj"), ("XML", "xml", "srx")),
    "ask": (("JSON", "json", "srj"), ("XML", "xml", "srx")),
    "graph": (
        ("Turtle", "turtle", "ttl"),
        ("N-Triples", "nt", "nt"),
        ("JSON-LD", "jsonld", "jsonld"),
        ("RDF/XML", "rdfxml", "rdf"),
    ),
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


def _pairs(raw: bytes, where: str) -> list[tuple[str, str]]:
    """Decode form-encoded ``raw`` strictly: a value that is not UTF-8 is a 400, never replaced."""
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise SparqlError(
            f"the {where} is not UTF-8 (byte {exc.start}): {exc.reason}",
            hint="percent-encode the UTF-8 bytes of the query (SPARQL 1.1 Protocol 2.1)",
        ) from None


class _Request:
    """What a protocol request carries: its query text (if any) and its other parameters, strictly decoded."""

    def __init__(self) -> None:
        pairs = _pairs(request.query_string, "query string")
        self.direct = False
        if request.method == "POST":
            mimetype = request.mimetype
            if mimetype == "application/sparql-query":
                self.direct = True
                charset = request.mimetype_params.get("charset", "utf-8").lower()
                if charset not in ("utf-8", "utf8"):
                    raise SparqlError(
                        f"the query is sent as {charset}; the protocol takes UTF-8 only",
                        hint="send the query as UTF-8 (Content-Type: application/sparql-query; charset=utf-8)",
                    )
                try:
                    body = request.get_data().decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise SparqlError(
                        f"the query body is not UTF-8 (byte {exc.start}): {exc.reason}",
                        hint="send the query as UTF-8 text",
                    ) from None
                pairs = [("query", body), *pairs]
            elif mimetype == "application/x-www-form-urlencoded":
                pairs = _pairs(request.get_data(), "form body") + pairs
            elif mimetype == "multipart/form-data":
                pairs = list(request.form.items(multi=True)) + pairs
            elif mimetype == "application/sparql-update":
                raise QueryRefused(
                    "SPARQL Update is refused: queries here are read-only",
                    hint="change the graph by editing corpus/ or ontology/ and running `kg build`",
                )
            else:
                raise SparqlError(
                    f"cannot read a query sent as {mimetype or 'no content type'}",
                    hint="POST it as application/sparql-query, or form-encoded with a query= field",
                )
        self.values: dict[str, list[str]] = {}
        for key, value in pairs:
            self.values.setdefault(key, []).append(value)
        if "update" in self.values:
            raise QueryRefused(
                "SPARQL Update is refused: queries here are read-only",
                hint="change the graph by editing corpus/ or ontology/ and running `kg build`",
            )
        queries = self.values.get("query", [])
        if len(queries) > 1:
            raise SparqlError(
                f"the request carries {len(queries)} queries; the protocol allows one",
                hint="send one query= parameter (or one query body without a query= parameter)",
            )
        self.text = queries[0] if queries else None
        if self.text is not None:
            limit = get_settings().max_query_chars
            if len(self.text) > limit:
                raise SparqlError(
                    f"the query is {len(self.text)} characters long; the limit is {limit}",
                    hint="shorten it, or raise the max_query_chars setting",
                )

    def first(self, name: str) -> str:
        return (self.values.get(name) or [""])[0]

    def format(self) -> str:
        """The ``format`` asked for (its first value: SPARQLWrapper adds the media type as a second), checked."""
        if "format" not in self.values:
            return ""
        value = self.first("format")
        # kg's text table (table, text) is the CLI's; over HTTP a browser gets its page (html).
        known = formats.spellings()
        if value != "html" and (value not in known or formats.BY_NAME["table"] is formats.lookup(value)):
            raise SparqlError(
                f"unknown format {value[:40]!r}",
                hint="use one of " + ", ".join(sorted({*known} - {"table", "text"} | {"html"})),
            )
        return value

    def dataset(self) -> sparql.Dataset:
        """The dataset the request names; empty values (``default-graph-uri=``) name nothing."""
        given = {
            name: tuple(sparql.graph_iri(v.strip(), name) for v in self.values.get(name, []) if v.strip())
            for name in DATASET_PARAMS
        }
        if not any(given.values()):
            return sparql.Dataset(base_iri=get_settings().base_iri)
        return sparql.Dataset(given["default-graph-uri"], given["named-graph-uri"], get_settings().base_iri)


def _format_for(kind: str, explicit: str) -> tuple[str | None, str | None]:
    """Pick (kg.sparql format, media type) from ?format= or Accept; (None, None) means an HTML page."""
    table = kind != "graph"
    explicit = explicit.strip().lower()
    if explicit:
        if explicit == "html":
            return None, None
        return explicit, formats.sent_for_name(explicit)  # kg.sparql checks the name against the result
    types = formats.results_media_types(ask=kind == "ask") if table else formats.rdf_media_types(generic=True)
    accept = request.accept_mimetypes
    best = accept.best_match([*types, "text/html"])
    if best == "text/html":
        return None, None
    if best is None and accept and not _accepts_anything(accept):
        offered = ", ".join(sorted({f.media_type for f in types.values()}))
        raise sparql.NotAcceptable(
            f"no format asked for ({request.headers.get('Accept')}) fits a "
            f"{'CONSTRUCT/DESCRIBE' if not table else kind.upper()} result",
            hint=f"accept one of {offered}",
        )
    # No Accept, */*: the protocol's usual defaults.
    fmt = types[best].name if best in types else "json" if table else "turtle"
    return fmt, (formats.sent_as(best, types[best]) if best in types else None)


def _accepts_anything(accept) -> bool:
    """Whether Accept names a wildcard, so a best_match of None is not a 406."""
    # best_match answers None both for a header naming only formats kg lacks (a 406) and for one
    # whose wildcard is refused (``*/*;q=0``); the second has always had the default answer.
    return any(value in ("*/*", "application/*", "text/*") for value, _ in accept)


def _named_queries():
    return sparql.list_named_queries(get_settings())


def _unedited(text: str, chosen: str) -> bool:
    """Whether ``text`` is the named query's own text (line endings aside: a form sends CRLF)."""

    def lines(value: str) -> list[str]:
        return [line.rstrip() for line in value.replace("\r\n", "\n").strip().splitlines()]

    return lines(text) == lines(sparql.named_query(get_settings(), chosen).text)


def _named_params(chosen: str | None) -> dict[str, str]:
    """Return the values given for a named query's ``# param:`` variables (``param.key=DH2011b``)."""
    if not chosen:
        return {}
    declared = [name for name, _ in sparql.named_query(get_settings(), chosen).params]
    values = {name: param(f"param.{name}", limit=500).strip() for name in declared}
    return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class SyntaxAt:
    """A SPARQL syntax error said in words, with the 1-based line and column it was found at."""

    message: str
    line: int
    column: int


#: rdflib's parser: "Expected SelectQuery, found 'FILTER'  (at char 31), (line:3, col:3)".
_RDFLIB_AT = re.compile(
    r"Expected (?P<expected>.+?), found (?P<found>.+?)\s+\(at char \d+\), \(line:(?P<line>\d+), col:(?P<column>\d+)\)",
    re.S,
)
#: pyoxigraph's parser: "error at 1:28: expected one of ",", ".", "}"".
_OXIGRAPH_AT = re.compile(r"error at (?P<line>\d+):(?P<column>\d+): (?P<rest>.*)", re.S)

#: The grammar's top-level names, as a reader calls them.
_FORMS = {"SelectQuery": "SELECT", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE", "AskQuery": "ASK"}


def _expected_words(expected: str) -> str:
    """Turn a parser's "expected" part into words: grammar names become what a reader writes."""
    names = [name.strip() for name in expected.strip("{}").split("|")]
    if names == ["end of text"]:
        return "the query should end here"
    if all(name in _FORMS for name in names):
        words = [_FORMS[name] for name in names]
        if len(words) == 1:
            # rdflib names the query form when the error is anywhere inside it.
            return f"the {words[0]} query is not valid SPARQL from here"
        return "a query starts with " + ", ".join(words[:-1]) + " or " + words[-1]
    spelled = [
        re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower() if re.fullmatch(r"[A-Za-z]+", name) else name
        for name in names
    ]
    return "expected " + " or ".join(spelled)


def syntax_at(exc: KGError) -> SyntaxAt | None:
    """Read the line and column out of a SPARQL syntax error's parser text, and say it in words.

    kg.sparql checks a query with rdflib's parser and runs it with pyoxigraph's; both put the
    place in their message. Errors of any other kind, or without a place, give None.
    """
    text = exc.message
    if not text.startswith("SPARQL syntax error: "):
        return None
    text = text.removeprefix("SPARQL syntax error: ")
    if match := _RDFLIB_AT.fullmatch(text.strip()):
        found = match["found"]
        what = "the query ends too soon" if found == "end of text" else f"{found} cannot stand here"
        detail = f"{what}; {_expected_words(match['expected'])}"
    elif match := _OXIGRAPH_AT.fullmatch(text.strip()):
        # pyoxigraph lists character classes ([_], ['0'..='9']) beside tokens: keep the tokens.
        rest = re.sub(r"\[[^\]]*\]", "", match["rest"])
        rest = re.sub(r"^expected\b\s*(one of\b)?", "", rest.strip())
        words = [w.strip() for w in re.findall(r'"[^"]*"|[A-Za-z][\w ]*', rest) if w.strip()]
        shown = " or ".join(words) if len(words) <= 12 else ", ".join(words[:12]) + " …"
        detail = f"expected {shown}" if words else "this is not valid SPARQL here"
    else:
        return None
    line, column = int(match["line"]), int(match["column"])
    return SyntaxAt(f"SPARQL syntax error at line {line}, column {column}: {detail}", line, column)


def _located(exc: SparqlError) -> tuple[str, SyntaxAt | None]:
    """The error's text for a reader, and where it is if it is a syntax error."""
    where = syntax_at(exc)
    if where is None:
        return str(exc), None
    return f"{where.message} (fix the query there; prefixes such as cito:, kg:, skos: are pre-declared)", where


def _syntax_error_response(exc: SparqlError, where: SyntaxAt, text: str) -> Response:
    """The one error shape for a syntax error, with its ``line`` and ``column`` beside the words."""
    response = error_response(exc.status, text)
    if response.mimetype == "application/json":
        body = response.get_json()
        body.update(line=where.line, column=where.column)
        response.set_data(current_app.json.dumps(body) + "\n")
    return response


def _query_url(query: str, chosen: str | None, params: dict[str, str], **more: str) -> str:
    """The GET URL that runs ``query`` (with the named query's parameters) again."""
    args: dict[str, Any] = {"query": query, **({"named": chosen} if chosen else {}), **more}
    args.update({f"param.{k}": v for k, v in params.items()})
    return url_for("sparql.endpoint", **args)


def _form_page(
    query: str,
    *,
    status: int = 200,
    result=None,
    error: str | None = None,
    error_at: SyntaxAt | None = None,
    chosen: str | None = None,
    params: dict[str, str] | None = None,
) -> Response:
    named = _named_queries()
    declared = next((q.params for q in named if q.name == chosen), ())
    params = params or {}
    downloads = []
    if result is not None:
        downloads = [
            {"label": label, "href": _query_url(query, chosen, params, format=name), "file": f"kg-result.{ext}"}
            for label, name, ext in DOWNLOADS[result.kind]
        ]
    html = render_template(
        "sparql.html",
        query=query,
        result=result,
        error=error,
        error_at=error_at,
        named=named,
        chosen=chosen,
        local_href=local_href,
        declared=declared,
        params=params,
        prefixes=PREFIXES,
        # The editor's tabs (web/editor/sparql-editor.js): each named query with its text and parameters.
        named_tabs=[
            {
                "name": q.name,
                "description": q.description,
                "params": [{"name": n, "description": d} for n, d in q.params],
                "text": q.text,
            }
            for q in named
        ],
        downloads=downloads,
        page_rows=PAGE_ROWS,
    )
    return Response(html, status=status, mimetype="text/html")


def _start_query() -> str:
    """The query the editor shows before any is given: a named query that runs as it is."""
    names = [q.name for q in _named_queries()]
    if START_QUERY in names:
        return sparql.named_query(get_settings(), START_QUERY).text
    return "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10\n"


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer a SPARQL query (protocol clients), describe the service, or show the query form (browsers)."""
    settings = get_settings()
    asked = _Request()
    asked.format()
    text = asked.text
    chosen = param("named", limit=200).strip() or None
    if text is None or not text.strip():
        if chosen:
            text = sparql.named_query(settings, chosen).text
        elif text is None and request.method == "GET" and not wants_html():
            description = _service_description()
            if description is not None:
                return description
        if wants_html():
            return _form_page(_start_query() if text is None else text, chosen=chosen)
        if not text:
            raise SparqlError(
                "no query given", hint="send ?query=SELECT ... (or POST it); see /sparql in a browser for examples"
            )
    params = _named_params(chosen)
    try:
        if chosen and _unedited(text, chosen):
            # As written, the named query runs as kg runs it (a parameter left unset a few values
            # at a time, within the row cap), with the same rows as the text run by itself.
            result = sparql.run_named(settings, chosen, params, pool=get_pool(), dataset=asked.dataset())
        else:
            result = sparql.run_query(settings, text, params=params or None, pool=get_pool(), dataset=asked.dataset())
    except SparqlError as exc:
        message, where = _located(exc)
        if wants_html():
            return _form_page(text, status=exc.status, error=message, error_at=where, chosen=chosen, params=params)
        if where is not None:
            return _syntax_error_response(exc, where, message)
        raise
    fmt, media_type = _format_for(result.kind, asked.format())
    if fmt is None:
        return _form_page(text, result=result, chosen=chosen, params=params)
    name = result.format_name(fmt)
    body = result.serialize(name)
    response = Response(body, mimetype=media_type or formats.BY_NAME[name].media_type)
    if result.truncated:
        response.headers["X-KG-Truncated"] = "true"
        response.headers["Link"] = f'<{sparql.TRUNCATED_LINK}>; rel="describedby"'
    return response


_SD = "http://www.w3.org/ns/sparql-service-description#"
_FORMATS_NS = "http://www.w3.org/ns/formats/"


def _service_description() -> Response | None:
    """The SPARQL 1.1 Service Description of this endpoint, if the client asks for RDF (else None)."""
    types = formats.rdf_media_types()
    best = request.accept_mimetypes.best_match([*types, "text/html", "application/json"])
    if best not in types:
        return None
    node = ox.NamedNode(request.base_url)
    service = ox.BlankNode()
    dataset, default = ox.BlankNode(), ox.BlankNode()
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")

    def sd(name: str) -> ox.NamedNode:
        return ox.NamedNode(_SD + name)

    triples = [
        ox.Triple(service, rdf_type, sd("Service")),
        ox.Triple(service, sd("endpoint"), node),
        ox.Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(service, sd("defaultEntailmentRegime"), ox.NamedNode("http://www.w3.org/ns/entailment/Simple")),
        ox.Triple(service, sd("defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default),
        ox.Triple(default, rdf_type, sd("Graph")),
    ]
    for name in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "RDF_XML",
        "JSON-LD",
    ):
        triples.append(ox.Triple(service, sd("resultFormat"), ox.NamedNode(_FORMATS_NS + name)))
    fmt = types[best].rdf
    assert fmt is not None  # every RDF media type names an RDF format
    body = ox.serialize(triples, format=fmt, prefixes={"sd": _SD, "formats": _FORMATS_NS})
    return Response(body, mimetype=formats.sent_as(best, types[best]))
