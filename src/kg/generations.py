"""Make a build's store and index live together, in one atomic step.

The data directory holds versions of each component (``store.<stamp>/``, ``index-v<ns>/``) and
generations that pair them: ``builds/<stamp>/store`` and ``builds/<stamp>/index`` are relative
symlinks to component versions, and ``current`` is a symlink to the live generation. Readers
open ``current/store`` and ``current/index``; a build writes new versions beside the live ones
and then replaces ``current`` with one ``os.replace``, so a reader sees the old pair or the new
pair, never a mix, and a build killed at any moment leaves the previous pair live.

A generation also holds what describes it, written before the switch: the build's manifest
(``manifest.json``, what the build derived from which post) and ``generation.json`` (the size of
every file of its components). So the live description is always the live generation's own, and
``verify`` can tell a damaged generation (a truncated or missing file, junk JSON, a store or index
that no longer opens, counts that disagree) from a sound one without reading every byte.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DamagedBuild
from .files import atomic_write
from .settings import Settings

CURRENT = "current"
BUILDS = "builds"
COMPONENTS = ("store", "index")
#: Folder-name prefixes of component versions, by component.
VERSION_PREFIXES = {"store": "store.", "index": "index-v"}
#: The build's manifest and the generation's own record of its files, inside each generation.
MANIFEST = "manifest.json"
RECORD = "generation.json"
#: Files a reader or RocksDB may create or grow after the build (logs, locks, the empty WAL):
#: not part of what the build wrote.
_UNRECORDED = ("LOG", "LOCK", "MAIN_WRITELOCK")


def umask() -> int:
    """Return the process's umask without changing it (Linux reports it; elsewhere set and restore)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share(path: Path, mask: int | None = None) -> None:
    """Give a folder the mode the umask allows (mkdtemp makes 0700: a read-only service user
    could not read an index), and its files likewise (mkstemp makes 0600)."""
    mask = umask() if mask is None else mask
    for folder, _dirs, files in os.walk(path):
        os.chmod(folder, 0o777 & ~mask)
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                os.chmod(file, 0o666 & ~mask)


