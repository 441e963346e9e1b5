"""Measure how many entries of posts' reference lists kg reads right: authors, year, title.

    .venv/bin/python bench/reference_lists.py [--errors]

Reads the judged set tests/data/refs/judged-reference-lists.yaml (entries judged by hand from
the test posts under tests/data/refs/posts/ and the pasted list tests/data/refs/harvard-list.txt)
and compares each with the library entry kg makes of it (kg.refs.postrefs for posts,
kg.refs.reflist for the list): the authors' family names (or bodies' names) in order, the year
with its suffix, the title. An entry kg reports instead of reading counts as wrong but reported;
one neither read nor reported would be lost. Results are recorded in bench/RESULTS-references.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from kg.corpus import load_posts
from kg.references import _family_name, key_year, latex_decode, split_names
from kg.refs.postrefs import post_references
from kg.refs.reflist import parse_reference

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "refs"


def _seen(ref) -> dict:
    names = ref.fields.get("author") or ref.fields.get("editor") or ""
    return {"authors": [_family_name(n) for n in split_names(names)],
            "year": key_year(ref), "title": latex_decode(ref.title).strip()}


def file_line(post, start: int, end: int) -> int:
    """Return the line of the post's file where body[start:end] begins (what a person sees)."""
    text = Path(post.path).read_text(encoding="utf-8")
    span = post.file_span(start, end)
    if span is None:  # a verbatim body follows its front matter
        return text[:text.index(post.body) + start].count("\n") + 1
    return text[:span[0]].count("\n") + 1


def evaluate(data: Path = DATA) -> dict:
    judged = yaml.safe_load((data / "judged-reference-lists.yaml").read_text(encoding="utf-8"))
    rows = []  # (where, expected, seen or None, reported)
    posts = {p.id: p for p in load_posts(data / "posts")[0]}
    for post_id, entries in judged["posts"].items():
        found, failures = post_references(posts[post_id])
        by_line = {file_line(posts[post_id], e.start, e.end): e.reference for e in found}
        for entry in entries:
            ref = by_line.get(entry["line"])
            rows.append((f"{post_id}:{entry['line']}", entry, _seen(ref) if ref else None, bool(failures)))
    for name, entries in judged["lists"].items():
        lines = (data / name).read_text(encoding="utf-8").split("\n")
        for entry in entries:
            ref, problem = parse_reference(lines[entry["line"] - 1])
            rows.append((f"{name}:{entry['line']}", entry, _seen(ref) if ref else None, problem is not None))
    fields = {"authors": 0, "year": 0, "title": 0}
    right, reported, errors = 0, 0, []
    for where, expected, seen, was_reported in rows:
        if seen is None:
            reported += was_reported
            errors.append(f"{where}: not read" + (" (reported)" if was_reported else " (LOST)"))
            continue
        ok = {f: seen[f] == str(expected[f]) if f != "authors" else seen[f] == expected[f] for f in fields}
        for f in fields:
            fields[f] += ok[f]
        if all(ok.values()):
            right += 1
        else:
            errors.append(f"{where}: " + "; ".join(f"{f} {seen[f]!r} (judged {expected[f]!r})"
                                                    for f in fields if not ok[f]))
    unreadable = judged.get("unreadable", {})
    reported_texts = sum(
        any(text in f.message for f in post_references(posts[pid])[1]) for pid, texts in unreadable.items() for text in texts)
    return {"entries": len(rows), "right": right, "fields": fields, "reported": reported, "errors": errors,
            "unreadable": sum(len(t) for t in unreadable.values()), "unreadable_reported": reported_texts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="List every entry read wrong.")
    args = parser.parse_args(argv)
    result = evaluate()
    n = result["entries"]
    print(f"judged entries: {n}")
    print(f"all three right: {result['right']} ({result['right'] / n:.3f})")
    for name, count in result["fields"].items():
        print(f"  {name:<8} right: {count} ({count / n:.3f})")
    print(f"not read but reported with their text: {result['reported']}")
    print(f"judged unreadable lines reported: {result['unreadable_reported']} of {result['unreadable']}")
    if args.errors:
        for line in result["errors"]:
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
