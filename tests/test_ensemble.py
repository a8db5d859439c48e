"""Ensemble averages: convergence, independent cross-checks, limits and bad input."""

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate

from tunnelsim import distributions, ensemble, error_estimates, orientations, systems, units
from tunnelsim.ensemble import AveragingSettings, Ensemble, TemperatureDependence, compute

K_B = units.K_B_J_PER_K


def ats_ensemble(D_max_K=math.inf, charge_area_A2=30000.0, td=None, D0_min_K=2.0, D0_max_K=3.0, D_min_K=0.05):
    system = systems.ThreeLevelSystem(charge_area_A2)
    dist = distributions.ATSDistribution(D_min_K=D_min_K, D0_min_K=D0_min_K, D0_max_K=D0_max_K, D_max_K=D_max_K)
    return Ensemble(system, dist, density_per_g=1.0e16, temperature_dependence=td)


# --------------------------------------------------------------------------- convergence
@pytest.mark.slow
@pytest.mark.parametrize(
    "D_max_K",
    [pytest.param(30.0, id="finite-Dmax"), pytest.param(math.inf, id="infinite-Dmax")],
)
def test_default_settings_converge_under_node_doubling(D_max_K):
    """Every observable changes by < 1e-4 relative when all node counts double, and the per-axis
    error estimate of the default rule is an honest bound of that change (and below 1e-3: the
    default embedded estimate overstates, ``benchmarks/error_estimate_honesty.md``; 1e-4 pinned
    the node-doubling estimate of the old default)."""
    ens = ats_ensemble(D_max_K=D_max_K)
    T = np.array([0.5, 4.5, 40.0])
    B = np.array([0.5, 3.0])
    names = tuple(ensemble.OBSERVABLES)
    base = compute(ens, T, B, observables=names, settings=AveragingSettings())
    doubled = compute(ens, T, B, observables=names, settings=AveragingSettings(level=1, error_estimate=False))
    for name, value in base.values.items():
        scale = np.max(np.abs(value), axis=0, keepdims=True)  # per field: relative to the curve's size
        change = np.abs(doubled.values[name] - value)
        assert np.all(change / scale < 1e-4), (name, (change / scale).max())
        # the estimate may not understate the true change by more than a factor 2 (plus rounding)
        assert np.all(change <= 2 * base.errors[name] + 1e-12 * scale), name
        assert np.all(base.errors[name] / scale < 1e-3), name


def test_monte_carlo_and_qmc_agree_with_quadrature_within_three_standard_errors():
    ens = ats_ensemble(D_max_K=20.0)
    T = np.array([1.0, 5.0])
    B = np.array([2.0])
    quad = compute(ens, T, B, settings=AveragingSettings(error_estimate=False))
    for method in ("monte_carlo", "qmc"):
        sampled = compute(ens, T, B, settings=AveragingSettings(method=method, samples=4096, seed=3))
        diff = np.abs(sampled.values["magnetization"] - quad.values["magnetization"])
        se = sampled.errors["magnetization"]
        assert np.all(se > 0)
        assert np.all(diff < 3 * se), (method, diff / se)


def test_sampling_is_reproducible_with_a_seed():
    ens = ats_ensemble(D_max_K=20.0)
    a = compute(ens, [2.0], [1.0], settings=AveragingSettings(method="monte_carlo", samples=256, seed=7))
    b = compute(ens, [2.0], [1.0], settings=AveragingSettings(method="monte_carlo", samples=256, seed=7))
    c = compute(ens, [2.0], [1.0], settings=AveragingSettings(method="monte_carlo", samples=256, seed=8))
    assert a.values["magnetization"] == b.values["magnetization"]
    assert a.values["magnetization"] != c.values["magnetization"]


