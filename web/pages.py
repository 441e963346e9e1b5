"""The pages: one view per page, answering HTML, JSON or RDF by ``Accept``.

Resource pages sit at their graph IRI's path. A page's JSON is the catalog's answer as it is,
and the page's twin under ``/api/`` is the same view function (registered by web.api): on an
API path it always answers that JSON (web.http.wants_html), as Datasette's DataView does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from kg import catalog as catalog_mod
from kg import search as search_mod
from kg.errors import KGError, NotFound, PastLastPage, closest
from kg.paging import PageLinks, page_links
from kg.references import REFERENCE_STYLES, highwire_tags
from kg.references import export as export_references

from . import data
from .exports import (
    POST_COLUMNS,
    SEARCH_COLUMNS,
    SOURCE_COLUMNS,
    csv_download,
    download,
    list_format,
    references_download,
)
from .http import int_param, param, wants_html
from .linked import asks_for_rdf, rdf_or_none
from .picture import concept_picture
from .resources import cached_answer, catalog, get_settings

bp = Blueprint("pages", __name__)

#: Search filters taken from the query string (each may repeat), in facet order.
FILTERS = ("source", "concept", "post", "org", "year")
#: Facet group of the search JSON -> the filter it sets.
FACETS = (
    ("sources", "source", "Cited sources"),
    ("concepts", "concept", "Concepts"),
    ("orgs", "org", "Organisations"),
    ("posts", "post", "Posts"),
    ("years", "year", "Year of the cited source"),
)
#: The reference formats a source, concept or search exports its sources in (kg.formats, kind
#: "reference"), by the name in their download URLs -> (format, label).
REFERENCE_EXPORTS = {"bibtex": ("bibtex", "BibTeX"), "csl": ("csl-json", "CSL-JSON"), "ris": ("ris", "RIS")}
#: The most claims a page of a concept's claims, or sources or posts a page of their lists, may list (``limit=``).
MAX_PAGE_SIZE = 1000
#: Sources or posts a page of their lists shows unless ``limit=`` says otherwise.
LIST_PAGE_SIZE = 100


def page(template: str, payload: Any, status: int = 200, **context: Any) -> Response:
    """Render ``template`` for browsers, or answer ``payload`` as JSON for clients asking for JSON."""
    if not wants_html():
        response = jsonify(payload)
        response.status_code = status
        return response
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def rdf_answer(also: Any = ()) -> Response | None:
    """Answer the resource as RDF when the client asks for RDF; None on the API's paths, which answer JSON."""
    return None if request.blueprint == "api" or not asks_for_rdf() else rdf_or_none(also=also)


def bibtex_download(text: str, name: str) -> Response:
    """Send BibTeX as a file download."""
    return references_download(text, "bibtex", name)


def references_of(keys: list[str], kind: str, name: str) -> Response:
    """Send the library's entries for ``keys`` in the reference format named ``kind`` in REFERENCE_EXPORTS."""
    fmt = REFERENCE_EXPORTS[kind][0]
    references, _ = catalog().library()
    return references_download(export_references(references, keys, fmt), fmt, name)


def export_links(endpoint: str, **values: Any) -> list[dict]:
    """Return the links to a source's, concept's or search's sources in every reference format."""
    return [
        {"label": label, "href": url_for(endpoint, kind=kind, **values), "kind": kind}
        for kind, (_, label) in REFERENCE_EXPORTS.items()
    ]


def list_links(endpoint: str, **values: Any) -> dict:
    """Return the JSON and CSV links of a list's API route with these parameters (the current view)."""
    kept = {k: v for k, v in values.items() if v not in (None, "", [])}
    return {"json": url_for(endpoint, **kept), "csv": url_for(endpoint, **kept, format="csv")}


# --- home and search ----------------------------------------------------------------------------


