"""Per-app settings and per-request resources (the read-only graph store), wired by ``init_app``.

The store is opened on first use in a request and cached on the app so later requests reuse it;
when a rebuild swaps the live store, the next request opens the new one. The request's reference
is dropped in teardown.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g

from kg import generations
from kg import store as store_mod
from kg.cache import Cache
from kg.catalog import Catalog
from kg.settings import OPTIONS, Settings, load_settings

EXTENSION = "kg"


@dataclass
class _State:
    settings: Settings
    lock: threading.Lock = field(default_factory=threading.Lock)
    store: store_mod.LiveStore | None = None
    store_path: Path | str | None = None  # kg.store.live_key: the store's folder or the published graph
    answers: tuple | None = None  # (store path, Cache of answers), see cached_answer
    health: tuple | None = None  # (live generation, checked at, generations.Health), see live_health


def _settings_from_config(config: Any) -> Settings:
    # Values from a config mapping or the environment are checked like any other setting
    # (a bad one raises SettingsError naming the setting).
    values = {option.name: config[option.name.upper()] for option in OPTIONS if option.name.upper() in config}
    return load_settings(env={}).with_(**values)


def init_app(app: Flask) -> None:
    """Resolve the app's kg settings once and drop per-request references in teardown."""
    app.extensions[EXTENSION] = _State(settings=_settings_from_config(app.config))
    app.teardown_appcontext(_teardown)


def get_settings(app: Flask | None = None) -> Settings:
    """Return the kg settings of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION].settings


def get_store() -> store_mod.LiveStore:
    """Return the live read-only graph store for this request, opening it on first use."""
    if "kg_store" not in g:
        state: _State = current_app.extensions[EXTENSION]
        path = store_mod.live_key(state.settings)  # GraphError naming `kg build` (or `kg publish`) if missing
        with state.lock:
            if state.store is None or state.store_path != path:
                state.store = store_mod.open_live(state.settings)
                state.store_path = path
            g.kg_store = state.store
    return g.kg_store


def catalog() -> Catalog:
    """Return this request's Catalog over the shared read-only store; what it may be asked again
    (the library, a source) it keeps per live store (cached_answer)."""
    if "kg_catalog" not in g:
        g.kg_catalog = Catalog(get_settings(), get_store(), memo=cached_answer)
    return g.kg_catalog


#: Answers kept per live store (the reference library, source pages): a built store never changes,
#: so an answer holds until a rebuild swaps the store. A most-cited source's page is seconds of
#: Oxigraph joins on a big graph; the cache keeps that to the first view per build. A source's
#: answer is its citations (a few hundred at most), so 256 of them stay within a few tens of MB.
ANSWER_CACHE_SIZE = 256


def cached_answer(kind: str, key: str, compute):
    """Return ``compute()`` for (kind, key), computed once per live store; callers must not mutate it."""
    get_store()  # opens (or reopens after a rebuild) the live store
    state: _State = current_app.extensions[EXTENSION]
    with state.lock:
        if state.answers is None or state.answers[0] != state.store_path:
            state.answers = (state.store_path, Cache(ANSWER_CACHE_SIZE))
        answers = state.answers[1]
    return answers.get((kind, key), compute)


#: Seconds a check of the live build's files is trusted: under load they are looked at once in
#: this long, not per request.
HEALTH_SECONDS = 2.0


def live_health(*, fresh: bool = False) -> generations.Health:
    """Check the live build (kg.generations.verify): in full once per generation, then its files'
    sizes at most once per HEALTH_SECONDS (``fresh`` checks in full again now)."""
    state: _State = current_app.extensions[EXTENSION]
    live = os.path.realpath(state.settings.data_dir / generations.CURRENT)
    now = time.monotonic()
    cached = state.health
    if fresh or cached is None or cached[0] != live:
        health = generations.verify(state.settings)
    elif now - cached[1] < HEALTH_SECONDS or not cached[2].readable:
        return cached[2]
    else:
        health = generations.verify(state.settings, open_components=False, records=False)
    state.health = (live, now, health)
    return health


def seed_health(app: Flask, live: str, health: generations.Health) -> None:
    """Keep ``health``, a full check (kg.generations.verify) made just now of generation ``live``
    (the real path data/current pointed at before the check), as the app's first check: while
    that generation is live, the first request checks only the files' sizes (live_health)."""
    app.extensions[EXTENSION].health = (live, time.monotonic(), health)


def _teardown(exc: BaseException | None) -> None:
    g.pop("kg_catalog", None)
    g.pop("kg_store", None)
