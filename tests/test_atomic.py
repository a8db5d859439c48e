"""Atomic text writes: no overwrite without force, nothing half-written on failure."""

import os

import pytest

from tunnelsim import _atomic


def test_writes_and_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    _atomic.write_text_atomic(path, "first\n")
    with pytest.raises(FileExistsError, match="out.txt"):
        _atomic.write_text_atomic(path, "second\n")
    assert path.read_text() == "first\n"
    _atomic.write_text_atomic(path, "second\n", force=True)
    assert path.read_text() == "second\n"


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    path.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _atomic.write_text_atomic(path, "new\n", force=True)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
