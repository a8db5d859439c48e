"""Fits of Eq. 17: model identity, Jacobians, covariance propagation, recovery, flags, failures."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tunnelsim import fitting, units
from tunnelsim.fitting import parameters, synth
from tunnelsim.fitting.data import make_dataset
from tunnelsim.fitting import FitConvergenceError, FitError
from tunnelsim.paramagnet import FE2, FE3, total_magnetization_emu_per_g
from tunnelsim.fitting.parameters import ParameterEntry

TABLE3 = {"n_Fe2_per_g": 1.099e17, "n_Fe3_per_g": 0.599e17, "chi_L_emu_per_g_Oe": 4.227e-7,
          "n_ATS_per_g": 1.352e16, "D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5,
          "delta_mu_K": 0.319}
LL_ONLY = dict(TABLE3, n_ATS_per_g=0.0)
BK7_PARAMS = Path(__file__).resolve().parents[2] / "simulations" / "bk7_synthetic_params.toml"


@pytest.fixture(scope="module")
def bk7_data():
    return synth.synthesize(TABLE3, seed=2)


def _problem(data, model="etm", start=TABLE3, fixed=None):
    return fitting._Problem(data, model, start, fixed, units.DEFAULT_P_STAR, units.DEFAULT_T0_K, (FE2, FE3))


def test_internal_model_is_eq17(bk7_data):
    """The fit's decomposed model equals paramagnet's Eq. 17 at any parameters (relative 1e-12)."""
    start = dict(TABLE3, D_min_K=0.05, D0QS_max_K_A2=3.5e5, delta_mu_K=0.5)
    prob = _problem(bk7_data, start=start)
    x = prob.start / prob.scale
    model = prob._evaluate(x)[2]
    expected = total_magnetization_emu_per_g(bk7_data.temperature_K, bk7_data.field_Oe, start)
    np.testing.assert_allclose(model, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    rep = prob.reported(x)
    for name, value in start.items():
        assert rep[name] == pytest.approx(value, rel=1e-12)


def assert_jacobian_matches_central_differences(prob, x):
    """Each column of ``prob.jacobian(x)`` equals central differences of the residual (1e-4 of the column)."""
    J = prob.jacobian(x)
    for j in range(x.size):
        h = 1e-5 * max(abs(x[j]), 1.0)
        xp, xm = x.copy(), x.copy()
        xp[j] += h
        xm[j] -= h
        column = (prob.residual(xp) - prob.residual(xm)) / (2 * h)
        np.testing.assert_allclose(J[:, j], column, atol=1e-4 * np.abs(column).max(), err_msg=prob.free[j])


def test_jacobian_matches_central_differences(bk7_data):
    prob = _problem(bk7_data, start=dict(TABLE3, D0QS_max_K_A2=3.3e5))
    x = prob.start / prob.scale
    assert_jacobian_matches_central_differences(prob, x)


def test_propagated_errors_equal_a_direct_fit_in_the_reported_parameters(bk7_data):
    """cov_reported = J cov_internal J^T equals (J_r^T J_r)^-1 of the reported parameters (relative 1e-4).

    With n_ATS fixed the D0QS range is resolved and the solution interior, so both are well defined.
    """
    result = fitting.fit_magnetization(bk7_data, "etm", start=TABLE3, fixed={"n_ATS_per_g": TABLE3["n_ATS_per_g"]})
    values = result.values()
    names = [n for n in values if n != "n_ATS_per_g"]
    columns = []
    for n in names:
        h = 1e-5 * abs(values[n])
        up, down = dict(values), dict(values)
        up[n] += h
        down[n] -= h
        columns.append((total_magnetization_emu_per_g(bk7_data.temperature_K, bk7_data.field_Oe, up)
                        - total_magnetization_emu_per_g(bk7_data.temperature_K, bk7_data.field_Oe, down)) / (2 * h))
    J = np.array(columns).T / bk7_data.sigma_emu_per_g[:, None]
    cov = np.linalg.inv(J.T @ J)
    for i, n in enumerate(names):
        assert result.parameters[n].stderr == pytest.approx(math.sqrt(cov[i, i]), rel=1e-4), n
    i, k = names.index("D0QS_min_K_A2"), names.index("D0QS_max_K_A2")
    a, b = result.correlation_names.index("D0QS_min_K_A2"), result.correlation_names.index("D0QS_max_K_A2")
    assert result.correlation[a, b] == pytest.approx(cov[i, k] / math.sqrt(cov[i, i] * cov[k, k]), abs=1e-4)
    assert result.parameters["n_ATS_per_g"].stderr is None and not result.parameters["n_ATS_per_g"].vary
    assert result.parameters["n_ATS_per_g"].value == TABLE3["n_ATS_per_g"]


def _perturbed_start(rng):
    signs = rng.choice([-1.0, 1.0], size=len(TABLE3))
    start = {k: v * (1.0 + 0.2 * s) for (k, v), s in zip(TABLE3.items(), signs)}
    if start["D0QS_max_K_A2"] <= start["D0QS_min_K_A2"]:
        start["D0QS_max_K_A2"] = 1.2 * start["D0QS_min_K_A2"]
    return start


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovery_of_table3_from_perturbed_start(seed):
    """Table 3 data over the seed's 500-point runs, 0.1 % noise, fitted from a +-20 % start.

    Checked: the fit reaches at least the truth's chi^2; chi_L and n_Fe(total) within 1 % (and 3 stderr);
    every reported parameter within 3 stderr of the truth unless flagged as poorly determined; the
    fit's internal coordinates (where the chi^2 surface is close to quadratic) all within 3 stderr;
    n(Fe2+), n(Fe3+) within 3 stderr. Their stderr is 0.6-1.7 % here: the weak-field ATS term
    G [ln(2T/D_min) + 0.79]/(2T) mimics a Curie constant, so the Fe split shares the D_min
    uncertainty, and 1 % for each species alone is not a statistically valid bound at this noise.
    """
    data = synth.synthesize(TABLE3, seed=seed)
    result = fitting.fit_magnetization(data, "etm", start=_perturbed_start(np.random.default_rng(100 + seed)))
    chi2_truth = np.sum(((total_magnetization_emu_per_g(data.temperature_K, data.field_Oe, TABLE3)
                          - data.magnetization_emu_per_g) / data.sigma_emu_per_g) ** 2)
    assert result.chi2 <= chi2_truth * (1 + 1e-9)
    assert result.n_points == 500 and result.n_varied == 8 and result.eq15
    # reduced chi^2 of a correct fit: within 4 sigma of 1 for 492 degrees of freedom
    assert abs(result.chi2_reduced - 1.0) < 4 * math.sqrt(2 / 492)
    chi_L = result.parameters["chi_L_emu_per_g_Oe"]
    assert abs(chi_L.value / TABLE3["chi_L_emu_per_g_Oe"] - 1) < 0.01
    total = result.derived["n_Fe_total_per_g"]
    assert abs(total.value / (TABLE3["n_Fe2_per_g"] + TABLE3["n_Fe3_per_g"]) - 1) < 0.01
    for name, p in result.parameters.items():
        z = (p.value - TABLE3[name]) / p.stderr
        assert abs(z) < 3 or p.flags, (name, z)
    for name in ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "delta_mu_K"):
        p = result.parameters[name]
        assert abs(p.value - TABLE3[name]) < 3 * p.stderr, name
    L = math.log(TABLE3["D0QS_max_K_A2"] / TABLE3["D0QS_min_K_A2"])
    truth_internal = {"n_Fe2_per_g": TABLE3["n_Fe2_per_g"], "n_Fe3_per_g": TABLE3["n_Fe3_per_g"],
                      "chi_L_emu_per_g_Oe": TABLE3["chi_L_emu_per_g_Oe"], "delta_mu_K": TABLE3["delta_mu_K"],
                      "ln_D_min_K": math.log(TABLE3["D_min_K"]), "D0QS_log_ratio_squared": L * L,
                      "D0QS_centre_K_A2": math.sqrt(TABLE3["D0QS_min_K_A2"] * TABLE3["D0QS_max_K_A2"]),
                      "ats_weight_per_g": TABLE3["n_ATS_per_g"] * L}
    assert set(result.internal) == set(truth_internal)
    for name, (value, stderr) in result.internal.items():
        assert abs(value - truth_internal[name]) < 3 * stderr, name
    # the amplitude stated; D0QS_max reported with a propagated standard error
    assert result.parameters["D0QS_max_K_A2"].stderr is not None
    assert result.derived["n_ATS_P_star_per_g"].value == pytest.approx(
        result.parameters["n_ATS_per_g"].value / (2 * math.pi))


def test_ll_recovery_within_one_percent():
    """Larmor-Langevin data (no ATS) fitted with the LL model: every parameter within 1 % and 3 stderr."""
    data = synth.synthesize(LL_ONLY, seed=5)
    result = fitting.fit_magnetization(data, "ll", start={k: 1.2 * LL_ONLY[k] for k in
                                                          ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")})
    for name, p in result.parameters.items():
        assert abs(p.value / LL_ONLY[name] - 1) < 0.01, name
        assert abs(p.value - LL_ONLY[name]) < 3 * p.stderr, name
    assert abs(result.chi2_reduced - 1) < 4 * math.sqrt(2 / 497)
    assert not result.stderr_scaled_by_reduced_chi2 and result.weighted


def test_unweighted_data_scale_the_errors_by_reduced_chi2():
    noisy = synth.synthesize(LL_ONLY, seed=5)
    data = make_dataset(noisy.temperature_K, noisy.field_Oe, noisy.magnetization_emu_per_g, runs=noisy.runs)
    result = fitting.fit_magnetization(data, "ll")
    assert result.stderr_scaled_by_reduced_chi2 and not result.weighted
    np.testing.assert_allclose(result.normalized_residuals, result.best_fit_emu_per_g - data.magnetization_emu_per_g)


def test_ll_start_from_linear_least_squares_needs_no_starting_values():
    data = synth.synthesize(LL_ONLY, noise=parameters.NoiseModel(1e-6, 1e-9), seed=1)
    result = fitting.fit_magnetization(data, "ll")
    for name, p in result.parameters.items():
        assert p.value == pytest.approx(LL_ONLY[name], rel=1e-4), name


def test_fixed_parameters_and_bounds():
    data = synth.synthesize(LL_ONLY, seed=3)
    result = fitting.fit_magnetization(data, "ll", start={"chi_L_emu_per_g_Oe": ParameterEntry(4e-7, max=4.1e-7)},
                                       fixed={"n_Fe2_per_g": 1.099e17})
    assert result.parameters["n_Fe2_per_g"].value == 1.099e17 and result.parameters["n_Fe2_per_g"].stderr is None
    chi = result.parameters["chi_L_emu_per_g_Oe"]
    assert chi.value == pytest.approx(4.1e-7, rel=1e-6)
    assert any("upper bound" in f for f in chi.flags)
    assert result.n_varied == 2


def test_poorly_determined_parameters_are_flagged(bk7_data):
    """An LL fit of BK7 data: n(Fe2+)/n(Fe3+) correlated beyond 0.99; an ETM fit: the D0 width unresolved."""
    ll = fitting.fit_magnetization(bk7_data, "ll")
    assert any("|correlation| with n_Fe3_per_g" in f for f in ll.parameters["n_Fe2_per_g"].flags)
    etm = fitting.fit_magnetization(bk7_data, "etm", start=TABLE3)
    assert any("D0 width unresolved" in f for f in etm.parameters["n_ATS_per_g"].flags)
    assert etm.parameters["chi_L_emu_per_g_Oe"].flags == ()
    names = [n for n, _ in etm.flags]
    assert "n_ATS_per_g" in names and "chi_L_emu_per_g_Oe" not in names
    text = etm.summary()
    assert "poorly determined" in text and "P* = 0.159155" in text


def test_result_dictionary_is_strict_json(bk7_data):
    result = fitting.fit_magnetization(bk7_data, "etm", start=TABLE3)
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert doc["model"] == "etm" and doc["n_points"] == 500
    assert set(doc["parameters"]) == set(TABLE3)
    assert doc["parameters"]["D0QS_max_K_A2"]["stderr"] is not None
    assert doc["settings"]["P_star"] == pytest.approx(1 / (2 * math.pi))
    assert "n_ATS P*" in doc["settings"]["amplitude"]
    assert len(doc["correlation"]["matrix"]) == len(doc["correlation"]["names"])
    assert doc["chi2_reduced"] == pytest.approx(result.chi2_reduced)


def test_without_delta_mu_the_model_has_no_eq15(bk7_data):
    start = {k: v for k, v in TABLE3.items() if k != "delta_mu_K"}
    result = fitting.fit_magnetization(bk7_data, "etm", start=start)
    assert not result.eq15 and "delta_mu_K" not in result.parameters and result.n_varied == 7


def test_not_converging_raises(bk7_data):
    with pytest.raises(FitConvergenceError, match="did not converge"):
        fitting.fit_magnetization(bk7_data, "etm", start=_perturbed_start(np.random.default_rng(1)), max_nfev=3)


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"model": "xx"}, "model must be one of", id="model"),
    pytest.param({"start": {"n_Fe4_per_g": 1.0}}, "unknown parameter 'n_Fe4_per_g'", id="unknown"),
    pytest.param({"start": {k: v for k, v in TABLE3.items() if k != "D_min_K"}},
                 "needs a starting value for D_min_K", id="missing-start"),
    pytest.param({"start": dict(TABLE3, D0QS_max_K_A2=1e5)}, "must exceed D0QS_min_K_A2", id="max-below-min"),
    pytest.param({"start": dict(TABLE3, n_ATS_per_g=ParameterEntry(1e16, min=0.0))}, "bounds are not supported",
                 id="bounds"),
    pytest.param({"start": TABLE3, "P_star": 0.0}, "P_star must be", id="P-star"),
    pytest.param({"model": "ll", "fixed": {"D_min_K": 1.0}}, "cannot fix 'D_min_K'", id="fix-other-model"),
    pytest.param({"start": dict(TABLE3, D_min_K=ParameterEntry(0.02, min=0.03))}, "outside its bounds",
                 id="start-outside"),
])
def test_bad_fit_set_up(bk7_data, kwargs, message):
    kwargs = dict(kwargs)
    model = kwargs.pop("model", "etm")
    with pytest.raises(FitError, match=message):
        fitting.fit_magnetization(bk7_data, model, **kwargs)


def test_write_json_is_atomic_and_refuses_overwrite(tmp_path):
    path = fitting.write_json(tmp_path / "a" / "fit.json", {"x": 1.0})
    assert json.loads(path.read_text()) == {"x": 1.0}
    with pytest.raises(FileExistsError):
        fitting.write_json(path, {"x": 2.0})
    with pytest.raises(ValueError):
        fitting.write_json(path, {"x": float("nan")}, force=True)
    assert json.loads(path.read_text()) == {"x": 1.0}
    assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize("seed", [3, 4])
def test_small_data_sets_fit_without_a_traceback(seed):
    """Two M vs T and two M vs H runs (48 points): the fit wanders towards D_min -> 0, where the
    Eq. 10 integration range overflows; that trial region must turn the optimiser back (or end as
    FitConvergenceError), never escape as another exception."""
    runs = (parameters.RunSpec("M_vs_T", 1000.0, tuple(np.geomspace(2.0, 300.0, 12))),
            parameters.RunSpec("M_vs_T", 50000.0, tuple(np.geomspace(2.0, 300.0, 12))),
            parameters.RunSpec("M_vs_H", 2.0, tuple(np.linspace(0.0, 70000.0, 12))),
            parameters.RunSpec("M_vs_H", 10.0, tuple(np.linspace(0.0, 70000.0, 12))))
    data = synth.synthesize(TABLE3, runs, parameters.NoiseModel(), seed=seed)
    try:
        result = fitting.fit_magnetization(data, "etm", start=TABLE3)
    except FitConvergenceError as exc:
        assert "did not converge" in str(exc)
        return
    assert math.isfinite(result.chi2) and result.chi2_reduced < 3.0


def test_fit_without_sigma_does_not_depend_on_the_unit_of_the_data():
    """Without sigma the fit must not depend on the data's unit: M in emu/g and the same M x 1000
    (emu/kg) give the same nonlinear parameters and densities x 1000. The absolute termination tests of
    least_squares on residuals of 1e-6 emu/g used to stop the first fit early (at D_min = 0.19 K
    against 0.03 K here) and not the second."""
    pf = parameters.load_parameter_file(BK7_PARAMS)
    noisy = synth.synthesize(TABLE3, pf.runs, pf.noise, seed=1)
    start = {k: 1.3 * v for k, v in TABLE3.items()}
    fits = []
    for factor in (1.0, 1e3):
        data = make_dataset(noisy.temperature_K, noisy.field_Oe, factor * noisy.magnetization_emu_per_g)
        fits.append(fitting.fit_magnetization(data, "etm", start=dict(start, **{k: factor * start[k] for k in (
            "n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "n_ATS_per_g")})))
    small, large = fits
    for name in ("D_min_K", "delta_mu_K", "D0QS_min_K_A2"):
        assert small.parameters[name].value == pytest.approx(large.parameters[name].value, rel=1e-2), name
    for name in ("n_Fe2_per_g", "chi_L_emu_per_g_Oe"):
        assert 1e3 * small.parameters[name].value == pytest.approx(large.parameters[name].value, rel=1e-3), name
    assert large.chi2 == pytest.approx(1e6 * small.chi2, rel=1e-4)       # chi^2 in the data units


def test_fit_without_sigma_converges_to_the_same_minimum_from_far_away():
    """Without sigma the residuals are in emu/g (1e-6 and below); the fit must still run to the
    minimum (it used to stop at once on the absolute gradient test) and report chi^2 in (emu/g)^2."""
    runs = (parameters.RunSpec("M_vs_T", 5000.0, tuple(np.geomspace(2.0, 300.0, 16))),
            parameters.RunSpec("M_vs_T", 50000.0, tuple(np.geomspace(2.0, 300.0, 16))),
            parameters.RunSpec("M_vs_H", 2.0, tuple(np.linspace(2500.0, 70000.0, 16))),
            parameters.RunSpec("M_vs_H", 10.0, tuple(np.linspace(2500.0, 70000.0, 16))))
    noisy = synth.synthesize(TABLE3, runs, parameters.NoiseModel(relative=1e-3), seed=5)
    data = make_dataset(noisy.temperature_K, noisy.field_Oe, noisy.magnetization_emu_per_g)
    near = fitting.fit_magnetization(data, "etm", start=TABLE3)
    far = fitting.fit_magnetization(data, "etm", start={k: 1.3 * v for k, v in TABLE3.items()})
    assert not near.weighted and near.chi2 < 1e-6                      # (emu/g)^2, not in residual units
    assert far.chi2 <= near.chi2 * (1 + 1e-3)                          # as deep a minimum (the valley is flat)
    assert far.nfev > 5
    assert near.aic == pytest.approx(near.n_points * math.log(near.chi2 / near.n_points) + 2 * near.n_varied)


def test_derived_G_of_eq12_is_finite_and_equals_the_etm_formula():
    """G of Eq. 12, the weak-field combination, is reported for every intrinsic fit and equals
    tunnelsim.etm.etm_G_emu_K_per_g_Oe at the fitted values (1e-10)."""
    from tunnelsim import etm

    pf = parameters.load_parameter_file(BK7_PARAMS)
    data = synth.synthesize(TABLE3, pf.runs, pf.noise, seed=3)
    fit = fitting.fit_magnetization(data, "etm", start=TABLE3)
    p = fit.parameters
    G = fit.derived["G_eq12_emu_K_per_g_Oe"]
    assert G.value == pytest.approx(etm.etm_G_emu_K_per_g_Oe(p["D0QS_min_K_A2"].value, p["D0QS_max_K_A2"].value,
                                                             p["n_ATS_per_g"].value * fit.P_star), rel=1e-10)
    assert G.stderr is not None and 0 < G.stderr < G.value


def test_seed_prefactor_convention_halves_the_fitted_amplitude():
    """The seed's printed Eq. 10 prefactor pi/B is twice the corrected pi/(2B): on the same data the
    fitted n_ATS is half as large (1e-6) and every other parameter and chi^2 are the same."""
    pf = parameters.load_parameter_file(BK7_PARAMS)
    data = synth.synthesize(TABLE3, pf.runs, pf.noise, seed=4)
    corrected = fitting.fit_magnetization(data, "etm", start=TABLE3)
    seed = fitting.fit_magnetization(data, "etm", start=dict(TABLE3, n_ATS_per_g=TABLE3["n_ATS_per_g"] / 2),
                                     eq10_prefactor="seed")
    assert seed.parameters["n_ATS_per_g"].value == pytest.approx(corrected.parameters["n_ATS_per_g"].value / 2,
                                                                 rel=1e-5)
    for name in ("D_min_K", "D0QS_min_K_A2", "chi_L_emu_per_g_Oe"):
        assert seed.parameters[name].value == pytest.approx(corrected.parameters[name].value, rel=1e-5)
    assert seed.chi2 == pytest.approx(corrected.chi2, rel=1e-8)
    with pytest.raises(FitError, match="eq10_prefactor"):
        fitting.fit_magnetization(data, "etm", start=TABLE3, eq10_prefactor="printed")


# ----------------------------------------------------------------------------- other paramagnetic species
def _three_species():
    from tunnelsim import ions

    return (ions.IONS["Gd3+"].species, ions.IONS["Cr3+"].species, ions.FE3)


def _three_species_params():
    params = {k: v for k, v in TABLE3.items() if k != "n_Fe2_per_g"}
    params.update(n_Gd3_per_g=2e16, n_Cr3_per_g=5e16)
    return params


def test_internal_model_and_jacobian_with_three_species(bk7_data):
    """With (Gd3+, Cr3+, Fe3+) the decomposed model is Eq. 17 of those species (relative 1e-12), one linear
    column per species density, and the Jacobian matches central differences (1e-4 of each column)."""
    species, start = _three_species(), dict(_three_species_params(), D0QS_max_K_A2=3.3e5)
    prob = fitting._Problem(bk7_data, "etm", start, None, units.DEFAULT_P_STAR, units.DEFAULT_T0_K, species)
    assert prob.names[:3] == ("n_Gd3_per_g", "n_Cr3_per_g", "n_Fe3_per_g")
    assert [prob.free[j] for j in prob.linear][:4] == ["n_Gd3_per_g", "n_Cr3_per_g", "n_Fe3_per_g",
                                                       "chi_L_emu_per_g_Oe"]
    x = prob.start / prob.scale
    expected = total_magnetization_emu_per_g(bk7_data.temperature_K, bk7_data.field_Oe, start, species=species)
    np.testing.assert_allclose(prob._evaluate(x)[2], expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    assert_jacobian_matches_central_differences(prob, x)


def test_ll_fit_with_three_species_recovers_them():
    """Noiseless LL data of three species on the seed's runs: the fit returns the densities and chi_L
    (relative 1e-6) from the automatic linear start, and reports no n_Fe_total_per_g."""
    species = _three_species()
    truth = _three_species_params()
    data = synth.synthesize(dict(truth, n_ATS_per_g=0.0), noise=None, species=species)
    fit = fitting.fit_magnetization(data, "ll", species=species)
    for name in ("n_Gd3_per_g", "n_Cr3_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe"):
        assert fit.parameters[name].value == pytest.approx(truth[name], rel=1e-6), name
    assert dict(fit.derived) == {}


def test_start_names_a_density_of_a_species_not_listed(bk7_data):
    with pytest.raises(FitError, match="unknown parameter 'n_Fe2_per_g': not a density of the species Gd3\\+, "
                                       "Cr3\\+, Fe3\\+"):
        fitting.fit_magnetization(bk7_data, "ll", start={"n_Fe2_per_g": 1e17}, species=_three_species())
    with pytest.raises(FitError, match="cannot fix 'n_Fe2_per_g'"):
        fitting.fit_magnetization(bk7_data, "ll", fixed={"n_Fe2_per_g": 1e17}, species=_three_species())
    with pytest.raises(FitError, match="at least one"):
        fitting.fit_magnetization(bk7_data, "ll", species=())


def test_model_parameter_names_follow_the_species():
    species = _three_species()
    assert fitting.model_parameter_names("ll", species=species) == ("n_Gd3_per_g", "n_Cr3_per_g", "n_Fe3_per_g",
                                                                    "chi_L_emu_per_g_Oe")
    assert fitting.model_parameter_names("exact", eq15=False, species=species)[3:] == (
        "chi_L_emu_per_g_Oe", "n_ATS_per_g", "D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2")
    assert fitting.model_parameter_names("etm") == ("n_Fe2_per_g", "n_Fe3_per_g") + fitting.model_parameter_names(
        "etm", species=_three_species())[3:]


def test_d_min_has_a_default_floor_in_the_intrinsic_models(bk7_data):
    """D_min >= 1e-6 K by default (problem.D_MIN_FLOOR_K): a start below it is refused naming the bound, a
    parameter file's min overrides it, and the internal lower bound is ln(1e-6)."""
    from tunnelsim.fitting.problem import D_MIN_FLOOR_K

    with pytest.raises(FitError, match=r"D_min_K: starting value 1e-08 outside its bounds \[1e-06, inf\]"):
        fitting.fit_magnetization(bk7_data, "etm", start=dict(TABLE3, D_min_K=1e-8))
    prob = _problem(bk7_data)
    j = prob.free.index("ln_D_min_K")
    assert prob.lower[j] * prob.scale[j] == pytest.approx(math.log(D_MIN_FLOOR_K))
    prob = _problem(bk7_data, start=dict(TABLE3, D_min_K=ParameterEntry(1e-8, min=1e-12)))
    assert prob.lower[j] * prob.scale[j] == pytest.approx(math.log(1e-12))
