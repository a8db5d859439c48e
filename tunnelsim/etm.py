"""The seed's analytic Extended Tunnelling Model (Section B, Eqs. 10-16 and 18).

Conventions: energies in K, field ``B`` in T, ``(Q/e) S_Delta`` in Å^2, magnetisation in
emu/g, susceptibilities in emu g^-1 Oe^-1. The ATS of Eq. 8 are replaced by effective
two-level systems with levels ``+-E/2``, ``E^2 = D^2 + (D0 phi)^2``, distributed as
``P* dalpha dD/D dD0/D0`` (Eq. 8 in polar coordinates; ``D_max -> inf``), with the Eq. 7 phase

    D0 phi = 2 pi (D0 (Q/e) S_Delta) u B / phi_0 = w,    u = cos(theta).

Only the products ``D0QS = D0 (Q/e) S_Delta`` (the seed's Table 3 fits them) and the amplitude
``n_ATS P*`` enter Eq. 10; Eq. 11 also needs ``(Q/e) S_Delta`` itself through ``phi``.

Corrections of the seed (see the docstrings):

* Eq. 10: the first integral runs from ``E_c1`` to ``E_c2`` (printed ``E_c1`` to ``E_c1``),
  ``E_c1,2 = sqrt(D_min^2 + (D0_min,max phi)^2)`` (printed ``D_0min phi^2``, unsquared ``D0``), and
  the prefactor is ``pi P* n_ATS / (2 B)``: the printed ``pi P* n_ATS / B`` is twice the
  ensemble average of the effective 2LS, while ``pi/(2B)`` is what Eq. 12 (as printed) follows from.
* Eq. 13: the high-temperature limit keeps a logarithm,
  ``int_{D_min}^inf tanh(E/2T) dE/E^2 -> [ln(2T/D_min) + c]/(2T)``, ``c`` from
  :func:`high_temperature_constant`; the seed prints ``1/(2T)``.
* Eq. 11's shortcut ``(1 - (B/B*)^2/54)/B`` leaves ``B*`` undefined; its small-field
  coefficient is not that of the orientation average of ``phi^2 -> phi^2 (1 - phi^2/27)``
  (see :func:`magnetization_etm_shortcut`).

Numerics: the ``E`` integrals use composite Gauss-Legendre rules in variables that remove the
near-logarithmic endpoint singularities (``E^2 - w^2`` on a log scale) and map the ``1/E^2``
tail to a finite interval (``t = 1/E``). The orientation average of Eq. 10 reduces, exactly, to
one ``E`` integral with a closed-form kernel, so it costs no more than one orientation.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from ._checks import as_positive_array, as_real_array, broadcast_batch
from .units import (
    kelvin_per_tesla2_to_emu_per_oe,
    kelvin_per_tesla_to_emu,
    phase_field_scale_T,
    phase_per_tesla,
)

__all__ = [
    "ANALYTIC_NAMES",
    "ScaledParameters",
    "analytic_magnetization",
    "curie_product_eq18_emu_K_per_g_Oe",
    "effective_two_level_magnetization",
    "eq10_integrals_K",
    "etm_G_emu_K_per_g_Oe",
    "free_energy_shift_K_per_g",
    "high_field_sign_change_T",
    "high_temperature_constant",
    "magnetization_eq10",
    "magnetization_eq11",
    "magnetization_etm",
    "magnetization_etm_high_field",
    "magnetization_etm_shortcut",
    "scaled_parameters",
    "scale_parameters_by_ratio",
    "susceptibility_eq12_emu_per_g_Oe",
    "susceptibility_eq14_emu_per_g_Oe",
    "tanh_integral_high_temperature_limit_per_K",
    "tanh_integral_high_temperature_seed_per_K",
    "tanh_integral_low_temperature_limit_per_K",
    "tanh_integral_per_K",
    "tunnelling_number_ratio",
    "tunnelling_number_ratio_activated",
]

#: Gauss-Legendre (nodes per panel, longest panel) of each piece of the E axis (see _pieces):
#: the integrands are analytic in strips of half-width pi/2 (v) and pi (z, y) about the real axis.
_RULES = {"low": (10, 3.0), "mid": (10, 6.0), "high": (10, 6.0), "tail": (8, 0.0)}
#: Points handled at once (bounds the memory of the node arrays).
_CHUNK_NODES = 200_000
_PHI2_MAX = 27.0  # phi^2 (1 - phi^2/27) vanishes here: the Eq. 11 gap has no meaning beyond


# ----------------------------------------------------------------------------- quadrature
@functools.lru_cache(maxsize=None)
def _gauss_legendre(n):
    """Gauss-Legendre nodes and weights on [0, 1] (read-only)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x, w = 0.5 * (x + 1.0), 0.5 * w
    x.flags.writeable = w.flags.writeable = False
    return x, w


