"""Provenance of every written output: the tunnelsim version, the time, the command, the libraries.

One writer of these attributes for HDF5 result sets (:mod:`tunnelsim.results`) and validation
reports (:mod:`tunnelsim.validation.hdf5`), so both carry the same keys.
"""

from __future__ import annotations

import datetime as _dt
import platform

import numpy as np

from . import __version__

__all__ = ["PROVENANCE_KEYS", "provenance_attrs"]

#: The keys :func:`provenance_attrs` sets.
PROVENANCE_KEYS = ("tunnelsim_version", "created", "command", "numpy_version", "scipy_version", "h5py_version",
                   "python_version")


def provenance_attrs(command=None):
    """Provenance attributes of an output written now.

    Parameters
    ----------
    command : str, optional
        The command line that made the output ("" when not given).

    Returns
    -------
    dict of str to str
        ``tunnelsim_version``, ``created`` (ISO 8601, UTC, seconds), ``command`` and the versions
        of numpy, scipy, h5py and Python.
    """
    import h5py
    import scipy

    return {
        "tunnelsim_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "" if command is None else str(command),
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "h5py_version": h5py.__version__,
        "python_version": platform.python_version(),
    }
