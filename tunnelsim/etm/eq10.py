"""Eq. 10, corrected: the ATS magnetisation per orientation and averaged over orientations.

Corrections of the seed: the first integral runs from ``E_c1`` to ``E_c2`` (printed ``E_c1`` to
``E_c1``), ``E_c1,2 = sqrt(D_min^2 + (D0_min,max phi)^2)`` (printed ``D_0min phi^2``, unsquared
``D0``), and the prefactor is ``pi P* n_ATS / (2 B)``: the printed ``pi P* n_ATS / B`` is twice
the ensemble average of the effective 2LS (:func:`effective_two_level_magnetization`), while
``pi/(2B)`` is what Eq. 12 (as printed) follows from.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_positive_array
from ..units import kelvin_per_tesla_to_emu
from ._gap import _check_model, _unit_interval, _w_per_tesla
from ._integrals import _panels, _raw_integral

__all__ = ["EQ10_PREFACTORS", "eq10_integrals_K", "effective_two_level_magnetization", "magnetization_eq10", "magnetization_etm"]


#: The Eq. 10 prefactor as a named convention: the factor on the corrected ``pi P* n_ATS / (2 B)``.
#: ``"corrected"`` (default) is consistent with Eq. 12 and with the exact ensemble; ``"seed"`` is the
#: printed ``pi P* n_ATS / B``, twice as large, which the seed most likely fitted its Tables 3 and 4
#: with: an amplitude fitted with it is half of the corrected one.
EQ10_PREFACTORS = {"corrected": 1.0, "seed": 2.0}


def _magnetization_emu(a, integral):
    """``pi n_ATS P* integral / B`` in emu/g, odd in ``B``, zero at ``B = 0``."""
    B = a["field_T"]
    inverse_B = np.where(B == 0.0, 0.0, 1.0 / np.where(B == 0.0, 1.0, B))
    return kelvin_per_tesla_to_emu(math.pi * a["amplitude_per_g"] * integral * inverse_B)


def eq10_integrals_K(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, u=1.0):
    """The braces of Eq. 10 (corrected limits) for one orientation, in K.

    ``{int_{E_c1}^{E_c2} dE tanh(E/2T) ln[(E^2 - w1^2)/D_min^2]
    + int_{E_c2}^inf dE tanh(E/2T) ln[(E^2 - w1^2)/(E^2 - w2^2)]}``, ``w_i = D0_i phi u``,
    ``E_ci = sqrt(D_min^2 + w_i^2)``. The seed prints the first upper limit as ``E_c1`` (an
    empty integral) and ``E_c1,2`` without squaring ``D0 phi``; both are misprints. Even in
    ``B``; zero at ``u B = 0``.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, u : array_like
        Broadcast together. ``D0QS`` are the products ``D0 (Q/e) S_Delta`` in K Å^2, ``u``
        the cosine of the angle between the field and the loop normal.

    Returns
    -------
    numpy.ndarray
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, 0.0,
                            u=(u, _unit_interval))
    return 2.0 * _raw_integral(a, "orientation", a["u"] * np.abs(a["field_T"])).reshape(shape)


def magnetization_eq10(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, u=1.0):
    """Eq. 10, corrected, for one orientation: ATS magnetisation in emu/g.

    ``M = (pi n_ATS P* / (2 B)) {braces}`` with the braces of :func:`eq10_integrals_K`.
    The seed prints ``pi P* n_ATS / B``; that is exactly twice the ensemble average of the
    effective two-level systems (levels ``+-E/2``, ``E^2 = D^2 + (D0 phi u)^2``) over
    ``P* dalpha dD/D dD0/D0`` with ``D_max -> inf`` (see
    :func:`effective_two_level_magnetization`), and ``pi/(2B)`` is the prefactor from which
    Eq. 12 as printed follows. Odd in ``B``, zero at ``B = 0``.

    Parameters
    ----------
    temperature_K, field_T : array_like
        Temperature (K, > 0) and field ``B`` (T).
    D_min_K : array_like
        Lower cutoff of ``D`` (K, > 0).
    D0QS_min_K_A2, D0QS_max_K_A2 : array_like
        ``D0_min (Q/e) S_Delta`` and ``D0_max (Q/e) S_Delta`` in K Å^2 (max > min > 0).
    amplitude_per_g : array_like
        ``n_ATS P*`` per gram.
    u : array_like, optional
        ``cos(theta)`` in [0, 1].

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the arguments.
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                            u=(u, _unit_interval))
    integral = _raw_integral(a, "orientation", a["u"] * np.abs(a["field_T"]))
    return _magnetization_emu(a, integral).reshape(shape)


def magnetization_etm(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g):
    """Corrected Eq. 10 averaged over orientations, ``u = cos(theta)`` uniform in [0, 1] (emu/g).

    Exact reduction: with ``c = D0 u`` the average ``int_0^1 du int dD0/D0`` becomes
    ``int_0^{D0_max} dc (1/max(D0_min, c) - 1/D0_max)`` and the ``D``, ``c`` integrals close, so

        M = (pi n_ATS P* / B) int_{D_min}^inf dE tanh(E/2T) H(E),
        H = int_0^{W} dw (1/max(w1, w) - 1/w2) w^2/(E^2 - w^2),   W = min(w2, sqrt(E^2 - D_min^2)),

    with ``w_i = D0_i phi`` at ``u = 1``; ``int w^2/(E^2-w^2) dw = E artanh(w/E) - w`` and
    ``int w/(E^2-w^2) dw = -ln(E^2-w^2)/2``. For weak fields ``H -> (w2^2 - w1^2)/(6 E^2)``,
    which is Eq. 12 with ``<u^2> = 1/3``. Same prefactor correction as :func:`magnetization_eq10`.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g : array_like
        As :func:`magnetization_eq10`, broadcast together.

    Returns
    -------
    numpy.ndarray
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g)
    integral = _raw_integral(a, "average", np.abs(a["field_T"]))
    return _magnetization_emu(a, integral).reshape(shape)


