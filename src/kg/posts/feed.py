"""Read an RSS or Atom feed (feedparser): a whole blog in one file, one post per entry."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from .. import corpus
from ..errors import CorpusError
from ..model import Post
from . import _meta
from ._html import html_post, unique_ids

NAME = "feed"
SUFFIXES = (".rss", ".atom", ".xml")


def entry_id(link: str | None, title: str) -> str:
    """A post's id: the last part of its address ("/blog/why-it-matters/" -> "why-it-matters"), else its title."""
    if link:
        parts = [p for p in urlparse(link).path.split("/") if p]
        if parts:
            last = re.sub(r"\.(?:html?|php|aspx?)$", "", parts[-1])
            if re.search(r"[a-z]", last, re.IGNORECASE) and len(last) > 3:
                return corpus.slugify(last)
    return corpus.slugify(title)


def read(path: Path, text: str) -> list[Post]:
    """Read every entry of a feed as a Post; a file that is no feed is reported with its line."""
    import feedparser  # a second to import: only builds that read feeds pay for it

    parsed = feedparser.parse(text)
    exc = parsed.get("bozo_exception")
    # A malformed feed is refused whole: feedparser's lenient reading of broken XML can run
    # entries together or drop their text, and nothing may be lost silently.
    if parsed.bozo and (not parsed.entries or hasattr(exc, "getLineNumber")):
        line = getattr(exc, "getLineNumber", lambda: 1)()
        raise CorpusError(
            f"{path}:{line}: not a well-formed RSS or Atom feed: {getattr(exc, 'getMessage', lambda: exc)()}",
            hint="export the feed again, or fix the XML at that line",
        )
    if not parsed.entries:
        raise CorpusError(f"{path}:1: the feed has no entries", hint="export a feed that holds the posts")
    posts = []
    spans = _meta.element_lines(text, ("item", "entry"))
    for n, entry in enumerate(parsed.entries, 1):
        title = entry.get("title") or ""
        where = f"{path}: entry {n} ({title[:40]!r}): "
        if not title.strip():
            raise CorpusError(f"{where}has no title", hint="give every entry a <title>")
        content = entry.get("content")
        fragment = content[0].get("value", "") if content else ""
        excerpt = None
        if not fragment.strip():
            fragment, excerpt = entry.get("summary", ""), True  # the feed carries only a summary
        link = entry.get("link")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        authors = [a.get("name") for a in entry.get("authors", []) if a.get("name")]
        post = html_post(
            fragment,
            post_id=entry_id(link, title),
            title=title,
            path=str(path),
            source_format=NAME,
            author=_meta.author(authors or entry.get("author"), where),
            date=_meta.date(stamp, where) if stamp else None,
            url=link if link and link.startswith(("http://", "https://")) else None,
            excerpt=excerpt,
        )
        post.provenance = _meta.provenance_of(
            str(path), spans[n - 1] if len(spans) == len(parsed.entries) else None, text
        )
        posts.append(post)
    return unique_ids(posts)
