"""Tests of the exact intrinsic term (Eq. 6, 8, 15, 17) used as a fit objective.

Cross-checks against :func:`numpy.linalg.eigh` (the compiled closed form) and against
:func:`tunnelsim.ensemble.compute` (the whole average), the Jacobian against central finite
differences, smoothness along a line in parameter space, exact invariances (Eq. 15 scaling,
loop size versus field) and the weak-field limit.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tunnelsim import hamiltonians, spectra
from tunnelsim.distributions import ATSDistribution
from tunnelsim.ensemble import AveragingSettings, Ensemble, compute
from tunnelsim.temperature_dependence import TemperatureDependence, tunnelling_number_ratio
from tunnelsim.fitting import _exact_quadrature as quad
from tunnelsim.fitting.exact_intrinsic import THETA_NAMES, ExactIntrinsicModel, ExactIntrinsicNodes
from tunnelsim.systems import ThreeLevelSystem

#: The seed's Table 3 (constant-H fits), the loop size a free parameter.
TABLE3 = {"D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5, "delta_mu_K": 0.319}
#: Tolerance against a reference, relative to the largest |M| of the data set (the brief's 1e-4).
ACCURACY = 1e-4


def table3(charge_area_A2, eq15=True):
    params = dict(TABLE3, charge_area_A2=charge_area_A2)
    if not eq15:
        params["delta_mu_K"] = None
    return params


def small_data_set():
    """Two M-vs-T runs (1 and 6.5 T) and two M-vs-H runs (2 and 10 K), 40 points in all."""
    T = np.concatenate([np.geomspace(2.0, 300.0, 10), np.geomspace(2.0, 300.0, 10), np.full(10, 2.0), np.full(10, 10.0)])
    B = np.concatenate([np.full(10, 1.0), np.full(10, 6.5), np.linspace(0.1, 7.0, 10), np.linspace(0.1, 7.0, 10)])
    return T, B


@pytest.fixture(scope="module")
def data_set():
    return small_data_set()


# --------------------------------------------------------------------------- building blocks
def test_polar_spectrum_matches_eigh(rng):
    """Levels, slopes and thermal magnetisation of the closed form against eigh, near degeneracies too."""
    n = 4000
    D = np.exp(rng.uniform(math.log(1e-4), math.log(1e4), n))
    D0 = np.exp(rng.uniform(-2.0, 2.0, n))
    alpha = rng.uniform(0.0, 2.0 * math.pi, n)
    phi = rng.uniform(-7.0, 7.0, n)
    alpha[:500] = math.pi / 3.0 * rng.integers(0, 6, 500) + rng.normal(0.0, 1e-7, 500)  # two wells degenerate
    phi[500:1000] = math.pi * rng.integers(-2, 3, 500) + rng.normal(0.0, 1e-8, 500)  # crossings at E -> 0
    D[500:1000] *= 1e-6
    levels, slopes = quad.polar_spectrum(D, alpha, D0, phi)
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    d1, _ = hamiltonians.three_level_derivatives(E, D0, phi)
    ref = spectra.solve(hamiltonians.three_level(E, D0, phi), d1)
    scale = np.maximum(D, D0)
    assert np.max(np.abs(levels - ref.levels) / scale[:, None]) < 1e-13
    assert np.max(np.abs(slopes.sum(axis=1)) / scale) < 1e-13
    for T in (0.05, 1.0, 30.0):
        def magnetisation(lv, sl):
            w = np.exp(-(lv - lv[:, :1]) / T)
            return -(w * sl).sum(axis=1) / w.sum(axis=1)

        assert np.max(np.abs(magnetisation(levels, slopes) - magnetisation(ref.levels, ref.slopes)) / D0) < 1e-11


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_lobatto_and_radau_degrees(n):
    """Gauss-Lobatto (both ends) is exact to degree 2n-3, right Gauss-Radau (node +1) to 2n-2."""
    for rule, degree, fixed in ((quad.gauss_lobatto, 2 * n - 3, (-1.0, 1.0)), (quad.gauss_radau_right, 2 * n - 2, (1.0,))):
        x, w = rule(n)
        assert x.size == n and np.all(np.diff(x) > 0) and np.all(w > 0)
        for value in fixed:
            assert np.any(x == value)
        for k in range(degree + 1):
            assert np.sum(w * x**k) == pytest.approx(2.0 / (k + 1) if k % 2 == 0 else 0.0, abs=1e-13)


# --------------------------------------------------------------------------- values
def _ensemble_reference(T, B, params):
    """:func:`tunnelsim.ensemble.compute` on the grid T x B with 32 orientations (per unit density)."""
    QS = params["charge_area_A2"]
    td = None if params.get("delta_mu_K") is None else TemperatureDependence(params["delta_mu_K"], 1.26)
    ensemble = Ensemble(
        ThreeLevelSystem(charge_area_A2=QS),
        ATSDistribution(D_min_K=params["D_min_K"], D0_min_K=params["D0QS_min_K_A2"] / QS,
                        D0_max_K=params["D0QS_max_K_A2"] / QS),
        density_per_g=1.0,
        temperature_dependence=td,
    )
    settings = AveragingSettings(error_estimate=False, orientation_nodes=32)
    return compute(ensemble, T, B, settings=settings).values["magnetization"]


@pytest.mark.parametrize(
    "charge_area_A2, eq15",
    [
        pytest.param(3000.0, True, id="QS3000-eq15"),
        pytest.param(30000.0, True, id="QS30000-eq15"),
        pytest.param(30000.0, False, id="QS30000-no-eq15"),
        pytest.param(66000.0, False, id="QS66000-no-eq15-diamagnetic"),
    ],
)
def test_values_match_ensemble(charge_area_A2, eq15):
    """Same convention (P* = 1/(2 pi), D_max = inf, emu/g) and values as the ensemble, to 1e-4 of max |M|."""
    T = np.array([2.0, 4.5, 30.0, 300.0])
    B = np.array([0.1, 3.5, 7.0])
    params = table3(charge_area_A2, eq15)
    ref = _ensemble_reference(T, B, params)
    TT, BB = np.meshgrid(T, B, indexing="ij")
    model = ExactIntrinsicModel(TT.ravel(), BB.ravel())
    value = model.unit(params).reshape(ref.shape)
    assert np.max(np.abs(value - ref)) <= ACCURACY * np.max(np.abs(ref))
    if charge_area_A2 == 66000.0:  # the Aharonov-Bohm oscillation: diamagnetic from 4.5 T at 4.5 K
        assert value[1, 2] < 0 < value[1, 1]


@pytest.mark.parametrize("charge_area_A2", [3000.0, 66000.0])
def test_converged_under_node_doubling(data_set, charge_area_A2):
    """The default rule agrees with every node count doubled to 1e-4 of max |M|."""
    T, B = data_set
    params = table3(charge_area_A2)
    value = ExactIntrinsicModel(T, B).unit(params)
    ref = ExactIntrinsicModel(T, B, nodes=ExactIntrinsicNodes().scaled(2)).unit(params)
    assert np.max(np.abs(value - ref)) <= ACCURACY * np.max(np.abs(ref))


# --------------------------------------------------------------------------- Jacobian
@pytest.mark.parametrize(
    "charge_area_A2, eq15",
    [pytest.param(30000.0, True, id="QS30000-eq15"), pytest.param(66000.0, False, id="QS66000-no-eq15"),
     pytest.param(3000.0, True, id="QS3000-eq15")],
)
def test_jacobian_matches_central_differences(data_set, charge_area_A2, eq15):
    """Each boundary-integral column against central differences of ``unit``.

    Tolerance 1e-3 of the column's largest entry; measured 4e-9 to 3e-4 (the loop-size column
    is a small difference of the two D0-cutoff columns, each ~13 M for Table 3's narrow range).
    """
    T, B = data_set
    params = table3(charge_area_A2, eq15)
    model = ExactIntrinsicModel(T, B)
    value, jac = model.unit_and_jacobian(params)
    names = model.theta_names(params)
    assert names == (THETA_NAMES if eq15 else THETA_NAMES[:4])
    assert jac.shape == (T.size, len(names))
    assert np.array_equal(value, model.unit(params))
    keys = ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2", "delta_mu_K")
    h = 1e-4
    for c, key in enumerate(keys[: len(names)]):
        plus, minus = dict(params), dict(params)
        if key == "delta_mu_K":
            plus[key] += h
            minus[key] -= h
        else:
            plus[key] *= math.exp(h)
            minus[key] *= math.exp(-h)
        fd = (model.unit(plus) - model.unit(minus)) / (2.0 * h)
        assert np.max(np.abs(fd - jac[:, c])) <= 1e-3 * np.max(np.abs(fd)), key


# --------------------------------------------------------------------------- smoothness
def test_objective_is_smooth_along_a_line(data_set):
    """A line through parameter space that moves every cutoff, the loop size and delta_mu.

    The nodes follow the parameters (no adaptive choice), so the curve is smooth: second
    differences with step h and h/2 are consistent, ``D_h = 4 D_{h/2} (1 + O(h^2))`` at every
    point of the line (a jump eps anywhere would change one of them by ~eps: measured 0.002 of
    the largest second difference here, 0.07 with a jump of 1e-6 of max |M|), and the first
    differences match the Jacobian along the line.
    """
    T, B = data_set
    model = ExactIntrinsicModel(T, B)
    start = np.log([TABLE3["D_min_K"], TABLE3["D0QS_min_K_A2"], TABLE3["D0QS_max_K_A2"], 40000.0])
    direction = np.array([1.0, 0.3, 0.5, 0.6])

    def params_at(t):
        x = np.exp(start + t * direction)
        return {"D_min_K": x[0], "D0QS_min_K_A2": x[1], "D0QS_max_K_A2": x[2], "charge_area_A2": x[3],
                "delta_mu_K": 0.319 + 0.2 * t}

    half = 0.005
    t = np.arange(-40, 41) * half
    values = np.array([model.unit(params_at(s)) for s in t])  # (n_t, n_points)
    fine = values[3:-1] - 2.0 * values[2:-2] + values[1:-3]  # step h/2, centred at t[2:-2]
    coarse = values[4:] - 2.0 * values[2:-2] + values[:-4]  # step h, same centres
    scale = np.max(np.abs(coarse), axis=0)
    assert np.all(np.abs(coarse - 4.0 * fine) <= 0.02 * scale)
    h = half
    # first differences against the Jacobian at the midpoints
    mid = 0.5 * (t[:-1] + t[1:])
    slope = np.diff(values, axis=0) / h
    for k in (0, 40, 79):
        _, jac = model.unit_and_jacobian(params_at(mid[k]))
        along = jac @ np.append(direction, 0.2)
        assert np.max(np.abs(slope[k] - along)) <= 2e-3 * np.max(np.abs(along))


def test_repeated_calls_are_identical(data_set):
    T, B = data_set
    model = ExactIntrinsicModel(T, B)
    params = table3(30000.0)
    assert np.array_equal(model.unit(params), model.unit(params))


# --------------------------------------------------------------------------- Eq. 15 and invariances
def test_eq15_scaling_identity(data_set):
    """Eq. 15 on equals Eq. 15 off with the parameters scaled by r(T) (D_min r, D0QS r^3, QS r^2).

    The model evaluates Eq. 15 through ``M(T; r-scaled) = r M(T/r; QS r^2)``; here each point is
    recomputed the direct way. The mapped rule scales with the energies, so the two agree to rounding.
    """
    T, B = data_set
    params = table3(30000.0)
    value = ExactIntrinsicModel(T, B).unit(params)
    r = tunnelling_number_ratio(T, params["delta_mu_K"], 1.26)
    direct = np.empty_like(value)
    for i in range(T.size):
        scaled = {"D_min_K": params["D_min_K"] * r[i], "D0QS_min_K_A2": params["D0QS_min_K_A2"] * r[i] ** 3,
                  "D0QS_max_K_A2": params["D0QS_max_K_A2"] * r[i] ** 3, "charge_area_A2": params["charge_area_A2"] * r[i] ** 2}
        direct[i] = ExactIntrinsicModel(T[i], B[i]).unit(scaled)[0]
    assert np.max(np.abs(value - direct)) <= 1e-10 * np.max(np.abs(value))


def test_eq15_off_equals_zero_delta_mu(data_set):
    T, B = data_set
    model = ExactIntrinsicModel(T, B)
    off, jac_off = model.unit_and_jacobian(table3(30000.0, eq15=False))
    zero, jac_zero = model.unit_and_jacobian(dict(table3(30000.0), delta_mu_K=0.0))
    assert jac_off.shape[1] == 4 and jac_zero.shape[1] == 5
    np.testing.assert_allclose(zero, off, rtol=0, atol=1e-14 * np.abs(off).max())
    np.testing.assert_allclose(jac_zero[:, :4], jac_off, rtol=0, atol=1e-14 * np.abs(jac_off).max())
    # and Eq. 15 does change the values: r(T) is 1.10 at 2 K and 1.29 at 300 K
    on = model.unit(table3(30000.0))
    assert np.max(np.abs(on - off)) > 0.05 * np.max(np.abs(off))


def test_loop_size_and_field_enter_as_a_product(data_set):
    """At fixed D0 the phase is ~ QS B: M(B / k; k QS) = k M(B; QS) (M = -dF/dB)."""
    T, B = data_set
    k = 2.5
    params = table3(20000.0, eq15=False)
    stretched = dict(params, charge_area_A2=k * 20000.0, D0QS_min_K_A2=k * params["D0QS_min_K_A2"],
                     D0QS_max_K_A2=k * params["D0QS_max_K_A2"])
    value = ExactIntrinsicModel(T, B).unit(params)
    other = ExactIntrinsicModel(T, B / k).unit(stretched)
    np.testing.assert_allclose(other, k * value, rtol=1e-11)


def test_weak_field_limit_is_linear():
    """M is linear in B at weak field (M/B constant, and dM/d ln QS = 2 M there)."""
    T = np.full(4, 4.5)
    B = np.array([1e-4, 1e-3, 1e-2, 2e-2])
    model = ExactIntrinsicModel(T, B)
    value, jac = model.unit_and_jacobian(table3(30000.0))
    ratio = value / B
    deviation = ratio / ratio[0] - 1.0  # the B^2 correction
    assert abs(deviation[1]) < 1e-6
    assert deviation[3] / deviation[2] == pytest.approx(4.0, rel=0.05)
    np.testing.assert_allclose(jac[:2, 3] + jac[:2, 1] + jac[:2, 2], 2.0 * value[:2], rtol=1e-6)
    assert ExactIntrinsicModel([4.5], [0.0]).unit(table3(30000.0))[0] == 0.0


# --------------------------------------------------------------------------- input checks
@pytest.mark.parametrize(
    "change, name",
    [
        pytest.param({"D_min_K": 0.0}, "D_min_K", id="D_min-zero"),
        pytest.param({"D_min_K": -1.0}, "D_min_K", id="D_min-negative"),
        pytest.param({"D0QS_min_K_A2": -2.0}, "D0QS_min_K_A2", id="D0QS_min-negative"),
        pytest.param({"D0QS_min_K_A2": 3.0e5}, "D0QS_min_K_A2", id="D0QS-order"),
        pytest.param({"D0QS_max_K_A2": 2.717e5}, "D0QS_min_K_A2", id="D0QS-equal"),
        pytest.param({"charge_area_A2": 0.0}, "charge_area_A2", id="QS-zero"),
        pytest.param({"charge_area_A2": float("nan")}, "charge_area_A2", id="QS-nan"),
        pytest.param({"delta_mu_K": -0.1}, "delta_mu_K", id="delta_mu-negative"),
        pytest.param({"delta_mu_K": float("nan")}, "delta_mu_K", id="delta_mu-nan"),
        pytest.param({"D_min_K": float("inf")}, "D_min_K", id="D_min-inf"),
        pytest.param({"D_min_K": "a lot"}, "D_min_K", id="D_min-text"),
    ],
)
def test_bad_parameters_are_rejected(change, name):
    model = ExactIntrinsicModel([2.0], [1.0])
    params = dict(table3(30000.0), **change)
    with pytest.raises(ValueError, match=name):
        model.unit(params)
    with pytest.raises(ValueError, match=name):
        model.unit_and_jacobian(params)


def test_missing_parameter_is_named():
    params = table3(30000.0)
    del params["charge_area_A2"]
    with pytest.raises(ValueError, match="charge_area_A2"):
        ExactIntrinsicModel([2.0], [1.0]).unit(params)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param({"temperature_K": [0.0]}, "temperature_K", id="T-zero"),
        pytest.param({"temperature_K": [float("nan")]}, "temperature_K", id="T-nan"),
        pytest.param({"field_T": [-1.0]}, "field_T", id="B-negative"),
        pytest.param({"field_T": [1.0, 2.0, 3.0], "temperature_K": [2.0, 3.0]}, "temperature_K", id="shapes"),
        pytest.param({"P_star": 0.0}, "P_star", id="P_star"),
        pytest.param({"T0_K": float("nan")}, "T0_K", id="T0"),
        pytest.param({"nodes": {"u": 3}}, "nodes", id="nodes-type"),
    ],
)
def test_bad_construction_is_rejected(kwargs, name):
    args = {"temperature_K": [2.0], "field_T": [1.0], **kwargs}
    with pytest.raises(ValueError, match=name):
        ExactIntrinsicModel(**args)


@pytest.mark.parametrize("field", ["D", "u", "alpha_half", "D0"])
def test_bad_node_counts_are_rejected(field):
    with pytest.raises(ValueError, match=f"nodes.{field}"):
        dataclasses.replace(ExactIntrinsicNodes(), **{field: 0})


# --------------------------------------------------------------------------- the seed's whole window
def seed_like_points():
    """The seed's runs: 9 M-vs-T runs (32 temperatures, 2-300 K) and 6 M-vs-H runs (28 fields to 7 T)."""
    T = [np.geomspace(2.0, 300.0, 32) for _ in range(9)] + [np.full(28, t) for t in (2.0, 3.0, 4.5, 7.5, 10.0, 20.0)]
    B = [np.full(32, 0.1 * h) for h in (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 65.0)]
    B += [np.linspace(0.25, 7.0, 28)] * 6
    return np.concatenate(T), np.concatenate(B)


