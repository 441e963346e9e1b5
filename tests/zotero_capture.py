"""Zotero's Embedded Metadata translator, as far as kg's source pages need it (test helper).

The Zotero Connector saves a page through this translator: it reads the page's
``<meta name="citation_*">`` tags (Highwire Press tags) and maps them to a Zotero item. The
mapping is here once: ``item_from_tags`` takes the (name, content) pairs however they were read,
``zotero_item`` reads them from a page's HTML (tests/test_web_pages.py) and the browser test
reads them from the live DOM, as the translator does (tests/test_browser_layout.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from html.parser import HTMLParser

#: The tag whose presence sets the item type (the last one found wins, as in the translator).
TYPES = {
    "citation_journal_title": "journalArticle",
    "citation_technical_report_institution": "report",
    "citation_conference_title": "conferencePaper",
    "citation_book_title": "bookSection",
    "citation_dissertation_institution": "thesis",
}
#: The translator's HIGHWIRE_MAPPINGS: tag -> Zotero field.
FIELDS = {
    "citation_title": "title",
    "citation_publication_date": "date",
    "citation_journal_title": "publicationTitle",
    "citation_book_title": "bookTitle",
    "citation_conference_title": "conferenceName",
    "citation_dissertation_institution": "university",
    "citation_technical_report_institution": "institution",
    "citation_technical_report_number": "number",
    "citation_publisher": "publisher",
    "citation_doi": "DOI",
    "citation_isbn": "ISBN",
    "citation_public_url": "url",
    "citation_volume": "volume",
    "citation_issue": "issue",
}

#: Read a page's citation tags in the browser, as the translator walks the document's <meta>s.
DOM_TAGS = """() => [...document.querySelectorAll('meta[name]')]
  .filter(m => m.name.startsWith('citation_') && m.content)
  .map(m => [m.name, m.content])"""


def item_from_tags(tags: Iterable[tuple[str, str]]) -> dict:
    """Map citation tags to a Zotero item as the Embedded Metadata translator does: the item type
    from the last type-bearing tag (else journalArticle for a bare title), its HIGHWIRE_MAPPINGS
    fields, and each citation_author split at a comma into last, first."""
    item: dict = {"itemType": None, "creators": []}
    for name, content in tags:
        item["itemType"] = TYPES.get(name, item["itemType"])
        if name in FIELDS:
            item[FIELDS[name]] = " ".join(content.split())
        if name == "citation_author":
            last, comma, first = content.partition(",")
            if comma:
                item["creators"].append({"lastName": last.strip(), "firstName": first.strip()})
            else:
                *firsts, last = content.split()
                item["creators"].append({"lastName": last, "firstName": " ".join(firsts)})
    item["itemType"] = item["itemType"] or ("journalArticle" if "title" in item else None)
    return item


def zotero_item(page: str) -> dict:
    """Read the citation tags of a page's HTML <head> and map them (item_from_tags)."""

    class Head(HTMLParser):
        def __init__(self):
            super().__init__()
            self.meta: list[tuple[str, str]] = []

        def handle_starttag(self, tag, attrs):
            found = dict(attrs)
            if tag == "meta" and (found.get("name") or "").startswith("citation_") and found.get("content"):
                self.meta.append((found["name"], found["content"]))

    head = Head()
    head.feed(page.split("</head>", 1)[0])
    return item_from_tags(head.meta)
