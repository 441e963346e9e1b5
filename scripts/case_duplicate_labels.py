"""List (or, with --fix, drop) the labels of ontology/concepts.ttl that repeat another label of the
same concept but for case ("Payment by Results" and "payment by results").

    .venv/bin/python scripts/case_duplicate_labels.py [--fix] [FILE]

Matching is case-insensitive for every label that is not an acronym (kg.concepts.is_acronym), so
such a label finds nothing its twin does not, and the pages would show it twice. With --fix the
alternative or hidden label is removed from the file (the preferred label stays), editing the
Turtle text in place so its layout and comments are kept. Exits 1 when duplicates remain.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from kg.concepts import is_acronym

DEFAULT = Path(__file__).resolve().parents[1] / "ontology" / "concepts.ttl"
PREDICATES = (("prefLabel", SKOS.prefLabel), ("altLabel", SKOS.altLabel), ("hiddenLabel", SKOS.hiddenLabel))


def duplicates(path: Path) -> list[tuple[str, str, str, str]]:
    """Return (concept IRI, predicate name, label to drop, label it repeats) for each case-only twin."""
    graph = Graph().parse(path)
    found = []
    for subject in sorted(set(graph.subjects(SKOS.prefLabel, None))):
        kept: dict[str, str] = {}
        for name, predicate in PREDICATES:
            for label in sorted(str(o) for o in graph.objects(subject, predicate) if isinstance(o, Literal)):
                if is_acronym(label):
                    continue  # acronyms are matched with their case: "NICE" and "nice" differ
                twin = kept.setdefault(label.casefold(), label)
                if twin != label:
                    found.append((str(subject), name, label, twin))
    return found


def drop(text: str, subject: str, predicate: str, label: str) -> str:
    """Remove ``"label"@xx`` from the ``skos:predicate`` list of the block describing ``subject``."""
    local = subject.rsplit("/", 1)[-1]
    block = re.search(rf"(?ms)^kgc:{re.escape(local)}\b.*?\.\s*$", text)
    if block is None:
        raise SystemExit(f"cannot find the block of kgc:{local} in the file")
    literal = rf'"{re.escape(label)}"(?:@[\w-]+)?'
    body = block.group(0)
    changed = re.sub(rf",\s*{literal}(?=\s*[,;.])", "", body, count=1)
    if changed == body:
        changed = re.sub(rf"{literal}\s*,\s*", "", body, count=1)
    if changed == body:
        changed = re.sub(rf"\s*skos:{predicate}\s+{literal}\s*;", "", body, count=1)
    if changed == body:
        raise SystemExit(f"cannot remove {label!r} from kgc:{local} by hand-safe editing: edit the file")
    return text[:block.start()] + changed + text[block.end():]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--fix", action="store_true", help="remove the duplicates from the file")
    args = parser.parse_args()
    found = duplicates(args.file)
    for subject, predicate, label, twin in found:
        print(f"{subject.rsplit('/', 1)[-1]}: skos:{predicate} {label!r} repeats {twin!r}")
    if args.fix and found:
        text = args.file.read_text(encoding="utf-8")
        for subject, predicate, label, _ in found:
            text = drop(text, subject, predicate, label)
        args.file.write_text(text, encoding="utf-8")
        left = duplicates(args.file)
        print(f"removed {len(found) - len(left)} of {len(found)}")
        return 1 if left else 0
    print(f"{len(found)} case-only duplicate labels")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
