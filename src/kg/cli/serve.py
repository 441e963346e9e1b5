"""kg serve."""

from __future__ import annotations

import ctypes
import ctypes.util

import click

from ..graph import store_path
from .common import with_settings


#: Bytes waitress accepts beyond max_request_bytes before refusing a body itself.
WAITRESS_HEADROOM = 1 << 20

#: glibc malloc arenas the server may use (mallopt M_ARENA_MAX; glibc's default is 8 per core).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before the server's threads start; return False where that is not glibc.

    Each waitress thread otherwise gets an arena of its own, and the memory a big page (a concept
    with thousands of claims, its Oxigraph query) frees stays in that thread's arena: at 3,000
    posts five concept and five source pages left the server at 659 MiB with the default and
    379 MiB with two arenas.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    return bool(mallopt and mallopt(_M_ARENA_MAX, arenas))


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: 127.0.0.1, or KG_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: 8080, or KG_PORT; 0 picks a free one).")
@with_settings
def serve_command(settings, host: str | None, port: int | None) -> None:
    """Serve the web app, JSON API and SPARQL endpoint under waitress, printing the URL.

    Reads the data directory written by `kg build` and never writes to it. Stop with Ctrl+C.

    Example: kg serve --port 8080
    """
    settings = settings.with_(**{name: value for name, value in (("host", host), ("port", port)) if value is not None})
    store_path(settings)  # fail now, with the fix, rather than on the first request
    limit_malloc_arenas()
    # Imported here: `kg` must not import `web` when the CLI loads.
    import waitress

    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(settings)
    # waitress's own cap sits a little above the app's, so a body just over max_request_bytes gets
    # the app's 413 (the one error shape, naming the setting); waitress still refuses, in plain
    # text, anything far larger before buffering it.
    server = waitress.create_server(app, host=settings.host, port=settings.port, threads=settings.threads,
                                    max_request_body_size=settings.max_request_bytes + WAITRESS_HEADROOM,
                                    ident="kg")
    shown = f"[{server.effective_host}]" if ":" in str(server.effective_host) else server.effective_host
    click.echo(f"Serving {settings.data_dir} at http://{shown}:{server.effective_port}/ (press Ctrl+C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        close_pool(app)


COMMANDS = [serve_command]
