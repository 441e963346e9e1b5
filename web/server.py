"""Serving the app: the WSGI middleware, the malloc tuning and the run loop of `kg serve`.

These are the server's, not the CLI's: `kg serve` (kg.cli.serve) resolves the settings, checks
the build and calls :func:`serve`, which runs one waitress process (``workers`` = 1, or where
there is no fork) or a gunicorn master with ``workers`` forked processes (web.prefork). Both
load what does not change (:func:`preload`) before they answer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import encodings.unicode_escape  # noqa: F401  (jinja's lexer decodes template strings with it: see preload)
import errno
import gc
import json
import math
import os
import resource
import socket
import sys
import time
import warnings
from collections.abc import Callable

from kg import generations
from kg.errors import KGError
from kg.settings import Settings

try:
    from . import prefork
except ImportError:  # gunicorn needs a POSIX system (fcntl, grp, fork): one waitress process here
    prefork = None  # type: ignore[assignment]

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


#: File descriptors kept for the store, the index and the SPARQL workers beside the connections.
SPARE_FILES = 256


def open_files_for(connections: int) -> int:
    """Raise the soft open-files limit towards what ``connections`` need; return how many connections fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(1, min(connections, soft - SPARE_FILES))


def listen_error(exc: OSError, host: str, port: int) -> KGError:
    """Say why ``kg serve`` cannot listen, naming the option and setting that fix it."""
    if exc.errno == errno.EADDRINUSE:
        return KGError(f"port {port} on {host} is in use; pass --port or set KG_PORT")
    if exc.errno == errno.EACCES:
        return KGError(
            f"port {port} on {host} needs privileges this user lacks; pass --port (above 1023) or set KG_PORT"
        )
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return KGError(
            f"cannot listen on {host}: {exc.strerror or exc}; pass --host or set KG_HOST (127.0.0.1 is this machine)"
        )
    return KGError(
        f"cannot listen on {host} port {port}: {exc.strerror or exc}; pass --host/--port or set KG_HOST/KG_PORT"
    )


class RefuseLargeBodies:
    """WSGI middleware for servers without a body cap of their own (gunicorn): a body declared more
    than WAITRESS_HEADROOM past ``max_request_bytes`` gets the 413 waitress gives it, before it is
    read; a body just over the limit reaches the app, whose 413 names the setting too."""

    def __init__(self, app, max_request_bytes: int):
        from .http import SECURITY_HEADERS

        self.headers = list(SECURITY_HEADERS.items())
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.refused = max_request_bytes + WAITRESS_HEADROOM

    def __call__(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # gunicorn refuses a malformed length before the app is called
        if length <= self.refused:
            return self.app(environ, start_response)
        body = json.dumps({"ok": False, "error": too_large(self.max_request_bytes), "status": 413}).encode("utf-8")
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
                *self.headers,
            ],
        )
        return [body]


def too_large(max_request_bytes: int) -> str:
    """The error of a request body the server refuses before reading it."""
    return (
        f"the request body is larger than {max_request_bytes} bytes; send a smaller one, "
        "or raise the max_request_bytes setting"
    )


