"""Options and helpers shared by the kg commands."""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import generations
from ..errors import GraphError, KGError, SearchError
from ..settings import Settings, load_settings

#: What a command may read or write, by name: (what it is, the Settings attribute, the setting and
#: its environment variable that move it).
PLACES = {
    "corpus_dir": ("corpus folder", "corpus_dir", "corpus_dir, KG_CORPUS_DIR"),
    "posts_dir": ("post files", "posts_dir", "corpus_dir, KG_CORPUS_DIR"),
    "references_file": ("reference library", "references_file", "corpus_dir, KG_CORPUS_DIR"),
    "ontology_dir": ("ontology folder", "ontology_dir", "ontology_dir, KG_ONTOLOGY_DIR"),
    "data_dir": ("data directory", "data_dir", "--data, data_dir, KG_DATA_DIR"),
}


class ShowsPlaces(click.Command):
    """A command whose --help ends with the folders and files it uses under the current settings.

    ``uses`` names entries of PLACES; the paths shown are what the config file (--config,
    KG_CONFIG, kg.toml) and KG_* environment resolve to now, with the setting that moves each.
    """

    def __init__(self, *args: Any, uses: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.uses = uses

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if not self.uses:
            return
        try:
            settings = settings_from(ctx)
        except KGError as exc:  # a bad setting: say so rather than fail to show the help
            formatter.write_paragraph()
            formatter.write_text(f"(the settings cannot be read: {exc})")
            return
        rows = [
            (what, str(getattr(settings, attr)), moved_by)
            for what, attr, moved_by in (PLACES[name] for name in self.uses)
        ]
        width = max(len(what) for what, _, _ in rows)
        with formatter.section("Uses, with the current settings [moved by]"):
            for what, path, moved_by in rows:  # unwrapped: a path broken across lines cannot be copied
                formatter.write(f"{'':>{formatter.current_indent}}{what:<{width}}  {path}  [{moved_by}]\n")


#: ``-o/--output FILE`` of the commands that write an export: a file (written atomically) or stdout.
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Resolve settings for a command: config file, KG_* environment, then its options."""
    root = ctx.find_root()
    config = (root.obj or {}).get("config") if root.obj else None
    return load_settings(config, **overrides)


def with_settings(func: Callable) -> Callable:
    """Add ``--data DIR`` to a command and pass it the resolved Settings as first argument."""

    @click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory of the build: graph store, search index, build state (default: the "
        "data_dir setting, KG_DATA_DIR, else data/ in the checkout).",
    )
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, data_dir: Path | None, *args: Any, **kwargs: Any):
        settings = settings_from(ctx, data_dir=data_dir)
        try:
            return func(settings, *args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            failure = exc  # handled below, out of the except block
        # A store or index that cannot be read (a truncated file: EOFError, struct.error) is
        # reported as a damaged build naming the fix, not as a traceback or "Aborted!".
        if isinstance(failure, KGError) and not isinstance(failure, (GraphError, SearchError)):
            raise failure
        damaged = generations.damage(settings)
        if damaged is None:
            raise failure
        with warnings.catch_warnings():
            # The failure's frames hold the file Whoosh could not read, still open: it closes
            # (and warns) as they go.
            warnings.simplefilter("ignore", ResourceWarning)
            del failure
            generations.release()
        raise damaged

    return wrapper


def echo_json(value: Any) -> None:
    """Print a value as indented JSON (UTF-8, keys in insertion order)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
