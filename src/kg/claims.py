"""Step 2: chunk a post's body into claims, each with its exact span in the body.

A claim is a sentence of prose or a whole list item (bulleted or numbered). The rest of the
body is accounted for by skipped segments: headings (they become the ``section`` of the
claims under them), image captions, credits and figure titles, page furniture and scraping
debris (bylines, share and "Read more" lines, word counts, cookie notices, image alt text
glued to the first word of a line: see kg.furniture), list and footnote markers, and the
reference lines of bibliography posts. ``segment_post`` returns every segment in body order,
so nothing is lost silently; ``chunk_post`` returns just the claims.

A post whose reader knew its structure (Markdown, HTML, a feed: ``Post.blocks``) has its
headings and list items from the markup; a scraped post's structure is read off its text.

The rules are heuristics read off the corpus. What they cannot tell apart (a figure title
that looks like a heading, a lone alt-text line) is decided in a small reviewed file,
corpus/claims-overrides.yaml, keyed by post id and the exact line text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ClaimsError
from .furniture import CAPTION_PREFIX as _CAPTION_PREFIX
from .furniture import closing_biography, debris_kind
from .model import Claim, Failure, Post
from .refs.detect import heading_kind, in_reference_list, is_reference_line

#: Segment kinds that are claims, and those that are skipped (kept out of every claim).
CLAIM_KINDS = ("sentence", "list-item")
SKIPPED_KINDS = ("heading", "caption", "debris", "marker", "reference")
#: What an override may say a line is ("text" forces the line to be read as prose).
OVERRIDE_KINDS = ("heading", "caption", "text")


@dataclass(frozen=True)
class Segment:
    """One span of a post body: a claim (sentence, list item) or a skipped part."""

    kind: str  # one of CLAIM_KINDS or SKIPPED_KINDS
    start: int
    end: int
    text: str  # body[start:end], never with surrounding white space
    section: str | None = None  # for claims: the heading they stand under


@dataclass(frozen=True)
class ClaimOverrides:
    """Reviewed decisions the heuristics cannot make: post id -> line text -> line kind."""

    lines: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    path: str | None = None

    def kind_of(self, post_id: str, line: str) -> str | None:
        """Return the reviewed kind of a line of a post, or None if it has none."""
        table = self.lines.get(post_id)
        return table.get(_normalise(line)) if table else None


# --------------------------------------------------------------------------- overrides


def _normalise(line: str) -> str:
    # Non-breaking spaces are everywhere in the corpus and invisible in an editor, so a
    # reviewed line matches whatever white space it is written with.
    return " ".join(line.split())


def load_overrides(path: str | Path | None) -> ClaimOverrides:
    """Read the reviewed claim overrides file; a missing file means no overrides."""
    if path is None or not Path(path).exists():
        return ClaimOverrides()
    fix = "the file maps a post id to {exact line text: heading | caption | text}"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ClaimsError(f"{path}: not valid YAML: {exc}", hint=f"fix its syntax; {fix}") from None
    if not isinstance(data, dict):
        raise ClaimsError(f"{path}: expected a mapping of post ids", hint=fix)
    table: dict[str, dict[str, str]] = {}
    for post_id, lines in data.items():
        if not isinstance(post_id, str) or not isinstance(lines, dict):
            raise ClaimsError(f"{path}: entry {post_id!r} must map line texts to a kind", hint=fix)
        table[post_id] = {}
        for line, kind in lines.items():
            if not isinstance(line, str) or kind not in OVERRIDE_KINDS:
                raise ClaimsError(
                    f"{path}: {post_id}: {line!r}: kind {kind!r} is not one of {', '.join(OVERRIDE_KINDS)}", hint=fix
                )
            table[post_id][_normalise(line)] = kind
    return ClaimOverrides(table, str(path))


def check_overrides(posts: Iterable[Post], overrides: ClaimOverrides) -> list[Failure]:
    """Report overrides that name an unknown post or a line its body does not have."""
    # Only the posts the overrides name: normalising every line of every post costs a big corpus
    # time on every build, and the usual overrides file names a handful.
    named = overrides.lines.keys()
    bodies = {post.id: {_normalise(line) for line in post.body.split("\n")} for post in posts if post.id in named}
    where = overrides.path or "claim overrides"
    failures = []
    for post_id, lines in overrides.lines.items():
        if post_id not in bodies:
            failures.append(
                Failure("claims", where, f"override for unknown post {post_id!r}: fix the post id or remove the entry")
            )
            continue
        for line in lines:
            if line not in bodies[post_id]:
                failures.append(
                    Failure(
                        "claims",
                        where,
                        f"override for post {post_id!r} names a line "
                        f"it does not have: {line!r}; copy the line exactly or remove it",
                    )
                )
    return failures


# --------------------------------------------------------------------------- line shapes

# "  • item", "  1. item", "1. item" (some numbered items have no indent), "  - item".
_LIST_ITEM = re.compile(r"[^\S\n]*([•▪◦‣]|\d{1,2}[.)](?=\s))|[^\S\n]+([-–*])(?=[^\S\n])")
_FOOTNOTE_MARK = re.compile(r"\[\d{1,3}\][^\S\n]*[–—-][^\S\n]*|\*(?=\w)")
_CONTINUE_READING = re.compile(r"\s*\bContinue reading\W{0,3}\s*$")
_ROMAN = re.compile(r"(?:[IVXLC]{1,5}|[A-H])\.\s+")
_SENTENCE_PUNCT = re.compile(r"[.!?;]")
_FILE_NAME = re.compile(r"\S*_\S*|\S+\.(?:jpe?g|png|gif|svg|webp)", re.IGNORECASE)
# A chart title ends in the period it covers: "UK public spending, 1940-2015".
_CHART_TITLE = re.compile(r".*,\s*(?:19|20)\d\d(?:[-–/]\d{1,4})?\s*(?:[-–]|to)\s*(?:19|20)?\d\d(?:[-–/]\d{1,4})?")

MAX_LABEL_WORDS = 12
MAX_HEADING_WORDS = 16
MAX_QUESTION_HEADING_WORDS = 8


def _is_label(text: str) -> bool:
    """A short line without sentence punctuation at its end: a heading or a caption."""
    words = text.split()
    return 0 < len(words) <= MAX_LABEL_WORDS and text[-1] not in ".!?;:," and not text.startswith("[")


def _caption_line(text: str) -> bool:
    if _CAPTION_PREFIX.match(text) and len(text.split()) <= MAX_LABEL_WORDS:
        return True
    if " " not in text and _FILE_NAME.fullmatch(text):
        return True
    return _is_label(text) and bool(_CHART_TITLE.fullmatch(text))


def _same_caption(a: str, b: str) -> bool:
    def key(text: str) -> str:
        text = text.lower().replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")
        return " ".join(text.replace("(pdf)", " ").split())

    return key(a) == key(b)


def _heading_line(text: str) -> bool:
    """Whether a line standing alone reads as a sub-heading ("Timing", "A deliberate plan?")."""
    if not text or len(text) > 120 or text.startswith(("[", "*", "(")):
        return False
    roman = _ROMAN.match(text)
    rest = text[roman.end() :] if roman else text
    if not rest or not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "“‘\"'#£"):
        return False
    words = rest.split()
    if rest.endswith("?"):
        return len(words) <= MAX_QUESTION_HEADING_WORDS and not re.search(r"[.!?;:]", rest[:-1])
    if rest.endswith(":"):
        # "Notes:" is a heading; "The potential was clear:" introduces a quotation.
        return len(words) <= 3 and not re.search(r"[.!?;:,]", rest[:-1])
    if len(words) > 6 and "," in rest:
        return False  # "I’ve just read that under the new GP contracts for 2014/15, it is being suggested"
    return len(words) <= MAX_HEADING_WORDS and not _SENTENCE_PUNCT.search(rest) and not rest.endswith(",")


# --------------------------------------------------------------------------- glued alt text

# Words that open a sentence, so "mazeHere’s" or "IPCMy" is alt text glued to a paragraph.
# Short words that also end product names ("LinkedIn", "StartUp") are left out on purpose.
_STARTERS = frozenset(
    """
    The This These That Those There Their They Then Thus Today Tomorrow Yesterday Here My Our
    We You Your Its As At When What Why How Where Which While Who Below Above Following Last
    Next Every Each Many Most Much Some Since After Before Although Though However Over Under
    Recently Currently Earlier Later Finally First Firstly Second Secondly One Two Three Few
    Like Unlike With Without Despite Please Let Let’s Just Even Only Not Now Yes Well So Back
