"""Step 1: split raw dumps into posts, and read and write the post files of corpus/posts/.

``load_posts`` is the one entry point the build calls: it reads every post file of a folder
through the reader its type calls for (kg.posts: Markdown, saved HTML, feeds, WordPress
exports, dumps).

A dump is several blog posts run together. A post starts at its title: a short line standing
alone that follows a structural boundary (the start of the dump, an "Advertisement" line, a
spacer line of non-breaking spaces, the footnotes or the "Update (...)" that close a post, a cut-off
"Continue reading", page furniture such as "Share this" or "Tags: ..."), or that is followed by
the series preamble "This post is one in a series" or by a byline or a date, or that is a
title elsewhere. Where the dump gives no such signal, the reviewed file
corpus/split-overrides.yaml names the title; ``unsure_boundaries`` lists the lines a person
should look at. A title printed twice makes one post. Posts found in several dumps become one
post listing every place they came from.
"""

from __future__ import annotations

import hashlib
import os
import re
import reprlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import CorpusError
from .files import atomic_write
from .furniture import closes_post, is_furniture, opens_post
from .model import Failure, Post, Provenance
from .refs.detect import is_bibliography_body

BOILERPLATE = frozenset({"Advertisement"})
CONTINUE_READING = "Continue reading"
SERIES_PREAMBLE = "This post is one in a series"
MAX_TITLE_CHARS = 160

_LIST_ITEM = re.compile(r"^\s*(?:[•\-\*]|\d{1,2}\.)\s")
_FOOTNOTE = re.compile(r"^\s*\[\d+\]\s*[–-]")
_UPDATE = re.compile(r"^\s*Update \([^)]*\):")


def normalise_line(line: str) -> str:
    """Collapse white space (non-breaking spaces included) so lines compare as a reader sees them."""
    return " ".join(line.split())


def is_blank(line: str) -> bool:
    """Return True for lines with nothing but white space (non-breaking spaces included)."""
    return not line.strip()


def is_boilerplate(line: str) -> bool:
    """Return True for scraping boilerplate that belongs to no post ("Advertisement")."""
    return line.strip() in BOILERPLATE


def _is_spacer(line: str) -> bool:
    # The scrape leaves a line holding only non-breaking spaces between some posts.
    return bool(line) and is_blank(line) and "\xa0" in line


def is_heading_like(line: str) -> bool:
    """Return True for a line that could be a title or a sub-heading: short, alone, unpunctuated."""
    text = line.strip()
    if not text or len(text) > MAX_TITLE_CHARS or is_boilerplate(text):
        return False
    if _LIST_ITEM.match(line) or _FOOTNOTE.match(line) or text.startswith("["):
        return False
    if text.endswith((",", ";", ":")) or is_furniture(text):
        return False  # "Tags: care homes", "Share this", "Photograph: ..." are no titles
    # A sentence ending in a full stop is prose, unless every "sentence" is one word
    # ("Integrated. Personal. Commissioning.").
    if text.endswith(".") and not all(len(part.split()) == 1 for part in text.rstrip(".").split(". ")):
        return False
    return True


@dataclass
class SplitOverrides:
    """Reviewed corrections to the title heuristics: exact line texts."""

    titles: frozenset[str] = frozenset()
    not_titles: frozenset[str] = frozenset()
    path: Path | None = None


def load_overrides(path: Path | None) -> SplitOverrides:
    """Read the reviewed split overrides (a missing file means none)."""
    if path is None or not Path(path).exists():
        return SplitOverrides()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: not valid YAML: {exc}", hint="fix the overrides file's syntax") from None
    if not isinstance(data, dict) or not set(data) <= {"titles", "not_titles"}:
        raise CorpusError(
            f"{path}: expected a mapping with the keys 'titles' and 'not_titles'",
            hint="each key holds a list of exact line texts",
        )
    lists = {}
    for key in ("titles", "not_titles"):
        values = data.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise CorpusError(f"{path}: '{key}' must be a list of strings", hint="quote each line text")
        lists[key] = frozenset(normalise_line(v) for v in values)
    return SplitOverrides(lists["titles"], lists["not_titles"], Path(path))


@dataclass
class Occurrence:
    """One post as found in one dump: its title line and the lines up to the next title."""

    dump: str
    title: str
    title_line: int  # 1-based
    end_line: int  # 1-based, last non-blank line
    lines: list[str]  # the dump lines after the title up to end_line, boilerplate removed

    @property
    def body(self) -> str:
        lines = list(self.lines)
        while lines and is_blank(lines[0]):
            lines.pop(0)
        while lines and is_blank(lines[-1]):
            lines.pop()
        return "\n".join(lines)