def test_chunking_does_not_change_the_result():
    ens = ats_ensemble(D_max_K=20.0)
    kwargs = dict(observables=("magnetization", "susceptibility", "heat_capacity"))
    big = compute(ens, [0.7, 3.0], [0.0, 1.5], settings=AveragingSettings(error_estimate=False), **kwargs)
    small = compute(
        ens, [0.7, 3.0], [0.0, 1.5], settings=AveragingSettings(error_estimate=False, max_memory_bytes=200_000), **kwargs
    )
    for name in big.values:
        np.testing.assert_allclose(small.values[name], big.values[name], rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- thermodynamic identities
def test_susceptibility_is_the_field_derivative_of_the_magnetisation():
    ens = ats_ensemble(D_max_K=20.0)
    T = np.array([0.8, 6.0])
    B0, h = 1.2, 1e-4
    s = AveragingSettings(error_estimate=False)
    res = compute(ens, T, [B0 - h, B0, B0 + h], observables=("magnetization", "susceptibility"), settings=s)
    M = res.values["magnetization"]
    dM_dH = (M[:, 2] - M[:, 0]) / (2 * h * units.OE_PER_T)  # emu g-1 Oe-1
    np.testing.assert_allclose(res.values["susceptibility"][:, 1], dM_dH, rtol=1e-6)


def test_heat_capacity_is_T_dS_dT():
    ens = ats_ensemble(D_max_K=20.0)
    T0, h = 2.0, 1e-4
    s = AveragingSettings(error_estimate=False)
    res = compute(ens, [T0 - h, T0, T0 + h], [1.0], observables=("entropy", "heat_capacity"), settings=s)
    S = res.values["entropy"][:, 0]
    np.testing.assert_allclose(res.values["heat_capacity"][1, 0], T0 * (S[2] - S[0]) / (2 * h), rtol=1e-6)


def test_zero_field_gives_zero_magnetisation_and_finite_susceptibility():
    ens = ats_ensemble(D_max_K=20.0)
    res = compute(ens, [1.0, 10.0], [0.0], observables=("magnetization", "susceptibility"),
                  settings=AveragingSettings(error_estimate=False))
    np.testing.assert_allclose(res.values["magnetization"], 0.0, atol=1e-30)
    assert np.all(np.isfinite(res.values["susceptibility"])) and np.all(res.values["susceptibility"] > 0)


# --------------------------------------------------------------------------- STM heat capacity
def _stm_heat_capacity_by_dos(dist, T):
    """Independent 1-D quadrature: C = int dE n(E) Schottky(E/T) (k_B units per system)."""
    E_max = math.hypot(dist.delta_max_K, dist.delta0_max_K)
    kinks = sorted({dist.delta0_min_K, dist.delta0_max_K, math.hypot(dist.delta_max_K, dist.delta0_min_K), E_max})

    def schottky(E):
        x = E / T
        return x * x / (4.0 * math.cosh(x / 2.0) ** 2)

    total = 0.0
    for a, b in zip(kinks[:-1], kinks[1:]):
        # split further at the temperature scale so quad sees the Schottky peak
        pts = [p for p in (2.4 * T, 10 * T, 30 * T) if a < p < b]
        val, _ = integrate.quad(lambda E: float(dist.density_of_states(E)) * schottky(E), a, b,
                                points=pts or None, limit=400, epsabs=0, epsrel=1e-11)
        total += val
    return total


@pytest.mark.parametrize("T", [pytest.param(t, id=f"T={t}K") for t in (0.02, 0.2, 2.0)])
def test_stm_heat_capacity_matches_density_of_states_quadrature(T):
    dist = distributions.STMDistribution(delta_max_K=10.0, delta0_min_K=1e-3, delta0_max_K=10.0)
    ens = Ensemble(systems.TwoLevelSystem(), dist, density_per_g=1.0)
    res = compute(ens, [T], [0.0], observables=("heat_capacity",), settings=AveragingSettings(error_estimate=False))
    expected = _stm_heat_capacity_by_dos(dist, T) * K_B
    np.testing.assert_allclose(res.values["heat_capacity"][0, 0], expected, rtol=1e-4)


def test_stm_heat_capacity_is_linear_in_T_inside_the_window():
    dist = distributions.STMDistribution(delta_max_K=100.0, delta0_min_K=1e-6, delta0_max_K=100.0)
    ens = Ensemble(systems.TwoLevelSystem(), dist, density_per_g=1.0)
    T = np.array([0.01, 0.1])
    C = compute(ens, T, [0.0], observables=("heat_capacity",), settings=AveragingSettings(error_estimate=False))
    ratio = C.values["heat_capacity"][1, 0] / C.values["heat_capacity"][0, 0]
    # C ~ T ln(T / Delta0_min) with the log-uniform Delta0: slope 1 up to the logarithm
    expected = 10.0 * math.log(0.1 / 1e-6 * 2) / math.log(0.01 / 1e-6 * 2)
    assert abs(ratio / expected - 1) < 0.05


# --------------------------------------------------------------------------- ATS limits
def _effective_two_level_reference(dist, charge_area, rule, T, B, with_centre_shift):
    """Effective 2LS (levels +-E/2, E^2 = (2/3) D^2 + (4/3) D0^2 phi^2) averaged on the same nodes.

    With ``with_centre_shift`` the doublet's centre ``-D0 cos(phi/3)`` (physics.md section 2), which
    the effective 2LS leaves out, adds its diamagnetic ``-(D0/3) sin(phi/3) dphi/dB``.
    """
    nodes = dist.quadrature(energy_scale_K=float(dist.D0_max_K))
    D = nodes.params["D"][:, None, None, None]
    D0 = nodes.params["D0"][:, None, None, None]
    u = rule.nodes[None, :, None, None]
    dphi_dB = float(units.phase_per_tesla(charge_area)) * u
    phi = dphi_dB * B[None, None, None, :]
    D_eff2, D0_eff2 = (2.0 / 3.0) * D**2, (4.0 / 3.0) * D0**2
    E = np.sqrt(D_eff2 + D0_eff2 * phi**2)
    m = 0.5 * np.tanh(E / (2 * T[None, None, :, None])) * D0_eff2 * phi * dphi_dB / E  # K/T
    if with_centre_shift:
        m = m - (D0 / 3.0) * np.sin(phi / 3.0) * dphi_dB
    m = np.tensordot(m, rule.weights, axes=([1], [0]))  # (N, nT, nB)
    return np.tensordot(nodes.weights, m, axes=([0], [0])) * units.kelvin_per_tesla_to_emu(1.0)


@pytest.mark.parametrize(
    "temperatures_K, fields_T, with_centre_shift, rtol",
    [
        pytest.param([0.003, 0.01, 0.03], [0.2, 0.6, 1.2], False, 5e-3, id="weak-field-effective-2LS"),
        pytest.param([0.01, 0.03, 0.1], [0.5, 2.0, 4.0], True, 1e-3, id="effective-2LS-plus-doublet-centre"),
    ],
)
def test_ats_exact_ensemble_reduces_to_the_effective_two_level_ensemble(temperatures_K, fields_T, with_centre_shift,
                                                                        rtol):
    """D_max << D0_min, k_B T << D0: exact 3LS M = effective 2LS with D -> sqrt(2/3) D, D0 -> (2/sqrt 3) D0.

    At weak field (phi <= 0.02) and k_B T below the effective gaps the effective 2LS alone agrees to
    0.5 %; at larger phi, or where tanh(E/2T) < 1, the doublet's temperature-independent centre shift
    (a diamagnetic term of relative size ~0.2 phi / tanh(E/2T)) must be added.
    """
    charge_area = 1000.0
    system = systems.ThreeLevelSystem(charge_area)
    dist = distributions.ATSDistribution(D_min_K=0.002, D_max_K=0.02, D0_min_K=2.0, D0_max_K=4.0)
    ens = Ensemble(system, dist, density_per_g=1.0)
    T = np.asarray(temperatures_K)
    B = np.asarray(fields_T)
    rule = orientations.planar_rule(8)
    exact = compute(ens, T, B, settings=AveragingSettings(error_estimate=False), orientations=rule)
    reference = _effective_two_level_reference(dist, charge_area, rule, T, B, with_centre_shift)
    np.testing.assert_allclose(exact.values["magnetization"], reference, rtol=rtol)


def test_temperature_dependence_equals_scaled_cutoffs():
    """Eq. 15 at temperature T equals the plain ensemble with cutoffs and (Q/e) S rescaled."""
    td = TemperatureDependence(delta_mu_K=0.3, T0_K=1.26)
    ens = ats_ensemble(D_max_K=20.0, td=td)
    T = np.array([0.9, 4.0])
    B = np.array([1.0, 3.0])
    s = AveragingSettings(error_estimate=False)
    with_td = compute(ens, T, B, settings=s)
    for i, t in enumerate(T):
        r = float(td.ratio(t))
        dist = distributions.ATSDistribution(D_min_K=0.05 * r, D_max_K=20.0 * r, D0_min_K=2.0 * r, D0_max_K=3.0 * r)
        plain = Ensemble(systems.ThreeLevelSystem(30000.0 * r**2), dist, density_per_g=1.0e16)
        ref = compute(plain, [t], B, settings=s)
        np.testing.assert_allclose(with_td.values["magnetization"][i], ref.values["magnetization"][0], rtol=1e-3)


def test_zero_delta_mu_is_no_temperature_dependence():
    T, B = [1.0, 3.0], [2.0]
    s = AveragingSettings(error_estimate=False)
    a = compute(ats_ensemble(D_max_K=20.0, td=TemperatureDependence(0.0)), T, B, settings=s)
    b = compute(ats_ensemble(D_max_K=20.0), T, B, settings=s)
    np.testing.assert_allclose(a.values["magnetization"], b.values["magnetization"], rtol=1e-13)


# --------------------------------------------------------------------------- four wells
@pytest.mark.slow
def test_four_well_magnetisation_does_not_depend_on_the_lab_field_direction():
    system = systems.FourWellSystem(20000.0)
    dist = distributions.FourWellATSDistribution(D_min_K=0.05, D_max_K=10.0, D0_min_K=2.0, D0_max_K=3.0)
    ens = Ensemble(system, dist, density_per_g=1.0e16)
    rule = orientations.sphere_rule(11)
    R = orientations.random_rotations(1, seed=5)[0]
    rotated = dataclasses.replace(rule, nodes=rule.nodes @ R.T)
    s = AveragingSettings(error_estimate=False, nodes={k: max(2, v // 2) for k, v in dist.default_nodes.items()})
    a = compute(ens, [2.0], [2.0, 5.0], settings=s, orientations=rule)
    b = compute(ens, [2.0], [2.0, 5.0], settings=s, orientations=rotated)
    np.testing.assert_allclose(a.values["magnetization"], b.values["magnetization"], rtol=1e-4)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        pytest.param(dict(temperature_K=[-1.0]), "temperature_K", id="negative-T"),
        pytest.param(dict(temperature_K=[np.nan]), "temperature_K", id="nan-T"),
        pytest.param(dict(field_T=[-0.5]), "field_T", id="negative-B"),
        pytest.param(dict(field_T=[[1.0]]), "field_T", id="2d-B"),
        pytest.param(dict(observables=("magnetisation",)), "observables", id="unknown-observable"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    args = dict(temperature_K=[1.0], field_T=[1.0], observables=("magnetization",))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        compute(ats_ensemble(D_max_K=20.0), args["temperature_K"], args["field_T"], observables=args["observables"])


def test_bad_settings_and_mismatched_distribution():
    with pytest.raises(ValueError, match="method"):
        AveragingSettings(method="simpson")
    with pytest.raises(ValueError, match="level"):
        AveragingSettings(level=-1)
    with pytest.raises(ValueError, match="two_level"):
        Ensemble(systems.TwoLevelSystem(), distributions.ATSDistribution(0.1, 1.0, 2.0), density_per_g=1.0)
    with pytest.raises(ValueError, match="density_per_g"):
        ats_ensemble().__class__(systems.ThreeLevelSystem(1.0), distributions.ATSDistribution(0.1, 1.0, 2.0), -1.0)
    with pytest.raises(ValueError, match="delta_mu_K"):
        TemperatureDependence(delta_mu_K=-1.0)


# --------------------------------------------------------------------------- parallel execution
def test_process_pool_and_dask_cluster_give_the_serial_result_exactly():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from distributed import Client, LocalCluster

    ens = ats_ensemble(D_max_K=20.0)
    T, B = [1.0, 4.0], [0.5, 2.0, 3.0]
    names = ("magnetization", "susceptibility")
    serial = compute(ens, T, B, observables=names)
    # spawn: forking a process whose compiled kernels already started threads is unsafe
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = compute(ens, T, B, observables=names, executor=pool)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        distributed = compute(ens, T, B, observables=names, executor=client.get_executor())
    for other in (pooled, distributed):
        for name in names:
            np.testing.assert_array_equal(other.values[name], serial.values[name])
            np.testing.assert_array_equal(other.errors[name], serial.errors[name])


# --------------------------------------------------------------------------- embedded error estimate
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: ats_ensemble(D_max_K=30.0), id="ats-finite"),
        pytest.param(lambda: ats_ensemble(), id="ats-infinite"),
        pytest.param(lambda: Ensemble(systems.TwoLevelSystem(), distributions.STMDistribution(5.0, 0.01, 2.0), 1.0e16),
                     id="stm"),
    ],
)
def test_embedded_errors_cover_a_refined_reference(make):
    """The default (embedded) estimate bounds the error of its (Kronrod) value against a rule refined
    4x per axis with 4x the orientations, and is not vacuous."""
    ens = make()
    T = np.array([0.5, 4.5, 40.0])
    B = np.array([0.5, 3.0])
    names = ("magnetization", "heat_capacity")
    res = compute(ens, T, B, observables=names, settings=AveragingSettings())
    assert res.info["error_estimate"].startswith("embedded")
    ref_settings = AveragingSettings(level=2, error_estimate=False, orientation_nodes=32)
    ref = compute(ens, T, B, observables=names, settings=ref_settings)
    for name in names:
        scale = np.max(np.abs(ref.values[name]))
        true = np.abs(res.values[name] - ref.values[name])
        assert np.all(true <= res.errors[name] + 1e-12 * scale), name
        assert np.all(res.errors[name] <= 1e-3 * scale), name


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: ats_ensemble(), id="ats"),
        pytest.param(lambda: Ensemble(systems.FourWellSystem(3000.0),
                                      distributions.FourWellATSDistribution(D_min_K=0.1, D0_min_K=0.5, D0_max_K=2.0,
                                                                            D_max_K=5.0), 1.0e16), id="four-well"),
    ],
)
def test_embedded_estimate_costs_at_most_one_and_a_half_passes_in_spectra(make):
    """Spectra evaluated with the (default) embedded estimate <= 1.5 x those of one pass without an estimate."""
    ens = make()
    T, B = np.array([1.0, 10.0]), np.array([1.0])
    one = compute(ens, T, B, settings=AveragingSettings(error_estimate=False, nodes=None))
    embedded = compute(ens, T, B, settings=AveragingSettings())
    doubling = compute(ens, T, B, settings=AveragingSettings(error_estimate="doubling"))
    assert embedded.info["spectra_per_field"] <= 1.5 * one.info["spectra_per_field"]
    assert doubling.info["spectra_per_field"] > 4 * one.info["spectra_per_field"]
    assert np.all(np.isfinite(embedded.errors["magnetization"]))


