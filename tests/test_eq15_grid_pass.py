"""Eq. 15/16 grids in one fused pass: the three-level sums in point mode and the ensemble's grid pass.

With a temperature dependence every (T, B) point has its own scaled parameters and phases. The
compiled three-level sums take the whole grid at once (point mode: one row of phases and one
temperature per point), using that the scaled ensemble at (T, B) is the unscaled one at
(T / r, r^2 B) times r^a (a = 3 for M, 5 for dM/dH, 0 for C and S).
"""

import numpy as np
import pytest

from tunnelsim import distributions, error_estimates, kernels, systems
from tunnelsim.ensemble import AveragingSettings, Ensemble, TemperatureDependence, compute

NAMES = ("magnetization", "susceptibility", "heat_capacity", "entropy")


def test_point_mode_equals_one_call_per_point_bit_for_bit():
    """Every row (node rows, orientation rows, per-bin sums) and the squares of point p equal the
    single call at that point's phases and temperature, exactly."""
    rng = np.random.default_rng(1)
    N, K, P = 300, 9, 7
    E = rng.normal(size=(N, 3))
    E -= E.mean(axis=1, keepdims=True)
    D0 = rng.uniform(0.5, 2.0, N)
    W = rng.uniform(0.0, 1.0, (4, N))
    Omega = rng.uniform(0.0, 1.0, (3, K))
    bins = np.stack([rng.integers(0, 4, N), 4 + rng.integers(0, 3, N)])
    u = np.linspace(0.05, 1.0, K)
    T = np.geomspace(0.2, 30.0, P)
    phi, rate = np.outer(rng.uniform(0.1, 8.0, P), u), np.outer(rng.uniform(0.5, 2.0, P), u)
    totals, squares = kernels.three_level_sums(E, D0, W, phi, rate, Omega, T, NAMES, bins=bins, points=True)
    for p in range(P):
        one, one_sq = kernels.three_level_sums(E, D0, W, phi[p], rate[p], Omega, T[p:p + 1], NAMES, bins=bins)
        for name in NAMES:
            np.testing.assert_array_equal(totals[name][:, p], one[name][:, 0])
            np.testing.assert_array_equal(squares[name][p], one_sq[name][0])
    with pytest.raises(ValueError, match="points"):
        kernels.three_level_sums(E, D0, W, phi[0], rate[0], Omega, T, NAMES, points=True)


