"""Every setting once: name, type, default, help. Defaults -> config file -> KG_* environment.

A test checks that each setting here is documented in the README.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import SettingsError

#: The checkout kg runs from: the folder holding corpus/ and ontology/.
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Option:
    name: str
    kind: Callable[[str], Any]
    default: Callable[[], Any]
    help: str


def _path(value: str | Path) -> Path:
    return Path(value).expanduser().resolve()


def _positive_float(value: str | float) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _positive_int(value: str | int) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a whole number greater than 0")
    return number


def _non_negative_int(value: str | int) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be a whole number, 0 or more")
    return number


def _cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _port(value: str | int) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError("must be a port number from 0 to 65535")
    return number


def _post_bytes(value: str | int) -> int:
    number = _positive_int(value)
    # A post's text becomes single literals of the graph, and the store's N-Triples reader takes
    # lines of at most 16 MiB; escaping can double the text.
    if number > 8_000_000:
        raise ValueError("must be at most 8000000 (the graph store reads literals up to 16 MiB)")
    return number


def _iri(value: str) -> str:
    value = str(value)
    if not (value.startswith("http://") or value.startswith("https://")) or not value.endswith("/"):
        raise ValueError("must be an http(s) IRI ending in '/', e.g. https://kg.example.org/")
    return value


def _store(value: str) -> str:
    value = str(value)
    if value not in ("embedded", "sparql"):
        raise ValueError('must be "embedded" (the build\'s own store) or "sparql" (an external SPARQL server)')
    return value


def _endpoint(value: str) -> str:
    value = str(value)
    if value and not (value.startswith("http://") or value.startswith("https://")):
        raise ValueError("must be the http(s) query URL of a SPARQL server, e.g. http://127.0.0.1:8890/sparql")
    return value


OPTIONS: tuple[Option, ...] = (
    Option("corpus_dir", _path, lambda: ROOT / "corpus", "Folder holding raw/, posts/ and references.bib."),
    Option(
        "ontology_dir",
        _path,
        lambda: ROOT / "ontology",
        "Folder holding the schema, concepts, organisations, shapes and named queries.",
    ),
    Option(
        "data_dir",
        _path,
        lambda: ROOT / "data",
        "Folder the build writes (graph store, search index, build state); git-ignored.",
    ),
    Option(
        "base_iri",
        _iri,
        lambda: "https://kg.example.org/",
        "Base under which every resource of the graph gets its IRI.",
    ),
    Option(
        "store",
        _store,
        lambda: "embedded",
        'Where readers find the graph: "embedded" (the live build\'s own store) or "sparql" (the '
        "graph `kg publish` loaded into the server at `sparql_endpoint`; the embedded store is never opened).",
    ),
    Option(
        "sparql_endpoint",
        _endpoint,
        lambda: "",
        'Query URL (SPARQL 1.1 Protocol) of the external SPARQL server readers use when store = "sparql".',
    ),
    Option("host", str, lambda: "127.0.0.1", "Address `kg serve` listens on."),
    Option("port", _port, lambda: 8080, "Port `kg serve` listens on."),
    Option("threads", _positive_int, lambda: 8, "Worker threads of the WSGI server (of each worker process)."),
    Option(
        "workers",
        _positive_int,
        _cores,
        "Processes `kg serve` answers with (default: the number of cores); 1 is one waitress process, "
        "more are gunicorn workers forked from a master that loaded the app.",
    ),
    Option("sparql_timeout", _positive_float, lambda: 10.0, "Seconds a SPARQL query may run before it is stopped."),
    Option(
        "sparql_max_rows",
        _positive_int,
        lambda: 10000,
        "Most rows a SPARQL SELECT returns; the rest are cut off and flagged.",
    ),
    Option(
        "sparql_max_bytes",
        _positive_int,
        lambda: 20_000_000,
        "Most bytes of values a SPARQL answer may hold; a bigger answer is refused (413).",
    ),
    Option(
        "sparql_memory_mb",
        _positive_int,
        lambda: 1024,
        "Data memory (MB, `RLIMIT_DATA`) each SPARQL worker process may use; a query needing more is "
        "stopped (503) and its worker replaced.",
    ),
    Option(
        "sparql_slots",
        _positive_int,
        lambda: 3,
        "SPARQL queries run at once; in `kg serve`, running plus waiting queries stay two below `threads`, so pages always have threads.",
    ),
    Option(
        "sparql_queue",
        _non_negative_int,
        lambda: 3,
        "SPARQL queries that may wait for a slot; more are refused at once (503).",
    ),
    Option(
        "sparql_queue_seconds",
        _positive_float,
        lambda: 5.0,
        "Seconds a SPARQL query waits for a slot before it is refused (503).",
    ),
    Option("search_page_size", _positive_int, lambda: 20, "Search results per page."),
    Option(
        "max_query_chars",
        _positive_int,
        lambda: 10000,
        "Longest search or SPARQL text accepted; longer input is refused with a message.",
    ),
    Option("max_request_bytes", _positive_int, lambda: 1_000_000, "Largest HTTP request body the web app accepts."),
    Option(
        "max_post_bytes",
        _post_bytes,
        lambda: 1_000_000,
        "Largest post file `kg build` reads (at most 8000000); a larger one is reported as a bad file "
        "and left out, and the rest builds.",
    ),
    Option(
        "max_connections",
        _positive_int,
        lambda: 1000,
        "Open client connections `kg serve` holds at once, idle ones included; further ones wait to be accepted.",
    ),
    Option(
        "idle_timeout",
        _positive_float,
        lambda: 30.0,
        "Seconds `kg serve` keeps open a connection that sends nothing before closing it, so idle "
        "connections cannot hold every slot.",
    ),
)

_BY_NAME = {option.name: option for option in OPTIONS}
ENV_PREFIX = "KG_"
CONFIG_ENV = "KG_CONFIG"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path
    ontology_dir: Path
    data_dir: Path
    base_iri: str
    store: str
    sparql_endpoint: str
    host: str
    port: int
    threads: int
    workers: int
    sparql_timeout: float
    sparql_max_rows: int
    sparql_max_bytes: int
    sparql_memory_mb: int
    sparql_slots: int
    sparql_queue: int
    sparql_queue_seconds: float
    search_page_size: int
    max_query_chars: int
    max_request_bytes: int
    max_post_bytes: int
    max_connections: int
    idle_timeout: float

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed (values are checked like any other)."""
        return replace(self, **{name: _convert(name, value, "argument") for name, value in changes.items()})

    # Derived locations inside the data directory.
    # The live build: data/current points at a generation pairing a store and an index
    # (kg.generations); readers resolve these paths when they open them.
    @property
    def store_dir(self) -> Path:
        return self.data_dir / "current" / "store"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "current" / "index"

    @property
    def posts_dir(self) -> Path:
        return self.corpus_dir / "posts"

    @property
    def raw_dir(self) -> Path:
        return self.corpus_dir / "raw"

    @property
    def references_file(self) -> Path:
        return self.corpus_dir / "references.bib"


