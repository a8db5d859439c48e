"""Profile-likelihood intervals: the linear-Gaussian identity, degenerate ETM fits, JSON, refit cap, bad input."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from tunnelsim import fitting
from tunnelsim.fitting import parameters, synth
from tunnelsim.fitting.data import make_dataset

LL_ONLY = {"n_Fe2_per_g": 1.099e17, "n_Fe3_per_g": 0.599e17, "chi_L_emu_per_g_Oe": 4.227e-7, "n_ATS_per_g": 0.0,
           "D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5}
LL_NAMES = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")
Z95 = 1.959963984540054  # sqrt(chi2.ppf(0.95, 1))


@pytest.fixture(scope="module")
def ll_data():
    return synth.synthesize(LL_ONLY, seed=5)


@pytest.fixture(scope="module")
def ll_fit(ll_data):
    return fitting.fit_magnetization(ll_data, "ll")


@pytest.mark.parametrize("weighted", [pytest.param(True, id="sigma"), pytest.param(False, id="no-sigma")])
def test_linear_gaussian_profile_equals_the_analytic_interval(ll_data, weighted):
    """The LL model is linear in n_Fe2, n_Fe3 and chi_L: chi^2 is exactly quadratic, so the profile
    interval is value +- sqrt(threshold) stderr: +-1 stderr at 68.27 %, +-1.96 at 95 % (to 1e-3 of the
    stderr; the search itself is exact here to ~1e-9). Without sigma Delta chi^2 is scaled by 1/reduced
    chi^2 and the stderr by sqrt(reduced chi^2), so the identity holds there too."""
    data = ll_data if weighted else make_dataset(ll_data.temperature_K, ll_data.field_Oe,
                                                 ll_data.magnetization_emu_per_g, runs=ll_data.runs)
    result = fitting.fit_magnetization(data, "ll")
    out = fitting.profile_intervals(data, result, model="ll", names=LL_NAMES)
    assert out.profile.delta_chi2_scale == (1.0 if weighted else pytest.approx(1 / result.chi2_reduced))
    for name in LL_NAMES:
        p = out.parameters[name]
        assert p.value == result.parameters[name].value and p.stderr == result.parameters[name].stderr
        low, high = p.ci68
        assert (p.value - low) / p.stderr == pytest.approx(1.0, abs=1e-3), name
        assert (high - p.value) / p.stderr == pytest.approx(1.0, abs=1e-3), name
        low, high = p.ci95
        assert (p.value - low) / p.stderr == pytest.approx(Z95, abs=2e-3), name
        assert (high - p.value) / p.stderr == pytest.approx(Z95, abs=2e-3), name
        assert not any(ci.low_open or ci.high_open for ci in p.intervals)
        assert not any("profile" in f or "interval" in f for f in p.flags), p.flags
        assert 2 <= out.profile.refits[name] <= fitting.intervals.DEFAULT_MAX_REFITS
    assert out.profile.better_fit is None
    assert out.profile.total_refits == sum(out.profile.refits.values())


def test_level_sets_the_threshold(ll_data, ll_fit):
    """A level of 0.68 (not 0.6827) uses chi2.ppf(0.68, 1) = 0.98895: half-width sqrt(0.98895) stderr."""
    out = fitting.profile_intervals(ll_data, ll_fit, model="ll", names=["chi_L_emu_per_g_Oe"], levels=(0.68, 0.99))
    p = out.parameters["chi_L_emu_per_g_Oe"]
    assert [ci.label for ci in p.intervals] == ["ci68", "ci99"]
    assert (p.ci68[1] - p.value) / p.stderr == pytest.approx(math.sqrt(0.988946481478023), abs=1e-3)
    assert (p.interval("ci99").high - p.value) / p.stderr == pytest.approx(2.5758293035489, abs=3e-3)
    assert p.ci95 is None


def test_default_skips_well_determined_linear_parameters_and_zero_turns_it_off(ll_data, ll_fit):
    """LL parameters with relative stderr < 0.1 are not profiled by default; max_refits 0 is a no-op."""
    assert all(abs(p.stderr / p.value) < 0.1 for p in ll_fit.parameters.values())
    out = fitting.profile_intervals(ll_data, ll_fit, model="ll")
    assert dict(out.profile.refits) == {} and all(p.ci68 is None for p in out.parameters.values())
    assert fitting.profile_intervals(ll_data, ll_fit, model="ll", max_refits_per_parameter=0) is ll_fit
    plain = fitting.fit_with_intervals(ll_data, "ll", intervals=False)
    assert plain.profile is None and plain.chi2 == pytest.approx(ll_fit.chi2)


def test_refit_cap_is_respected_and_an_unclosed_end_is_flagged(ll_data, ll_fit):
    """With 2 refits the first step (one stderr each side) closes the 68 % interval but not the 95 % one."""
    out = fitting.profile_intervals(ll_data, ll_fit, model="ll", names=["n_Fe2_per_g"], max_refits_per_parameter=2)
    p = out.parameters["n_Fe2_per_g"]
    assert out.profile.refits["n_Fe2_per_g"] == 2
    assert (p.ci68[1] - p.value) / p.stderr == pytest.approx(1.0, abs=1e-3)
    assert any("95 % interval above the value not closed (the refit budget (2) was spent)" in f for f in p.flags)
    assert p.ci95[1] == pytest.approx(p.ci68[1])  # the farthest point with Delta chi2 < 3.84
    ci95, ci68 = p.interval("ci95"), p.interval("ci68")
    assert ci95.high_open and not ci68.high_open  # reaches at least that far: not a closed end


def test_a_lower_chi2_found_by_a_refit_is_returned_and_flagged(ll_data, ll_fit):
    """A 'best fit' whose chi^2 is 10 too high: the refits beat it, and the better fit comes back."""
    stale = replace(ll_fit, chi2=ll_fit.chi2 + 10.0)
    out = fitting.profile_intervals(ll_data, stale, model="ll", names=["chi_L_emu_per_g_Oe"])
    better = out.profile.better_fit
    assert better is not None and better.chi2 < stale.chi2 - 5
    assert any("not at its minimum" in f for f in out.parameters["chi_L_emu_per_g_Oe"].flags)
    assert "not at its minimum" in out.summary()


# ----------------------------------------------------------------------------- a degenerate ETM fit
@pytest.fixture(scope="module")
def degenerate_etm():
    """Table 3 data (Eq. 10 + Eq. 15) on 122 points (4 M vs T, 3 M vs H runs), 0.1 % noise, fitted from
    30-50 % away: the fit runs to the single-D0 corner (ln(D0QS_max/D0QS_min) -> 0, n_ATS = A/L huge)."""
    pf = parameters.load_parameter_file("simulations/bk7_synthetic_params.toml")
    truth = pf.values()
    runs = parameters.seed_runs(n_temperatures=20, n_fields=14, fields_Oe=(1000.0, 10000.0, 30000.0, 65000.0),
                                temperatures_K=(2.0, 4.5, 10.0))
    data = synth.synthesize(truth, runs, parameters.NoiseModel(1e-3, 1e-7), seed=0, P_star=pf.P_star, T0_K=pf.T0_K)
    factors = {"n_Fe2_per_g": 1.4, "n_Fe3_per_g": 0.6, "chi_L_emu_per_g_Oe": 1.3, "n_ATS_per_g": 0.5,
               "D_min_K": 1.5, "D0QS_min_K_A2": 0.7, "D0QS_max_K_A2": 1.35, "delta_mu_K": 1.4}
    kwargs = dict(model="etm", start={k: v * factors[k] for k, v in truth.items()}, P_star=pf.P_star, T0_K=pf.T0_K)
    with np.errstate(all="ignore"):
        result = fitting.fit_magnetization(data, **kwargs)
        out = fitting.profile_intervals(data, result, names=["n_ATS_per_g", "D_min_K"], **kwargs)
    return truth, result, out


@pytest.mark.slow
def test_degenerate_etm_fit_intervals_contain_the_truth(degenerate_etm):
    """The linearised errors are meaningless (n_ATS +- many times itself, D_min - 1.96 stderr < 0); the 95 %
    profile intervals contain the truth for n_ATS and D_min, n_ATS's is open upwards (the D0 width reaches
    its floor, where n_ATS = A/L is unbounded) and D_min's is asymmetric (ln D_min enters the model)."""
    truth, result, out = degenerate_etm
    n_ats, d_min = out.parameters["n_ATS_per_g"], out.parameters["D_min_K"]
    # the situation: linearised intervals reach below 0
    assert n_ats.stderr > n_ats.value and d_min.value - Z95 * d_min.stderr < 0
    for name, p in (("n_ATS_per_g", n_ats), ("D_min_K", d_min)):
        low, high = p.ci95
        assert low <= truth[name] <= high, (name, p.ci95)
        assert 0 <= low < p.value < high, (name, p.ci95)
        lo68, hi68 = p.ci68
        assert low <= lo68 < p.value < hi68 <= high, (name, p.ci68, p.ci95)
        assert out.profile.refits[name] <= fitting.intervals.DEFAULT_MAX_REFITS
    ci = n_ats.interval("ci95")
    assert ci.high_open and ci.high == math.inf
    assert any("95 % interval reaches the search limit above the value" in f for f in n_ats.flags)
    assert any("D0 width at its floor" in f for f in n_ats.flags)
    lo68, hi68 = d_min.ci68
    assert hi68 - d_min.value > 2 * (d_min.value - lo68)  # asymmetric: much longer upwards
    assert math.log(hi68 / d_min.value) == pytest.approx(math.log(d_min.value / lo68), rel=0.9)  # ~ symmetric in ln
    assert any("linearised stderr" in f for f in d_min.flags)
    # the fit's own flags are kept, and the profiled parameters only gain flags
    for name in ("n_ATS_per_g", "D_min_K"):
        assert out.parameters[name].flags[:len(result.parameters[name].flags)] == result.parameters[name].flags
    assert out.derived == result.derived and out.chi2 == result.chi2
    assert out.parameters["delta_mu_K"].intervals == ()