""".split()
)
_JOIN = re.compile(r"(?<=[a-z0-9])(?=[A-Z][a-z’'])|(?<=[A-Z]{2})(?=[A-Z][a-z’'])")
_ALT_HEAD = re.compile(r"[\w\- ]{1,60}")


def glued_alt_text(text: str) -> int:
    """Return the length of image alt text glued to the start of ``text`` (0 if none).

    "mirror mazeHere’s a post" -> 11. The join must fall in the first few words, before any
    punctuation, and either the word after it opens sentences ("Here", "The", "My") or the
    alt text is several words ending in a lower-case word ("down graphSpending"). So "PbR",
    "HoNOS", "NHSEngland" and "LinkedIn" are left alone.
    """
    head = _ALT_HEAD.match(text)
    if not head:
        return 0
    for join in _JOIN.finditer(text, 0, head.end()):
        j = join.start()
        prefix = text[:j]
        if len(prefix.split()) > 6:
            return 0
        part = re.split(r"[ _\-]", prefix)[-1]
        letters = re.match(r"[A-Za-z]+", text[j:])
        if letters is None:
            continue
        word = letters.group()
        after = text[j + len(word) : j + len(word) + 1]
        if after and not (after.isspace() or after in "’',"):
            continue
        several = bool(re.search(r"[ _]", prefix))
        lower = part.isalpha() and part.islower() and len(part) >= 3
        caps = part.isalpha() and part.isupper() and len(part) >= 2
        digit = part[-1:].isdigit()
        if word in _STARTERS and (lower or caps or digit or (several and part[:1].isupper())):
            return j
        if word not in _STARTERS and several and lower:
            return j
    return 0


# --------------------------------------------------------------------------- sentences

_TERMINATOR = re.compile(r"[.!?…]+")
_CLOSERS = "”’\"')]»"
_OPENERS = "“‘\"'([«"
_BRACKETS = re.compile(r"[“”\"()\[\]]")
_CITATION = re.compile(r"[^()]{1,150}?,\s*(?:c\.\s*)?(?:1[6-9]|20)\d\d[a-z]?(?:\s*:\s*[\w\-–.,]+)?")

#: Abbreviations whose full stop never ends a sentence.
ABBREVIATIONS = frozenset(
    """
    e.g eg i.e ie cf vs v viz al mr mrs ms mx dr prof rev revd hon sr jr st gen col lt capt sgt
    dept govt approx ca esp incl excl est resp nb
