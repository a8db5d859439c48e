"""Argument checks shared by the physics modules.

Each check raises :class:`ValueError` with a message that names the argument, so a
caller (or the command line) can report exactly what was wrong.
"""

from __future__ import annotations

import operator

import numpy as np


def as_real_array(value, name):
    """Return ``value`` as a float array, rejecting non-numeric input and NaN/inf."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or array, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def as_positive_array(value, name, allow_zero=False):
    """Return ``value`` as a finite float array with every entry > 0 (or >= 0)."""
    arr = as_real_array(value, name)
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got minimum {arr.min()!r}")
    return arr


def last_axis(arr, size, name):
    """Check that ``arr`` has a trailing axis of length ``size``."""
    if arr.ndim < 1 or arr.shape[-1] != size:
        raise ValueError(f"{name} must have a last axis of length {size}, got shape {arr.shape}")
    return arr


def broadcast_batch(**shapes):
    """Broadcast the batch shapes of several arguments, naming them if they do not fit.

    Parameters
    ----------
    **shapes : tuple of int
        Batch shape of each argument, keyed by the argument's name.

    Returns
    -------
    tuple of int
        The broadcast batch shape.
    """
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"batch shapes of {', '.join(shapes)} do not broadcast: {described}") from None


def temperature_axis(temperature_K, name="temperature_K"):
    """Return a 1-D array of temperatures, all finite and > 0."""
    arr = as_positive_array(temperature_K, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-D array, got shape {arr.shape}")
    return np.atleast_1d(arr)


def as_int(value, name, minimum=0):
    """Return ``value`` as an int >= ``minimum`` (bools and floats rejected), naming ``name``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return n
