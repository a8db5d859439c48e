"""Atomic text output: nothing already written is lost or half-overwritten."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomic(path, text, force=False):
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename.

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
    if path.exists() and not force:
        raise FileExistsError(f"{path}: file exists; use force (--force) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