""".split()
)
#: Abbreviations that do not end a sentence when a number follows ("p. 4", "No. 10").
NUMBER_ABBREVIATIONS = frozenset(
    """
    p pp para paras no nos fig figs vol vols ch chap art s ss n c sec sect tab
    jan feb mar apr jun jul aug sep sept oct nov dec
""".split()
)


def _pairs(body: str, start: int, end: int) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """Matched quotation marks and brackets in body[start:end]: spans, and ( -> ) positions."""
    spans: list[tuple[int, int]] = []
    parens: dict[int, int] = {}
    stacks: dict[str, list[int]] = {"“": [], "(": [], "[": []}
    closing = {"”": "“", ")": "(", "]": "["}
    straight: list[int] = []
    for m in _BRACKETS.finditer(body, start, end):
        ch, i = m.group(), m.start()
        if ch == '"':
            straight.append(i)
        elif ch in stacks:
            stacks[ch].append(i)
        elif stacks[closing[ch]]:
            opened = stacks[closing[ch]].pop()
            spans.append((opened, i))
            if ch == ")":
                parens[opened] = i
    if len(straight) % 2 == 0:  # an odd count means a stray mark: pair nothing
        spans.extend(zip(straight[::2], straight[1::2]))
    return spans, parens


def _is_terminal(body: str, start: int, end: int, m: re.Match) -> bool:
    run = m.group()
    if "?" in run or "!" in run:
        return True
    if set(run.replace("...", "…")) == {"…"}:
        return False  # an ellipsis leaves the sentence open
    if run != ".":
        return True  # "…." and "....": an ellipsis then a full stop
    k = m.start()
    while k > start and (body[k - 1].isalpha() or body[k - 1] == "."):
        k -= 1
    token = body[k : m.start()]
    if not token or (k > start and body[k - 1].isdigit()):
        return True
    low = token.lower()
    if low in ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", low):
        return False
    if len(token) == 1 and token.isupper():
        return False  # an initial: "George W. Bush"
    if low in NUMBER_ABBREVIATIONS:
        n = m.end()
        while n < end and body[n].isspace():
            n += 1
        return not (n < end and (body[n].isdigit() or body[n] in "£$€"))
    return True


def _starts_sentence(body: str, n: int, end: int) -> bool:
    while n < end and body[n] in _OPENERS:
        n += 1
    if n >= end:
        return False
    ch = body[n]
    if ch.isupper() or ch.isdigit():
        return True
    return ch in "@#£$€" and n + 1 < end and body[n + 1].isalnum()


def _attached(inner: str) -> bool:
    """Whether a parenthesis after a full stop belongs to that sentence: "(DH, 2011b:6)", "(pdf)"."""
    inner = inner.strip()
    return not inner or inner[0].islower() or bool(_CITATION.fullmatch(inner))


def sentence_spans(body: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split body[start:end] into sentences: (start, end) spans without surrounding white space.

    Never breaks inside matched quotation marks or brackets, after an abbreviation or an
    initial, inside a number or a URL, or at an ellipsis; a citation or a lower-case aside in
    brackets after a full stop stays with its sentence.
    """
    end = len(body) if end is None else end
    spans, parens = _pairs(body, start, end)
    # Brackets that open a sentence hold whole sentences ("(As an aside, can someone …?
    # This, of course, is a rhetorical question.)"), so they do not stop a cut.
    free = {n for n in (_skip_space(body, start, end),) if n < end and body[n] == "("}

    def blocked(q: int) -> bool:
        return any(a < q <= b for a, b in spans if a not in free)

    cuts = [start]
    for m in _TERMINATOR.finditer(body, start, end):
        if m.start() < cuts[-1] or not _is_terminal(body, start, end, m):
            continue
        q = m.end()
        while q < end and body[q] in _CLOSERS:
            q += 1
        if blocked(q):
            continue
        while True:  # take in citations and asides in brackets: "….” (ADASS, 2009:3)."
            n = _skip_space(body, q, end)
            if n < end and body[n] == "(" and n in parens and _attached(body[n + 1 : parens[n]]):
                q = parens[n] + 1
                while q < end and body[q] in ".;," + _CLOSERS:
                    q += 1
                continue
            break
        if n >= end or n == q or not _starts_sentence(body, n, end):
            continue
        cuts.append(q)
        if body[n] == "(":
            free.add(n)
    cuts.append(end)
    result = []
    for a, b in zip(cuts, cuts[1:]):
        a, b = _trim(body, a, b)
        if a < b:
            result.append((a, b))
    return result


