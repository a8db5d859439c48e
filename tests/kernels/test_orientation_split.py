"""Fused sums split over orientation blocks (few nodes, large orientation rule, no squares needed).

:func:`tunnelsim.kernels.thermal._run_sums` splits the orientations into blocks when the node
chunks cannot fill the threads and the squares are not needed (``squares=False``). The totals,
orientation rows and per-bin sums must equal those of the unsplit pass to rounding, not depend on
the thread count, and the squares (which do not add over orientation blocks) come back as NaN.
"""

import numba
import numpy as np
import pytest

from tunnelsim import kernels
from tunnelsim.kernels import four_well as kernels_four_well
from tunnelsim.kernels import thermal

NAMES = ("magnetization", "susceptibility", "heat_capacity", "entropy")


def _three_level_case(N=40, K=300, seed=1):
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(N, 3)) * 2.0
    E -= E.mean(axis=1, keepdims=True)
    D0 = rng.uniform(0.5, 2.0, N)
    u = np.linspace(0.01, 1.0, K)
    W = rng.uniform(0.2, 1.5, (4, N))
    Omega = rng.uniform(0.1, 1.0, (3, K))
    bins = np.stack([rng.integers(0, 4, N), 4 + rng.integers(0, 3, N)])
    return E, D0, W, 2.5 * u, u, Omega, bins


def test_orientation_blocks_depend_on_sizes_only():
    """One block when squares are needed or the node chunks are full; otherwise enough blocks of
    >= 8 orientations to fill the 8 chunks (40 nodes, 300 orientations: 8 blocks; 200 nodes: 3
    node chunks -> 2 blocks; 20 orientations: 2 blocks)."""
    assert thermal._orientation_blocks(40, 300, squares=True) == 1
    assert thermal._orientation_blocks(40, 300, squares=False) == 8
    assert thermal._orientation_blocks(200, 300, squares=False) == 2
    assert thermal._orientation_blocks(40, 20, squares=False) == 2
    assert thermal._orientation_blocks(40, 7, squares=False) == 1
    assert thermal._orientation_blocks(10_000, 300, squares=False) == 1


@pytest.mark.parametrize("rows", ["matrices", "vectors", "matrices without bins"])
def test_three_level_split_equals_the_unsplit_pass(rows):
    """Every row (node rows, orientation rows, per-bin sums) of the split pass equals the unsplit
    one to 1e-13 of its largest value, with the same shapes; the squares are NaN."""
    E, D0, W, phi, rate, Omega, bins = _three_level_case()
    T = np.geomspace(0.1, 10.0, 12)
    w, om, b = {"matrices": (W, Omega, bins), "vectors": (W[0], Omega[0], None),
                "matrices without bins": (W, Omega, None)}[rows]
    whole, squares = kernels.three_level_sums(E, D0, w, phi, rate, om, T, NAMES, bins=b)
    split, nan_squares = kernels.three_level_sums(E, D0, w, phi, rate, om, T, NAMES, bins=b, squares=False)
    for name in NAMES:
        assert split[name].shape == whole[name].shape
        np.testing.assert_allclose(split[name], whole[name], rtol=0, atol=1e-13 * np.abs(whole[name]).max())
        assert np.all(np.isfinite(squares[name])) and np.all(np.isnan(nan_squares[name]))


def test_four_well_split_equals_the_unsplit_pass():
    """The four-well sums with 30 nodes under 64 orientations (8 blocks): the same rows to 1e-13."""
    rng = np.random.default_rng(5)
    N, K = 30, 64
    E, D0 = rng.normal(size=(N, 4)) * 3.0, np.exp(rng.uniform(0.0, 2.0, N))
    W = rng.uniform(0.2, 1.5, (3, N))
    n = rng.normal(size=(K, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    table = kernels_four_well.bond_table(n * 0.8, n, np.full(K, 0.4))
    Omega = rng.uniform(0.1, 1.0, (2, K))
    T = np.geomspace(0.5, 200.0, 5)
    assert thermal._orientation_blocks(N, K, squares=False) == 8
    whole, _ = kernels_four_well.four_well_sums(E, D0, W, table, Omega, T, NAMES)
    split, _ = kernels_four_well.four_well_sums(E, D0, W, table, Omega, T, NAMES, squares=False)
    for name in NAMES:
        np.testing.assert_allclose(split[name], whole[name], rtol=0, atol=1e-13 * np.abs(whole[name]).max())


def test_split_result_does_not_depend_on_the_thread_count():
    """The block layout is fixed by the sizes, so one and two threads give identical bits."""
    E, D0, W, phi, rate, Omega, bins = _three_level_case(seed=2)
    T = np.geomspace(0.1, 10.0, 6)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, _ = kernels.three_level_sums(E, D0, W, phi, rate, Omega, T, NAMES, bins=bins, squares=False)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two, _ = kernels.three_level_sums(E, D0, W, phi, rate, Omega, T, NAMES, bins=bins, squares=False)
    finally:
        numba.set_num_threads(before)
    for name in NAMES:
        np.testing.assert_array_equal(one[name], two[name])