@pytest.mark.slow
@pytest.mark.parametrize("charge_area_A2", [3000.0, 30000.0, 66000.0])
@pytest.mark.parametrize("eq15", [True, False], ids=["eq15", "no-eq15"])
def test_whole_window_converged(charge_area_A2, eq15):
    """All 456 points of the seed's runs: default rule vs every node count doubled, 1e-4 of max |M|
    (measured 5e-7 to 1.3e-5); Jacobian columns to 1e-3 of their largest entry."""
    T, B = seed_like_points()
    params = table3(charge_area_A2, eq15)
    value, jac = ExactIntrinsicModel(T, B).unit_and_jacobian(params)
    ref, ref_jac = ExactIntrinsicModel(T, B, nodes=ExactIntrinsicNodes().scaled(2)).unit_and_jacobian(params)
    assert np.max(np.abs(value - ref)) <= ACCURACY * np.max(np.abs(ref))
    assert np.all(np.max(np.abs(jac - ref_jac), axis=0) <= 1e-3 * np.max(np.abs(ref_jac), axis=0))


# --------------------------------------------------------------------------- Eq. 16
def test_eq16_scaling_and_jacobian(data_set):
    """Eq. 16 (gamma, E0_K) scales the parameters by r(T) = (1 - gamma e^{E0/T}) / (1 - gamma e^{E0/T0}) exactly
    as Eq. 15 does by its r(T) (to rounding); its Jacobian columns agree with central differences of the unit."""
    from tunnelsim.temperature_dependence import tunnelling_number_ratio_activated

    T, B = data_set
    model = ExactIntrinsicModel(T, B)
    base = table3(30000.0, eq15=False)
    eq16 = dict(base, gamma=0.3, E0_K=0.8)
    r = tunnelling_number_ratio_activated(T, 0.3, 0.8, T0_K=1.26)
    value, jac = model.unit_and_jacobian(eq16)
    assert model.theta_names(eq16) == THETA_NAMES[:4] + ("gamma", "E0_K") and jac.shape[1] == 6
    direct = np.array([ExactIntrinsicModel(T[i], B[i]).unit(
        {"D_min_K": base["D_min_K"] * r[i], "D0QS_min_K_A2": base["D0QS_min_K_A2"] * r[i] ** 3,
         "D0QS_max_K_A2": base["D0QS_max_K_A2"] * r[i] ** 3, "charge_area_A2": base["charge_area_A2"] * r[i] ** 2})[0]
        for i in range(T.size)])
    assert np.max(np.abs(value - direct)) <= 1e-10 * np.max(np.abs(value))
    for k, (name, h) in enumerate((("gamma", 1e-5), ("E0_K", 1e-5)), start=4):
        up = model.unit(dict(eq16, **{name: eq16[name] + h}))
        down = model.unit(dict(eq16, **{name: eq16[name] - h}))
        fd = (up - down) / (2 * h)
        # as for Eq. 15's column: the boundary-integral derivative of the exact integral agrees with
        # differences of the fixed rule to its accuracy (measured 1e-5 of the column's largest entry)
        assert np.max(np.abs(fd - jac[:, k])) <= 1e-3 * np.max(np.abs(fd)), name
    with pytest.raises(ValueError, match="Eq. 16: 1 - gamma exp"):
        model.unit(dict(base, gamma=2.0, E0_K=1.0))
    with pytest.raises(ValueError, match="either delta_mu_K .Eq. 15. or gamma and E0_K"):
        model.unit(dict(eq16, delta_mu_K=0.3))