def _panels(lower, upper, n_nodes, max_panel):
    """Composite rule on per-point intervals: nodes and weights of shape ``(n_points, n)``.

    Every interval is cut into the same number of equal panels, enough that the longest
    interval of the batch has panels no longer than ``max_panel``.
    """
    length = upper - lower
    longest = float(np.max(length, initial=0.0))
    n_panels = max(1, math.ceil(longest / max_panel)) if max_panel else 1
    x, w = _gauss_legendre(n_nodes)
    s = ((np.arange(n_panels)[:, None] + x[None, :]) / n_panels).ravel()
    ws = np.tile(w / n_panels, n_panels)
    return lower[:, None] + length[:, None] * s, length[:, None] * ws


@functools.lru_cache(maxsize=None)
def _series(kind, n_terms):
    """Taylor coefficients used for small arguments (read-only)."""
    k = np.arange(n_terms)
    if kind == "G":  # (artanh x - x)/x^3 = sum x^(2k) / (2k+3)
        c = 1.0 / (2.0 * k + 3.0)
    else:  # "S": (v cosh v - sinh v)/v^3 = sum v^(2k) 2(k+1)/(2k+3)!
        c = np.array([2.0 * (j + 1) / math.factorial(2 * j + 3) for j in k])
    c.flags.writeable = False
    return c


def _x2G(w, E, d):
    """``(E/w)(artanh(w/E) - w/E) = x^2 G(x)``, ``x = w/E < 1``, with ``d = E^2 - w^2`` given.

    Series for ``x < 0.1``; above, ``artanh x = ln((E + w)^2 / d) / 2`` keeps ``x -> 1`` accurate.
    """
    x = w / E
    x2 = x * x
    series = x2 * np.polynomial.polynomial.polyval(x2, _series("G", 9))
    direct = (0.5 * np.log((E + w) ** 2 / d) - x) / x
    return np.where(x < 0.1, series, direct)


def _S(v):
    """``v cosh v - sinh v`` (series for ``v < 1/2``)."""
    v2 = v * v
    series = v2 * v * np.polynomial.polynomial.polyval(v2, _series("S", 9))
    e = np.exp(np.minimum(v, 700.0))
    direct = 0.5 * (v * (e + 1.0 / e) - (e - 1.0 / e))
    return np.where(v < 0.5, series, direct)


def _tanh(y):
    """``tanh(y)`` for ``y >= 0`` via ``expm1`` (faster than ``numpy.tanh``, as accurate)."""
    em = np.expm1(-2.0 * y)
    return -em / (2.0 + em)


def _log_cosh_half(E, T):
    """``ln cosh(E / 2T)``, accurate for small and large arguments."""
    y = 0.5 * E / T
    small = y < 1.0
    ys = np.where(small, y, 0.0)
    yl = np.where(small, 1.0, y)
    return np.where(small, np.log1p(2.0 * np.sinh(0.5 * ys) ** 2), yl + np.log1p(np.exp(-2.0 * yl)) - math.log(2.0))


