"""Read a Markdown post (CommonMark, with optional YAML front matter) into a Post.

The body is the text a reader sees: emphasis, link syntax, images and HTML left out;
headings, paragraphs, list items and quotations become blocks; each link keeps the span of
its text and its address. Every piece of text records the span of the file it was read from
(``Post.file_span``), so a claim's offsets in the body lead back to exact offsets in the file.
Without front matter the title is the first level-1 heading; without an 'id' the id is the
file's name.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from markdown_it import MarkdownIt

from .. import corpus
from ..errors import CorpusError
from ..model import Post
from . import _meta
from ._text import TextBuilder

NAME = "markdown"
SUFFIXES = (".md", ".markdown")

# Raw HTML is kept as text, never interpreted: a post cannot smuggle markup into the graph.
_MD = MarkdownIt("commonmark", {"html": False}).disable("text_join")
_CONTAINERS = {"list_item_open": "list-item", "blockquote_open": "quote"}
_KNOWN_KEYS = ("id", "title", "author", "authors", "date", "url", "link", "kind", "excerpt", "format")


def _line_of(text: str, key: str) -> int:
    """The 1-based line of a front matter key, for messages (1 if it is not written)."""
    m = re.search(rf"^{re.escape(key)}\s*:", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else 1


class _Cursor:
    """Find each piece of inline text in the source, in order, so its offsets are exact."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.pos = 0
        self.limit = len(src)

    def find(self, needle: str) -> int | None:
        at = self.src.find(needle, self.pos, self.limit)
        if at < 0:
            return None
        self.pos = at + len(needle)
        return at

    def skip_link_tail(self) -> None:
        """Step over the "](address "title")" or "][label]" that follows a link's text."""
        src, n = self.src, self.pos
        while n < self.limit and src[n] in "*_`":
            n += 1
        if n >= self.limit or src[n] != "]":
            return
        n += 1
        if n < self.limit and src[n] == "(":
            depth, quote = 0, None
            while n < self.limit:
                ch = src[n]
                if quote:
                    quote = None if ch == quote else quote
                elif ch in "\"'" and src[n - 1].isspace():
                    quote = ch
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        n += 1
                        break
                n += 1
        elif n < self.limit and src[n] == "[":
            close = src.find("]", n, self.limit)
            n = close + 1 if close >= 0 else n
        self.pos = n

    def skip_image(self) -> None:
        at = self.src.find("![", self.pos, self.limit)
        if at < 0:
            return
        depth, n = 0, at + 1
        while n < self.limit:  # the alt text may hold brackets of its own
            if self.src[n] == "[":
                depth += 1
            elif self.src[n] == "]":
                depth -= 1
                if depth == 0:
                    break
            n += 1
        self.pos = n
        self.skip_link_tail()


def _inline(builder: TextBuilder, children, cursor: _Cursor, offset: int) -> None:
    """Add an inline token's text to the builder, with file offsets (offset: where the source starts)."""
    for tok in children:
        kind = tok.type
        if kind == "image":
            cursor.skip_image()
            continue
        if kind in ("text", "code_inline"):
            at = cursor.find(tok.content)
            if at is None:
                builder.text(tok.content)
            else:
                builder.text(tok.content, offset + at, offset + at + len(tok.content))
        elif kind == "text_special":  # an entity or a backslash escape: "&amp;" is "&"
            at = cursor.find(tok.markup)
            if at is None:
                builder.text(tok.content)
            else:
                builder.text(tok.content, offset + at, offset + at + len(tok.markup))
        elif kind == "softbreak":
            at = cursor.find("\n")
            if at is None:
                builder.text(" ")
            else:
                builder.text("\n", offset + at, offset + at + 1)
        elif kind == "hardbreak":
            at = cursor.find("\n")
            builder.text("\n", *((offset + at, offset + at + 1) if at is not None else (None, None)))
        elif kind == "link_open":
            builder.link_open(tok.attrs.get("href", ""), tok.attrs.get("title") or None)
        elif kind == "link_close":
            builder.link_close()
            cursor.skip_link_tail()
        # em/strong open and close, html_inline (kept as text by the parser): no text of their own


def _only_strong(children) -> bool:
    """A paragraph that is all bold ("**Key findings**") is a heading in most blogs."""
    kinds = [t.type for t in children if not (t.type == "text" and not t.content.strip())]
    return (
        len(kinds) >= 3
        and kinds[0] == "strong_open"
        and kinds[-1] == "strong_close"
        and "strong_open" not in kinds[1:-1]
        and "softbreak" not in kinds
    )