def read_dump(path: Path) -> list[str]:
    """Read a dump as a list of lines (UTF-8, no line terminators)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="convert it with `iconv -t UTF-8` and import again"
        ) from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror}", hint="check the path") from None
    if "\x00" in text:
        raise CorpusError(f"{path}: binary file (contains NUL bytes)", hint="import only text dumps")
    return text.replace("\r\n", "\n").split("\n")


def _standalone(lines: list[str], i: int) -> bool:
    before = i == 0 or is_blank(lines[i - 1])
    after = i + 1 >= len(lines) or is_blank(lines[i + 1])
    return before and after


def _previous_content(lines: list[str], i: int) -> tuple[int | None, bool]:
    """Return the index of the previous non-blank line and whether a spacer line came between."""
    spacer = False
    j = i - 1
    while j >= 0 and is_blank(lines[j]):
        spacer = spacer or _is_spacer(lines[j])
        j -= 1
    return (j if j >= 0 else None), spacer


def _next_content(lines: list[str], i: int) -> int | None:
    j = i + 1
    while j < len(lines) and is_blank(lines[j]):
        j += 1
    return j if j < len(lines) else None


def _title_signal(lines: list[str], i: int) -> bool:
    """Return True if the structure of the dump says line i starts a post."""
    prev, spacer = _previous_content(lines, i)
    if prev is None or spacer:
        return True
    previous = lines[prev]
    if is_boilerplate(previous) or _FOOTNOTE.match(previous) or _UPDATE.match(previous):
        return True
    if previous.rstrip().endswith(CONTINUE_READING) or closes_post(previous):
        return True  # the page's furniture after a post: "Share this", "Tags: ...", "Read more"
    nxt = _next_content(lines, i)
    # A byline or a date under the line is what a page prints under a post's title.
    return nxt is not None and (lines[nxt].strip().startswith(SERIES_PREAMBLE) or opens_post(lines[nxt]))


@dataclass(frozen=True)
class Review:
    """A boundary the splitter decided without a clear cue, for a person to check."""

    dump: str
    line: int  # 1-based
    text: str
    reason: str


#: A sub-heading is short; a heading-like line this long after a finished paragraph may be a title.
UNSURE_TITLE_WORDS = 4
_NUMBERED = re.compile(r"(?:[IVXLC]{1,5}|[A-H]|\d{1,2})[.)]\s")
_PERIOD = re.compile(r",\s*(?:19|20)\d\d(?:[-–/]\d{1,4})?(?:\s*(?:[-–]|to)\s*(?:19|20)?\d\d(?:[-–/]\d{1,4})?)?$")
_FINISHED = re.compile(r"[.!?…][”’\"')\]]*\s*$")


def unsure_boundaries(dumps: dict[str, list[str]], titles: dict[str, list[int]]) -> list[Review]:
    """List lines that look like a post's title but that nothing in the dump marks as one.

    The line stands alone, reads as a heading, is longer than a sub-heading usually is (or
    asks a question), and follows a finished paragraph: a post may start there, or it may be
    a sub-heading. A person decides in corpus/split-overrides.yaml ('titles' or 'not_titles').
    """
    found = []
    for name, lines in dumps.items():
        chosen = set(titles.get(name, ()))
        for i, line in enumerate(lines):
            if i in chosen or not _standalone(lines, i) or not is_heading_like(line):
                continue
            text = normalise_line(line)
            if len(text.split()) < UNSURE_TITLE_WORDS or _NUMBERED.match(text) or _PERIOD.search(text):
                continue  # short, numbered ("II. Extending ..."), or a chart's title ("..., 2000-1 to 2012-13")
            prev, _ = _previous_content(lines, i)
            nxt = _next_content(lines, i)
            if prev is None or nxt is None or not _FINISHED.search(lines[prev]):
                continue
            if is_heading_like(lines[nxt]) and _standalone(lines, nxt):
                continue  # a run of short lines: a list or a caption, not a title
            found.append(
                Review(
                    name,
                    i + 1,
                    text,
                    "reads like a title after a finished paragraph, but nothing "
                    "marks a new post (no date, byline or page furniture): read as a sub-heading",
                )
            )
    return found


def find_titles(dumps: dict[str, list[str]], overrides: SplitOverrides) -> dict[str, list[int]]:
    """Return, per dump, the 0-based indexes of the lines that are post titles."""
    candidates = {
        name: [i for i, line in enumerate(lines) if _standalone(lines, i) and is_heading_like(line)]
        for name, lines in dumps.items()
    }
    known = set(overrides.titles)
    for name, lines in dumps.items():
        known.update(normalise_line(lines[i]) for i in candidates[name] if _title_signal(lines, i))
    known -= overrides.not_titles
    titles = {name: [i for i in candidates[name] if normalise_line(lines[i]) in known] for name, lines in dumps.items()}
    for name, lines in dumps.items():
        first = next((i for i, line in enumerate(lines) if not is_blank(line) and not is_boilerplate(line)), None)
        if first is not None and first not in titles[name]:
            error = CorpusError(
                f"{name}:{first + 1}: the dump does not start with a post title: {lines[first][:60]!r}",
                hint="add the line that is the first post's title to corpus/split-overrides.yaml",
            )
            error.dump = name  # type: ignore[attr-defined]  # import_dumps sets this dump aside
            raise error
    return titles


def _nothing_between(lines: list[str], a: int, b: int) -> bool:
    return all(is_blank(line) or is_boilerplate(line) for line in lines[a + 1 : b])


def _without_empty_posts(name: str, lines: list[str], starts: list[int], notes: list[Review]) -> list[int]:
    """Drop title lines that would start a post with no text.

    A title printed twice is one title: the repeat stays the first line of the body, which the
    claim chunker keeps out of claims. A title-like line straight before another title is a
    label of the page: it stays at the end of the post above it, or, at the top of a dump, the
    title under it becomes the first line of its post. Every line stays in exactly one post.
    """
    kept: list[int] = []
    skip: set[int] = set()
    for n, start in enumerate(starts):
        if start in skip:
            continue
        if (
            kept
            and _nothing_between(lines, kept[-1], start)
            and normalise_line(lines[kept[-1]]) == normalise_line(lines[start])
        ):
            notes.append(
                Review(
                    name,
                    start + 1,
                    normalise_line(lines[start]),
                    f"the title of line {kept[-1] + 1} printed again: one post, not an empty one",
                )
            )
            continue
        nxt = starts[n + 1] if n + 1 < len(starts) else None
        if nxt is None and kept and _nothing_between(lines, start, len(lines)):
            notes.append(
                Review(
                    name,
                    start + 1,
                    normalise_line(lines[start]),
                    f"a title with no text after it at the end of the dump: kept at the end of "
                    f"the post of line {kept[-1] + 1}",
                )
            )
            continue
        if (
            nxt is not None
            and _nothing_between(lines, start, nxt)
            and normalise_line(lines[start]) != normalise_line(lines[nxt])
        ):
            if kept:
                notes.append(
                    Review(
                        name,
                        start + 1,
                        normalise_line(lines[start]),
                        f"no text before the title of line {nxt + 1}: read as a label, "
                        f"kept at the end of the post of line {kept[-1] + 1}",
                    )
                )
                continue
            notes.append(
                Review(
                    name,
                    nxt + 1,
                    normalise_line(lines[nxt]),
                    f"straight under the title of line {start + 1} with no text between: "
                    "read as the first line of that post",
                )
            )
            skip.add(nxt)
        kept.append(start)
    return kept


def split_dumps(
    dumps: dict[str, list[str]], overrides: SplitOverrides, notes: list[Review] | None = None
) -> list[Occurrence]:
    """Split dumps (file name -> lines) into post occurrences, in dump and line order.

    No occurrence is empty; the decisions that keep them so are added to ``notes``.
    """
    titles = find_titles(dumps, overrides)
    notes = [] if notes is None else notes
    occurrences: list[Occurrence] = []
    for name, lines in dumps.items():
        starts = _without_empty_posts(name, lines, titles[name], notes)
        for n, start in enumerate(starts):
            stop = starts[n + 1] if n + 1 < len(starts) else len(lines)
            end = stop - 1
            while end > start and (is_blank(lines[end]) or is_boilerplate(lines[end])):
                end -= 1
            body = [line for line in lines[start + 1 : end + 1] if not is_boilerplate(line)]
            occurrences.append(Occurrence(name, normalise_line(lines[start]), start + 1, end + 1, body))
    return occurrences


def slugify(text: str, max_length: int = 80) -> str:
    """Make a readable, URL-safe id from a title."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " and ").replace("%", " percent ")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "post"


