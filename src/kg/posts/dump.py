"""Read a scraped dump (.txt) placed among the posts: split it as `kg corpus import` does."""

from __future__ import annotations

from pathlib import Path

from .. import corpus
from ..errors import CorpusError
from ..model import Post

NAME = "dump"
SUFFIXES = (".txt",)
OVERRIDES = "split-overrides.yaml"


def read(path: Path, text: str) -> list[Post]:
    """Split a dump into posts; the reviewed split overrides beside it (or one folder up) apply."""
    overrides = next((p for p in (path.parent / OVERRIDES, path.parent.parent / OVERRIDES) if p.exists()), None)
    result = corpus.import_dumps([path], corpus.load_overrides(overrides))
    if result.failures:
        raise CorpusError(
            result.failures[0].message, hint="or run `kg corpus import` on it and review the posts it writes"
        )
    for post in result.posts:
        post.path = str(path)
    return result.posts
