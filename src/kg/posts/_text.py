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
    """Collect blocks of text; each piece may say which span of the source file it came from."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.links: list[Link] = []
        self.origins: list[Origin] = []
        self._block: tuple[str, int] | None = None
        self._links: list[tuple[int, str, str | None]] = []

    # -- blocks

    def open(self, kind: str) -> None:
        """Start a block of the given kind (closing any open one)."""
        self.close()
        if self.length:
            self._put("\n\n")
        self._block = (kind, self.length)

    def close(self) -> None:
        """End the open block; a block that holds only white space is dropped."""
        if self._block is None:
            return
        kind, start = self._block
        self._block = None
        text = "".join(self.parts)[start:] if start < self.length else ""
        stripped = text.rstrip()
        if not stripped.strip():
            self._truncate(start - 2 if start >= 2 else start)
            return
        self._truncate(start + len(stripped))
        lead = len(text) - len(text.lstrip())
        self.blocks.append(Block(kind, start + lead, start + len(stripped)))

    @property
    def in_block(self) -> bool:
        return self._block is not None

    # -- text

    def text(self, value: str, file_start: int | None = None, file_end: int | None = None) -> None:
        """Add text to the open block; file offsets, when known, say where it stands in the file."""
        if not value:
            return
        if self._block is None:
            self.open("paragraph")
        if self.length == self._block[1]:
            stripped = value.lstrip()
            if not stripped:
                return
            verbatim = file_start is not None and file_end is not None and file_end - file_start == len(value)
            if verbatim:
                file_start += len(value) - len(stripped)  # type: ignore[operator]
            value = stripped
        start = self.length
        self._put(value)
        if file_start is not None:
            self.origins.append(Origin(start, self.length, file_start,
                                       file_end if file_end is not None else file_start + len(value)))

    def space(self) -> None:
        """Add one space unless the text already ends in white space."""
        if self._block is not None and self.length > self._block[1] and not self.parts[-1][-1:].isspace():
            self._put(" ")

    def newline(self) -> None:
        if self._block is not None and self.length > self._block[1]:
            self._put("\n")

    # -- links

    def link_open(self, url: str, title: str | None = None) -> None:
        self._links.append((self.length, url, title))

    def link_close(self) -> None:
        if not self._links:
            return
        start, url, title = self._links.pop()
        end = self.length
        body = "".join(self.parts)
        while start < end and body[start].isspace():
            start += 1
        while end > start and body[end - 1].isspace():
            end -= 1
        if url and start < end:
            self.links.append(Link(start, end, url, title))

    # -- result

    def result(self) -> tuple[str, tuple[Block, ...], tuple[Link, ...], tuple[Origin, ...]]:
        """Return the body, its blocks, links and origins (blocks closed, links in order)."""
        self.close()
        body = "".join(self.parts)
        links = tuple(sorted((l for l in self.links if l.end <= len(body)), key=lambda l: (l.start, l.end)))
        origins = tuple(o for o in self.origins if o.end <= len(body))
        return body, tuple(self.blocks), links, origins

    def _put(self, value: str) -> None:
        self.parts.append(value)
        self.length += len(value)

    def _truncate(self, length: int) -> None:
        body = "".join(self.parts)[:length]
        self.parts = [body] if body else []
        self.length = len(body)
        self.origins = [o if o.end <= length else Origin(o.start, length, o.file_start,
                                                         o.file_start + (length - o.start)
                                                         if o.end - o.start == o.file_end - o.file_start
                                                         else o.file_end)
                        for o in self.origins if o.start < length]
        self.links = [l for l in self.links if l.end <= length]


def collapse(text: str) -> str:
    """Collapse runs of spaces and tabs (HTML white space) into one space."""
    return _SPACE.sub(" ", text)