@bp.get("/favicon.ico")
def favicon():
    """Point old-style favicon requests at the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def home():
    """Show the search box, the corpus statistics, example searches and example SPARQL queries."""
    found = data.home()
    stats = found["stats"]
    stats_list = [
        {"n": stats["posts"], "label": "posts", "href": url_for("pages.posts")},
        {"n": stats["claims"], "label": "claims", "href": None},
        {"n": stats["citations"], "label": "citations", "href": None},
        {"n": stats["sources"], "label": "sources", "href": url_for("pages.sources")},
        {"n": stats["concepts"], "label": "concepts", "href": url_for("pages.concepts")},
        {"n": stats["unresolved"], "label": "unresolved citations", "href": url_for("pages.audit")},
        {"n": stats["triples"], "label": "triples", "href": url_for("sparql.endpoint")},
    ]
    return page(
        "home.html", found, stats=stats, stats_list=stats_list, examples=found["examples"], named=found["queries"]
    )


def search_filters() -> dict[str, list[str]]:
    """Return the search filters of the query string (``?concept=a&concept=b&org=dh``)."""
    limit = get_settings().max_query_chars
    filters: dict[str, list[str]] = {}
    for name in FILTERS:
        raw = request.args.getlist(name)
        values = [v.strip() for v in raw if v.strip()]
        for value in raw:  # as sent, like every other parameter (web/openapi.yaml's maxLength)
            if len(value) > limit:
                raise KGError(
                    f"filter {name} is {len(value)} characters long; the limit is {limit}",
                    hint="shorten it, or raise the max_query_chars setting",
                )
        if values:
            filters[name] = list(dict.fromkeys(values))
    return filters


def search_url(
    query: str,
    filters: dict[str, list[str]],
    page_number: int = 1,
    endpoint: str = "pages.search",
    limit: int | None = None,
    sort: str = "relevance",
    **values: Any,
) -> str:
    """Return the URL of a search with these words, filters, page and results per page (None: the default);
    ``values`` fill the endpoint's own rule (``kind=ris``)."""
    pairs: list[tuple[str, str]] = [("q", query)] if query else []
    for name in FILTERS:
        pairs += [(name, value) for value in filters.get(name, [])]
    if page_number > 1:
        pairs.append(("page", str(page_number)))
    if limit is not None and limit != get_settings().search_page_size:
        pairs.append(("limit", str(limit)))
    if sort != "relevance":
        pairs.append(("sort", sort))
    return url_for(endpoint, **values) + ("?" + urlencode(pairs) if pairs else "")


def pager(number: int, pages: int, href: Callable[[int], str]) -> dict:
    """Return the links to a list's pages (``href(n)`` is page n's URL): first and last (when the
    window leaves them out), previous, next and a window of page numbers around ``number``, for the
    _pager.html macro."""
    window = range(max(1, number - 3), min(pages, number + 3) + 1)
    return {
        "first": href(1) if window and window[0] > 1 else None,
        "last": {"n": pages, "href": href(pages)} if window and window[-1] < pages else None,
        "prev": href(number - 1) if number > 1 else None,
        "next": href(number + 1) if number < pages else None,
        "pages": [{"n": n, "href": href(n), "current": n == number} for n in window],
    }


def claim_sort() -> str:
    """Return the order a list of claims asks for (``sort=``, one of kg.search.CLAIM_SORTS; post order
    unless given); a 400 naming the orders for any other."""
    return search_mod.check_claim_sort(param("sort", "post", limit=40))


def claim_sort_links(href: Callable[[str], str], sort: str) -> list[dict]:
    """Return a link to the same list in each order of kg.search.CLAIM_SORTS (``href(order)``), this one marked."""
    return [
        {"value": value, "label": label, "href": href(value), "current": value == sort}
        for value, label in search_mod.CLAIM_SORTS.items()
    ]


def page_and_limit(default: int, maximum: int) -> tuple[int, int]:
    """Return the page asked for (``page=``, from 1) and the items a page (``limit=``, ``default`` unless given)."""
    return int_param("page", 1), int_param("limit", default, maximum=maximum)


def per_page(limit: int, default: int, maximum: int, href: Callable[[int], str]) -> dict:
    """Return the page sizes a list offers (``href(n)`` is its first page at n a page), for the _pager.html
    per_page_nav macro."""
    sizes = sorted(n for n in {10, default, 50, 100, maximum, limit} if n <= maximum)
    return {"max": maximum, "choices": [{"n": n, "href": href(n), "current": n == limit} for n in sizes]}


