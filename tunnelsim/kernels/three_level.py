"""The three-level system (Eq. 6) in closed form: spectra, and fused ensemble sums, compiled with numba.

Everything here is exact (to rounding), not an approximation: the kernels are checked against the
reference path (:func:`tunnelsim.spectra.solve`, i.e. :func:`numpy.linalg.eigh`, and the numpy
formulas of :mod:`tunnelsim.thermo`) in ``tests/kernels/test_three_level.py``. numba is imported with this
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
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..spectra import Spectrum
from ._common import _JIT, _checked, _run_chunked, _MIN_CHUNK
from ._three_level_blocks import _B_ROWS, _BLOCK, _W_ROWS, _block_to_rows, _pass_scales, _three_level_paired_kernel
from ._three_level_scalar import _three_level_one
from .thermal import _add_block, _add_orientation_block, _chunk_row, _run_sums

__all__ = ["three_level_outer", "three_level_spectrum", "three_level_sums"]


@numba.njit(**_JIT)
def _three_level_kernel(E, D0, table, outer, with_couplings, levels, slopes, coupling2, curvature, start, stop):
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
                _block_to_rows(E, D0, first, last, table, k, with_couplings, buf, work, scratch, levels, slopes, coupling2, curvature, rows)
        return
    for idx in range(start, stop):
        _three_level_one(
            E[idx, 0], E[idx, 1], E[idx, 2], D0[idx], table[idx, 0], table[idx, 1], table[idx, 2], table[idx, 3],
            table[idx, 4], with_couplings, levels, slopes, coupling2, curvature, idx, scratch,
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

@numba.njit(**_JIT)
def _three_level_sums_kernel(E, D0, weights, table, orient_w, T, beta, codes, with_couplings, kernel_setting, totals, squares, orient_sums, bins, bin_sums, start, stop):
    """Fused ensemble sums over nodes ``start <= i < stop`` into the chunk's row of ``totals``
    (``sum_i W_ri sum_k Omega_0k O_ik(T)`` for each row ``r`` of the node weights ``W`` (R, N)),
    ``squares`` (row 0's) and, with further orientation rows (``Omega`` (Q, K), ``Q > 1``),
    ``orient_sums`` (``sum_i W_0i O_ik`` per orientation) and, with ``bins`` (A, N), ``bin_sums``
    (``sum_i W_0i sum_k Omega_0k O_ik`` per bin); the row is ``start``'s chunk index
    (:func:`tunnelsim.kernels.thermal._run_sums`).

    The spectra of a block of nodes at one orientation come from the SIMD blocks
    (:func:`_block_to_rows`: levels and slopes, and with the susceptibility also couplings and
    curvatures), each once whatever the number of weight rows; the magnetisation is added in
    one loop over temperatures. ``kernel_setting = 1``: point mode -- the ``n_T`` entries of
    ``T`` are points, each with its own ``K`` phases (``table`` has ``n_T K`` rows, point-major),
    and point ``p`` is evaluated at ``T[p]`` only (the slots of the other points untouched).
    """
    n_T = beta.size
    n_points = n_T if kernel_setting == 1 else 1
    n_phase = table.shape[0] // n_points
    n_obs = codes.size
    per_orient = orient_w.shape[0] > 1
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
    w_main = weights[0]
    omega = orient_w[0]
    e = E.ravel()
    for first in range(start, stop, _BLOCK):
        last = min(first + _BLOCK, stop)
        count = last - first
        node[:, :, :] = 0.0
        _pass_scales(e[3 * first : 3 * last], D0[first:last], work)
        for p in range(n_points):
            for k in range(n_phase):
                _block_to_rows(E, D0, first, last, table, p * n_phase + k, with_couplings, buf, work, scratch, levels, slopes, coupling2, curvature, rows)
                if kernel_setting == 1:  # point p: its temperature slot alone
                    _add_orientation_block(levels, slopes, coupling2, curvature, count, T[p:p + 1], beta[p:p + 1], beta[p],
                                           codes, with_couplings, omega[k], node[:, :, p:p + 1], per_orient, w_main, first,
                                           orient_sums[row, :, :, p:p + 1], k, res[p:p + 1], w[:, p:p + 1], rest[p:p + 1],
                                           acc[p:p + 1], acc2[p:p + 1], True)
                else:
                    _add_orientation_block(levels, slopes, coupling2, curvature, count, T, beta, beta_min, codes,
                                           with_couplings, omega[k], node, per_orient, w_main, first, orient_sums[row], k,
                                           res, w, rest, acc, acc2, True)
        _add_block(node, w_main, weights, bins, first, count, totals[row], squares[row], bin_sums[row])


def three_level_sums(E, D0, weights, phi, dphi_dlambda, orientation_weights, temperature_K, observables, bins=None,
                     squares=True, points=False):
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
    weights : array_like, shape (N,) or (R, N)
        Node weights ``w_i``, or ``R`` rows of them (e.g. a rule and its embedded sub-rules).
    phi, dphi_dlambda : array_like, shape (K,), or (n_T, K) with ``points``
        Phase and its derivative with respect to the field parameter, per orientation (and point).
    orientation_weights : array_like, shape (K,) or (Q, K)
        Weight of each orientation, or ``Q`` rows of them.
    temperature_K : array_like, shape (n_T,)
        Temperatures in K, > 0.
    observables : sequence of str
        Keys of :data:`OBSERVABLE_CODES`.
    bins : array_like of int, shape (A, N), optional
        Per-bin sums of the main rows' node contributions as well (e.g. by each node's position
        along each tensor axis, :func:`tunnelsim.kernels.thermal._run_sums`).
    squares : bool, optional
        Whether the squares are needed (default). Without them (returned as NaN), a small node
        count under a large orientation rule is split over threads by orientation blocks as
        well (:func:`tunnelsim.kernels.thermal._run_sums`).
    points : bool, optional
        Point mode: ``temperature_K`` lists ``n_T`` points, each with its own row of phases, and
        each column of the results is that point's sums at its own temperature -- a whole (T, B)
        grid whose phases differ per point (Eq. 15/16) in one pass.

    Returns
    -------
    totals : dict of str to numpy.ndarray, shape (n_T,) or (R + Q - 1 [+ n_bins], n_T)
        With one weight vector each, the sums. With a matrix, from one pass over the nodes (each
        spectrum evaluated once): the sums with each node row and the first orientation row,
        then with the first node row and each further orientation row, then the per-bin sums
        (:func:`tunnelsim.kernels.thermal._run_sums`); the first is bit for bit the
        single-weight sum.
    squares : dict of str to numpy.ndarray, shape (n_T,)
        Sums of squares of the first rows' node contributions (NaN with ``squares=False``).
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
    if D0.shape != (n,):
        raise ValueError(f"D0 must have shape ({n},) like E, got {D0.shape}")
    if weights.ndim not in (1, 2) or weights.shape[-1] != n:
        raise ValueError(f"weights must have shape ({n},) or (R, {n}) like E, got {weights.shape}")
    if points:
        if T.ndim != 1 or phi.ndim != 2 or phi.shape[0] != T.size or rate.shape != phi.shape or omega.ndim not in (1, 2) \
                or omega.shape[-1:] != phi.shape[1:]:
            raise ValueError(
                "points: phi and dphi_dlambda must have shape (n_T, K) for the n_T points and orientation_weights "
                f"(K,) or (Q, K), got {phi.shape}, {rate.shape}, {omega.shape} for {T.shape} points"
            )
        # one block of orientations: the table's rows are point-major, not to be split by orientation
        return _run_sums(_three_level_sums_kernel, E, D0, weights, _phase_table(phi, rate), omega, T, observables, 1,
                         bins=bins, squares=True)
    if phi.ndim != 1 or rate.shape != phi.shape or omega.ndim not in (1, 2) or omega.shape[-1:] != phi.shape:
        raise ValueError(
            "phi and dphi_dlambda must be 1-D of equal length K and orientation_weights (K,) or (Q, K), got "
            f"{phi.shape}, {rate.shape}, {omega.shape}"
        )
    return _run_sums(_three_level_sums_kernel, E, D0, weights, _phase_table(phi, rate), omega, T, observables,
                     bins=bins, squares=squares)

