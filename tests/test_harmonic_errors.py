"""Harmonic (Aharonov-Bohm) reading of the planar orientation error: its parts, its premise, its use."""

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

from tunnelsim import config, ensemble, error_estimates, harmonic_errors, orientations, runner, systems, thermo, units
from tunnelsim.ensemble import AveragingSettings, compute

RULE = orientations.with_embedded(orientations.planar_rule(8))  # Gauss-Kronrod, 9 nodes, degree 13
EMB = RULE.embedded["orientation"]
NULL_ROWS = np.stack([EMB.lower[f"N{k}"] for k in range(8)])
PSI = {"even": np.cos, "odd": np.sin}


def test_node_values_are_recovered_from_main_and_null_totals():
    """Main row and the 2m = 8 null rows are 9 independent rows on 9 nodes (condition ~3): the
    node values come back to rounding (1e-12 relative); one null row short is refused."""
    F = np.random.default_rng(11).normal(size=(9, 5))
    got = harmonic_errors.node_values(RULE.weights, NULL_ROWS, RULE.weights @ F, NULL_ROWS @ F)
    assert got.shape == F.shape
    assert np.max(np.abs(got - F)) <= 1e-12 * np.max(np.abs(F))
    with pytest.raises(ValueError, match="null rules"):
        harmonic_errors.node_values(RULE.weights, NULL_ROWS[:-1], RULE.weights @ F, NULL_ROWS[:-1] @ F)


@pytest.mark.parametrize("parity", ["even", "odd"])
@pytest.mark.parametrize("j", [0, 1, 2])
def test_harmonic_rule_errors_match_quadpack(j, parity):
    """``int_0^1 u^j psi(n omega u) du`` by QUADPACK's oscillatory rule (QAWO, independent of the
    module's Gauss-Legendre) minus the 9-node rule sum; the integrals are O(1), so 1e-12 absolute
    leaves ~100x room over the observed ~1e-15."""
    harmonics = [0, 1, 2, 5, 11] if parity == "even" else [1, 2, 5, 11]
    for omega in (3.0, 9.1):
        got = harmonic_errors.harmonic_rule_errors(RULE.nodes, RULE.weights, j, parity, harmonics, omega)
        for n, e in zip(harmonics, got):
            exact = integrate.quad(lambda u: u**j, 0.0, 1.0, weight="cos" if parity == "even" else "sin",
                                   wvar=n * omega, limit=200)[0]
            rule = RULE.weights @ (RULE.nodes**j * PSI[parity](n * omega * RULE.nodes))
            assert abs(e - (exact - rule)) < 1e-12, (n, omega)


def test_observables_over_u_power_are_periodic_and_of_stated_parity_in_the_phase():
    """The premise of HARMONIC_FORMS on the real three-well spectrum (eigh path): O/u^j is a function
    of the phase phi = omega u alone (the same at two (u, B) of equal phase), takes the same value
    at phi and phi + 2 pi (a flux quantum is a gauge transformation) and +-(the value) at -phi
    (negative field). Rounding is ~1e-15 relative;
    1e-9 relative is asserted. A shift by pi must change the heat capacity (else the check is vacuous)."""
    area = 30000.0
    system = systems.ThreeLevelSystem(charge_area_A2=area, solver="eigh")
    rng = np.random.default_rng(5)
    E = rng.uniform(-2.0, 2.0, size=(4, 3))
    params = {"E": E - E.mean(axis=1, keepdims=True), "D0": rng.uniform(0.5, 3.0, size=4)}
    T = np.array([0.5, 3.0, 30.0])
    per_tesla = float(units.phase_per_tesla(area, 1.0))

    def scaled(u, phi):
        th = thermo.thermodynamics(system.spectrum(params, phi / (per_tesla * u), np.array([u])), T)
        return {name: getattr(th, name) / u**j for name, (j, _) in harmonic_errors.HARMONIC_FORMS.items()}

    for u, phi in ((0.35, 1.3), (0.8, 2.2)):  # fields 8.1 and 47.5 T; 6.0 and 23.2 T
        here, shifted, mirrored = scaled(u, phi), scaled(u, phi + 2 * math.pi), scaled(u, -phi)
        other_u = scaled(1.15 - u, phi)  # the same phase at another u and field: tests the power j
        for name, (_, parity) in harmonic_errors.HARMONIC_FORMS.items():
            size = np.max(np.abs(here[name]))
            assert size > 0, name
            np.testing.assert_allclose(shifted[name], here[name], rtol=0, atol=1e-9 * size, err_msg=name)
            np.testing.assert_allclose(other_u[name], here[name], rtol=0, atol=1e-9 * size, err_msg=name)
            sign = 1.0 if parity == "even" else -1.0
            np.testing.assert_allclose(mirrored[name], sign * here[name], rtol=0, atol=1e-9 * size, err_msg=name)
        half = scaled(u, phi + math.pi)["heat_capacity"]
        assert np.max(np.abs(half - here["heat_capacity"])) > 1e-3 * np.max(np.abs(here["heat_capacity"]))