def effective_two_level_magnetization(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2,
                                      amplitude_per_g, u=1.0, D_max_K=np.inf, nodes_per_panel=10):
    """Direct 2-D quadrature of the effective 2LS ensemble, one orientation (emu/g).

    ``M = n_ATS P* 2 pi int dD/D int dD0/D0 (1/2) tanh(E/2T) dE/dB`` with ``E^2 = D^2 + (D0 phi u)^2``,
    ``dE/dB = (D0 phi u)^2 / (B E)``: the ensemble of which Eq. 10 is the closed form. Tensor
    Gauss-Legendre rule in ``(ln D, ln D0)``, panels of unit length in ``ln D`` up to
    ``D_max_K`` or, for an infinite ``D_max``, up to ``40 max(T, D0_max phi u, D_min)`` and in
    ``t = 1/D`` beyond.
    Independent of the ``E``-variable route of :func:`magnetization_eq10`.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, u : array_like
        As :func:`magnetization_eq10`.
    D_max_K : float, optional
        Upper cutoff of ``D`` (K); infinite by default.
    nodes_per_panel : int, optional
        Gauss-Legendre nodes per panel.

    Returns
    -------
    numpy.ndarray
    """
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                            u=(u, _unit_interval))
    D_max = np.inf if np.all(np.asarray(D_max_K) == np.inf) else float(as_positive_array(D_max_K, "D_max_K"))
    if np.any(a["D_min_K"] >= D_max):
        raise ValueError("D_max_K must exceed D_min_K")
    B, T, Dm = a["field_T"], a["temperature_K"], a["D_min_K"]
    k = _w_per_tesla(1.0) * a["u"] * np.abs(B)  # w = D0QS * k
    col = lambda x: x[:, None, None]  # noqa: E731
    s, ws = _panels(np.log(a["D0QS_min_K_A2"]), np.log(a["D0QS_max_K_A2"]), nodes_per_panel, 0.5)
    w = np.exp(s) * k[:, None]  # (n, nD0)
    D_cut = 40.0 * np.maximum.reduce([T, w.max(axis=1), Dm]) if np.isinf(D_max) else np.full_like(T, D_max)
    lnD, wD = _panels(np.log(Dm), np.log(D_cut), nodes_per_panel, 1.0)
    D = np.exp(lnD)
    parts = [(D, wD)]
    if np.isinf(D_max):
        t, wt = _panels(np.zeros_like(Dm), 1.0 / D_cut, 2 * nodes_per_panel, 0.0)
        parts.append((1.0 / t, wt / t))  # dD/D = dt/t
    total = np.zeros_like(T)
    for Dn, wn in parts:
        E = np.sqrt(Dn[:, :, None] ** 2 + w[:, None, :] ** 2)
        # (1/2) tanh(E/2T) w^2/E; the 1/B of dE/dB is applied below (w = 0 where B = 0)
        f = 0.5 * np.tanh(0.5 * E / col(T)) * w[:, None, :] * (w[:, None, :] / E)
        total += np.einsum("nd,nde,ne->n", wn, f, ws)
    total *= 2.0 * math.pi * a["amplitude_per_g"] * np.sign(B) / np.where(B == 0, 1.0, np.abs(B))
    return kelvin_per_tesla_to_emu(np.where(k > 0, total, 0.0)).reshape(shape)
