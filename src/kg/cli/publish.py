"""kg publish: a thin command over kg.publish.publish."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import SettingsError
from ..publish import Oxigraph, Virtuoso, publish
from .common import echo_json, with_settings


@click.command("publish")
@click.option(
    "--server", "kind", type=click.Choice(["oxigraph", "virtuoso"]), required=True, help="The SPARQL server's kind."
)
@click.option("--url", default=None, help="Oxigraph: the server's address, e.g. http://127.0.0.1:7878.")
@click.option("--isql", default="127.0.0.1:1111", show_default=True, help="Virtuoso: host:port isql connects to.")
@click.option("--user", default="dba", show_default=True, help="Virtuoso: the isql user.")
@click.option(
    "--password",
    envvar="KG_VIRTUOSO_PASSWORD",
    default=None,
    help="Virtuoso: the user's password (or KG_VIRTUOSO_PASSWORD).",
)
@click.option(
    "--load-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder the N-Triples are written to; for Virtuoso one in its DirsAllowed that it can read (default: a temp folder).",
)
@click.option(
    "--endpoint",
    default=None,
    help="The server's SPARQL query URL, through which the load is checked "
    "(default: sparql_endpoint, KG_SPARQL_ENDPOINT; for Oxigraph URL/query).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Published builds kept (each its graph and its statistics graph), the live one included.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was published as JSON.")
@with_settings
def publish_command(settings, kind, url, isql, user, password, load_dir, endpoint, keep, as_json) -> None:
    """Load the live build's graph into an external SPARQL server and make it the graph readers read.

    The graph goes into a new named graph for this build, and its statistics (kg:statistics in
    the embedded store) into a second one beside it (GRAPH/statistics); readers (store = "sparql")
    switch to both at once, only once both are loaded in full, so a publish stopped half-way leaves
    the old pair live. Older builds' graphs beyond --keep are dropped afterwards.

    \b
    Examples:
      kg publish --server oxigraph --url http://127.0.0.1:7878
      KG_VIRTUOSO_PASSWORD=dba kg publish --server virtuoso --isql 127.0.0.1:1111 \\
          --load-dir /var/lib/virtuoso-opensource-7/import --endpoint http://127.0.0.1:8890/sparql
    """
    if kind == "oxigraph":
        if not url:
            raise click.UsageError("--server oxigraph needs --url (the server's address, e.g. http://127.0.0.1:7878)")
        oxigraph = Oxigraph(url)
        server: Oxigraph | Virtuoso = oxigraph
        query_url = endpoint or settings.sparql_endpoint or oxigraph.query_url
    else:
        if password is None:
            raise click.UsageError("--server virtuoso needs --password or KG_VIRTUOSO_PASSWORD")
        query_url = endpoint or settings.sparql_endpoint
        if not query_url:
            raise SettingsError(
                "Virtuoso's SPARQL query URL is not known",
                hint="pass --endpoint or set sparql_endpoint (KG_SPARQL_ENDPOINT)",
            )
        if load_dir is None:
            raise click.UsageError("--server virtuoso needs --load-dir (a folder in its DirsAllowed)")
        server = Virtuoso(isql, user, password, load_dir)
    done = publish(settings, server, query_url, keep=keep, work_dir=load_dir)
    if as_json:
        echo_json(
            {
                "graph": done.graph,
                "triples": done.triples,
                "seconds": done.seconds,
                "statistics": done.statistics,
                "statistics_triples": done.statistics_triples,
                "previous": done.previous,
                "pruned": done.pruned,
            }
        )
        return
    click.echo(
        f"published {done.triples:,} triples to {done.graph} and {done.statistics_triples:,} to "
        f"{done.statistics} in {done.seconds:.1f} s; readers now read them"
    )
    if done.previous:
        click.echo(f"previous graph {done.previous}")
    for old in done.pruned:
        click.echo(f"dropped {old}")


COMMANDS = [publish_command]
