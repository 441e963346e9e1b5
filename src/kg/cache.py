"""The one cache kg keeps: a thread-safe least-recently-used map (cachetools.LRUCache under a lock).

Every cache of the read side is one of these, bounded by entries or, given ``getsizeof``, by an
estimate of the bytes its values hold: the search's analysed words, compiled queries and posting
lists, and the web's answers per live store. A value is computed outside the lock, so a slow
computation never holds up readers of other keys; two threads that miss the same key at once may
both compute it, and the first value stored is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


class Cache(Generic[K, V]):
    """A least-recently-used map of at most ``maxsize`` entries (or size units, with ``getsizeof``)."""

    def __init__(self, maxsize: int, getsizeof: Callable[[V], int] | None = None):
        self._data: cachetools.LRUCache = cachetools.LRUCache(maxsize, getsizeof=getsizeof)
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V], *, keep: bool = True) -> V:
        """Return the value kept for ``key``, or ``compute()`` (kept unless ``keep`` is false)."""
        with self._lock:
            found = self._data.get(key, _MISSING)  # a hit becomes the most recently used
        if found is not _MISSING:
            return found
        value = compute()
        if keep:
            with self._lock:
                found = self._data.get(key, _MISSING)
                if found is not _MISSING:
                    return found
                try:
                    self._data[key] = value
                except ValueError:  # one value larger than the whole budget: used, not kept
                    pass
        return value

    @property
    def size(self) -> int:
        """What the entries hold, in the units of ``getsizeof`` (entries without it)."""
        with self._lock:
            return int(self._data.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