assert [f.name for f in fields(Settings)] == [o.name for o in OPTIONS], "Settings and OPTIONS disagree"


def _convert(name: str, value: Any, origin: str) -> Any:
    option = _BY_NAME.get(name)
    if option is None:
        known = ", ".join(sorted(_BY_NAME))
        raise SettingsError(f"unknown setting {name!r} in {origin}", hint=f"known settings: {known}")
    try:
        return option.kind(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(
            f"setting {name} = {value!r} from {origin}: {exc}", hint=f"fix {origin}; {name}: {option.help}"
        ) from None


def _checkout_config() -> Path | None:
    """Return the checkout's ``kg.toml`` if there is one this process may see."""
    path = ROOT / "kg.toml"
    try:
        return path if path.exists() else None
    except PermissionError:
        # The documented deployment: one user builds, another only serves and may not even look
        # into the checkout. There is no config of that user's there; $KG_CONFIG names one.
        return None


def load_settings(
    config_file: str | Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Resolve settings: defaults, then a TOML config file, then KG_* variables, then overrides.

    The config file is ``config_file``, else ``$KG_CONFIG``, else ``kg.toml`` in the checkout if
    it exists. Overrides whose value is None are ignored (so CLI options can pass through).
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {option.name: option.default() for option in OPTIONS}

    path = config_file or env.get(CONFIG_ENV) or _checkout_config()
    if path:
        path = Path(path)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist", hint=f"create it or unset {CONFIG_ENV}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"config file {path} is not valid TOML: {exc}", hint="fix the file; see the settings table in README.md"
            ) from None
        table = table.get("kg", table)
        for name, value in table.items():
            values[name] = _convert(name, value, str(path))

    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            name = key[len(ENV_PREFIX) :].lower()
            if name in _BY_NAME:
                values[name] = _convert(name, value, f"environment variable {key}")

    for name, value in overrides.items():
        if value is not None:
            values[name] = _convert(name, value, "command-line option")
    return Settings(**values)
