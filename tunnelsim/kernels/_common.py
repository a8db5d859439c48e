"""Helpers shared by the compiled kernels: numba options, ``exp(-x)``, ``sin``/``cos``, threads, checks.

* :func:`_exp_neg` -- a vectorisable ``exp(-x)`` for ``x >= 0`` (Cody-Waite reduction,
  degree-13 Taylor polynomial, the power of two assembled from its bits in two halves so that
  the subnormal range rounds once): within 1 ulp of the correctly rounded value over the whole
  range; :func:`exp_neg` exposes it for tests and benchmarks.
* :func:`_sincos` -- ``(sin x, cos x)`` from an inline fdlibm-style kernel, within 2 ulp and
  branch-free, so loops over it run on SIMD lanes (library calls do not).
* Threads: the compiled loops release the GIL (``nogil``) and run over contiguous chunks of
  instances in a thread pool made per call (:func:`_run_chunked`), with
  ``numba.get_num_threads()`` threads (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``).
  numba's own ``parallel=True`` is not used: its OpenMP layer is not safe in processes forked
  after it started, which the ensemble's process pool does.
* :func:`_checked` -- the kernels' argument check (finite, optionally positive).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["exp_neg"]


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



def _checked(value, name, positive=False):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got minimum {arr.min()!r}")
    return arr

