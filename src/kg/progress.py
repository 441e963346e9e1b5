"""Progress reporting for long steps: a step wraps its loop in ``progress(items, label, total)``.

The library stays silent by default; the CLI passes a function that draws a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

#: ``progress(items, label, total) -> items``: yields the items, reporting as they are consumed.
Progress = Callable[[Iterable[T], str, int | None], Iterable[T]]


def no_progress(items: Iterable[T], label: str = "", total: int | None = None) -> Iterable[T]:
    """Yield the items and report nothing."""
    return items