def test_error_estimate_setting_accepts_names_and_booleans():
    assert AveragingSettings().error_estimate == "embedded"
    assert AveragingSettings(error_estimate=True).error_estimate == "embedded"
    assert AveragingSettings(error_estimate="doubling").error_estimate == "doubling"
    assert AveragingSettings(error_estimate=False).error_estimate is False
    with pytest.raises(ValueError, match="error_estimate"):
        AveragingSettings(error_estimate="kronrod")


def test_embedded_axis_error_extrapolates_at_the_larger_of_the_known_and_the_read_rate():
    e_G, scale = np.array([1e-6, 1e-2]), np.array([1.0, 1.0])
    degrees = (41, 25, 13)
    # no rate known: the rate read from the Gauss sub-rule, (e_G / scale)^p
    est = error_estimates.embedded_axis_error(e_G, e_G, degrees, None, scale, safety=1.0, factor_min=0.0, power=0.5)
    np.testing.assert_allclose(est, e_G * np.sqrt(e_G))
    # a known rate wins where it is the larger (the smaller factor)
    est = error_estimates.embedded_axis_error(e_G, e_G, degrees, 0.3, scale, safety=1.0, factor_min=0.0, power=0.5)
    np.testing.assert_allclose(est, e_G * np.minimum(np.sqrt(e_G), np.exp(-0.3 * 16)))
    # the floor and the safety factor
    est = error_estimates.embedded_axis_error(e_G, e_G, degrees, 0.3, scale, safety=2.0, factor_min=0.1, power=0.5)
    np.testing.assert_allclose(est, 2.0 * e_G * np.maximum(0.1, np.minimum(np.sqrt(e_G), np.exp(-0.3 * 16))))
    # periodic (trapezoid) axes: the sub-rules give the rate, kappa = (d_K - d_G) / (d_G - d_L)
    e_L = np.array([1e-3, 1e-3])
    est = error_estimates.embedded_axis_error(e_G, e_L, (15, 7, 3), periodic=True, safety=1.0, factor_min=0.0)
    np.testing.assert_allclose(est, e_G * np.minimum(1.0, e_G / e_L) ** 2)
    assert np.all(error_estimates.embedded_axis_error(e_G, None, None) == e_G)