@pytest.mark.slow
def test_json_round_trip_has_interval_lists(degenerate_etm, ll_data, ll_fit, tmp_path):
    _, _, out = degenerate_etm
    path = fitting.write_json(tmp_path / "fit.json", out.to_dict())
    doc = json.loads(path.read_text())
    pars = doc["parameters"]
    for name in ("n_ATS_per_g", "D_min_K"):
        for label in ("ci68", "ci95"):
            ci = out.parameters[name].interval(label)
            expected = [ci.low, None if math.isinf(ci.high) else ci.high]
            assert pars[name][label] == pytest.approx(expected), (name, label)
            assert pars[name]["intervals_open"][label] == [ci.low_open, ci.high_open]
    assert pars["n_ATS_per_g"]["ci95"][1] is None and pars["n_ATS_per_g"]["intervals_open"]["ci95"][1]
    for name in ("n_Fe2_per_g", "delta_mu_K"):  # not profiled: null
        assert pars[name]["ci68"] is None and pars[name]["ci95"] is None and "intervals_open" not in pars[name]
    prof = doc["profile_likelihood"]
    assert prof["refits"] == dict(out.profile.refits) and prof["total_refits"] == out.profile.total_refits
    assert [lv["delta_chi2"] for lv in prof["levels"]] == pytest.approx([1.0, 3.841458820694124])
    trace = prof["traces"]["D_min_K"]  # (theta, Delta chi2) of each successful refit and the best fit, sorted
    assert 3 <= len(trace) <= out.profile.refits["D_min_K"] + 1
    assert [x for x, _ in trace] == sorted(x for x, _ in trace) and [out.parameters["D_min_K"].value, 0.0] in trace
    # a fit without profiles has the same keys, null
    plain = json.loads(json.dumps(ll_fit.to_dict(), allow_nan=False))
    for p in plain["parameters"].values():
        assert p["ci68"] is None and p["ci95"] is None and "intervals_open" not in p
    assert plain["profile_likelihood"] is None
    text = out.summary()
    assert "ci68" in text and "ci95" in text and "profile likelihood: ci68 Delta chi2 = 1" in text
    assert "(0, " in text  # D_min's open lower 95 % end


