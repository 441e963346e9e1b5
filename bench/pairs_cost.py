"""What the index's pairs field costs the index build: write_index with and without it, one process.

    .venv/bin/python bench/pairs_cost.py CORPUS_DIR [--rounds 2]

CORPUS_DIR is a corpus folder (posts/ + references.bib), e.g. one bench/generate.py wrote. The
pipeline runs once; the index is then written alternately with the schema as it is and with the
pairs field taken out (schema and documents), and the CPU and wall seconds of each are printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from kg import build, index
from kg.settings import load_settings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", help="a corpus folder (posts/ and references.bib)")
    parser.add_argument("--rounds", type=int, default=2, help="times each variant is written (alternating)")
    args = parser.parse_args(argv)
    settings = load_settings(env={"KG_CORPUS_DIR": args.corpus, "KG_DATA_DIR": tempfile.mkdtemp()})
    corpus = build.run_pipeline(settings)
    with_schema, with_document = index.schema, index._document

    def schema_without():
        schema = with_schema()
        schema.remove("pairs")
        return schema

    def document_without(*args, **kwargs):
        doc = with_document(*args, **kwargs)
        doc.pop("pairs")
        return doc

    print(f"{len(corpus.claims):,} claims; pairs of {', '.join(index.PAIRED_FIELDS)}")
    try:
        for round_ in range(1, args.rounds + 1):
            for label, variant in (("with pairs", (with_schema, with_document)),
                                   ("without pairs", (schema_without, document_without))):
                index.schema, index._document = variant
                cpu, wall = time.process_time(), time.perf_counter()
                with tempfile.TemporaryDirectory() as folder:
                    index.write_index(corpus, folder)
                print(f"round {round_}, {label}: CPU {time.process_time() - cpu:.1f} s, "
                      f"wall {time.perf_counter() - wall:.1f} s", flush=True)
    finally:
        index.schema, index._document = with_schema, with_document


if __name__ == "__main__":
    main()