def list_url(
    endpoint: str, page_number: int = 1, limit: int | None = None, default: int = LIST_PAGE_SIZE, **args: Any
) -> str:
    """Return the URL of a page of a list (sources, posts) at ``limit`` a page; ``args`` are its other parameters."""
    kept = {name: value for name, value in args.items() if value not in (None, "")}
    if page_number > 1:
        kept["page"] = page_number
    if limit is not None and limit != default:
        kept["limit"] = limit
    return url_for(endpoint, **kept)


def json_page_links(endpoint: str, page_number: int, pages: int, limit: int, **args: Any) -> PageLinks:
    """Return the JSON links (first, prev, next, last) of a list's API route, keeping its other parameters."""
    params = [(name, str(value)) for name, value in args.items() if value not in (None, "")]
    return page_links(url_for(endpoint), [*params, ("limit", str(limit))], page_number, pages)


def past_last_page(exc: PastLastPage, last: str) -> Response:
    """Answer a page past the last one: a 404 in the error shape, linking the last page (``last``)."""
    message = str(exc)
    if wants_html():
        links = [{"label": f"the last page of results (page {exc.last})", "href": last}]
        return Response(
            render_template("error.html", status=404, message=message, suggestions=links),
            status=404,
            mimetype="text/html",
        )
    response = jsonify({"ok": False, "error": message, "status": 404, "last_page": last})
    response.status_code = 404
    return response


def _toggle(filters: dict[str, list[str]], name: str, value: str) -> dict[str, list[str]]:
    changed = {k: list(v) for k, v in filters.items()}
    values = changed.setdefault(name, [])
    lowered = [v.lower() for v in values]
    if value.lower() in lowered:
        del values[lowered.index(value.lower())]
    else:
        values.append(value)
    return changed


def _locator(locator: str | None) -> str:
    if not locator:
        return ""
    return ("pp. " if any(dash in locator for dash in "-–") else "p. ") + locator


@bp.get("/search")
def search():
    """Search the claims: highlights, cited sources with locators, concepts, facets, paging, did-you-mean."""
    query = param("q")
    filters = search_filters()
    if request.blueprint == "api" and not query.strip():
        # The API requires q (web/openapi.yaml): a filter alone is typed into it, q=concept:personalisation.
        raise KGError(
            "no search given",
            hint="pass q=words, and a filter beside it if you like "
            "(q=care&concept=personalisation) or typed into it (q=concept:personalisation)",
        )
    number, limit = page_and_limit(get_settings().search_page_size, search_mod.MAX_LIMIT)
    fmt = "json" if wants_html() else list_format()
    sort = param("sort", "relevance", limit=40)
    if sort not in search_mod.SORTS:  # checked before searching, for a blank query too
        raise KGError(f"cannot sort a search by {sort!r}", hint="sort by " + " or ".join(search_mod.SORTS))
    try:
        result = (
            search_mod.search(get_settings(), query, page=number, limit=limit, filters=filters or None, sort=sort)
            if (query.strip() or filters)
            else None
        )
    except search_mod.PastLastPage as exc:
        endpoint = f"{request.blueprint}.search"
        return past_last_page(exc, search_url(query, filters, exc.last, endpoint=endpoint, limit=limit, sort=sort))
    if not wants_html():
        if result is None:
            raise KGError("no search given", hint="pass q=words (and/or a filter such as concept=personalisation)")
        if fmt == "csv":
            return csv_download(result["results"], SEARCH_COLUMNS, "search")
        return jsonify(result)
    view: dict[str, Any] = {
        "query": query,
        "filters": filters,
        "result": result,
        "limit": limit if limit != get_settings().search_page_size else None,
    }
    if result is not None:
        for hit in result["results"]:
            # The result's marks cut its text into pieces, marked or not, for the template to escape.
            hit["segments"] = [
                {"text": piece, "marked": marked}
                for piece, marked in search_mod.marked_pieces(hit["text"], hit["marks"])
            ]
            for c in hit["citations"]:
                c["where"] = _locator(c.get("locator"))
        if result.get("source"):
            view["source_href"] = url_for("pages.source", key=result["source"]["key"])
            view["source_search_href"] = search_url("", {"source": [result["source"]["key"]]}, limit=limit)
        groups = []
        for group, name, label in FACETS:
            rows = [
                {**row, "href": search_url(query, _toggle(filters, name, row["value"]), limit=limit, sort=sort)}
                for row in result["facets"].get(group, [])
            ]
            if rows:
                groups.append({"name": name, "label": label, "rows": rows})
        view["facets"] = groups
        labels = {(group["name"], row["value"].lower()): row["label"] for group in groups for row in group["rows"]}
        view["active"] = [
            {
                "name": name,
                "value": value,
                "label": labels.get((name, value.lower()), value),
                "href": search_url(query, _toggle(filters, name, value), limit=limit, sort=sort),
            }
            for name in FILTERS
            for value in filters.get(name, [])
        ]
        view["pager"] = pager(
            number, result["pages"] or 0, lambda n: search_url(query, filters, n, limit=limit, sort=sort)
        )
        view["suggestion_href"] = (
            search_url(result["suggestion"], filters, limit=limit, sort=sort) if result.get("suggestion") else None
        )
        view["per_page"] = per_page(
            limit,
            get_settings().search_page_size,
            search_mod.MAX_LIMIT,
            lambda n: search_url(query, filters, limit=n, sort=sort),
        )
        view["bibtex_href"] = search_url(query, filters, endpoint="pages.search_bibtex")
        view["sort"] = sort
        view["sort_href"] = {name: search_url(query, filters, limit=limit, sort=name) for name in search_mod.SORTS}
        here = search_url(query, filters, number, endpoint="api.search", limit=limit, sort=sort)
        view["list_links"] = {"json": here, "csv": here + ("&" if "?" in here else "?") + "format=csv"}
        view["reference_links"] = [
            {"label": label, "href": search_url(query, filters, endpoint="pages.search_references", kind=kind)}
            for kind, (_, label) in REFERENCE_EXPORTS.items()
        ]
        view["has_sources"] = any(c.get("key") for hit in result["results"] for c in hit["citations"]) or bool(
            result["facets"].get("sources")
        )
    return Response(render_template("search.html", **view), mimetype="text/html")


