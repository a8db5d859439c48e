"""Compiled thermodynamic functions of spectra, and the driver of fused ensemble sums.

:func:`thermal_observable` evaluates one observable of :mod:`tunnelsim.thermo` over a
temperature axis in one pass per instance, with the same formulas as the reference (shift by
the ground level, ``log1p``, the Kubo form of the susceptibility). Observables are selected by
the named codes below (:data:`OBSERVABLE_CODES`). :func:`_run_sums` runs any model's fused
sums kernel (three-level: :mod:`tunnelsim.kernels.three_level`; four-well:
:mod:`tunnelsim.kernels.four_well`) over chunks of nodes on a thread pool; with weight matrices
(node rows and orientation rows, e.g. a quadrature rule and its embedded sub-rules) one pass
returns every weighted total (:mod:`tunnelsim.error_estimates`).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ._common import _EXP_UNDERFLOW, _JIT, _checked, _exp_neg, _run_chunked

__all__ = ["OBSERVABLE_CODES", "thermal_observable"]

#: Named observable codes of the compiled thermal functions.
LOG_PARTITION = 0
FREE_ENERGY = 1
INTERNAL_ENERGY = 2
ENTROPY = 3
HEAT_CAPACITY = 4
MAGNETIZATION = 5
SUSCEPTIBILITY = 6



# --------------------------------------------------------------------------- thermal sums
#: Observable name -> code of :func:`thermal_observable`.
OBSERVABLE_CODES = {
    "log_partition": LOG_PARTITION,
    "free_energy_K": FREE_ENERGY,
    "internal_energy_K": INTERNAL_ENERGY,
    "entropy": ENTROPY,
    "heat_capacity": HEAT_CAPACITY,
    "magnetization": MAGNETIZATION,
    "susceptibility": SUSCEPTIBILITY,
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
def _thermal_one(levels, slopes, coupling2, curvature, i, T, beta, beta_min, observable_code, has_curvature, res, w, rest, acc, acc2):
    """Observable ``observable_code`` of instance ``i`` at every temperature, into ``res`` (n_T,).

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
    if observable_code <= HEAT_CAPACITY:
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
        if observable_code <= FREE_ENERGY:
            for j in range(n_T):
                log_z = math.log1p(rest[j]) - e0 * beta[j]
                res[j] = log_z if observable_code == LOG_PARTITION else -T[j] * log_z
        elif observable_code == INTERNAL_ENERGY:
            for j in range(n_T):
                res[j] = e0 + acc[j] / (1.0 + rest[j])
        elif observable_code == ENTROPY:
            for j in range(n_T):
                res[j] = math.log1p(rest[j]) + acc[j] / (1.0 + rest[j]) * beta[j]
        else:
            # variance of x: <x^2> - <x>^2 loses at most a factor n + 1 (the ground weight is
            # the largest, so var >= <x>^2 / n)
            for j in range(n_T):
                inv = 1.0 / (1.0 + rest[j])
                mean = acc[j] * inv
                res[j] = (acc2[j] * inv - mean * mean) * beta[j] * beta[j]
    elif observable_code == MAGNETIZATION:
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
def _thermal_kernel(levels, slopes, coupling2, curvature, T, beta, observable_code, has_curvature, out, start, stop):
    n = levels.shape[1]
    n_T = beta.size
    beta_min = beta.min()
    w = np.empty((n, n_T))
    rest = np.empty(n_T)
    acc = np.empty(n_T)
    acc2 = np.empty(n_T)
    for i in range(start, stop):
        _thermal_one(levels, slopes, coupling2, curvature, i, T, beta, beta_min, observable_code, has_curvature, out[i], w, rest, acc, acc2)


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


@numba.njit(inline="always", **_JIT)
def _add_magnetization3_twice(levels, slopes, beta, weight, out, weight2, out2):
    """:func:`_add_magnetization3` into ``out`` and, with ``weight2``, into ``out2`` from the same
    exponentials (``out`` gets exactly the single call's rounding)."""
    x1 = max(levels[1] - levels[0], 0.0)
    x2 = max(levels[2] - levels[0], 0.0)
    s0, s1, s2 = slopes[0], slopes[1], slopes[2]
    for t in range(beta.size):
        v1 = _exp_neg(x1 * beta[t])
        v2 = _exp_neg(x2 * beta[t])
        num = s0 + v1 * s1 + v2 * s2
        den = 1.0 + v1 + v2
        out[t] -= weight * num / den
        out2[t] -= weight2 * num / den


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


