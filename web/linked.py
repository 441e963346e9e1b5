"""Linked data: every resource IRI of the graph answers here, as a page or as RDF by ``Accept``.

``{base}post/ID``, ``claim/ID``, ``source/KEY``, ``concept/ID``, ``org/ID`` and ``concepts`` are
the pages of ``web.pages`` (which call ``rdf_or_none`` first); ``citation/ID``,
``citation-group/ID`` and ``dump/NAME`` are answered here. RDF is the resource's description:
its statements, those of its own ``#fragment`` nodes (selectors, derivations) and the
statements pointing at it, as Turtle, JSON-LD or N-Triples.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

import pyoxigraph as ox
import rdflib
from flask import Blueprint, Response, redirect, render_template, request, url_for

from kg import formats
from kg.errors import KGError, NotFound
from kg.graph import serialize
from kg.settings import OPTIONS
from kg.sparql import _NOT_XML
from kg.store import LiveStore
from kg.vocab import PREFIXES

from .http import param
from .linkify import local_href
from .resources import get_settings, get_store

bp = Blueprint("linked", __name__)

#: Linked data offers the RDF media types that are not also kg's JSON (application/json is the
#: page's JSON twin here, unlike at /sparql), with the page's own types ahead of them.
RDF_TYPES = formats.rdf_media_types()
PAGE_TYPES = ("text/html", "application/json")


class NotAcceptable(KGError):
    """The client accepts none of the forms a resource has."""

    status = 406


def asks_for_rdf() -> bool:
    """Return whether the request might want RDF: a cheap check before negotiating, false for browsers and JSON clients."""
    if "format" in request.values:
        return True
    accept = request.accept_mimetypes
    # No Accept header means the page's JSON; a browser or JSON client names its type first, and
    # negotiation would pick the page's type for it anyway (PAGE_TYPES are offered first).
    return bool(accept) and accept.best not in PAGE_TYPES


def requested_rdf() -> tuple[str, str] | None:
    """Return (format, media type) of the RDF a client asks for (?format= or Accept), or None for a page/JSON.

    Raises NotAcceptable (406) when the Accept header names only forms a resource has not got.
    """
    if not asks_for_rdf():
        return None
    explicit = param("format", limit=20).strip().lower()
    if explicit:
        if explicit in ("html", "json"):
            return None
        # ``xml`` here can only mean RDF/XML: linked data has no SPARQL results form.
        found = formats.lookup(explicit, graph=True)
        if found is None or found.kind != "graph":
            raise KGError(f"unknown format {explicit!r}", hint="use format=ttl, nt, jsonld or rdfxml (or html, json)")
        return found.name, found.media_type
    accept = request.accept_mimetypes
    best = accept.best_match([*PAGE_TYPES, *RDF_TYPES])
    # best_match answers None both for a header naming only forms kg lacks (a 406) and for one
    # whose wildcard is refused (``*/*;q=0``); the second has always had the page.
    if best is None and accept and not any(value in ("*/*", "text/*", "application/*") for value, _ in accept):
        raise NotAcceptable(
            f"no form of this resource fits Accept: {request.headers.get('Accept')}",
            hint="accept text/html, application/json, text/turtle, application/n-triples, "
            "application/ld+json or application/rdf+xml",
        )
    if best not in RDF_TYPES:
        return None
    return RDF_TYPES[best].name, formats.sent_as(best, RDF_TYPES[best])


#: The default base IRI: example.org is reserved (RFC 2606) and never served, so a default
#: install's IRIs are written with the address they are served at (see served_base).
DEFAULT_BASE_IRI = next(option.default() for option in OPTIONS if option.name == "base_iri")


def served_base() -> str:
    """Return the base the RDF answers of this request name resources by.

    A configured ``base_iri`` (the public address behind a proxy) is written as it is. The
    default placeholder is mapped to the address the request reached (``http://127.0.0.1:8080/``
    on a default `kg serve`), so every IRI a default install mints dereferences there.
    """
    base = get_settings().base_iri
    if base != DEFAULT_BASE_IRI:
        return base
    return request.url_root  # the script root included, so a mounted app names its own paths


def _served_term(term, base: str, served: str):
    if isinstance(term, ox.NamedNode) and term.value.startswith(base):
        return ox.NamedNode(served + term.value[len(base) :])
    if isinstance(term, ox.Triple):
        return ox.Triple(*(_served_term(t, base, served) for t in (term.subject, term.predicate, term.object)))
    return term


def serialize_rdf(triples: list[ox.Triple], fmt: str) -> bytes:
    """Write ``triples`` in ``fmt``, with our prefixes, naming our resources by served_base()."""
    base, served = get_settings().base_iri, served_base()
    if served != base:
        triples = [_served_term(t, base, served) for t in triples]
    prefixes = {name: (served + iri[len(base) :] if iri.startswith(base) else iri) for name, iri in PREFIXES.items()}
    prefixes[""] = served
    if fmt == "jsonld":
        # pyoxigraph writes expanded JSON-LD; rdflib compacts it against a @context of our prefixes.
        graph = rdflib.Graph()
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
        return graph.serialize(
            format="json-ld", context={k: v for k, v in prefixes.items() if k}, auto_compact=True, encoding="utf-8"
        )
    if fmt == "rdfxml":
        for triple in triples:
            literal = triple.object.value if isinstance(triple.object, ox.Literal) else ""
            if _NOT_XML.search(literal):
                raise NotAcceptable(
                    "this resource has a value XML 1.0 cannot carry, so it has no RDF/XML form",
                    hint="ask for Turtle, N-Triples or JSON-LD",
                )
    rdf = formats.BY_NAME[fmt].rdf
    assert rdf is not None  # requested_rdf names graph formats only
    return serialize(triples, rdf, prefixes)


def iri_for_path() -> str:
    """Return the graph IRI of the requested path (the base IRI plus the path)."""
    # The graph quotes ids the way kg.graph.Iris does; the request path arrives decoded.
    path = "/".join(quote(segment, safe="-._~") for segment in request.path.lstrip("/").split("/"))
    return get_settings().base_iri + path


def _triples(store: LiveStore, iris: Iterable[str], *, incoming: bool = True) -> list[ox.Triple]:
    seen: set[ox.Triple] = set()
    out: list[ox.Triple] = []

    def add(quad: ox.Quad) -> None:
        triple = ox.Triple(quad.subject, quad.predicate, quad.object)
        if triple not in seen:
            seen.add(triple)
            out.append(triple)

    for iri in iris:
        node = ox.NamedNode(iri)
        children = []
        for quad in store.quads_for_pattern(node, None, None, ox.DefaultGraph()):
            add(quad)
            if isinstance(quad.object, ox.NamedNode) and quad.object.value.startswith(iri + "#"):
                children.append(quad.object)
        for child in children:
            for quad in store.quads_for_pattern(child, None, None, ox.DefaultGraph()):
                add(quad)
        if incoming:
            for quad in store.quads_for_pattern(None, None, node, ox.DefaultGraph()):
                add(quad)
    return out


def rdf_response(iri: str, fmt: tuple[str, str], *, also: Iterable[str] = ()) -> Response:
    """Describe ``iri`` (and the ``also`` resources) as ``fmt`` (format, media type); NotFound if the graph knows nothing of it."""
    store = get_store()
    triples = _triples(store, [iri])
    if not triples:
        raise NotFound(
            f"nothing is known about <{iri}>", hint=f"resource IRIs look like {get_settings().base_iri}source/DH2011b"
        )
    extra = list(also)
    if extra:
        known = set(triples)
        triples += [t for t in _triples(store, extra, incoming=False) if t not in known]
    return Response(serialize_rdf(triples, fmt[0]), mimetype=fmt[1], headers={"Vary": "Accept"})


def rdf_or_none(also: Iterable[str] = ()) -> Response | None:
    """Answer the current resource as RDF if the client asked for RDF; else None (render the page)."""
    fmt = requested_rdf()
    if fmt is None:
        return None
    return rdf_response(iri_for_path(), fmt, also=also)


def _describe_page(title: str) -> Response:
    """Render any resource as a table of its statements (for resources without a page of their own)."""
    iri = iri_for_path()
    triples = _triples(get_store(), [iri])
    if not triples:
        raise NotFound(
            f"nothing is known about <{iri}>", hint=f"resource IRIs look like {get_settings().base_iri}source/DH2011b"
        )

    def term(node) -> dict:
        if isinstance(node, ox.Literal):
            return {"text": node.value, "href": None, "literal": True}
        value = node.value
        short = next((f"{p}:{value[len(ns) :]}" for p, ns in PREFIXES.items() if value.startswith(ns)), value)
        return {"text": short, "href": local_href(value) if isinstance(node, ox.NamedNode) else None, "literal": False}

    rows = [{"subject": term(t.subject), "predicate": term(t.predicate), "object": term(t.object)} for t in triples]
    return Response(render_template("describe.html", title=title, iri=iri, rows=rows), mimetype="text/html")


@bp.get("/citation/<citation_id>")
def citation(citation_id: str):
    """Show a citation: the claim it stands in (browsers), or its RDF."""
    answer = rdf_or_none()
    if answer is not None:
        return answer
    found = get_store().quads_for_pattern(
        ox.NamedNode(iri_for_path()), ox.NamedNode(PREFIXES["cito"] + "hasCitingEntity"), None, ox.DefaultGraph()
    )
    claim_iri = next((q.object.value for q in found if isinstance(q.object, ox.NamedNode)), None)
    if claim_iri is None:
        raise NotFound(
            f"no citation {citation_id!r}", hint="citation ids look like c1a2b3c4d5-1: a claim id and a number"
        )
    claim_id = claim_iri.rsplit("/", 1)[-1]
    return redirect(url_for("pages.claim", claim_id=claim_id) + f"#{citation_id}", code=303)


@bp.get("/citation-group/<group_id>")
def citation_group(group_id: str):
    """Show a parenthesis of citations: its statements, or its RDF."""
    answer = rdf_or_none()
    return answer if answer is not None else _describe_page(f"Citation group {group_id}")


@bp.get("/dump/<name>")
def dump(name: str):
    """Show a raw dump: the posts found in it, or its RDF."""
    answer = rdf_or_none()
    return answer if answer is not None else _describe_page(f"Dump {name}")


def _vocabulary() -> list[ox.Triple]:
    path = get_settings().ontology_dir / "kg.ttl"
    try:
        quads = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
        return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    except (OSError, SyntaxError) as exc:
        raise NotFound(
            f"the kg vocabulary {path} cannot be read: {exc}",
            hint="check ontology_dir (KG_ONTOLOGY_DIR) and that kg.ttl parses",
        ) from None


@bp.get("/ns")
def vocabulary():
    """The kg vocabulary (``kg:`` terms, ontology/kg.ttl): a page listing its terms, or its RDF."""
    triples = _vocabulary()
    fmt = requested_rdf()
    if fmt is not None:
        return Response(serialize_rdf(triples, fmt[0]), mimetype=fmt[1], headers={"Vary": "Accept"})
    namespace = PREFIXES["kg"]
    rdfs, rdf = "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    terms: dict[str, dict] = {}
    for t in triples:
        if not (isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(namespace)):
            continue
        entry = terms.setdefault(
            t.subject.value,
            {"name": t.subject.value[len(namespace) :], "types": [], "label": "", "comment": "", "other": []},
        )
        predicate = t.predicate.value
        if predicate == rdf + "type":
            entry["types"].append(_short(t.object.value))
        elif predicate == rdfs + "label":
            entry["label"] = t.object.value
        elif predicate == rdfs + "comment":
            entry["comment"] = t.object.value
        else:
            entry["other"].append(
                (_short(predicate), _short(t.object.value) if not isinstance(t.object, ox.Literal) else t.object.value)
            )
    listed = sorted((e for e in terms.values() if e["name"]), key=lambda e: e["name"].lower())
    return Response(
        render_template(
            "ns.html",
            namespace=served_base() + namespace[len(get_settings().base_iri) :]
            if namespace.startswith(get_settings().base_iri)
            else namespace,
            terms=listed,
        ),
        mimetype="text/html",
        headers={"Vary": "Accept"},
    )


def _short(iri: str) -> str:
    return next((f"{p}:{iri[len(ns) :]}" for p, ns in PREFIXES.items() if iri.startswith(ns)), iri)
