"""A post's own reference list, read and merged into the library the build resolves citations against.

Briefings and many posts end with "References" (or "Bibliography", "Sources", "Further reading",
"Notes"): ``kg.refs.detect`` finds the list, ``kg.refs.reflist`` reads each entry. Each entry is
kept with its provenance (post, line span, text). Merged into the library, an entry that is a
work the library holds already (same author, year and title, or a title that differs only
slightly) only fills fields the library lacks; curated fields are never overwritten; any other
entry is added under the naming rule's key (the next free suffix when another work holds it), so
the post's citations resolve even when the user's library lacks the work. An entry that cannot
be read is a Failure with its text; the build reports it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..model import Failure, Post, Reference
from .detect import is_bibliography_body, reference_sections
from .reflist import parse_entry
from .work import mint_key, to_reference

STEP = "references"
#: Titles this alike (after folding case and punctuation) are one work when author and year agree.
SAME_TITLE = 0.9


@dataclass(frozen=True)
class PostReference:
    """One entry of a post's reference list, with where it stands."""

    post_id: str
    start_line: int  # 1-based lines of the post body
    end_line: int
    start: int  # character span in the post body
    end: int
    text: str  # the entry as written
    reference: Reference


def _where(post: Post, first: int, last: int) -> str:
    lines = f"line {first}" if first == last else f"lines {first}-{last}"
    return f"{post.path or post.id} ({lines} of the body)"


def post_references(post: Post) -> tuple[list[PostReference], list[Failure]]:
    """Return the entries of a post's reference lists, and a Failure for each that cannot be read."""
    bibliography = post.kind == "bibliography" or is_bibliography_body(post.body)
    found: list[PostReference] = []
    failures: list[Failure] = []
    body = post.body
    for section in reference_sections(body, bibliography=bibliography):
        for start, end in section.entries:
            first, last = body.count("\n", 0, start) + 1, body.count("\n", 0, end) + 1
            text = " ".join(body[start:end].split())
            work, problem = parse_entry(text)
            if work is None:
                failures.append(
                    Failure(
                        STEP,
                        post.path or post.id,
                        (
                            f"{_where(post, first, last)}: cannot read the reference {text[:160]!r}: {problem}; "
                            f"write it as Author (Year) Title. Place: Publisher."
                        ),
                    )
                )
                continue
            work.where = f"{post.id}:{first}-{last}"
            found.append(PostReference(post.id, first, last, start, end, text, to_reference(work, mint_key(work))))
        for start, end in section.unread:
            line = body.count("\n", 0, start) + 1
            text = " ".join(body[start:end].split())
            failures.append(
                Failure(
                    STEP,
                    post.path or post.id,
                    (
                        f"{_where(post, line, line)}: the line {text[:160]!r} under a references heading is not "
                        f"shaped as a reference (authors, the year in parentheses, a title), so it was not "
                        f"added to the library; fix it, or move it out of the list"
                    ),
                )
            )
    return found, failures


def _fold(text: str) -> str:
    from ..references import latex_decode

    return re.sub(r"\W+", " ", latex_decode(text).casefold()).strip()


def _same_title(ref: Reference, candidates: Iterable[Reference]) -> str | None:
    """Return the key of the candidate (same author and year) whose title is ``ref``'s, nearly."""
    title = _fold(ref.title)
    for candidate in candidates:
        if difflib.SequenceMatcher(None, title, _fold(candidate.title)).ratio() >= SAME_TITLE:
            return candidate.key
    return None


def _other_key(ref: Reference, taken: Mapping[str, Reference], entry: PostReference) -> tuple[str, Failure | None]:
    """Return a free key for a listed work whose key another work holds, keeping its year as written.

    The suffix is the post's ("2014a" is what it cites), so another form of the author's name is
    tried first ("TLAP2014a" -> "ThinkLocalActPersonal2014a"); only when every form is taken does
    the suffix change, and that is reported: the post's citations of it may then not resolve.
    """
    from ..references import KEY_RULE, _free_key, key_prefix, reference_authors

    match = KEY_RULE.match(ref.key)
    stamp = (match.group("year") + match.group("suffix")) if match else ref.year
    for form in reference_authors(ref):
        key = key_prefix(form) + stamp
        if key not in taken:
            return key, None
    key = _free_key(ref.key, set(taken))
    return key, Failure(
        STEP,
        entry.post_id,
        (
            f"{entry.post_id} lines {entry.start_line}-{entry.end_line}: the listed work {entry.text[:80]!r} "
            f"would be {ref.key}, which the library gives to another work; added as {key}, so citations of "
            f"its year as the post writes it may not find it: give one of the two another key in the library"
        ),
    )


def library_with_post_references(
    library: Mapping[str, Reference], posts: Iterable[Post]
) -> tuple[dict[str, Reference], list[Failure]]:
    """Return the library with every post's own reference list merged in, and the problems found.

    The library passed in is not changed. Entries the library holds (by author, year and title)
    only fill fields it lacks; other entries are added under the naming rule's key.
    """
    from ..references import _identity

    merged = {key: Reference(r.key, r.entry_type, dict(r.fields), r.start_line) for key, r in library.items()}
    problems: list[Failure] = []
    by_identity = {_identity(ref): key for key, ref in merged.items()}
    by_author_year: dict[tuple[str, str], list[Reference]] = {}
    for identity, key in by_identity.items():
        by_author_year.setdefault(identity[:2], []).append(merged[key])
    for post in posts:
        found, failures = post_references(post)
        problems.extend(failures)
        for entry in found:
            ref = entry.reference
            identity = _identity(ref)
            known = by_identity.get(identity) or _same_title(ref, by_author_year.get(identity[:2], ()))
            if known is not None:
                curated = merged[known].fields
                for name, value in ref.fields.items():
                    curated.setdefault(name, value)  # fill what the library lacks, never overwrite
                continue
            if ref.key in merged:
                key, problem = _other_key(ref, merged, entry)
                if problem:
                    problems.append(problem)
                ref = Reference(key, ref.entry_type, dict(ref.fields))
            merged[ref.key] = Reference(ref.key, ref.entry_type, dict(ref.fields))
            by_identity[identity] = ref.key
            by_author_year.setdefault(identity[:2], []).append(merged[ref.key])
    return merged, problems
