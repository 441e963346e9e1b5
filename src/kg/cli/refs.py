"""kg refs extract, kg refs import, kg bibtex: the reference library from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import references as refs_mod
from ..corpus import load_posts, write_text_atomic
from ..errors import ReferencesError
from .common import echo_json, settings_from, with_settings

_LIBRARY_HELP = "Reference library to read and write (default: corpus/references.bib)."


def _merge_json(report: refs_mod.MergeReport) -> dict:
    return {"added": report.added, "filled": report.filled, "replaced": report.replaced,
            "unchanged": report.unchanged,
            "conflicts": [{"key": c.key, "field": c.field, "library": c.library_value,
                           "incoming": c.incoming_value} for c in report.conflicts],
            "duplicates": [{"incoming": new, "existing": old} for new, old in report.duplicates]}


@click.group("refs")
def refs_group() -> None:
    """Manage the reference library (corpus/references.bib)."""


@refs_group.command("extract")
@click.option("--posts", "posts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of post files to read (default: corpus/posts).")
@click.option("--library", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_LIBRARY_HELP)
@click.option("--replace", is_flag=True, help="Overwrite entries whose fields differ (default: keep the library's).")
@click.option("--json", "as_json", is_flag=True, help="Print the merge report as JSON.")
@click.pass_context
def refs_extract(ctx: click.Context, posts_dir: Path | None, library: Path | None, replace: bool,
                 as_json: bool) -> None:
    """Parse the bibliography posts and merge their references into the library.

    One entry per listed reference; fields already in the library are never overwritten (unless
    --replace) and a work already there under another key is not added twice.

    Example: kg refs extract
    """
    settings = settings_from(ctx)
    posts, failures = load_posts(posts_dir or settings.posts_dir)
    for failure in failures:
        click.echo(f"skipped {failure.item}: {failure.message}", err=True)
    report = refs_mod.extract_into_library(posts, library or settings.references_file, replace=replace)
    if as_json:
        echo_json(_merge_json(report))
    else:
        click.echo(report.summary())


@refs_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["bibtex", "csl-json", "ris", "reflist"]), default=None,
              help="The file's format (default: from its extension .bib/.json/.ris/.txt, else its content).")
@click.option("--library", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_LIBRARY_HELP)
@click.option("--replace", is_flag=True,
              help="Let an incoming entry replace an existing one with the same key and other content.")
@click.option("--strict", is_flag=True, help="Exit 1 if any entry was skipped, conflicted or duplicated.")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@click.pass_context
def refs_import(ctx: click.Context, file: Path, fmt: str | None, library: Path | None, replace: bool,
                strict: bool, as_json: bool) -> None:
    """Merge a reference manager's export into the library; the library file is replaced atomically.

    FILE is BibTeX (.bib), CSL-JSON (.json: Zotero's or Mendeley's "CSL JSON" export), RIS
    (.ris: Zotero, Mendeley, EndNote) or a pasted reference list (.txt, one Harvard entry a line). Entries that cannot be converted are reported with their
    line (or item index) and the fix, and skipped; the rest import. A key already in the library
    with other content is reported and kept (use --replace to take the incoming entry). An entry
    with no usable key gets one by the naming rule (DH2011b), reported.

    Example: kg refs import ~/zotero-export.json
    """
    settings = settings_from(ctx)
    report = refs_mod.import_references(file, library or settings.references_file, replace=replace, format=fmt)
    if as_json:
        echo_json({"source": report.source, "format": report.format, "library": report.library_path,
                   "written": report.written,
                   "skipped": [{"where": f.item, "message": f.message} for f in report.failures],
                   "notes": report.notes,
                   "renamed": [{"made": old, "given": new} for old, new in report.renamed],
                   **_merge_json(report.merge)})
    else:
        click.echo(report.summary())
    if strict and (report.failures or report.merge.conflicts or report.merge.duplicates):
        raise ReferencesError(f"{file} did not import cleanly: {len(report.failures)} skipped, "
                              f"{len(report.merge.conflicts)} conflicts, {len(report.merge.duplicates)} duplicates",
                              hint="fix the entries listed above, or drop --strict")


def _catalog_keys(settings, post: str | None, concept: str | None, query: str | None) -> list[str]:
    try:
        from ..catalog import keys_for  # the graph's catalog, a later step than the library
    except ImportError:
        option = "--post" if post else "--concept" if concept else "--query"
        raise ReferencesError(f"{option} needs the graph catalog (kg.catalog.keys_for), which this "
                              "installation lacks",
                              hint="export by key instead, e.g. `kg bibtex DH2011b`, or the whole library") from None
    return list(keys_for(settings, post=post, concept=concept, query=query))


@click.command("bibtex")
@click.argument("keys", nargs=-1)
@click.option("--post", default=None, help="Only the sources the post with this id cites.")
@click.option("--concept", default=None, help="Only the sources of claims about this concept (id).")
@click.option("--query", default=None, help="Only the sources of the claims a search finds.")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "csl-json"]), default="bibtex", show_default=True,
              help="BibTeX for LaTeX (biber or bibtex), or CSL-JSON for Zotero and pandoc.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@click.option("--library", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_LIBRARY_HELP)
@with_settings
def bibtex(settings, keys: tuple[str, ...], post: str | None, concept: str | None, query: str | None,
           fmt: str, output: Path | None, library: Path | None) -> None:
    """Export sources from the library as BibTeX or CSL-JSON.

    With no KEY and no filter, the whole library. KEYs (e.g. DH2011b) and the filters combine:
    the result is every source any of them names, each once.

    Example: kg bibtex DH2011b KingsFund2012 -o refs.bib
    """
    refs, failures = refs_mod.load_library(library or settings.references_file)
    for failure in failures:
        click.echo(f"skipped {failure.item}: {failure.message}", err=True)
    chosen: list[str] | None = list(keys) if keys else None
    if post or concept or query:
        chosen = list(keys) + _catalog_keys(settings, post, concept, query)
        if not chosen:
            click.echo("no sources match: the export is empty", err=True)
    text = refs_mod.export(refs, chosen, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


COMMANDS = [refs_group, bibtex]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(refs_group())
