"""Atomic file output: nothing already written is lost or half-overwritten.

:func:`atomic_output` is the one mechanism every writer of the package uses (result sets,
validation reports, figures, CSV and JSON files): the content goes to a temporary file in the
target's directory, which :func:`os.replace` then moves into place, so the target holds either
its old content or the complete new one. :func:`write_text_atomic` is its form for text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_output", "write_text_atomic"]


@contextlib.contextmanager
def atomic_output(path, force=False, what="file"):
    """Write ``path`` through a temporary file next to it, moved into place by :func:`os.replace`.

    The block writes to the yielded temporary path (named ``.<name>.<random>.tmp`` in the
    target's directory, so the rename never crosses file systems). When the block finishes
    the temporary file replaces ``path``; on any error or interruption (any
    :class:`BaseException`) it is removed, and ``path`` keeps its old content.

    Parameters
    ----------
    path : str or os.PathLike
        The target; missing parent directories are created.
    force : bool, optional
        Replace an existing ``path``. Without it an existing ``path`` is refused before
        anything is written, and a ``path`` that appeared while the block was writing is
        refused (and left alone) at the end.
    what : str, optional
        What the file is, for the error messages (``"result set"``, ...).

    Yields
    ------
    pathlib.Path
        The temporary file to write to; it exists and is empty (created with mode ``0o600``
        by :func:`tempfile.mkstemp`; change it inside the block if others should read it).

    Raises
    ------
    FileExistsError
        If ``path`` exists, or appeared while writing, and ``force`` is false.

    Examples
    --------
    >>> with atomic_output("out.h5", force=True) as tmp:  # doctest: +SKIP
    ...     with h5py.File(tmp, "w") as f:
    ...         f["x"] = [1, 2, 3]
    """
    path = Path(path)
    if not force and path.exists():
        raise FileExistsError(f"{path}: {what} exists; use force (--force) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        yield tmp
        if not force and path.exists():
            raise FileExistsError(f"{path}: {what} appeared while writing; use force (--force) to replace it")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text, force=False):
    """Write ``text`` to ``path`` atomically (:func:`atomic_output`).

    Parameters
    ----------
    path : str or os.PathLike
        Output file; missing parent directories are created.
    text : str
        Content, written as UTF-8 with the newlines given.
    force : bool, optional
        Replace an existing file (otherwise :class:`FileExistsError`).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with atomic_output(path, force) as tmp, open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path
