"""The live graph, wherever it is: the one place that opens it for readers.

``open_live(settings)`` answers an object with the two calls kg's readers make of a pyoxigraph
``Store`` (``query`` and ``quads_for_pattern``): with ``store = "embedded"`` (the default) it is
the live build's read-only pyoxigraph store, exactly as before; with ``store = "sparql"`` it is a
``RemoteStore`` that sends each query to ``sparql_endpoint`` over the SPARQL 1.1 Protocol (HTTP,
JSON results, Turtle graphs) and parses the answer into the same pyoxigraph objects, so the
catalog, the named queries and ``/sparql`` run unchanged and the embedded store is never opened.

An external server holds two named graphs per published build (``kg publish``, kg.publish): its
graph and, beside it, its statistics (``<graph>/statistics``, what the embedded store keeps in
``kg:statistics``, kg.stats). A pointer triple in a small control graph names the live build's
graph, and readers follow it (looked up at most once per ``LIVE_SECONDS``), so a publish switches
every reader to both with one update. ``RemoteStore.query`` is the one place that maps the name
``kg:statistics`` to the live build's statistics graph, in queries and back in their answers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pyoxigraph as ox
import requests

from .errors import GraphError, QueryTimeout, SettingsError, SparqlError
from .settings import Settings
from .stats import GRAPH as STATISTICS

EMBEDDED = "embedded"
SPARQL = "sparql"

#: Seconds a reader trusts the live-graph pointer it read; a publish reaches every reader in this long.
LIVE_SECONDS = 1.0

_DCTERMS = "http://purl.org/dc/terms/"
#: The pointer's predicate: the control graph ``dcterms:hasVersion`` the live build's graph.
LIVE = _DCTERMS + "hasVersion"
#: Every published graph the control graph lists (what ``kg publish`` prunes from).
PUBLISHED = _DCTERMS + "hasPart"

#: What is asked for, by the query's form: Virtuoso answers a CONSTRUCT as SPARQL JSON rows if
#: JSON comes first, so a graph query asks for Turtle only.
_ACCEPT = {
    "select": "application/sparql-results+json",
    "ask": "application/sparql-results+json",
    "construct": "text/turtle, application/n-triples;q=0.9",
    "describe": "text/turtle, application/n-triples;q=0.9",
}
#: Virtuoso answers ASK in JSON as a one-row SELECT of this variable (1 or 0), not as a boolean.
_VIRTUOSO_ASK = "__ASK_RETVAL"


def control_graph(settings: Settings) -> str:
    """The IRI of the control graph holding the live-graph pointer (under ``base_iri``)."""
    return f"{settings.base_iri}graphs"


def build_graph(settings: Settings, generation: str) -> str:
    """The IRI of the named graph a build (its generation folder's name) is published into."""
    return f"{settings.base_iri}graph/{generation}"


def statistics_graph(graph: str) -> str:
    """The IRI of the named graph holding the statistics of the build published into ``graph``."""
    return graph + "/statistics"


# A query read token by token, as far as finding its graph names needs: strings, IRIs and
# comments whole (they may hold anything), words (keywords, prefixed names, variables), the rest.
_TOKENS = re.compile(
    r"""
    (?P<string>"{3}(?:[^"\\]|\\.|"(?!""))*"{3}
      | '{3}(?:[^'\\]|\\.|'(?!''))*'{3}
      | "(?:[^"\\\n\r]|\\.)*"
      | '(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<space>\s+|\#[^\n\r]*)
  | (?P<word>(?:[^\s{}()\[\];,<>"'\#=!|&*+/^\\]|\\.)+)
  | (?P<other>.)
""",
    re.VERBOSE | re.DOTALL,
)
_PN_ESCAPE = re.compile(r"\\(.)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _resolve(base: str | None, iri: str) -> str:
    """``iri`` resolved against ``base`` if it is relative (urljoin would drop an empty fragment)."""
    if base is None or _SCHEME.match(iri):
        return iri
    joined = urljoin(base, iri)
    return joined + "#" if iri.endswith("#") and not joined.endswith("#") else joined


def map_graph_names(text: str, names: dict[str, str], prefixes: dict[str, str], base: str | None) -> tuple[str, bool]:
    """Return ``text`` with each graph name (after GRAPH, FROM or FROM NAMED) found in ``names``
    written as its value, and whether the query has a FROM clause of its own.

    A name is matched as the query means it: an IRI (resolved against BASE) or a prefixed name
    (with the query's PREFIX lines over ``prefixes``); strings and comments are left alone, and so
    is the same IRI anywhere else (the ontology describes ``kg:statistics`` in the default graph).
    """
    out: list[str] = []
    prefixes = dict(prefixes)
    has_from = False
    prev = ""  # the token before this one (a word upper-cased), white space and comments skipped
    declaring: str | None = None  # the prefix a PREFIX line is declaring
    for match in _TOKENS.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "space":
            out.append(token)
            continue
        iri: str | None = None
        if kind == "iri":
            iri = _resolve(base, token[1:-1])
        elif kind == "word" and ":" in token and not token.startswith(("?", "$")):
            prefix, local = token.split(":", 1)
            if prefix in prefixes:
                iri = prefixes[prefix] + _PN_ESCAPE.sub(r"\1", local)
        if declaring is not None:
            if kind == "iri" and iri is not None:
                prefixes[declaring] = iri
            declaring = None
        elif prev == "PREFIX" and kind == "word" and token.endswith(":"):
            declaring = token[:-1]
        elif prev == "BASE" and kind == "iri":
            base = iri
        elif iri is not None and iri in names and prev in ("GRAPH", "FROM", "NAMED"):
            token = f"<{names[iri]}>"
        elif kind == "word" and token.upper() == "FROM":
            has_from = True
        prev = token.upper() if kind == "word" else token
        out.append(token)
    return "".join(out), has_from


def endpoint(settings: Settings) -> str:
    """The SPARQL query URL readers use, or SettingsError naming the setting if there is none."""
    if not settings.sparql_endpoint:
        raise SettingsError(
            'store = "sparql" needs the query URL of the SPARQL server',
            hint="set sparql_endpoint (KG_SPARQL_ENDPOINT), e.g. http://127.0.0.1:8890/sparql",
        )
    return settings.sparql_endpoint


class _Triples(list):
    """A CONSTRUCT or DESCRIBE answer from the server: its triples (kg.sparql.execute reads any iterable)."""


_local = threading.local()


def _session() -> requests.Session:
    # One keep-alive session per thread: requests' Session is not promised to be thread-safe.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def _term(term: Any) -> str:
    """A pyoxigraph term written as SPARQL (its N-Triples form)."""
    return str(term)


def _unreachable(url: str, exc: Exception) -> GraphError:
    return GraphError(
        f"cannot reach the SPARQL server at {url}: {exc}",
        hint="start the server, or fix sparql_endpoint (KG_SPARQL_ENDPOINT)",
    )


def post(
    url: str, data: dict | bytes, *, timeout: float, headers: dict | None = None, max_bytes: int | None = None
) -> requests.Response:
    """POST to the server; GraphError naming the fix if it cannot be reached, SparqlError if it
    refuses, AnswerTooLarge once its answer passes ``max_bytes`` (read no further)."""
    try:
        response = _session().post(url, data=data, headers=headers or {}, timeout=(5, timeout), stream=True)
        body = bytearray()
        for chunk in response.iter_content(1 << 16):
            body += chunk
            if max_bytes is not None and len(body) > max_bytes:
                response.close()
                from .sparql import AnswerTooLarge  # kg.sparql imports this module

                raise AnswerTooLarge(
                    f"the SPARQL server's answer passed {max_bytes:,} bytes and was stopped",
                    hint="narrow the query (fewer or shorter values, a LIMIT) or raise sparql_max_bytes (KG_SPARQL_MAX_BYTES)",
                )
        response._content = bytes(body)
    except requests.Timeout:
        raise QueryTimeout(
            f"the SPARQL server at {url} did not answer within {timeout:g} s",
            hint="narrow the query (more specific patterns, a LIMIT) or raise sparql_timeout (KG_SPARQL_TIMEOUT)",
        ) from None
    except requests.RequestException as exc:
        raise _unreachable(url, exc) from None
    if response.status_code >= 400:
        text = response.text.strip().replace("\n", " ")[:500]
        raise SparqlError(
            f"the SPARQL server at {url} refused the query ({response.status_code}): {text}",
            hint="the query runs on the external server; write it in what that server accepts",
        )
    return response


class RemoteStore:
    """A SPARQL 1.1 Protocol endpoint read as a pyoxigraph Store: ``query`` and ``quads_for_pattern``.

    Its default graph is ``graph`` (the live build's named graph) and its one named graph the
    build's statistics, called ``kg:statistics`` as in the embedded store, unless a query names
    its own dataset (FROM, or ``default_graph``/``named_graphs``).
    """

    def __init__(self, url: str, graph: str | None, timeout: float, max_bytes: int | None = None) -> None:
        self.url = url
        self.graph = graph
        #: The live build's statistics graph, which queries call kg:statistics (None: no mapping).
        self.statistics = statistics_graph(graph) if graph else None
        self.timeout = timeout
        #: Most bytes of an answer read from the server (the wire form of sparql_max_bytes of values).
        self.max_bytes = max_bytes
        #: The form of the queries this store is asked (kg.sparql.check_query says it); None is SELECT or ASK.
        self.form: str | None = None

    def query(
        self,
        text: str,
        *,
        prefixes: dict[str, str] | None = None,
        substitutions: dict | None = None,
        base_iri: str | None = None,
        default_graph: Iterable[Any] | None = None,
        named_graphs: Iterable[Any] | None = None,
        timeout: float | None = None,
        form: str | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | _Triples:
        """Run ``text`` on the server and answer as ``ox.Store.query`` does (its keyword arguments too)."""
        prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())
        if base_iri:
            prologue = f"BASE <{base_iri}>\n" + prologue
        graphs = {STATISTICS: self.statistics} if self.statistics else {}
        text, has_from = map_graph_names(text, graphs, prefixes or {}, base_iri) if graphs else (text, False)
        query = prologue + text
        if substitutions:
            # A trailing VALUES block binds them for the whole query, as substitutions do.
            names = list(substitutions)
            query += (
                "\nVALUES ("
                + " ".join(f"?{v.value}" for v in names)
                + ") { ("
                + " ".join(_term(substitutions[v]) for v in names)
                + ") }"
            )
        fields: dict[str, Any] = {"query": query}
        if default_graph is not None or named_graphs is not None:
            fields["default-graph-uri"] = [graphs.get(g.value, g.value) for g in default_graph or ()]
            fields["named-graph-uri"] = [graphs.get(g.value, g.value) for g in named_graphs or ()]
        elif self.graph and not has_from:
            fields["default-graph-uri"] = [self.graph]
            # And the statistics as the one named graph, as in the embedded store (Virtuoso
            # would read every graph it holds, its own included, for GRAPH ?g).
            fields["named-graph-uri"] = list(graphs.values())
        response = post(
            self.url,
            fields,
            timeout=timeout or self.timeout,
            headers={"Accept": _ACCEPT[form or self.form or "select"]},
            max_bytes=self.max_bytes,
        )
        kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = response.content
        # The live statistics graph is called kg:statistics in answers too (GRAPH ?g binds it).
        back = {live: name for name, live in graphs.items()}
        if kind in ("application/sparql-results+json", "application/json"):
            if any(_mentions(body, live) for live in back):
                body = _rename_json(body, back)
            answer = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
            if isinstance(answer, ox.QuerySolutions) and [v.value for v in answer.variables] == [_VIRTUOSO_ASK]:
                value = any(row[0] is not None and row[0].value == "1" for row in answer)
                return ox.parse_query_results(
                    b'{"head": {}, "boolean": %s}' % (b"true" if value else b"false"), format=ox.QueryResultsFormat.JSON
                )
            return answer
        if kind == "application/sparql-results+xml":
            return ox.parse_query_results(body, format=ox.QueryResultsFormat.XML)
        rdf = ox.RdfFormat.from_media_type(kind)
        if rdf is None:
            raise SparqlError(
                f"the SPARQL server at {self.url} answered {kind or 'no content type'}, not SPARQL results",
                hint="check that sparql_endpoint (KG_SPARQL_ENDPOINT) is a SPARQL query URL",
            )
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf))
        if back:
            # Turtle may write the IRI as a prefixed name, so every term is looked up.
            renamed = {ox.NamedNode(live): ox.NamedNode(name) for live, name in back.items()}
            triples = (ox.Triple(*(renamed.get(t, t) for t in triple)) for triple in triples)
        return _Triples(triples)

    def quads_for_pattern(self, subject: Any, predicate: Any, object: Any, graph_name: Any = None) -> Iterator[ox.Quad]:
        """The live graph's statements matching a pattern (None matches anything), as quads of its default graph."""
        parts = [("?s" if subject is None else _term(subject)), ("?p" if predicate is None else _term(predicate))]
        parts.append("?o" if object is None else _term(object))
        pattern = " ".join(parts)
        answer = self.query(f"CONSTRUCT {{ {pattern} }} WHERE {{ {pattern} }}", form="construct")
        assert isinstance(answer, _Triples)
        return iter([ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in answer])