def _skip_space(body: str, n: int, end: int) -> int:
    while n < end and body[n].isspace():
        n += 1
    return n


def _trim(body: str, a: int, b: int) -> tuple[int, int]:
    while a < b and body[a].isspace():
        a += 1
    while b > a and body[b - 1].isspace():
        b -= 1
    return a, b


_TRAILING_ASIDE = re.compile(r"\s*\(([^()]*)\)[.,;]?\s*$")


def is_question(text: str) -> bool:
    """Whether a claim asks a question: it ends in "?" before any closing quotes or citation."""
    text = text.rstrip()
    while True:
        m = _TRAILING_ASIDE.search(text)
        if m and _attached(m.group(1)) and m.start() > 0:
            text = text[: m.start()].rstrip()
            continue
        stripped = text.rstrip(_CLOSERS + " \u00a0")
        if stripped == text:
            break
        text = stripped
    return text.endswith(("?", "?!", "!?"))


# --------------------------------------------------------------------------- segmenting


@dataclass
class _Unit:
    kind: str  # "prose" | "item"
    lines: list[tuple[int, int]]  # (start, end) of each line in the body
    marker: tuple[int, int] | None = None  # an item's bullet or number


def _blocks(body: str) -> list[list[tuple[int, int]]]:
    blocks: list[list[tuple[int, int]]] = [[]]
    pos = 0
    for line in body.split("\n"):
        span = (pos, pos + len(line))
        pos = span[1] + 1
        if line.strip():
            blocks[-1].append(span)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _units(body: str, block: list[tuple[int, int]]) -> list[_Unit]:
    units: list[_Unit] = []
    for ls, le in block:
        m = _LIST_ITEM.match(body, ls, le)
        if m and body[m.end() : le].strip():
            group = m.lastindex or 1
            units.append(_Unit("item", [(ls, le)], (m.start(group), m.end(group))))
        elif units and units[-1].kind == "item" and body[ls].isspace():
            units[-1].lines.append((ls, le))  # an indented continuation of the item
        elif units and units[-1].kind == "prose":
            units[-1].lines.append((ls, le))
        else:
            units.append(_Unit("prose", [(ls, le)]))
    return units


