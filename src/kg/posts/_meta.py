"""Author, date and URL as every reader records them, whatever form the source gives."""

from __future__ import annotations

import datetime as _dt
import re
import time

from ..errors import CorpusError

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def author(value: object, where: str = "", field: str = "author") -> str | None:
    """Return an author as one string ("A and B" for several); raise on a value that is no name."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return " ".join(value.split()) or None
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = [" ".join(v.split()) for v in value if v.strip()]
        if not names:
            return None
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    raise CorpusError(
        f"{where}'{field}' must be a name or a list of names, not {type(value).__name__}",
        hint=f"write '{field}: Anna Smith' or '{field}: [Anna Smith, Raj Patel]'",
    )


def date(value: object, where: str = "", field: str = "date") -> str | None:
    """Return a publication date as ISO 8601 (YYYY-MM-DD); raise on one that cannot be read."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, time.struct_time):
        return _dt.date(value.tm_year, value.tm_mon, value.tm_mday).isoformat()
    if isinstance(value, str):
        m = _ISO.search(value)
        if m:
            try:
                return _dt.date(*map(int, m.groups())).isoformat()
            except ValueError:
                pass
        try:
            from email.utils import parsedate_to_datetime

            return parsedate_to_datetime(value).date().isoformat()
        except (TypeError, ValueError, IndexError):
            pass
    raise CorpusError(
        f"{where}'{field}' {str(value)[:40]!r} is not a date", hint=f"write '{field}: 2019-03-14', year-month-day"
    )


def url(value: object, where: str = "", field: str = "url") -> str | None:
    """Return a web address; raise on one that is not http(s)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"https?://\S+", value.strip()):
        return value.strip()
    raise CorpusError(
        f"{where}'{field}' {str(value)[:60]!r} is not a web address",
        hint=f"write '{field}: https://...' or drop the key",
    )


def whole_file(path: str, text: str):
    """The provenance of a post that is a whole file: its name and every line."""
    from pathlib import Path

    from ..model import Provenance

    return (Provenance(Path(path).name, 1, max(1, text.count("\n") + (0 if text.endswith("\n") else 1))),)


def element_lines(text: str, tags: tuple[str, ...]) -> list[tuple[int, int]]:
    """The 1-based first and last line of each element with one of these tags, in file order."""
    names = "|".join(re.escape(t) for t in tags)
    spans = []
    for m in re.finditer(rf"<(?:{names})[\s>]", text):
        close = re.compile(rf"</(?:{names})\s*>").search(text, m.end())
        end = close.end() if close else len(text)
        spans.append((text.count("\n", 0, m.start()) + 1, text.count("\n", 0, end) + 1))
    return spans


def provenance_of(path: str, span: tuple[int, int] | None, text: str):
    """The provenance of a post that is one element of a file (the whole file if it is not found)."""
    from pathlib import Path

    from ..model import Provenance

    if span is None:
        return whole_file(path, text)
    return (Provenance(Path(path).name, span[0], span[1]),)
