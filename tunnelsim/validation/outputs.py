"""Where the validation writes: figure file names, the overwrite guard and atomic replacement."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["FIGURE_FILES", "atomic_output", "check_outputs", "figure_names"]

#: part -> file name of its figure
FIGURE_FILES = {
    "gap_fit": "gap_mapping.png",
    "eq10_exact": "eq10_vs_exact.png",
    "weak_field": "weak_field.png",
    "high_field": "high_field.png",
    "four_well": "four_well.png",
}


def figure_names():
    """File names of the figures :func:`~tunnelsim.validation.save_figures` writes (when the part was run)."""
    return tuple(FIGURE_FILES.values())


def check_outputs(path, plots_dir=None, force=False):
    """Raise FileExistsError if the report (``path``, may be None) or a figure exists and ``force`` is false."""
    targets = [] if path is None else [Path(path)]
    if plots_dir is not None:
        targets += [Path(plots_dir) / name for name in figure_names()]
    if not force:
        for target in targets:
            if target.exists():
                raise FileExistsError(f"{target}: exists; use --force to replace it")


@contextlib.contextmanager
def atomic_output(path, force=False):
    """Write ``path`` through a temporary file next to it, moved into place by :func:`os.replace`.

    Yields the temporary file's name; when the block finishes the file replaces ``path``, and on
    any error (or interruption) it is removed, so ``path`` holds either its old content or the
    complete new one.

    Parameters
    ----------
    path : pathlib.Path
        The target; its directory must exist.
    force : bool, optional
        Replace a ``path`` that appeared while writing (otherwise :class:`FileExistsError`).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        if path.exists() and not force:
            raise FileExistsError(f"{path}: appeared while writing; use --force to replace it")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
