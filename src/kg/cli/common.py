"""Options and helpers shared by the kg commands."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Callable

import click

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
        return func(settings_from(ctx, data_dir=data_dir), *args, **kwargs)

    return wrapper


def echo_json(value: Any) -> None:
    """Print a value as indented JSON (UTF-8, keys in insertion order)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
