"""Count the project files and functions two request paths visit: a citation looked up to its
source page, and a search (issue 16's measure of how hard the code is to follow).

Run it with the checkout to measure on the path first, e.g. for another worktree:
    PYTHONPATH=OTHER/src:OTHER .venv/bin/python bench/trace_paths.py --root OTHER --data /tmp/kg-trace-data
The data directory is built from the seed corpus if empty. Requests are traced on a warm app
(modules imported, store open) with the per-store answers dropped, so each is a first view.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PATHS = (("citation lookup -> /source", "/cite?q=(DH, 2011b:6)"), ("search", "/search?q=personal+budgets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="checkout whose files count (default: this one)")
    parser.add_argument("--data", type=Path, required=True, help="data directory (built here if empty)")
    parser.add_argument("--files", action="store_true", help="list the files with their function counts")
    parser.add_argument("--functions", action="store_true", help="with --files, name the functions too")
    args = parser.parse_args()
    root = args.root.resolve()

    from kg.settings import load_settings
    from web import create_app

    settings = load_settings(env={}, data_dir=args.data)
    if not args.data.exists() or not any(args.data.iterdir()):
        from kg import build
        build.build(settings)
    app = create_app(settings)
    client = app.test_client()
    html = {"Accept": "text/html"}
    for _, path in PATHS:  # warm: imports and the first store open are not the path
        client.get(path, headers=html, follow_redirects=True)

    for name, path in PATHS:
        seen: dict[str, set[str]] = {}

        def tracer(frame, event, arg):
            filename = frame.f_code.co_filename
            if event == "call" and filename.startswith(str(root)) and "/.venv/" not in filename:
                seen.setdefault(os.path.relpath(filename, root), set()).add(frame.f_code.co_name)

        state = app.extensions["kg"]
        with state.lock:
            state.answers = None  # a first view, not a kept one
        sys.settrace(tracer)
        try:
            response = client.get(path, headers=html, follow_redirects=True)
        finally:
            sys.settrace(None)
        assert response.status_code == 200, (path, response.status_code)
        print(f"{name}: {len(seen)} files, {sum(len(v) for v in seen.values())} functions")
        if args.files:
            for filename in sorted(seen):
                print(f"  {filename}: {len(seen[filename])}  {' '.join(sorted(seen[filename])) if args.functions else ''}".rstrip())


if __name__ == "__main__":
    main()
