"""Fast exact kernels for the tetrahedral four-well system: a compiled 4 x 4 Hermitian solver
and fused ensemble sums, compiled with numba.

The Hamiltonian is that of :func:`tunnelsim.hamiltonians.four_well`: ``H[i, i] = E_i`` and
``H[i, j] = D0 exp(i theta_ij)`` on the six bonds, ``theta_ij = phi_vec . (r_i x r_j) / 2``
(the symmetric gauge; Eq. 7 per face). Along a field direction ``n`` the derivatives are
exact: ``dH[i, j] = i theta'_ij H[i, j]`` and ``d2H[i, j] = -theta'_ij^2 H[i, j]``, with
``theta'_ij = dtheta_ij / dlambda`` for the field parameter ``lambda`` (the field in tesla in
the ensemble).

Solver
------
Cyclic complex Jacobi rotations on ``(H - mean(E)) / s``, ``s = max(D0, |E_i - mean(E)|)``
(so every entry is at most 1 and any overall energy scale is covered). Each rotation removes
the phase of the pivot and then zeroes it with the real symmetric rotation of the smaller
angle (``t = sgn(theta) / (|theta| + sqrt(theta^2 + 1))``, ``theta = (a_qq - a_pp) / 2|a_pq|``),
accumulating the eigenvectors. Sweeps stop when no pivot exceeds ``1e-18`` (relative to ``s``):
Jacobi converges quadratically, so this is reached one sweep after the off-diagonal part
falls to rounding level. Levels are then accurate to rounding in ``s``, eigenvectors to
rounding over the gap, as with LAPACK's ``zheevd`` (:func:`numpy.linalg.eigh`, the reference
path, against which ``tests/kernels/test_four_well.py`` checks everything). Degenerate levels
(the regular tetrahedron at zero field has a three-fold degenerate level) get some orthonormal
basis of their subspace; thermal functions use only sums over degenerate levels, which do not
depend on that choice (:mod:`tunnelsim.spectra`).

Slopes, couplings and curvatures follow from the eigenvectors (Hellmann-Feynman), as in
:func:`tunnelsim.spectra.solve`; the thermal functions are those of
:func:`tunnelsim.kernels.thermal.thermal_observable`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import hamiltonians
from . import _four_well_sweep as _sweep
from ._common import _JIT, _checked, _run_chunked
from .thermal import _add_block, _add_orientation_block, _chunk_row, _run_sums
from ..spectra import Spectrum

__all__ = ["bond_table", "four_well_outer", "four_well_sums"]

_BONDS = np.array(hamiltonians._TETRA_BONDS, dtype=np.int64)  # (6, 2), i < j
_OFF_TOL = 1e-18  # rotation threshold on the normalised matrix
_MAX_SWEEPS = 30
_BLOCK = _sweep.BLOCK


def bond_table(phi_vec, direction, dphi_dlambda, vertices=None):
    """Bond phases and their derivatives per orientation.

    Parameters
    ----------
    phi_vec : array_like, shape (K, 3)
        Field as a phase vector (rad per unit face area), as in :func:`hamiltonians.four_well`.
    direction : array_like, shape (K, 3)
        Unit field direction (the direction along which ``phi_vec`` grows).
    dphi_dlambda : array_like, shape (K,)
        ``d|phi_vec| / dlambda`` for the field parameter ``lambda``.
    vertices : array_like, shape (4, 3), optional
        Well positions (default: the regular tetrahedron).

    Returns
    -------
    numpy.ndarray, shape (K, 18)
        ``cos theta_b``, ``sin theta_b`` and ``dtheta_b / dlambda`` of the six bonds
        ``b`` (in the order of ``hamiltonians._TETRA_BONDS``).
    """
    phi_vec = _checked(phi_vec, "phi_vec")
    direction = _checked(direction, "direction")
    rate = _checked(dphi_dlambda, "dphi_dlambda")
    if phi_vec.ndim != 2 or phi_vec.shape[1] != 3 or direction.shape != phi_vec.shape:
        raise ValueError(f"phi_vec and direction must have shape (K, 3), got {phi_vec.shape} and {direction.shape}")
    if rate.shape != phi_vec.shape[:1]:
        raise ValueError(f"dphi_dlambda must have shape ({phi_vec.shape[0]},), got {rate.shape}")
    grads = hamiltonians._bond_phase_gradients(hamiltonians._vertices(vertices))  # (6, 3)
    theta = phi_vec @ grads.T
    table = np.empty((phi_vec.shape[0], 18))
    table[:, 0:6] = np.cos(theta)
    table[:, 6:12] = np.sin(theta)
    table[:, 12:18] = (direction @ grads.T) * rate[:, None]
    return table


@numba.njit(**_JIT)
def _jacobi(a, v):
    """Diagonalise the Hermitian ``a`` (4 x 4, entries <= 1) in place; ``v`` gets the eigenvectors
    (columns). Returns the number of sweeps."""
    n = a.shape[0]
    for r in range(n):
        for c in range(n):
            v[r, c] = 1.0 if r == c else 0.0
    for sweep in range(_MAX_SWEEPS):
        rotated = False
        for p in range(n - 1):
            for q in range(p + 1, n):
                x = a[p, q].real
                y = a[p, q].imag
                r = math.sqrt(x * x + y * y)
                if not r > _OFF_TOL:
                    continue
                rotated = True
                phase = complex(x / r, -y / r)  # exp(-i arg a_pq)
                theta = (a[q, q].real - a[p, p].real) / (2.0 * r)
                t = 1.0 / (abs(theta) + math.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / math.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):
                    if k == p or k == q:
                        continue
                    akp = a[k, p]
                    akq = phase * a[k, q]
                    new_p = c * akp - s * akq
                    new_q = s * akp + c * akq
                    a[k, p] = new_p
                    a[p, k] = np.conj(new_p)
                    a[k, q] = new_q
                    a[q, k] = np.conj(new_q)
                a[p, p] = a[p, p].real - t * r
                a[q, q] = a[q, q].real + t * r
                a[p, q] = 0.0
                a[q, p] = 0.0
                for k in range(n):
                    vkp = v[k, p]
                    vkq = phase * v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
        if not rotated:
            return sweep
    return _MAX_SWEEPS


@numba.njit(**_JIT)
def _four_well_one(E, D0, table, k, with_couplings, a, v, hop, dh, w, order, levels, slopes, coupling2, curvature, idx):
    """Spectrum of one instance (asymmetries ``E`` (4,), amplitude ``D0``, orientation row ``k`` of
    ``table``) into row ``idx`` of the outputs; ``a``, ``v``, ``hop``, ``dh``, ``w``, ``order`` are scratch."""
    m = 0.25 * (E[0] + E[1] + E[2] + E[3])
    s = D0
    for i in range(4):
        s = max(s, abs(E[i] - m))
    d = D0 / s
    for i in range(4):
        for j in range(4):
            a[i, j] = 0.0
            dh[i, j] = 0.0
        a[i, i] = (E[i] - m) / s
    for b in range(6):
        i = _BONDS[b, 0]
        j = _BONDS[b, 1]
        h = d * complex(table[k, b], table[k, 6 + b])
        hop[b] = h
        a[i, j] = h
        a[j, i] = np.conj(h)
        g = complex(0.0, table[k, 12 + b]) * h  # dH / s
        dh[i, j] = g
        dh[j, i] = np.conj(g)
    _jacobi(a, v)
    # ascending order (insertion sort of four)
    for n in range(4):
        order[n] = n
    for n in range(1, 4):
        b = n
        while b > 0 and a[order[b - 1], order[b - 1]].real > a[order[b], order[b]].real:
            order[b - 1], order[b] = order[b], order[b - 1]
            b -= 1
    for n in range(4):
        levels[idx, n] = a[order[n], order[n]].real * s + m
    # W = dH V; slopes <n|dH|n> = (V^H W)_nn, couplings |(V^H W)_nm|^2
    for i in range(4):
        for c in range(4):
            acc = 0.0j
            for j in range(4):
                acc += dh[i, j] * v[j, c]
            w[i, c] = acc
    for n in range(4):
        cn = order[n]
        total = 0.0
        for i in range(4):
            total += (np.conj(v[i, cn]) * w[i, cn]).real
        slopes[idx, n] = total * s
    if not with_couplings:
        return
    for n in range(4):
        cn = order[n]
        for mm in range(n, 4):
            cm = order[mm]
            g = 0.0j
            for i in range(4):
                g += np.conj(v[i, cn]) * w[i, cm]
            c2 = (g.real * g.real + g.imag * g.imag) * s * s
            coupling2[idx, n, mm] = c2
            coupling2[idx, mm, n] = c2
        # <n| d2H |n>, d2H[i, j] = -theta'_ij^2 H[i, j] on the bonds
        curv = 0.0
        for b in range(6):
            i = _BONDS[b, 0]
            j = _BONDS[b, 1]
            rate = table[k, 12 + b]
            curv -= 2.0 * rate * rate * (np.conj(v[i, cn]) * hop[b] * v[j, cn]).real
        curvature[idx, n] = curv * s


@numba.njit(**_JIT)
def _scratch():
    return (
        np.empty((4, 4), dtype=np.complex128),
        np.empty((4, 4), dtype=np.complex128),
        np.empty(6, dtype=np.complex128),
        np.empty((4, 4), dtype=np.complex128),
        np.empty((4, 4), dtype=np.complex128),
        np.empty(4, dtype=np.int64),
    )


@numba.njit(**_JIT)
def _block_scratch():
    """State (two buffers), per-lane ``d``, mean, scale, and the derivative rows of one block."""
    return (
        np.empty(_sweep.N_ROWS * _BLOCK),
        np.empty(_sweep.N_ROWS * _BLOCK),
        np.empty(_BLOCK),
        np.empty(_BLOCK),
        np.empty(_BLOCK),
        np.empty(_sweep.N_OUT * _BLOCK),
    )


@numba.njit(**_JIT)
def _solve_block(E, D0, table, k, first, count, with_couplings, max_sweeps, sa, sb, d, mean, scale, der):
    """Diagonalise nodes ``first .. first + count - 1`` (``count <= BLOCK``) at orientation ``k``
    with the unrolled SIMD sweeps; derivatives into ``der``. Returns the state array that holds
    the result (``sa`` or ``sb``); lanes beyond ``count`` hold a zero matrix."""
    B = _BLOCK
    sa[:] = 0.0
    for j in range(B):
        if j < count:
            i = first + j
            m = 0.25 * (E[i, 0] + E[i, 1] + E[i, 2] + E[i, 3])
            s = D0[i]
            for r in range(4):
                s = max(s, abs(E[i, r] - m))
            mean[j] = m
            scale[j] = s
            d[j] = D0[i] / s
            for r in range(4):
                sa[r * B + j] = (E[i, r] - m) / s
            for b in range(6):
                sa[(_sweep.ROW_RE + b) * B + j] = d[j] * table[k, b]
                sa[(_sweep.ROW_IM + b) * B + j] = d[j] * table[k, 6 + b]
        else:
            mean[j] = 0.0
            scale[j] = 1.0
            d[j] = 0.0
        for r in range(4):
            sa[(_sweep.ROW_VR + 5 * r) * B + j] = 1.0
    src = sa
    dst = sb
    tol2 = _OFF_TOL * _OFF_TOL
    for _ in range(max_sweeps):
        _sweep.sweep(src, dst)
        src, dst = dst, src
        done = True
        for b in range(6):
            for j in range(B):
                x = src[(_sweep.ROW_RE + b) * B + j]
                y = src[(_sweep.ROW_IM + b) * B + j]
                if x * x + y * y > tol2:
                    done = False
        if done:
            break
    if with_couplings:
        _sweep.derivatives_full(src, table[k], d, der)
    else:
        _sweep.derivatives_lean(src, table[k], d, der)
    return src


@numba.njit(**_JIT)
def _lane_converged(st, j):
    B = _BLOCK
    tol2 = _OFF_TOL * _OFF_TOL
    for b in range(6):
        x = st[(_sweep.ROW_RE + b) * B + j]
        y = st[(_sweep.ROW_IM + b) * B + j]
        if x * x + y * y > tol2:
            return False
    return True


@numba.njit(**_JIT)
def _lane_out(st, der, mean, scale, j, with_couplings, order, levels, slopes, coupling2, curvature, idx):
    """Sorted eigen-data of lane ``j`` of a solved block into row ``idx`` of the outputs."""
    B = _BLOCK
    for n in range(4):
        order[n] = n
    for n in range(1, 4):
        b = n
        while b > 0 and st[order[b - 1] * B + j] > st[order[b] * B + j]:
            order[b - 1], order[b] = order[b], order[b - 1]
            b -= 1
    s = scale[j]
    for n in range(4):
        levels[idx, n] = st[order[n] * B + j] * s + mean[j]
        slopes[idx, n] = der[(_sweep.OUT_SLOPES + order[n]) * B + j] * s
    if not with_couplings:
        return
    for n in range(4):
        curvature[idx, n] = der[(_sweep.OUT_CURVATURE + order[n]) * B + j] * s
        for mm in range(4):
            a = min(order[n], order[mm])
            c = max(order[n], order[mm])
            row = a * 4 - (a * (a - 1)) // 2 + (c - a)  # (a, c) in the row-major upper triangle
            coupling2[idx, n, mm] = der[(_sweep.OUT_COUPLING + row) * B + j] * s * s


@numba.njit(**_JIT)
def _block_to_rows(E, D0, table, k, first, count, with_couplings, max_sweeps, scratch, levels, slopes, coupling2, curvature, rows):
    """Solve one block and write lane ``j`` to row ``rows[j]`` of the outputs; lanes the SIMD sweeps
    did not converge within ``max_sweeps`` are redone with the scalar solver."""
    sa, sb, d, mean, scale, der = scratch[0]
    a, v, hop, dh, w, order = scratch[1]
    st = _solve_block(E, D0, table, k, first, count, with_couplings, max_sweeps, sa, sb, d, mean, scale, der)
    for j in range(count):
        if _lane_converged(st, j):
            _lane_out(st, der, mean, scale, j, with_couplings, order, levels, slopes, coupling2, curvature, rows[j])
        else:
            i = first + j
            _four_well_one(E[i], D0[i], table, k, with_couplings, a, v, hop, dh, w, order, levels, slopes, coupling2, curvature, rows[j])


@numba.njit(**_JIT)
def _outer_kernel(E, D0, table, with_couplings, max_sweeps, levels, slopes, coupling2, curvature, start, stop):
    """Nodes ``start <= i < stop`` at every orientation, row ``i * K + k`` of the outputs."""
    scratch = (_block_scratch(), _scratch())
    n_orient = table.shape[0]
    rows = np.empty(_BLOCK, dtype=np.int64)
    for first in range(start, stop, _BLOCK):
        count = min(_BLOCK, stop - first)
        for k in range(n_orient):
            for j in range(count):
                rows[j] = (first + j) * n_orient + k
            _block_to_rows(E, D0, table, k, first, count, with_couplings, max_sweeps, scratch, levels, slopes, coupling2, curvature, rows)


@numba.njit(**_JIT)
def _sums_kernel(E, D0, weights, table, orient_w, T, beta, codes, with_couplings, max_sweeps, totals, squares, orient_sums, bins, bin_sums, start, stop):
    """Fused ensemble sums over nodes ``start <= i < stop`` into the chunk's row of ``totals``,
    ``squares``, ``orient_sums`` and ``bin_sums`` (as :func:`tunnelsim.kernels.three_level._three_level_sums_kernel`:
    every weight row from one solve per instance), in SIMD blocks of nodes. ``max_sweeps < 0``:
    point mode with ``-max_sweeps`` sweeps (``table`` has ``n_T K`` rows, point-major; point ``p``
    at ``T[p]`` alone, as the three-level kernel's ``kernel_setting = 1``)."""
    n_T = beta.size
    points = max_sweeps < 0
    max_sweeps = -max_sweeps if points else max_sweeps
    n_points = n_T if points else 1
    n_orient = table.shape[0] // n_points
    n_obs = codes.size
    per_orient = orient_w.shape[0] > 1
    beta_min = beta.min()
    row = _chunk_row(E.shape[0], totals.shape[0], start)
    scratch = (_block_scratch(), _scratch())
    levels = np.empty((_BLOCK, 4))
    slopes = np.empty((_BLOCK, 4))
    coupling2 = np.empty((_BLOCK, 4, 4))
    curvature = np.empty((_BLOCK, 4))
    rows = np.arange(_BLOCK)
    wts = np.empty((4, n_T))
    rest = np.empty(n_T)
    acc = np.empty(n_T)
    acc2 = np.empty(n_T)
    res = np.empty(n_T)
    node = np.empty((_BLOCK, n_obs, n_T))
    w_main = weights[0]
    omega = orient_w[0]
    for first in range(start, stop, _BLOCK):
        count = min(_BLOCK, stop - first)
        node[:, :, :] = 0.0
        for p in range(n_points):
            for k in range(n_orient):
                _block_to_rows(E, D0, table, p * n_orient + k, first, count, with_couplings, max_sweeps, scratch, levels, slopes, coupling2, curvature, rows)
                if points:  # point p: its temperature slot alone
                    _add_orientation_block(levels, slopes, coupling2, curvature, count, T[p:p + 1], beta[p:p + 1], beta[p],
                                           codes, with_couplings, omega[k], node[:, :, p:p + 1], per_orient, w_main, first,
                                           orient_sums[row, :, :, p:p + 1], k, res[p:p + 1], wts[:, p:p + 1],
                                           rest[p:p + 1], acc[p:p + 1], acc2[p:p + 1], False)
                else:
                    _add_orientation_block(levels, slopes, coupling2, curvature, count, T, beta, beta_min, codes,
                                           with_couplings, omega[k], node, per_orient, w_main, first, orient_sums[row], k,
                                           res, wts, rest, acc, acc2, False)
        _add_block(node, w_main, weights, bins, first, count, totals[row], squares[row], bin_sums[row])


def _node_arrays(E, D0):
    E = _checked(E, "E")
    D0 = _checked(D0, "D0", positive=True)
    if E.ndim != 2 or E.shape[1] != 4:
        raise ValueError(f"E must have shape (N, 4), got {E.shape}")
    if D0.shape != (E.shape[0],):
        raise ValueError(f"D0 must have shape ({E.shape[0]},) like E, got {D0.shape}")
    return np.ascontiguousarray(E), np.ascontiguousarray(D0)


def four_well_outer(E, D0, table, couplings=True):
    """Spectra of every parameter node at every orientation: the ensemble's ``(N, K)`` layout.

    Same results as ``spectra.solve(four_well(E, D0, phi_vec), *four_well_derivatives(...))``
    rescaled to ``lambda`` (up to rounding, and up to the basis inside degenerate subspaces),
    without LAPACK.

    Parameters
    ----------
    E : array_like, shape (N, 4)
        On-site energies in K.
    D0 : array_like, shape (N,)
        Tunnelling amplitudes in K, > 0.
    table : numpy.ndarray, shape (K, 18)
        Bond phases and derivatives from :func:`bond_table`.
    couplings : bool, optional
        Also compute ``coupling2`` and ``curvature``.

    Returns
    -------
    Spectrum
        Shape ``(N, K)``; derivatives with respect to ``lambda`` of :func:`bond_table`.
    """
    E, D0 = _node_arrays(E, D0)
    table = _checked(table, "table")
    if table.ndim != 2 or table.shape[1] != 18:
        raise ValueError(f"table must have shape (K, 18) from bond_table, got {table.shape}")
    table = np.ascontiguousarray(table)
    batch = (E.shape[0], table.shape[0])
    n = batch[0] * batch[1]
    levels = np.empty((n, 4))
    slopes = np.empty((n, 4))
    coupling2 = np.empty((n if couplings else 1, 4, 4))
    curvature = np.empty((n if couplings else 1, 4))
    if n:
        n_chunks = min(numba.get_num_threads(), max(1, n // 4096), E.shape[0])
        _run_chunked(
            _outer_kernel, E.shape[0], E, D0, table, bool(couplings), _MAX_SWEEPS, levels, slopes, coupling2,
            curvature, n_chunks=n_chunks,
        )
    return Spectrum(
        levels=levels.reshape(batch + (4,)),
        slopes=slopes.reshape(batch + (4,)),
        coupling2=coupling2.reshape(batch + (4, 4)) if couplings else None,
        curvature=curvature.reshape(batch + (4,)) if couplings else None,
    )


def four_well_sums(E, D0, weights, table, orientation_weights, temperature_K, observables, bins=None,
                   squares=True, points=False):
    """Ensemble sums of the four-well system in one compiled pass, nothing stored per instance.

    ``sum_i w_i sum_k omega_k O(E_i, D0_i, orientation k; T)`` for each observable, with the
    spectrum of :func:`four_well_outer` and the functions of
    :func:`tunnelsim.kernels.thermal.thermal_observable`, and the sums of squares of the node
    contributions ``c_i = w_i sum_k omega_k O_ik`` (for sampling errors).

    Parameters
    ----------
    E : array_like, shape (N, 4)
        On-site energies in K.
    D0 : array_like, shape (N,)
        Tunnelling amplitudes in K, > 0.
    weights : array_like, shape (N,) or (R, N)
        Node weights ``w_i``, or ``R`` rows of them (e.g. a rule and its embedded sub-rules).
    table : numpy.ndarray, shape (K, 18)
        Bond phases and derivatives from :func:`bond_table`.
    orientation_weights : array_like, shape (K,) or (Q, K)
        Weight of each orientation, or ``Q`` rows of them.
    temperature_K : array_like, shape (n_T,)
        Temperatures in K, > 0.
    observables : sequence of str
        Keys of :data:`tunnelsim.kernels.thermal.OBSERVABLE_CODES`.
    bins : array_like of int, shape (A, N), optional
        Per-bin sums as well (:func:`tunnelsim.kernels.three_level.three_level_sums`).
    squares : bool, optional
        As :func:`tunnelsim.kernels.three_level.three_level_sums`.
    points : bool, optional
        Point mode (:func:`tunnelsim.kernels.three_level.three_level_sums`): ``table`` of shape
        ``(n_T K, 18)``, point-major, one temperature per point.

    Returns
    -------
    totals : dict of str to numpy.ndarray, shape (n_T,) or (R + Q - 1 [+ n_bins], n_T)
        As :func:`tunnelsim.kernels.three_level.three_level_sums`: with matrices, the sums with
        each node row and the first orientation row, then with the first node row and each
        further orientation row, then the per-bin sums, from one solve per instance.
    squares : dict of str to numpy.ndarray, shape (n_T,)
        Sums of squares of the first rows' node contributions.
    """
    E, D0 = _node_arrays(E, D0)
    weights = _checked(weights, "weights")
    if weights.ndim not in (1, 2) or weights.shape[-1:] != D0.shape:
        raise ValueError(f"weights must have shape {D0.shape} or (R,) + {D0.shape} like D0, got {weights.shape}")
    table = _checked(table, "table")
    omega = _checked(orientation_weights, "orientation_weights")
    if points:
        T = _checked(temperature_K, "temperature_K", positive=True)
        if T.ndim != 1 or table.ndim != 2 or table.shape[1] != 18 or omega.ndim not in (1, 2) \
                or table.shape[0] != T.size * omega.shape[-1]:
            raise ValueError(f"points: table must have shape (n_T K, 18) for the n_T points and orientation_weights "
                             f"(K,) or (Q, K), got {table.shape} and {omega.shape} for {T.shape} points")
        return _run_sums(_sums_kernel, E, D0, weights, np.ascontiguousarray(table), omega, T, observables, -_MAX_SWEEPS,
                         bins=bins, squares=True)
    if table.ndim != 2 or table.shape[1] != 18 or omega.ndim not in (1, 2) or omega.shape[-1:] != table.shape[:1]:
        raise ValueError(
            f"table must have shape (K, 18) and orientation_weights (K,) or (Q, K), got {table.shape} and {omega.shape}"
        )
    return _run_sums(
        _sums_kernel, E, D0, weights, np.ascontiguousarray(table), omega, temperature_K, observables, _MAX_SWEEPS,
        bins=bins, squares=squares,
    )
