"""Read a WordPress export (WXR, the XML that Tools > Export writes): one post per published post.

Attachments, pages, menu items and drafts are not posts; each post keeps its slug as its id,
its author's display name, its date and its address.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .. import corpus
from ..errors import CorpusError
from ..model import Post
from . import _meta
from ._html import html_post, unique_ids

NAME = "wxr"
SUFFIXES = (".xml", ".wxr")
_WP = "{http://wordpress.org/export/1.2/}"
_NS = {"content": "http://purl.org/rss/1.0/modules/content/", "dc": "http://purl.org/dc/elements/1.1/"}


def sniff(text: str) -> bool:
    """Whether an XML file is a WordPress export (it declares the WXR namespace)."""
    return "wordpress.org/export/" in text[:4000]


def _wp(item: ET.Element, name: str, ns: str) -> str:
    return (item.findtext(f"{ns}{name}") or "").strip()


def _paragraphs(content: str) -> str:
    # WordPress stores posts with blank lines for paragraphs (wpautop adds the <p> on display).
    if "<p" in content.lower():
        return content
    return "".join(f"<p>{part}</p>" for part in content.split("\n\n") if part.strip())


def read(path: Path, text: str) -> list[Post]:
    """Read the published posts of a WordPress export."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise CorpusError(
            f"{path}:{line}: not well-formed XML: {exc}",
            hint="export from WordPress again (Tools > Export), or fix the XML at that line",
        ) from None
    version = next((v for v in ("1.2", "1.1", "1.0") if f"wordpress.org/export/{v}/" in text[:4000]), "1.2")
    ns = _WP.replace("1.2", version)
    channel = root.find("channel")
    if channel is None:
        raise CorpusError(f"{path}:1: no <channel> in the export", hint="export from WordPress again (Tools > Export)")
    names = {_wp(a, "author_login", ns): _wp(a, "author_display_name", ns) for a in channel.findall(f"{ns}author")}
    posts: list[Post] = []
    items = channel.findall("item")
    spans = _meta.element_lines(text, ("item",))
    for n, item in enumerate(items, 1):
        if _wp(item, "post_type", ns) != "post" or _wp(item, "status", ns) not in ("publish", ""):
            continue
        title = (item.findtext("title") or "").strip()
        where = f"{path}: item {n} ({title[:40]!r}): "
        if not title:
            raise CorpusError(f"{where}has no title", hint="give the post a title in WordPress and export again")
        login = (item.findtext("dc:creator", namespaces=_NS) or "").strip()
        slug = _wp(item, "post_name", ns)
        link = (item.findtext("link") or "").strip()
        date = _wp(item, "post_date", ns)
        content = item.findtext("content:encoded", namespaces=_NS) or ""
        post = html_post(
            _paragraphs(content),
            post_id=corpus.slugify(slug) if slug else corpus.slugify(title),
            title=title,
            path=str(path),
            source_format=NAME,
            author=_meta.author(names.get(login) or login or None, where),
            date=_meta.date(date, where, "wp:post_date") if date and not date.startswith("0000") else None,
            url=link if link.startswith(("http://", "https://")) else None,
            excerpt=False,
        )
        post.provenance = _meta.provenance_of(str(path), spans[n - 1] if len(spans) == len(items) else None, text)
        posts.append(post)
    if not posts:
        raise CorpusError(
            f"{path}:1: the export holds no published posts",
            hint="export 'Posts' (or 'All content') from WordPress, not only pages or media",
        )
    return unique_ids(posts)
