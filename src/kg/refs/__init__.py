"""Readers of reference files, one module per format, behind one entry point.

``bibtex`` (.bib), ``csl`` (CSL-JSON: Zotero's and Mendeley's export), ``ris`` (Zotero, Mendeley,
EndNote) and ``reflist`` (a pasted reference list, .txt, and a post's own list) each return the
same model objects. The
registry maps a format's names and file extensions to its reader; ``read_file`` picks one from
the extension, else from the content. Submodules are imported when first used, so the corpus
step can import ``kg.refs.detect`` without the readers' libraries.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReferencesError
from ..model import Failure, Reference

__all__ = ["FORMATS", "Parsed", "detect_format", "library_with_post_references", "read_file", "read_text"]


@dataclass
class Parsed:
    """What a reader made of a file: entries in file order, what it could not convert, notes."""

    references: list[Reference] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # entries not imported, with the fix
    notes: list[str] = field(default_factory=list)  # imported, but something was left out
    minted: set[int] = field(default_factory=set)  # indexes of entries whose key kg made up


#: Format name -> the module that reads it (each has ``read(text, source) -> Parsed``).
FORMATS = {"bibtex": "bibtex", "csl-json": "csl", "ris": "ris", "reflist": "reflist"}
#: Every name and extension a user may give, -> format name.
ALIASES = {
    "bibtex": "bibtex",
    "bib": "bibtex",
    "biblatex": "bibtex",
    "csl-json": "csl-json",
    "csl": "csl-json",
    "json": "csl-json",
    "csljson": "csl-json",
    "ris": "ris",
    "endnote": "ris",
    "reflist": "reflist",
    "text": "reflist",
    "txt": "reflist",
    "harvard": "reflist",
}
_EXTENSIONS = {
    ".bib": "bibtex",
    ".bibtex": "bibtex",
    ".json": "csl-json",
    ".csljson": "csl-json",
    ".ris": "ris",
    ".txt": "reflist",
}
_RIS_TAG = re.compile(r"^TY  - ", re.MULTILINE)
_BIB_ENTRY = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.MULTILINE)


def detect_format(path: str | Path, text: str, format: str | None = None) -> str:
    """Return the format of a reference file: as named, else by extension, else by content."""
    if format:
        name = ALIASES.get(format.strip().lower())
        if name is None:
            raise ReferencesError(
                f"unknown reference format {format!r}", hint="use one of " + ", ".join(sorted(FORMATS))
            )
        return name
    by_extension = _EXTENSIONS.get(Path(path).suffix.lower())
    if by_extension:
        return by_extension
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "[{":
        return "csl-json"
    if _RIS_TAG.search(text):
        return "ris"
    if _BIB_ENTRY.search(text):
        return "bibtex"
    from .detect import is_bibliography_body

    if is_bibliography_body(text):
        return "reflist"
    raise ReferencesError(
        f"{path}: cannot tell which reference format this is",
        hint="name the file .bib, .json (CSL-JSON), .ris or .txt (a pasted "
        "reference list), or pass --format bibtex|csl-json|ris|reflist",
    )


def read_text(text: str, source: str, format: str) -> Parsed:
    """Read reference text in a named format (see FORMATS)."""
    module = importlib.import_module(f"{__name__}.{FORMATS[format]}")
    return module.read(text, source)


def read_file(path: str | Path, format: str | None = None) -> tuple[str, Parsed]:
    """Read a reference file in any known format; return the format and what was read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReferencesError(f"{path} does not exist", hint="check the path") from None
    except UnicodeDecodeError as exc:
        raise ReferencesError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="export it again as UTF-8 (Zotero and EndNote offer it), or convert it, e.g. iconv -f latin1 -t utf-8",
        ) from None
    kind = detect_format(path, text, format)
    return kind, read_text(text, str(path), kind)


def library_with_post_references(library, posts):
    """Return the library with every post's own reference list merged in, and the problems found.

    See ``kg.refs.postrefs``; curated entries are never overwritten.
    """
    from .postrefs import library_with_post_references as merge_posts

    return merge_posts(library, posts)
