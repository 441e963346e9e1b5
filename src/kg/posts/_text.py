"""Assemble a post body from marked-up text: blocks, links and where each character came from.

Every reader of markup (Markdown, HTML, feeds) produces the same thing: the text a reader
sees, one block per paragraph, heading or list item, separated by a blank line, so the claim
chunker sees the same shapes whatever the source was.
"""

from __future__ import annotations

import re

from ..model import Block, Link, Origin

_SPACE = re.compile(r"[^\S\n]+")


class TextBuilder:
    """Collect blocks of text; each piece may say which span of the source file it came from.

    Text goes into the open block; closing it trims the block and commits it after a blank line,
    so building a body is linear in its length, however big the post.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []  # committed text
        self.length = 0  # length of the committed text
        self.blocks: list[Block] = []
        self.links: list[Link] = []
        self.origins: list[Origin] = []
        self._kind: str | None = None
        self._cur: list[str] = []  # the open block's text
        self._cur_len = 0
        self._cur_origins: list[Origin] = []  # offsets relative to the open block
        self._cur_links: list[Link] = []
        self._open_links: list[tuple[int, str, str | None]] = []

    # -- blocks

    def open(self, kind: str) -> None:
        """Start a block of the given kind (closing any open one)."""
        self.close()
        self._kind = kind

    def close(self) -> None:
        """End the open block; a block that holds only white space is dropped."""
        if self._kind is None:
            return
        kind, self._kind = self._kind, None
        text = "".join(self._cur)
        origins, links = self._cur_origins, self._cur_links
        self._cur, self._cur_len, self._cur_origins, self._cur_links = [], 0, [], []
        self._open_links = []
        lead = len(text) - len(text.lstrip())
        end = len(text.rstrip())
        if end <= lead:
            return
        base = self.length + (2 if self.length else 0) - lead
        if self.length:
            self.parts.append("\n\n")
        self.parts.append(text[lead:end])
        self.length = base + end
        self.blocks.append(Block(kind, base + lead, base + end))
        for o in origins:
            a, b = max(o.start, lead), min(o.end, end)
            if a >= b:
                continue
            verbatim = o.end - o.start == o.file_end - o.file_start
            fa = o.file_start + (a - o.start) if verbatim else o.file_start
            fb = o.file_end - (o.end - b) if verbatim else o.file_end
            self.origins.append(Origin(base + a, base + b, fa, fb))
        for link in links:
            a, b = max(link.start, lead), min(link.end, end)
            if a < b:
                self.links.append(Link(base + a, base + b, link.url, link.title))

    @property
    def in_block(self) -> bool:
        return self._kind is not None

    def ends_in_space(self) -> bool:
        return bool(self._cur) and self._cur[-1][-1:].isspace()

    # -- text

    def text(self, value: str, file_start: int | None = None, file_end: int | None = None) -> None:
        """Add text to the open block; file offsets, when known, say where it stands in the file."""
        if not value:
            return
        if self._kind is None:
            self.open("paragraph")
        start = self._cur_len
        self._cur.append(value)
        self._cur_len += len(value)
        if file_start is not None:
            self._cur_origins.append(
                Origin(start, self._cur_len, file_start, file_end if file_end is not None else file_start + len(value))
            )

    def space(self) -> None:
        """Add one space unless the text already ends in white space."""
        if self._cur and not self.ends_in_space():
            self.text(" ")

    def newline(self) -> None:
        if self._cur:
            self.text("\n")

    # -- links

    def link_open(self, url: str, title: str | None = None) -> None:
        self._open_links.append((self._cur_len, url, title))

    def link_close(self) -> None:
        if not self._open_links:
            return
        start, url, title = self._open_links.pop()
        end = self._cur_len
        text = "".join(self._cur)[start:end]
        start += len(text) - len(text.lstrip())
        end -= len(text) - len(text.rstrip())
        if url and start < end:
            self._cur_links.append(Link(start, end, url, title))

    # -- result

    def result(self) -> tuple[str, tuple[Block, ...], tuple[Link, ...], tuple[Origin, ...]]:
        """Return the body, its blocks, links and origins (blocks closed, links in order)."""
        self.close()
        body = "".join(self.parts)
        links = tuple(sorted(self.links, key=lambda link: (link.start, link.end)))
        return body, tuple(self.blocks), links, tuple(self.origins)


def collapse(text: str) -> str:
    """Collapse runs of spaces and tabs (HTML white space) into one space."""
    return _SPACE.sub(" ", text)