@bp.get("/search/bibtex", endpoint="search_bibtex", defaults={"kind": "bibtex"})
@bp.get("/search/<any(bibtex, csl, ris):kind>")
def search_references(kind: str):
    """Download the sources cited by a search's results as BibTeX, CSL-JSON or RIS."""
    query = param("q")
    filters = search_filters()
    if not (query.strip() or filters):
        raise KGError("no search given", hint="pass q=words (and/or a filter) as on the search page")
    keys = catalog_mod.search_source_keys(get_settings(), query, filters)
    if not keys:
        raise NotFound(
            f"the claims found for {query!r} cite no source", hint="search for something else, or drop a filter"
        )
    return references_of(keys, kind, "search-sources")


# --- citation lookup ----------------------------------------------------------------------------


@bp.get("/cite")
def cite():
    """Look a citation up (``DH 2011b``, ``Department of Health 2011``, ``(DH, 2011b:6; DH, 2013:5)``).

    One source: go to its page, keeping a written page locator (``?locator=6``). Several, or an
    author-year that names several: list them to choose from. None: the closest sources.
    """
    query = param("q", limit=500)
    if not wants_html():  # an empty q is the catalog's 400
        return jsonify(data.cite(query))
    if not query.strip():
        return page("cite.html", {}, q="", found=None, matches=[], message=None)
    try:
        found = catalog().cite(query)
    except NotFound as exc:
        return page(
            "cite.html",
            {},
            status=404,
            q=query,
            found=None,
            matches=catalog().suggestions(exc.suggestions),
            message=exc.message,
        )
    if found["key"]:
        return redirect(found["url"], code=303)
    # Nothing resolved (an author-year naming several sources) is a 404 that lists the choices.
    status = 200 if found["sources"] else 404
    return page("cite.html", found, status=status, q=query, found=found, matches=[], message=None)


# --- sources ------------------------------------------------------------------------------------