def test_embedded_sums_are_those_of_separate_single_weight_passes():
    """The one-pass sums of the embedded estimate equal each sub-rule evaluated on its own."""
    ens = ats_ensemble(D_max_K=30.0)
    T, B = np.array([0.7, 5.0]), np.array([0.0, 2.0])
    settings = AveragingSettings(nodes={"D": 8, "D0": 4, "alpha": 8}, orientation_nodes=6)
    plan = error_estimates.plan(ens.distribution, settings, ensemble.default_orientation_rule(ens.system, settings), 40.0)
    _, nodes, rule = plan[0]
    names = ("magnetization", "susceptibility")
    totals, _ = ensemble._accumulate(ens, nodes, rule, T, B, names, settings, None)
    for (axis, emb), weights_of in [((a, e), "nodes") for a, e in nodes.embedded.items()] + [
            (("orientation", rule.embedded["orientation"]), "rule")]:
        for sub, w in emb.lower.items():
            if weights_of == "nodes":
                alone = dataclasses.replace(nodes, weights=w, embedded=None)
                sub_rule = dataclasses.replace(rule, embedded=None)
            else:
                alone = dataclasses.replace(nodes, embedded=None)
                sub_rule = dataclasses.replace(rule, weights=w, embedded=None)
            single, _ = ensemble._accumulate(ens, alone, sub_rule, T, B, names, AveragingSettings(error_estimate=False), None)
            for name in names:
                # a null rule's sum cancels to far below its terms: its rounding is that of the main sum
                size = np.max(np.abs(single[name])) if not sub.startswith("N") else np.max(np.abs(totals[name]))
                np.testing.assert_allclose(totals[(name, axis, sub)], single[name], rtol=1e-13,
                                           atol=1e-14 * size, err_msg=f"{name} {axis} {sub}")