def classify(body: str) -> str:
    """Return "bibliography" for a post that mostly lists references, else "article"."""
    return "bibliography" if is_bibliography_body(body) else "article"


@dataclass
class ImportResult:
    posts: list[Post] = field(default_factory=list)
    occurrences: int = 0
    failures: list[Failure] = field(default_factory=list)
    review: list[Review] = field(default_factory=list)  # boundaries decided without a clear cue


def merge_occurrences(occurrences: Iterable[Occurrence]) -> ImportResult:
    """Merge occurrences of the same post (same title and body) into one Post each."""
    result = ImportResult()
    by_key: dict[tuple[str, str], Post] = {}
    used_ids: set[str] = set()
    for occ in occurrences:
        result.occurrences += 1
        provenance = Provenance(occ.dump, occ.title_line, occ.end_line)
        key = (occ.title, occ.body)
        if key in by_key:
            post = by_key[key]
            post.provenance = post.provenance + (provenance,)
            continue
        post_id = base = slugify(occ.title)
        n = 2
        while post_id in used_ids:
            # Same title, different text: keep both versions, never drop lines.
            post_id, n = f"{base}-{n}", n + 1
        used_ids.add(post_id)
        body = occ.body
        post = Post(
            id=post_id,
            title=occ.title,
            body=body,
            provenance=(provenance,),
            excerpt=body.rstrip().endswith(CONTINUE_READING),
            kind=classify(body),
        )
        by_key[key] = post
        result.posts.append(post)
    return result


