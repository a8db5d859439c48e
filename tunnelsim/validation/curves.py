"""Grids and curves sampled on them: checked 1-D axes, first crossings and peaks."""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_real_array

__all__ = ["first_crossing", "grid_axis", "peak"]


def first_crossing(x, y, level):
    """Smallest ``x`` at which ``y`` first rises above ``level`` (linear interpolation); NaN if never.

    Returns ``x[0]`` when ``y[0]`` is already above.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    above = y > level
    if not np.any(above):
        return math.nan
    j = int(np.argmax(above))
    if j == 0:
        return float(x[0])
    return float(x[j - 1] + (level - y[j - 1]) * (x[j] - x[j - 1]) / (y[j] - y[j - 1]))


def peak(x, y):
    """Position and value of the maximum of ``y(x)``: parabola through the top three grid points.

    Returns the grid point itself when the maximum is at either end.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    j = int(np.argmax(y))
    if j == 0 or j == len(y) - 1:
        return float(x[j]), float(y[j])
    c2, c1, c0 = np.polyfit(x[j - 1:j + 2], y[j - 1:j + 2], 2)
    if c2 >= 0:
        return float(x[j]), float(y[j])
    xp = -c1 / (2.0 * c2)
    return float(xp), float(c0 + c1 * xp + c2 * xp * xp)


def grid_axis(values, name, positive=True):
    """``values`` as a non-empty 1-D float array, all > 0 (or >= 0 unless ``positive``); errors name ``name``."""
    arr = np.atleast_1d(as_real_array(values, name))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list")
    if np.any(arr <= 0) if positive else np.any(arr < 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}")
    return arr
