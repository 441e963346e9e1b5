"""kg.files.atomic_write: the old content or the new, never half; modes that a server can read."""

import os
import stat

import pytest

from kg.files import atomic_write


def test_a_new_file_follows_the_umask_and_holds_the_text(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "Payment by Results — 2011\n")
    finally:
        os.umask(old)
    path = tmp_path / "a.txt"
    assert path.read_text(encoding="utf-8") == "Payment by Results — 2011\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "library.bib"
    path.write_bytes(b"old")
    path.chmod(0o600)
    atomic_write(path, b"new", durable=False)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "posts.md"
    path.write_text("old", encoding="utf-8")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        atomic_write(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["posts.md"]