@numba.njit(**_JIT)
def _add_node_rows(node, weights, first, count, totals):
    """``totals[r - 1] += W_ri c_i`` for the rows ``r >= 1`` of the node weights ``W`` (R, N):
    the further weighted totals of the block's node contributions ``c_i = node[j]``."""
    n_flat = node.shape[1] * node.shape[2]
    flat = node.reshape((node.shape[0], n_flat))
    out = totals.reshape((totals.shape[0], n_flat))
    for r in range(1, weights.shape[0]):
        row = out[r - 1]
        for j in range(count):
            wi = weights[r, first + j]
            c = flat[j]
            for f in range(n_flat):
                row[f] += wi * c[f]


@numba.njit(**_JIT)
def _add_node_bins(node, weights, bins, first, count, out):
    """``out[bins[a, i]] += w_i c_i`` for every row ``a`` of ``bins`` (A, N): the block's node
    contributions ``c_i = node[j]`` with the main weights, summed per bin (per axis, by the
    node's position along that axis: :func:`_run_sums`)."""
    n_flat = node.shape[1] * node.shape[2]
    flat = node.reshape((node.shape[0], n_flat))
    sums = out.reshape((out.shape[0], n_flat))
    for a in range(bins.shape[0]):
        for j in range(count):
            wi = weights[first + j]
            c = flat[j]
            row = sums[bins[a, first + j]]
            for f in range(n_flat):
                row[f] += wi * c[f]


@numba.njit(**_JIT)
def _add_block(node, w_main, weights, bins, first, count, totals, squares, bin_sums):
    """A block's node contributions into a chunk's sums: main row and squares, further node rows,
    per-bin sums (the end of every fused sums kernel's block)."""
    _add_nodes(node, w_main, first, count, totals[0], squares)
    _add_node_rows(node, weights, first, count, totals[1:])
    _add_node_bins(node, w_main, bins, first, count, bin_sums)


@numba.njit(inline="always", **_JIT)
def _add_orientation(res, omega_k, node_jo, per_orient, w_i, orient_sums, k, o):
    """Observable ``o``'s values ``res`` (n_T) of one node at orientation ``k``: ``omega_k res`` into
    the node's sum and, with further orientation rows, ``w_i res`` into ``orient_sums[k, o]``."""
    for t in range(res.size):
        node_jo[t] += omega_k * res[t]
    if per_orient:
        for t in range(res.size):
            orient_sums[k, o, t] += w_i * res[t]


@numba.njit(**_JIT)
def _add_orientation_block(levels, slopes, coupling2, curvature, count, T, beta, beta_min, codes, with_couplings, omega_k,
                           node, per_orient, w_main, first, orient_sums, k, res, w, rest, acc, acc2, three_levels):
    """A block's spectra at orientation ``k`` into the node sums ``node`` (and ``orient_sums[k]``) at
    the temperatures ``T`` (all of them, or one point's slot: views, compiled separately); with
    ``three_levels`` the magnetisation in one loop (:func:`_add_magnetization3`)."""
    for j in range(count):
        for o in range(codes.size):
            if three_levels and codes[o] == MAGNETIZATION:
                if per_orient:
                    _add_magnetization3_twice(levels[j], slopes[j], beta, omega_k, node[j, o], w_main[first + j],
                                              orient_sums[k, o])
                else:
                    _add_magnetization3(levels[j], slopes[j], beta, omega_k, node[j, o])
                continue
            _thermal_one(levels, slopes, coupling2, curvature, j, T, beta, beta_min, codes[o], with_couplings, res, w, rest,
                         acc, acc2)
            _add_orientation(res, omega_k, node[j, o], per_orient, w_main[first + j], orient_sums, k, o)


@numba.njit(inline="always", **_JIT)
def _chunk_row(n_nodes, n_rows, start):
    """Row of the per-chunk sums for the chunk starting at node ``start`` (as :func:`_run_sums`)."""
    per_chunk = (n_nodes + n_rows - 1) // n_rows
    return start // per_chunk if per_chunk > 0 else 0



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
    observable_code = OBSERVABLE_CODES[name]
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

    if observable_code >= MAGNETIZATION and slopes is None:
        raise ValueError(f"{name} needs slopes")
    if observable_code == SUSCEPTIBILITY and coupling2 is None:
        raise ValueError("susceptibility needs coupling2")
    has_curvature = observable_code == SUSCEPTIBILITY and curvature is not None
    s = operand(slopes, "slopes", (M, n), observable_code >= MAGNETIZATION)
    g = operand(coupling2, "coupling2", (M, n, n), observable_code == SUSCEPTIBILITY)
    c = operand(curvature, "curvature", (M, n), has_curvature)
    out = np.empty((M, T.size))
    if M:
        _run_chunked(_thermal_kernel, M, E, s, g, c, T, 1.0 / T, observable_code, has_curvature, out)
    return out



def _weight_rows(weights, n, label):
    """Weights as a C-contiguous (R, n) matrix, and whether they were given as one vector."""
    W = np.ascontiguousarray(weights, dtype=float)
    if W.ndim not in (1, 2) or W.shape[-1] != n:
        raise ValueError(f"{label} must have shape ({n},) or (R, {n}), got {W.shape}")
    return (W[None, :], True) if W.ndim == 1 else (W, False)