def _pieces(T, Dm, w1, w2):
    """Quadrature pieces of the ``E`` axis for one batch of points (1-D arrays, ``0 < w1 < w2``).

    Returns a dict of pieces; each is a dict with ``E``, the weight ``dE`` (Jacobian
    included) and the exactly known differences ``d1 = E^2 - w1^2``, ``d2 = E^2 - w2^2``,
    ``dm = E^2 - D_min^2`` (and ``d1_excess = d1 - D_min^2`` on ``mid``). Pieces: ``low`` = [D_min, E_c1] in ``v`` (E = D_min cosh v),
    ``mid`` = [E_c1, E_c2] in ``z`` (E^2 = w1^2 + D_min^2 + c expm1(z), c = min(D_min^2, w1^2)),
    ``high`` = [E_c2, E_a] in ``y`` (E^2 = w2^2 + D_min^2 e^y), ``tail`` = [E_a, inf) in
    ``t = 1/E``, with ``E_a = max(2 E_c2, 40 T)`` (``tanh = 1`` to 1e-17 beyond).
    """
    Dm2, w1s, w2s = Dm**2, w1**2, w2**2
    delta = (w2 - w1) * (w2 + w1)
    col = lambda a: a[:, None]  # noqa: E731
    # low: E = Dm cosh v, v in [0, asinh(w1/Dm)]
    v, wv = _panels(np.zeros_like(Dm), np.arcsinh(w1 / Dm), *_RULES["low"])
    ev = np.exp(v)
    E = col(0.5 * Dm) * (ev + 1.0 / ev)
    low = {"E": E, "dE": wv * col(0.5 * Dm) * (ev - 1.0 / ev), "v": v}
    # mid
    c = np.minimum(Dm2, w1s)
    z, wz = _panels(np.zeros_like(Dm), np.log1p(delta / c), *_RULES["mid"])
    em = np.expm1(z)
    cem = col(c) * em
    E = np.sqrt(col(w1s + Dm2) + cem)
    mid = {"E": E, "dE": wz * col(c) * (1.0 + em) / (2.0 * E), "d1": col(Dm2) + cem, "dm": col(w1s) + cem,
           "d1_excess": cem}  # d1 - D_min^2, exactly
    # high
    Ec2 = np.sqrt(Dm2 + w2s)
    E_a = np.maximum(2.0 * Ec2, 40.0 * T)
    y, wy = _panels(np.zeros_like(Dm), np.log((E_a**2 - w2s) / Dm2), *_RULES["high"])
    d2 = col(Dm2) * np.exp(y)
    E = np.sqrt(col(w2s) + d2)
    high = {"E": E, "dE": wy * d2 / (2.0 * E), "d1": col(delta) + d2, "d2": d2}
    # tail: t = 1/E in (0, 1/E_a]
    t, wt = _panels(np.zeros_like(Dm), 1.0 / E_a, *_RULES["tail"])
    E = 1.0 / t
    tail = {"E": E, "dE": wt / t**2, "d1": E**2 - col(w1s), "d2": E**2 - col(w2s)}
    return {"low": low, "mid": mid, "high": high, "tail": tail}


def _integrals(T, Dm, w1, w2, kind):
    """Batched ``E`` integrals behind Eq. 10 (1-D arrays, ``0 < w1 < w2``).

    ``kind``:

    * ``"orientation"`` -- ``int_{E_c1}^inf tanh(E/2T) h(E) dE`` with
      ``h = ln[(E^2 - w1^2) / max(D_min^2, E^2 - w2^2)] / 2``: half the braces of Eq. 10;
    * ``"average"`` -- ``int_{D_min}^inf tanh(E/2T) H(E) dE``, ``H`` the kernel of the
      orientation average (see :func:`magnetization_etm`);
    * ``"free"`` -- ``Phi = int dw/w int dD/D [ln cosh(E/2T) - ln cosh(D/2T)]``.
    """
    P = _pieces(T, Dm, w1, w2)
    col = lambda a: a[:, None]  # noqa: E731
    Dm2 = col(Dm**2)
    delta = col((w2 - w1) * (w2 + w1))
    Tc, W1, W2, Dmc = col(T), col(w1), col(w2), col(Dm)

    def h(piece, name):  # per-orientation kernel on a piece
        if name == "mid":
            return 0.5 * np.log1p(piece["d1_excess"] / Dm2)
        return 0.5 * np.log1p(delta / piece["d2"])

    total = np.zeros_like(T)
    if kind == "orientation":
        for name in ("mid", "high", "tail"):
            pc = P[name]
            total += np.sum(pc["dE"] * _tanh(0.5 * pc["E"] / Tc) * h(pc, name), axis=1)
        return total
    if kind == "average":
        low = P["low"]
        H = (Dmc / W1 - Dmc / W2) * _S(low["v"])
        total += np.sum(low["dE"] * _tanh(0.5 * low["E"] / Tc) * H, axis=1)
        for name in ("mid", "high", "tail"):
            pc = P[name]
            E = pc["E"]
            T1 = _x2G(W1, E, pc["d1"])
            if name == "mid":
                T3 = (Dmc / W2) * _S(np.arcsinh(np.sqrt(pc["dm"]) / Dmc))
            else:
                T3 = _x2G(W2, E, pc["d2"])
            total += np.sum(pc["dE"] * _tanh(0.5 * E / Tc) * (T1 + h(pc, name) - T3), axis=1)
        return total
    if kind == "free":
        low = P["low"]
        part_b = np.sum(low["dE"] * _log_cosh_half(low["E"], Tc) / low["E"], axis=1) * np.log(w2 / w1)
        mid = P["mid"]
        g_mid = _log_cosh_half(mid["E"], Tc) / mid["E"]
        part_b += np.sum(mid["dE"] * g_mid * 0.5 * np.log(W2**2 / mid["dm"]), axis=1)
        part_a = np.sum(mid["dE"] * g_mid * h(mid, "mid"), axis=1)
        for name in ("high", "tail"):
            pc = P[name]
            part_a += np.sum(pc["dE"] * _log_cosh_half(pc["E"], Tc) / pc["E"] * h(pc, name), axis=1)
        return part_a - part_b
    raise ValueError(f"kind must be 'orientation', 'average' or 'free', got {kind!r}")


