"""Eq. 11, the high-field ETM: the modified gap, its orientation average and the seed's shortcut.

The gap ``E^2 = D^2 + (D0 phi)^2 (1 - phi^2/27)`` expands the exact 3LS gap; the magnetisation
is the true derivative of its free energy and turns diamagnetic at high field
(:func:`high_field_sign_change_T`). The seed's shortcut ``(1 - (B/B*)^2/54)/B`` leaves ``B*``
undefined; its small-field coefficient is not that of the orientation average of
``phi^2 -> phi^2 (1 - phi^2/27)`` (see :func:`magnetization_etm_shortcut`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from .._checks import as_positive_array, as_real_array
from ..units import phase_field_scale_T, phase_per_tesla
from ._gap import _PHI2_MAX, _check_model, _phase_sq, _unit_interval, _w_per_tesla
from ._integrals import _gauss_legendre, _raw_integral
from .eq10 import _magnetization_emu, magnetization_etm

__all__ = ["high_field_sign_change_T", "magnetization_eq11", "magnetization_etm_high_field",
           "magnetization_etm_shortcut"]


def magnetization_eq11(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2,
                       amplitude_per_g, u=1.0):
    """Eq. 11 as a modified gap, one orientation: ``M = -dF/dB`` of the modified model (emu/g).

    ``E^2 = D^2 + (D0 phi)^2 (1 - phi^2/27)`` (the expansion of the exact 3LS gap
    ``2 sqrt(3) D0 |sin(phi/3)|``). The magnetisation is the true derivative of the ensemble
    free energy: ``d[phi^2 (1 - phi^2/27)]/dB = 2 phi phi' (1 - 2 phi^2/27)``, so
    ``M_11 = r(phi) M_10(w -> w sqrt(1 - phi^2/27))``, ``r = (1 - 2phi^2/27)/(1 - phi^2/27)``.
    It changes sign (diamagnetic) at ``phi^2 = 27/2`` whatever ``T``. For ``phi^2 >= 27`` the
    truncated gap would go imaginary; the field coupling is then taken as zero (``E = D``,
    ``M = 0``), continuous at ``phi^2 = 27``.

    Needs ``(Q/e) S_Delta`` (``charge_area_A2``) apart from the ``D0QS`` products, since ``phi``
    appears by itself.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, u : array_like
        As :func:`magnetization_eq10`.
    charge_area_A2 : array_like
        ``(Q/e) S_Delta`` in Å^2 (> 0).

    Returns
    -------
    numpy.ndarray
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                            u=(u, _unit_interval), charge_area_A2=(charge_area_A2, as_positive_array))
    return _eq11_flat(a, a["u"]).reshape(shape)


def _eq11_flat(a, u):
    phi2 = _phase_sq(a["field_T"], u, a["charge_area_A2"])
    inside = phi2 < _PHI2_MAX
    shrink = np.where(inside, 1.0 - phi2 / _PHI2_MAX, 1.0)
    integral = _raw_integral(a, "orientation", np.where(inside, u, 0.0) * np.abs(a["field_T"]) * np.sqrt(shrink))
    return _magnetization_emu(a, integral) * (1.0 - 2.0 * phi2 / _PHI2_MAX) / shrink


def _orientation_nodes(graded_top, levels_zero, levels_edge, n_nodes=8):
    """Graded Gauss-Legendre rule in ``u`` on [0, u_max]: (fractions of ``u_max``, weights).

    Geometric panels (ratio 4) towards ``u = 0`` and, when ``graded_top``, towards ``u_max``.
    """
    x, w = _gauss_legendre(n_nodes)
    top = 0.5 if graded_top else 1.0
    edges = [0.0] + [top * 4.0 ** (-k) for k in range(levels_zero, -1, -1)]
    if graded_top:
        edges += [1.0 - 0.5 * 4.0 ** (-k) for k in range(1, levels_edge + 1)] + [1.0]
    edges = np.array(edges)
    lo, hi = edges[:-1], edges[1:]
    return (lo[:, None] + (hi - lo)[:, None] * x).ravel(), ((hi - lo)[:, None] * w).ravel()


