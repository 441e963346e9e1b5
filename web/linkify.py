"""Turn graph IRIs into links: IRIs under the base IRI open this app's own pages."""

from __future__ import annotations

from flask import request

from .resources import get_settings


def local_href(iri: str) -> str | None:
    """Return where a link to ``iri`` should go: this app for our resources, else the IRI if http(s)."""
    base = get_settings().base_iri
    if iri.startswith(base):
        return f"{request.script_root}/{iri[len(base) :]}"
    if iri.startswith(("http://", "https://")):
        return iri
    return None  # never link javascript:, data: or other schemes a query could produce
