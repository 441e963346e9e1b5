"""Starting and stopping `kg serve` subprocesses, shared by the fixtures and tests that run one."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen) -> None:
    """Stop a server process: terminate, then kill if it has not exited in 10 s; close its pipes."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
