"""The three-level closed form (Eq. 6), one instance at a time, with eigenvectors.

See :mod:`tunnelsim.kernels.three_level` for the method. :func:`_normalised` and
:func:`_closed_form` are branch-free and shared with the SIMD blocks of
:mod:`tunnelsim.kernels._three_level_blocks`; :func:`_three_level_one` is the scalar path
(levels, slopes and, on request, couplings and curvatures from exactly orthonormal
eigenvectors), also the fallback for the instances the blocks do not cover.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._common import _JIT


# --------------------------------------------------------------------------- three-level core
_SQRT3_HALF = 0.5 * math.sqrt(3.0)
_INV_SQRT27 = 1.0 / math.sqrt(27.0)
_NEWTON_C = 8.0 / 9.0 - 0.5 * math.sqrt(3.0)  # quadratic start: exact at y = 0 and y = 1
# Tie tolerance (relative to D0) for ordering the exactly known levels at E = 0.
_TIE = 8.0 * np.finfo(float).eps


@numba.njit(inline="always", **_JIT)
def _cross(a0, a1, a2, b0, b1, b2):
    return a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0


@numba.njit(**_JIT)
def _row_cofactor(f0, f1, f2, hop, lam):
    """Null vector of ``H - lam I`` (normalised H): the largest cross product of two rows."""
    hc = np.conj(hop)
    r00 = f0 - lam + 0j
    r11 = f1 - lam + 0j
    r22 = f2 - lam + 0j
    # rows: (r00, hop, hc), (hc, r11, hop), (hop, hc, r22)
    a0, a1, a2 = _cross(r00, hop, hc, hc, r11, hop)
    b0, b1, b2 = _cross(hc, r11, hop, hop, hc, r22)
    c0, c1, c2 = _cross(hop, hc, r22, r00, hop, hc)
    na = a0.real**2 + a0.imag**2 + a1.real**2 + a1.imag**2 + a2.real**2 + a2.imag**2
    nb = b0.real**2 + b0.imag**2 + b1.real**2 + b1.imag**2 + b2.real**2 + b2.imag**2
    nc = c0.real**2 + c0.imag**2 + c1.real**2 + c1.imag**2 + c2.real**2 + c2.imag**2
    if na >= nb and na >= nc:
        return a0, a1, a2, na
    if nb >= nc:
        return b0, b1, b2, nb
    return c0, c1, c2, nc


@numba.njit(inline="always", **_JIT)
def _dH_times(hop, v0, v1, v2):
    """``3/i * (dH/dphi) v`` for the normalised Eq. 6 (hopping ``hop`` on 1->2, 2->3, 3->1)."""
    hc = np.conj(hop)
    return hop * v1 - hc * v2, hop * v2 - hc * v0, hop * v0 - hc * v1


@numba.njit(inline="always", **_JIT)
def _hop_times(hop, v0, v1, v2):
    """Hopping part of the normalised Eq. 6 times ``v`` (``d2H/dphi2 = -hopping / 9``)."""
    hc = np.conj(hop)
    return hop * v1 + hc * v2, hc * v0 + hop * v2, hop * v0 + hc * v1


@numba.njit(**_JIT)
def _fourier_branch(m, s, d, c3, s3, dfac, with_couplings, levels, slopes, coupling2, curvature, idx):
    """``E = 0``: the Fourier modes are exact eigenvectors for every phase; ``dH`` is diagonal."""
    lev = np.empty(3)
    slo = np.empty(3)
    lev[0] = 2.0 * d * c3
    lev[1] = 2.0 * d * (-0.5 * c3 - _SQRT3_HALF * s3)
    lev[2] = 2.0 * d * (-0.5 * c3 + _SQRT3_HALF * s3)
    slo[0] = -(2.0 / 3.0) * d * s3
    slo[1] = -(2.0 / 3.0) * d * (-0.5 * s3 + _SQRT3_HALF * c3)
    slo[2] = -(2.0 / 3.0) * d * (-0.5 * s3 - _SQRT3_HALF * c3)
    order = np.arange(3)
    # insertion sort by level; ties (within rounding) by slope, the limit phi -> 0+
    for a in range(1, 3):
        b = a
        while b > 0:
            x, y = order[b - 1], order[b]
            tie = abs(lev[x] - lev[y]) <= _TIE * d
            if (not tie and lev[x] > lev[y]) or (tie and slo[x] > slo[y]):
                order[b - 1], order[b] = y, x
                b -= 1
            else:
                break
    previous = -np.inf
    for n in range(3):
        k = order[n]
        # tied levels (ordered by slope) may differ by a few ulp: keep the output non-decreasing
        level = max(lev[k] * s + m, previous)
        levels[idx, n] = level
        previous = level
        slopes[idx, n] = slo[k] * s * dfac
        if with_couplings:
            curvature[idx, n] = -lev[k] / 9.0 * s * dfac * dfac
            for j in range(3):
                coupling2[idx, n, j] = (slo[k] * s * dfac) ** 2 if j == n else 0.0


@numba.njit(inline="always", **_JIT)
def _normalised(E0, E1, E2, D0):
    """Mean ``m``, scale ``s = max(D0, |E_i - m|)``, ``d = D0 / s`` and ``f_i = (E_i - m) / s``."""
    m = (E0 + E1 + E2) / 3.0
    e0, e1, e2 = E0 - m, E1 - m, E2 - m
    s = max(max(D0, abs(e0)), max(abs(e1), abs(e2)))
    return m, s, D0 / s, e0 / s, e1 / s, e2 / s


@numba.njit(inline="always", **_JIT)
def _closed_form(f0, f1, f2, d, cphi, sphi):
    """Roots ``mu0`` (isolated, sign of ``q``), ``mu1``, ``mu2`` of the normalised characteristic
    polynomial and their phase slopes ``t0, t1, t2``, branch-free (module docstring); ``q``."""
    S = f0 * f0 + f1 * f1 + f2 * f2
    P = f0 * f1 * f2
    d2 = d * d
    d3 = d2 * d
    p = 3.0 * d2 + 0.5 * S
    q = 2.0 * d3 * cphi + P
    a = d3 * sphi
    dif = (f0 - f1) * (f1 - f2) * (f2 - f0)
    R = max(54.0 * d2 * d2 * S + 9.0 * d2 * S * S + dif * dif - 108.0 * d3 * P * cphi, 0.0)
    disc = 108.0 * a * a + R
    r3 = math.sqrt(p / 3.0)
    y = min(abs(q) / (2.0 * r3 * r3 * r3), 1.0)
    w = 1.0 - y
    z = 1.0 - w / 9.0 - _NEWTON_C * w * w
    z -= (4.0 * z * z * z - 3.0 * z - y) / (12.0 * z * z - 3.0)
    z -= (4.0 * z * z * z - 3.0 * z - y) / (12.0 * z * z - 3.0)
    z -= (4.0 * z * z * z - 3.0 * z - y) / (12.0 * z * z - 3.0)
    mu0 = 2.0 * r3 * z
    fp0 = 3.0 * mu0 * mu0 - p
    root = math.sqrt(disc)
    g = root / fp0
    mu1 = -0.5 * mu0 + 0.5 * g
    mu2 = -0.5 * mu0 - 0.5 * g
    # computed before the select even where disc = 0 (0/0): correct because _JIT's fastmath is
    # {"contract"} only, without the no-NaN assumption
    rho = 2.0 * a / root if disc > 0.0 else _INV_SQRT27
    t0 = -2.0 * a / fp0
    t1 = rho * fp0 / (0.5 * (3.0 * mu0 - g))  # -rho f'(mu0) / (mu1 - mu0)
    t2 = -rho * fp0 / (0.5 * (3.0 * mu0 + g))  # rho f'(mu0) / (mu2 - mu0)
    return mu0, mu1, mu2, t0, t1, t2, q


@numba.njit(**_JIT)
def _three_level_one(E0, E1, E2, D0, cphi, sphi, c3, s3, dfac, with_couplings, levels, slopes, coupling2, curvature, idx, scratch):
    """Spectrum of one instance into row ``idx`` of the outputs (couplings and curvatures if
    ``with_couplings``); ``scratch``, complex (2, 3, 3), holds the eigenvectors and ``dH`` times them."""
    m, s, d, f0, f1, f2 = _normalised(E0, E1, E2, D0)
    if f0 * f0 + f1 * f1 + f2 * f2 == 0.0:
        _fourier_branch(m, s, d, c3, s3, dfac, with_couplings, levels, slopes, coupling2, curvature, idx)
        return
    mu0, mu1, mu2, t0, t1, t2, q = _closed_form(f0, f1, f2, d, cphi, sphi)
    sigma = 1.0 if q >= 0.0 else -1.0
    # ascending order: sigma > 0 -> (mu2, mu1, mu0); sigma < 0 -> (-mu0, -mu1, -mu2)
    if sigma > 0.0:
        lam = (mu2, mu1, mu0)
        tt = (t2, t1, t0)
    else:
        lam = (-mu0, -mu1, -mu2)
        tt = (t0, t1, t2)
    for n in range(3):
        levels[idx, n] = lam[n] * s + m
        slopes[idx, n] = tt[n] * s * dfac
    if not with_couplings:
        return
    hop = d * complex(c3, s3)
    # eigenvector of the isolated level (sigma mu0), then one of the pair, then the third
    u0, u1, u2, nu = _row_cofactor(f0, f1, f2, hop, sigma * mu0)
    inv = 1.0 / math.sqrt(nu)
    u0, u1, u2 = u0 * inv, u1 * inv, u2 * inv
    v0, v1, v2, nv = _row_cofactor(f0, f1, f2, hop, sigma * mu1)
    ov = np.conj(u0) * v0 + np.conj(u1) * v1 + np.conj(u2) * v2
    v0, v1, v2 = v0 - ov * u0, v1 - ov * u1, v2 - ov * u2
    nv = v0.real**2 + v0.imag**2 + v1.real**2 + v1.imag**2 + v2.real**2 + v2.imag**2
    if not nv > 1e-28:
        # exactly degenerate pair to working precision: e_j - conj(u_j) u for the smallest |u_j|
        j = 0
        uj = u0
        if abs(u1) < abs(uj):
            j = 1
            uj = u1
        if abs(u2) < abs(uj):
            j = 2
            uj = u2
        cj = np.conj(uj)
        v0, v1, v2 = -cj * u0, -cj * u1, -cj * u2
        if j == 0:
            v0 += 1.0
        elif j == 1:
            v1 += 1.0
        else:
            v2 += 1.0
        nv = v0.real**2 + v0.imag**2 + v1.real**2 + v1.imag**2 + v2.real**2 + v2.imag**2
    inv = 1.0 / math.sqrt(nv)
    v0, v1, v2 = v0 * inv, v1 * inv, v2 * inv
    x0, x1, x2 = _cross(u0, u1, u2, v0, v1, v2)
    x0, x1, x2 = np.conj(x0), np.conj(x1), np.conj(x2)
    # vectors in mu order (mu0, mu1, mu2) -> ascending positions
    if sigma > 0.0:
        pos = (2, 1, 0)
    else:
        pos = (0, 1, 2)
    vec = scratch[0]
    vec[pos[0], 0], vec[pos[0], 1], vec[pos[0], 2] = u0, u1, u2
    vec[pos[1], 0], vec[pos[1], 1], vec[pos[1], 2] = v0, v1, v2
    vec[pos[2], 0], vec[pos[2], 1], vec[pos[2], 2] = x0, x1, x2
    dv = scratch[1]
    for n in range(3):
        dv[n, 0], dv[n, 1], dv[n, 2] = _dH_times(hop, vec[n, 0], vec[n, 1], vec[n, 2])
        h0, h1, h2 = _hop_times(hop, vec[n, 0], vec[n, 1], vec[n, 2])
        t = np.conj(vec[n, 0]) * h0 + np.conj(vec[n, 1]) * h1 + np.conj(vec[n, 2]) * h2
        curvature[idx, n] = -t.real / 9.0 * s * dfac * dfac
    unit2 = (s * dfac / 3.0) ** 2
    for n in range(3):
        for k in range(n, 3):
            t = np.conj(vec[n, 0]) * dv[k, 0] + np.conj(vec[n, 1]) * dv[k, 1] + np.conj(vec[n, 2]) * dv[k, 2]
            c = (t.real * t.real + t.imag * t.imag) * unit2
            coupling2[idx, n, k] = c
            coupling2[idx, k, n] = c

