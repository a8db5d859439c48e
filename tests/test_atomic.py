"""Atomic output: no overwrite without force, nothing half-written on failure, no temporary left.

The mechanism (:func:`tunnelsim._atomic.atomic_output`) is tested directly, then every writer of
the package that goes through it, with the rename failing half-way.
"""

import os

import numpy as np
import pytest

from tunnelsim import _atomic, plotting, results
from tunnelsim.fitting import figures
from tunnelsim._atomic import atomic_output, write_text_atomic
from tunnelsim.ensemble import EnsembleResult


def names_in(directory):
    return sorted(p.name for p in directory.iterdir())


def broken_replace(src, dst):
    raise OSError("disk full")


# --------------------------------------------------------------------------- write_text_atomic
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

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _atomic.write_text_atomic(path, "new\n", force=True)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_text_is_utf8_with_the_newlines_given(tmp_path):
    path = write_text_atomic(tmp_path / "out.csv", "T_K,Å\r\n1,2\n")
    assert path == tmp_path / "out.csv"
    assert path.read_bytes() == "T_K,Å\r\n1,2\n".encode()


def test_refusal_message_names_the_file_and_force(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    with pytest.raises(FileExistsError, match=r"out\.txt: file exists; use force \(--force\)"):
        write_text_atomic(path, "new\n")
    assert names_in(tmp_path) == ["out.txt"]


# --------------------------------------------------------------------------- atomic_output
def test_the_block_writes_a_temporary_next_to_the_target_then_it_replaces_the_target(tmp_path):
    path = tmp_path / "a" / "b" / "out.bin"
    with atomic_output(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.startswith(".out.bin.") and tmp.suffix == ".tmp"
        assert tmp.exists() and tmp.stat().st_size == 0 and not path.exists()
        tmp.write_bytes(b"new")
    assert path.read_bytes() == b"new"
    assert names_in(path.parent) == ["out.bin"]


@pytest.mark.parametrize("old", [pytest.param("old\n", id="replacing"), pytest.param(None, id="creating")])
@pytest.mark.parametrize("error", [pytest.param(ValueError, id="error"), pytest.param(KeyboardInterrupt, id="interrupt")])
def test_an_error_in_the_block_keeps_the_old_state_and_leaves_no_temporary(tmp_path, error, old):
    path = tmp_path / "out.txt"
    if old is not None:
        path.write_text(old)
    with pytest.raises(error, match="stop"):
        with atomic_output(path, force=True) as tmp:
            tmp.write_text("half of the new")
            raise error("stop")
    if old is None:
        assert names_in(tmp_path) == []
    else:
        assert path.read_text() == old
        assert names_in(tmp_path) == ["out.txt"]


def test_an_existing_target_is_refused_before_the_block_runs(tmp_path):
    path = tmp_path / "out.h5"
    path.write_text("old\n")
    with pytest.raises(FileExistsError, match=r"out\.h5: result set exists; use force \(--force\)"):
        with atomic_output(path, what="result set"):
            pytest.fail("the block ran although the target exists")
    assert path.read_text() == "old\n"
    assert names_in(tmp_path) == ["out.h5"]


def test_a_target_that_appears_while_writing_is_kept_unless_forced(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(FileExistsError, match=r"out\.txt: file appeared while writing; use force \(--force\)"):
        with atomic_output(path) as tmp:
            tmp.write_text("mine\n")
            path.write_text("theirs\n")
    assert path.read_text() == "theirs\n"
    assert names_in(tmp_path) == ["out.txt"]

    with atomic_output(path, force=True) as tmp:
        tmp.write_text("mine\n")
    assert path.read_text() == "mine\n"


def test_validation_outputs_uses_the_same_mechanism():
    from tunnelsim.validation import outputs

    assert outputs.atomic_output is atomic_output


# --------------------------------------------------------------------------- the writers
def small_result():
    T = np.array([2.0, 4.0])
    B = np.array([0.5, 1.0])
    mag = 1e-4 * np.outer(1.0 / T, B)
    return EnsembleResult(
        temperature_K=T,
        field_T=B,
        values={"magnetization": mag},
        errors={"magnetization": 0.05 * mag},
        units={"magnetization": "emu/g"},
        long_names={"magnetization": "magnetisation per gram"},
        info={"method": "quadrature"},
    )


def small_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    FigureCanvasAgg(fig)
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


WRITERS = [
    pytest.param(lambda path: write_text_atomic(path, "new\n", force=True), "out.txt", id="write_text_atomic"),
    pytest.param(lambda path: results.write_result(path, small_result(), force=True), "out.h5", id="write_result"),
    pytest.param(lambda path: plotting.save_figure(small_figure(), path), "out.png", id="plotting.save_figure"),
    pytest.param(lambda path: plotting.save_quicklook(small_result(), path, dpi=20), "out.png", id="save_quicklook"),
    pytest.param(lambda path: figures.save_figure(small_figure(), path), "out.svg", id="figures.save_figure"),
]


@pytest.mark.parametrize(("write", "name"), WRITERS)
def test_every_writer_writes_then_a_failing_rename_keeps_the_old_file(tmp_path, monkeypatch, write, name):
    path = tmp_path / name
    assert write(path) == path
    written = path.read_bytes()
    assert written and names_in(tmp_path) == [name]

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write(path)
    assert path.read_bytes() == written
    assert names_in(tmp_path) == [name]


def test_figures_take_their_format_from_the_suffix(tmp_path):
    png = plotting.save_figure(small_figure(), tmp_path / "f.png", dpi=20)
    svg = figures.save_figure(small_figure(), tmp_path / "f.SVG")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in svg.read_bytes()[:1000]


def test_result_set_is_refused_without_force_before_anything_is_written(tmp_path):
    path = tmp_path / "r.h5"
    path.write_text("old\n")
    with pytest.raises(FileExistsError, match=r"r\.h5: result set exists; use force \(--force\)"):
        results.write_result(path, small_result())
    assert path.read_text() == "old\n"
    assert names_in(tmp_path) == ["r.h5"]

