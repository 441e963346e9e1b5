"""Publish a finished build's graph to an external SPARQL server, then switch readers to it.

Each build goes into two new named graphs: its graph (``{base_iri}graph/<generation>``,
kg.store.build_graph) and its statistics (the embedded store's ``kg:statistics``, kg.stats) beside
it (``<graph>/statistics``, kg.store.statistics_graph). Only when both are loaded in full (each
one's triple count on the server equals the build's) does one update move the pointer in the
control graph (kg.store.control_graph) to the build's graph, and readers find its statistics by
its name, so they switch to both at once. Until then readers keep reading the old pair, so a
publish killed at any moment leaves the old one live; a publish run again reloads what is not
complete. Builds older than the last ``keep`` are dropped afterwards, both graphs of each (the one
just replaced stays, for readers still holding the old pointer).

Servers: Oxigraph's server (``oxigraph serve``) through its HTTP Graph Store Protocol (a PUT,
which replaces the graph, then POSTs, 32 MB of N-Triples each) and SPARQL Update; Virtuoso
through its bulk loader (``ld_dir`` + ``rdf_loader_run``) over N-Triples, run with ``isql``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import requests

from . import generations
from .errors import GraphError, KGError
from .graph import BUILD_INFO, store_path
from .settings import Settings
from .stats import GRAPH as STATISTICS
from .store import LIVE, PUBLISHED, RemoteStore, build_graph, control_graph, post, statistics_graph


class PublishError(KGError):
    """A build could not be published to the external server."""


@dataclass
class Published:
    """What a publish did: the graph it loaded and made live, and what it pruned."""

    graph: str
    triples: int
    seconds: float
    previous: str | None
    pruned: list[str] = field(default_factory=list)
    #: The build's statistics graph on the server (kg:statistics to readers) and its triples.
    statistics: str = ""
    statistics_triples: int = 0


class Oxigraph:
    """An Oxigraph server (``oxigraph serve``) at ``url``: GSP at /store, updates at /update."""

    name = "oxigraph"

    #: N-Triples bytes sent per request. The server holds one request's triples in memory as one
    #: transaction (a 600 MB PUT grew it by gigabytes), so a graph goes in pieces: the first PUT
    #: replaces the graph, the rest POST into it. Readers never see the pieces: the graph is new
    #: and the pointer moves only once its count is complete (kg.publish.publish).
    CHUNK_BYTES = 32 * 2**20

    def __init__(self, url: str, timeout: float = 3600.0, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.chunk_bytes = chunk_bytes

    @property
    def query_url(self) -> str:
        return self.url + "/query"

    def load(self, ntriples: Path, graph: str) -> None:
        with ntriples.open("rb") as lines:
            method = "PUT"
            while True:
                # Whole lines only: each N-Triples line is a triple, and kg's have no blank nodes.
                body = b"".join(lines.readlines(self.chunk_bytes))
                if not body and method == "POST":
                    return
                self._send(method, body, graph)
                method = "POST"

    def _send(self, method: str, body: bytes, graph: str) -> None:
        try:
            response = requests.request(
                method,
                self.url + "/store",
                params={"graph": graph},
                data=body,
                headers={"Content-Type": "application/n-triples"},
                # One limit for connecting, sending and waiting: with (5, ...) the upload ran
                # under the 5 s connect limit and a 4M-triple PUT was cut off while the
                # server was busy loading.
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise PublishError(f"cannot reach the Oxigraph server at {self.url}: {exc}", hint="start it") from None
        if response.status_code >= 300:
            raise PublishError(
                f"the Oxigraph server refused the graph ({response.status_code}): {response.text[:300]}",
                hint="check that it runs `oxigraph serve` (read-write), not serve-read-only",
            )

    def update(self, text: str) -> None:
        post(
            self.url + "/update",
            text.encode("utf-8"),
            timeout=self.timeout,
            headers={"Content-Type": "application/sparql-update"},
        )


class Virtuoso:
    """A Virtuoso server reached by ``isql`` at ``isql`` (host:port); it loads files from ``load_dir``,
    which must be in its DirsAllowed."""

    name = "virtuoso"

    def __init__(self, isql: str, user: str, password: str, load_dir: Path, program: str | None = None) -> None:
        self.isql = isql
        self.user = user
        self.password = password
        self.load_dir = load_dir.resolve()
        self.program = program or shutil.which("isql-vt") or shutil.which("isql-v") or "isql-vt"

    def run(self, script: str) -> str:
        """Run an isql script; PublishError with Virtuoso's message if any statement failed."""
        try:
            done = subprocess.run(
                [self.program, self.isql, self.user, self.password, "VERBOSE=OFF", "PROMPT=OFF", "BANNER=OFF"],
                input=script,
                capture_output=True,
                text=True,
                timeout=24 * 3600,
            )
        except FileNotFoundError:
            raise PublishError(
                f"{self.program} is not installed", hint="install Debian's virtuoso-opensource (scripts/system-deps.sh)"
            ) from None
        out = done.stdout + done.stderr
        if done.returncode != 0 or "*** Error" in out:
            message = next((line for line in out.splitlines() if "Error" in line), out.strip()[:300])
            raise PublishError(
                f"Virtuoso at {self.isql} failed: {message}",
                hint="check the isql address, user and password (KG_VIRTUOSO_PASSWORD), and that --load-dir is in its DirsAllowed",
            )
        return out

    def load(self, ntriples: Path, graph: str) -> None:
        folder, name = str(ntriples.parent), ntriples.name
        for text in (folder, name, graph):
            if "'" in text:
                raise PublishError(f"{text!r} holds a quote, which isql cannot be given", hint="use a plainer path")
        # The bulk loader: registered, loaded, checkpointed; then its own record is checked
        # (a bad line fails the file there, not the statement) and removed.
        out = self.run(
            f"log_enable(3, 1);\nSPARQL CLEAR GRAPH <{graph}>;\n"
            f"ld_dir('{folder}', '{name}', '{graph}');\nrdf_loader_run();\ncheckpoint;\n"
            f"SELECT 'kg-load-errors', COUNT(*) FROM DB.DBA.LOAD_LIST WHERE ll_file = '{folder}/{name}' AND ll_error IS NOT NULL;\n"
            f"SELECT ll_error FROM DB.DBA.LOAD_LIST WHERE ll_file = '{folder}/{name}' AND ll_error IS NOT NULL;\n"
            f"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file = '{folder}/{name}';\n"
        )
        match = re.search(r"kg-load-errors\s+(\d+)", out)
        if match is None or match.group(1) != "0":
            raise PublishError(
                f"Virtuoso's bulk loader did not load {name}: {out.strip()[-500:]}",
                hint="see its error above and virtuoso.log",
            )

    def update(self, text: str) -> None:
        self.run(f"log_enable(3, 1);\nSPARQL {text};\ncheckpoint;\n")


