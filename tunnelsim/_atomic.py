"""Atomic file output: nothing already written is lost or half-overwritten.

:func:`atomic_output` is the one mechanism every writer of the package uses (result sets,
validation reports, figures, CSV and JSON files): the content goes to a temporary file in the
target's directory, which :func:`os.replace` then moves into place, so the target holds either
its old content or the complete new one. :func:`write_text_atomic` is its form for text.

:func:`atomic_outputs` does the same for several files that belong together (a result set and
its quick-look figure): every file is written under a temporary name first, then all are moved
into place one after the other while an advisory lock (:func:`fcntl.flock`) is held on the
target directory, so two runs writing the same outputs concurrently never leave the file of
one beside the file of the other (each run's renames happen as one block; the last block wins).
The lock is on the directory itself, so no lock file is left behind; where the file system does
not support it the renames go ahead unlocked.

Files are created with the mode the process's umask gives (``0o666 & ~umask``, like
:func:`open`), not the ``0o600`` of :func:`tempfile.mkstemp`: the temporary file is created
with :func:`os.open` and ``O_CREAT | O_EXCL``, so the kernel applies the umask and nothing
global is read or changed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_output", "atomic_outputs", "check_output_path", "write_text_atomic"]

#: Attempts at a fresh temporary name before giving up (names carry 64 random bits).
_NAME_ATTEMPTS = 100


def _create_temporary(path):
    """A new empty file ``.<name>.<random>.tmp`` next to ``path``, mode ``0o666 & ~umask``."""
    for _ in range(_NAME_ATTEMPTS):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{path.parent}: could not create a temporary file for {path.name}")


def check_output_path(path, force=False, what="file", protected=()):
    """Check, before any work, that ``path`` can be written; raise a one-line error if not.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    force : bool
        Whether an existing file may be replaced.
    what : str
        What the file is, for the messages.
    protected : sequence of path-like
        Files that must not be replaced (e.g. the input config): refused even with ``force``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    IsADirectoryError
        If ``path`` is a directory.
    FileExistsError
        If ``path`` exists and ``force`` is false.
    ValueError
        If ``path`` is one of ``protected`` (same file, also through links).
    PermissionError, NotADirectoryError, OSError
        If the directory cannot be created or is not writable.
    """
    path = Path(path)
    for other in protected:
        other = Path(other)
        same = other.exists() and path.exists() and os.path.samefile(path, other)
        if same or path.resolve() == other.resolve():
            raise ValueError(f"{path}: the {what} would replace the input file {other}; give another output path")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name for the {what}")
    if path.exists() and not force:
        raise FileExistsError(f"{path}: {what} exists; use force (--force) to replace it")
    parent = path.parent
    existing = parent
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(f"{existing}: not a directory, so {path} cannot be written")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"{existing}: directory is not writable, so the {what} {path} cannot be written")
    if path.exists() and not os.access(path, os.W_OK) and not os.access(parent, os.W_OK):
        raise PermissionError(f"{path}: not writable")
    return path


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT and SIGTERM back (this thread) while the renames run, so they complete as a block."""
    import signal

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - not POSIX
        yield
        return
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _directory_lock(directory):
    """Hold an exclusive :func:`fcntl.flock` on ``directory`` (no lock where unsupported)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


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
        The temporary file to write to; it exists and is empty, created with the mode the
        umask gives (``0o666 & ~umask``), which the target keeps.

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
    tmp = _create_temporary(path)
    try:
        yield tmp
        if not force and path.exists():
            raise FileExistsError(f"{path}: {what} appeared while writing; use force (--force) to replace it")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_outputs(targets, force=False):
    """Write several files that belong together; all are moved into place as one block.

    Like :func:`atomic_output` for each target, but the renames happen only when the whole
    block has finished, one after the other while an exclusive advisory lock is held on the
    first target's directory (module docstring). On any error or interruption every temporary
    file is removed and every target keeps its old content.

    Parameters
    ----------
    targets : sequence of (path-like, str)
        The output files and what each is (for the messages).
    force : bool, optional
        Replace existing files (otherwise :class:`FileExistsError`, checked before and again
        under the lock).

    Yields
    ------
    list of pathlib.Path
        One temporary file per target, in order.
    """
    targets = [(Path(p), what) for p, what in targets]
    for path, what in targets:
        if not force and path.exists():
            raise FileExistsError(f"{path}: {what} exists; use force (--force) to replace it")
    temporaries = []
    try:
        for path, _ in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporaries.append(_create_temporary(path))
        yield list(temporaries)
        with _directory_lock(targets[0][0].parent), _signals_deferred():
            if not force:
                for path, what in targets:
                    if path.exists():
                        raise FileExistsError(
                            f"{path}: {what} appeared while writing; use force (--force) to replace it")
            for tmp, (path, _) in zip(temporaries, targets):
                os.replace(tmp, path)
    except BaseException:
        for tmp in temporaries:
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