def _mentions(body: bytes, iri: str) -> bool:
    """Whether an answer may name ``iri`` (JSON may write its slashes as ``\\/``)."""
    return iri.encode("utf-8") in body or iri.replace("/", "\\/").encode("utf-8") in body


def _rename_json(body: bytes, names: dict[str, str]) -> bytes:
    """A SPARQL JSON answer with each IRI of ``names`` written as its value."""
    answer = json.loads(body)
    for row in answer.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "uri" and term.get("value") in names:
                term["value"] = names[term["value"]]
    return json.dumps(answer).encode("utf-8")


#: What readers hold: the embedded store or the server standing in for it.
LiveStore = ox.Store | RemoteStore

_pointers: dict[tuple[str, str], tuple[str, float]] = {}
_pointers_lock = threading.Lock()


def live_graph(settings: Settings, *, fresh: bool = False) -> str:
    """The IRI of the graph the control graph names live, read at most once per LIVE_SECONDS.

    Raises GraphError naming `kg publish` when nothing is published on the server.
    """
    url = endpoint(settings)
    key = (url, control_graph(settings))
    now = time.monotonic()
    with _pointers_lock:
        cached = _pointers.get(key)
    if cached is not None and not fresh and now - cached[1] < LIVE_SECONDS:
        return cached[0]
    answer = RemoteStore(url, None, settings.sparql_timeout).query(
        f"SELECT ?g WHERE {{ GRAPH <{key[1]}> {{ <{key[1]}> <{LIVE}> ?g }} }}"
    )
    assert isinstance(answer, ox.QuerySolutions)
    found = [row[0].value for row in answer if row[0] is not None]
    if not found:
        raise GraphError(
            f"no build is published to the SPARQL server at {url}",
            hint="publish one with `kg publish` (see README, Beyond one machine)",
        )
    graph = sorted(found)[-1]  # mid-switch two are named (kg.publish): the newer build wins
    with _pointers_lock:
        _pointers[key] = (graph, now)
    return graph


def live_key(settings: Settings) -> str | Path:
    """What names the live graph now: the embedded store's folder, or the published graph's IRI.

    Readers keep an open store, and answers computed from it, while this stays the same.
    """
    if settings.store == SPARQL:
        return live_graph(settings)
    from .graph import store_path  # graph imports settings-level modules only; keep this one leaf-like

    return store_path(settings)


def open_live(settings: Settings, *, timeout: float | None = None) -> LiveStore:
    """Open the live graph for reading: the embedded read-only store, or the external server's live
    graph (whose queries wait ``timeout`` seconds, default ``sparql_timeout``, for an answer)."""
    if settings.store == SPARQL:
        # An answer's wire form (JSON, Turtle) spends a few times its values' bytes on framing.
        wire = 4 * settings.sparql_max_bytes + 2**20
        return RemoteStore(endpoint(settings), live_graph(settings), timeout or settings.sparql_timeout, wire)
    from .graph import open_store

    return open_store(settings)