def _series(parity, q, t):
    """``sum_{n >= 0} q^n cos(n t)`` (even) or ``sum_{n >= 1} q^n sin(n t)`` (odd), closed form."""
    d = 1.0 - 2.0 * q * np.cos(t) + q * q
    return (1.0 - q * np.cos(t)) / d if parity == "even" else q * np.sin(t) / d


# Observed estimate / true error (j, parity; q = 0.3 | 0.6; omega = 3.0, 6.0, 9.1):
#   0 even: 83, 3.1e3, 4.8 | 770, 1.0e3, 12     2 even: 230, 120, 4.1 | 8.4e3, 1.5e3, 11
#   1 odd:  88, 1.0e3, 2.5 | 1.2e3, 6.6e3, 10
# The true errors are 1.4e-8 .. 5.6e-2, far above rounding: no floor is needed. Within 100x only
# at omega = 9.1; at 3 and 6 the tail sums |a_n e_n| of harmonics whose signed errors cancel
# (e.g. q = 0.3, omega = 6: terms 2.2e-4, -2.5e-4, 7.6e-5 sum to 6e-7), so the cap there is 3e4.
@pytest.mark.parametrize("omega", [3.0, 6.0, 9.1])
@pytest.mark.parametrize("q", [0.3, 0.6])
@pytest.mark.parametrize("j, parity", [(0, "even"), (2, "even"), (1, "odd")])
def test_harmonic_estimate_bounds_the_true_error_of_a_known_series(j, parity, q, omega):
    """``u^j G(omega u)`` with ``G`` a cosine/sine series of coefficients ``q^n``: the estimate is at
    least the true error of the rule (quad on the closed form, abserr < 1e-13) and at most 100x it
    at omega = 9.1 (3e4x at omega = 3, 6; see the ratios above)."""
    exact, abserr = integrate.quad(lambda u: u**j * _series(parity, q, omega * u), 0.0, 1.0, limit=200,
                                   epsabs=1e-13, epsrel=1e-13)
    F = RULE.nodes**j * _series(parity, q, omega * RULE.nodes)
    true = abs(exact - RULE.weights @ F)
    assert abserr < 1e-6 * true
    estimate = harmonic_errors.harmonic_axis_error(RULE.nodes, RULE.weights, EMB.degrees[0], F[:, None], j, parity,
                                                   omega)
    assert estimate.shape == (1,)
    assert estimate[0] >= true
    assert estimate[0] <= (100.0 if omega > 9.0 else 3e4) * true