@bp.get("/sources")
def sources():
    """List the reference library, sortable by times cited, year or organisation, a page at a time (``limit=``)."""
    sort = param("sort", "citations", limit=40)
    org = param("org", limit=200).strip() or None
    fmt = "json" if wants_html() else list_format()
    number, limit = page_and_limit(LIST_PAGE_SIZE, MAX_PAGE_SIZE)
    args = {"sort": sort, "org": org}
    try:
        found = data.sources(sort, org, number, limit)
    except PastLastPage as exc:
        return past_last_page(exc, list_url(f"{request.blueprint}.sources", exc.last, limit, **args))
    if fmt == "csv":
        return csv_download(found["sources"], SOURCE_COLUMNS, f"sources-{org}" if org else "sources")
    shown = {"limit": limit} if limit != LIST_PAGE_SIZE else {}
    return page(
        "sources.html",
        {**found, "links": json_page_links("api.sources", number, found["pages"], limit, **args)},
        found=found,
        sources=found["sources"],
        sort=sort,
        org=found["organisation"],
        sorts=list(data.SOURCE_SORTS.items()),
        sort_label=data.SOURCE_SORTS[sort],
        list_links=list_links("api.sources", sort=sort, org=org, page=number if number > 1 else None, **shown),
        pager=pager(number, found["pages"], lambda n: list_url("pages.sources", n, limit, **args)),
        per_page=per_page(limit, LIST_PAGE_SIZE, MAX_PAGE_SIZE, lambda n: list_url("pages.sources", 1, n, **args)),
        limit=shown.get("limit"),
        kept={**({"org": org} if org else {}), **shown},  # kept by the sort form
    )


@bp.get("/sources/bibtex")
def sources_bibtex():
    """Download the whole library (or one organisation's sources) as BibTeX."""
    org = param("org", limit=200).strip() or None
    found = data.sources("key", org)
    return bibtex_download(
        catalog().bibtex_for(s["key"] for s in found["sources"]), f"sources-{org}" if org else "sources"
    )


def _canonical_source(key: str, endpoint: str, **values: Any) -> WerkzeugResponse | None:
    """Redirect a key written in another case to the canonical one; None when ``key`` is canonical or unknown."""
    canonical = catalog().canonical_key(key)
    if canonical is None or canonical == key:
        return None
    args: dict[str, Any] = request.args.to_dict(flat=True)
    return redirect(url_for(endpoint, key=canonical, **values, **args), code=301)


@bp.get("/source/<key>")
def source(key: str):
    """Show a source: its reference, BibTeX, the claims citing it by post, co-cited sources, concepts.

    ``?locator=6`` (kept from a pasted ``(DH, 2011b:6)``) marks the claims that cite page 6;
    ``?function=citesAsEvidence`` (a CiTO citation function) keeps the claims that cite it so.
    """
    moved = _canonical_source(key, f"{request.blueprint}.source")
    if moved is not None:
        return moved
    answer = rdf_answer()
    if answer is not None:
        return answer
    locator = param("locator", limit=40)
    function = param("function", limit=60).strip() or None

    if not wants_html():
        return page("source.html", catalog().source(key, locator, function))
    sort = claim_sort()  # the order of the page's JSON and CSV of its claims; the page groups them by post
    ordered = {"sort": sort} if sort != "post" else {}

    def render() -> str:
        found = catalog().source(key, locator, function)
        return render_template(
            "source.html",
            src=found,
            citation_meta=highwire_tags(found["csl"]),
            # Every citing claim, as the page lists them (a most-cited source has a few hundred).
            list_links=list_links("api.claims", source=found["key"], limit=MAX_PAGE_SIZE, **ordered),
            list_sorts=claim_sort_links(
                lambda value: (
                    url_for(
                        "pages.source",
                        key=found["key"],
                        locator=locator or None,
                        function=function,
                        sort=value if value != "post" else None,
                    )
                    + "#citing-h"
                ),
                sort,
            ),
            reference_links=export_links("pages.source_references", key=found["key"]),
            reference_styles=[(name, label) for name, (label, _) in REFERENCE_STYLES.items()],
            function_href={
                f["id"]: url_for("pages.source", key=key, locator=locator or None, function=f["id"])
                for f in found["functions"]
            },
            all_functions_href=url_for("pages.source", key=key, locator=locator or None),
        )

    # The page of a most-cited source lists hundreds of citations: it is rendered once per live
    # store and path, like the answer it shows (see cached_answer).
    return Response(cached_answer("source-page", request.full_path, render), mimetype="text/html")


@bp.get("/source/<key>/bibtex")
def source_bibtex(key: str):
    """Download one source's BibTeX entry."""
    return _source_download(key, "pages.source_bibtex", lambda found: bibtex_download(found["bibtex"], key))


