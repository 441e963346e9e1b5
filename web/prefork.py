"""Serving the app with more than one process: gunicorn's prefork master and gthread workers.

`kg serve --workers N` (N > 1) comes here from :func:`web.server.serve`. The master binds the
socket itself (so a busy port is the same ``Error:`` as under waitress), builds the app and loads
what every worker needs and never changes (modules, templates, citation styles, the analysed
words of the concept labels), freezes those objects out of the garbage collector and forks: the
workers share those pages copy-on-write. Each worker opens the live build read-only on its first
request and follows ``data/current`` as one process does (web.resources, kg.search), so a rebuild
is picked up by every worker without a restart; a worker that dies is replaced by the master.

The limits are waitress's: ``threads`` threads and ``max_connections`` connections per worker,
connections idle for ``idle_timeout`` closed, gunicorn's own error answers (400, 414, 431, 501) in
the app's JSON error shape with the security headers, ``Server: kg``, no proxy header trusted.
"""

from __future__ import annotations

# concurrent.futures.thread and gunicorn.glogging are imported on first use by gunicorn (gthread's
# pool; the logger class, loaded by name): imported now, as a server that drops privileges after
# its imports (README: a read-only service user) may not read the interpreter's files any more.
import concurrent.futures.thread  # noqa: F401
import json
import math
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import gunicorn.glogging  # noqa: F401
from gunicorn import config as gunicorn_config
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.errors import InvalidHeader, UnsupportedTransferCoding
from gunicorn.sock import TCP6Socket, TCPSocket
from gunicorn.workers import gthread
from gunicorn.workers.gthread import ThreadWorker

from kg.settings import Settings

from .http import SECURITY_HEADERS
from .memory import process_memory

#: Seconds a worker may miss its heartbeat before the master replaces it (gthread workers beat
#: from their main loop, not from request threads, so a slow page does not count).
HEARTBEAT_SECONDS = 30
#: Seconds a worker thread waits for the first bytes of a new connection before handing it back
#: to the worker's poller. gunicorn waits 5 s, so each connection that sends nothing holds a thread
#: that long: 150 of them kept new requests waiting for a minute, where waitress reads them all
#: without a thread. Shorter is not better: a request whose first bytes came after the hand-back
#: failed now and then under wrk (3 read errors in 2,000 requests at 0.02 s, none at 5 s).
FIRST_BYTES_SECONDS = 1.0
#: Seconds workers get to finish their requests when the server is stopped (SIGTERM).
GRACEFUL_SECONDS = 5


def _write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error in the app's shape: JSON ``{ok, error, status}`` with the app's
    security headers (gunicorn's own page is bare HTML)."""
    body = json.dumps({"ok": False, "error": f"{reason.lower()}: {mesg}", "status": status_int}).encode("utf-8")
    head = [
        f"HTTP/1.1 {status_int} {reason}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Server: {gunicorn_wsgi.SERVER}",
        *(f"{name}: {value}" for name, value in SECURITY_HEADERS.items()),
    ]
    gunicorn_util.write_nonblock(sock, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


class KGWorker(ThreadWorker):
    """gunicorn's threaded worker with the app's error answers and server name."""

    def init_process(self) -> None:
        gunicorn_util.write_error = _write_error  # read by the worker's handle_error at call time
        gunicorn_wsgi.SERVER = "kg"  # the Server header, as waitress's ident gives it
        gthread.DEFAULT_WORKER_DATA_TIMEOUT = FIRST_BYTES_SECONDS  # read by handle() at call time
        super().init_process()

    def handle_error(self, req, client, addr, exc) -> None:
        if isinstance(exc, InvalidHeader) and str(exc.hdr).upper() == "TRANSFER-ENCODING":
            # A transfer coding gunicorn does not take is 501 Not Implemented (RFC 9112 6.1), as
            # waitress answers it; gunicorn reports it as a bad header (400).
            exc = UnsupportedTransferCoding(exc.hdr)
        super().handle_error(req, client, addr, exc)


class KGApplication(BaseApplication):
    """A gunicorn application over an app already built in this (the master) process."""

    def __init__(self, app, options: dict[str, Any], listener: socket.socket):
        self.application = app
        self.options = options
        self.listener = listener
        # gunicorn's `chdir` setting defaults to the working directory it was imported from, and its
        # Config refuses to start ("can't chdir to ...") when that path cannot be looked up, as for a
        # read-only service user started in a checkout under a private (0700) folder. The app is
        # built before gunicorn starts and loads nothing from the working directory, so the setting
        # (read only by gunicorn's own app loaders, not by BaseApplication) is the root.
        gunicorn_config.Chdir.default = os.sep
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        return self.application

    def run(self) -> None:
        master = os.getpid()
        arbiter = Arbiter(self)
        kind = TCP6Socket if self.listener.family == socket.AF_INET6 else TCPSocket
        address = self.listener.getsockname()[:2]
        # The socket bound by serve_workers, handed to gunicorn, which neither binds (nor retries) it.
        arbiter.LISTENERS = [kind(address, self.cfg, arbiter.log, fd=self.listener.detach())]
        try:
            arbiter.run()
        except SystemExit as exc:
            if os.getpid() != master:
                # A worker leaving (gunicorn ends a worker with SystemExit from its fork): it skips
                # the master's stack and the interpreter's teardown, as a forked child should.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
            raise


def bind(host: str, port: int) -> socket.socket:
    """Return a listening socket on host:port (OSError as socket.create_server raises it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.set_inheritable(True)
    return listener


def options(settings: Settings, workers: int, connections: int, echo: Callable[..., None]) -> dict[str, Any]:
    """gunicorn's settings for ``settings``: the limits waitress is given in web.server.serve."""
    idle = max(1, math.ceil(settings.idle_timeout))
    data_dir = settings.data_dir

    def when_ready(arbiter) -> None:
        host, port = arbiter.LISTENERS[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        echo(f"Serving {data_dir} at http://{shown}:{port}/ with {workers} worker processes (press Ctrl+C to stop)")

    def post_worker_init(worker) -> None:
        memory = process_memory(os.getpid())
        echo(f"Worker {os.getpid()} ready: {memory}")

    return {
        "workers": workers,
        "worker_class": KGWorker,
        "threads": settings.threads,
        "worker_connections": connections,
        "keepalive": idle,
        "timeout": HEARTBEAT_SECONDS,
        "graceful_timeout": GRACEFUL_SECONDS,
        "preload_app": True,
        # A request line of a long search (max_query_chars, percent-encoded) is past gunicorn's
        # default 4,094 bytes; 0 is its largest (1 MiB), as waitress takes 256 KiB of headers.
        "limit_request_line": 0,
        "forwarded_allow_ips": "",
        "control_socket_disable": True,  # gunicorn's control socket (in $HOME): kg serve takes signals only  # waitress trusts no proxy header either
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "kg serve",
        # The user serving now: gunicorn's defaults are taken when it is imported, and a server
        # that drops privileges after its imports (README: a read-only service user) is another.
        "user": os.geteuid(),
        "group": os.getegid(),
        "when_ready": when_ready,
        "post_worker_init": post_worker_init,
    }


def serve_workers(
    app, settings: Settings, workers: int, connections: int, listener: socket.socket, echo: Callable[..., None]
) -> None:
    """Run gunicorn's master over ``app`` (already built and loaded) until it is stopped."""
    KGApplication(app, options(settings, workers, connections, echo), listener).run()