def _first_content(body: str) -> int:
    return len(body) - len(body.lstrip())


_NOTE_LINE = re.compile(r"\s*\[\^?\d{1,3}\]")


def _ends_prose(body: str, end: int) -> bool:
    """Whether nothing but notes and a reference list follows body[end:] (the prose ends here)."""
    # Line by line, stopping at the first line of prose: a long post is not copied or scanned whole.
    while end < len(body):
        stop = body.find("\n", end)
        stop = len(body) if stop < 0 else stop
        line = body[end:stop]
        if line.strip() and not (_NOTE_LINE.match(line) or heading_kind(line) or is_reference_line(line)):
            return False
        end = stop + 1
    return True


def _classify_lines(
    post: Post, body: str, unit: _Unit, overrides: ClaimOverrides, structured: bool = False
) -> list[str]:
    """Say what each line of a prose unit is: heading, caption, debris, reference or text.

    In a post whose markup says what is a heading (``structured``), a paragraph is never
    taken for one.
    """
    texts = [body[a:b].strip() for a, b in unit.lines]
    kinds: list[str | None] = [overrides.kind_of(post.id, t) for t in texts]
    if post.kind == "bibliography":
        kinds = [k or ("reference" if is_reference_line(t) else None) for k, t in zip(kinds, texts)]
    kinds = [k or debris_kind(t, post.author) for k, t in zip(kinds, texts)]
    if unit.lines[0][0] == _first_content(body) and kinds[0] is None and _normalise(texts[0]) == _normalise(post.title):
        kinds[0] = "debris"  # the title printed again at the top of the body
    if kinds[-1] is None and closing_biography(texts[-1]) and _ends_prose(body, unit.lines[-1][1]):
        kinds[-1] = "debris"  # the author box as the post's last line, with no author on record
    free = [i for i, k in enumerate(kinds) if k is None]
    # A block of several short unpunctuated lines is a caption ("PbR worked examples" /
    # "Click to enlarge"); so is a line the scrape doubled.
    if len(texts) >= 2 and free and all(_is_label(texts[i]) for i in free):
        for i in free:
            kinds[i] = "caption"
    for i in free:
        if kinds[i] is not None:
            continue
        doubled = any(0 <= j < len(texts) and _same_caption(texts[i], texts[j]) for j in (i - 1, i + 1))
        if (doubled and _is_label(texts[i].replace("(pdf)", "").strip() or ".")) or _caption_line(texts[i]):
            kinds[i] = "caption"
        elif len(texts) == 1 and _heading_line(texts[i]) and not structured:
            kinds[i] = "heading?"  # confirmed only if body text follows
        else:
            kinds[i] = "text"
    return [k or "text" for k in kinds]


