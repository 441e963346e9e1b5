"""Linked data: every resource IRI of the graph answers here, as a page or as RDF by ``Accept``.

``{base}post/ID``, ``claim/ID``, ``source/KEY``, ``concept/ID``, ``org/ID`` and ``concepts`` are
the pages of ``web.pages`` (which call ``rdf_or_none`` first); ``citation/ID``,
``citation-group/ID`` and ``dump/NAME`` are answered here. RDF is the resource's description:
its statements, those of its own ``#fragment`` nodes (selectors, derivations) and the
statements pointing at it, as Turtle, JSON-LD or N-Triples.
"""

from __future__ import annotations

from typing import Iterable
from urllib.parse import quote

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, render_template, request, url_for

from kg.errors import KGError, NotFound
from kg.vocab import PREFIXES

from .http import param
from .linkify import local_href
from .resources import get_settings, get_store

bp = Blueprint("linked", __name__)

#: ?format= names and media types -> (pyoxigraph format, media type sent).
RDF_FORMATS = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples"),
}
FORMAT_NAMES = {"turtle": "turtle", "ttl": "turtle", "jsonld": "jsonld", "json-ld": "jsonld", "nt": "nt",
                "ntriples": "nt", "n-triples": "nt"}
MEDIA_TYPES = {"text/turtle": "turtle", "application/x-turtle": "turtle", "application/ld+json": "jsonld",
               "application/n-triples": "nt"}


def requested_rdf() -> str | None:
    """Return the RDF format a client asks for (?format= or Accept), or None for a page/JSON."""
    explicit = param("format", limit=20).strip().lower()
    if explicit:
        if explicit in ("html", "json"):
            return None
        if explicit not in FORMAT_NAMES:
            raise KGError(f"unknown format {explicit!r}", hint="use format=ttl, jsonld or nt (or html)")
        return FORMAT_NAMES[explicit]
    best = request.accept_mimetypes.best_match(["text/html", "application/json", *MEDIA_TYPES])
    return MEDIA_TYPES.get(best or "")


def iri_for_path() -> str:
    """Return the graph IRI of the requested path (the base IRI plus the path)."""
    # The graph quotes ids the way kg.graph.Iris does; the request path arrives decoded.
    path = "/".join(quote(segment, safe="-._~") for segment in request.path.lstrip("/").split("/"))
    return get_settings().base_iri + path


def _triples(store: ox.Store, iris: Iterable[str], *, incoming: bool = True) -> list[ox.Triple]:
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


def rdf_response(iri: str, fmt: str, *, also: Iterable[str] = ()) -> Response:
    """Describe ``iri`` (and the ``also`` resources) in ``fmt``; NotFound if the graph knows nothing of it."""
    store = get_store()
    triples = _triples(store, [iri])
    if not triples:
        raise NotFound(f"nothing is known about <{iri}>",
                       hint=f"resource IRIs look like {get_settings().base_iri}source/DH2011b")
    extra = list(also)
    if extra:
        known = set(triples)
        triples += [t for t in _triples(store, extra, incoming=False) if t not in known]
    rdf_format, media_type = RDF_FORMATS[fmt]
    body = ox.serialize(triples, format=rdf_format, prefixes=PREFIXES | {"": get_settings().base_iri})
    return Response(body, mimetype=media_type)


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
        raise NotFound(f"nothing is known about <{iri}>",
                       hint=f"resource IRIs look like {get_settings().base_iri}source/DH2011b")

    def term(node) -> dict:
        if isinstance(node, ox.Literal):
            return {"text": node.value, "href": None, "literal": True}
        value = node.value
        short = next((f"{p}:{value[len(ns):]}" for p, ns in PREFIXES.items() if value.startswith(ns)), value)
        return {"text": short, "href": local_href(value) if isinstance(node, ox.NamedNode) else None,
                "literal": False}

    rows = [{"subject": term(t.subject), "predicate": term(t.predicate), "object": term(t.object)} for t in triples]
    return Response(render_template("describe.html", title=title, iri=iri, rows=rows), mimetype="text/html")


@bp.get("/citation/<citation_id>")
def citation(citation_id: str):
    """Show a citation: the claim it stands in (browsers), or its RDF."""
    answer = rdf_or_none()
    if answer is not None:
        return answer
    found = get_store().quads_for_pattern(ox.NamedNode(iri_for_path()), ox.NamedNode(PREFIXES["cito"] + "hasCitingEntity"),
                                          None, ox.DefaultGraph())
    claim_iri = next((q.object.value for q in found), None)
    if claim_iri is None:
        raise NotFound(f"no citation {citation_id!r}", hint="citation ids look like c1a2b3c4d5-1: a claim id and a number")
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