def _tanh_wave(x):
    return np.tanh(3.0 * x + 0.4)


@pytest.mark.parametrize("m", [3, 4], ids=["m3", "m4"])
def test_null_rule_estimate_bounds_the_error_of_a_known_1d_integral_within_10x(m):
    """The per-point null-rule estimate of a Gauss-Kronrod rule on a smooth analytic integrand
    (poles at ``x = (-0.4 + i pi (k + 1/2)) / 3``) bounds the true error (``scipy.integrate.quad``
    reference) and overstates it at most 10x."""
    from scipy.integrate import quad

    from tunnelsim.distributions.rules import _kronrod_unit, kronrod_degrees, kronrod_null_rules

    x, w_K, _, _ = _kronrod_unit(m)
    nulls, indices = kronrod_null_rules(m)
    reference = quad(_tanh_wave, -1.0, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)[0]  # true errors 3e-4, 4e-3
    true = abs(w_K @ _tanh_wave(x) - reference)
    estimate = float(error_estimates.null_rule_axis_error(nulls @ _tanh_wave(x), indices, kronrod_degrees(m)))
    assert true <= estimate <= 10.0 * true, (true, estimate)


def test_null_rule_estimate_bounds_the_error_of_a_known_2d_integral_within_10x():
    """The same on a tensor Gauss-Kronrod rule of a non-separable analytic integrand: the sum of
    the per-axis estimates (the null rules as weight rows of the tensor rule) against ``dblquad``."""
    from scipy.integrate import dblquad

    from tunnelsim.distributions.rules import _gauss_legendre, _tensor

    def f(x, y):
        return np.tanh(3.0 * x + 0.4 + y) / (1.0 + 4.0 * y * y)

    ax, ay = _gauss_legendre(6, -1.0, 1.0, embedded=True), _gauss_legendre(6, -1.0, 1.0, embedded=True)
    (x, y), w, embedded = _tensor((ax[0], ax[1], {"x": ax[2]}), (ay[0], ay[1], {"y": ay[2]}))
    values = f(x, y)
    reference = dblquad(lambda yy, xx: f(xx, yy), -1.0, 1.0, -1.0, 1.0, epsabs=1e-13, epsrel=1e-13)[0]
    true = abs(w @ values - reference)
    estimate = sum(
        error_estimates.null_rule_axis_error(np.array([emb.lower[f"N{j}"] @ values for j in range(len(emb.null))]),
                                             emb.null, emb.degrees)
        for emb in embedded.values()
    )
    assert true <= estimate <= 10.0 * true, (true, estimate)


