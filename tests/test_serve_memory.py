"""kg serve's memory habits: two malloc arenas, and freed heap handed back after slow requests."""

from __future__ import annotations

import platform
import time

import pytest

from web.server import TrimAfterSlowRequests, limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_malloc_arenas_are_capped_on_glibc():
    assert limit_malloc_arenas() is True


def _app(delay: float):
    def app(environ, start_response):
        time.sleep(delay)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"answer"]
    return app


@pytest.mark.parametrize("delay, trimmed", [(0.0, []), (0.05, [0])])
def test_heap_is_trimmed_only_after_a_slow_request(delay, trimmed):
    calls: list[int] = []
    wrapped = TrimAfterSlowRequests(_app(delay), seconds=0.04)
    wrapped._trim = calls.append  # malloc_trim itself is the edge of the world
    statuses = []
    body = wrapped({}, lambda status, headers: statuses.append(status))
    assert (list(body), statuses, calls) == ([b"answer"], ["200 OK"], trimmed)