@pytest.fixture
def calls(monkeypatch):
    """The ``points`` flag of every call of the three-level sums, in order."""
    seen = []
    original = kernels.three_level_sums

    def counted(*args, **kwargs):
        seen.append(kwargs.get("points", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(kernels, "three_level_sums", counted)
    return seen


@pytest.fixture(scope="module")
def eq15_ensemble():
    return Ensemble(systems.ThreeLevelSystem(3e4),
                    distributions.ATSDistribution(D_min_K=0.03, D0_min_K=9.0, D0_max_K=9.75),
                    density_per_g=1e16, temperature_dependence=TemperatureDependence(delta_mu_K=0.319, T0_K=1.26))


def test_grid_pass_equals_the_per_point_path(eq15_ensemble, calls, monkeypatch):
    """Values to 1e-13 and errors to 1e-9 (the error readings amplify rounding) of the per-point
    scaled-system path, for M, dM/dH, C and S on a grid where r(T) spans 0.44-1.28; one fused call."""
    T, B = np.array([0.3, 1.0, 3.0, 20.0, 100.0]), np.array([0.0, 1.0, 6.5, 14.0])
    ratio = eq15_ensemble.temperature_dependence.ratio(T)
    assert ratio.min() < 0.5 and ratio.max() > 1.25
    settings = AveragingSettings(nodes={"D": 6, "D_tail": 4, "D0": 2, "alpha": 6})
    fused = compute(eq15_ensemble, T, B, NAMES, settings)
    assert calls == [True]
    monkeypatch.setattr(error_estimates, "_RATIO_POWER", {})  # no grid pass: one call per (T, B) point
    calls.clear()
    per_point = compute(eq15_ensemble, T, B, NAMES, settings)
    assert len(calls) == T.size * B.size and not any(calls)
    for name in NAMES:
        scale = np.abs(per_point.values[name]).max()
        np.testing.assert_allclose(fused.values[name], per_point.values[name], rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(fused.errors[name], per_point.errors[name], rtol=1e-9,
                                   atol=1e-13 * scale)


def test_four_well_point_mode_equals_one_call_per_point_bit_for_bit():
    """The four-well sums in point mode (bond tables of every point stacked) equal one call per point."""
    from tunnelsim.kernels import four_well as kernels_four_well

    rng = np.random.default_rng(3)
    N, K, P = 200, 6, 5
    E, D0 = rng.normal(size=(N, 4)) * 3.0, np.exp(rng.uniform(0.0, 2.0, N))
    W = rng.uniform(0.2, 1.5, (3, N))
    n = rng.normal(size=(K, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    system = systems.FourWellSystem(1e4)
    fields = rng.uniform(0.0, 8.0, P)
    Omega = rng.uniform(0.1, 1.0, (2, K))
    T = np.geomspace(0.5, 200.0, P)
    names = ("magnetization", "susceptibility", "heat_capacity")
    totals, _ = kernels_four_well.four_well_sums(E, D0, W, system._table(fields, n), Omega, T, names, points=True)
    for p in range(P):
        one, _ = kernels_four_well.four_well_sums(E, D0, W, system._table(fields[p], n), Omega, T[p:p + 1], names)
        for name in names:
            np.testing.assert_array_equal(totals[name][:, p], one[name][:, 0])


def test_four_well_grid_pass_equals_the_per_point_path(monkeypatch):
    """Eq. 15 on the four-well ensemble (sphere rule): the grid pass equals the per-point path."""
    ens = Ensemble(systems.FourWellSystem(1e4),
                   distributions.FourWellATSDistribution(D_min_K=0.05, D0_min_K=0.5, D0_max_K=1.0, D_max_K=5.0),
                   density_per_g=1e16, temperature_dependence=TemperatureDependence(delta_mu_K=0.319, T0_K=1.26))
    T, B = np.array([0.3, 2.0, 20.0]), np.array([0.0, 3.0, 7.0])
    settings = AveragingSettings(nodes={"D": 4, "D0": 2, "direction": 4}, sphere_degree=7)
    names = ("magnetization", "heat_capacity")
    fused = compute(ens, T, B, names, settings)
    monkeypatch.setattr(error_estimates, "_RATIO_POWER", {})
    per_point = compute(ens, T, B, names, settings)
    for name in names:
        scale = np.abs(per_point.values[name]).max()
        np.testing.assert_allclose(fused.values[name], per_point.values[name], rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(fused.errors[name], per_point.errors[name], rtol=1e-9, atol=1e-13 * scale)


@pytest.mark.parametrize("settings", [
    AveragingSettings(nodes={"D": 6, "D_tail": 4, "D0": 2, "alpha": 6}, error_estimate=False),
    AveragingSettings(nodes={"D": 6, "D_tail": 4, "D0": 2, "alpha": 6}, error_estimate="doubling"),
    AveragingSettings(method="monte_carlo", samples=512),
], ids=["no-estimate", "doubling", "monte-carlo"])
def test_grid_pass_without_embedded_rules(eq15_ensemble, settings, calls, monkeypatch):
    """The plain, node-doubling and sampled paths take the grid pass too (one call per rule), with
    the same values to 1e-13 and errors (doubling; the sampling's standard error from the squares,
    scaled by r^2a) to 1e-9 as one call per point."""
    T, B = np.array([0.3, 2.0, 20.0]), np.array([0.0, 3.0, 7.0])
    fused = compute(eq15_ensemble, T, B, NAMES, settings)
    assert calls and all(calls)
    monkeypatch.setattr(error_estimates, "_RATIO_POWER", {})
    per_point = compute(eq15_ensemble, T, B, NAMES, settings)
    for name in NAMES:
        scale = np.abs(per_point.values[name]).max()
        np.testing.assert_allclose(fused.values[name], per_point.values[name], rtol=0, atol=1e-13 * scale)
        if np.all(np.isfinite(per_point.errors[name])):
            np.testing.assert_allclose(fused.errors[name], per_point.errors[name], rtol=1e-9,
                                       atol=1e-13 * np.abs(per_point.errors[name]).max())
