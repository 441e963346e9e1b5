"""Readers of post files, one per format, behind one entry point (``read_file``).

Each reader module has a NAME, the file SUFFIXES it reads, and ``read(path, text)`` returning
a list of Post (a feed or a WordPress export holds a whole blog). The registry picks the
reader from the file's type, so the pipeline never asks which format a post came from:

    .md .markdown      markdown   CommonMark with optional YAML front matter; a file written by
                                  `kg corpus import` (front matter with 'provenance') is read
                                  as the scraped text it holds
    .html .htm         html       a page saved from a browser: the article, its title, author, date
    .rss .atom .xml    feed       an RSS or Atom feed: one post per entry
    .xml (WordPress)   wxr        a WordPress export (WXR): one post per published post
    .txt               dump       a scraped dump of several posts, split as `kg corpus import` does
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from ..errors import CorpusError
from ..model import Post
from . import dump, feed, html, markdown, wxr

READERS: dict[str, ModuleType] = {m.NAME: m for m in (markdown, html, feed, wxr, dump)}
#: File suffix -> reader name; a suffix several readers share is settled by ``sniff``.
BY_SUFFIX: dict[str, str] = {}
for _reader in READERS.values():
    for _suffix in _reader.SUFFIXES:
        BY_SUFFIX.setdefault(_suffix, _reader.NAME)
SUFFIXES = frozenset(BY_SUFFIX)


def reader_for(path: Path, text: str) -> ModuleType:
    """Return the reader of a file, chosen by its suffix and, for XML, by what it holds."""
    suffix = Path(path).suffix.lower()
    if suffix not in BY_SUFFIX:
        raise CorpusError(
            f"{path}: kg cannot read {suffix or 'files without a suffix'} files",
            hint="posts are .md, .html, .rss, .atom, .xml (RSS, Atom, WordPress export) or .txt",
        )
    if suffix in wxr.SUFFIXES and wxr.sniff(text):
        return wxr
    return READERS[BY_SUFFIX[suffix]]


def decode(path: Path, raw: bytes) -> str:
    """Decode a post file as UTF-8; raise CorpusError naming the fix."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8, e.g. `iconv -f latin1 -t UTF-8`"
        ) from None
    if "\x00" in text:
        raise CorpusError(f"{path}: binary file (contains NUL bytes)", hint="remove it from corpus/posts")
    return text


def read_text(path: Path) -> str:
    """Return a post file's text; raise CorpusError naming the fix if it cannot be read as UTF-8."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror}", hint="check the file's permissions") from None
    return decode(path, raw)


def read_file(path: Path) -> list[Post]:
    """Read one post file with the reader its type calls for; raise CorpusError for a bad file."""
    text = read_text(path)
    return reader_for(path, text).read(Path(path), text)
