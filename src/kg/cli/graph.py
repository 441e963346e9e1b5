"""kg sparql, kg export, kg cite, kg refs check: questions to the built graph."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import catalog, formats, graph, sparql
from ..errors import KGError, SparqlError
from ..files import atomic_write
from ..vocab import PREFIXES
from .common import ShowsPlaces, echo_json, output_option, with_settings
from .refs import refs_group

_QUERY_FORMATS = [*formats.names("text"), *formats.names("table"), *formats.names("graph")]


def _params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE, e.g. key=DH2011b", param_hint="--param")
        params[name.strip().lstrip("?")] = text
    return params


@click.command("sparql", cls=ShowsPlaces, uses=("data_dir", "ontology_dir"))
@click.argument("query", required=False)
@click.option(
    "--name",
    "-n",
    default=None,
    help="Run a named query of queries/ in the ontology_dir setting, KG_ONTOLOGY_DIR (see --list). A "
    "parameter its file lists with '# each:', left unset, is bound a few values at a time until --max-rows.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind a query variable to a string, e.g. --param key=DH2011b (repeatable).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(_QUERY_FORMATS),
    default=None,
    help="Output format [default: table, or turtle for CONSTRUCT/DESCRIBE].",
)
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and their parameters.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Seconds before the query is stopped (default: the sparql_timeout setting, KG_SPARQL_TIMEOUT).",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1),
    default=None,
    help="Most rows to return (default: the sparql_max_rows setting, KG_SPARQL_MAX_ROWS).",
)
@with_settings
def sparql_command(
    settings,
    query: str | None,
    name: str | None,
    params: tuple[str, ...],
    fmt: str | None,
    list_queries: bool,
    timeout: float | None,
    max_rows: int | None,
) -> None:
    """Run a read-only SPARQL query on the graph built in the data directory (--data, KG_DATA_DIR).

    QUERY is SPARQL text or a .rq file; kg:, cito:, c4o:, fabio:, bibo:, oa:, prov:, dcterms:,
    skos:, foaf: and the other prefixes of `kg sparql --list` are pre-declared. Update, LOAD
    and SERVICE are refused.

    \b
    Examples:
      kg sparql 'SELECT ?key (COUNT(*) AS ?n) { ?c cito:hasCitedEntity/kg:citationKey ?key } GROUP BY ?key'
      kg sparql --name claims-citing-source --param key=DH2011b --format csv
      kg sparql my-query.rq --format json
    """
    if list_queries:
        for named in sparql.list_named_queries(settings):
            click.echo(f"{named.name}\n    {named.description}")
            for pname, description in named.params:
                click.echo(f"    --param {pname}=...  {description}")
        click.echo("\nPre-declared prefixes: " + ", ".join(f"{p}:" for p in PREFIXES))
        return
    if (query is None) == (name is None):
        raise click.UsageError("give a QUERY (text or .rq file) or --name NAME, not both or neither")
    options: dict[str, Any] = {"timeout": timeout, "max_rows": max_rows}
    if name is not None:
        result = sparql.run_named(settings, name, _params(params), **options)
    else:
        assert query is not None  # checked above: exactly one of QUERY and --name
        text = query
        if query.endswith(".rq") or (len(query) < 4096 and "{" not in query and Path(query).is_file()):
            path = Path(query)
            if not path.is_file():
                raise SparqlError(f"no query file {path}", hint="check the path, or pass the query text itself")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as exc:
                raise SparqlError(
                    f"{path} is not UTF-8 text (byte {exc.start})", hint="save the query file as UTF-8"
                ) from None
            except OSError as exc:
                raise SparqlError(
                    f"cannot read the query file {path}: {exc.strerror}", hint="check the path and its permissions"
                ) from None
        result = sparql.run_query(settings, text, params=_params(params) or None, **options)
    fmt = fmt or ("turtle" if result.kind == "graph" else "table")
    click.echo(result.serialize(fmt), nl=False)
    if result.truncated:
        click.echo(f"(stopped at {len(result.rows) or 'the row cap'}: raise --max-rows to see more)", err=True)


@click.command("export", cls=ShowsPlaces, uses=("data_dir",))
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(list(graph.EXPORT_FORMATS)),
    default="turtle",
    show_default=True,
    help="RDF serialisation.",
)
@output_option
@with_settings
def export_command(settings, fmt: str, output: Path | None) -> None:
    """Write the whole graph of the build in the data directory (--data, KG_DATA_DIR) as Turtle, N-Triples or JSON-LD.

    Example: kg export --format turtle -o graph.ttl
    """
    data = graph.export_graph(settings, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        atomic_write(output, data)
        click.echo(f"wrote {output} ({len(data)} bytes)", err=True)


@click.command("cite", cls=ShowsPlaces, uses=("data_dir",))
@click.argument("query")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the lookup as JSON: {query, key, locator, reference, lookup, sources, citations...}, "
    "the answer of /api/cite.",
)
@with_settings
def cite_command(settings, query: str, as_json: bool) -> None:
    """Show a source and every claim that cites it, grouped by post, with locators.

    QUERY is a key (DH2011b), a human form (DH 2011b, Department of Health 2011b) or a pasted
    citation, one or a group ("(DH, 2011b:6; DH, 2013:5)"): each source it names is shown, and
    the claims citing the page written (:6) are starred. An author and year that name several
    sources (Department of Health 2011) lists them to choose from and exits 1. Sources are
    looked up in the reference library of the build in --data, not in corpus/.

    Example: kg cite '(DH, 2011b:6)' --data data/
    """
    found = catalog.cite(settings, query)
    unresolved = not found["sources"]
    if as_json:
        echo_json(found)
        if unresolved:
            raise SystemExit(1)
        return
    for entry in found["lookup"]:
        if entry["status"] == "ambiguous":
            click.echo(f"{entry['text']} names {len(entry['candidates'])} sources; ask for one of:")
            for choice in entry["choices"]:
                click.echo(f"  {choice['key']}  {choice['title'] or ''} ({choice['year'] or 'n.d.'})")
        elif entry["status"] == "unknown":
            click.echo(
                f"{entry['text']}: {entry['reason']}"
                + (f" (closest: {', '.join(entry['candidates'])})" if entry["candidates"] else ""),
                err=True,
            )
    for number, source in enumerate(found["sources"]):
        if number:
            click.echo("\n" + "-" * 40)
        _echo_source(source)
    if unresolved:
        raise KGError(f"{found['query']!r} names no single source", hint="ask for one of the keys listed above")


def _echo_source(source: catalog.Source) -> None:
    locator = source["locator"]
    click.echo(f"{source['key']}: {source['title']} ({source['year']})")
    click.echo(source["bibtex"] or "")
    count = source["times_cited"]
    # Citations at the page, not claims (Source.at_locator): a claim may cite the page twice.
    at_page = sum(
        1
        for citing in source["citing"]
        for claim in citing["claims"]
        for c in claim["citations"]
        if catalog.cites_page(c["locator"], locator or "")
    )
    click.echo(
        f"Cited {count} time{'s' if count != 1 else ''}"
        + (f"; {at_page} at p. {locator} (starred)" if locator else "")
        + ":"
    )
    for citing in source["citing"]:
        click.echo(f"\n  {citing['post']['title']}  [{citing['post']['id']}]")
        for claim in citing["claims"]:
            where = ", ".join(f"p. {c['locator']}" if c["locator"] else "no page" for c in claim["citations"])
            star = "*" if claim["at_locator"] else " "
            click.echo(f"   {star}#{claim['ordinal']} ({where}) {claim['text']}")
    if source["co_cited"]:
        click.echo("\nCited together with: " + ", ".join(c["key"] for c in source["co_cited"]))


@refs_group.command("check", cls=ShowsPlaces, uses=("data_dir", "references_file"))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print {unresolved, unreadable, never_cited, problems} as JSON (/api/audit's answer, with problems).",
)
@click.option("--strict", is_flag=True, help="Exit 1 if anything is found.")
@with_settings
def refs_check_command(settings, as_json: bool, strict: bool) -> None:
    """Audit the references of a build: unresolved citations, unreadable citation-like text,
    uncited entries, duplicates, bad keys, and corporate authors the organisation authority lacks.

    Reads the build in the data directory (--data DIR, the data_dir setting, KG_DATA_DIR) and,
    for entries too malformed to reach the build, the library file: references.bib of the
    corpus_dir setting (KG_CORPUS_DIR).

    Example: kg refs check --strict
    """
    report = catalog.refs_check(settings)
    if as_json:
        echo_json(report)
    else:
        click.echo(f"Unresolved citations: {len(report['unresolved'])}")
        for item in report["unresolved"]:
            click.echo(f"  ({item['raw']}) in {item['post']['id']}, claim {item['claim']['id']}: {item['reason']}")
        click.echo(f"Unreadable citation-like text: {len(report['unreadable'])}")
        for item in report["unreadable"]:
            click.echo(f"  {item['raw']} in {item['post']['id']}, claim {item['claim']['id']}: {item['reason']}")
        click.echo(f"Uncited library entries: {len(report['never_cited'])}")
        for item in report["never_cited"]:
            click.echo(f"  {item['key']}: {item['title']}")
        click.echo(f"Library problems: {len(report['problems'])}")
        for item in report["problems"]:
            click.echo(f"  [{item['kind']}] {item['message']}")
    found = len(report["unresolved"]) + len(report["unreadable"]) + len(report["never_cited"]) + len(report["problems"])
    if strict and found:
        raise KGError(
            f"the reference audit found {found} issue{'s' if found != 1 else ''}", hint="fix them, or drop --strict"
        )


COMMANDS = [sparql_command, export_command, cite_command]
