"""kg serve: a thin command over web.server.serve."""

from __future__ import annotations

import click

from .. import generations
from ..graph import store_path
from .common import with_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: 127.0.0.1, or KG_HOST).")
@click.option(
    "--port", type=int, default=None, help="Port to listen on (default: 8080, or KG_PORT; 0 picks a free one)."
)
@with_settings
def serve_command(settings, host: str | None, port: int | None) -> None:
    """Serve the web app, JSON API and SPARQL endpoint under waitress, printing the URL.

    Reads the data directory written by `kg build` and never writes to it. Stop with Ctrl+C.

    Example: kg serve --port 8080
    """
    settings = settings.with_(**{name: value for name, value in (("host", host), ("port", port)) if value is not None})
    # Fail now, with the fix, rather than on the first request: no build, or a damaged one.
    store_path(settings)
    generations.check_readable(settings)
    # Imported here: `kg` must not import `web` when the CLI loads.
    from web.server import serve

    serve(settings, echo=click.echo)


COMMANDS = [serve_command]
