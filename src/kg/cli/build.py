"""kg corpus import, kg build."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, TypeVar

import click

from .. import build as build_mod
from .. import corpus as corpus_mod
from .common import echo_json, settings_from, with_settings

T = TypeVar("T")


def progress_bar(items: Iterable[T], label: str = "", total: int | None = None) -> Iterable[T]:
    """Draw a progress bar on stderr while the items are consumed (silent when not a terminal)."""
    if not sys.stderr.isatty():
        return items
    return _bar(items, label, total)


def _bar(items: Iterable[T], label: str, total: int | None) -> Iterable[T]:
    with click.progressbar(items, length=total, label=label.ljust(22), file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        yield from bar


@click.group("corpus")
def corpus_group() -> None:
    """Manage the corpus: split raw dumps into post files."""


@corpus_group.command("import")
@click.argument("dumps", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--overrides", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Reviewed title overrides (default: corpus/split-overrides.yaml).")
@click.option("--posts", "posts_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write post files into (default: corpus/posts).")
@click.option("--dry-run", is_flag=True, help="Split and report, but write nothing.")
@click.pass_context
def corpus_import(ctx: click.Context, dumps: tuple[Path, ...], overrides: Path | None,
                  posts_dir: Path | None, dry_run: bool) -> None:
    """Split raw dumps into one Markdown post file per unique post.

    Posts repeated across dumps become one file that lists every dump and line range it was
    found at. Titles the heuristics cannot see are listed in corpus/split-overrides.yaml.

    Example: kg corpus import corpus/raw/*.txt
    """
    settings = settings_from(ctx)
    overrides_path = overrides or settings.corpus_dir / "split-overrides.yaml"
    result = corpus_mod.import_dumps(dumps, corpus_mod.load_overrides(overrides_path))
    target = posts_dir or settings.posts_dir
    if not dry_run:
        report = corpus_mod.write_posts(result.posts, target)
        click.echo(f"{len(result.posts)} posts from {result.occurrences} occurrences in {len(dumps)} dumps: "
                   f"{len(report.written)} written, {len(report.unchanged)} unchanged in {target}")
    else:
        click.echo(f"{len(result.posts)} posts from {result.occurrences} occurrences in {len(dumps)} dumps (dry run)")
        for post in result.posts:
            places = ", ".join(f"{p.dump}:{p.start_line}-{p.end_line}" for p in post.provenance)
            click.echo(f"  {post.id}  [{places}]")
    for failure in result.failures:
        click.echo(f"Error: {failure.item}: {failure.message}", err=True)
    if result.failures:
        sys.exit(1)


@click.command("build")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--full", is_flag=True,
              help="Derive and write everything again, ignoring what the last build left.")
@with_settings
def build_command(settings, as_json: bool, full: bool) -> None:
    """Build the knowledge graph and search index from corpus/ into the data directory.

    Reads corpus/posts, corpus/references.bib and ontology/, chunks posts into claims,
    resolves citations, tags concepts, writes the RDF store and the search index, and prints
    a summary. Only posts changed since the last build are processed again (a change to the
    library or the ontology rebuilds everything); the new store and index replace the old ones
    atomically, so a running `kg serve` keeps answering and picks them up. The live build is
    checked first (file sizes, records, the store and index open, counts agree) and a damaged one
    is rebuilt in full. A bad post file (or one over the max_post_bytes setting) is reported with
    its path and the build goes on; the exit status is 1 if anything failed. A full disk stops the
    build with an error and leaves the previous build live.
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