#: Nodes per chunk of the fused sums (at most :data:`_MAX_CHUNKS` chunks), and orientations per block
#: when the nodes are too few to fill the chunks and the squares are not needed (:func:`_run_sums`).
_NODES_PER_CHUNK = 64
_MAX_CHUNKS = 8
_ORIENTATIONS_PER_BLOCK = 8


def _orientation_blocks(n_nodes, n_orient, squares):
    """Orientation blocks of the fused sums: 1, or (nodes too few for :data:`_MAX_CHUNKS` chunks,
    squares not needed) enough blocks of at least :data:`_ORIENTATIONS_PER_BLOCK` orientations to
    fill the chunks. Depends on the sizes only, never on the thread count."""
    n_chunks = max(1, min(_MAX_CHUNKS, n_nodes // _NODES_PER_CHUNK))
    if squares or n_chunks >= _MAX_CHUNKS:
        return 1
    return max(1, min(_MAX_CHUNKS // n_chunks, n_orient // _ORIENTATIONS_PER_BLOCK))


def _run_sums(kernel, E, D0, weights, table, omega, temperature_K, observables, kernel_setting=0, bins=None,
              squares=True):
    """Run a fused sums kernel over the nodes in fixed chunks on a thread pool.

    ``kernel(E, D0, weights, table, omega, T, 1/T, codes, with_couplings, kernel_setting, totals, squares,
    orient_sums, bins, bin_sums, start, stop)`` adds the chunk's sums into its row of ``totals``,
    ``squares``, ``orient_sums`` and ``bin_sums`` (``kernel_setting``: an integer the kernel
    defines); the chunking does not depend on the thread count, so the results do not depend on
    the machine.

    Several weights in one pass: ``weights`` is ``(N,)`` or a matrix ``(R, N)`` of node weights,
    ``omega`` ``(K,)`` or ``(Q, K)`` of orientation weights (row 0 of each: the main rule). The
    totals are those of every node row with the main orientation row, ``sum_i W_ri sum_k
    Omega_0k O_ik`` (``r < R``), then of the main node row with every further orientation row,
    ``sum_k Omega_qk sum_i W_0i O_ik`` (``q >= 1``): shape ``(R + Q - 1, n_T)``, or ``(n_T,)``
    for two vectors -- every sum an estimate built from sub-rules of one axis at a time needs.
    The main row is formed exactly as with single weights (bit for bit the same); ``squares``
    are those of its node contributions, shape ``(n_T,)``.

    Per-bin sums: with ``bins`` (A, N), non-negative integers, the rows are followed by
    ``sum_{i: bins[a, i] = b} W_0i sum_k Omega_0k O_ik`` for every bin ``b < n_bins = bins.max() + 1``
    (summed over the rows ``a`` of ``bins`` that name it; rows ``R + Q - 1 ...``). With
    ``bins[a]`` a node's position along tensor axis ``a`` (offset so that the axes' bins do not
    overlap), these are the per-axis partial sums ``S_a[p]`` from which any weight row of the form
    ``W_0i f(p_a(i))`` follows as ``sum_p f(p) S_a[p]``, at the cost of one row per axis
    (:func:`tunnelsim.error_estimates.accumulate_embedded`).

    With ``squares=False`` the squares are not needed (returned as NaN): where the nodes are too
    few to fill the chunks, the orientations are split into blocks as well
    (:func:`_orientation_blocks`), so that a small ensemble under a large orientation rule still
    uses every thread. The block layout depends on the sizes only.
    """
    T = _checked(temperature_K, "temperature_K", positive=True)
    if T.ndim != 1:
        raise ValueError(f"temperature_K must be 1-D, got shape {T.shape}")
    names = list(dict.fromkeys(observables))
    for name in names:
        if name not in OBSERVABLE_CODES:
            raise ValueError(f"observables: unknown {name!r}; expected keys of OBSERVABLE_CODES")
    codes = np.array([OBSERVABLE_CODES[name] for name in names], dtype=np.int64)
    with_couplings = bool(np.any(codes == OBSERVABLE_CODES["susceptibility"]))
    n = E.shape[0]
    W, w_vector = _weight_rows(weights, n, "weights")
    Omega, o_vector = _weight_rows(omega, np.shape(omega)[-1] if np.ndim(omega) else 0, "orientation_weights")
    n_chunks = max(1, min(_MAX_CHUNKS, n // _NODES_PER_CHUNK))
    if bins is None:
        bins = np.zeros((0, n), dtype=np.int64)
    else:
        bins = np.ascontiguousarray(bins, dtype=np.int64)
        if bins.ndim != 2 or bins.shape[1] != n or (bins.size and bins.min() < 0):
            raise ValueError(f"bins must be non-negative integers of shape (A, {n}), got {bins.shape}")
    n_bins = int(bins.max()) + 1 if bins.size else 0
    n_blocks = _orientation_blocks(n, Omega.shape[1], squares)
    if n_blocks > 1 and n and codes.size:
        return _run_sums_split(kernel, E, D0, W, table, Omega, T, codes, names, with_couplings, kernel_setting, bins,
                               n_bins, n_chunks, n_blocks, w_vector and o_vector)
    totals = np.zeros((n_chunks, W.shape[0], codes.size, T.size))
    squares = np.zeros((n_chunks, codes.size, T.size))
    orient_sums = np.zeros((n_chunks, Omega.shape[1] if Omega.shape[0] > 1 else 0, codes.size, T.size))
    bin_sums = np.zeros((n_chunks, n_bins, codes.size, T.size))
    if n and codes.size:
        per_chunk = -(-n // n_chunks)
        bounds = [min(n, c * per_chunk) for c in range(n_chunks + 1)]
        args = (
            np.ascontiguousarray(E), np.ascontiguousarray(D0), W, table,
            Omega, T, 1.0 / T, codes, with_couplings, kernel_setting, totals, squares, orient_sums, bins, bin_sums,
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
    total, square = totals.sum(axis=0), squares.sum(axis=0)  # (R, n_obs, n_T), (n_obs, n_T)
    if Omega.shape[0] > 1:
        per_orientation = orient_sums.sum(axis=0)  # (K, n_obs, n_T): sum_i W_0i O_ik
        total = np.concatenate([total, np.einsum("qk,kot->qot", Omega[1:], per_orientation)])
    if n_bins:
        total = np.concatenate([total, bin_sums.sum(axis=0)])
    if w_vector and o_vector and not n_bins:
        return ({name: total[0, o] for o, name in enumerate(names)}, {name: square[o] for o, name in enumerate(names)})
    return ({name: total[:, o] for o, name in enumerate(names)}, {name: square[o] for o, name in enumerate(names)})


def _run_sums_split(kernel, E, D0, W, table, Omega, T, codes, names, with_couplings, kernel_setting, bins, n_bins,
                    n_chunks, n_blocks, vectors):
    """:func:`_run_sums` over node chunks x orientation blocks (``squares=False``; ``bins`` checked); the same rows."""
    n = E.shape[0]
    K = Omega.shape[1]
    per_orient = Omega.shape[0] > 1
    per_chunk = -(-n // n_chunks)
    node_bounds = [min(n, c * per_chunk) for c in range(n_chunks + 1)]
    per_block = -(-K // n_blocks)
    orient_bounds = [min(K, b * per_block) for b in range(n_blocks + 1)]
    E, D0, inv_T = np.ascontiguousarray(E), np.ascontiguousarray(D0), 1.0 / T
    tasks = []
    for k0, k1 in zip(orient_bounds[:-1], orient_bounds[1:]):
        if k1 <= k0:
            continue
        block_table = np.ascontiguousarray(table[k0:k1])
        block_omega = np.ascontiguousarray(Omega[:, k0:k1])
        for a, b in zip(node_bounds[:-1], node_bounds[1:]):
            out = (np.zeros((1, W.shape[0], codes.size, T.size)), np.zeros((1, codes.size, T.size)),
                   np.zeros((1, k1 - k0 if per_orient else 0, codes.size, T.size)),
                   np.zeros((1, n_bins, codes.size, T.size)))
            # one row per task: the kernel's chunk row is 0 with a single row of sums
            tasks.append(((k0, k1), out, (E, D0, W, block_table, block_omega, T, inv_T, codes, with_couplings,
                                          kernel_setting, out[0], out[1], out[2], bins, out[3], a, b)))
    threads = min(numba.get_num_threads(), len(tasks))
    if threads == 1:
        for _, _, args in tasks:
            kernel(*args)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(kernel, *args) for _, _, args in tasks]:
                future.result()
    total = sum(out[0][0] for _, out, _ in tasks)  # (R, n_obs, n_T)
    if per_orient:
        per_orientation = np.zeros((K, codes.size, T.size))
        for (k0, k1), out, _ in tasks:
            per_orientation[k0:k1] += out[2][0]
        total = np.concatenate([total, np.einsum("qk,kot->qot", Omega[1:], per_orientation)])
    if n_bins:
        total = np.concatenate([total, sum(out[3][0] for _, out, _ in tasks)])
    square = np.full((codes.size, T.size), np.nan)
    if vectors and not n_bins:
        return ({name: total[0, o] for o, name in enumerate(names)}, {name: square[o] for o, name in enumerate(names)})
    return ({name: total[:, o] for o, name in enumerate(names)}, {name: square[o] for o, name in enumerate(names)})