def test_null_rule_estimate_falls_back_to_the_gauss_error_without_geometric_decay():
    """Flat coefficients (no decay): the estimate is the Gauss sub-rule's error at the fitted envelope,
    safety x |G[P~_2m]| x hypot(c, c)."""
    from tunnelsim.distributions.rules import _gauss_coefficient_factor, kronrod_degrees, kronrod_null_rules

    m = 6
    _, indices = kronrod_null_rules(m)
    c = np.full((len(indices), 3), 2e-5)
    est = error_estimates.null_rule_axis_error(c, indices, kronrod_degrees(m), safety=1.0)
    np.testing.assert_allclose(est, _gauss_coefficient_factor(m) * math.hypot(2e-5, 2e-5), rtol=1e-12)
    assert np.all(error_estimates.null_rule_axis_error(np.zeros((len(indices), 2)), indices, kronrod_degrees(m)) == 0.0)


@pytest.mark.parametrize(
    "make, explicit_rows",
    [
        pytest.param(lambda: ats_ensemble(), ["main"], id="ats-infinite-D_max"),
        pytest.param(lambda: ats_ensemble(D_max_K=30.0, td=TemperatureDependence(0.319, T0_K=1.26)), ["main"],
                     id="ats-finite-D_max-eq15"),
        pytest.param(lambda: Ensemble(systems.ThreeLevelSystem(30000.0),
                                      distributions.StandardThreeLevelDistribution(D_max_K=20.0, D0_min_K=1.0,
                                                                                   D0_max_K=3.0), 1.0e16),
                     ["main"], id="standard-3ls"),
        pytest.param(lambda: Ensemble(systems.FourWellSystem(3000.0),
                                      distributions.FourWellATSDistribution(D_min_K=0.1, D0_min_K=0.5, D0_max_K=2.0,
                                                                            D_max_K=5.0), 1.0e16),
                     ["main", ("direction", "G"), ("direction", "L")], id="four-well-chamber"),
        pytest.param(lambda: Ensemble(systems.FourWellSystem(3000.0),
                                      distributions.FourWellATSDistribution(D_min_K=0.1, D0_min_K=0.5, D0_max_K=2.0,
                                                                            D_max_K=5.0, direction_rule="product"),
                                      1.0e16),
                     None, id="four-well-product-sphere"),
    ],
)
def test_per_axis_sums_equal_the_full_weight_rows(make, explicit_rows, monkeypatch):
    """The embedded totals from per-axis sums (one accumulation per tensor axis, the sub-rule and
    null-rule rows as factors of one axis's node position) equal those of the full weight rows to
    1e-13 of the main sum at each point; only the rows that are not of that form (the chamber's
    "G" and "L", normalised row by row) stay rows."""
    ens = make()
    T, B = np.array([0.7, 5.0, 40.0]), np.array([0.0, 2.0])
    names = ("magnetization", "heat_capacity", "susceptibility")
    settings = AveragingSettings(nodes={k: v for k, v in {"D": 8, "D0": 4, "alpha": 8, "direction": 6}.items()
                                        if k in ens.distribution.default_nodes}, orientation_nodes=6, sphere_degree=5)
    plan = error_estimates.plan(ens.distribution, settings, ensemble.default_orientation_rule(ens.system, settings), 40.0)
    _, nodes, rule = plan[0]
    labels, W = error_estimates._node_rows(nodes)
    explicit, bins, (factored, F), abs_is_main = error_estimates._factored_rows(nodes, W)
    assert abs_is_main
    if explicit_rows is not None:
        assert [labels[r] for r in explicit] == explicit_rows
        assert bins.shape[0] >= 2 and F.shape == (len(labels) - len(explicit), bins.max() + 1)
    per_axis, _ = ensemble._accumulate(ens, nodes, rule, T, B, names, settings, None)

    def all_rows(nodes_, W_):
        n_rows = W_.shape[0]
        return list(range(n_rows)), np.zeros((0, W_.shape[1]), dtype=np.int64), ([], np.zeros((0, 0))), False

    monkeypatch.setattr(error_estimates, "_factored_rows", all_rows)
    full, _ = ensemble._accumulate(ens, nodes, rule, T, B, names, settings, None)
    assert set(per_axis) == set(full)
    for key, value in full.items():
        name = key if isinstance(key, str) else key[0]
        main = np.abs(full[name])
        np.testing.assert_array_less(np.abs(per_axis[key] - value), 1e-13 * main + 1e-300, err_msg=str(key))
        if isinstance(key, str):
            np.testing.assert_array_equal(per_axis[key], value)