def magnetization_etm_high_field(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2,
                                 amplitude_per_g):
    """:func:`magnetization_eq11` averaged over ``u`` uniform in [0, 1] (emu/g).

    Graded Gauss-Legendre rule in ``u`` (geometric panels towards ``u = 0``, where the
    scale ``u ~ D_min / (D0_max phi)`` sits, and towards ``phi^2 = 27`` when the field reaches it).
    Turns negative at high field; :func:`high_field_sign_change_T` locates where.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2, amplitude_per_g : array_like
        As :func:`magnetization_eq11`.

    Returns
    -------
    numpy.ndarray
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                            charge_area_A2=(charge_area_A2, as_positive_array))
    phi1 = phase_per_tesla(a["charge_area_A2"]) * np.abs(a["field_T"])  # phi at u = 1
    u_max = np.where(phi1**2 > _PHI2_MAX, math.sqrt(_PHI2_MAX) / np.where(phi1 > 0, phi1, 1.0), 1.0)
    ratio = np.max(_w_per_tesla(a["D0QS_max_K_A2"]) * np.abs(a["field_T"]) / a["D_min_K"], initial=1.0)
    if not math.isfinite(ratio):
        raise ValueError("D_min_K: too small against D0 phi for the Eq. 11 quadrature (beyond double precision)")
    levels_zero = int(np.clip(math.ceil(math.log(max(ratio, 1.0) * 4.0, 4.0)), 2, 40))
    graded_top = bool(np.any(phi1**2 > 1.0))  # the gap closes towards phi^2 = 27: grade there too
    levels_edge = int(np.clip(math.ceil(math.log(max(ratio, 1.0) ** 2 * 4.0, 4.0)), 2, 40)) if graded_top else 0
    frac, wfrac = _orientation_nodes(graded_top, levels_zero, levels_edge)
    n_u = frac.size
    rep = {k: np.repeat(v, n_u) for k, v in a.items()}
    u = (u_max[:, None] * frac[None, :]).ravel()
    m = _eq11_flat(rep, u).reshape(-1, n_u)
    return (m @ wfrac * u_max).reshape(shape)


def magnetization_etm_shortcut(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                               *, B_star_T=None, charge_area_A2=None):
    """The seed's Eq. 11 shortcut: ``1/B -> (1 - (B/B*)^2/54)/B`` on the orientation-averaged Eq. 10.

    ``M = (1 - (B/B*)^2/54) M_etm`` (emu/g), with :func:`magnetization_etm`. The seed never
    defines ``B*``; by default it is ``B_phi = phi_0 / (2 pi (Q/e) S_Delta)`` (``phi = u B/B_phi``).
    Turns negative at ``B = sqrt(54) B*``.

    At small ``phi`` in the linear regime (``D0_max phi << D_min``) the orientation average of the
    modified-gap model gives ``1 - (2/45)(B/B_phi)^2`` (true derivative, ``<u^4>/<u^2> = 3/5``)
    and ``1 - (1/45)(B/B_phi)^2`` if ``phi^2 -> phi^2(1 - phi^2/27)`` is only substituted
    into Eq. 10's gap; the seed's ``1/54 = (1/27)(1/2)`` matches neither with ``B* = B_phi``
    (``1/2`` is ``<cos^2>`` of an in-plane average, not ``<u^2> = 1/3``). The shortcut agrees to
    leading order with the true-derivative model if ``B* = B_phi sqrt(45/108)``.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g : array_like
        As :func:`magnetization_etm`.
    B_star_T : array_like, optional
        The characteristic field ``B*`` (T, > 0).
    charge_area_A2 : array_like, optional
        ``(Q/e) S_Delta`` (Å^2) giving the default ``B* = B_phi``; one of the two is required.

    Returns
    -------
    numpy.ndarray
    """
    if B_star_T is None:
        if charge_area_A2 is None:
            raise ValueError("B_star_T is required when charge_area_A2 is not given (default B* = B_phi needs it)")
        B_star_T = phase_field_scale_T(as_positive_array(charge_area_A2, "charge_area_A2"))
    B_star = as_positive_array(B_star_T, "B_star_T")
    m = magnetization_etm(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g)
    return (1.0 - (as_real_array(field_T, "field_T") / B_star) ** 2 / 54.0) * m


def high_field_sign_change_T(temperature_K, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2,
                             field_max_T=None, n_scan=48):
    """Lowest field at which the orientation-averaged Eq. 11 model turns negative (T).

    One orientation turns negative at ``phi^2 = 27/2``, ``B = sqrt(27/2) B_phi / u``; the
    average, carried by the smaller-``u`` loops, later. Scans ``B`` from ``sqrt(27/2) B_phi``
    (below which every orientation is paramagnetic) to ``field_max_T`` (default
    ``4 sqrt(27) B_phi``) and refines the first sign change with Brent's method.

    Parameters
    ----------
    temperature_K : array_like
        Temperatures (K), scalar or 1-D.
    D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2 : float
        As :func:`magnetization_eq11`.
    field_max_T : float, optional
        End of the scan (T).
    n_scan : int, optional
        Scan points.

    Returns
    -------
    numpy.ndarray
        One field per temperature; NaN where no sign change lies in the scan.
    """
    T = np.atleast_1d(as_positive_array(temperature_K, "temperature_K"))
    if T.ndim != 1:
        raise ValueError("temperature_K must be a scalar or 1-D array")
    B_phi = float(phase_field_scale_T(as_positive_array(charge_area_A2, "charge_area_A2")))
    B_lo = math.sqrt(_PHI2_MAX / 2.0) * B_phi
    B_hi = 4.0 * math.sqrt(_PHI2_MAX) * B_phi if field_max_T is None else float(
        as_positive_array(field_max_T, "field_max_T"))
    if B_hi <= B_lo:
        raise ValueError(f"field_max_T must exceed sqrt(27/2) B_phi = {B_lo:.4g} T")
    fields = np.linspace(B_lo, B_hi, int(n_scan))

    def m(Ti, B):
        return magnetization_etm_high_field(Ti, B, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2, 1.0)

    out = np.full(T.shape, np.nan)
    for i, Ti in enumerate(T):
        values = m(Ti, fields)
        negative = np.nonzero(values < 0)[0]
        if negative.size:
            j = negative[0]
            out[i] = fields[0] if j == 0 else optimize.brentq(
                lambda B: float(m(Ti, B)), fields[j - 1], fields[j], xtol=1e-10 * B_phi)
    return out
