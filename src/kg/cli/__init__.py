"""The ``kg`` command: thin click commands over library functions.

Each command group lives in its own module and lists its commands in ``COMMANDS``; usage
errors exit 2, failures exit 1 with ``Error: ...``.
"""

from __future__ import annotations

import importlib
import sys

import click

from .. import __version__
from ..errors import KGError

#: Modules under kg.cli whose COMMANDS are added to ``kg``.
COMMAND_MODULES = (
    "build",
    "serve",
    "refs",
    "graph",
    "search",
    "publish",
)


class KGGroup(click.Group):
    """A click group that turns KGError into ``Error: ...`` and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KGError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (default: $KG_CONFIG, else kg.toml in the checkout).",
)
@click.version_option(__version__, prog_name="kg")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """kg builds a knowledge graph of policy blog posts and serves it.

    \b
    corpus/ -> posts -> claims -> citations + concepts -> RDF graph -> search index
    Start with `kg build` (reads the corpus, writes the data directory), then `kg serve`.
    Folders are settings: corpus_dir (KG_CORPUS_DIR, default corpus/), ontology_dir
    (KG_ONTOLOGY_DIR, default ontology/), data_dir (KG_DATA_DIR, default data/); set them in
    the environment or in kg.toml (--config FILE, KG_CONFIG). Every command that reads or
    writes built data takes --data DIR.
    """
    ctx.ensure_object(dict)
    ctx.obj["config"] = config


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_name}").COMMANDS:
        main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
