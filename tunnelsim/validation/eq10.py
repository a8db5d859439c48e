"""Part b: Eq. 10 against the effective two-level ensemble (b(i)) and the exact 3LS ensemble (b(ii))."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import etm, units
from ..ensemble import compute
from .curves import grid_axis
from .reference import ats_ensemble, exact_averaging, exact_cutoffs
from .settings import EffectiveCheckSettings, ExactMapSettings, Material

__all__ = ["EffectiveCheckResult", "ExactMapResult", "check_eq10_effective", "compare_eq10_exact"]


@dataclass(frozen=True)
class EffectiveCheckResult:
    """Eq. 10 against the effective two-level ensemble.

    Attributes
    ----------
    temperature_K, field_T, orientations : numpy.ndarray
    per_orientation : numpy.ndarray, shape (n_u, nT, nB)
        ``|M_Eq10 / M_eff2LS - 1|`` for one orientation.
    averaged : numpy.ndarray, shape (nT, nB)
        The same for the orientation averages (``magnetization_etm`` against a graded
        Gauss-Legendre average of the direct 2-D quadrature).
    max_error : float
    tolerance : float
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    orientations: np.ndarray
    per_orientation: np.ndarray
    averaged: np.ndarray
    max_error: float
    tolerance: float


def _graded_u_rule(u_min, nodes_per_panel=10, ratio=4.0):
    """Gauss-Legendre on geometric panels ``[0, u_min], ..., [1/ratio, 1]`` of ``u`` in [0, 1]."""
    levels = max(1, math.ceil(math.log(1.0 / u_min, ratio)))
    edges = np.concatenate([[0.0], ratio ** -np.arange(levels, -1, -1.0)])
    x, w = np.polynomial.legendre.leggauss(nodes_per_panel)
    lo, hi = edges[:-1, None], edges[1:, None]
    return (lo + 0.5 * (hi - lo) * (x + 1.0)).ravel(), (0.5 * (hi - lo) * w).ravel()


def check_eq10_effective(material=Material(), settings=EffectiveCheckSettings()):
    """Part b(i): Eq. 10 (corrected, prefactor ``pi P* n_ATS / (2B)``) against its effective 2LS ensemble.

    Per orientation :func:`~tunnelsim.etm.magnetization_eq10` against
    :func:`~tunnelsim.etm.effective_two_level_magnetization` (a direct 2-D quadrature over
    ``dD/D dD0/D0``); orientation averaged :func:`~tunnelsim.etm.magnetization_etm` against the
    direct quadrature averaged over ``u`` with Gauss-Legendre panels graded towards ``u = 0``
    (down to ``u ~ D_min / (10 D0_max phi_max)``, where the integrand varies).

    Returns
    -------
    EffectiveCheckResult
    """
    T = grid_axis(settings.temperature_K, "temperature_K")
    B = grid_axis(settings.field_T, "field_T")
    u = grid_axis(settings.orientations, "orientations")
    if np.any(u > 1):
        raise ValueError("orientations must lie in (0, 1]")
    args = material.eq10_args()
    amp = material.amplitude_per_g
    Tg, Bg = T[:, None], B[None, :]
    per_u = []
    for uk in u:
        m10 = etm.magnetization_eq10(Tg, Bg, *args, amp, u=uk)
        m2 = etm.effective_two_level_magnetization(Tg, Bg, *args, amp, u=uk)
        per_u.append(np.abs(m10 / m2 - 1.0))
    w_max = float(units.phase_per_tesla(material.D0QS_max_K_A2)) * float(B.max())
    u_nodes, u_weights = _graded_u_rule(min(0.1, material.D_min_K / (10.0 * w_max)))
    m2 = etm.effective_two_level_magnetization(Tg[None], Bg[None], *args, amp, u=u_nodes[:, None, None])
    m_avg = np.tensordot(u_weights, m2, axes=(0, 0))
    averaged = np.abs(etm.magnetization_etm(Tg, Bg, *args, amp) / m_avg - 1.0)
    per_u = np.array(per_u)
    return EffectiveCheckResult(T, B, u, per_u, averaged, float(max(per_u.max(), averaged.max())),
                                float(settings.tolerance))


