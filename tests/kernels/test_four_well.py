"""Tests of tunnelsim.kernels_four_well: the compiled four-well solver against the eigh reference.

* random instances (D/D0 from 1e-3 to 1e3, random field directions and phases): levels,
  slopes, couplings, curvatures and all thermal functions against ``spectra.solve``;
* a degenerate stress set (the regular tetrahedron at E = 0 and zero field, three-fold
  degenerate; tiny fields and asymmetries; equal wells; D >> D0 crossings; tiny and huge
  scales): levels to rounding, basis-independent quantities (slope sums over degenerate levels,
  thermal functions) against eigh, and the exact zero-field spectrum ``(-D0, -D0, -D0, 3 D0)``;
* the scalar fallback (used when the SIMD sweeps do not converge) against the SIMD path;
* the fused ensemble sums and ``FourWellSystem(solver="fast")`` against the eigh path, the
  antipodal folding of field directions, and the generated sweep module being up to date.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tunnelsim import distributions, ensemble, hamiltonians, spectra, systems, thermo
from tunnelsim.kernels import four_well as kernels_four_well
from tunnelsim.kernels import _codegen_four_well

from test_three_level import _assert_thermal_close, cluster_slope_sums


def _reference(E, D0, n, field, rate):
    phi_vec = n * (rate * field)[:, None]
    H = hamiltonians.four_well(E[:, None, :], D0[:, None], phi_vec)
    d1, d2 = hamiltonians.four_well_derivatives(E[:, None, :], D0[:, None], phi_vec, n)
    return spectra.solve(H, d1, d2).rescaled(rate)


def _fast(E, D0, n, field, rate, couplings=True):
    table = kernels_four_well.bond_table(n * (rate * field)[:, None], n, rate)
    return kernels_four_well.four_well_outer(E, D0, table, couplings=couplings)


def _directions(rng, k):
    n = rng.normal(size=(k, 3))
    return n / np.linalg.norm(n, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def random_set():
    rng = np.random.default_rng(20261130)
    N, K = 3000, 5
    D0 = np.exp(rng.uniform(math.log(0.1), math.log(10.0), N))
    E = (D0 * np.exp(rng.uniform(math.log(1e-3), math.log(1e3), N)))[:, None] * rng.normal(size=(N, 4))
    n = _directions(rng, K)
    rate = np.array([0.3, 1.0, 2.0, -0.7, 5.0])
    field = np.array([0.0, 0.4, 1.3, 2.9, 7.0])
    return E, D0, n, field, rate, _fast(E, D0, n, field, rate), _reference(E, D0, n, field, rate)


def test_random_levels_and_derivatives_match_eigh(random_set):
    """Levels within 1e-13 of the largest |level|; slopes and curvatures within 1e-10 of their
    scale (D0 |rate|, D0 rate^2), couplings within 1e-10 (D0 rate)^2; slopes sum to Tr dH = 0."""
    E, D0, n, field, rate, fast, ref = random_set
    scale = np.abs(ref.levels).max(axis=-1)
    assert (np.abs(fast.levels - ref.levels).max(axis=-1) / scale).max() <= 1e-13
    assert np.all(np.diff(fast.levels, axis=-1) >= 0)
    unit = D0[:, None] * np.abs(rate)
    assert (np.abs(fast.slopes - ref.slopes).max(axis=-1) / unit).max() <= 1e-10
    assert (np.abs(fast.curvature - ref.curvature).max(axis=-1) / (unit * np.abs(rate))).max() <= 1e-10
    assert (np.abs(fast.coupling2 - ref.coupling2).max(axis=(-2, -1)) / unit**2).max() <= 1e-10
    assert (np.abs(fast.slopes.sum(axis=-1)) / unit).max() <= 1e-13
    np.testing.assert_array_equal(fast.coupling2, np.swapaxes(fast.coupling2, -1, -2))
    lean = _fast(E, D0, n, field, rate, couplings=False)
    assert lean.coupling2 is None and lean.curvature is None
    np.testing.assert_array_equal(lean.levels, fast.levels)
    np.testing.assert_array_equal(lean.slopes, fast.slopes)


def test_random_thermal_functions_match_reference(random_set):
    """M, chi, C, F, U, S at 0.01 to 1e3 K, fast spectrum and fast thermodynamics against the
    eigh spectrum and numpy thermodynamics, within 1e-9 of their natural scales."""
    *_, fast, ref = random_set
    T = np.geomspace(0.01, 1e3, 9)
    _assert_thermal_close(thermo.thermodynamics(fast, T), thermo.thermodynamics(ref, T, method="numpy"), ref, 1e-9)


# --------------------------------------------------------------------------- degenerate stress set
STRESS = {
    "E0_B0": (np.zeros(4), 0.0),
    "E0_B1e-9": (np.zeros(4), 1e-9),
    "E0_B1": (np.zeros(4), 1.0),
    "E1e-10_B0": (1e-10 * np.array([1.0, -2.0, 0.5, 0.5]), 0.0),
    "E1e-8_B1e-8": (1e-8 * np.array([0.3, -1.0, 0.2, 0.5]), 1e-8),
    "three_equal_B0": (np.array([1.0, 1.0, 1.0, -3.0]), 0.0),
    "two_equal_B0.5": (np.array([2.0, 2.0, -1.0, -3.0]), 0.5),
    "crossing_1e4": (1e4 * np.array([1.0, 1.0, -1.0, -1.0]), 0.3),
    "crossing_1e8": (1e8 * np.array([1.0, 1.0 + 1e-12, -1.0, -1.0]), 0.3),
    "generic": (np.array([0.3, -1.1, 0.8, 0.0]), 1.7),
}
IDS = list(STRESS)


@pytest.mark.parametrize("scale", [1.0, 1e-100, 1e100], ids=["unit", "tiny", "huge"])
def test_stress_set_matches_eigh(scale):
    """Levels within 1e-14 of the largest |level| (and the exact (-D0, -D0, -D0, 3 D0) at E = 0,
    zero field); the slope sum over each cluster of (near-)degenerate levels, which does not depend
    on the basis chosen inside it, within 1e-12 D0 rate; the thermal functions within 1e-9."""
    rng = np.random.default_rng(3)
    n = _directions(rng, 3)
    rate = np.array([1.0, 2.5, -0.4])
    D0 = np.full(len(IDS), 2.0 * scale)
    E = np.array([STRESS[k][0] for k in IDS]) * scale
    for field_value in sorted({v for _, v in STRESS.values()}):
        field = np.full(3, field_value)
        fast, ref = _fast(E, D0, n, field, rate), _reference(E, D0, n, field, rate)
        level_scale = np.abs(ref.levels).max(axis=-1)
        assert (np.abs(fast.levels - ref.levels).max(axis=-1) / level_scale).max() <= 1e-14
        # clusters of levels closer than 1e-6 of the scale: compare the sums of their slopes
        for i in range(len(IDS)):
            for k in range(3):
                lv = ref.levels[i, k]
                gaps = np.diff(lv) > 1e-6 * level_scale[i, k]
                edges = np.concatenate([[0], np.nonzero(gaps)[0] + 1, [4]])
                for a, b in zip(edges[:-1], edges[1:]):
                    diff = abs(fast.slopes[i, k, a:b].sum() - ref.slopes[i, k, a:b].sum())
                    assert diff <= 1e-12 * D0[i] * abs(rate[k]), (IDS[i], field_value, k)
        T = np.geomspace(1e-3, 1e3, 7) * scale
        # any solver's levels carry absolute rounding ~ eps max|E|: at E ~ 1e8 D0 that is ~1e-8 of
        # the gaps, so that instance is compared at 1e-6, the others at 1e-9
        wide = np.array([k == "crossing_1e8" for k in IDS])
        for rows, rtol in ((~wide, 1e-9), (wide, 1e-6)):
            sub, sub_ref = (spectra.Spectrum(*(getattr(sp, f)[rows] for f in ("levels", "slopes", "coupling2", "curvature"))) for sp in (fast, ref))
            _assert_thermal_close(thermo.thermodynamics(sub, T), thermo.thermodynamics(sub_ref, T, method="numpy"), sub_ref, rtol)
    zero = _fast(np.zeros((1, 4)), np.array([2.0 * scale]), n, np.zeros(3), rate)
    np.testing.assert_allclose(zero.levels[0], np.tile([-2.0, -2.0, -2.0, 6.0], (3, 1)) * scale, rtol=0, atol=1e-15 * scale)
    np.testing.assert_array_equal(zero.slopes, 0.0)  # no loop flux at zero field: dH is real-antisymmetric times i


def test_scalar_fallback_matches_the_simd_path(random_set):
    """Lanes the SIMD sweeps leave unconverged go to the scalar Jacobi: forcing it for every lane
    (one SIMD sweep only) gives the same spectrum to 1e-13."""
    E, D0, n, field, rate, fast, _ = random_set
    table = kernels_four_well.bond_table(n * (rate * field)[:, None], n, rate)
    N, K = E.shape[0], len(n)
    out = [np.empty((N * K, 4)), np.empty((N * K, 4)), np.empty((N * K, 4, 4)), np.empty((N * K, 4))]
    kernels_four_well._outer_kernel(np.ascontiguousarray(E), D0, table, True, 1, *out, 0, N)
    levels, slopes, coupling2, curvature = (a.reshape((N, K) + a.shape[1:]) for a in out)
    scale = np.abs(fast.levels).max(axis=-1)
    assert (np.abs(levels - fast.levels).max(axis=-1) / scale).max() <= 1e-13
    unit = D0[:, None] * np.abs(rate)
    assert (np.abs(slopes - fast.slopes).max(axis=-1) / unit).max() <= 1e-10
    assert (np.abs(coupling2 - fast.coupling2).max(axis=(-2, -1)) / unit**2).max() <= 1e-10
    assert (np.abs(curvature - fast.curvature).max(axis=-1) / (unit * np.abs(rate))).max() <= 1e-10


def test_generated_sweep_module_is_up_to_date():
    """tunnelsim/kernels/_four_well_sweep.py is what tunnelsim/kernels/_codegen_four_well.py generates."""
    path = Path(_codegen_four_well.__file__).with_name("_four_well_sweep.py")
    assert path.read_text() == _codegen_four_well.generate()


# --------------------------------------------------------------------------- ensembles
def test_antipodal_fold_pairs_directions_and_sums_weights():
    n = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.6, 0.8, 0.0], [-1.0, 0.0, 0.0]])
    w = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    keep, folded = systems._antipodal_fold(n, w)
    np.testing.assert_array_equal(keep, [0, 1, 3])
    np.testing.assert_allclose(folded, [0.4, 0.7, 0.4])


def test_antipodal_directions_have_identical_thermodynamics(random_set):
    """A field along -n conjugates H: levels (1e-13), slopes summed over each cluster of
    degenerate levels (1e-10) and the magnetisation equal those along n."""
    E, D0, n, field, rate, fast, _ = random_set
    back = _fast(E, D0, -n, field, rate)
    scale = np.abs(fast.levels).max(axis=-1)
    assert (np.abs(back.levels - fast.levels).max(axis=-1) / scale).max() <= 1e-13
    unit = (D0[:, None] * np.abs(rate))[..., None]
    assert np.all(np.abs(cluster_slope_sums(back, fast) - cluster_slope_sums(fast, fast)) <= 1e-10 * unit)
    T = np.geomspace(0.1, 100.0, 4)
    a, b = thermo.thermodynamics(back, T), thermo.thermodynamics(fast, T)
    np.testing.assert_allclose(a.magnetization, b.magnetization, rtol=0, atol=1e-10 * np.abs(b.magnetization).max())


@pytest.mark.parametrize("observables", [("magnetization", "heat_capacity"), ("susceptibility", "entropy")])
def test_fused_sums_match_the_eigh_path(observables):
    """FourWellSystem.thermal_sums, fast against eigh, on a Lebedev rule (antipodal pairs folded in
    both): totals and squares within 1e-11 relative; and folding changes nothing (1e-11)."""
    rng = np.random.default_rng(11)
    N = 300
    params = {"E": rng.normal(size=(N, 4)) * 3.0, "D0": np.exp(rng.uniform(0.0, 2.0, N))}
    w = rng.uniform(0.5, 1.5, N)
    from tunnelsim import orientations

    rule = orientations.sphere_rule(7)
    T = np.geomspace(0.5, 200.0, 6)
    fast = systems.FourWellSystem(20000.0).thermal_sums(params, w, 2.5, rule.nodes, rule.weights, T, observables)
    slow = systems.FourWellSystem(20000.0, solver="eigh").thermal_sums(params, w, 2.5, rule.nodes, rule.weights, T, observables)
    for name in observables:
        for got, ref in zip(fast, slow):
            np.testing.assert_allclose(got[name], ref[name], rtol=1e-11, atol=1e-11 * np.abs(ref[name]).max())
    # unfolded reference: every direction on its own
    sp = systems.FourWellSystem(20000.0, solver="eigh").spectrum(params, 2.5, rule.nodes)
    th = thermo.thermodynamics(sp, T, method="numpy")
    for name in observables:
        total = (np.tensordot(getattr(th, name), rule.weights, axes=([1], [0])) * w[:, None]).sum(axis=0)
        np.testing.assert_allclose(fast[0][name], total, rtol=1e-11, atol=1e-11 * np.abs(total).max())


def test_four_well_ensemble_fast_equals_eigh():
    """ensemble.compute with the four-well ATS ensemble: M and C, fast and eigh solvers, 1e-12."""
    dist = distributions.FourWellATSDistribution(D_min_K=0.05, D_max_K=10.0, D0_min_K=2.0, D0_max_K=3.0)
    settings = ensemble.AveragingSettings(error_estimate=False, sphere_degree=5, nodes={"D": 6, "D0": 2, "direction": 4})
    T, B = [0.5, 5.0, 50.0], [0.5, 4.0]
    out = {}
    for solver in ("fast", "eigh"):
        ens = ensemble.Ensemble(systems.FourWellSystem(20000.0, solver=solver), dist, 1e16)
        out[solver] = ensemble.compute(ens, T, B, ("magnetization", "heat_capacity"), settings=settings)
    for name in ("magnetization", "heat_capacity"):
        ref = out["eigh"].values[name]
        np.testing.assert_allclose(out["fast"].values[name], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_bad_inputs_are_rejected():
    n = np.array([[0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="phi_vec and direction"):
        kernels_four_well.bond_table(np.zeros((1, 2)), n, np.ones(1))
    with pytest.raises(ValueError, match="dphi_dlambda"):
        kernels_four_well.bond_table(n, n, np.ones(2))
    table = kernels_four_well.bond_table(n, n, np.ones(1))
    with pytest.raises(ValueError, match="E must have shape"):
        kernels_four_well.four_well_outer(np.zeros((2, 3)), np.ones(2), table)
    with pytest.raises(ValueError, match="D0 must be > 0"):
        kernels_four_well.four_well_outer(np.zeros((2, 4)), np.array([1.0, 0.0]), table)
    with pytest.raises(ValueError, match="finite"):
        kernels_four_well.four_well_outer(np.full((1, 4), np.nan), np.ones(1), table)
    with pytest.raises(ValueError, match="table must have shape"):
        kernels_four_well.four_well_outer(np.zeros((1, 4)), np.ones(1), table[:, :6])
    with pytest.raises(ValueError, match="solver must be one of"):
        systems.FourWellSystem(1000.0, solver="qr")


def test_fused_sums_with_weight_matrices_equal_separate_single_weight_passes():
    """four_well_sums with node weights (R, N) and orientation weights (Q, K) equal R + Q - 1
    separate single-weight passes to 1e-14 relative, the first row bit for bit."""
    rng = np.random.default_rng(3)
    N = 700
    E, D0 = rng.normal(size=(N, 4)) * 3.0, np.exp(rng.uniform(0.0, 2.0, N))
    W = rng.uniform(0.2, 1.5, (3, N))
    n = rng.normal(size=(5, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    table = kernels_four_well.bond_table(n * 0.8, n, np.full(5, 0.4))
    Omega = rng.uniform(0.1, 1.0, (2, 5))
    T = np.geomspace(0.5, 200.0, 5)
    names = ("magnetization", "susceptibility", "heat_capacity")
    totals, squares = kernels_four_well.four_well_sums(E, D0, W, table, Omega, T, names)
    single = [kernels_four_well.four_well_sums(E, D0, W[r], table, Omega[0], T, names) for r in range(3)]
    single.append(kernels_four_well.four_well_sums(E, D0, W[0], table, Omega[1], T, names))
    for name in names:
        assert totals[name].shape == (4, T.size)
        np.testing.assert_array_equal(totals[name][0], single[0][0][name])
        np.testing.assert_array_equal(squares[name], single[0][1][name])
        for row, (tot, _) in enumerate(single):
            np.testing.assert_allclose(totals[name][row], tot[name], rtol=1e-14, atol=1e-14 * np.abs(tot[name]).max(),
                                       err_msg=f"{name} row {row}")


def test_fused_sums_per_bin_equal_masked_single_weight_passes():
    """four_well_sums with ``bins``: the per-bin sums of the main rule follow the rows (unchanged
    bit for bit) and equal masked single-weight passes to 1e-14 relative."""
    rng = np.random.default_rng(4)
    N = 500
    E, D0 = rng.normal(size=(N, 4)) * 3.0, np.exp(rng.uniform(0.0, 2.0, N))
    W = rng.uniform(0.2, 1.5, (2, N))
    n = rng.normal(size=(4, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    table = kernels_four_well.bond_table(n * 0.8, n, np.full(4, 0.4))
    T = np.geomspace(0.5, 200.0, 4)
    names = ("magnetization", "heat_capacity")
    bins = rng.integers(0, 4, (1, N))
    plain = kernels_four_well.four_well_sums(E, D0, W, table, np.full(4, 0.25), T, names)[0]
    totals = kernels_four_well.four_well_sums(E, D0, W, table, np.full(4, 0.25), T, names, bins=bins)[0]
    for name in names:
        assert totals[name].shape == (2 + 4, T.size)
        np.testing.assert_array_equal(totals[name][:2], plain[name])
        for b in range(4):
            alone = kernels_four_well.four_well_sums(E, D0, W[0] * (bins[0] == b), table, np.full(4, 0.25), T,
                                                     names)[0][name]
            np.testing.assert_allclose(totals[name][2 + b], alone, rtol=1e-14, atol=1e-14 * np.abs(alone).max())
