"""Part d: the high-field regime, exact ``M(B)`` against Eq. 10 and both Eq. 11 forms."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .. import etm, units
from .._checks import as_positive_array
from ..ensemble import compute
from .curves import first_crossing, grid_axis, peak
from .reference import ats_ensemble, exact_averaging, exact_cutoffs
from .settings import HighFieldSettings, Material

__all__ = ["CURVE_LABELS", "HIGH_FIELD_CURVES", "HighFieldResult", "check_high_field"]

#: Curves of the high-field comparison, in the order of the summary arrays.
HIGH_FIELD_CURVES = ("exact", "exact_mapped", "eq10", "eq11", "shortcut")

#: How the report and the figures name each curve.
CURVE_LABELS = {"exact": "exact", "exact_mapped": "exact mapped", "eq10": "Eq. 10", "eq11": "Eq. 11 true-der.",
                 "shortcut": "Eq. 11 shortcut"}


@dataclass(frozen=True)
class HighFieldResult:
    """Exact ``M(B)`` at fixed ``T`` against Eq. 10 and the Eq. 11 forms, per ``(Q/e) S_Delta``.

    Curves (axis 1 of the arrays, :data:`HIGH_FIELD_CURVES`): ``exact`` (seed's parameters as
    given), ``exact_mapped`` (mapped cutoffs), ``eq10``, ``eq11`` (modified gap, true
    derivative), ``shortcut`` (seed's ``(1 - (B/B*)^2/54)/B``, ``B* = B_phi``).

    Attributes
    ----------
    temperature_K : float
    charge_area_A2, B_phi_T : numpy.ndarray, shape (nq,)
    D0_min_K, D0_max_K : numpy.ndarray, shape (nq,)
        Of the unmapped exact ensemble.
    field_T : numpy.ndarray, shape (nB,)
        Starts at 0.
    magnetization : numpy.ndarray, shape (nq, 5, nB)
        emu/g.
    susceptibility_weak : numpy.ndarray, shape (nq, 5)
        ``dM/dH`` at ``B = 0`` (Eq. 12 for the three analytic curves).
    weak_ratio_eq10 : numpy.ndarray, shape (nq, 5)
        ``chi / chi_Eq12``.
    peak_field_T, peak_magnetization : numpy.ndarray, shape (nq, 5)
    top_ratio_eq10, reference_ratio_eq10 : numpy.ndarray, shape (nq, 5)
        ``M / M_Eq10`` at the top field and at ``reference_field_T``.
    negative_field_T : numpy.ndarray, shape (nq, 5)
        Lowest field where ``M < 0`` (NaN: none up to the top field). Eq. 11 from
        :func:`~tunnelsim.etm.high_field_sign_change_T`, the shortcut at ``sqrt(54) B*``, the
        others by linear interpolation on the grid.
    positive_again_T : numpy.ndarray, shape (nq, 5)
        First field above ``negative_field_T`` where ``M > 0`` again (grid; NaN: none).
    departure_field_T, shape_departure_field_T : numpy.ndarray, shape (nq, 3)
        For ``eq10``, ``eq11``, ``shortcut``: lowest field where ``|M_a/M_exact_mapped - 1|``
        exceeds ``departure`` (0: already at ``B -> 0``, from the susceptibilities), and the same
        for the ratio normalised to its ``B -> 0`` value (the field dependence alone).
    orientation_change : numpy.ndarray, shape (nq,)
        ``|M(2n) - M(n)| / max|M|`` of the exact curve at the top field under doubling of the
        orientation nodes (NaN if not checked).
    orientation_nodes : numpy.ndarray, shape (nq,)
    reference_field_T, departure : float
    """

    temperature_K: float
    charge_area_A2: np.ndarray
    B_phi_T: np.ndarray
    D0_min_K: np.ndarray
    D0_max_K: np.ndarray
    field_T: np.ndarray
    magnetization: np.ndarray
    susceptibility_weak: np.ndarray
    weak_ratio_eq10: np.ndarray
    peak_field_T: np.ndarray
    peak_magnetization: np.ndarray
    top_ratio_eq10: np.ndarray
    reference_ratio_eq10: np.ndarray
    negative_field_T: np.ndarray
    positive_again_T: np.ndarray
    departure_field_T: np.ndarray
    shape_departure_field_T: np.ndarray
    orientation_change: np.ndarray
    orientation_nodes: np.ndarray
    reference_field_T: float
    departure: float


def _departures(B, m_a, m_e, chi_a, chi_e, tol):
    """(absolute, shape) departure fields of an analytic curve from the exact one (B[0] = 0)."""
    weak = chi_a / chi_e
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.concatenate([[weak], m_a[1:] / m_e[1:]])
    absolute = first_crossing(B, np.abs(ratio - 1.0), tol)
    shape = first_crossing(B, np.abs(ratio / weak - 1.0), tol)
    return absolute, shape


def _sign_changes(B, m):
    """(first field with M < 0, first field after it with M > 0), linear interpolation; NaN if none."""
    neg = first_crossing(B, -m, 0.0)
    if math.isnan(neg):
        return neg, math.nan
    after = B > neg
    again = first_crossing(np.concatenate([[neg], B[after]]), np.concatenate([[0.0], m[after]]), 0.0)
    return neg, again


def check_high_field(material=Material(), settings=HighFieldSettings()):
    """Part d: the high-field regime at fixed ``T`` for a sweep of ``(Q/e) S_Delta``.

    For each ``(Q/e) S_Delta`` (``D0 = D0QS/(Q/e)S``, ``B_phi = phi_0/(2 pi (Q/e) S)``) the exact
    ensemble (seed's parameters as given, and mapped cutoffs; ``D_max`` of the material) is
    compared with Eq. 10, the true-derivative Eq. 11 model and the seed's shortcut. The
    analytic forms approximate the mapped exact ensemble, so departures are measured against it;
    the unmapped curve is the one the seed's fitted parameters describe literally (its weak-field
    ratio to Eq. 10 is the "4/3" of the module docstring, reduced at finite ``T/D0``).

    Returns
    -------
    HighFieldResult
    """
    T = float(as_positive_array(settings.temperature_K, "temperature_K"))
    qs_all = grid_axis(settings.charge_area_A2, "charge_area_A2")
    B_ref = float(as_positive_array(settings.reference_field_T, "reference_field_T"))
    B = grid_axis(settings.field_T, "field_T", positive=False)
    B = np.union1d(np.where(np.isclose(B, B_ref, rtol=1e-9, atol=0.0), B_ref, B), [0.0, B_ref])
    tol = float(settings.departure)
    if not 0 < tol < 1:
        raise ValueError(f"departure must lie in (0, 1), got {tol!r}")
    args, amp = material.eq10_args(), material.amplitude_per_g
    chi12 = float(etm.susceptibility_eq12_emu_per_g_Oe(T, *args, amp))
    nq, nc, nB = qs_all.size, len(HIGH_FIELD_CURVES), B.size
    M = np.zeros((nq, nc, nB))
    chi = np.zeros((nq, nc))
    peak_B, peak_M, top, ref, neg, again = (np.full((nq, nc), np.nan) for _ in range(6))
    dep, shape_dep = np.full((nq, 3), np.nan), np.full((nq, 3), np.nan)
    orient_change, orient_nodes = np.full(nq, np.nan), np.zeros(nq, dtype=int)
    j_ref = int(np.nonzero(B == B_ref)[0][0])
    for i, qs in enumerate(qs_all):
        B_phi = float(units.phase_field_scale_T(qs))
        avg = exact_averaging(settings.orientation_nodes, B[-1] / B_phi)
        orient_nodes[i] = avg.orientation_nodes
        for c, mapped in enumerate((False, True)):
            ens = ats_ensemble(material, qs, **exact_cutoffs(material, qs, mapped, material.D_max_K))
            M[i, c] = compute(ens, [T], B, settings=avg).values["magnetization"][0]
            chi[i, c] = compute(ens, [T], [0.0], observables=("susceptibility",),
                                settings=dataclasses.replace(avg, orientation_nodes=8)).values["susceptibility"][0, 0]
            if c == 0 and settings.orientation_check:
                fine = dataclasses.replace(avg, orientation_nodes=2 * avg.orientation_nodes)
                m_fine = compute(ens, [T], B[-1:], settings=fine).values["magnetization"][0, 0]
                orient_change[i] = abs(m_fine - M[i, c, -1]) / np.max(np.abs(M[i, c]))
        M[i, 2] = etm.magnetization_etm(T, B, *args, amp)
        M[i, 3] = etm.magnetization_etm_high_field(T, B, *args, qs, amp)
        M[i, 4] = etm.magnetization_etm_shortcut(T, B, *args, amp, charge_area_A2=qs)
        chi[i, 2:] = chi12
        for c in range(nc):
            peak_B[i, c], peak_M[i, c] = peak(B, M[i, c])
            top[i, c] = M[i, c, -1] / M[i, 2, -1]
            ref[i, c] = M[i, c, j_ref] / M[i, 2, j_ref]
            neg[i, c], again[i, c] = _sign_changes(B, M[i, c])
        if B[-1] > math.sqrt(13.5) * B_phi:  # Eq. 11 changes sign only beyond phi^2 = 27/2
            neg[i, 3] = float(etm.high_field_sign_change_T(T, *args, qs, field_max_T=B[-1])[0])
        else:
            neg[i, 3] = math.nan
        neg[i, 4] = math.sqrt(54.0) * B_phi if math.sqrt(54.0) * B_phi <= B[-1] else math.nan
        for k, c in enumerate((2, 3, 4)):
            dep[i, k], shape_dep[i, k] = _departures(B, M[i, c], M[i, 1], chi[i, c], chi[i, 1], tol)
    D0 = np.array([material.D0_range_K(q) for q in qs_all])
    return HighFieldResult(
        temperature_K=T, charge_area_A2=qs_all, B_phi_T=units.phase_field_scale_T(qs_all), D0_min_K=D0[:, 0],
        D0_max_K=D0[:, 1], field_T=B, magnetization=M, susceptibility_weak=chi, weak_ratio_eq10=chi / chi12,
        peak_field_T=peak_B, peak_magnetization=peak_M, top_ratio_eq10=top, reference_ratio_eq10=ref,
        negative_field_T=neg, positive_again_T=again, departure_field_T=dep, shape_departure_field_T=shape_dep,
        orientation_change=orient_change, orientation_nodes=orient_nodes, reference_field_T=B_ref, departure=tol,
    )