# --------------------------------------------------------------------------- through ensemble.compute
@pytest.fixture(scope="module")
def high_field():
    """Quickstart config at 7 and 20 T (phase at u = 1: 3.2 and 9.1 rad), its embedded result, and a
    reference with 4x the orientation nodes and 2x the parameter nodes (level + 1; level + 2 changes
    it by < 1e-13 relative at these points)."""
    text = (Path(__file__).resolve().parents[1] / "simulations" / "quickstart.toml").read_text()
    text = text.replace("field_Oe = [10000.0, 30000.0, 65000.0]", "field_T = [7.0, 20.0]")
    ens, _, cfg_settings = runner.build_ensemble(config.parse_config(text, "<test>"))
    T, B, names = np.array([2.0, 20.0, 200.0]), np.array([7.0, 20.0]), ("magnetization", "heat_capacity")
    settings = AveragingSettings(level=cfg_settings.level, nodes=cfg_settings.nodes, error_estimate="embedded")
    res = compute(ens, T, B, names, settings, ensemble.default_orientation_rule(ens.system, settings))
    ref_settings = AveragingSettings(level=cfg_settings.level + 1, nodes=cfg_settings.nodes, orientation_nodes=32,
                                     error_estimate=False)
    ref = compute(ens, T, B, names, ref_settings, ensemble.default_orientation_rule(ens.system, ref_settings))
    return ens, T, B, names, settings, res, ref


def test_embedded_error_with_harmonic_reading_covers_the_true_error_at_high_field(high_field):
    """Every point whose difference from the reference exceeds 1e-13 relative (the reference's own
    resolution) is covered. Observed reported / |difference|: M 2.4e3, 1.5 (2 K); 2.9, 2.4 (20 K);
    1.4, 2.0 (200 K), at 7, 20 T; C 4.8e3, 6.3; 2.4, 130; 28, 28."""
    _, _, _, names, _, res, ref = high_field
    for name in names:
        diff = np.abs(res.values[name] - ref.values[name])
        resolved = diff > 1e-13 * np.abs(ref.values[name])
        assert np.all(res.errors[name][resolved] >= diff[resolved]), name


def test_harmonic_reading_tightens_the_20T_200K_magnetization_error(high_field, monkeypatch):
    """At 20 T, 200 K the true error of M is 1.5e-7 relative; the harmonic reading reports 3.0e-7
    (asserted < 1e-6), the Legendre null rules alone 3.7e-2 (asserted > 1e-3: the bound above
    fails with the harmonic reading switched off)."""
    ens, T, B, names, settings, res, ref = high_field
    i, k = 2, 1
    value = res.values["magnetization"][i, k]
    assert abs(value - ref.values["magnetization"][i, k]) < 1e-6 * abs(value)
    assert res.errors["magnetization"][i, k] < 1e-6 * abs(value)
    monkeypatch.setattr(harmonic_errors, "HARMONIC_MIN_PHASE_RAD", math.inf)
    legendre = compute(ens, T, B, names, settings, ensemble.default_orientation_rule(ens.system, settings))
    np.testing.assert_array_equal(legendre.values["magnetization"], res.values["magnetization"])
    assert legendre.errors["magnetization"][i, k] > 1e-3 * abs(value)


# --------------------------------------------------------------------------- which columns
def test_harmonic_orientation_error_replaces_only_large_phase_columns_of_listed_observables():
    """Columns below HARMONIC_MIN_PHASE_RAD keep the Legendre estimate bit for bit, the others get
    harmonic_axis_error of the recovered node values, at most HARMONIC_SAFETY |Q_G - Q_K| (1e-10
    relative: the node recovery rounds);
    an observable outside HARMONIC_FORMS gets the Legendre estimate back."""
    phase = np.array([0.5, harmonic_errors.HARMONIC_MIN_PHASE_RAD * 0.99, 3.0, 9.1])
    assert np.sum(phase >= harmonic_errors.HARMONIC_MIN_PHASE_RAD) == 2
    u, scale = RULE.nodes[:, None, None], np.array([1.0, 2.0, 5.0])[None, :, None]  # 3 "temperatures"
    F = u * _series("odd", 0.5, phase[None, None, :] * u) * scale  # (9, 3, 4): magnetization-like
    name = "magnetization"
    totals = {name: np.einsum("k,kab->ab", RULE.weights, F)}
    for r, row in enumerate(NULL_ROWS):
        totals[(name, "orientation", f"N{r}")] = np.einsum("k,kab->ab", row, F)
    totals[(name, "orientation", "G")] = np.einsum("k,kab->ab", EMB.lower["G"], F)
    e_G = np.abs(totals[(name, "orientation", "G")] - totals[name])
    legendre = np.random.default_rng(2).uniform(1.0, 2.0, size=(3, 4))
    kept = legendre.copy()
    got = error_estimates._harmonic_orientation_error(RULE, EMB, totals, name, phase, legendre)
    np.testing.assert_array_equal(legendre, kept)  # the input is not modified
    np.testing.assert_array_equal(got[:, :2], legendre[:, :2])
    for col in (2, 3):
        expected = harmonic_errors.harmonic_axis_error(RULE.nodes, RULE.weights, EMB.degrees[0], F[:, :, col], 1,
                                                       "odd", phase[col])
        # capped at the safety times the Gauss sub-rule's own error |Q_G - Q_K|
        capped = np.minimum(expected, harmonic_errors.HARMONIC_SAFETY * e_G[:, col])
        np.testing.assert_allclose(got[:, col], capped, rtol=1e-10, atol=0)
        assert not np.allclose(got[:, col], legendre[:, col])
    other = error_estimates._harmonic_orientation_error(RULE, EMB, totals, "free_energy", phase, legendre)
    np.testing.assert_array_equal(other, legendre)