@bp.get("/source/<key>/csl")
def source_csl(key: str):
    """Download one source as CSL-JSON (an array of one item, as `kg export --format csl-json` writes)."""
    return _source_download(
        key,
        "pages.source_csl",
        lambda found: download(
            json.dumps([found["csl"]], ensure_ascii=False, indent=2) + "\n",
            "application/vnd.citationstyles.csl+json",
            f"{key}.json",
        ),
    )


@bp.get("/source/<key>/<any(bibtex, csl, ris):kind>")
def source_references(key: str, kind: str):
    """Download one source as BibTeX, CSL-JSON or RIS."""
    return _source_download(
        key, "pages.source_references", lambda found: references_of([found["key"]], kind, found["key"]), kind=kind
    )


def _source_download(key: str, endpoint: str, send: Callable[[Any], Response], **values: Any) -> WerkzeugResponse:
    moved = _canonical_source(key, endpoint, **values)
    return moved if moved is not None else send(catalog().source(key))


@bp.get("/org/<org_id>")
def org(org_id: str):
    """Show an organisation and the sources it wrote."""
    answer = rdf_answer()
    if answer is not None:
        return answer
    found = catalog().organisation(org_id)
    return page("org.html", found, org=found, sources=found["sources"])


# --- concepts -----------------------------------------------------------------------------------


@bp.get("/concepts")
def concepts():
    """Show the concept scheme: its broader/narrower tree and an A-Z index of every label."""
    found = catalog().concept_index()
    answer = rdf_answer(also=_all_concept_iris(found["tree"]))
    if answer is not None:
        return answer
    tree = [_tree_node(n) for n in found["tree"]]
    return page("concepts.html", found, tree=tree, az=found["az"], count=found["count"])


@bp.get("/concepts/find")
def concept_find():
    """Go to the concept a label names (the completion box without JavaScript): its best match, or the closest labels."""
    text = param("q", limit=200)
    found = catalog().complete_concept(text)
    if not found["results"]:
        ids = {e["label"]: e["id"] for e in catalog().concept_labels()}
        raise NotFound(
            f"no concept has a label like {text!r}",
            hint="try the start of a word, or browse the A-Z list",
            suggestions=list(dict.fromkeys(ids[label] for label in closest(text, ids))),
        )
    return redirect(found["results"][0]["url"], code=303)


def _all_concept_iris(tree: list[dict]) -> list[str]:
    base = get_settings().base_iri
    out: list[str] = []

    def walk(nodes: list[dict]) -> None:
        for n in nodes:
            iri = f"{base}concept/{n['id']}"
            if iri not in out:
                out.append(iri)
            walk(n["narrower"])

    walk(tree)
    return out


def _tree_node(node: dict) -> dict:
    return {
        "id": node["id"],
        "label": node["label"],
        "claims": node["claims"],
        "children": [_tree_node(n) for n in node["narrower"]],
    }


@bp.get("/concept/<concept_id>")
def concept(concept_id: str):
    """Show a concept: definition, labels, neighbours (drawn), claims (in post order or by post date,
    ``sort=post|newest|oldest``, ``limit`` a page), most-cited sources, co-occurring concepts."""
    answer = rdf_answer()
    if answer is not None:
        return answer
    number, limit = page_and_limit(catalog_mod.CONCEPT_PAGE_SIZE, MAX_PAGE_SIZE)
    sort = claim_sort()
    found = catalog().concept(concept_id, page=number, limit=limit, sort=sort)
    shown: dict[str, Any] = {"limit": limit} if limit != catalog_mod.CONCEPT_PAGE_SIZE else {}
    ordered: dict[str, Any] = {"sort": sort} if sort != "post" else {}
    endpoint = f"{request.blueprint}.concept"
    picture = concept_picture(
        {"id": found["id"], "label": found["pref_label"]},
        found["broader"],
        found["narrower"],
        found["related"],
        found["co_occurring"],
    )

    def concept_url(n: int, size: int) -> str:
        # Page size, order, page: the order of the page's links before there was an order.
        args: dict[str, Any] = {"limit": size} if size != catalog_mod.CONCEPT_PAGE_SIZE else {}
        args.update(ordered)
        if n > 1:
            args["page"] = n
        return url_for(endpoint, concept_id=concept_id, **args)

    pages = pager(number, found["pages"], lambda n: concept_url(n, limit))
    return page(
        "concept.html",
        found,
        c=found,
        picture=picture,
        pager=pages,
        per_page=per_page(limit, catalog_mod.CONCEPT_PAGE_SIZE, MAX_PAGE_SIZE, lambda n: concept_url(1, n)),
        sorts=list(search_mod.CLAIM_SORTS.items()),
        sort=sort,
        sort_label=search_mod.CLAIM_SORTS[sort],
        shown=shown,  # kept by the sort form
        # The API's own page size differs from the page's: the links name this page's.
        list_links=list_links(
            "api.claims", concept=concept_id, page=number if number > 1 else None, limit=limit, **ordered
        ),
        reference_links=export_links("pages.concept_references", concept_id=concept_id),
    )


