"""Starting values from the data alone (:func:`tunnelsim.fitting.start.estimate_start`)."""

import math
from pathlib import Path

import numpy as np
import pytest

from tunnelsim.fitting import FitError, fit_magnetization, model_parameter_names
from tunnelsim.fitting.data import make_dataset
from tunnelsim.fitting.parameters import load_parameter_file, seed_runs
from tunnelsim.fitting.start import DELTA_MU_START_K, check_determinable, estimate_start
from tunnelsim.fitting.synth import synthesize

BK7_FILE = Path(__file__).resolve().parents[2] / "simulations" / "bk7_synthetic_params.toml"
#: A reduced set of the seed's runs (three M vs T, three M vs H; 102 points) for speed.
REDUCED_RUNS = seed_runs(n_temperatures=18, n_fields=16, fields_Oe=(1000.0, 10000.0, 50000.0),
                         temperatures_K=(2.0, 4.5, 10.0))


@pytest.fixture(scope="module")
def bk7():
    pf = load_parameter_file(BK7_FILE)
    data = synthesize(pf.values(), REDUCED_RUNS, pf.noise, seed=11, P_star=pf.P_star, T0_K=pf.T0_K)
    return pf, data


@pytest.fixture(scope="module")
def etm_start(bk7):
    _, data = bk7
    return estimate_start(data, "etm")


def test_estimate_lands_near_the_truth(bk7, etm_start):
    pf, _ = bk7
    truth = pf.values()
    est = etm_start
    assert tuple(est.values) == model_parameter_names("etm")
    assert set(est.sources) == set(est.values) and all(est.sources.values())
    for name in ("n_Fe2_per_g", "n_Fe3_per_g"):  # within a factor of 3
        assert truth[name] / 3 < est.values[name] < 3 * truth[name], name
    assert est.values["chi_L_emu_per_g_Oe"] == pytest.approx(truth["chi_L_emu_per_g_Oe"], rel=0.1)
    assert est.values["n_ATS_per_g"] > 0
    assert est.values["D0QS_max_K_A2"] / est.values["D0QS_min_K_A2"] == pytest.approx(1.08)
    assert est.values["delta_mu_K"] == DELTA_MU_START_K
    assert math.isfinite(est.chi2) and est.n_evaluations > 0
    lines = est.lines()
    assert len(lines) == len(est.values) and lines[0].startswith("start: n_Fe2_per_g = ") and "(from " in lines[0]


def test_fit_from_the_estimate_reaches_the_minimum_of_a_fit_from_the_truth(bk7, etm_start):
    pf, data = bk7
    from_truth = fit_magnetization(data, "etm", start=dict(pf.parameters), P_star=pf.P_star, T0_K=pf.T0_K)
    from_estimate = fit_magnetization(data, "etm", start=etm_start.values, P_star=pf.P_star, T0_K=pf.T0_K)
    # the same minimum: chi2 equal within 1e-6 relative or 0.1 absolute
    assert abs(from_estimate.chi2 - from_truth.chi2) <= max(1e-6 * from_truth.chi2, 0.1)
    # the estimate is a start, not the answer: the fit improves on it
    assert from_estimate.chi2 < etm_start.chi2


def test_ll_start_is_the_linear_least_squares_solution(bk7):
    _, data = bk7
    est = estimate_start(data, "ll")
    assert tuple(est.values) == model_parameter_names("ll")
    fit = fit_magnetization(data, "ll", start=est.values)
    # LL is linear in its parameters: the estimate is already the minimum
    assert est.chi2 == pytest.approx(fit.chi2, rel=1e-8)
    for name, value in est.values.items():
        assert value == pytest.approx(fit.parameters[name].value, rel=1e-5), name


def test_given_and_fixed_values_are_held(bk7):
    _, data = bk7
    est = estimate_start(data, "etm", known={"D_min_K": 0.05}, fixed={"n_Fe2_per_g": 1.0e17},
                         known_source="given in P.toml")
    assert est.values["D_min_K"] == 0.05 and est.sources["D_min_K"] == "given in P.toml"
    assert est.values["n_Fe2_per_g"] == 1.0e17 and est.sources["n_Fe2_per_g"] == "held fixed"
    assert est.sources["n_Fe3_per_g"] != "given in P.toml"


def test_without_eq15_there_is_no_delta_mu(bk7):
    _, data = bk7
    est = estimate_start(data, "etm", eq15=False)
    assert "delta_mu_K" not in est.values and tuple(est.values) == model_parameter_names("etm", eq15=False)


def test_m_vs_h_only_without_sigma(bk7):
    """Two M vs H runs and no sigma: the estimate still gives usable values and the fit converges."""
    pf, _ = bk7
    runs = seed_runs(n_fields=14, fields_Oe=(), temperatures_K=(2.0, 5.0))
    data = synthesize(pf.values(), runs, noise=None, P_star=pf.P_star, T0_K=pf.T0_K)
    assert data.sigma_emu_per_g is None
    est = estimate_start(data, "etm")
    assert all(math.isfinite(v) for v in est.values.values())
    assert est.values["n_Fe2_per_g"] >= 0 and est.values["n_Fe3_per_g"] >= 0
    fit = fit_magnetization(data, "etm", start=est.values)  # converges (raises otherwise)
    assert fit.chi2 <= est.chi2 * (1 + 1e-9)


