"""Options and helpers shared by the kg commands."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path
from typing import Any, Callable

import click

from .. import generations
from ..errors import GraphError, KGError, SearchError
from ..settings import Settings, load_settings


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Resolve settings for a command: config file, KG_* environment, then its options."""
    root = ctx.find_root()
    config = (root.obj or {}).get("config") if root.obj else None
    return load_settings(config, **overrides)


def with_settings(func: Callable) -> Callable:
    """Add ``--data DIR`` to a command and pass it the resolved Settings as first argument."""

    @click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Data directory to read and write (default: $KG_DATA_DIR, else data/ in the checkout).")
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