@pytest.mark.parametrize("td", [None, TemperatureDependence(delta_mu_K=0.319, T0_K=1.26)], ids=["plain", "eq15"])
def test_compute_blocks_reassemble_compute(td):
    """compute_blocks in blocks of 2 temperatures yields the blocks of compute's result to 1e-13
    (one plan for the whole grid, the harmonic orientation error per point included; the compiled
    loops over temperatures round differently for other lengths), then the info."""
    ens = Ensemble(systems.ThreeLevelSystem(3e4), distributions.ATSDistribution(D_min_K=0.03, D0_min_K=9.0,
                                                                                  D0_max_K=9.75),
                   density_per_g=1e16, temperature_dependence=td)
    T, B = np.array([1.0, 2.0, 5.0, 20.0, 80.0]), np.array([0.0, 5.0, 20.0])
    settings = AveragingSettings(nodes={"D": 6, "D_tail": 4, "D0": 2, "alpha": 6})
    names = ("magnetization", "heat_capacity")
    whole = compute(ens, T, B, names, settings)
    blocks = list(ensemble.compute_blocks(ens, T, B, names, settings, rows=2))
    assert [b[0] for b in blocks] == [0, 2, 4, None]
    for name in names:
        np.testing.assert_allclose(np.concatenate([b[1][name] for b in blocks[:-1]]), whole.values[name], rtol=1e-13)
        np.testing.assert_allclose(np.concatenate([b[2][name] for b in blocks[:-1]]), whole.errors[name], rtol=1e-10)
    assert blocks[-1][1]["temperature_blocks"] == 3
    assert "temperature_blocks" not in whole.info
    with pytest.raises(ValueError, match="rows"):
        list(ensemble.compute_blocks(ens, T, B, names, settings, rows=0))