@dataclass(frozen=True)
class ExactMapResult:
    """Eq. 10 against the exact 3LS ensemble (mapped cutoffs) over ``(T, B)`` and ``D_max/D0_min``.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    D_max_over_D0_min : numpy.ndarray
        Of the exact ensemble (its mapped cutoffs).
    magnetization_eq10 : numpy.ndarray, shape (nT, nB)
    magnetization_exact, magnetization_exact_error : numpy.ndarray, shape (nR, nT, nB)
        Error NaN unless estimated.
    relative_error : numpy.ndarray, shape (nR, nT, nB)
        ``M_Eq10 / M_exact - 1``.
    tolerances : numpy.ndarray
    fraction_within : numpy.ndarray, shape (nR, n_tol)
        Fraction of the ``(T, B)`` grid with ``|relative_error| <= tol``.
    boundary_field_T : numpy.ndarray, shape (nR, n_tol, nT)
        Per temperature the largest grid field up to which every field is within ``tol``
        (NaN: not even the lowest field).
    exact_parameters : dict
        The exact ensembles' cutoffs (K) and ``(Q/e) S`` (Å^2) without ``D_max``.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    D_max_over_D0_min: np.ndarray
    magnetization_eq10: np.ndarray
    magnetization_exact: np.ndarray
    magnetization_exact_error: np.ndarray
    relative_error: np.ndarray
    tolerances: np.ndarray
    fraction_within: np.ndarray
    boundary_field_T: np.ndarray
    exact_parameters: dict


def _boundary(B, ok):
    """Largest ``B`` up to which every entry of ``ok`` (ascending ``B``) is true; NaN if none."""
    if not ok[0]:
        return math.nan
    bad = np.nonzero(~ok)[0]
    return float(B[-1] if bad.size == 0 else B[bad[0] - 1])


def compare_eq10_exact(material=Material(), settings=ExactMapSettings()):
    """Part b(ii): Eq. 10 against the exact 3LS ensemble with mapped cutoffs (:func:`~tunnelsim.validation.mapped_cutoffs`).

    The exact ensemble has ``D_min' = sqrt(3/2) D_min``, ``D0' = (sqrt(3)/2) D0``
    (``D0 = D0QS / (Q/e) S`` with :attr:`Material.charge_area_A2`), ``D_max' = r D0_min'`` for
    each ``r`` of ``D_max_over_D0_min``; Eq. 10 is the seed's (``D_max = inf``). The relative
    error ``M_Eq10/M_exact - 1`` then measures what the effective two-level reduction leaves
    out (doublet-centre shift, third level, ``D >~ D0``, higher orders in ``phi``) plus the
    truncation at ``D_max'``.

    Returns
    -------
    ExactMapResult
    """
    T = grid_axis(settings.temperature_K, "temperature_K")
    B = grid_axis(settings.field_T, "field_T")
    ratios = _ratios(settings.D_max_over_D0_min)
    tols = grid_axis(settings.tolerances, "tolerances")
    m10 = etm.magnetization_etm(T[:, None], B[None, :], *material.eq10_args(), material.amplitude_per_g)
    base = exact_cutoffs(material, material.charge_area_A2, True, math.inf)
    phi_max = float(units.phase_per_tesla(material.charge_area_A2)) * float(B.max())
    avg = exact_averaging(settings.orientation_nodes, phi_max, settings.error_estimate)
    exact, errors = [], []
    for r in ratios:
        D_max = r * base["D0_min_K"]
        if not D_max > base["D_min_K"]:
            raise ValueError(f"D_max_over_D0_min: {r:g} puts D_max below D_min")
        ens = ats_ensemble(material, material.charge_area_A2, base["D_min_K"], base["D0_min_K"], base["D0_max_K"],
                            D_max)
        res = compute(ens, T, B, settings=avg)
        exact.append(res.values["magnetization"])
        errors.append(res.errors["magnetization"])
    exact, errors = np.array(exact), np.array(errors)
    rel = m10[None] / exact - 1.0
    within = np.abs(rel)[:, None] <= tols[None, :, None, None]  # (nR, ntol, nT, nB)
    fraction = within.mean(axis=(2, 3))
    boundary = np.array([[[_boundary(B, within[i, k, j]) for j in range(T.size)] for k in range(tols.size)]
                         for i in range(ratios.size)])
    params = {k: v for k, v in base.items() if k != "D_max_K"}
    params["charge_area_A2"] = material.charge_area_A2
    return ExactMapResult(T, B, ratios, m10, exact, errors, rel, tols, fraction, boundary, params)


def _ratios(values):
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr <= 1.0):
        raise ValueError("D_max_over_D0_min must be a non-empty list of numbers > 1 (inf allowed)")
    return arr
