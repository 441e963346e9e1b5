"""kg serve."""

from __future__ import annotations

import ctypes
import ctypes.util
import time

import click

from ..graph import store_path
from .common import with_settings


#: Bytes waitress accepts beyond max_request_bytes before refusing a body itself.
WAITRESS_HEADROOM = 1 << 20

#: glibc malloc arenas the server may use (mallopt M_ARENA_MAX; glibc's default is 8 per core).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8


#: A request that takes this many seconds is a big one (a concept or source page with thousands of
#: claims): the heap it freed is handed back to the system when it ends.
TRIM_AFTER_SECONDS = 1.0


def _libc():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


class TrimAfterSlowRequests:
    """WSGI middleware: after a request slower than ``seconds``, return freed heap memory (malloc_trim).

    glibc keeps what a big page freed for later allocations; without handing it back, the RSS
    of a server that has shown a few big concept pages stays at its peak.
    """

    def __init__(self, app, seconds: float = TRIM_AFTER_SECONDS):
        self.app = app
        self.seconds = seconds
        libc = _libc()
        self._trim = getattr(libc, "malloc_trim", None)

    def __call__(self, environ, start_response):
        began = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            if self._trim is not None and time.monotonic() - began >= self.seconds:
                self._trim(0)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas before the server's threads start; return False where that is not glibc.

    Each waitress thread otherwise gets an arena of its own, and the memory a big page (a concept
    with thousands of claims, its Oxigraph query) frees stays in that thread's arena: at 3,000
    posts five concept and five source pages left the server at 659 MiB with the default and
    379 MiB with two arenas.
    """
    mallopt = getattr(_libc(), "mallopt", None)
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
    server = waitress.create_server(TrimAfterSlowRequests(app), host=settings.host, port=settings.port, threads=settings.threads,
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