def _chunked(func, n_nodes_per_point, *arrays):
    """Apply ``func`` to 1-D arrays in chunks that bound the node-array memory."""
    n = arrays[0].size
    step = max(1, _CHUNK_NODES // max(1, n_nodes_per_point))
    if n <= step:
        return func(*arrays)
    return np.concatenate([func(*(a[i:i + step] for a in arrays)) for i in range(0, n, step)])


# ------------------------------------------------------------------------ argument checks
def _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, **extra):
    """Validate and broadcast the common arguments; returns (shape, dict of flat arrays)."""
    arrays = {
        "temperature_K": as_positive_array(temperature_K, "temperature_K"),
        "field_T": as_real_array(field_T, "field_T"),
        "D_min_K": as_positive_array(D_min_K, "D_min_K"),
        "D0QS_min_K_A2": as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2"),
        "D0QS_max_K_A2": as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2"),
        "amplitude_per_g": as_positive_array(amplitude_per_g, "amplitude_per_g", allow_zero=True),
    }
    for name, (value, check) in extra.items():
        arrays[name] = check(value, name)
    if np.any(arrays["D0QS_max_K_A2"] <= arrays["D0QS_min_K_A2"]):
        raise ValueError("D0QS_max_K_A2 must exceed D0QS_min_K_A2 (the D0 distribution needs D0_max > D0_min)")
    shape = broadcast_batch(**{k: np.shape(v) for k, v in arrays.items()})
    return shape, {k: np.broadcast_to(v, shape).ravel() for k, v in arrays.items()}


def _unit_interval(value, name):
    arr = as_real_array(value, name)
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1] (cos of the angle to the loop normal)")
    return arr


def _w_per_tesla(D0QS_K_A2):
    """``D0 phi / (u B)`` in K/T for a product ``D0 (Q/e) S`` in K Å^2 (Eq. 7)."""
    return D0QS_K_A2 * phase_per_tesla(1.0)


def _raw_integral(a, kind, scale):
    """``_integrals`` for flat arguments ``a`` with couplings ``w_i = D0QS_i phase_per_tesla(1) scale``.

    Zero where ``scale = 0`` (no field coupling).
    """
    active = scale > 0.0
    out = np.zeros_like(scale)
    if np.any(active):
        w1 = _w_per_tesla(a["D0QS_min_K_A2"][active]) * scale[active]
        w2 = _w_per_tesla(a["D0QS_max_K_A2"][active]) * scale[active]
        out[active] = _chunked(lambda *x: _integrals(*x, kind), 200,
                               a["temperature_K"][active], a["D_min_K"][active], w1, w2)
    return out


