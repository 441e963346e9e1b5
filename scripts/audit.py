#!/usr/bin/env python3
"""Audit the locked dependency set (requirements.lock) for known vulnerabilities with pip-audit.

Exit 1 if any locked package has a known vulnerability. Where no vulnerability database can be
reached (an offline machine, a PyPI mirror without its JSON API), say so plainly and exit 0, so
the test run goes on; run `make audit` on a networked machine to get the answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def main() -> int:
    if not LOCK.exists():
        print(f"audit: {LOCK.name} is missing; run `make lock` to write it", file=sys.stderr)
        return 1
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "pip_audit", "-r", str(LOCK), "--no-deps", "--disable-pip",
                   "--progress-spinner", "off", "--format", "json", "-o", out.name]
        run = subprocess.run(command, capture_output=True, text=True)
        try:
            report = json.loads(Path(out.name).read_text() or "{}")
        except ValueError:
            report = {}
    packages = report.get("dependencies", [])
    if not packages:
        print(f"audit: pip-audit gave no report (exit {run.returncode}): {run.stderr.strip()[-500:]}", file=sys.stderr)
        return 1
    vulnerable = [p for p in packages if p.get("vulns")]
    skipped = [p for p in packages if p.get("skip_reason")]
    for package in vulnerable:
        ids = ", ".join(v["id"] for v in package["vulns"])
        print(f"audit: {package['name']} {package['version']}: {ids}")
    if vulnerable:
        return 1
    if len(skipped) == len(packages):
        print(f"audit: NOT AUDITED: no vulnerability database could be reached for any of the {len(packages)} "
              f"locked packages ({skipped[0]['skip_reason']}). Run `make audit` on a machine that reaches "
              "pypi.org to check them.")
        return 0
    audited = len(packages) - len(skipped)
    print(f"audit: {audited} locked packages audited, no known vulnerabilities"
          + (f"; {len(skipped)} could not be audited" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