Server = Oxigraph | Virtuoso


#: Finds a blank node anywhere in one graph of the store (run by Oxigraph, not row by row in Python).
_BLANK = "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) } LIMIT 1"


def _dump(store: ox.Store, graph: ox.DefaultGraph | ox.NamedNode, path: Path) -> None:
    """Write one graph of the build's store as N-Triples; GraphError if it holds a blank node
    (Virtuoso and the per-build graph swap need every node named, and kg's graphs name them all)."""
    found = store.query(_BLANK, default_graph=graph)
    assert isinstance(found, ox.QuerySolutions)
    for row in found:
        raise GraphError(
            f"the build's graph holds a blank node ({' '.join(str(t) for t in row)}); an external server cannot take it",
            hint="report it: every node of kg's graph should be an IRI",
        )
    store.dump(str(path), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)


def _store_count(store: ox.Store, graph: ox.NamedNode) -> int:
    answer = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=graph)
    assert isinstance(answer, ox.QuerySolutions)
    row = next(iter(answer))
    return int(row[0].value) if row[0] is not None else 0


def _count(query_url: str, graph: str, timeout: float) -> int:
    answer = RemoteStore(query_url, None, timeout).query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    )
    assert isinstance(answer, ox.QuerySolutions)
    row = next(iter(answer))
    return int(row[0].value) if row[0] is not None else 0


def _listed(query_url: str, settings: Settings, predicate: str) -> list[str]:
    c = control_graph(settings)
    answer = RemoteStore(query_url, None, settings.sparql_timeout).query(
        f"SELECT ?g WHERE {{ GRAPH <{c}> {{ <{c}> <{predicate}> ?g }} }}"
    )
    assert isinstance(answer, ox.QuerySolutions)
    return sorted(row[0].value for row in answer if row[0] is not None)