def _magnetization_emu(a, integral):
    """``pi n_ATS P* integral / B`` in emu/g, odd in ``B``, zero at ``B = 0``."""
    B = a["field_T"]
    inverse_B = np.where(B == 0.0, 0.0, 1.0 / np.where(B == 0.0, 1.0, B))
    return kelvin_per_tesla_to_emu(math.pi * a["amplitude_per_g"] * integral * inverse_B)


# ----------------------------------------------------------------------------------- Eq. 10
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


# ----------------------------------------------------------------------------------- Eq. 11
def _phase_sq(field_T, u, charge_area_A2):
    return (phase_per_tesla(charge_area_A2) * u * field_T) ** 2


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


def free_energy_shift_K_per_g(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                              u=1.0, charge_area_A2=None):
    """Field-induced free energy ``F(B) - F(0)`` of the effective 2LS ensemble, one orientation (K/g).

    ``F(B) - F(0) = -2 pi n_ATS P* T int dD0/D0 int_{D_min}^inf dD/D [ln cosh(E/2T) - ln cosh(D/2T)]``,
    reduced to ``E`` integrals: ``int_{E_c1}^inf g(E)/E h(E) dE - int_{D_min}^{E_c2} g(E)/E
    ln(w2/max(w1, sqrt(E^2 - D_min^2))) dE``, ``g = ln cosh(E/2T)``, ``h`` the half-braces of
    Eq. 10. Its ``-dF/dB`` is :func:`magnetization_eq10`; with ``charge_area_A2`` the gap is
    that of Eq. 11 and ``-dF/dB`` is :func:`magnetization_eq11`.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, u : array_like
        As :func:`magnetization_eq10`.
    charge_area_A2 : array_like, optional
        ``(Q/e) S_Delta`` (Å^2): use the Eq. 11 gap ``(D0 phi)^2 (1 - phi^2/27)`` (zero coupling
        for ``phi^2 >= 27``).

    Returns
    -------
    numpy.ndarray
        In K per gram (``F / k_B``); multiply by ``k_B`` for J/g.
    """
    extra = {"u": (u, _unit_interval)}
    if charge_area_A2 is not None:
        extra["charge_area_A2"] = (charge_area_A2, as_positive_array)
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, **extra)
    scale = a["u"] * np.abs(a["field_T"])
    if charge_area_A2 is not None:
        phi2 = _phase_sq(a["field_T"], a["u"], a["charge_area_A2"])
        scale = scale * np.sqrt(np.clip(1.0 - phi2 / _PHI2_MAX, 0.0, None))
    phi_int = _raw_integral(a, "free", scale)
    return (-2.0 * math.pi * a["amplitude_per_g"] * a["temperature_K"] * phi_int).reshape(shape)


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


# ------------------------------------------------------------------------- Eqs. 12, 13, 14, 18
@functools.lru_cache(maxsize=None)
def high_temperature_constant():
    """``c = int_0^1 (tanh x - x)/x^2 dx + int_1^inf tanh(x)/x^2 dx`` (about 0.7905), by ``quad``.

    The constant of the corrected Eq. 13 high-temperature limit; computed on first use.
    """

    def inner(x):
        return (math.tanh(x) - x) / x**2 if x > 1e-4 else -x / 3.0

    def decaying(x):  # (1 - tanh x)/x^2 without overflow
        e = math.exp(-2.0 * x)
        return 2.0 * e / (1.0 + e) / x**2

    first = integrate.quad(inner, 0.0, 1.0, epsabs=0.0, epsrel=1e-12)[0]
    # int_1^inf tanh/x^2 = 1 - int_1^inf (1 - tanh x)/x^2
    tail = integrate.quad(decaying, 1.0, np.inf, epsabs=0.0, epsrel=1e-12)[0]
    return first + 1.0 - tail


