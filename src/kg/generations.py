"""Make a build's store and index live together, in one atomic step.

The data directory holds versions of each component (``store.<stamp>/``, ``index-v<ns>/``) and
generations that pair them: ``builds/<stamp>/store`` and ``builds/<stamp>/index`` are relative
symlinks to component versions, and ``current`` is a symlink to the live generation. Readers
open ``current/store`` and ``current/index``; a build writes new versions beside the live ones
and then replaces ``current`` with one ``os.replace``, so a reader sees the old pair or the new
pair, never a mix, and a build killed at any moment leaves the previous pair live.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .settings import Settings

CURRENT = "current"
BUILDS = "builds"
COMPONENTS = ("store", "index")
#: Folder-name prefixes of component versions, by component.
VERSION_PREFIXES = {"store": "store.", "index": "index-v"}


def live_components(settings: Settings) -> dict[str, Path]:
    """Return the component versions the live generation points at (absent ones left out)."""
    current = settings.data_dir / CURRENT
    found = {}
    for name in COMPONENTS:
        link = current / name
        if link.exists():
            found[name] = Path(os.path.realpath(link))
    return found


def publish(settings: Settings, **versions: Path) -> Path:
    """Make the given component versions live together; other components keep their live version.

    Returns the new generation folder. Generations older than the previous one, and component
    versions no kept generation uses, are removed: a reader that opened the previous pair may
    still be reading it, anything older has no reader the protocol promises to serve.
    """
    unknown = set(versions) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown components {sorted(unknown)}")
    data = settings.data_dir
    merged = {**live_components(settings), **{k: Path(v).resolve() for k, v in versions.items()}}
    builds = data / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    generation = builds / f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    generation.mkdir()
    for name, path in merged.items():
        (generation / name).symlink_to(os.path.relpath(path, generation))
    link = data / f".{CURRENT}-link-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(os.path.relpath(generation, data))
    os.replace(link, data / CURRENT)  # the one atomic step
    prune(settings)
    return generation


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
    if live is None or not builds.is_dir():
        return
    older = sorted((g.resolve() for g in builds.iterdir() if g.name < live.name), key=lambda g: g.name)
    keep = {live, *(older[-1:])}
    used: set[Path] = set()
    for generation in keep:
        for name in COMPONENTS:
            link = generation / name
            if link.is_symlink():
                used.add(Path(os.path.realpath(link)))
    for generation in builds.iterdir():
        if generation.resolve() not in keep:
            shutil.rmtree(generation, ignore_errors=True)
    for prefix in VERSION_PREFIXES.values():
        for version in data.glob(f"{prefix}*"):
            if version.is_dir() and version.resolve() not in used:
                shutil.rmtree(version, ignore_errors=True)
