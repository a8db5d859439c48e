"""Fast exact kernels: closed-form three-level spectra and fused thermal sums, compiled with numba.

Everything here is exact (to rounding), not an approximation: the kernels are checked against the
reference path (:func:`tunnelsim.spectra.solve`, i.e. :func:`numpy.linalg.eigh`, and the numpy
formulas of :mod:`tunnelsim.thermo`) in ``tests/test_kernels.py``. numba is imported with this
module, so :mod:`tunnelsim.systems` and :mod:`tunnelsim.thermo` import it only when a fast path
is first used (``import tunnelsim`` stays fast).

Three-level system (Eq. 6)
--------------------------
With ``e_i = E_i - mean(E)``, ``S = e1^2 + e2^2 + e3^2`` and ``P = e1 e2 e3`` the levels
``lambda`` (less the mean) solve the characteristic polynomial (physics.md section 2)

    lambda^3 - p lambda - q = 0,   p = 3 D0^2 + S/2,   q = 2 D0^3 cos(phi) + P.

Closed forms lose digits near degeneracy, where the discriminant ``Delta = 4 p^3 - 27 q^2``
cancels. Here it is never formed that way: expanding gives the cancellation-free form

    Delta = 108 D0^6 sin^2(phi) + R,
    R = 54 D0^4 S + 9 D0^2 S^2 + [(e1 - e2)(e2 - e3)(e3 - e1)]^2 - 108 D0^3 P cos(phi),

in which the only negative term is at most a third of ``54 D0^4 S + 9 D0^2 S^2`` (AM-GM with
``|P| <= S^{3/2} / (3 sqrt 6)``), so ``R >= 0`` and ``Delta`` has full relative accuracy. It
vanishes only at ``E = 0`` with ``sin(phi) = 0``, the exact degeneracies of Eq. 6.

* The root ``mu_0`` of largest magnitude (sign of ``q``; ``|mu_0| >= sqrt(p)``, isolated from
  the others by at least ``sqrt(p)``) comes from Newton's method on ``4 z^3 - 3 z = y``,
  ``y = |q| / (2 (p/3)^{3/2})``, ``mu_0 = 2 sqrt(p/3) z``, started from a quadratic that is
  within 1.3e-3 of the root on ``0 <= y <= 1`` (three steps reach rounding level).
* The other two are ``-mu_0 / 2 +- g / 2`` with the pair gap ``g = sqrt(Delta) / f'(mu_0)``,
  ``f'(mu_0) = 3 mu_0^2 - p >= 2 p``: relatively accurate however small.
* Slopes by implicit differentiation, ``dlambda_n/dphi = q'(phi) / f'(lambda_n)``,
  ``q' = -2 D0^3 sin(phi)``, ``f'(lambda_n) = prod_{m != n} (lambda_n - lambda_m)``; for the
  pair ``q' / g = -rho f'(mu_0)`` with ``rho = 2 D0^3 sin(phi) / sqrt(Delta)``, bounded by
  ``1/sqrt(27)``, so nothing divides by a vanishing gap. At an exact degeneracy
  (``Delta = 0``) the slopes are the limit ``phi -> 0+`` (``rho = 1/sqrt(27)``), i.e. those of
  the eigenbasis that diagonalises ``dH`` in the degenerate pair; thermal averages only use
  sums over degenerate levels, which do not depend on this choice.
* Couplings ``|<n|dH|m>|^2`` and curvatures ``<n|d2H|n>`` need eigenvectors: the cofactor
  (cross product of two rows of ``H - lambda I``) for the isolated ``mu_0`` and for one
  level of the pair, made exactly orthonormal (projection, then the third vector as the
  conjugated cross product). Near a degeneracy the split inside the pair is as well
  conditioned as in ``eigh`` (error ~ rounding / gap), the pair's subspace stays exact, so the
  thermal susceptibility keeps full accuracy. Far from the loop's own scale, ``D >> D0`` at a
  crossing of two wells, eigenvectors of any solver carry errors ~ rounding * D / D0; couplings
  and curvatures then have absolute errors of that order in units of ``D0`` (``D0^2``), as with
  ``eigh``, while levels and slopes stay exact. For ``E = 0`` exactly the eigenvectors are the
  Fourier modes ``(1, w^k, w^2k)/sqrt 3`` for every ``phi`` and everything is taken from them.

Inputs are scaled by ``max(D0, |e_i|)`` first, so the results are accurate for any overall
energy scale; ratios ``D/D0`` or ``D0/D`` up to about 1e100 are covered.

SIMD paths
----------
The closed form is also written without branches (:func:`_closed_form`) and run over blocks of
instances with unit-stride stores and non-negative indices, which LLVM compiles to AVX2 lanes:
levels and slopes of ``three_level_spectrum(couplings=False)`` (phases' sin and cos from an
inline fdlibm-style kernel, :func:`_sincos`, within 2 ulp, instead of library calls), and in the
ensemble layout (``three_level_outer`` and the fused sums: nodes in blocks per phase) levels,
slopes, couplings and curvatures, the eigenvectors in short branch-free passes
(:func:`_block_to_rows`). The few instances the branch-free forms do not cover
(``E = 0`` exactly: the Fourier branch; a pair degenerate to working precision; ``|phi| > 1e5``)
are redone by the scalar :func:`_three_level_one`. The per-instance layout with couplings stays
scalar.

Threads
-------
The compiled loops release the GIL (``nogil``) and run over contiguous chunks of instances in a
thread pool made per call, with ``numba.get_num_threads()`` threads (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``). numba's own ``parallel=True`` is not used: its OpenMP layer is not
safe in processes forked after it started, which the ensemble's process pool does.

Thermal sums
------------
:func:`thermal_observable` evaluates one observable of :mod:`tunnelsim.thermo` over a
temperature axis in one pass per instance, with the same formulas as the reference. Boltzmann
factors use :func:`_exp_neg`, a vectorisable ``exp(-x)`` for ``x >= 0`` (Cody-Waite reduction,
degree-13 Taylor polynomial, the power of two assembled from its bits in two halves so that the
subnormal range rounds once): within 1 ulp of the correctly rounded value over the whole range.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .spectra import Spectrum

__all__ = [
    "OBSERVABLE_CODES",
    "exp_neg",
    "thermal_observable",
    "three_level_outer",
    "three_level_spectrum",
    "three_level_sums",
]

_JIT = dict(nogil=True, cache=True, fastmath={"contract"}, error_model="numpy")

# --------------------------------------------------------------------------- exp(-x)
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # low 21 bits zero: k * _LN2_HI is exact for k < 2^21
_LN2_LO = 1.90821492927058770002e-10
_TWO52 = 4503599627370496.0
_EXP_BITS = 0x4330000000000000  # bit pattern of 2^52
_EXP_UNDERFLOW = 745.2  # exp(-x) rounds to 0 beyond this


@numba.njit(inline="always", **_JIT)
def _exp_neg(x):
    """``exp(-x)`` for ``x >= 0``, within 1 ulp, written so that LLVM vectorises loops over it."""
    xc = min(x, 746.0)
    kf = np.floor(xc * _LOG2E + 0.5)
    r = (kf * _LN2_HI - xc) + kf * _LN2_LO  # -x + k ln 2, |r| <= ln(2)/2
    poly = 1.0 / 6227020800.0
    poly = poly * r + 1.0 / 479001600.0
    poly = poly * r + 1.0 / 39916800.0
    poly = poly * r + 1.0 / 3628800.0
    poly = poly * r + 1.0 / 362880.0
    poly = poly * r + 1.0 / 40320.0
    poly = poly * r + 1.0 / 5040.0
    poly = poly * r + 1.0 / 720.0
    poly = poly * r + 1.0 / 120.0
    poly = poly * r + 1.0 / 24.0
    poly = poly * r + 1.0 / 6.0
    poly = poly * r + 0.5
    poly = poly * r + 1.0
    poly = poly * r + 1.0
    # 2^-k = 2^-k1 * 2^-(k - k1), both normal numbers for k <= 1075.
    k1 = np.floor(kf * 0.5)
    b1 = np.float64((1023.0 - k1) + _TWO52).view(np.int64) - _EXP_BITS
    b2 = np.float64((1023.0 - (kf - k1)) + _TWO52).view(np.int64) - _EXP_BITS
    s1 = np.int64(b1 << 52).view(np.float64)
    s2 = np.int64(b2 << 52).view(np.float64)
    value = (poly * s1) * s2
    return value if x < _EXP_UNDERFLOW else 0.0


@numba.njit(**_JIT)
def _exp_neg_array(x, out):
    for i in range(x.size):
        out[i] = _exp_neg(x[i])


def exp_neg(x):
    """``exp(-x)`` for ``x >= 0`` with the kernels' exponential (for tests and benchmarks).

    Parameters
    ----------
    x : array_like
        Non-negative, finite arguments.

    Returns
    -------
    numpy.ndarray
        ``exp(-x)``, same shape as ``x``.
    """
    arr = np.asarray(x, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("x must be finite and >= 0")
    flat = np.ascontiguousarray(arr).ravel()
    out = np.empty_like(flat)
    _exp_neg_array(flat, out)
    return out.reshape(arr.shape)


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
def _fourier_branch(m, s, d, c3, s3, dfac, want, levels, slopes, coupling2, curvature, idx):
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
        if want:
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
def _three_level_one(E0, E1, E2, D0, cphi, sphi, c3, s3, dfac, want, levels, slopes, coupling2, curvature, idx, scratch):
    """Spectrum of one instance into row ``idx`` of the outputs (couplings and curvatures if
    ``want``); ``scratch``, complex (2, 3, 3), holds the eigenvectors and ``dH`` times them."""
    m, s, d, f0, f1, f2 = _normalised(E0, E1, E2, D0)
    if f0 * f0 + f1 * f1 + f2 * f2 == 0.0:
        _fourier_branch(m, s, d, c3, s3, dfac, want, levels, slopes, coupling2, curvature, idx)
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
    if not want:
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


@numba.njit(**_JIT)
def _three_level_kernel(E, D0, table, outer, want, levels, slopes, coupling2, curvature, start, stop):
    """Outer layout (parameters ``i``, phases ``k``, row ``i * K + k``): nodes
    ``start <= i < stop`` at every phase, in SIMD blocks of nodes per phase
    (:func:`_block_to_rows`). Paired layout (parameters and phases row by row): instances
    ``start <= idx < stop`` one by one with :func:`_three_level_one`."""
    scratch = np.empty((2, 3, 3), dtype=np.complex128)
    if outer:
        n_phase = table.shape[0]
        buf = np.empty((_B_ROWS, _BLOCK))
        work = np.empty((_W_ROWS, _BLOCK))
        rows = np.empty(_BLOCK, dtype=np.int64)
        e = E.ravel()
        for first in range(start, stop, _BLOCK):
            last = min(first + _BLOCK, stop)
            _pass_scales(e[3 * first : 3 * last], D0[first:last], work)
            for k in range(n_phase):
                for j in range(last - first):
                    rows[j] = (first + j) * n_phase + k
                _block_to_rows(E, D0, first, last, table, k, want, buf, work, scratch, levels, slopes, coupling2, curvature, rows)
        return
    for idx in range(start, stop):
        _three_level_one(
            E[idx, 0], E[idx, 1], E[idx, 2], D0[idx], table[idx, 0], table[idx, 1], table[idx, 2], table[idx, 3],
            table[idx, 4], want, levels, slopes, coupling2, curvature, idx, scratch,
        )


@numba.njit(**_JIT)
def _phase_table_kernel(phi, rate, table, start, stop):
    for k in range(start, stop):
        c3 = math.cos(phi[k] / 3.0)
        s3 = math.sin(phi[k] / 3.0)
        # triple angles: cos(phi) needs absolute accuracy only; sin(phi) = s3 (3 - 4 s3^2) keeps
        # its relative accuracy unless 3 - 4 s3^2 cancels (phi near an odd multiple of pi) or
        # s3 = 0 away from phi = 0 (phi/3 near a multiple of pi, where its rounding matters)
        t = 3.0 - 4.0 * s3 * s3
        if abs(t) >= 0.5 and abs(phi[k]) < 2.5 * math.pi:
            table[k, 0] = c3 * (4.0 * c3 * c3 - 3.0)
            table[k, 1] = s3 * t
        else:
            table[k, 0] = math.cos(phi[k])
            table[k, 1] = math.sin(phi[k])
        table[k, 2] = c3
        table[k, 3] = s3
        table[k, 4] = rate[k]


# --------------------------------------------------------------------------- sin and cos
# fdlibm's split of pi/2 (33 + 33 + 53 bits): n * _PIO2_1 and n * _PIO2_2 are exact for
# |n| < 2^20, so the reduced argument keeps its relative accuracy down to the last bits.
_TWO_OVER_PI = 0.63661977236758134308
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21
#: |x| above which :func:`_sincos` is not used (the kernels fall back to ``math.sin/cos``).
_SINCOS_MAX = 1.0e5
# fdlibm's __kernel_sin and __kernel_cos minimax polynomials on [-pi/4, pi/4]
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


@numba.njit(inline="always", **_JIT)
def _sincos(x):
    """``(sin x, cos x)`` for ``|x| <= _SINCOS_MAX``, within 2 ulp; branch-free, so that
    LLVM vectorises loops over it (``math.sin``/``math.cos`` are library calls it cannot)."""
    n = np.floor(x * _TWO_OVER_PI + 0.5)
    r = (x - n * _PIO2_1) - n * _PIO2_2
    r = r - n * _PIO2_2T
    z = r * r
    s = r + (z * r) * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    c = 1.0 - (0.5 * z - z * (z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))))
    quadrant = n - 4.0 * np.floor(0.25 * n)  # n mod 4 in {0, 1, 2, 3}
    odd = (quadrant == 1.0) | (quadrant == 3.0)
    sin_x = c if odd else s
    cos_x = s if odd else c
    sin_x = -sin_x if quadrant >= 2.0 else sin_x
    cos_x = -cos_x if (quadrant == 1.0) | (quadrant == 2.0) else cos_x
    return sin_x, cos_x


@numba.njit(**_JIT)
def _sincos_array(x, s, c):
    for i in range(x.size):
        s[i], c[i] = _sincos(x[i])


# --------------------------------------------------------------------------- levels and slopes, vectorised
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
def _block_to_rows(E, D0, first, last, table, k, want, buf, w, scratch, levels, slopes, coupling2, curvature, rows):
    """Spectra of nodes ``first .. last - 1`` at phase ``k`` of ``table`` into rows ``rows[j]`` of
    the outputs, ``w`` holding the nodes' scales (:func:`_pass_scales`): the closed form and, if
    ``want``, the eigenvectors of :func:`_three_level_one` (row cofactors, projection, conjugated
    cross product) without branches, in vectorised passes over the block; the lanes these do not
    cover (``E = 0`` exactly, a pair degenerate to working precision) by :func:`_three_level_one`."""
    cphi, sphi, c3, s3, rate = table[k, 0], table[k, 1], table[k, 2], table[k, 3], table[k, 4]
    n = last - first
    _pass_roots(cphi, sphi, w, n)
    _pass_levels(rate, w, buf, n)
    if want:
        _pass_isolated(c3, s3, w, n)
        _pass_pair(c3, s3, w, buf, n)
        _pass_third(w, n)
        _pass_curvatures(c3, s3, rate, w, buf, n)
        _pass_couplings_low(c3, s3, rate, w, buf, n)
        _pass_couplings_high(c3, s3, rate, w, buf, n)
    for j in range(n):
        r = rows[j]
        flat = w[_W_F, j] ** 2 + w[_W_F + 1, j] ** 2 + w[_W_F + 2, j] ** 2 == 0.0
        if flat or (want and buf[_B_REDO, j] != 0.0):
            i = first + j
            _three_level_one(
                E[i, 0], E[i, 1], E[i, 2], D0[i], cphi, sphi, c3, s3, rate, want, levels, slopes, coupling2,
                curvature, r, scratch,
            )
            continue
        for m in range(3):
            levels[r, m] = buf[m, j]
            slopes[r, m] = buf[3 + m, j]
        if want:
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
    dummy2 = np.empty((1, 3, 3))
    dummy1 = np.empty((1, 3))
    scratch = np.empty((2, 3, 3), dtype=np.complex128)
    for i in range(start, stop):
        _, _, _, f0, f1, f2 = _normalised(E[i, 0], E[i, 1], E[i, 2], D0[i])
        if f0 * f0 + f1 * f1 + f2 * f2 == 0.0 or not abs(phi[i]) <= _SINCOS_MAX:
            x = phi[i]
            _three_level_one(
                E[i, 0], E[i, 1], E[i, 2], D0[i], math.cos(x), math.sin(x), math.cos(x / 3.0),
                math.sin(x / 3.0), rate[0] if shared_rate else rate[i], False, levels, slopes, dummy2,
                dummy1, i, scratch,
            )


_MIN_CHUNK = 4096  # instances below which a call stays on the calling thread


def _run_chunked(kernel, n, *args, n_chunks=None):
    """``kernel(*args, start, stop)`` over ``[0, n)`` in contiguous chunks on a thread pool."""
    threads = numba.get_num_threads()
    if n_chunks is None:
        n_chunks = min(threads, max(1, n // _MIN_CHUNK))
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    if n_chunks == 1:
        kernel(*args, 0, n)
        return
    with ThreadPoolExecutor(max_workers=min(threads, n_chunks)) as pool:
        for future in [pool.submit(kernel, *args, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
            future.result()


def _phase_table(phi, dphi_dlambda):
    """``(cos phi, sin phi, cos phi/3, sin phi/3, dphi/dlambda)`` per phase, shape (K, 5)."""
    phi = np.ascontiguousarray(phi, dtype=float).ravel()
    rate = np.ascontiguousarray(dphi_dlambda, dtype=float).ravel()
    table = np.empty((phi.size, 5))
    _run_chunked(_phase_table_kernel, phi.size, phi, rate, table)
    return table


def _run_three_level(E, D0, table, outer, couplings, batch):
    n_total = int(np.prod(batch, dtype=np.int64))
    levels = np.empty((n_total, 3))
    slopes = np.empty((n_total, 3))
    if couplings:
        coupling2 = np.empty((n_total, 3, 3))
        curvature = np.empty((n_total, 3))
    else:
        coupling2 = np.empty((1, 3, 3))
        curvature = np.empty((1, 3))
    if n_total:
        args = (E, D0, table, outer, bool(couplings), levels, slopes, coupling2, curvature)
        if outer:  # chunks of nodes
            n_chunks = min(numba.get_num_threads(), max(1, n_total // _MIN_CHUNK), E.shape[0])
            _run_chunked(_three_level_kernel, E.shape[0], *args, n_chunks=n_chunks)
        else:
            _run_chunked(_three_level_kernel, n_total, *args)
    return Spectrum(
        levels=levels.reshape(batch + (3,)),
        slopes=slopes.reshape(batch + (3,)),
        coupling2=coupling2.reshape(batch + (3, 3)) if couplings else None,
        curvature=curvature.reshape(batch + (3,)) if couplings else None,
    )


def _checked(value, name, positive=False):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got minimum {arr.min()!r}")
    return arr


def three_level_spectrum(E, D0, phi, dphi_dlambda=1.0, couplings=True):
    """Exact spectrum of Eq. 6 in closed form, with derivatives with respect to ``lambda``.

    Same results as ``spectra.solve(three_level(E, D0, phi), *three_level_derivatives(E, D0, phi))``
    (rescaled by ``dphi/dlambda``), without forming or diagonalising matrices; accurate at and
    near degeneracies (module docstring).

    Parameters
    ----------
    E : array_like, shape (..., 3)
        Asymmetries in K.
    D0 : array_like
        Tunnelling amplitude in K, > 0.
    phi : array_like
        Aharonov-Bohm phase (Eq. 7).
    dphi_dlambda : array_like, optional
        ``dphi/dlambda`` of the field parameter the derivatives refer to (1: the phase itself;
        ``phase_per_tesla`` for the field in tesla). Broadcast with ``phi``.
    couplings : bool, optional
        Also compute ``coupling2`` and ``curvature`` (needs eigenvectors; about twice the cost).

    Returns
    -------
    Spectrum
        Levels ascending, shape ``batch + (3,)``; slopes; couplings and curvatures or None.
    """
    E = _checked(E, "E")
    if E.ndim < 1 or E.shape[-1] != 3:
        raise ValueError(f"E must have a last axis of length 3, got shape {E.shape}")
    D0 = _checked(D0, "D0", positive=True)
    phi = _checked(phi, "phi")
    rate = _checked(dphi_dlambda, "dphi_dlambda")
    try:
        batch = np.broadcast_shapes(E.shape[:-1], D0.shape, phi.shape, rate.shape)
    except ValueError:
        raise ValueError(
            f"batch shapes do not broadcast: E {E.shape[:-1]}, D0 {D0.shape}, phi {phi.shape}, "
            f"dphi_dlambda {rate.shape}"
        ) from None
    n = int(np.prod(batch, dtype=np.int64))
    E_flat = np.ascontiguousarray(np.broadcast_to(E, batch + (3,)).reshape(n, 3))
    D0_flat = np.ascontiguousarray(np.broadcast_to(D0, batch).reshape(n))
    if couplings:
        table = _phase_table(np.broadcast_to(phi, batch), np.broadcast_to(rate, batch))
        return _run_three_level(E_flat, D0_flat, table, False, couplings, tuple(batch))
    # levels and slopes only: the vectorised kernel, sin/cos computed inline
    phi_flat = np.ascontiguousarray(np.broadcast_to(phi, batch).reshape(n))
    rate_flat = rate.reshape(1) if rate.size == 1 else np.ascontiguousarray(np.broadcast_to(rate, batch).reshape(n))
    levels = np.empty((n, 3))
    slopes = np.empty((n, 3))
    if n:
        _run_chunked(_three_level_paired_kernel, n, E_flat, D0_flat, phi_flat, rate_flat, levels, slopes)
    return Spectrum(levels=levels.reshape(batch + (3,)), slopes=slopes.reshape(batch + (3,)))


def three_level_outer(E, D0, phi, dphi_dlambda, couplings=True):
    """Spectra of every parameter node at every phase: the ensemble's ``(N, K)`` layout.

    Parameters
    ----------
    E : array_like, shape (N, 3)
        Asymmetries in K.
    D0 : array_like, shape (N,)
        Tunnelling amplitudes in K, > 0.
    phi, dphi_dlambda : array_like, shape (K,)
        Phases and their derivatives with respect to the field parameter (one per orientation).
    couplings : bool, optional
        Also compute couplings and curvatures.

    Returns
    -------
    Spectrum
        Shape ``(N, K)``; the trigonometric functions of each phase are evaluated once.
    """
    E = _checked(E, "E")
    D0 = _checked(D0, "D0", positive=True)
    phi = _checked(phi, "phi")
    rate = _checked(dphi_dlambda, "dphi_dlambda")
    if E.ndim != 2 or E.shape[1] != 3:
        raise ValueError(f"E must have shape (N, 3), got {E.shape}")
    if D0.shape != (E.shape[0],):
        raise ValueError(f"D0 must have shape ({E.shape[0]},) like E, got {D0.shape}")
    if phi.ndim != 1 or rate.shape != phi.shape:
        raise ValueError(f"phi and dphi_dlambda must be 1-D of equal length, got {phi.shape} and {rate.shape}")
    table = _phase_table(phi, rate)
    return _run_three_level(
        np.ascontiguousarray(E), np.ascontiguousarray(D0), table, True, couplings, (E.shape[0], phi.shape[0])
    )


# --------------------------------------------------------------------------- thermal sums
#: Observable name -> code of :func:`thermal_observable`.
OBSERVABLE_CODES = {
    "log_partition": 0,
    "free_energy_K": 1,
    "internal_energy_K": 2,
    "entropy": 3,
    "heat_capacity": 4,
    "magnetization": 5,
    "susceptibility": 6,
}


_INV_FACTORIAL_SHIFTED = np.array([1.0 / math.factorial(k + 1) for k in range(13)])  # 1/(k+1)!
_KUBO_SERIES_MAX = 0.35  # below: the Taylor series; above: 1 - exp(-y) loses at most 2 bits


@numba.njit(inline="always", **_JIT)
def _kubo_weight(y):
    """``(1 - e^{-y}) / y`` for ``y >= 0``, within a few ulp; branch-free (vectorisable).

    Below 0.35 the Taylor series ``sum_k (-y)^k / (k + 1)!`` to ``k = 13`` (remainder below
    1e-17); above, ``(1 - exp(-y)) / y`` with :func:`_exp_neg`, where ``1 - e^{-y} >= 0.29``.
    """
    series = 1.0 / 87178291200.0  # 1/14!, the k = 13 term
    for k in range(12, -1, -1):
        series = _INV_FACTORIAL_SHIFTED[k] - y * series
    direct = (1.0 - _exp_neg(y)) / max(y, _KUBO_SERIES_MAX)
    return series if y < _KUBO_SERIES_MAX else direct


@numba.njit(**_JIT)
def _thermal_one(levels, slopes, coupling2, curvature, i, T, beta, beta_min, what, has_curvature, res, w, rest, acc, acc2):
    """Observable ``what`` of instance ``i`` at every temperature, into ``res`` (n_T,).

    ``w_k = exp(-(E_k - E_0)/T)``, ``Z' = 1 + rest``, ``rest = sum_{k != ground} w_k``;
    ``w``, ``rest``, ``acc``, ``acc2`` are scratch buffers.
    """
    n = levels.shape[1]
    n_T = beta.size
    ground = 0
    e0 = levels[i, 0]
    for k in range(1, n):
        if levels[i, k] < e0:
            e0 = levels[i, k]
            ground = k
    for j in range(n_T):
        rest[j] = 0.0
        acc[j] = 0.0
        acc2[j] = 0.0
    if what <= 4:
        # sums of w, w x and w x^2 with x = E_k - E_0 (the ground term is 1, 0, 0)
        for k in range(n):
            x = levels[i, k] - e0
            if k == ground or x * beta_min >= _EXP_UNDERFLOW:
                continue  # the ground term, or w_k = 0 at every temperature
            for j in range(n_T):
                v = _exp_neg(x * beta[j])
                rest[j] += v
                acc[j] += v * x
                acc2[j] += v * x * x
        if what <= 1:
            for j in range(n_T):
                log_z = math.log1p(rest[j]) - e0 * beta[j]
                res[j] = log_z if what == 0 else -T[j] * log_z
        elif what == 2:
            for j in range(n_T):
                res[j] = e0 + acc[j] / (1.0 + rest[j])
        elif what == 3:
            for j in range(n_T):
                res[j] = math.log1p(rest[j]) + acc[j] / (1.0 + rest[j]) * beta[j]
        else:
            # variance of x: <x^2> - <x>^2 loses at most a factor n + 1 (the ground weight is
            # the largest, so var >= <x>^2 / n)
            for j in range(n_T):
                inv = 1.0 / (1.0 + rest[j])
                mean = acc[j] * inv
                res[j] = (acc2[j] * inv - mean * mean) * beta[j] * beta[j]
    elif what == 5:
        s0 = slopes[i, ground]
        for k in range(n):
            x = levels[i, k] - e0
            if k == ground or x * beta_min >= _EXP_UNDERFLOW:
                continue
            s = slopes[i, k]
            for j in range(n_T):
                v = _exp_neg(x * beta[j])
                rest[j] += v
                acc[j] += v * s
        for j in range(n_T):
            res[j] = -(s0 + acc[j]) / (1.0 + rest[j])
    else:
        for k in range(n):
            row = w[k]
            if k == ground:
                for j in range(n_T):
                    row[j] = 1.0
                continue
            x = levels[i, k] - e0
            for j in range(n_T):
                v = _exp_neg(x * beta[j])
                row[j] = v
                rest[j] += v
        for j in range(n_T):
            rest[j] = 1.0 / (1.0 + rest[j])  # now 1 / Z'
        # mean slope, and the Kubo sum
        #   sum_n g_nn p_n + 2 sum_{n<m} g_nm max(p_n, p_m) f(|E_n - E_m| / T), times 1/T
        for k in range(n):
            s = slopes[i, k]
            g = coupling2[i, k, k]
            c = curvature[i, k] if has_curvature else 0.0
            row = w[k]
            for j in range(n_T):
                p = row[j] * rest[j]
                acc[j] += p * s
                acc2[j] += g * p * beta[j] - c * p
        for k in range(n):
            for m in range(k + 1, n):
                g = coupling2[i, k, m]
                gap = abs(levels[i, m] - levels[i, k])
                rk = w[k]
                rm = w[m]
                for j in range(n_T):
                    pmax = max(rk[j], rm[j]) * rest[j]
                    acc2[j] += 2.0 * g * pmax * _kubo_weight(gap * beta[j]) * beta[j]
        for j in range(n_T):
            res[j] = acc2[j] - acc[j] * acc[j] * beta[j]


@numba.njit(**_JIT)
def _thermal_kernel(levels, slopes, coupling2, curvature, T, beta, what, has_curvature, out, start, stop):
    n = levels.shape[1]
    n_T = beta.size
    beta_min = beta.min()
    w = np.empty((n, n_T))
    rest = np.empty(n_T)
    acc = np.empty(n_T)
    acc2 = np.empty(n_T)
    for i in range(start, stop):
        _thermal_one(levels, slopes, coupling2, curvature, i, T, beta, beta_min, what, has_curvature, out[i], w, rest, acc, acc2)


_MAGNETIZATION = 5  # OBSERVABLE_CODES["magnetization"]


@numba.njit(inline="always", **_JIT)
def _add_magnetization3(levels, slopes, beta, weight, out):
    """``out[t] += weight * M(beta[t])`` for one three-level spectrum with ascending levels:
    ``M = -(s_0 + w_1 s_1 + w_2 s_2) / (1 + w_1 + w_2)``, ``w_k = exp(-(E_k - E_0) beta)`` --
    the magnetisation of :func:`_thermal_one` in one loop over temperatures without scratch
    arrays (the fused sums' most common case)."""
    x1 = max(levels[1] - levels[0], 0.0)  # ascending by contract; the clamp keeps _exp_neg's x >= 0
    x2 = max(levels[2] - levels[0], 0.0)
    s0, s1, s2 = slopes[0], slopes[1], slopes[2]
    for t in range(beta.size):
        v1 = _exp_neg(x1 * beta[t])
        v2 = _exp_neg(x2 * beta[t])
        out[t] -= weight * (s0 + v1 * s1 + v2 * s2) / (1.0 + v1 + v2)


@numba.njit(**_JIT)
def _add_nodes(node, weights, first, count, totals, squares):
    """``totals += w_i c_i`` and ``squares += (w_i c_i)^2`` over the block's nodes, ``c_i = node[j]``."""
    for j in range(count):
        wi = weights[first + j]
        for o in range(node.shape[1]):
            for t in range(node.shape[2]):
                c = wi * node[j, o, t]
                totals[o, t] += c
                squares[o, t] += c * c


@numba.njit(inline="always", **_JIT)
def _chunk_row(n_nodes, n_rows, start):
    """Row of the per-chunk sums for the chunk starting at node ``start`` (as :func:`_run_sums`)."""
    per_chunk = (n_nodes + n_rows - 1) // n_rows
    return start // per_chunk if per_chunk > 0 else 0


@numba.njit(**_JIT)
def _three_level_sums_kernel(E, D0, weights, table, orient_w, T, beta, codes, want, option, totals, squares, start, stop):
    """Fused ensemble sums over nodes ``start <= i < stop`` into the chunk's row of ``totals``
    (``sum_i w_i sum_k omega_k O_ik(T)``) and ``squares``; the row is ``start``'s chunk index.

    The spectra of a block of nodes at one orientation come from the SIMD blocks
    (:func:`_block_to_rows`: levels and slopes, and with the susceptibility also couplings and
    curvatures); the magnetisation is added in one loop over temperatures. ``option`` is not
    used (the driver :func:`_run_sums` passes it to every sums kernel).
    """
    n_phase = table.shape[0]
    n_T = beta.size
    n_obs = codes.size
    beta_min = beta.min()
    row = _chunk_row(E.shape[0], totals.shape[0], start)
    levels = np.empty((_BLOCK, 3))
    slopes = np.empty((_BLOCK, 3))
    coupling2 = np.empty((_BLOCK, 3, 3))
    curvature = np.empty((_BLOCK, 3))
    buf = np.empty((_B_ROWS, _BLOCK))
    work = np.empty((_W_ROWS, _BLOCK))
    rows = np.arange(_BLOCK)
    w = np.empty((3, n_T))
    rest = np.empty(n_T)
    acc = np.empty(n_T)
    acc2 = np.empty(n_T)
    res = np.empty(n_T)
    node = np.empty((_BLOCK, n_obs, n_T))
    scratch = np.empty((2, 3, 3), dtype=np.complex128)
    e = E.ravel()
    for first in range(start, stop, _BLOCK):
        last = min(first + _BLOCK, stop)
        count = last - first
        node[:, :, :] = 0.0
        _pass_scales(e[3 * first : 3 * last], D0[first:last], work)
        for k in range(n_phase):
            _block_to_rows(E, D0, first, last, table, k, want, buf, work, scratch, levels, slopes, coupling2, curvature, rows)
            for j in range(count):
                for o in range(n_obs):
                    if codes[o] == _MAGNETIZATION:
                        _add_magnetization3(levels[j], slopes[j], beta, orient_w[k], node[j, o])
                        continue
                    _thermal_one(levels, slopes, coupling2, curvature, j, T, beta, beta_min, codes[o], want, res, w, rest, acc, acc2)
                    for t in range(n_T):
                        node[j, o, t] += orient_w[k] * res[t]
        _add_nodes(node, weights, first, count, totals[row], squares[row])


def thermal_observable(name, levels, temperature_K, slopes=None, coupling2=None, curvature=None):
    """One thermodynamic function of a batch of spectra over a temperature axis.

    The formulas are those of :mod:`tunnelsim.thermo` (shift by the ground level, ``log1p``,
    the Kubo form of the susceptibility), evaluated in one compiled pass per instance.

    Parameters
    ----------
    name : str
        A key of :data:`OBSERVABLE_CODES`.
    levels : numpy.ndarray, shape (M, n)
        Finite energies in K.
    temperature_K : numpy.ndarray, shape (n_T,)
        Temperatures in K, all > 0.
    slopes, coupling2, curvature : numpy.ndarray, optional
        Shapes ``(M, n)``, ``(M, n, n)``, ``(M, n)``; slopes are needed for the magnetisation,
        slopes and couplings for the susceptibility (curvature optional).

    Returns
    -------
    numpy.ndarray, shape (M, n_T)
    """
    if name not in OBSERVABLE_CODES:
        raise ValueError(f"name must be one of {sorted(OBSERVABLE_CODES)}, got {name!r}")
    what = OBSERVABLE_CODES[name]
    E = np.ascontiguousarray(levels, dtype=float)
    if E.ndim != 2 or E.shape[1] < 1:
        raise ValueError(f"levels must have shape (M, n), got {E.shape}")
    T = np.ascontiguousarray(temperature_K, dtype=float)
    if T.ndim != 1 or not np.all(T > 0) or not np.all(np.isfinite(T)):
        raise ValueError("temperature_K must be 1-D, finite and > 0")
    M, n = E.shape

    def operand(value, label, shape, needed):
        if not needed:
            return np.zeros((1,) + shape[1:])
        arr = np.ascontiguousarray(value, dtype=float)
        if arr.shape != shape:
            raise ValueError(f"{label} must have shape {shape}, got {arr.shape}")
        return arr

    if what >= 5 and slopes is None:
        raise ValueError(f"{name} needs slopes")
    if what == 6 and coupling2 is None:
        raise ValueError("susceptibility needs coupling2")
    has_curvature = what == 6 and curvature is not None
    s = operand(slopes, "slopes", (M, n), what >= 5)
    g = operand(coupling2, "coupling2", (M, n, n), what == 6)
    c = operand(curvature, "curvature", (M, n), has_curvature)
    out = np.empty((M, T.size))
    if M:
        _run_chunked(_thermal_kernel, M, E, s, g, c, T, 1.0 / T, what, has_curvature, out)
    return out


def three_level_sums(E, D0, weights, phi, dphi_dlambda, orientation_weights, temperature_K, observables):
    """Ensemble sums of the three-level system in one compiled pass, nothing stored per instance.

    ``sum_i w_i sum_k omega_k O(E_i, D0_i, phi_k; T)`` for each observable, with the spectrum of
    :func:`three_level_outer` and the functions of :func:`thermal_observable`; also the sums of
    squares of the node contributions ``c_i = w_i sum_k omega_k O_ik`` (for sampling errors).

    Parameters
    ----------
    E : array_like, shape (N, 3)
        Asymmetries in K.
    D0 : array_like, shape (N,)
        Tunnelling amplitudes in K, > 0.
    weights : array_like, shape (N,)
        Node weights ``w_i``.
    phi, dphi_dlambda, orientation_weights : array_like, shape (K,)
        Phase, its derivative with respect to the field parameter, and weight of each orientation.
    temperature_K : array_like, shape (n_T,)
        Temperatures in K, > 0.
    observables : sequence of str
        Keys of :data:`OBSERVABLE_CODES`.

    Returns
    -------
    totals, squares : dict of str to numpy.ndarray, shape (n_T,)
    """
    E = _checked(E, "E")
    D0 = _checked(D0, "D0", positive=True)
    weights = _checked(weights, "weights")
    phi = _checked(phi, "phi")
    rate = _checked(dphi_dlambda, "dphi_dlambda")
    omega = _checked(orientation_weights, "orientation_weights")
    T = _checked(temperature_K, "temperature_K", positive=True)
    if E.ndim != 2 or E.shape[1] != 3:
        raise ValueError(f"E must have shape (N, 3), got {E.shape}")
    n = E.shape[0]
    for arr, label in ((D0, "D0"), (weights, "weights")):
        if arr.shape != (n,):
            raise ValueError(f"{label} must have shape ({n},) like E, got {arr.shape}")
    if phi.ndim != 1 or rate.shape != phi.shape or omega.shape != phi.shape:
        raise ValueError(
            "phi, dphi_dlambda and orientation_weights must be 1-D of equal length, got "
            f"{phi.shape}, {rate.shape}, {omega.shape}"
        )
    return _run_sums(_three_level_sums_kernel, E, D0, weights, _phase_table(phi, rate), omega, T, observables)


def _run_sums(kernel, E, D0, weights, table, omega, temperature_K, observables, option=0):
    """Run a fused sums kernel over the nodes in fixed chunks on a thread pool.

    ``kernel(E, D0, weights, table, omega, T, 1/T, codes, want, option, totals, squares, start,
    stop)`` adds the chunk's sums into its row of ``totals``/``squares`` (``option``: an integer
    the kernel defines); the chunking does not depend on the thread count, so the results do not
    depend on the machine.
    """
    T = _checked(temperature_K, "temperature_K", positive=True)
    if T.ndim != 1:
        raise ValueError(f"temperature_K must be 1-D, got shape {T.shape}")
    names = list(dict.fromkeys(observables))
    for name in names:
        if name not in OBSERVABLE_CODES:
            raise ValueError(f"observables: unknown {name!r}; expected keys of OBSERVABLE_CODES")
    codes = np.array([OBSERVABLE_CODES[name] for name in names], dtype=np.int64)
    want = bool(np.any(codes == OBSERVABLE_CODES["susceptibility"]))
    n = E.shape[0]
    n_chunks = max(1, min(8, n // 64))
    totals = np.zeros((n_chunks, codes.size, T.size))
    squares = np.zeros_like(totals)
    if n and codes.size:
        per_chunk = -(-n // n_chunks)
        bounds = [min(n, c * per_chunk) for c in range(n_chunks + 1)]
        args = (
            np.ascontiguousarray(E), np.ascontiguousarray(D0), np.ascontiguousarray(weights), table,
            np.ascontiguousarray(omega), T, 1.0 / T, codes, want, option, totals, squares,
        )
        threads = min(numba.get_num_threads(), n_chunks)
        if threads == 1:
            for a, b in zip(bounds[:-1], bounds[1:]):
                kernel(*args, a, b)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                futures = [pool.submit(kernel, *args, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
                for future in futures:
                    future.result()
    total, square = totals.sum(axis=0), squares.sum(axis=0)
    return ({name: total[o] for o, name in enumerate(names)}, {name: square[o] for o, name in enumerate(names)})
