"""The three-level closed form (Eq. 6) on SIMD blocks of instances.

The closed form of :mod:`tunnelsim.kernels._three_level_scalar` written without branches and
run over blocks of ``_BLOCK`` instances with unit-stride stores and non-negative indices, which
LLVM compiles to AVX2 lanes: levels and slopes (phases' sin and cos from the inline
:func:`~tunnelsim.kernels._common._sincos`), and in the ensemble layout (nodes in blocks per
phase) also couplings and curvatures, the eigenvectors in short branch-free passes
(:func:`_block_to_rows`). The few instances the branch-free forms do not cover (``E = 0``
exactly: the Fourier branch; a pair degenerate to working precision; ``|phi| > 1e5``) are redone
by the scalar :func:`~tunnelsim.kernels._three_level_scalar._three_level_one`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._common import _JIT, _SINCOS_MAX, _sincos
from ._three_level_scalar import (
    _closed_form,
    _cross,
    _dH_times,
    _hop_times,
    _normalised,
    _three_level_one,
)

_BLOCK = 256  # instances per SIMD block (paired levels-and-slopes kernel, ensemble layout, fused sums)


@numba.njit(inline="always", **_JIT)
def _store_lane(buf, j, m, s, unit, mu0, mu1, mu2, t0, t1, t2, q):
    """Ascending levels ``buf[0:3, j]`` and slopes ``buf[3:6, j]`` from :func:`_closed_form`."""
    up = q >= 0.0
    buf[0, j] = (mu2 if up else -mu0) * s + m
    buf[1, j] = (mu1 if up else -mu1) * s + m
    buf[2, j] = (mu0 if up else -mu2) * s + m
    buf[3, j] = (t2 if up else t0) * unit
    buf[4, j] = t1 * unit
    buf[5, j] = (t0 if up else t2) * unit


@numba.njit(**_JIT)
def _three_level_block(e, D0, phi, rate, shared_rate, buf):
    """Levels and slopes of the instances ``j < D0.size`` (asymmetries ``e[3j:3j+3]``, phases
    ``phi[j]``) into ``buf[0:3, j]`` and ``buf[3:6, j]``: the closed form of
    :func:`_three_level_one` without its branches, with unit-stride stores and non-negative
    indices, so that LLVM runs the loop on SIMD lanes."""
    for j in range(D0.size):
        m, s, d, f0, f1, f2 = _normalised(e[3 * j], e[3 * j + 1], e[3 * j + 2], D0[j])
        sphi, cphi = _sincos(phi[j])
        mu0, mu1, mu2, t0, t1, t2, q = _closed_form(f0, f1, f2, d, cphi, sphi)
        _store_lane(buf, j, m, s, s * (rate[0] if shared_rate else rate[j]), mu0, mu1, mu2, t0, t1, t2, q)


@numba.njit(inline="always", **_JIT)
def _null_vector(f0, f1, f2, hop, lam):
    """:func:`_row_cofactor` without branches: the largest of the three row cross products of
    ``H - lam I`` (normalised Eq. 6) and its squared norm."""
    hc = np.conj(hop)
    r00 = complex(f0 - lam, 0.0)
    r11 = complex(f1 - lam, 0.0)
    r22 = complex(f2 - lam, 0.0)
    a0, a1, a2 = _cross(r00, hop, hc, hc, r11, hop)
    b0, b1, b2 = _cross(hc, r11, hop, hop, hc, r22)
    c0, c1, c2 = _cross(hop, hc, r22, r00, hop, hc)
    na = a0.real**2 + a0.imag**2 + a1.real**2 + a1.imag**2 + a2.real**2 + a2.imag**2
    nb = b0.real**2 + b0.imag**2 + b1.real**2 + b1.imag**2 + b2.real**2 + b2.imag**2
    nc = c0.real**2 + c0.imag**2 + c1.real**2 + c1.imag**2 + c2.real**2 + c2.imag**2
    use_a = (na >= nb) & (na >= nc)
    use_b = (not use_a) & (nb >= nc)
    x0 = a0 if use_a else (b0 if use_b else c0)
    x1 = a1 if use_a else (b1 if use_b else c1)
    x2 = a2 if use_a else (b2 if use_b else c2)
    return x0, x1, x2, (na if use_a else (nb if use_b else nc))


@numba.njit(inline="always", **_JIT)
def _dot(a0, a1, a2, b0, b1, b2):
    """``<a|b>`` of two complex 3-vectors."""
    return np.conj(a0) * b0 + np.conj(a1) * b1 + np.conj(a2) * b2


@numba.njit(inline="always", **_JIT)
def _vector(w, row, j):
    """The complex 3-vector stored as six real rows ``row .. row + 5`` of ``w``, lane ``j``."""
    return (
        complex(w[row, j], w[row + 1, j]),
        complex(w[row + 2, j], w[row + 3, j]),
        complex(w[row + 4, j], w[row + 5, j]),
    )


@numba.njit(inline="always", **_JIT)
def _store_vector(w, row, j, x0, x1, x2):
    w[row, j], w[row + 1, j] = x0.real, x0.imag
    w[row + 2, j], w[row + 3, j] = x1.real, x1.imag
    w[row + 4, j], w[row + 5, j] = x2.real, x2.imag


# Rows of the ensemble layout's work array (per lane) and of its output buffer. The closed form
# and the eigenvectors are split into several short loops ("passes") because LLVM vectorises
# each of them but not their union; the node scales are computed once per block of nodes, the
# rest once per block and phase.
_W_F, _W_D, _W_S, _W_M = 0, 3, 4, 5  # f_i = e_i / s, d = D0 / s, s, mean
_W_MU, _W_T, _W_Q = 6, 9, 12  # roots (mu0, mu1, mu2), their slopes (t0, t1, t2), q
_W_U, _W_V, _W_X, _W_ROWS = 13, 19, 25, 31  # eigenvectors of mu0, mu1, mu2 (Re, Im of 3 entries)
_B_COUPLING, _B_CURVATURE, _B_REDO, _B_ROWS = 6, 12, 15, 16  # couplings 00, 01, 02, 11, 12, 22


@numba.njit(**_JIT)
def _pass_scales(e, D0, w):
    """Mean, scale ``s``, ``d = D0 / s`` and ``f_i = e_i / s`` of the nodes (:func:`_normalised`)."""
    for j in range(D0.size):
        m, s, d, f0, f1, f2 = _normalised(e[3 * j], e[3 * j + 1], e[3 * j + 2], D0[j])
        w[_W_F, j], w[_W_F + 1, j], w[_W_F + 2, j] = f0, f1, f2
        w[_W_D, j] = d
        w[_W_S, j] = s
        w[_W_M, j] = m


@numba.njit(**_JIT)
def _pass_roots(cphi, sphi, w, n):
    """:func:`_closed_form` at one phase: roots, their phase slopes and ``q``."""
    for j in range(n):
        mu0, mu1, mu2, t0, t1, t2, q = _closed_form(w[_W_F, j], w[_W_F + 1, j], w[_W_F + 2, j], w[_W_D, j], cphi, sphi)
        w[_W_MU, j], w[_W_MU + 1, j], w[_W_MU + 2, j] = mu0, mu1, mu2
        w[_W_T, j], w[_W_T + 1, j], w[_W_T + 2, j] = t0, t1, t2
        w[_W_Q, j] = q


@numba.njit(**_JIT)
def _pass_levels(rate, w, buf, n):
    """Ascending levels and slopes (per unit of the field parameter) into ``buf[0:6]``."""
    for j in range(n):
        s = w[_W_S, j]
        _store_lane(
            buf, j, w[_W_M, j], s, s * rate, w[_W_MU, j], w[_W_MU + 1, j], w[_W_MU + 2, j], w[_W_T, j],
            w[_W_T + 1, j], w[_W_T + 2, j], w[_W_Q, j],
        )


@numba.njit(inline="always", **_JIT)
def _signed_root(w, k, j):
    """Eigenvalue ``sigma mu_k`` of the normalised matrix, ``sigma`` the sign of ``q``."""
    return w[_W_MU + k, j] if w[_W_Q, j] >= 0.0 else -w[_W_MU + k, j]


@numba.njit(**_JIT)
def _pass_isolated(c3, s3, w, n):
    """Normalised eigenvector ``u`` of the isolated level."""
    for j in range(n):
        d = w[_W_D, j]
        u0, u1, u2, nu = _null_vector(w[_W_F, j], w[_W_F + 1, j], w[_W_F + 2, j], complex(d * c3, d * s3), _signed_root(w, 0, j))
        inv = 1.0 / math.sqrt(max(nu, 1e-300))
        _store_vector(w, _W_U, j, u0 * inv, u1 * inv, u2 * inv)


@numba.njit(**_JIT)
def _pass_pair(c3, s3, w, buf, n):
    """Eigenvector ``v`` of the pair level ``sigma mu1``, orthogonalised to ``u``; lanes with
    ``E = 0`` or a pair degenerate to working precision are marked for the scalar path."""
    for j in range(n):
        d = w[_W_D, j]
        f0, f1, f2 = w[_W_F, j], w[_W_F + 1, j], w[_W_F + 2, j]
        v0, v1, v2, _ = _null_vector(f0, f1, f2, complex(d * c3, d * s3), _signed_root(w, 1, j))
        u0, u1, u2 = _vector(w, _W_U, j)
        ov = _dot(u0, u1, u2, v0, v1, v2)
        v0, v1, v2 = v0 - ov * u0, v1 - ov * u1, v2 - ov * u2
        nv = v0.real**2 + v0.imag**2 + v1.real**2 + v1.imag**2 + v2.real**2 + v2.imag**2
        redo = (not nv > 1e-28) | (f0 * f0 + f1 * f1 + f2 * f2 == 0.0)
        inv = 1.0 / math.sqrt(max(nv, 1e-300))
        _store_vector(w, _W_V, j, v0 * inv, v1 * inv, v2 * inv)
        buf[_B_REDO, j] = 1.0 if redo else 0.0


@numba.njit(**_JIT)
def _pass_third(w, n):
    """The third eigenvector, ``conj(u x v)``."""
    for j in range(n):
        u0, u1, u2 = _vector(w, _W_U, j)
        v0, v1, v2 = _vector(w, _W_V, j)
        x0, x1, x2 = _cross(u0, u1, u2, v0, v1, v2)
        _store_vector(w, _W_X, j, np.conj(x0), np.conj(x1), np.conj(x2))


@numba.njit(inline="always", **_JIT)
def _ascending_vectors(w, j):
    """Eigenvectors in ascending level order: ``(x, v, u)`` if ``q >= 0`` else ``(u, v, x)``."""
    up = w[_W_Q, j] >= 0.0
    u0, u1, u2 = _vector(w, _W_U, j)
    x0, x1, x2 = _vector(w, _W_X, j)
    v0, v1, v2 = _vector(w, _W_V, j)
    a0, a1, a2 = (x0 if up else u0), (x1 if up else u1), (x2 if up else u2)
    c0, c1, c2 = (u0 if up else x0), (u1 if up else x1), (u2 if up else x2)
    return a0, a1, a2, v0, v1, v2, c0, c1, c2


@numba.njit(**_JIT)
def _pass_curvatures(c3, s3, rate, w, buf, n):
    """``<n| d2H |n>``, ``d2H = -hopping / 9`` per unit phase, times ``rate^2``."""
    for j in range(n):
        d = w[_W_D, j]
        hop = complex(d * c3, d * s3)
        a0, a1, a2, v0, v1, v2, c0, c1, c2 = _ascending_vectors(w, j)
        unit = w[_W_S, j] * rate * rate / 9.0
        h0, h1, h2 = _hop_times(hop, a0, a1, a2)
        buf[_B_CURVATURE, j] = -_dot(a0, a1, a2, h0, h1, h2).real * unit
        h0, h1, h2 = _hop_times(hop, v0, v1, v2)
        buf[_B_CURVATURE + 1, j] = -_dot(v0, v1, v2, h0, h1, h2).real * unit
        h0, h1, h2 = _hop_times(hop, c0, c1, c2)
        buf[_B_CURVATURE + 2, j] = -_dot(c0, c1, c2, h0, h1, h2).real * unit


@numba.njit(**_JIT)
def _pass_couplings_low(c3, s3, rate, w, buf, n):
    """``|<n|dH|m>|^2`` for (0, 0), (0, 1), (1, 1)."""
    for j in range(n):
        d = w[_W_D, j]
        hop = complex(d * c3, d * s3)
        a0, a1, a2, v0, v1, v2, _, _, _ = _ascending_vectors(w, j)
        unit2 = (w[_W_S, j] * rate / 3.0) ** 2
        da0, da1, da2 = _dH_times(hop, a0, a1, a2)
        dv0, dv1, dv2 = _dH_times(hop, v0, v1, v2)
        g = _dot(a0, a1, a2, da0, da1, da2)
        buf[_B_COUPLING, j] = (g.real * g.real + g.imag * g.imag) * unit2
        g = _dot(a0, a1, a2, dv0, dv1, dv2)
        buf[_B_COUPLING + 1, j] = (g.real * g.real + g.imag * g.imag) * unit2
        g = _dot(v0, v1, v2, dv0, dv1, dv2)
        buf[_B_COUPLING + 3, j] = (g.real * g.real + g.imag * g.imag) * unit2


@numba.njit(**_JIT)
def _pass_couplings_high(c3, s3, rate, w, buf, n):
    """``|<n|dH|m>|^2`` for (0, 2), (1, 2), (2, 2)."""
    for j in range(n):
        d = w[_W_D, j]
        hop = complex(d * c3, d * s3)
        a0, a1, a2, v0, v1, v2, c0, c1, c2 = _ascending_vectors(w, j)
        unit2 = (w[_W_S, j] * rate / 3.0) ** 2
        dc0, dc1, dc2 = _dH_times(hop, c0, c1, c2)
        g = _dot(a0, a1, a2, dc0, dc1, dc2)
        buf[_B_COUPLING + 2, j] = (g.real * g.real + g.imag * g.imag) * unit2
        g = _dot(v0, v1, v2, dc0, dc1, dc2)
        buf[_B_COUPLING + 4, j] = (g.real * g.real + g.imag * g.imag) * unit2
        g = _dot(c0, c1, c2, dc0, dc1, dc2)
        buf[_B_COUPLING + 5, j] = (g.real * g.real + g.imag * g.imag) * unit2


@numba.njit(**_JIT)
def _block_to_rows(E, D0, first, last, table, k, with_couplings, buf, w, scratch, levels, slopes, coupling2, curvature, rows):
    """Spectra of nodes ``first .. last - 1`` at phase ``k`` of ``table`` into rows ``rows[j]`` of
    the outputs, ``w`` holding the nodes' scales (:func:`_pass_scales`): the closed form and, if
    ``with_couplings``, the eigenvectors of :func:`_three_level_one` (row cofactors, projection, conjugated
    cross product) without branches, in vectorised passes over the block; the lanes these do not
    cover (``E = 0`` exactly, a pair degenerate to working precision) by :func:`_three_level_one`."""
    cphi, sphi, c3, s3, rate = table[k, 0], table[k, 1], table[k, 2], table[k, 3], table[k, 4]
    n = last - first
    _pass_roots(cphi, sphi, w, n)
    _pass_levels(rate, w, buf, n)
    if with_couplings:
        _pass_isolated(c3, s3, w, n)
        _pass_pair(c3, s3, w, buf, n)
        _pass_third(w, n)
        _pass_curvatures(c3, s3, rate, w, buf, n)
        _pass_couplings_low(c3, s3, rate, w, buf, n)
        _pass_couplings_high(c3, s3, rate, w, buf, n)
    for j in range(n):
        r = rows[j]
        flat = w[_W_F, j] ** 2 + w[_W_F + 1, j] ** 2 + w[_W_F + 2, j] ** 2 == 0.0
        if flat or (with_couplings and buf[_B_REDO, j] != 0.0):
            i = first + j
            _three_level_one(
                E[i, 0], E[i, 1], E[i, 2], D0[i], cphi, sphi, c3, s3, rate, with_couplings, levels, slopes, coupling2,
                curvature, r, scratch,
            )
            continue
        for m in range(3):
            levels[r, m] = buf[m, j]
            slopes[r, m] = buf[3 + m, j]
        if with_couplings:
            for m in range(3):
                curvature[r, m] = buf[_B_CURVATURE + m, j]
            coupling2[r, 0, 0] = buf[_B_COUPLING, j]
            coupling2[r, 0, 1] = coupling2[r, 1, 0] = buf[_B_COUPLING + 1, j]
            coupling2[r, 0, 2] = coupling2[r, 2, 0] = buf[_B_COUPLING + 2, j]
            coupling2[r, 1, 1] = buf[_B_COUPLING + 3, j]
            coupling2[r, 1, 2] = coupling2[r, 2, 1] = buf[_B_COUPLING + 4, j]
            coupling2[r, 2, 2] = buf[_B_COUPLING + 5, j]


@numba.njit(**_JIT)
def _three_level_paired_kernel(E, D0, phi, rate, levels, slopes, start, stop):
    """Levels and slopes of instances ``start <= i < stop`` (row by row), in SIMD blocks
    (:func:`_three_level_block`) copied into the ``(n, 3)`` outputs.

    The rare instances the block formulas do not cover -- ``E = 0`` exactly (the Fourier
    branch) and ``|phi| > _SINCOS_MAX`` -- are then redone one by one with
    :func:`_three_level_one`. ``rate`` has length 1 (one value for all) or one per instance.
    """
    shared_rate = rate.size == 1
    e = E.ravel()
    buf = np.empty((6, _BLOCK))
    for first in range(start, stop, _BLOCK):
        count = min(_BLOCK, stop - first)
        last = first + count
        _three_level_block(
            e[3 * first : 3 * last], D0[first:last], phi[first:last], rate if shared_rate else rate[first:last],
            shared_rate, buf,
        )
        for j in range(count):
            for k in range(3):
                levels[first + j, k] = buf[k, j]
                slopes[first + j, k] = buf[3 + k, j]
    unused_coupling2 = np.empty((1, 3, 3))
    unused_curvature = np.empty((1, 3))
    scratch = np.empty((2, 3, 3), dtype=np.complex128)
    for i in range(start, stop):
        _, _, _, f0, f1, f2 = _normalised(E[i, 0], E[i, 1], E[i, 2], D0[i])
        if f0 * f0 + f1 * f1 + f2 * f2 == 0.0 or not abs(phi[i]) <= _SINCOS_MAX:
            x = phi[i]
            _three_level_one(
                E[i, 0], E[i, 1], E[i, 2], D0[i], math.cos(x), math.sin(x), math.cos(x / 3.0),
                math.sin(x / 3.0), rate[0] if shared_rate else rate[i], False, levels, slopes, unused_coupling2,
                unused_curvature, i, scratch,
            )

