"""kg serve: a thin command over web.server.serve."""

from __future__ import annotations

import gc
import os

import click

from .. import generations
from ..graph import store_path
from .common import with_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: 127.0.0.1, or KG_HOST).")
@click.option(
    "--port", type=int, default=None, help="Port to listen on (default: 8080, or KG_PORT; 0 picks a free one)."
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Processes to answer with (default: the number of cores, or KG_WORKERS). 1 is one waitress "
    "process; more are gunicorn workers forked from a master that loaded the app, each following "
    "rebuilds by itself.",
)
@with_settings
def serve_command(settings, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web app, JSON API and SPARQL endpoint, printing the URL.

    With --workers 1, one waitress process; with more (the default on a machine with more than one
    core), a gunicorn master forks that many worker processes, each with `threads` threads, and
    replaces one that dies. Each worker prints its memory when it is ready (RSS, and PSS, which
    splits the pages the workers share).

    Reads the data directory written by `kg build` and never writes to it; a rebuild is picked up
    without a restart. Stop with Ctrl+C.

    Example: kg serve --port 8080 --workers 2
    """
    changes = (("host", host), ("port", port), ("workers", workers))
    settings = settings.with_(**{name: value for name, value in changes if value is not None})
    # Fail now, with the fix, rather than on the first request: no build, or a damaged one.
    store_path(settings)
    # What the imports loaded stays for the life of the server: out of the collector's passes, so
    # the check below (which collects what failed reads leave) does not walk it.
    gc.freeze()
    live = os.path.realpath(settings.data_dir / generations.CURRENT)
    health = generations.check_readable(settings)
    # Imported here: `kg` must not import `web` when the CLI loads.
    from web.server import serve

    serve(settings, echo=click.echo, health=(live, health))


COMMANDS = [serve_command]