def render(src: str, offset: int = 0, title: str | None = None):
    """Turn Markdown source into (body, blocks, links, origins, first level-1 heading)."""
    tokens = _MD.parse(src)
    lines = [0] + [m.end() for m in re.finditer("\n", src)]
    builder = TextBuilder()
    cursor = _Cursor(src)
    containers: list[str] = []
    heading: str | None = None
    h1: str | None = None
    first_block = True
    for tok in tokens:
        kind = tok.type
        if kind in _CONTAINERS:
            containers.append(_CONTAINERS[kind])
        elif kind in ("list_item_close", "blockquote_close"):
            containers.pop()
        elif kind in ("heading_open", "paragraph_open"):
            heading = tok.tag if kind == "heading_open" else None
        elif kind == "inline":
            if tok.map:
                cursor.pos = max(cursor.pos, lines[tok.map[0]])
                cursor.limit = lines[tok.map[1]] if tok.map[1] < len(lines) else len(src)
            assert tok.children is not None  # markdown-it's inline rule gives every inline token its children
            text = "".join(c.content for c in tok.children if c.type in ("text", "text_special", "code_inline"))
            if heading == "h1" and first_block and h1 is None:
                h1 = " ".join(text.split())
                first_block = False
                if title is None or h1 == title:
                    continue  # the title, written as the post's first heading
            first_block = False
            if heading:
                block = "heading"
            elif containers:
                block = containers[-1]
            else:
                block = "heading" if _only_strong(tok.children) else "paragraph"
            builder.open(block)
            _inline(builder, tok.children, cursor, offset)
            builder.close()
        elif kind in ("code_block", "fence"):
            first_block = False
            builder.open("code")
            start = lines[tok.map[0]] if tok.map else None
            at = src.find(tok.content, start or 0) if tok.content else -1
            builder.text(
                tok.content.rstrip("\n"),
                *((offset + at, offset + at + len(tok.content.rstrip("\n"))) if at >= 0 else (None, None)),
            )
            builder.close()
    body, blocks, links, origins = builder.result()
    return body, blocks, links, origins, h1


def _file_offsets(raw: str):
    """Map offsets in the text as read (BOM dropped, CRLF as LF) back to the file's characters."""
    shift = 1 if raw.startswith("\ufeff") else 0
    crs = [m.start() for m in re.finditer("\r\n", raw)]
    if not shift and not crs:
        return None
    # Offset k of the normalised text stands after the CRs that precede it in the raw text.
    normalised = [c - shift - n for n, c in enumerate(crs)]

    def to_file(k: int) -> int:
        return k + shift + bisect.bisect_right(normalised, k - 1)

    return to_file


def parse(raw: str, path: str) -> list[Post]:
    """Parse a Markdown file's text into one Post; raise CorpusError naming the field and the fix."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n")
    if not text.strip():
        raise CorpusError(
            f"{path}: the file is empty: no front matter and no text",
            hint="write front matter with 'title' and then the post's text, or delete the file",
        )
    meta, body_start = corpus.read_front_matter(text, path)
    if corpus.is_scraped(meta):
        return [corpus.parse_post(text, path)]
    meta = meta or {}
    where = lambda key: f"{path}:{_line_of(text, key) if key in meta else 1}: "  # noqa: E731
    title = meta.get("title")
    if title is not None and not isinstance(title, str):
        raise CorpusError(
            f"{where('title')}'title' must be text, not {type(title).__name__}", hint='quote it: title: "..."'
        )
    body_src = text[body_start:]
    body, blocks, links, origins, h1 = render(body_src, body_start, title.strip() if title else None)
    if not (title and title.strip()):
        if h1 is None:
            if body_start == 0:
                raise CorpusError(
                    f"{path}:1: no front matter (the file must start with a '---' line) and no '# Title' heading",
                    hint="add front matter with a 'title: ...' line, or start the text with a '# Title' heading",
                )
            raise CorpusError(
                f"{where('title')}front matter has no 'title' and the text no '# Title' heading",
                hint="add a 'title: ...' line",
            )
        title = h1
    stem = Path(path).stem
    post_id = meta.get("id") or corpus.slugify(stem)
    if not isinstance(post_id, str):
        raise CorpusError(
            f"{where('id')}'id' must be text, not {type(post_id).__name__}", hint=f"use 'id: {corpus.slugify(stem)}'"
        )
    if corpus.slugify(post_id) != post_id:
        raise CorpusError(
            f"{where('id')}id {post_id[:60]!r} is not a slug (lower-case letters, digits and hyphens)",
            hint=f"use 'id: {corpus.slugify(post_id)}'",
        )
    kind = meta.get("kind", "article")
    if kind not in ("article", "bibliography"):
        raise CorpusError(
            f"{where('kind')}unknown kind {str(kind)[:40]!r}", hint="use 'kind: article' or 'kind: bibliography'"
        )
    excerpt = meta.get("excerpt", False)
    if not isinstance(excerpt, bool):
        raise CorpusError(
            f"{where('excerpt')}'excerpt' must be true or false, not {str(excerpt)[:40]!r}",
            hint="write 'excerpt: true' or 'excerpt: false'",
        )
    author_key = "author" if "author" in meta else "authors"
    url_key = "url" if "url" in meta else "link"
    to_file = _file_offsets(raw)
    if to_file is not None:
        origins = tuple(type(o)(o.start, o.end, to_file(o.file_start), to_file(o.file_end)) for o in origins)
    return [
        Post(
            id=post_id,
            title=" ".join(title.split()),
            body=body,
            excerpt=excerpt,
            kind=kind,
            path=str(path),
            author=_meta.author(meta.get(author_key), where(author_key), author_key),
            date=_meta.date(meta.get("date"), where("date")),
            url=_meta.url(meta.get(url_key), where(url_key), url_key),
            source_format=NAME,
            blocks=blocks,
            links=links,
            origins=origins,
            provenance=_meta.whole_file(path, raw),
        )
    ]


def read(path: Path, raw: str) -> list[Post]:
    """Read a Markdown post file (its text already decoded)."""
    return parse(raw, str(path))