def import_dumps(paths: Iterable[Path], overrides: SplitOverrides) -> ImportResult:
    """Read dump files and split them into unique posts; unreadable dumps become failures."""
    dumps: dict[str, list[str]] = {}
    failures: list[Failure] = []
    where: dict[str, Path] = {}
    for path in sorted(Path(p) for p in paths):
        try:
            dumps[path.name] = read_dump(path)
            where[path.name] = path
        except CorpusError as exc:
            failures.append(Failure("corpus", str(path), str(exc)))
    while True:
        notes: list[Review] = []
        try:
            occurrences = split_dumps(dumps, overrides, notes)
            break
        except CorpusError as exc:
            # A dump whose first post has no recognisable title must not keep the others out.
            name = getattr(exc, "dump", None)
            if name not in dumps:
                raise
            failures.append(Failure("corpus", str(where[name]), str(exc)))
            del dumps[name]
    result = merge_occurrences(occurrences)
    result.failures = failures + result.failures
    unsure = unsure_boundaries(dumps, find_titles(dumps, overrides)) if dumps else []
    result.review = sorted(notes + unsure, key=lambda r: (r.dump, r.line))
    return result


# --- post files -------------------------------------------------------------------------------

_FRONT = "---\n"
# Values quoted in error messages stay short: YAML aliases let a tiny file hold an enormous value.
_brief = reprlib.Repr()
_brief.maxlevel = 2
# libyaml's loader when PyYAML has it: front matter of 10,000 posts is read on every build.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The front matter render_post writes, in its exact layout, with values YAML reads as plain
# strings (a word character first; no ':' or '#'; what YAML's resolvers call a string; a title
# may be single-quoted on its line) and decimal line numbers. Such front matter is read without
# YAML, which is slow over many posts; anything else, hand-edited
# files included, goes through YAML as before.
_PLAIN = r"\w(?:[^:#\n\\\"]*[^:#\s\\\"])?"
_CANONICAL = re.compile(
    rf"id: (?P<id>{_PLAIN})\ntitle: (?:(?P<title>{_PLAIN})|'(?P<quoted>(?:[^'\n]|'')*)')\n"
    r"kind: (?P<kind>article|bibliography)\n"
    rf"excerpt: (?P<excerpt>true|false)\nprovenance:\n(?P<provenance>(?:- dump: {_PLAIN}\n  lines: "
    r"\[(?:0|[1-9]\d{0,17}), (?:0|[1-9]\d{0,17})\]\n)+)\Z"
)
_CANONICAL_ENTRY = re.compile(rf"- dump: ({_PLAIN})\n  lines: \[(\d+), (\d+)\]\n")
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
# Printable text only: no control characters, no line or paragraph separators, no BOM.
_SAFE_TEXT = re.compile(r"[\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffc]*")


