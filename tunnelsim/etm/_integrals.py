"""The ``E`` integrals behind Eq. 10, by fixed composite Gauss-Legendre rules, batched.

The ``E`` integrals use composite Gauss-Legendre rules in variables that remove the
near-logarithmic endpoint singularities (``E^2 - w^2`` on a log scale) and map the ``1/E^2``
tail to a finite interval (``t = 1/E``). The orientation average of Eq. 10 reduces, exactly, to
one ``E`` integral with a closed-form kernel, so it costs no more than one orientation
(:func:`~tunnelsim.etm.magnetization_etm`).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ._gap import _w_per_tesla

#: Gauss-Legendre (nodes per panel, longest panel) of each piece of the E axis (see _pieces):
#: the integrands are analytic in strips of half-width pi/2 (v) and pi (z, y) about the real axis.
_RULES = {"low": (10, 3.0), "mid": (10, 6.0), "high": (10, 6.0), "tail": (8, 0.0)}
#: Points handled at once (bounds the memory of the node arrays).
_CHUNK_NODES = 200_000


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
    if not math.isfinite(longest):
        raise ValueError("the Eq. 10 integration range is not finite (D_min_K too small against D0 phi, "
                         "beyond double precision)")
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