def publish(
    settings: Settings, server: Server, query_url: str, *, keep: int = 2, work_dir: Path | None = None
) -> Published:
    """Load the live build's graph into ``server`` as a new named graph, switch readers to it, prune.

    ``query_url`` is the server's SPARQL query URL (what readers' sparql_endpoint names); the load
    is checked through it before the switch. ``keep`` graphs stay (the live one and keep-1 before).
    """
    if keep < 1:
        raise PublishError("--keep must be 1 or more", hint="keep at least the live graph")
    began = time.perf_counter()
    path = store_path(settings)  # GraphError naming `kg build` if there is no build
    generation = Path(os.path.realpath(settings.data_dir / generations.CURRENT)).name
    graph = build_graph(settings, generation)
    folder = work_dir or Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    previous = ([None, *_listed(query_url, settings, LIVE)])[-1]
    store = ox.Store.read_only(str(path))
    # Each server graph, the store graph it is a copy of, and the triples the build has there: the
    # default graph's count is the build's record, the statistics' is counted (incremental builds
    # rewrite only the nodes that moved).
    parts: list[tuple[str, ox.DefaultGraph | ox.NamedNode, int]] = [
        (graph, ox.DefaultGraph(), int(json.loads((path / BUILD_INFO).read_text(encoding="utf-8"))["triples"])),
        (statistics_graph(graph), ox.NamedNode(STATISTICS), _store_count(store, ox.NamedNode(STATISTICS))),
    ]
    loaded: list[int] = []
    for target, source, expected in parts:
        count = _count(query_url, target, settings.sparql_timeout)
        if count != expected:
            if previous == graph:
                # Reloading the graphs readers read would show them a half-loaded graph meanwhile.
                raise PublishError(
                    f"the live graph {target} holds {count:,} triples; the build holds {expected:,}",
                    hint="build again (`kg build --full`): a new build is published into new graphs",
                )
            suffix = "-statistics" if isinstance(source, ox.NamedNode) else ""
            nt = folder / f"kg-publish-{generation}-{os.getpid()}{suffix}.nt"
            try:
                _dump(store, source, nt)
                os.chmod(nt, 0o644)  # the server's own user reads it (Virtuoso's bulk loader)
                server.load(nt, target)
            finally:
                nt.unlink(missing_ok=True)
            count = _count(query_url, target, settings.sparql_timeout)
        # else: this graph is on the server in full already (a publish stopped after its load)
        if count != expected:
            raise PublishError(
                f"{target} holds {count:,} triples on the server; the build holds {expected:,}",
                hint="readers still read the previous graph; run kg publish again",
            )
        loaded.append(count)
    del store
    c = control_graph(settings)
    # The new pointer first, then the old one goes: a reader always finds a pointer, and while it
    # finds two it follows the newer build (kg.store.live_graph). Virtuoso inserts nothing for a
    # DELETE/INSERT whose WHERE is only an OPTIONAL, so the switch is two plain updates.
    server.update(f"INSERT DATA {{ GRAPH <{c}> {{ <{c}> <{LIVE}> <{graph}> . <{c}> <{PUBLISHED}> <{graph}> }} }}")
    server.update(
        f"DELETE {{ GRAPH <{c}> {{ <{c}> <{LIVE}> ?old }} }} "
        f"WHERE {{ GRAPH <{c}> {{ <{c}> <{LIVE}> ?old }} FILTER (?old != <{graph}>) }}"
    )
    live = _listed(query_url, settings, LIVE)
    if live != [graph]:
        raise PublishError(f"the pointer names {live}, not {graph}", hint="run kg publish again")
    older = [g for g in _listed(query_url, settings, PUBLISHED) if g != graph]
    pruned = older[: max(0, len(older) - (keep - 1))]
    for old in pruned:
        server.update(f"DROP SILENT GRAPH <{statistics_graph(old)}>")
        server.update(f"DROP SILENT GRAPH <{old}>")
        server.update(f"DELETE DATA {{ GRAPH <{c}> {{ <{c}> <{PUBLISHED}> <{old}> }} }}")
    seconds = round(time.perf_counter() - began, 3)
    return Published(graph, loaded[0], seconds, previous, pruned, statistics_graph(graph), loaded[1])
