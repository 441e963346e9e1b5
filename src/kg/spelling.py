"""How kg spells a word: the one British-spelling rule that concept tagging, indexing and search share.

Tagging and search once folded -ize words with two rules that disagreed ("organizational" folded for
search but not for tagging), so a concept label written one way missed a claim written the other.
Every caller now asks `uk_spelling`.
"""

from __future__ import annotations

import re
from functools import lru_cache

# American -ize/-yze spellings map to the British forms the field writes (one term for
# "personalization" and "personalisation"); words that end in -ize in both spellings are kept.
_IZE = re.compile(r"(?<=\w\w)(i|y)z(e|es|ed|ing|er|ers|ation|ations|ational|ationally)$")
_IZE_KEEP = frozenset(
    {
        "size",
        "sizes",
        "sized",
        "sizing",
        "prize",
        "prizes",
        "seize",
        "seizes",
        "seized",
        "seizing",
        "maize",
        "capsize",
        "downsize",
        "downsized",
        "downsizing",
        "oversize",
        "oversized",
        "resize",
        "resized",
        "citizen",
        "citizens",
        "bronze",
        "baize",
        "assize",
        "assizes",
        "outsize",
    }
)
# Word endings whose American spelling differs other than by -ize; an ending, so that a compound
# written solid ("personcentered", the joined form of "person-centered") folds as its parts do.
_US_TO_UK = {
    "behavior": "behaviour",
    "behaviors": "behaviours",
    "behavioral": "behavioural",
    "favor": "favour",
    "favorable": "favourable",
    "labor": "labour",
    "center": "centre",
    "centers": "centres",
    "centered": "centred",
    "program": "programme",
    "programs": "programmes",
    "pediatric": "paediatric",
    "counseling": "counselling",
    "modeling": "modelling",
    "enroll": "enrol",
    "fulfill": "fulfil",
    "judgment": "judgement",
    "color": "colour",
}
_US_ENDING = re.compile("(" + "|".join(sorted(_US_TO_UK, key=len, reverse=True)) + ")$")


@lru_cache(maxsize=1 << 16)
def uk_spelling(word: str) -> str:
    """Return the British spelling of a lower-case word (``personalization`` -> ``personalisation``)."""
    ending = _US_ENDING.search(word)
    if ending:
        return word[: ending.start()] + _US_TO_UK[ending.group(1)]
    if "z" in word and word not in _IZE_KEEP:
        return _IZE.sub(lambda m: m.group(1) + "s" + m.group(2), word)
    return word