def segment_post(post: Post, overrides: ClaimOverrides | None = None) -> list[Segment]:
    """Divide a post body into segments, in order: claims and the parts kept out of claims."""
    overrides = overrides or ClaimOverrides()
    body = post.body
    # One entry per unit: (unit, None) for a list item, (unit, kinds of its lines) for prose.
    plan: list[tuple] = []
    if post.blocks:
        plan = _plan_blocks(post, overrides)
    else:
        for block in _blocks(body):
            for unit in _units(body, block):
                kinds = _classify_lines(post, body, unit, overrides) if unit.kind == "prose" else None
                plan.append((unit, kinds))

    # A heading stands before body text; a short last line is a sentence ("What does this tell you?").
    seen_text = False
    for _, kinds in reversed(plan):
        if kinds is None:
            seen_text = True
            continue
        for i in range(len(kinds) - 1, -1, -1):
            if kinds[i] == "heading?":
                kinds[i] = "heading" if seen_text else "text"
            if kinds[i] == "text":
                seen_text = True

    segments: list[Segment] = []
    section: str | None = None

    def add(kind: str, a: int, b: int) -> None:
        a, b = _trim(body, a, b)
        kind = "reference" if kind in CLAIM_KINDS and in_reference_list(body, a) else kind
        if a < b:
            segments.append(Segment(kind, a, b, body[a:b], section if kind in CLAIM_KINDS else None))

    for unit, kinds in plan:
        if kinds is None:
            a, b = (unit.marker[1] if unit.marker else unit.lines[0][0]), unit.lines[-1][1]
            while a < b and body[a].isspace():
                a += 1
            furniture = debris_kind(body[a:b], post.author)
            if furniture:  # a share button or a credit set out as a list
                if unit.marker:
                    add("marker", *unit.marker)
                add(furniture, a, b)
                continue
            if unit.marker:
                add("marker", *unit.marker)
            glued = glued_alt_text(body[a:b])
            if glued:
                add("debris", a, a + glued)
                a += glued
            tail = _CONTINUE_READING.search(body, a, b)
            if tail and tail.start() > a:
                add("debris", tail.start(), b)
                b = tail.start()
            carved = _inline_debris(body, a, b)
            for da, db in carved:
                add("debris", da, db)
            for sa, sb in _outside(carved, a, b):
                add("list-item", sa, sb)
            continue
        run: list[tuple[int, int]] = []
        for index, ((ls, le), kind) in enumerate(zip(unit.lines, kinds)):
            if kind == "text":
                run.append((ls, le))
                continue
            _emit_run(body, run, index - len(run) == 0, add)
            run = []
            if kind == "heading":
                add("heading", ls, le)
                section = " ".join(body[ls:le].split())
            else:
                add(kind, ls, le)
        _emit_run(body, run, len(run) == len(unit.lines), add)
    # Skipped parts inside a run of prose are found before its sentences; restore body order.
    segments.sort(key=lambda segment: segment.start)
    return segments


def _emit_run(body: str, run: list[tuple[int, int]], unit_start: bool, add) -> None:
    """Emit the segments of consecutive prose lines: debris, markers, sentences."""
    if not run:
        return
    pieces: list[tuple[int, int]] = []  # prose spans between the skipped parts
    a = run[0][0]
    for i, (ls, le) in enumerate(run):
        lead = ls
        while lead < le and body[lead].isspace():
            lead += 1
        if i == 0 and unit_start:
            mark = _FOOTNOTE_MARK.match(body, lead, le)
            if mark:
                pieces.append((a, lead))
                add("marker", mark.start(), mark.end())
                a = lead = mark.end()
        glued = glued_alt_text(body[lead:le])
        if glued:
            pieces.append((a, lead))
            add("debris", lead, lead + glued)
            a = lead + glued
    end = run[-1][1]
    tail = _CONTINUE_READING.search(body, a, end)
    if tail and tail.start() > a:
        add("debris", tail.start(), end)
        end = tail.start()
    pieces.append((a, end))
    for pa, pb in pieces:
        carved = _inline_debris(body, pa, pb)
        for da, db in carved:
            add("debris", da, db)
        for qa, qb in _outside(carved, pa, pb):
            for sa, sb in sentence_spans(body, qa, qb):
                add("sentence", sa, sb)