def _plain(value: str) -> bool:
    # YAML's own implicit resolvers decide: a value they would read as a number, a date, a
    # boolean or null is not a plain string.
    return _SAFE_TEXT.fullmatch(value) is not None and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR


def _canonical_front(text: str) -> dict | None:
    """Read front matter in render_post's exact layout without YAML; None for anything else."""
    match = _CANONICAL.match(text)
    if match is None:
        return None
    entries = _CANONICAL_ENTRY.findall(match.group("provenance"))
    values = [match.group("id"), *(dump for dump, _, _ in entries)]
    title = match.group("title")
    if title is None:  # single-quoted on one line: literal text, '' standing for '
        title = match.group("quoted").replace("''", "'")
        if _SAFE_TEXT.fullmatch(title) is None:
            return None
    else:
        values.append(title)
    if not all(_plain(v) for v in values):
        return None
    return {
        "id": match.group("id"),
        "title": title,
        "kind": match.group("kind"),
        "excerpt": match.group("excerpt") == "true",
        "provenance": [{"dump": dump, "lines": [int(a), int(b)]} for dump, a, b in entries],
    }


def render_post(post: Post) -> str:
    """Render a post as Markdown with YAML front matter; the body follows verbatim."""
    meta = {
        "id": post.id,
        "title": post.title,
        "kind": post.kind,
        "excerpt": post.excerpt,
        "provenance": [{"dump": p.dump, "lines": [p.start_line, p.end_line]} for p in post.provenance],
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000, default_flow_style=None)
    return f"{_FRONT}{front}{_FRONT}{post.body}\n"


