"""Time the lists of claims (issue 19 item 2): every claim, the most-cited source's and the broadest
concept's, a page of 100 (50 on the concept page), in post order and by post date.

Usage: .venv/bin/python bench/claim_lists.py --data DIR   (DIR: a built data directory)

In-process through Flask's test client, so the figures are the app's own work, not the network's.
The first request of each path is reported apart (cold: the index's rank arrays are made once per
index version), then the median of ``--rounds`` more. Against a kg that has no ``sort=`` on these
routes the parameter is ignored and the list comes in post order: the same work as before.
"""

from __future__ import annotations

import argparse
import statistics
import time

from web import create_app


def timed(client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a built data directory")
    parser.add_argument("--rounds", type=int, default=5, help="times each path is asked after the first")
    args = parser.parse_args()
    client = create_app({"DATA_DIR": args.data}).test_client()
    source = client.get("/api/sources?sort=citations&limit=1").get_json()["sources"][0]["key"]
    concepts = client.get("/api/concepts").get_json()["tree"]
    broadest = max(concepts, key=lambda c: c["claims"])["id"]
    lists = {
        "every claim": "/api/claims?limit=100",
        f"source {source}": f"/api/claims?source={source}&limit=100",
        f"concept {broadest}": f"/api/claims?concept={broadest}&limit=100",
        f"concept page {broadest}": f"/api/concept/{broadest}?limit=50",
    }
    print("| list | sort | page | first | median |")
    print("|---|---|---|---|---|")
    for name, path in lists.items():
        total = client.get(path).get_json()
        pages = total.get("pages") or 1
        for sort in ("post", "newest", "oldest"):
            for page in sorted({1, max(1, pages // 2)}):
                url = f"{path}&sort={sort}&page={page}"
                first = timed(client, url)
                rest = [timed(client, url) for _ in range(args.rounds)]
                print(f"| {name} | {sort} | {page} of {pages} | {first:.1f} ms | {statistics.median(rest):.1f} ms |")


if __name__ == "__main__":
    main()
