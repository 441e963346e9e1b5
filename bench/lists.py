"""Time the lists of issue 19: concept label completion, one /api/concepts/complete request per
keystroke, against fetching the whole scheme once (/api/concepts), the peer a page could complete
from instead; and a search sorted by post against the same search by relevance.

Usage: .venv/bin/python bench/lists.py --data DIR   (DIR: a built data directory)

In-process through Flask's test client, so the figures are the app's own work, not the network's.
"""

from __future__ import annotations

import argparse
import statistics
import time

from web import create_app

#: Typed as a reader would, one prefix per keystroke.
WORDS = ("personal health budget", "direct payments", "brokerage", "payment by results", "PHB", "co-production")
#: Searches timed in both orders (many matches and few).
SEARCHES = ("care", "personal budgets", "payment by results", "integration")


def timed(client, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code)
    return elapsed * 1000, len(response.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a built data directory")
    parser.add_argument("--rounds", type=int, default=5, help="times each keystroke is sent")
    args = parser.parse_args()
    client = create_app({"DATA_DIR": args.data}).test_client()
    first, _ = timed(client, "/api/concepts/complete?q=p")  # the labels, read once per store
    keystrokes = [word[:n] for word in WORDS for n in range(1, len(word) + 1)]
    times, sizes = [], []
    for _ in range(args.rounds):
        for typed in keystrokes:
            ms, size = timed(client, "/api/concepts/complete?q=" + typed.replace(" ", "+"))
            times.append(ms)
            sizes.append(size)
    scheme = [timed(client, "/api/concepts") for _ in range(args.rounds)]
    q = statistics.quantiles(times, n=20)
    print(f"first completion (reads the labels): {first:.1f} ms")
    print(f"completion, {len(times)} keystrokes: median {statistics.median(times):.2f} ms, p95 {q[18]:.2f} ms, "
          f"median answer {statistics.median(sizes):.0f} bytes")
    print(f"whole scheme (/api/concepts), {args.rounds} fetches: median {statistics.median(t for t, _ in scheme):.1f} ms, "
          f"{scheme[0][1]} bytes")
    for sort in ("relevance", "post", "relevance", "post"):  # twice, alternating: the second pair is warm
        ms = [
            timed(client, f"/api/search?q={q.replace(' ', '+')}&sort={sort}&page=2&limit=20")[0]
            for _ in range(args.rounds)
            for q in SEARCHES
        ]
        print(f"search page 2, sort={sort}, {len(ms)} requests: median {statistics.median(ms):.1f} ms")


if __name__ == "__main__":
    main()