def waitress_channel(max_request_bytes: int):
    """Return waitress's connection class with its own error answers (a malformed request's 400,
    an oversized body's 413, an unsupported transfer coding's 501) in the app's error shape and
    with the app's security headers; waitress's plain-text pages carry neither."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    from .http import SECURITY_HEADERS

    class KGErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            if error.code == 413:
                message = too_large(max_request_bytes)
            else:
                message = f"{error.reason.lower()}: {error.body}"
            body = json.dumps({"ok": False, "error": message, "status": error.code}).encode("utf-8")
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", "application/json"), *SECURITY_HEADERS.items()])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class KGChannel(HTTPChannel):
        error_task_class = KGErrorTask

    return KGChannel


def _print(text: str, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def preload(
    app, settings: Settings, health: tuple[str, generations.Health] | None = None, *, forking: bool = False
) -> None:
    """Load before serving what requests need and no build changes, then freeze it.

    The words of the live index's concept labels are analysed (the first search of a process
    otherwise analyses them all: kg.search keeps the words per process, the labels per index
    version), and its facet tables and list order computed (kg.search.Searcher.warm). When workers
    are to be forked (``forking``), every template is compiled too, so they share them as they
    share the tables (one process compiles each on its first page, keeping its start short), and
    the index is closed again. ``health`` (the check `kg serve` made of the live build: the
    generation, the answer) is kept as the app's first check, so the first request does not open
    the build again. Then the garbage collector is told
    to leave these objects alone (gc.freeze): its passes stay short, and forked workers share the
    pages copy-on-write instead of each touching (so copying) them.
    """
    from kg import search
    from kg.index import META_FILE, live_version

    from . import resources

    if forking:
        for name in app.jinja_env.list_templates():
            app.jinja_env.get_template(name)
    version = live_version(settings.index_dir)
    try:
        meta = json.loads((version / META_FILE).read_text(encoding="utf-8")) if version else {}
        search.Expansions.from_labels({cid: (c["label"], c["labels"]) for cid, c in meta.get("concepts", {}).items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # the first search opens the index itself and reports what is wrong with it
    searcher = search.searcher_for(settings)
    try:
        searcher.warm()
    except Exception:
        pass  # no index, or a damaged one: the first request that needs it says what is wrong
    if forking:
        # Forked workers open the index themselves (a Whoosh file read from two processes would
        # share its offset): what they keep of this one is the tables warm computed.
        searcher.close()
    if health is not None:
        resources.seed_health(app, *health)
    gc.collect()
    gc.freeze()


def serve(
    settings: Settings, echo: Callable[..., None] = _print, health: tuple[str, generations.Health] | None = None
) -> None:
    """Serve the app for ``settings`` until interrupted, saying where through ``echo``.

    One waitress process when ``settings.workers`` is 1 (or the platform cannot fork), else a
    gunicorn master and that many worker processes (web.prefork). ``echo(text, err=True)`` is used
    for notes; a port that cannot be listened on raises KGError naming the option and setting that
    fix it. ``health`` is the check of the live build the caller made: (the generation data/current
    pointed at, kg.generations.verify's answer).
    """
    limit_malloc_arenas()  # before any thread of the server starts
    connections = open_files_for(settings.max_connections)
    if connections < settings.max_connections:
        echo(
            f"Note: the open-files limit (ulimit -n) allows {connections} connections, not "
            f"max_connections = {settings.max_connections}",
            err=True,
        )
    workers = settings.workers
    if workers > 1 and (prefork is None or not hasattr(os, "fork")):
        echo(f"Note: this platform cannot fork; serving with one process, not workers = {workers}", err=True)
        workers = 1
    if workers > 1:
        _serve_workers(settings, workers, connections, echo, health)
    else:
        _serve_waitress(settings, connections, echo, health)


def _serve_workers(
    settings: Settings,
    workers: int,
    connections: int,
    echo: Callable[..., None],
    health: tuple[str, generations.Health] | None,
) -> None:
    from . import create_app

    try:
        listener = prefork.bind(settings.host, settings.port)
    except OSError as exc:
        raise listen_error(exc, settings.host, settings.port) from None
    try:
        app = create_app(settings)
        preload(app, settings, health, forking=True)
    except BaseException:
        listener.close()
        raise
    wrapped = RefuseLargeBodies(TrimAfterSlowRequests(app), settings.max_request_bytes)
    prefork.serve_workers(wrapped, settings, workers, connections, listener, echo)


def _serve_waitress(
    settings: Settings, connections: int, echo: Callable[..., None], health: tuple[str, generations.Health] | None
) -> None:
    import waitress

    from . import create_app
    from .sparql_endpoint import close_pool

    app = create_app(settings)
    preload(app, settings, health)
    idle = max(1, math.ceil(settings.idle_timeout))
    try:
        failure = None
        with warnings.catch_warnings():
            # waitress leaves the socket it could not bind unclosed: it closes (warning) once the
            # error is gone, at the end of the except block.
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                # waitress's own cap sits a little above the app's, so a body just over
                # max_request_bytes gets the app's 413 (naming the setting); waitress still refuses
                # anything far larger before buffering it. Idle connections are closed after
                # idle_timeout (checked every half of it), so a crowd of them cannot hold every one
                # of the max_connections; poll(), not select(), which stops at 1,024 descriptors.
                server = waitress.create_server(
                    TrimAfterSlowRequests(app),
                    host=settings.host,
                    port=settings.port,
                    threads=settings.threads,
                    max_request_body_size=settings.max_request_bytes + WAITRESS_HEADROOM,
                    ident="kg",
                    connection_limit=connections,
                    channel_timeout=idle,
                    cleanup_interval=max(1, idle // 2),
                    asyncore_use_poll=True,
                )
            except OSError as exc:
                failure = listen_error(exc, settings.host, settings.port)
            gc.collect()
        if failure is not None:
            raise failure
        server.channel_class = waitress_channel(settings.max_request_bytes)
        shown = f"[{server.effective_host}]" if ":" in str(server.effective_host) else server.effective_host
        echo(f"Serving {settings.data_dir} at http://{shown}:{server.effective_port}/ (press Ctrl+C to stop)")
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    finally:
        close_pool(app)