def test_fit_with_intervals_profiles_after_fitting(ll_data):
    out = fitting.fit_with_intervals(ll_data, "ll", names=["n_Fe3_per_g"], levels=(fitting.ONE_SIGMA_LEVEL,))
    p = out.parameters["n_Fe3_per_g"]
    assert (p.value - p.ci68[0]) / p.stderr == pytest.approx(1.0, abs=1e-3) and p.ci95 is None
    assert out.profile.restarts == 0


def test_fit_with_intervals_restarts_from_a_better_refit_and_says_so(ll_data, monkeypatch):
    """The first fit is made to look stale (chi^2 + 10): the profile's refits beat it, the fit is redone
    from the better point and profiled again; the cost of both passes is counted."""
    from tunnelsim.fitting import least_squares

    real, calls = least_squares.fit_magnetization, []

    def first_one_stale(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(kwargs.get("fixed"))
        return replace(result, chi2=result.chi2 + 10.0) if len(calls) == 1 else result

    monkeypatch.setattr(least_squares, "fit_magnetization", first_one_stale)
    lines = []
    out = fitting.fit_with_intervals(ll_data, "ll", names=["chi_L_emu_per_g_Oe"], progress=lines.append)
    prof = out.profile
    assert prof.restarts == 1 and len(prof.replaced_chi2) == 1 and prof.better_fit is None
    assert prof.replaced_chi2[0] == pytest.approx(out.chi2 + 10.0, abs=1e-3)
    assert prof.total_refits == sum(prof.refits.values()) + prof.earlier_refits and prof.earlier_refits >= 2
    assert any(line.startswith("restart: a profile refit reached chi2") for line in lines)
    assert "restart 1: a profile refit reached a lower chi2 than the fit" in out.summary()
    doc = prof.to_dict()
    assert doc["restarts"] == 1 and doc["replaced_chi2"] == list(prof.replaced_chi2)


def test_defaults_depend_on_the_cost_of_the_model(ll_data, ll_fit):
    from tunnelsim.fitting import intervals

    for model in ("ll", "etm", "etm11"):
        assert intervals.default_max_refits(model) == intervals.DEFAULT_MAX_REFITS
        assert intervals.default_refit_tolerance(model) == intervals.DEFAULT_REFIT_TOLERANCE
    assert intervals.default_max_refits("exact") < intervals.DEFAULT_MAX_REFITS
    assert intervals.default_refit_tolerance("exact") > intervals.DEFAULT_REFIT_TOLERANCE
    lines = []
    out = fitting.profile_intervals(ll_data, ll_fit, names=["n_Fe3_per_g"], progress=lines.append)
    assert out.profile.max_refits_per_parameter == intervals.DEFAULT_MAX_REFITS
    assert len(lines) == 1 and lines[0].startswith("profile: n_Fe3_per_g: ") and "ci95 [" in lines[0]


@pytest.mark.parametrize("kwargs, message", [
    pytest.param({"levels": (0.0, 0.95)}, "strictly between 0 and 1", id="level-0"),
    pytest.param({"levels": (0.68, 1.0)}, "strictly between 0 and 1", id="level-1"),
    pytest.param({"levels": (95,)}, "strictly between 0 and 1", id="percent"),
    pytest.param({"levels": ("0.95",)}, "strictly between 0 and 1", id="string"),
    pytest.param({"levels": ()}, "at least one", id="empty"),
    pytest.param({"levels": (0.95, 0.951)}, "same per cent label", id="same-label"),
    pytest.param({"names": ["n_Fe4_per_g"]}, "cannot profile 'n_Fe4_per_g': not a parameter", id="unknown"),
    pytest.param({"names": ["D_min_K"]}, "cannot profile 'D_min_K': not a parameter of this ll fit", id="other-model"),
    pytest.param({"max_refits_per_parameter": -1}, "max_refits_per_parameter must be", id="refits"),
    pytest.param({"search_factor": 1.0}, "search_factor must be", id="factor"),
    pytest.param({"model": "etm"}, "differs from the fit's 'll'", id="model"),
])
def test_bad_input_raises_value_error(ll_data, ll_fit, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitting.profile_intervals(ll_data, ll_fit, **kwargs)


def test_fixed_parameter_cannot_be_profiled_and_bad_levels_fail_before_fitting(ll_data):
    fixed = fitting.fit_magnetization(ll_data, "ll", fixed={"n_Fe2_per_g": 1.1e17})
    with pytest.raises(ValueError, match="cannot profile 'n_Fe2_per_g': it is fixed"):
        fitting.profile_intervals(ll_data, fixed, names=["n_Fe2_per_g"], fixed={"n_Fe2_per_g": 1.1e17})
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        fitting.fit_with_intervals(ll_data, "ll", levels=(1.5,))
    with pytest.raises(ValueError, match="result must be the FitResult"):
        fitting.profile_intervals(ll_data, {"chi2": 1.0})


def test_profiles_keep_the_species_of_the_fit():
    """A Gd3+-only LL fit: its refits keep Gd3+ without being told (species defaults to the result's), the
    linear-Gaussian identity holds for n_Gd3_per_g (95 % end at value +- 1.96 stderr, to 1e-3 stderr), and the
    well-determined density is not profiled by default."""
    from tunnelsim import ions

    gd3 = ions.IONS["Gd3+"].species
    params = {k: v for k, v in LL_ONLY.items() if not k.startswith("n_Fe")}
    params["n_Gd3_per_g"] = 5e16
    data = synth.synthesize(params, seed=5, species=(gd3,))
    fit = fitting.fit_magnetization(data, "ll", species=(gd3,))
    out = fitting.profile_intervals(data, fit, names=["n_Gd3_per_g"])
    p = out.parameters["n_Gd3_per_g"]
    low, high = p.ci95
    assert low == pytest.approx(p.value - Z95 * p.stderr, abs=1e-3 * p.stderr)
    assert high == pytest.approx(p.value + Z95 * p.stderr, abs=1e-3 * p.stderr)
    default = fitting.fit_with_intervals(data, "ll", species=(gd3,))
    assert default.species == (gd3,) and "n_Gd3_per_g" not in default.profile.refits
