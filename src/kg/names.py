"""Personal and corporate names of the reference library, split the way BibTeX splits them.

A BibTeX name list is split with bibtexparser 2's own splitter (``and`` outside braces), each
person into first/von/last/jr with its ``parse_single_name_into_parts``, and LaTeX is decoded
with pylatexenc. A name wrapped whole in braces (``{Department of Health}``) is a corporate
author and stays one name. Citations are then matched surname by surname (kg.citations).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text

__all__ = ["Name", "decode", "fold_surname", "split_persons"]

_LATEX = LatexNodes2Text(math_mode="verbatim", keep_braced_groups=False)


@dataclass(frozen=True)
class Name:
    """One person or organisation of a name list."""

    text: str  # as plain text: "Catherine Needham", "Department of Health"
    last: str  # the surname with its von part ("de la Fontaine"), or the whole corporate name
    corporate: bool = False


@lru_cache(maxsize=4096)
def decode(value: str) -> str:
    """Return a BibTeX value as plain Unicode text: ``{\\"u}`` -> ``ü``, braces dropped."""
    if "\\" not in value and "{" not in value and "~" not in value:
        return " ".join(value.split())
    try:
        return " ".join(_LATEX.latex_to_text(value).split())
    except Exception:  # pylatexenc raises bare errors on unbalanced input; keep the text
        return " ".join(value.replace("{", "").replace("}", "").split())


def _whole_braced(name: str) -> bool:
    if not (name.startswith("{") and name.endswith("}")):
        return False
    depth = 0
    for i, char in enumerate(name):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and i < len(name) - 1:
            return False
    return True


@lru_cache(maxsize=4096)
def split_persons(value: str) -> tuple[Name, ...]:
    """Split a BibTeX author/editor field into its names, in order."""
    names: list[Name] = []
    for raw in split_multiple_persons_names(value or ""):
        raw = raw.strip()
        if not raw or raw.casefold() == "others":
            continue
        if _whole_braced(raw):
            text = decode(raw[1:-1])
            names.append(Name(text, text, corporate=True))
            continue
        try:
            parts = parse_single_name_into_parts(raw)
        except InvalidNameError:
            text = decode(raw)
            names.append(Name(text, text.split()[-1] if text.split() else text))
            continue
        last = decode(" ".join([*parts.von, *parts.last]))
        text = decode(" ".join([*parts.first, *parts.von, *parts.last, *parts.jr]))
        names.append(Name(text, last))
    return tuple(names)


def fold_surname(name: str) -> str:
    """Return the matching form of a surname: case, accents, apostrophes and hyphens folded."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^\w]+", "", text.replace("’", "").replace("'", ""))