def read_front_matter(text: str, path: str = "<post>") -> tuple[dict | None, int]:
    """Return a post file's front matter (None if it has none) and the offset its body starts at."""
    if not text.startswith(_FRONT):
        return None, 0
    end = text.find("\n" + _FRONT, len(_FRONT) - 1)
    if end < 0:
        raise CorpusError(f"{path}: front matter is not closed by a '---' line", hint="add the closing '---' line")
    front = text[len(_FRONT) : end + 1]
    try:
        meta = _canonical_front(front)
        if meta is None:
            meta = yaml.load(front, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise CorpusError(
            f"{path}: front matter is not valid YAML: {exc}", hint="fix the YAML between the '---' lines"
        ) from None
    if not isinstance(meta, dict):
        raise CorpusError(
            f"{path}: front matter must be a mapping of keys to values, not {type(meta).__name__}",
            hint="write it as 'key: value' lines",
        )
    return meta, end + 1 + len(_FRONT)


def is_scraped(meta: dict | None) -> bool:
    """Whether front matter belongs to a post split from a dump (its body is the dump's text).

    `kg corpus import` writes 'provenance' into every post it writes; 'format: text' says
    the same of a hand-written file whose body is plain text, not Markdown.
    """
    return meta is not None and ("provenance" in meta or meta.get("format") == "text")


def parse_post(text: str, path: str = "<post>") -> Post:
    """Parse a post file's text; raise CorpusError naming the problem and the fix."""
    if not text.strip():
        raise CorpusError(
            f"{path}: the file is empty: no front matter and no text",
            hint="write front matter with 'id' and 'title' and then the post's text, or delete the file",
        )
    if not text.startswith(_FRONT):
        raise CorpusError(
            f"{path}: no front matter (the file must start with a '---' line)",
            hint="add front matter with at least 'id' and 'title'",
        )
    meta, body_start = read_front_matter(text, path)
    assert meta is not None
    end = body_start - 1 - len(_FRONT)
    title = meta.get("title")
    if title is not None and not isinstance(title, str):
        raise CorpusError(f"{path}: 'title' must be text, not {type(title).__name__}", hint='quote it: title: "..."')
    if not isinstance(title, str) or not title.strip():
        raise CorpusError(f"{path}: front matter has no 'title'", hint="add a 'title: ...' line")
    post_id = meta.get("id") or slugify(title)
    if not isinstance(post_id, str):
        raise CorpusError(
            f"{path}: 'id' must be text, not {type(post_id).__name__}", hint=f"use 'id: {slugify(title)}'"
        )
    if slugify(post_id) != post_id:
        raise CorpusError(
            f"{path}: id {_brief.repr(post_id)} is not a slug (lower-case letters, digits and hyphens)",
            hint=f"use 'id: {slugify(post_id)}'",
        )
    body = text[end + 1 + len(_FRONT) :]
    if body.endswith("\n"):
        body = body[:-1]
    provenance = []
    entries = meta.get("provenance") or []
    if not isinstance(entries, list):
        raise CorpusError(
            f"{path}: 'provenance' must be a list of entries, not {type(entries).__name__}",
            hint="write '- dump: FILE' and 'lines: [FIRST, LAST]' per entry, or drop the key",
        )
    for item in entries:
        try:
            start, stop = item["lines"]
            provenance.append(Provenance(str(item["dump"]), int(start), int(stop)))
        except (KeyError, TypeError, ValueError):
            raise CorpusError(
                f"{path}: bad provenance entry {_brief.repr(item)}",
                hint="each entry needs 'dump: FILE' and 'lines: [FIRST, LAST]'",
            ) from None
    kind = meta.get("kind", "article")
    if kind not in ("article", "bibliography"):
        raise CorpusError(
            f"{path}: unknown kind {_brief.repr(kind)}", hint="use 'kind: article' or 'kind: bibliography'"
        )
    if not isinstance(meta.get("excerpt", False), bool):
        raise CorpusError(
            f"{path}: 'excerpt' must be true or false, not {_brief.repr(meta['excerpt'])}",
            hint="write 'excerpt: true' or 'excerpt: false'",
        )
    return Post(
        id=post_id,
        title=title.strip(),
        body=body,
        provenance=tuple(provenance),
        excerpt=bool(meta.get("excerpt", False)),
        kind=kind,
        path=str(path),
    )


def read_post(path: Path) -> Post:
    """Read one post file."""
    from .posts import read_text

    text = read_text(path)
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_post(text.replace("\r\n", "\n"), str(path))


def post_paths(posts_dir: Path) -> list[Path]:
    """List the post files of a folder (every type a reader of kg.posts reads), in name order."""
    from .posts import SUFFIXES

    # Names sorted as strings (Path.glob and Path sorting were a large share of reading many posts).
    folder = Path(posts_dir)
    with os.scandir(folder) as entries:
        names = sorted(
            e.name
            for e in entries
            if not e.name.startswith(".") and os.path.splitext(e.name)[1].lower() in SUFFIXES and e.is_file()
        )
    return [folder / name for name in names]


def load_posts(posts_dir: Path) -> tuple[list[Post], list[Failure]]:
    """Read every post file, whatever its format; bad files and duplicate ids become failures, the rest load."""
    from .posts import read_file

    posts: list[Post] = []
    failures: list[Failure] = []
    seen: dict[str, str] = {}
    if not Path(posts_dir).is_dir():
        raise CorpusError(
            f"{posts_dir}: no such folder", hint="run `kg corpus import corpus/raw/*.txt` or set KG_CORPUS_DIR"
        )
    for path in post_paths(posts_dir):
        try:
            found = read_file(path)
        except CorpusError as exc:
            failures.append(Failure("corpus", str(path), exc.message + (f" ({exc.hint})" if exc.hint else "")))
            continue
        for post in found:
            if post.id in seen:
                failures.append(
                    Failure(
                        "corpus",
                        str(path),
                        f"duplicate post id {post.id!r}, also in {seen[post.id]} "
                        "(give one of them another 'id:' in its front matter)",
                    )
                )
                continue
            seen[post.id] = str(path)
            posts.append(post)
    return posts, failures


def write_text_atomic(path: Path, text: str) -> bool:
    """Write text to path through a temporary file and a rename; return False if unchanged."""
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8", errors="replace") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return True


@dataclass
class WriteReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def write_posts(posts: Iterable[Post], posts_dir: Path) -> WriteReport:
    """Write one Markdown file per post into posts_dir (atomically, skipping unchanged ones)."""
    report = WriteReport()
    for post in posts:
        path = Path(posts_dir) / f"{post.id}.md"
        (report.written if write_text_atomic(path, render_post(post)) else report.unchanged).append(path)
    return report


def content_hash(post: Post) -> str:
    """Return a digest of everything about a post that derived data depends on."""
    h = hashlib.sha256()
    for part in (post.id, post.title, post.kind, str(post.excerpt), post.body):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    # What only posts read from markup have; a scraped post's digest stays what it was.
    extra = (post.author, post.date, post.url, post.blocks, post.links, post.origins)
    if any(extra):
        h.update(repr(extra).encode("utf-8"))
    return h.hexdigest()
