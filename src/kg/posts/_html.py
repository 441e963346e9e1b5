"""Turn a fragment of HTML (a feed entry's content, an extracted article) into post blocks.

Shared by the readers whose source is HTML: headings, paragraphs, list items, quotations and
figure captions become blocks, links keep their address, images, scripts, styles, forms and
navigation are left out (their words are not the author's prose).
"""

from __future__ import annotations

from html.parser import HTMLParser

from ..model import Post
from ._text import TextBuilder, collapse

_BLOCKS = {
    "p": "paragraph",
    "h1": "heading",
    "h2": "heading",
    "h3": "heading",
    "h4": "heading",
    "h5": "heading",
    "h6": "heading",
    "li": "list-item",
    "blockquote": "quote",
    "figcaption": "caption",
    "pre": "code",
    "dt": "paragraph",
    "dd": "paragraph",
    "tr": "paragraph",
    "caption": "caption",
    "div": "paragraph",
    "section": "paragraph",
    "article": "paragraph",
    "td": None,
    "th": None,
}
_SKIP = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "form",
    "button",
    "nav",
    "iframe",
    "object",
    "select",
    "textarea",
}
_VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "embed", "param", "track"}


class _Converter(HTMLParser):
    def __init__(self, builder: TextBuilder) -> None:
        super().__init__(convert_charrefs=True)
        self.b = builder
        self.skip = 0
        self.stack: list[str] = []  # open block kinds, innermost last
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            if tag == "br" and not self.skip:
                self.b.newline()
            return
        if self.skip or tag in _SKIP:
            self.skip += 1
            return
        kind = _BLOCKS.get(tag, "")
        if kind == "":
            if tag == "a":
                href = dict(attrs).get("href") or ""
                self.b.link_open(href.strip(), dict(attrs).get("title"))
            return
        if tag == "pre":
            self.pre += 1
        if kind is None:  # a table cell: cells of a row read as one line
            self.b.space()
            return
        # A block inside a list item or quotation stays part of it ("<li><p>...</p></li>").
        if self.stack and self.stack[-1] in ("list-item", "quote") and kind == "paragraph":
            self.stack.append(self.stack[-1])
            return
        self.stack.append(kind)
        self.b.open(kind)

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if self.skip:
            self.skip -= 1
            return
        kind = _BLOCKS.get(tag, "")
        if kind == "":
            if tag == "a":
                self.b.link_close()
            return
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if kind is None:
            return
        if self.stack:
            self.stack.pop()
        self.b.close()
        if self.stack:  # text after a nested block continues the outer one
            self.b.open(self.stack[-1])

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = collapse(data.replace("\n", " ").replace("\r", " ").replace("\t", " "))
            if self.b.in_block and self.b.ends_in_space():
                data = data.lstrip(" ")
        if data.strip() or (data and self.b.in_block):
            self.b.text(data)


def html_to_text(fragment: str) -> tuple:
    """Return (body, blocks, links, origins) for an HTML fragment (origins are empty: offsets
    into HTML source are not kept, the body is the page's text)."""
    builder = TextBuilder()
    converter = _Converter(builder)
    converter.feed(fragment)
    converter.close()
    return builder.result()


_MORE = ("continue reading", "read more", "[…]", "[...]", "…", "...")


def html_post(
    fragment: str,
    *,
    post_id: str,
    title: str,
    path: str,
    source_format: str,
    author: str | None = None,
    date: str | None = None,
    url: str | None = None,
    excerpt: bool | None = None,
) -> Post:
    """Make a Post of an HTML fragment and what the source says about it."""
    body, blocks, links, origins = html_to_text(fragment)
    if excerpt is None:  # a feed that carries only the start of each post ends it so
        excerpt = body.rstrip().lower().endswith(_MORE)
    return Post(
        id=post_id,
        title=" ".join(title.split()),
        body=body,
        path=path,
        author=author,
        date=date,
        url=url,
        source_format=source_format,
        blocks=blocks,
        links=links,
        origins=origins,
        excerpt=excerpt,
    )


def unique_ids(posts: list[Post]) -> list[Post]:
    """Give posts of one file that share an id a numbered one ("-2", "-3"), keeping both."""
    seen: set[str] = set()
    for post in posts:
        base, n = post.id, 2
        while post.id in seen:
            post.id, n = f"{base}-{n}", n + 1
        seen.add(post.id)
    return posts