def _tanh_over_square_integral(x0):
    """``J(x0) = int_{x0}^inf tanh(s)/s^2 ds`` for an array ``x0 > 0`` (fixed Gauss rules).

    ``x0 >= 1``: ``J = (1/x0) int_0^1 tanh(x0/v) dv`` on geometric panels in ``v`` (the
    integrand is 1 to 1e-14 below ``v = 1/16``). ``x0 < 1``:
    ``J = ln(1/x0) + int_{x0}^1 (tanh s - s)/s^2 ds + J(1)``.
    """
    x, w = _gauss_legendre(24)
    edges = np.array([1.0 / 16, 1.0 / 8, 0.25, 0.5, 1.0])
    v = (edges[:-1, None] + np.diff(edges)[:, None] * x).ravel()
    wv = (np.diff(edges)[:, None] * w).ravel()

    def large(y):
        return (edges[0] + np.tanh(y[..., None] / v) @ wv) / y

    x0 = np.asarray(x0, dtype=float)
    big = np.maximum(x0, 1.0)
    small = np.minimum(x0, 1.0)
    s = small[..., None] + (1.0 - small[..., None]) * x
    inner = (np.tanh(s) - s) / s**2 @ w * (1.0 - small)
    return np.where(x0 >= 1.0, large(big), -np.log(small) + inner + large(np.ones(())))


def tanh_integral_per_K(temperature_K, D_min_K):
    """``I(T) = int_{D_min}^inf dE/E^2 tanh(E/2T)`` in 1/K (Eqs. 12, 14, 18).

    Written as ``J(D_min/2T)/(2T)``, ``J(x0) = int_{x0}^inf tanh(s)/s^2 ds``, evaluated with
    fixed Gauss rules (vectorised; relative accuracy about 1e-13).

    Parameters
    ----------
    temperature_K, D_min_K : array_like
        Broadcast together (K, > 0).

    Returns
    -------
    numpy.ndarray
    """
    T = as_positive_array(temperature_K, "temperature_K")
    Dm = as_positive_array(D_min_K, "D_min_K")
    broadcast_batch(temperature_K=T.shape, D_min_K=Dm.shape)
    return _tanh_over_square_integral(0.5 * Dm / T) / (2.0 * T)


def tanh_integral_low_temperature_limit_per_K(D_min_K):
    """Eq. 13, ``T << D_min``: ``I -> 1/D_min`` (as printed; correct)."""
    return 1.0 / as_positive_array(D_min_K, "D_min_K")


def tanh_integral_high_temperature_limit_per_K(temperature_K, D_min_K):
    """Eq. 13, ``T >> D_min``, corrected: ``I -> [ln(2T/D_min) + c]/(2T)``, ``c`` = :func:`high_temperature_constant`.

    The relative error of this limit falls as ``(D_min/2T)^2 / ln(2T/D_min)``.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    Dm = as_positive_array(D_min_K, "D_min_K")
    return (np.log(2.0 * T / Dm) + high_temperature_constant()) / (2.0 * T)


def tanh_integral_high_temperature_seed_per_K(temperature_K):
    """Eq. 13, ``T >> D_min``, as printed in the seed: ``I -> 1/(2T)`` (drops the logarithm)."""
    return 0.5 / as_positive_array(temperature_K, "temperature_K")


def etm_G_emu_K_per_g_Oe(D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g):
    """``G`` of Eqs. 12, 14, 18: ``chi_ATS = G I(T)``, in emu K g^-1 Oe^-1.

    ``G = (2/3) pi^3 n_ATS P* (D0QS_max^2 - D0QS_min^2) / phi_0^2`` (Eq. 12, with ``<u^2> = 1/3``;
    consistent with Eq. 10's prefactor ``pi/(2B)``), converted from K/T^2 to emu/Oe.
    """
    a1 = as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2")
    a2 = as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2")
    amp = as_positive_array(amplitude_per_g, "amplitude_per_g", allow_zero=True)
    if np.any(a2 <= a1):
        raise ValueError("D0QS_max_K_A2 must exceed D0QS_min_K_A2")
    p = phase_per_tesla(1.0)
    return kelvin_per_tesla2_to_emu_per_oe(math.pi / 6.0 * amp * p**2 * (a2 - a1) * (a2 + a1))


def susceptibility_eq12_emu_per_g_Oe(temperature_K, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g):
    """Eq. 12: weak-field ATS susceptibility ``G I(T)`` (emu g^-1 Oe^-1), orientation averaged."""
    return etm_G_emu_K_per_g_Oe(D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g) * tanh_integral_per_K(
        temperature_K, D_min_K)


def susceptibility_eq14_emu_per_g_Oe(temperature_K, chi_L_emu_per_g_Oe, curie_C_emu_K_per_g_Oe,
                                     G_emu_K_per_g_Oe, D_min_K):
    """Eq. 14: ``chi = -chi_L + C/T + G I(T)`` (emu g^-1 Oe^-1)."""
    T = as_positive_array(temperature_K, "temperature_K")
    chi_L = as_real_array(chi_L_emu_per_g_Oe, "chi_L_emu_per_g_Oe")
    C = as_real_array(curie_C_emu_K_per_g_Oe, "curie_C_emu_K_per_g_Oe")
    G = as_real_array(G_emu_K_per_g_Oe, "G_emu_K_per_g_Oe")
    return -chi_L + C / T + G * tanh_integral_per_K(T, D_min_K)


def curie_product_eq18_emu_K_per_g_Oe(temperature_K, curie_C_emu_K_per_g_Oe, G_emu_K_per_g_Oe, D_min_K):
    """Eq. 18: ``T (chi - chi_L) = C + G T I(T)`` (emu K g^-1 Oe^-1; ``chi_L`` with its sign).

    Tends to ``C + (G/D_min) T`` for ``T << D_min`` and grows like ``(G/2) ln(2T/D_min)`` above.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    C = as_real_array(curie_C_emu_K_per_g_Oe, "curie_C_emu_K_per_g_Oe")
    G = as_real_array(G_emu_K_per_g_Oe, "G_emu_K_per_g_Oe")
    return C + G * T * tanh_integral_per_K(T, D_min_K)


# ------------------------------------------------------------------------------ Eqs. 15, 16
def tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K=1.26):
    """Eq. 15 as a ratio: ``N_tunn(T)/N_tunn(T0) = exp(-delta_mu/T + delta_mu/T0)``."""
    T = as_positive_array(temperature_K, "temperature_K")
    dmu = as_real_array(delta_mu_K, "delta_mu_K")
    T0 = as_positive_array(T0_K, "T0_K")
    return np.exp(dmu * (1.0 / T0 - 1.0 / T))