def _write_json(path: Path, value: Any) -> None:
    """Write JSON through a temporary file, fsync and rename; the mode follows the umask."""
    # No indent: with one, json.dumps falls back to its pure-Python encoder (much slower on a
    # large manifest).
    atomic_write(path, json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_sizes(version: Path) -> dict[str, int]:
    return {
        p.name: p.stat().st_size
        for p in sorted(version.iterdir())
        if p.is_file() and not p.name.startswith(_UNRECORDED) and not p.name.endswith(".log")
    }


def live_components(settings: Settings) -> dict[str, Path]:
    """Return the component versions the live generation points at (absent ones left out)."""
    current = settings.data_dir / CURRENT
    found = {}
    for name in COMPONENTS:
        link = current / name
        if link.exists():
            found[name] = Path(os.path.realpath(link))
    return found


def publish(settings: Settings, manifest: dict | None = None, **versions: Path) -> Path:
    """Make the given component versions live together; other components keep their live version.

    ``manifest`` (the build's description of what it built) is written into the new generation
    before it goes live, with the record of its files; without one the generation has none and
    the next `kg build` builds in full. Returns the new generation folder. Generations older than
    the previous one, and component versions no kept generation uses, are removed: a reader that
    opened the previous pair may still be reading it, anything older has no reader the protocol
    promises to serve.
    """
    unknown = set(versions) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown components {sorted(unknown)}")
    data = settings.data_dir
    merged = {**live_components(settings), **{k: Path(v).resolve() for k, v in versions.items()}}
    builds = data / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    # One clock reading for the whole name: read twice, a second could roll over between the
    # two and name a later generation before an earlier one (prune keeps by name order).
    now = time.time_ns()
    generation = builds / f"{time.strftime('%Y%m%dT%H%M%S', time.localtime(now // 10**9))}-{now % 10**9:09d}"
    generation.mkdir()
    mask = umask()
    for name, path in merged.items():
        if name in versions:
            share(path, mask)
        (generation / name).symlink_to(os.path.relpath(path, generation))
    _write_json(
        generation / RECORD,
        {"components": {name: {"version": path.name, "files": _file_sizes(path)} for name, path in merged.items()}},
    )
    if manifest is not None:
        _write_json(generation / MANIFEST, manifest)
    _fsync_dir(generation)
    link = data / f".{CURRENT}-link-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(generation, data))
    os.replace(link, data / CURRENT)  # the one atomic step
    _fsync_dir(data)
    prune(settings)
    return generation


def read_manifest(settings: Settings) -> Any:
    """Return the live generation's manifest as parsed JSON, or None if it has none or it is unreadable."""
    try:
        return json.loads((settings.data_dir / CURRENT / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _live_generation(data: Path) -> Path | None:
    current = data / CURRENT
    return Path(os.path.realpath(current)) if current.is_symlink() else None


def prune(settings: Settings) -> None:
    """Keep the live generation and the one before it (by name, i.e. time); remove the rest.

    Also removes component versions no kept generation uses: unfinished or unpublished ones a
    killed build left, and those of generations gone.
    """
    data = settings.data_dir
    live = _live_generation(data)
    builds = data / BUILDS
    if live is None or not live.is_dir():
        keep: set[Path] = set()  # nothing live: every version is a failed or killed build's
    else:
        older = sorted((g.resolve() for g in builds.iterdir() if g.name < live.name), key=lambda g: g.name)
        keep = {live, *(older[-1:])}
    used: set[Path] = set()
    for generation in keep:
        for name in COMPONENTS:
            link = generation / name
            if link.is_symlink():
                used.add(Path(os.path.realpath(link)))
    for generation in builds.iterdir() if builds.is_dir() else ():
        if generation.resolve() not in keep:
            shutil.rmtree(generation, ignore_errors=True)
    for prefix in VERSION_PREFIXES.values():
        for version in data.glob(f"{prefix}*"):
            if version.is_dir() and version.resolve() not in used:
                shutil.rmtree(version, ignore_errors=True)


# --- verifying the live generation -----------------------------------------------------------


@dataclass
class Health:
    """What ``verify`` found wrong with the live generation, by part: generation, manifest, store, index."""

    built: bool
    problems: dict[str, list[str]] = field(default_factory=dict)
    manifest: dict | None = None  # the live manifest, if it is readable and of the expected shape

    def add(self, part: str, message: str) -> None:
        self.problems.setdefault(part, []).append(message)

    @property
    def readable(self) -> bool:
        """True when the store and the index are sound: readers can serve this generation."""
        return self.built and not any(self.problems.get(part) for part in ("generation", "store", "index"))

    @property
    def sound(self) -> bool:
        """True when nothing is wrong, the manifest included: a build may start from it."""
        return self.built and not any(self.problems.values())

    def describe(self) -> str:
        return "; ".join(f"{part}: {message}" for part, messages in self.problems.items() for message in messages)

    def error(self, data_dir: Path) -> DamagedBuild:
        return DamagedBuild(
            f"the build in {data_dir} is damaged ({self.describe()})", hint="rebuild it with `kg build --full`"
        )


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError) as exc:
        return None, f"not readable JSON: {exc}"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def manifest_problems(manifest: Any) -> list[str]:
    """Say what is wrong with the shape of a manifest every build writes (empty: nothing)."""
    if not isinstance(manifest, dict):
        return [f"{MANIFEST} holds {type(manifest).__name__}, not an object"]
    wanted = {"format": int, "inputs": str, "dumps": list, "posts": dict, "counts": dict}
    problems = [
        f"{MANIFEST}: {key!r} is {type(manifest.get(key)).__name__}, not {kind.__name__}"
        for key, kind in wanted.items()
        if not isinstance(manifest.get(key), kind)
    ]
    if problems:
        return problems
    if not all(isinstance(name, str) and _is_count(n) for name, n in manifest["counts"].items()):
        problems.append(f"{MANIFEST}: 'counts' holds something other than whole numbers")
    if not all(isinstance(d, str) for d in manifest["dumps"]):
        problems.append(f"{MANIFEST}: 'dumps' holds something other than names")
    if not all(_post_record_ok(r) for r in manifest["posts"].values()):
        problems.append(f"{MANIFEST}: a post's record lacks the fields a build reads")
    return problems


def _post_record_ok(record: Any) -> bool:
    """A post's record as kg.build writes it: its digest, counts, kind, cited keys, failures."""
    return (
        isinstance(record, dict)
        and isinstance(record.get("digest"), str)
        and all(
            _is_count(record.get(name)) for name in ("claims", "questions", "citations", "resolved", "tagged_claims")
        )
        and isinstance(record.get("kind"), str)
        and isinstance(record.get("cited"), list)
        and all(isinstance(k, str) for k in record["cited"])
        and isinstance(record.get("failures"), list)
        and all(
            isinstance(f, dict)
            and set(f) == {"step", "item", "message"}
            and all(isinstance(v, str) for v in f.values())
            for f in record["failures"]
        )
    )


def verify(settings: Settings, *, open_components: bool = True, records: bool = True) -> Health:
    """Check the live generation without reading every byte: its files are the size the build
    wrote, its JSON records parse (unless ``records`` is False), its store and index open (unless
    ``open_components`` is False) and their counts agree with each other and with the manifest.
    """
    from . import graph as graph_mod  # graph imports this module
    from . import index as index_mod

    data = settings.data_dir
    current = data / CURRENT
    if not current.is_symlink() and not current.exists():
        return Health(built=False)
    health = Health(built=True)
    generation = _live_generation(data)
    if generation is None or not generation.is_dir():
        health.add("generation", f"{CURRENT} does not point at a generation folder")
        return health
    record, error = _read_json(generation / RECORD)
    components: dict = {}
    if error is None:
        found = record.get("components") if isinstance(record, dict) else None
        if not isinstance(found, dict) or not all(
            isinstance(c, dict) and isinstance(c.get("files"), dict) for c in found.values()
        ):
            health.add("generation", f"{RECORD} is not a record of component files")
        else:
            components = found
    elif error != "missing":  # generations published before the record existed have none
        health.add("generation", f"{RECORD} is {error}")

    paths: dict[str, Path] = {}
    for name in COMPONENTS:
        link = generation / name
        if not link.exists():
            health.add(name, f"the live generation has no {name} (its link is missing or broken)")
            continue
        paths[name] = path = Path(os.path.realpath(link))
        for file, size in components.get(name, {}).get("files", {}).items():
            try:
                actual = (path / file).stat().st_size
            except OSError:
                health.add(name, f"{path.name}/{file} is missing")
                continue
            if actual != size:
                health.add(name, f"{path.name}/{file} is {actual:,} bytes; the build wrote {size:,}")

    if not records:
        return health
    manifest, error = _read_json(generation / MANIFEST)
    if error is None:
        problems = manifest_problems(manifest)
        for problem in problems:
            health.add("manifest", problem)
        health.manifest = None if problems else manifest
    elif error != "missing":
        health.add("manifest", f"{MANIFEST} is {error}")
    counts = health.manifest["counts"] if health.manifest else {}

    if "store" in paths and not health.problems.get("store"):
        path = paths["store"]
        info, error = _read_json(path / graph_mod.BUILD_INFO)
        if error is not None or not isinstance(info, dict) or not _is_count(info.get("triples")):
            health.add("store", f"{path.name}/{graph_mod.BUILD_INFO} is {error or 'not a build record'}")
        else:
            if "triples" in counts and counts["triples"] != info["triples"]:
                health.add(
                    "store",
                    f"{path.name} holds {info['triples']:,} triples by its record; "
                    f"the manifest says {counts['triples']:,}",
                )
            if open_components and settings.store == "embedded":  # else readers never open it (kg.store)
                _try_open_store(path, health)

    if "index" in paths and not health.problems.get("index"):
        path = paths["index"]
        meta, error = _read_json(path / index_mod.META_FILE)
        if error is not None or not isinstance(meta, dict) or not _is_count(meta.get("documents")):
            health.add("index", f"{path.name}/{index_mod.META_FILE} is {error or 'not an index record'}")
        elif meta.get("schema_version") != index_mod.SCHEMA_VERSION:
            health.add(
                "index",
                f"{path.name} was written by another version of kg (index schema "
                f"{meta.get('schema_version')!r}, not {index_mod.SCHEMA_VERSION})",
            )
        else:
            if "indexed" in counts and counts["indexed"] != meta["documents"]:
                health.add(
                    "index",
                    f"{path.name} holds {meta['documents']:,} claims by its record; "
                    f"the manifest says {counts['indexed']:,}",
                )
            if open_components:
                _try_open_index(path, meta["documents"], health)
    return health


def _try_open_store(path: Path, health: Health) -> None:
    import pyoxigraph as ox

    try:
        store = ox.Store.read_only(str(path))
        del store
    except Exception as exc:
        health.add("store", f"{path.name} cannot be opened: {_relative(str(exc), path)}")
    finally:
        release()  # pyoxigraph has no close(): the store's files close when it is collected


def _try_open_index(path: Path, documents: int, health: Health) -> None:
    from whoosh.filedb.filestore import FileStorage

    with warnings.catch_warnings():
        # Whoosh leaves open the segment file it cannot read; it closes (warning) as the failure goes.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            ix = FileStorage(str(path), supports_mmap=False).open_index()
            try:
                found = ix.doc_count()
            finally:
                ix.close()
        except Exception as exc:
            health.add("index", f"{path.name} cannot be opened: {type(exc).__name__}: {_relative(str(exc), path)}")
            found = None
        gc.collect()  # out of the except block: the failure's frames, and the file they hold, are garbage
    if found is None:
        return
    if found != documents:
        health.add("index", f"{path.name} holds {found:,} claims; its record says {documents:,}")


def release() -> None:
    """Collect what failed reads left: Whoosh leaves a segment file open when it cannot read it,
    and warns (ResourceWarning) as it is closed on collection."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _relative(message: str, version: Path) -> str:
    """Name a component's files by its folder, not by the absolute path RocksDB reports."""
    return message.replace(str(version.parent) + os.sep, "")


def check_readable(settings: Settings) -> Health:
    """Return the live generation's health, raising DamagedBuild if readers cannot serve it."""
    health = verify(settings)
    if health.built and not health.readable:
        raise health.error(settings.data_dir)
    return health


def damage(settings: Settings) -> DamagedBuild | None:
    """Return the error to report if the live generation is damaged (readers call this when
    reading it failed, to tell a damaged build from any other failure), else None."""
    try:
        health = verify(settings)
    except Exception:
        return None
    return health.error(settings.data_dir) if health.built and not health.readable else None
