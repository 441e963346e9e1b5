"""Starting Virtuoso, Oxigraph's server, `kg serve` nodes (store = "sparql") and haproxy on
loopback: shared by tests/test_scale_out.py and bench/scale_out.py."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from serving import stop

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEPLOY = ROOT / "deploy"
PASSWORD = "dba"  # a new Virtuoso database's, on loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KG_")}
    env.update(extra)
    return env


def wait_for(url: str, seconds: float = 90.0, **kwargs) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=5, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer within {seconds} s")
        time.sleep(0.25)


class Server:
    """A SPARQL server process and how `kg publish` reaches it."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        folder.mkdir(parents=True)
        self.load_dir = folder / "load"
        if kind == "virtuoso":
            self.sql = f"127.0.0.1:{free_port()}"
            http = f"127.0.0.1:{free_port()}"
            command = [str(DEPLOY / "virtuoso.sh"), str(folder), self.sql, http]
            self.endpoint = f"http://{http}/sparql"
        else:
            http = f"127.0.0.1:{free_port()}"
            command = [str(BIN / "oxigraph"), "serve", "--location", str(folder / "store"), "--bind", http]
            self.url = f"http://{http}"
            self.endpoint = self.url + "/query"
            self.load_dir.mkdir(parents=True)
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self.endpoint, params={"query": "ASK {}"})

    def publish_command(self, data_dir: Path) -> list[str]:
        base = [str(BIN / "kg"), "publish", "--data", str(data_dir), "--load-dir", str(self.load_dir), "--json"]
        if self.kind == "virtuoso":
            return [*base, "--server", "virtuoso", "--isql", self.sql, "--endpoint", self.endpoint]
        return [*base, "--server", "oxigraph", "--url", self.url]

    def publish(self, data_dir: Path, timeout: float = 300, keep: int | None = None) -> dict:
        command = self.publish_command(data_dir) + ([] if keep is None else ["--keep", str(keep)])
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=clean_env(KG_VIRTUOSO_PASSWORD=PASSWORD),
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


def serve(data_dir: Path, endpoint: str, workers: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start `kg serve` over ``data_dir`` reading the graph from ``endpoint``; answer (process, URL).

    ``workers`` is `kg serve --workers` (default: kg's, one gunicorn worker per core). The node is
    a process group of its own (the gunicorn master and its workers), so a test can kill it whole.
    """
    command = [str(BIN / "kg"), "serve", "--data", str(data_dir), "--host", "127.0.0.1", "--port", "0"]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = clean_env(KG_STORE="sparql", KG_SPARQL_ENDPOINT=endpoint)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, start_new_session=True
    )
    line = process.stdout.readline()
    match = re.search(r"http://[\d.]+:\d+/", line)
    if not match:
        process.kill()
        raise AssertionError(f"kg serve did not print its URL: {line!r} {process.stderr.read()!r}")
    wait_for(match.group() + "api/health")
    return process, match.group()


def replicate(source: Path, dest: Path) -> None:
    subprocess.run([str(DEPLOY / "replicate.sh"), str(source), str(dest)], check=True, capture_output=True)


def haproxy(port: int, app1: str, app2: str) -> subprocess.Popen:
    """Start haproxy with deploy/haproxy.cfg on 127.0.0.1:``port`` in front of two app URLs."""
    env = clean_env(
        KG_LB_BIND=f"127.0.0.1:{port}",
        KG_APP1=app1.split("//")[1].rstrip("/"),
        KG_APP2=app2.split("//")[1].rstrip("/"),
    )
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(DEPLOY / "haproxy.cfg")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/api/health")
    time.sleep(1.5)  # both nodes pass a health check
    return process