@bp.get("/concept/<concept_id>/bibtex", endpoint="concept_bibtex", defaults={"kind": "bibtex"})
@bp.get("/concept/<concept_id>/<any(bibtex, csl, ris):kind>")
def concept_references(concept_id: str, kind: str):
    """Download the sources cited by claims about a concept as BibTeX, CSL-JSON or RIS, most-cited first."""
    found = catalog().concept(concept_id)
    if not found["sources"]:
        raise NotFound(
            f"no claim about {found['pref_label']!r} cites a source",
            hint="try a broader concept",
            suggestions=[b["id"] for b in found["broader"]],
        )
    return references_of([s["key"] for s in found["sources"]], kind, f"{concept_id}-sources")


# --- posts and claims ---------------------------------------------------------------------------


@bp.get("/posts")
def posts():
    """List the posts with author, date, original address, claim and citation counts and provenance, sortable,
    a page at a time (``limit=``)."""
    sort = param("sort", "title", limit=40)
    fmt = "json" if wants_html() else list_format()
    number, limit = page_and_limit(LIST_PAGE_SIZE, MAX_PAGE_SIZE)
    try:
        found = catalog().post_rows(sort, number, limit)
    except PastLastPage as exc:
        return past_last_page(exc, list_url(f"{request.blueprint}.posts", exc.last, limit, sort=sort))
    if fmt == "csv":
        return csv_download(found["posts"], POST_COLUMNS, "posts")
    shown = {"limit": limit} if limit != LIST_PAGE_SIZE else {}
    return page(
        "posts.html",
        {**found, "links": json_page_links("api.posts", number, found["pages"], limit, sort=sort)},
        found=found,
        posts=found["posts"],
        sort=sort,
        sorts=list(catalog_mod.POST_SORTS.items()),
        sort_label=catalog_mod.POST_SORTS[sort],
        list_links=list_links("api.posts", sort=sort, page=number if number > 1 else None, **shown),
        pager=pager(number, found["pages"], lambda n: list_url("pages.posts", n, limit, sort=sort)),
        per_page=per_page(limit, LIST_PAGE_SIZE, MAX_PAGE_SIZE, lambda n: list_url("pages.posts", 1, n, sort=sort)),
        limit=shown.get("limit"),
        shown=shown,  # kept by the sort form
    )


@bp.get("/post/<post_id>")
def post(post_id: str):
    """Show a post's text with its claims marked and each citation linked to its source."""
    answer = rdf_answer()
    if answer is not None:
        return answer
    found = catalog().post_page(post_id)
    view = {
        **found,
        "segments": data.post_segments(found),
        "claim_count": len(found["claims"]),
        "citing_count": sum(1 for c in found["claims"] if c["citations"]),
        "sources": found["cites"] or found["lists"],
    }
    return page("post.html", found, p=view)


@bp.get("/claim/<claim_id>")
def claim(claim_id: str):
    """Show a claim in context: the claims around it, what it cites, its concepts, similar claims."""
    answer = rdf_answer()
    if answer is not None:
        return answer
    found = catalog().claim_in_context(claim_id)
    if not wants_html():
        return jsonify(found)
    try:
        similar = catalog().similar(claim_id)
    except KGError:
        similar = []  # the index may lag the store; the page stands without the list
    for s in similar:
        s["post_title"] = s["post"]["title"]
    return page("claim.html", found, cl=found, similar=similar)


@bp.get("/audit")
def audit():
    """Show unresolved citations and never-cited references."""
    found = catalog().audit()
    return page("audit.html", found, audit=found)
