"""kg refs extract, kg refs import, kg bibtex: the reference library from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import references as refs_mod
from ..corpus import load_posts
from ..errors import KGError, ReferencesError
from ..files import atomic_write
from .common import ShowsPlaces, echo_json, output_option, settings_from, with_settings

_LIBRARY_HELP = (
    "Reference library to read and write (default: references.bib in the corpus folder, "
    "the corpus_dir setting, KG_CORPUS_DIR)."
)


def _merge_json(report: refs_mod.MergeReport) -> dict:
    return {
        "added": report.added,
        "filled": report.filled,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "conflicts": [
            {"key": c.key, "field": c.field, "library": c.library_value, "incoming": c.incoming_value}
            for c in report.conflicts
        ],
        "duplicates": [{"incoming": new, "existing": old} for new, old in report.duplicates],
    }


@click.group("refs")
def refs_group() -> None:
    """Manage the reference library: references.bib in the corpus folder, or --library FILE.

    The corpus folder is the corpus_dir setting (KG_CORPUS_DIR in the environment, corpus_dir in
    kg.toml; default corpus/ in the checkout). `kg refs check` audits a build (--data DIR).
    """


@refs_group.command("extract", cls=ShowsPlaces, uses=("posts_dir", "references_file"))
@click.option(
    "--posts",
    "posts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of post files to read (default: posts/ in the corpus_dir setting, KG_CORPUS_DIR).",
)
@click.option("--library", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_LIBRARY_HELP)
@click.option("--replace", is_flag=True, help="Overwrite entries whose fields differ (default: keep the library's).")
@click.option("--json", "as_json", is_flag=True, help="Print the merge report as JSON.")
@click.pass_context
def refs_extract(
    ctx: click.Context, posts_dir: Path | None, library: Path | None, replace: bool, as_json: bool
) -> None:
    """Parse the bibliography posts and merge their references into the library.

    One entry per listed reference; fields already in the library are never overwritten (unless
    --replace) and a work already there under another key is not added twice. Reads posts/ and
    writes references.bib of the corpus_dir setting (KG_CORPUS_DIR), unless --posts / --library.

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


@refs_group.command("import", cls=ShowsPlaces, uses=("references_file",))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["bibtex", "csl-json", "ris", "reflist"]),
    default=None,
    help="The file's format (default: from its extension .bib/.json/.ris/.txt, else its content).",
)
@click.option("--library", type=click.Path(dir_okay=False, path_type=Path), default=None, help=_LIBRARY_HELP)
@click.option(
    "--replace", is_flag=True, help="Let an incoming entry replace an existing one with the same key and other content."
)
@click.option("--strict", is_flag=True, help="Exit 1 if any entry was skipped, conflicted or duplicated.")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@click.pass_context
def refs_import(
    ctx: click.Context, file: Path, fmt: str | None, library: Path | None, replace: bool, strict: bool, as_json: bool
) -> None:
    """Merge a reference manager's export into the library; the library file is replaced atomically.

    FILE is BibTeX (.bib), CSL-JSON (.json: Zotero's or Mendeley's "CSL JSON" export), RIS
    (.ris: Zotero, Mendeley, EndNote) or a pasted reference list (.txt, one Harvard entry a
    line). The library written is references.bib of the corpus_dir setting (KG_CORPUS_DIR in
    the environment, corpus_dir in kg.toml; default corpus/ in the checkout), or --library FILE.
    Entries that cannot be converted are reported with their line (or item index) and the fix,
    and skipped; the rest import. A key already in the library with other content is reported
    and kept (use --replace to take the incoming entry). An entry with no usable key gets one by
    the naming rule (DH2011b), reported. Run `kg build` afterwards for the build to use it.

    Example: kg refs import ~/zotero-export.json
    """
    settings = settings_from(ctx)
    report = refs_mod.import_references(file, library or settings.references_file, replace=replace, format=fmt)
    if as_json:
        echo_json(
            {
                "source": report.source,
                "format": report.format,
                "library": report.library_path,
                "written": report.written,
                "skipped": [{"where": f.item, "message": f.message} for f in report.failures],
                "notes": report.notes,
                "renamed": [{"made": old, "given": new} for old, new in report.renamed],
                **_merge_json(report.merge),
            }
        )
    else:
        click.echo(report.summary())
    if strict and (report.failures or report.merge.conflicts or report.merge.duplicates):
        raise ReferencesError(
            f"{file} did not import cleanly: {len(report.failures)} skipped, "
            f"{len(report.merge.conflicts)} conflicts, {len(report.merge.duplicates)} duplicates",
            hint="fix the entries listed above, or drop --strict",
        )


def _build_library(settings, library: Path | None, data_given: bool):
    """Return the library to export from: --library, else the build's, else (nothing built) the configured file."""
    if library is not None:
        return refs_mod.load_library(library)
    from .. import catalog, graph  # the build, a later step than the library

    try:
        graph.store_path(settings)
    except KGError:
        if data_given:
            raise
        return refs_mod.load_library(settings.references_file)
    return catalog.Catalog(settings).library()


@click.command("bibtex", cls=ShowsPlaces, uses=("data_dir", "references_file"))
@click.argument("keys", nargs=-1)
@click.option("--post", default=None, help="Only the sources the post with this id cites.")
@click.option(
    "--concept", default=None, help="Only the sources of claims about this concept (id), narrower ones included."
)
@click.option("--query", default=None, help="Only the sources cited by every claim a search finds (all pages).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["bibtex", "csl-json", "ris"]),
    default="bibtex",
    show_default=True,
    help="BibTeX for LaTeX (biber or bibtex), CSL-JSON for Zotero and pandoc, or RIS for EndNote and Mendeley.",
)
@output_option
@click.option(
    "--library",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Export from this .bib file instead of the build's library.",
)
@with_settings
def bibtex(
    settings,
    keys: tuple[str, ...],
    post: str | None,
    concept: str | None,
    query: str | None,
    fmt: str,
    output: Path | None,
    library: Path | None,
) -> None:
    """Export sources from the reference library as BibTeX, CSL-JSON or RIS.

    The library is the one built into the data directory (--data DIR, the data_dir setting,
    KG_DATA_DIR); with nothing built there, the configured library file (references.bib in the
    corpus_dir setting, KG_CORPUS_DIR). With no KEY and no filter, the whole library. KEYs (e.g.
    DH2011b) and the filters combine: the result is every source any of them names, each once.
    --post, --concept and --query need a build.

    Example: kg bibtex --query 'care transition protocols' -o sources.bib
    """
    data_given = click.get_current_context().get_parameter_source("data_dir") == click.core.ParameterSource.COMMANDLINE
    if (post or concept or query) and library is None:
        data_given = True  # the filters ask the build: no build is an error, not a fallback
    refs, failures = _build_library(settings, library, data_given)
    for failure in failures:
        click.echo(f"skipped {failure.item}: {failure.message}", err=True)
    chosen: list[str] | None = list(keys) if keys else None
    if post or concept or query:
        from .. import catalog

        chosen = list(keys) + catalog.keys_for(settings, post=post, concept=concept, query=query)
        if not chosen:
            click.echo("no sources match: the export is empty", err=True)
    text = refs_mod.export(refs, chosen, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write(output, text)
        click.echo(f"wrote {output}", err=True)


COMMANDS = [refs_group, bibtex]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(refs_group())
