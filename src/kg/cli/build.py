"""kg corpus import, kg build."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import click

from .. import build as build_mod
from .. import corpus as corpus_mod
from .common import ShowsPlaces, echo_json, settings_from, with_settings

T = TypeVar("T")


def progress_bar(items: Iterable[T], label: str = "", total: int | None = None) -> Iterable[T]:
    """Draw a progress bar on stderr while the items are consumed (silent when not a terminal)."""
    if not sys.stderr.isatty():
        return items
    return _bar(items, label, total)


def _bar(items: Iterable[T], label: str, total: int | None) -> Iterable[T]:
    with click.progressbar(
        items, length=total, label=label.ljust(22), file=sys.stderr, show_pos=True, show_eta=True
    ) as bar:
        yield from bar


@click.group("corpus")
def corpus_group() -> None:
    """Manage the corpus (the corpus_dir setting, KG_CORPUS_DIR): split raw dumps into post files."""


@corpus_group.command("import", cls=ShowsPlaces, uses=("corpus_dir", "posts_dir"))
@click.argument("dumps", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--overrides",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Reviewed title overrides (default: split-overrides.yaml in the corpus_dir setting, "
    "KG_CORPUS_DIR, else corpus/).",
)
@click.option(
    "--posts",
    "posts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write post files into (default: posts/ in the corpus_dir setting, "
    "KG_CORPUS_DIR, else corpus/posts).",
)
@click.option("--dry-run", is_flag=True, help="Split and report, but write nothing.")
@click.pass_context
def corpus_import(
    ctx: click.Context, dumps: tuple[Path, ...], overrides: Path | None, posts_dir: Path | None, dry_run: bool
) -> None:
    """Split raw dumps into one Markdown post file per unique post.

    Posts repeated across dumps become one file that lists every dump and line range it was
    found at. Titles the heuristics cannot see are listed in split-overrides.yaml of the corpus
    folder. The corpus folder is the corpus_dir setting (KG_CORPUS_DIR in the environment,
    corpus_dir in kg.toml; default corpus/ in the checkout). A title printed twice makes one
    post, never an empty one. With --dry-run, the boundaries decided without a clear cue are
    listed with their dump, line and why, for a person to confirm in the overrides file
    ('titles' or 'not_titles').

    Example: kg corpus import --dry-run corpus/raw/*.txt
    """
    settings = settings_from(ctx)
    overrides_path = overrides or settings.corpus_dir / "split-overrides.yaml"
    result = corpus_mod.import_dumps(dumps, corpus_mod.load_overrides(overrides_path))
    target = posts_dir or settings.posts_dir
    if not dry_run:
        report = corpus_mod.write_posts(result.posts, target)
        click.echo(
            f"{len(result.posts)} posts from {result.occurrences} occurrences in {len(dumps)} dumps: "
            f"{len(report.written)} written, {len(report.unchanged)} unchanged in {target}"
        )
    else:
        click.echo(f"{len(result.posts)} posts from {result.occurrences} occurrences in {len(dumps)} dumps (dry run)")
        for post in result.posts:
            places = ", ".join(f"{p.dump}:{p.start_line}-{p.end_line}" for p in post.provenance)
            click.echo(f"  {post.id}  [{places}]")
        if result.review:
            click.echo(f"{len(result.review)} boundaries to review (decide them in {overrides_path}):")
            for item in result.review:
                click.echo(f"  {item.dump}:{item.line}: {item.text!r}: {item.reason}")
    if result.review and not dry_run:
        click.echo(
            f"{len(result.review)} boundaries were decided without a clear cue: "
            "list them with `kg corpus import --dry-run`",
            err=True,
        )
    for failure in result.failures:
        click.echo(f"Error: {failure.item}: {failure.message}", err=True)
    if result.failures:
        sys.exit(1)


@click.command("build", cls=ShowsPlaces, uses=("corpus_dir", "references_file", "ontology_dir", "data_dir"))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--full", is_flag=True, help="Derive and write everything again, ignoring what the last build left.")
@with_settings
def build_command(settings, as_json: bool, full: bool) -> None:
    """Build the knowledge graph and search index from the corpus into the data directory.

    \b
    Reads   the corpus folder: the corpus_dir setting (KG_CORPUS_DIR; default corpus/ in the
            checkout): its posts/ and references.bib;
            the ontology folder: the ontology_dir setting (KG_ONTOLOGY_DIR; default ontology/):
            concepts, organisations, shapes.
    Writes  the data directory: --data DIR, the data_dir setting (KG_DATA_DIR; default data/):
            the RDF store, the search index and the build state.
    Settings may also be set in kg.toml (or the file named by --config / KG_CONFIG).

    Chunks posts into claims, resolves citations, tags concepts, writes the RDF store and the
    search index, and prints a summary. Only posts changed since the last build are processed
    again (a change to the library or the ontology rebuilds everything); the new store and
    index replace the old ones atomically, so a running `kg serve` keeps answering and picks
    them up. The live build is checked first (file sizes, records, the store and index open,
    counts agree) and a damaged one is rebuilt in full. A bad post file (or one over the
    max_post_bytes setting) is reported with its path and the build goes on; the exit status
    is 1 if anything failed. A full disk stops the build with an error and leaves the previous
    build live.

    Example: KG_CORPUS_DIR=~/my-corpus kg build --data /srv/kg
    """
    report = build_mod.build(settings, progress=progress_bar, full=full)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(report.summary())
    for failure in report.failures:
        click.echo(f"Error: [{failure.step}] {failure.item}: {failure.message}", err=True)
    if report.failures:
        sys.exit(1)


COMMANDS = [corpus_group, build_command]
