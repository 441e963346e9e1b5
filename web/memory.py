"""What a server process holds in memory, from /proc (Linux): resident and proportional set size.

RSS counts every page a process maps, shared ones in full, so the RSS of forked workers adds up
to more than the machine gives them; PSS splits each shared page between the processes sharing
it, so the PSS of a master and its workers adds up to what they hold together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Memory:
    rss_kib: int
    pss_kib: int
    shared_kib: int  # resident pages shared with another process (clean or dirty)

    def __str__(self) -> str:
        return (
            f"RSS {self.rss_kib / 1024:.0f} MiB, PSS {self.pss_kib / 1024:.0f} MiB "
            f"({self.shared_kib / 1024:.0f} MiB of its pages shared)"
        )


def process_memory(pid: int) -> Memory | str:
    """The memory of process ``pid`` (``/proc/PID/smaps_rollup``), or a note where it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return "memory not known here (no /proc/PID/smaps_rollup)"
    fields = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    return Memory(
        fields.get("Rss", 0), fields.get("Pss", 0), fields.get("Shared_Clean", 0) + fields.get("Shared_Dirty", 0)
    )
