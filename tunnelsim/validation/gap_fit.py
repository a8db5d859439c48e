"""Part a: the effective-gap mapping ``E^2 = a D^2 + b D0^2 phi^2`` fitted from exact Eq. 6 gaps."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .curves import first_crossing, grid_axis
from .reference import exact_gap_K
from .settings import GapFitSettings

__all__ = ["GapFitResult", "fit_gap_mapping"]


@dataclass(frozen=True)
class GapFitResult:
    """Fitted gap constants and the residual of the mapped gap.

    Attributes
    ----------
    a, b : float
        Extrapolated (``s -> 0``) constants of ``E^2 = a D^2 + b D0^2 phi^2``.
    box_sizes, a_by_box, b_by_box : numpy.ndarray
        Per-box fits.
    map_ratio, map_phase : numpy.ndarray
        Axes ``D/D0`` and ``phi`` of the residual map.
    residual_map : numpy.ndarray, shape (n_ratio, n_phase)
        ``max_alpha |sqrt(a D^2 + b D0^2 phi^2) / E_exact - 1|`` (NaN at the origin).
    slope_at_zero_field : float
        ``lim_{D/D0 -> 0} max_alpha |E_mapped/E_exact - 1| / (D/D0)`` at ``phi = 0``.
    eq10_phase_1pct, eq11_phase_1pct : float
        At ``D = 0``, the phase above which Eq. 10's gap ``(4/3) D0^2 phi^2`` and Eq. 11's
        ``(4/3) D0^2 phi^2 (1 - phi^2/27)`` differ from the exact squared gap by more than 1 %.
    tolerance : float
    """

    a: float
    b: float
    box_sizes: np.ndarray
    a_by_box: np.ndarray
    b_by_box: np.ndarray
    map_ratio: np.ndarray
    map_phase: np.ndarray
    residual_map: np.ndarray
    slope_at_zero_field: float
    eq10_phase_1pct: float
    eq11_phase_1pct: float
    tolerance: float


def _alpha_nodes(n):
    """``n`` angles equally spaced over ``[0, 2 pi/3)``: a full period of ``cos 3 alpha``."""
    return (np.arange(n) + 0.5) * (2.0 * math.pi / 3.0) / n


def fit_gap_mapping(settings=GapFitSettings()):
    """Part a: fit ``E_gap^2 = a D^2 + b D0^2 phi^2`` to exact Eq. 6 gaps (``D0 = 1``).

    In each box ``D/D0, phi in (0, s]`` (a grid times ``alpha`` nodes) the relative residuals
    ``(a x^2 + b phi^2)/E^2 - 1`` are minimised by linear least squares; the corrections are
    higher order in ``s`` (``x^3 cos 3 alpha``, ``x^4``, ``x^2 phi^2``, ``phi^4``), so ``a(s)``,
    ``b(s)`` are extrapolated to ``s -> 0`` with a polynomial in ``s``. Expected: ``a = 2/3``,
    ``b = 4/3`` (module docstring).

    Parameters
    ----------
    settings : GapFitSettings

    Returns
    -------
    GapFitResult
    """
    boxes = grid_axis(settings.box_sizes, "box_sizes")
    if len(boxes) < settings.extrapolation_degree + 1:
        raise ValueError("box_sizes: need more boxes than the extrapolation degree")
    n = int(settings.points_per_axis)
    alpha = _alpha_nodes(int(settings.alpha_nodes))
    a_s, b_s = [], []
    for s in boxes:
        grid = s * np.arange(1, n + 1) / n
        X, P, A = np.meshgrid(grid, grid, alpha, indexing="ij")
        g2 = exact_gap_K(X, A, 1.0, P).ravel() ** 2
        design = np.stack([X.ravel() ** 2, P.ravel() ** 2], axis=-1) / g2[:, None]
        (a, b), *_ = np.linalg.lstsq(design, np.ones_like(g2), rcond=None)
        a_s.append(a)
        b_s.append(b)
    a_s, b_s = np.array(a_s), np.array(b_s)
    deg = int(settings.extrapolation_degree)
    a0 = float(np.polynomial.polynomial.polyfit(boxes, a_s, deg)[0])
    b0 = float(np.polynomial.polynomial.polyfit(boxes, b_s, deg)[0])

    m = int(settings.map_points)
    ratio = np.linspace(0.0, settings.map_ratio_max, m)
    phase = np.linspace(0.0, settings.map_phase_max, m)
    alpha_map = np.linspace(0.0, 2.0 * math.pi / 3.0, 2 * int(settings.alpha_nodes) + 1)  # has cos 3 alpha = +-1
    X, P, A = np.meshgrid(ratio, phase, alpha_map, indexing="ij")
    exact = exact_gap_K(X, A, 1.0, P)
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.max(np.abs(np.sqrt(a0 * X**2 + b0 * P**2) / exact - 1.0), axis=-1)
    residual[0, 0] = np.nan

    x_small = np.array([1e-4, 2e-4])
    X, A = np.meshgrid(x_small, alpha_map, indexing="ij")
    err = np.max(np.abs(math.sqrt(a0) * X / exact_gap_K(X, A, 1.0, 0.0) - 1.0), axis=-1) / x_small
    slope = float(2.0 * err[0] - err[1])  # linear extrapolation to x -> 0

    phi = np.linspace(1e-3, math.pi, 2000)
    g2 = exact_gap_K(0.0, 0.0, 1.0, phi) ** 2
    eq10 = np.abs(b0 * phi**2 / g2 - 1.0)
    eq11 = np.abs(b0 * phi**2 * (1.0 - phi**2 / 27.0) / g2 - 1.0)
    return GapFitResult(
        a=a0, b=b0, box_sizes=boxes, a_by_box=a_s, b_by_box=b_s, map_ratio=ratio, map_phase=phase,
        residual_map=residual, slope_at_zero_field=slope, eq10_phase_1pct=first_crossing(phi, eq10, 0.01),
        eq11_phase_1pct=first_crossing(phi, eq11, 0.01), tolerance=float(settings.tolerance),
    )