@pytest.mark.parametrize("model", ["ll", "etm"])
def test_zero_field_only_data_is_refused_in_one_line(model):
    T = np.geomspace(2.0, 300.0, 12)
    data = make_dataset(T, np.zeros_like(T), np.zeros_like(T), source="zf.csv")
    with pytest.raises(FitError) as info:
        estimate_start(data, model)
    message = str(info.value)
    assert "\n" not in message and "zf.csv" in message and "H = 0" in message


def test_fewer_points_than_parameters_is_refused(bk7):
    _, data = bk7
    few = make_dataset(data.temperature_K[:6], data.field_Oe[:6], data.magnetization_emu_per_g[:6], source="few")
    with pytest.raises(FitError, match="6 points at nonzero field for 8 varied parameters of model etm"):
        estimate_start(few, "etm")
    # the same data determine the three LL parameters
    check_determinable(few, "ll", 3)


def test_unknown_model_and_bad_values(bk7):
    _, data = bk7
    with pytest.raises(FitError, match="model must be one of"):
        estimate_start(data, "nope")
    with pytest.raises(FitError, match="cannot fix 'D_min_K'"):
        estimate_start(data, "ll", fixed={"D_min_K": 1.0})
    with pytest.raises(FitError, match="start D_min_K: must be finite"):
        estimate_start(data, "etm", known={"D_min_K": float("nan")})


@pytest.mark.slow
def test_loop_size_multistart_finds_the_loop_size_of_etm11_data():
    """A model with charge_area_A2: the (Q/e) S grid and short fits land near the truth (factor 1.5)."""
    pf = load_parameter_file(BK7_FILE)
    truth = dict(pf.values(), charge_area_A2=30000.0)
    runs = seed_runs(n_temperatures=10, n_fields=12, fields_Oe=(10000.0, 50000.0), temperatures_K=(2.0, 4.5))
    data = synthesize(truth, runs, pf.noise, seed=5, model="etm11")
    grid = estimate_start(data, "etm11", n_short_fits=0)
    assert tuple(grid.values) == model_parameter_names("etm11")
    assert 30000.0 / 1.5 < grid.values["charge_area_A2"] < 30000.0 * 1.5
    assert "(Q/e) S on 6 log steps" in grid.sources["charge_area_A2"]
    est = estimate_start(data, "etm11", n_short_fits=1)
    assert est.sources["charge_area_A2"].startswith("best of 1 short fits of (Q/e) S")
    assert est.chi2 < grid.chi2 and 30000.0 / 1.2 < est.values["charge_area_A2"] < 30000.0 * 1.2


def test_estimate_with_other_species_projects_every_density():
    """Data with Gd3+ and Mn2+: the estimate names both densities, its linear stage lands within 10 % of them
    (the start of an etm fit; it also carries the intrinsic term's share), and the values it holds are kept."""
    from tunnelsim import ions

    species = (ions.IONS["Gd3+"].species, ions.IONS["Mn2+"].species)
    pf = load_parameter_file(BK7_FILE)
    truth = {k: v for k, v in pf.values().items() if not k.startswith("n_Fe")}
    truth.update(n_Gd3_per_g=3e16, n_Mn2_per_g=6e16)
    data = synthesize(truth, REDUCED_RUNS, pf.noise, seed=11, P_star=pf.P_star, T0_K=pf.T0_K, species=species)
    est = estimate_start(data, "etm", species=species)
    assert tuple(est.values) == model_parameter_names("etm", species=species)
    for name in ("n_Gd3_per_g", "n_Mn2_per_g"):
        assert est.values[name] == pytest.approx(truth[name], rel=0.1), name
    held = estimate_start(data, "ll", fixed={"n_Mn2_per_g": 5e16}, species=species)
    assert held.values["n_Mn2_per_g"] == 5e16 and held.sources["n_Mn2_per_g"] == "held fixed"
    with pytest.raises(FitError, match="cannot fix 'n_Fe3_per_g'"):
        estimate_start(data, "ll", fixed={"n_Fe3_per_g": 1e16}, species=species)


def test_fit_start_merges_given_fixed_and_estimated_values(bk7):
    from tunnelsim.fitting.start import fit_start

    pf, data = bk7
    # every parameter given: nothing estimated, the entries returned as given
    start, est = fit_start(data, "etm", pf.parameters)
    assert est is None and start == {n: pf.parameters[n] for n in model_parameter_names("etm")}
    # two given, one held fixed by --fix: the rest estimated; given values win, the fixed one is not a start
    given = {"D_min_K": 0.03, "delta_mu_K": 0.5}
    start, est = fit_start(data, "etm", given, fixed={"chi_L_emu_per_g_Oe": 4e-7})
    assert est is not None and est.sources["D_min_K"] == "given" and est.sources["chi_L_emu_per_g_Oe"] == "held fixed"
    assert start["D_min_K"] == 0.03 and start["delta_mu_K"] == 0.5 and "chi_L_emu_per_g_Oe" not in start
    assert set(start) == set(model_parameter_names("etm")) - {"chi_L_emu_per_g_Oe"}
    # a parameter file without delta_mu_K switches Eq. 15 off
    start, _ = fit_start(data, "etm", {"D_min_K": 0.03})
    assert "delta_mu_K" not in start


def test_repeated_readings_at_one_point_do_not_determine_a_model():
    data = make_dataset([2.0] * 10 + [3.0], [1000.0] * 11, [1e-3] * 11)
    with pytest.raises(FitError, match="2 distinct .T, H. points at nonzero field for 3 varied parameters"):
        check_determinable(data, "ll", 3)
