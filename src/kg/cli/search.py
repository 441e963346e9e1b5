"""kg search."""

from __future__ import annotations

import sys

import click

from .. import search as search_mod
from .common import echo_json, with_settings


def _plain(text: str, marks: list[list[int]], styled: bool) -> str:
    """Render a result's text for the terminal, its marked words bold (or *word* when not a TTY)."""
    return "".join(
        (click.style(piece, bold=True, fg="yellow") if styled else f"*{piece}*") if marked else piece
        for piece, marked in search_mod.marked_pieces(text, marks)
    )


@click.command("search")
@click.argument("query", nargs=-1)
@click.option(
    "--limit",
    type=click.IntRange(1, search_mod.MAX_LIMIT),
    default=None,
    help="Results per page (default: the search_page_size setting).",
)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="Page of results to show.")
@click.option(
    "--sort",
    type=click.Choice(search_mod.SORTS),
    default="relevance",
    show_default=True,
    help="Best match first, or by post (title A to Z) and the claims' order in it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON the web app uses.")
@with_settings
def search_command(settings, query: tuple[str, ...], limit: int | None, page: int, sort: str, as_json: bool) -> None:
    """Search the claims: free text, "quoted phrases", AND/OR/NOT, field filters.

    \b
    Fields: source:DH2011b  concept:payment-by-results  post:<post id>  org:ADASS  year:2011
            title:WORDS  section:WORDS
    A filter narrows the words beside it, as the web page's facets do: `source:DH2011b care`
    finds the claims citing DH2011b that match "care". Acronyms and variant spellings find each
    other (PbR, RAS, S117, personalization). A query that names a source (DH2011b, "DH 2011b")
    also offers it (see `kg cite`).
    Example: kg search "care transition protocols" --limit 5
    """
    text = " ".join(query)
    if not text.strip():
        raise click.UsageError(
            "give the words to search for, e.g. kg search 'care transition protocols' "
            "(or a filter such as source:DH2011b)"
        )
    result = search_mod.search(settings, text, page=page, limit=limit, sort=sort)
    if as_json:
        echo_json(result)
        return
    styled = sys.stdout.isatty()
    if result["notice"]:
        click.echo(f"Note: {result['notice']}", err=True)
    if result["suggestion"]:
        click.echo(f"Did you mean: {result['suggestion']}")
    if result.get("source"):
        source = result["source"]
        click.echo(f"Source: {source['key']}, {source['label']} (its claims: kg cite {source['key']})")
    total, shown = result["total"], len(result["results"])
    if not total:
        click.echo(f"No claims match {result['query']!r}.")
        return
    first = (result["page"] - 1) * result["limit"] + 1
    click.echo(
        f"{total} claims match {result['query']!r}; showing {first}-{first + shown - 1} "
        f"(page {result['page']} of {result['pages']})."
    )
    for rank, item in enumerate(result["results"], start=first):
        click.echo("")
        where = item["post"]["title"] + (f" › {item['section']}" if item.get("section") else "")
        click.echo(f"{rank:>3}. {where}  [{item['id']}, score {item['score']:.2f}]")
        click.echo(f"     {_plain(item['text'], item['marks'], styled)}")
        if item["citations"]:
            cites = "; ".join(
                f"{c['key'] or c['raw'] + ' (unresolved)'}" + (f" p. {c['locator']}" if c["locator"] else "")
                for c in item["citations"]
            )
            click.echo(f"     cites: {cites}")
        if item["concepts"]:
            click.echo("     concepts: " + ", ".join(c["label"] for c in item["concepts"]))


COMMANDS = [search_command]