def test_orientation_phase_follows_the_eq15_scaled_area():
    """With Eq. 15 the phase per (T, B) point is that of the area scale_system_nodes uses at that T
    (r(T)^2 (Q/e) S), to 1e-12 relative; without temperature dependence, one phase per field."""
    from tunnelsim import config, ensemble, runner
    from tunnelsim.temperature_dependence import scale_system_nodes
    from tunnelsim.units import phase_per_tesla

    root = Path(__file__).resolve().parents[1]
    text = (root / "simulations" / "bk7_table4_M_vs_H.toml").read_text()
    ens = runner.build_ensemble(config.parse_config(text, "<test>"))[0]
    assert ens.temperature_dependence is not None
    T, B = np.array([2.0, 7.5, 20.0]), np.array([1.0, 7.0])
    phase = ensemble._orientation_phase_rad(ens, T, B)
    assert phase.shape == (3, 2)
    for i, t in enumerate(T):
        system_t, _ = scale_system_nodes(ens.system, {}, float(ens.temperature_dependence.ratio(t)))
        expected = float(phase_per_tesla(system_t.charge_area_A2, 1.0)) * B
        np.testing.assert_allclose(phase[i], expected, rtol=1e-12)
    assert not np.allclose(phase[0], phase[1])  # the area does change with T here
    plain = runner.build_ensemble(config.parse_config((root / "simulations" / "quickstart.toml").read_text(), "<t>"))[0]
    np.testing.assert_allclose(ensemble._orientation_phase_rad(plain, T, B),
                               float(phase_per_tesla(plain.system.charge_area_A2, 1.0)) * B[None, :], rtol=1e-15)


@pytest.mark.parametrize("n_nodes, n_null", [(8, 8), (16, 16), (32, 12)])
def test_planar_rule_carries_every_null_row_only_where_the_harmonics_are_read(n_nodes, n_null):
    """Rules of at most HARMONIC_MAX_NODES nodes carry all 2 m null rows (node values recoverable);
    larger ones the top 12, and keep the Legendre reading (bit for bit) at any phase."""
    rule = orientations.with_embedded(orientations.planar_rule(n_nodes))
    emb = rule.embedded["orientation"]
    keys = [k for k in emb.lower if k.startswith("N")]
    assert len(keys) == n_null
    assert (len(rule.nodes) <= harmonic_errors.HARMONIC_MAX_NODES) == (n_null == len(rule.nodes) - 1)
    if n_null == len(rule.nodes) - 1:
        return
    F = rule.nodes[:, None, None] * np.cos(np.outer(rule.nodes, [1.0, 2.0]))[:, None, :]  # (K, 1, 2)
    totals = {"magnetization": np.einsum("k,kab->ab", rule.weights, F)}
    for k in keys + ["G"]:
        totals[("magnetization", "orientation", k)] = np.einsum("k,kab->ab", emb.lower[k], F)
    legendre = np.ones((1, 2))
    got = error_estimates._harmonic_orientation_error(rule, emb, totals, "magnetization", np.array([5.0, 9.0]),
                                                      legendre)
    np.testing.assert_array_equal(got, legendre)
