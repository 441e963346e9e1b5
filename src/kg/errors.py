"""One error base for kg and a subclass per step; every message names the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KGError(Exception):
    """Base of every error kg raises on purpose: the message says what is wrong and the fix."""

    status = 400  # the HTTP status the web app answers with

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SettingsError(KGError):
    """A setting has a bad value or a config file cannot be read."""


class CorpusError(KGError):
    """A dump or a post file cannot be read or split."""


class ClaimsError(KGError):
    """A post cannot be chunked into claims."""


class ReferencesError(KGError):
    """The reference library or a .bib file is malformed, or a merge conflicts."""


class NotFound(KGError):
    """Something asked for by id, key or name does not exist."""

    status = 404

    def __init__(self, message: str, *, hint: str | None = None, suggestions: list[str] | None = None):
        super().__init__(message, hint=hint)
        self.suggestions = list(suggestions or [])


class ConceptError(KGError):
    """The concept scheme is malformed."""


class GraphError(KGError):
    """The RDF store cannot be built or opened."""

    status = 500


class SparqlError(KGError):
    """A SPARQL query is malformed."""


class QueryRefused(SparqlError):
    """A SPARQL query asks for something a read-only endpoint refuses (Update, LOAD, SERVICE)."""

    status = 403


class QueryTimeout(SparqlError):
    """A SPARQL query ran past its time limit and was stopped."""

    status = 503


class SearchError(KGError):
    """The search index is missing or a search cannot be run."""


class BuildError(KGError):
    """The build cannot run at all (as opposed to one item failing)."""

    status = 500


class DamagedBuild(BuildError):
    """The live build in the data directory is damaged (a file truncated, missing or unreadable)."""

    status = 503


def closest(name: str, candidates: Iterable[str], n: int = 5, cutoff: float = 0.5) -> list[str]:
    """Return the candidates most like ``name``, for a "did you mean" hint.

    Close spellings first (difflib's ratio at least ``cutoff``); when none is close, the
    candidates that contain ``name`` ignoring case. The one suggestion rule every NotFound uses.
    """
    pool = list(candidates)
    close = difflib.get_close_matches(name, pool, n=n, cutoff=cutoff)
    if not close:
        lowered = name.lower()
        close = [c for c in pool if lowered and lowered in c.lower()][:n]
    return close


class PastLastPage(NotFound):
    """A page past the last page of a list (of claims, unless ``noun`` names another thing); ``last`` is the
    last page (1 when the list is empty)."""

    def __init__(self, page: int, pages: int, total: int, limit: int, noun: str = "claim"):
        self.page, self.pages, self.total, self.limit = page, pages, total, limit
        self.last = max(pages, 1)
        found = f"{total} {noun}{'s' if total != 1 else ''} found, {limit} a page"
        super().__init__(
            f"page {page} is past the last page of results, page {self.last} ({found})",
            hint=f"ask for page {self.last} or an earlier one",
        )
