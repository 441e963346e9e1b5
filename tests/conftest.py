"""Session fixtures shared by test modules: the real seed corpus built once, the web app, a served instance.

The session-wide builds (``built_settings``: graph and index; ``real_graph``: graph only) are
shared by every module that reads them, so none may write to their data directories: a test that
changes a build works on a copy (``copy_build``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kg import build
from kg.settings import load_settings
from serving import stop

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def posts():
    """The committed seed posts (corpus/posts), by id; the corpus must load without failures."""
    from kg.corpus import load_posts

    loaded, failures = load_posts(ROOT / "corpus" / "posts")
    assert failures == []
    return {post.id: post for post in loaded}


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory):
    """Settings whose data_dir holds the real seed corpus, built once per test session (graph + index)."""
    settings = load_settings(env={}, data_dir=tmp_path_factory.mktemp("built-data"))
    report = build.build(settings)
    assert report.failures == [], report.failures
    return settings


@pytest.fixture(scope="session")
def real_graph(tmp_path_factory):
    """(settings, corpus, graph stats) of the real corpus's graph, written once per test session.

    The graph, SPARQL, catalog and shapes modules each wrote this same graph before; one write
    serves them all. Read it only: copy it with ``copy_build`` to change it.
    """
    from graph_fixtures import build_real

    return build_real(tmp_path_factory)


def copy_build(data_dir: Path, target: Path) -> Path:
    """Copy a built data directory to ``target`` for a test that changes it; return ``target``.

    The generation links (``current``, ``builds/*/store``) are relative, so ``symlinks=True``
    makes the copy point at its own store and index, never back at the shared build.
    """
    shutil.copytree(data_dir, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def web_app(built_settings):
    """The web app over the built data dir; its SPARQL workers are stopped at the end."""
    from web import create_app
    from web.sparql_endpoint import close_pool

    app = create_app(built_settings)
    app.config["TESTING"] = True
    yield app
    close_pool(app)


@pytest.fixture()
def web_client(web_app):
    """A Flask test client of the web app."""
    return web_app.test_client()


@pytest.fixture(scope="session")
def served(built_settings):
    """Run `kg serve` on 127.0.0.1 and a free port in a subprocess; yield its base URL; stop it after."""
    with serve_data(built_settings.data_dir) as url:
        yield url


@contextlib.contextmanager
def serve_data(data_dir: Path):
    """Run `kg serve --data DATA_DIR` on 127.0.0.1 and a free port; yield its base URL; stop it after."""
    command = [str(Path(sys.executable).with_name("kg")), "serve", "--data", str(data_dir),
               "--host", "127.0.0.1", "--port", "0"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("KG_")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://[\d.]+:\d+/", line)
        if not match:
            process.kill()
            raise AssertionError(f"kg serve did not print its URL: {line!r} {process.stderr.read()!r}")
        url = match.group()
        _wait_until_up(url)
        yield url
    finally:
        stop(process)


def _wait_until_up(url: str, seconds: float = 20.0) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url + "api/stats", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