def tunnelling_number_ratio_activated(temperature_K, gamma, E0_K, T0_K=None):
    """Eq. 16: ``N_tunn(T)/N0 = 1 - Gamma exp(E0/T)``; with ``T0_K`` the ratio ``N(T)/N(T0)``.

    Raises ValueError (naming ``gamma``) where ``N`` would not be positive.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    g = as_real_array(gamma, "gamma")
    E0 = as_real_array(E0_K, "E0_K")
    ratio = 1.0 - g * np.exp(E0 / T)
    if np.any(ratio <= 0):
        raise ValueError("gamma: 1 - Gamma exp(E0/T) must stay > 0 (a positive number of tunnelling units)")
    if T0_K is None:
        return ratio
    ref = 1.0 - g * np.exp(E0 / as_positive_array(T0_K, "T0_K"))
    if np.any(ref <= 0):
        raise ValueError("gamma: 1 - Gamma exp(E0/T0) must be > 0")
    return ratio / ref


@dataclass(frozen=True)
class ScaledParameters:
    """ETM parameters at temperature ``T`` from their values at ``T0`` (Eq. 15 scaling).

    Attributes
    ----------
    ratio : numpy.ndarray
        ``r = N_tunn(T)/N_tunn(T0)``.
    D_min_K : numpy.ndarray
        ``D_min r`` (``D_min ~ N``).
    D0QS_min_K_A2, D0QS_max_K_A2 : numpy.ndarray
        ``D0QS r^3`` (``D0 ~ N``, ``Q ~ N``, ``S ~ N``).
    charge_area_A2 : numpy.ndarray or None
        ``(Q/e) S r^2``.
    """

    ratio: np.ndarray
    D_min_K: np.ndarray
    D0QS_min_K_A2: np.ndarray
    D0QS_max_K_A2: np.ndarray
    charge_area_A2: np.ndarray | None = None


def scale_parameters_by_ratio(ratio, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2=None):
    """Scale the ETM parameters by ``r = N_tunn(T)/N_tunn(T0)``: ``D_min r``, ``D0QS r^3``, ``(Q/e)S r^2``."""
    r = as_positive_array(ratio, "ratio")
    qs = None if charge_area_A2 is None else as_positive_array(charge_area_A2, "charge_area_A2") * r**2
    return ScaledParameters(
        ratio=r,
        D_min_K=as_positive_array(D_min_K, "D_min_K") * r,
        D0QS_min_K_A2=as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2") * r**3,
        D0QS_max_K_A2=as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2") * r**3,
        charge_area_A2=qs,
    )


def scaled_parameters(temperature_K, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, delta_mu_K, T0_K=1.26,
                      charge_area_A2=None):
    """ETM parameters at ``temperature_K`` given at ``T0_K`` (Eq. 15).

    With ``Q ~ N``, ``S_Delta ~ N``, ``D0 ~ N``, ``D_min ~ N`` (Section B): ``D_min`` scales as
    ``r``, ``D0 (Q/e) S`` as ``r^3`` and ``(Q/e) S`` as ``r^2``, ``r = exp(-delta_mu/T + delta_mu/T0)``.

    Returns
    -------
    ScaledParameters
    """
    r = tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K)
    return scale_parameters_by_ratio(r, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2)


# ------------------------------------------------------------------------ simulation runner
ANALYTIC_NAMES = ("etm", "etm_high_field", "etm_shortcut")


def analytic_magnetization(name, temperature_K, field_T, *, D_min_K, D0_min_K, D0_max_K, charge_area_A2,
                           amplitude_per_g, delta_mu_K=None, T0_K=1.26, B_star_T=None):
    """Analytic ETM magnetisation on a (temperature, field) grid, emu/g, shape ``(nT, nB)``.

    Parameters
    ----------
    name : {"etm", "etm_high_field", "etm_shortcut"}
        :func:`magnetization_etm` (Eq. 10, corrected, orientation averaged),
        :func:`magnetization_etm_high_field` (Eq. 11 modified gap) or
        :func:`magnetization_etm_shortcut` (Eq. 11 shortcut).
    temperature_K, field_T : array_like
        1-D axes (K > 0; T).
    D_min_K, D0_min_K, D0_max_K : float
        Cutoffs (K) at ``T0_K`` when ``delta_mu_K`` is given.
    charge_area_A2 : float
        ``(Q/e) S_Delta`` (Å^2).
    amplitude_per_g : float
        ``n_ATS P*`` per gram.
    delta_mu_K : float, optional
        Eq. 15 temperature dependence (parameters scaled from ``T0_K``).
    T0_K : float, optional
        Reference temperature of Eq. 15.
    B_star_T : float, optional
        ``B*`` of the shortcut; default ``B_phi`` of the (scaled) ``(Q/e) S_Delta``.

    Returns
    -------
    numpy.ndarray
    """
    if name not in ANALYTIC_NAMES:
        raise ValueError(f"name must be one of {', '.join(ANALYTIC_NAMES)}, got {name!r}")
    T = np.atleast_1d(as_positive_array(temperature_K, "temperature_K"))
    B = np.atleast_1d(as_real_array(field_T, "field_T"))
    if T.ndim != 1 or B.ndim != 1:
        raise ValueError("temperature_K and field_T must be scalars or 1-D axes")
    D0_min = as_positive_array(D0_min_K, "D0_min_K")
    D0_max = as_positive_array(D0_max_K, "D0_max_K")
    qs = as_positive_array(charge_area_A2, "charge_area_A2")
    if delta_mu_K is None:
        p = scale_parameters_by_ratio(np.ones_like(T), D_min_K, D0_min * qs, D0_max * qs, qs)
    else:
        p = scaled_parameters(T, D_min_K, D0_min * qs, D0_max * qs, delta_mu_K, T0_K, qs)
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731
    args = (col(T), B[None, :], col(p.D_min_K), col(p.D0QS_min_K_A2), col(p.D0QS_max_K_A2))
    if name == "etm":
        out = magnetization_etm(*args, amplitude_per_g)
    elif name == "etm_high_field":
        out = magnetization_etm_high_field(*args, col(p.charge_area_A2), amplitude_per_g)
    else:
        out = magnetization_etm_shortcut(*args, amplitude_per_g, B_star_T=B_star_T,
                                         charge_area_A2=col(p.charge_area_A2))
    return np.broadcast_to(out, (T.size, B.size)).copy()