# "(950 words)" after a title, a "[…]" or "Read more" closing an excerpt.
_INLINE_DEBRIS = re.compile(
    r"\(\s*(?:c\.\s*|approx\.?\s*)?\d[\d,]*\s+words\s*\)"
    r"|\s*\[\s*(?:…|\.\.\.)\s*\]\s*$"
    r"|(?<=[.!?…”’\s])\s*(?:read\s+more|read\s+the\s+full\s+\w+|continue\s+reading\b[^.!?]{0,80})\W{0,3}\s*$",
    re.IGNORECASE,
)


def _inline_debris(body: str, a: int, b: int) -> list[tuple[int, int]]:
    """Spans of [a, b) that are debris inside prose; never the whole of it."""
    text = body[a:b]
    low = text.lower()
    if "words" not in low and "read" not in low and "[" not in text:
        return []  # the common case, decided without the pattern
    return [m.span() for m in _INLINE_DEBRIS.finditer(body, a, b) if m.start() > a or m.end() < b]


def _outside(spans: list[tuple[int, int]], a: int, b: int) -> list[tuple[int, int]]:
    """The parts of [a, b) outside the given spans (sorted, disjoint)."""
    parts, at = [], a
    for sa, sb in spans:
        if sa > at:
            parts.append((at, sa))
        at = max(at, sb)
    if at < b:
        parts.append((at, b))
    return parts


_BLOCK_KINDS = {"heading": "heading", "caption": "caption", "code": "debris"}


def _plan_blocks(post: Post, overrides: ClaimOverrides) -> list[tuple]:
    """Plan the segments of a post whose markup gave its blocks: headings and list items as
    the markup says, paragraphs and quotations read line by line like any prose."""
    body = post.body
    plan: list[tuple] = []
    for block in post.blocks:
        lines = []
        pos = block.start
        for line in body[block.start : block.end].split("\n"):
            if line.strip():
                lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        if not lines:
            continue
        if block.kind in _BLOCK_KINDS:
            kind = _BLOCK_KINDS[block.kind]
            if kind == "heading":
                kind = debris_kind(body[block.start : block.end], post.author) or kind
            plan.append((_Unit("prose", [(block.start, block.end)]), [kind]))
        elif block.kind == "list-item":
            plan.append((_Unit("item", [(block.start, block.end)]), None))
        else:
            for unit in _units(body, lines):
                kinds = _classify_lines(post, body, unit, overrides, structured=True) if unit.kind == "prose" else None
                plan.append((unit, kinds))
    return plan


# --------------------------------------------------------------------------- claims


def claim_id(post_id: str, text: str) -> str:
    """Return the stable id of a claim: it depends only on the post id and the claim text."""
    return "c" + hashlib.sha1(f"{post_id}\n{text}".encode()).hexdigest()[:10]


def chunk_post(post: Post, overrides: ClaimOverrides | None = None) -> list[Claim]:
    """Chunk a post into claims: its sentences and list items, with exact offsets and sections."""
    if not isinstance(post.body, str):
        raise ClaimsError(f"post {post.id} has no text body", hint="check its file in corpus/posts")
    segments = segment_post(post, overrides)
    claims: list[Claim] = []
    seen: dict[str, int] = {}
    for segment in segments:
        if segment.kind not in CLAIM_KINDS:
            continue
        base = claim_id(post.id, segment.text)
        seen[base] = seen.get(base, 0) + 1
        cid = base if seen[base] == 1 else f"{base}-{seen[base]}"
        claims.append(
            Claim(
                id=cid,
                post_id=post.id,
                ordinal=len(claims) + 1,
                start=segment.start,
                end=segment.end,
                text=segment.text,
                section=segment.section,
                kind=segment.kind,
                is_question=is_question(segment.text),
            )
        )
    return claims


def chunk_posts(posts: Iterable[Post], overrides: ClaimOverrides | None = None) -> tuple[list[Claim], list[Failure]]:
    """Chunk many posts; a post that cannot be chunked becomes a Failure, the rest go on."""
    claims: list[Claim] = []
    failures: list[Failure] = []
    for post in posts:
        try:
            claims.extend(chunk_post(post, overrides))
        except ClaimsError as exc:
            failures.append(Failure("claims", post.path or post.id, str(exc)))
    return claims, failures
