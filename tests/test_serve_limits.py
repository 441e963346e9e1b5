"""kg serve with real sockets: a busy port, idle connections, waitress's own error answers,
redirects that stay on our host, and serving as a separate read-only user."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from serving import stop

ROOT = Path(__file__).resolve().parents[1]
KG = str(Path(sys.executable).with_name("kg"))


def start(data_dir: Path, *extra: str, env: dict | None = None, command: list[str] | None = None,
          **popen) -> tuple[subprocess.Popen, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    environment.update(env or {})
    process = subprocess.Popen([*(command or [KG]), "serve", "--data", str(data_dir), "--host", "127.0.0.1",
                                "--port", "0", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                               cwd=ROOT, **popen)
    line = process.stdout.readline()
    match = re.search(r"http://[\d.]+:(\d+)/", line)
    if not match:
        process.kill()
        _, err = process.communicate()  # and close the pipes, so no file is left for the collector
        raise AssertionError(f"kg serve did not start: {line!r} {err!r}")
    return process, match.group()


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def raw(port: int, request: bytes, timeout: float = 10) -> tuple[str, dict[str, str], bytes]:
    """Send bytes on a fresh connection; return the status line, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, body


def test_kg_serve_on_a_busy_port_says_so_and_exits_1(built_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--data", str(built_settings.data_dir), "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: port {port} on 127.0.0.1 is in use; pass --port or set KG_PORT"
    assert "Traceback" not in result.output


def test_idle_connections_do_not_stall_new_requests(built_settings):
    # waitress (one process) reads idle connections without a thread; gunicorn workers hold one
    # for a second each (tests/test_serve_workers.py asserts what holds there).
    process, url = start(built_settings.data_dir, "--workers", "1")
    idle = []
    try:
        for _ in range(150):  # more than waitress's default limit of 100
            idle.append(socket.create_connection(("127.0.0.1", port_of(url)), timeout=5))
        time.sleep(0.5)
        began = time.monotonic()
        with urllib.request.urlopen(url + "api/stats", timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - began < 2.0
    finally:
        for conn in idle:
            conn.close()
        stop(process)


def test_idle_connections_are_closed_after_idle_timeout(built_settings):
    process, url = start(built_settings.data_dir, "--workers", "1", env={"KG_IDLE_TIMEOUT": "1", "KG_MAX_CONNECTIONS": "20"})
    idle = []
    try:
        for _ in range(25):  # past max_connections: the last ones wait to be accepted
            idle.append(socket.create_connection(("127.0.0.1", port_of(url)), timeout=10))
        began = time.monotonic()
        with urllib.request.urlopen(url + "api/stats", timeout=15) as response:
            assert response.status == 200
        assert time.monotonic() - began < 6.0  # idle ones went after about a second
        closed = sum(conn.recv(1) == b"" for conn in idle[:5])
        assert closed == 5  # the server hung up on connections that sent nothing
    finally:
        for conn in idle:
            conn.close()
        stop(process)


WAITRESS_ERRORS = [
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400"),
    (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "413"),
    (b"POST /sparql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "501"),
]


@pytest.fixture(scope="module")
def server(built_settings):
    process, url = start(built_settings.data_dir)
    yield url
    stop(process)


@pytest.mark.parametrize("request_bytes, status", WAITRESS_ERRORS, ids=["400", "413", "501"])
def test_waitress_own_errors_carry_the_security_headers_and_the_error_shape(server, request_bytes, status):
    line, headers, body = raw(port_of(server), request_bytes)
    assert line.split()[1] == status
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    answer = json.loads(body)
    assert answer["ok"] is False and answer["status"] == int(status) and answer["error"]
    if status == "413":
        assert "max_request_bytes" in answer["error"]


@pytest.mark.parametrize("path", ["/api", "/static//style.css", "//api/", "/sparql/"])
def test_redirects_never_name_another_host(server, path):
    line, headers, _ = raw(port_of(server), f"GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode())
    location = headers.get("location", "")
    assert "evil.example" not in location
    assert not location or (location.startswith("/") and not location.startswith("//")), location


#: kg serve as nobody. The interpreter lives under /root here (0700), so the modules are imported
#: as root first and the process then drops to nobody before it opens any built data. (SPARQL's
#: worker processes start a new interpreter, which nobody cannot run here: not asked for below.)
SERVE_AS_NOBODY = """
import os, pwd, sys
import email.utils, mimetypes, html, uuid, decimal, csv, io, encodings.idna, encodings.latin_1, encodings.ascii, json.decoder
import flask, jinja2, waitress, waitress.channel, waitress.task, pyoxigraph, whoosh, whoosh.searching, rdflib
import kg.cli, kg.cli.serve, kg.catalog, kg.search, kg.ranking, kg.sparql
import web, web.api, web.pages, web.linked, web.data, web.http, web.resources, web.picture, web.sparql_endpoint, web.server
mimetypes.init()
user = pwd.getpwnam("nobody")
os.setgroups([])
os.setgid(user.pw_gid)
os.setuid(user.pw_uid)
assert os.geteuid() == user.pw_uid
sys.argv = ["kg", *sys.argv[1:]]
kg.cli.main()
"""


def _nobody() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


@pytest.mark.skipif(os.geteuid() != 0 or _nobody() is None, reason="needs root to run a server as nobody")
def test_a_separate_read_only_user_can_serve_the_build(tmp_path):
    """The documented deployment: one user builds, another (here nobody) only reads and serves."""
    top = Path(tempfile.mkdtemp(prefix="kg-serve-as-nobody-"))
    try:
        os.chmod(top, 0o755)  # the deployer's choice: the folder is readable by the service user
        corpus = top / "corpus"
        shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("raw"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
        subprocess.run([KG, "build", "--data", str(top / "data")], check=True, capture_output=True, umask=0o022,
                       env={**env, "KG_CORPUS_DIR": str(corpus)})
        for path in [top / "data", *(top / "data").rglob("*")]:
            if path.is_symlink() or path.name.startswith(".build.lock"):
                continue
            mode = path.stat().st_mode & 0o777
            assert mode & 0o044 == 0o044, f"{path} is {oct(mode)}: a read-only service user cannot read it"
        before = {str(p): p.stat().st_mtime_ns for p in (top / "data").rglob("*") if p.is_file()}
        process, url = start(top / "data", command=[sys.executable, "-c", SERVE_AS_NOBODY])
        try:
            for path in ("api/stats", "api/search?q=personal+budgets", "api/source/DH2011b", "source/DH2011b",
                         "concept/payment-by-results", "search?q=care"):
                with urllib.request.urlopen(url + path, timeout=30) as response:
                    assert response.status == 200, path
            with urllib.request.urlopen(url + "api/search?q=personal+budgets", timeout=30) as response:
                assert json.loads(response.read())["total"] > 0
        finally:
            stop(process)
        after = {str(p): p.stat().st_mtime_ns for p in (top / "data").rglob("*") if p.is_file()}
        assert after == before
    finally:
        shutil.rmtree(top, ignore_errors=True)
