"""Model comparison (:func:`tunnelsim.fitting.compare.compare_models`)."""

import json
from pathlib import Path

import pytest

from tunnelsim import ions
from tunnelsim.fitting import FitError
from tunnelsim.fitting.compare import compare_models, format_comparison, parse_model_list
from tunnelsim.fitting.parameters import load_parameter_file, seed_runs
from tunnelsim.fitting.synth import synthesize

BK7_FILE = Path(__file__).resolve().parents[2] / "simulations" / "bk7_synthetic_params.toml"


@pytest.fixture(scope="module")
def etm_data():
    """etm-model data on a reduced set of the seed's runs (102 points)."""
    pf = load_parameter_file(BK7_FILE)
    runs = seed_runs(n_temperatures=18, n_fields=16, fields_Oe=(1000.0, 10000.0, 50000.0),
                     temperatures_K=(2.0, 4.5, 10.0))
    return synthesize(pf.values(), runs, pf.noise, seed=7, P_star=pf.P_star, T0_K=pf.T0_K)


@pytest.fixture(scope="module")
def comparison(etm_data):
    return compare_models(etm_data, ("ll", "etm"))


def test_aic_prefers_the_model_the_data_were_made_with(comparison):
    c = comparison
    assert c.preferred == "etm" and not c.failures
    ll, etm = c.row("ll"), c.row("etm")
    assert etm.delta_aic == 0.0 and ll.delta_aic > 10.0
    assert ll.aic == pytest.approx(c.fits["ll"].aic) and etm.bic == pytest.approx(c.fits["etm"].bic)
    assert (ll.n_varied, etm.n_varied) == (3, 8)
    # etm describes its own data within the noise; ll does not
    assert etm.chi2_reduced < 2.0 < ll.chi2_reduced
    assert set(ll.parameters) == {"n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe"}
    assert "D_min_K" in etm.parameters and "charge_area_A2" not in etm.parameters
    assert c.starts["ll"] is not None and c.starts["etm"] is not None


def test_text_report(comparison):
    text = format_comparison(comparison)
    assert "AIC prefers etm (next: ll, delta AIC = " in text
    assert "n_ATS_per_g" in text and "+-" in text
    header = text.splitlines()[1].split()
    assert header[:2] == ["model", "n_varied"] and "dAIC" in header


def test_json_document_keeps_each_fit(comparison):
    doc = json.loads(json.dumps(comparison.to_dict(), allow_nan=False))
    assert doc["preferred"] == "etm" and doc["models"] == ["ll", "etm"]
    assert doc["fits"]["etm"]["aic"] == pytest.approx(comparison.fits["etm"].aic)
    assert doc["fits"]["etm"]["start"]["values"]["delta_mu_K"] == pytest.approx(0.3)
    assert [row["model"] for row in doc["table"]] == ["ll", "etm"]


def test_a_model_that_does_not_converge_is_reported_not_raised(etm_data):
    c = compare_models(etm_data, ("ll", "etm"), max_nfev=4)
    assert "etm" in c.failures and "did not converge" in c.failures["etm"]
    assert not c.row("etm").converged and c.row("etm").aic is None
    assert c.preferred == "ll" and c.row("ll").delta_aic == 0.0
    assert "etm: not converged: fit did not converge" in format_comparison(c)


def test_fixed_values_apply_to_the_models_that_have_them(etm_data):
    c = compare_models(etm_data, ("ll",), fixed={"n_Fe2_per_g": 1.0e17})
    assert c.fits["ll"].parameters["n_Fe2_per_g"].value == 1.0e17 and c.row("ll").n_varied == 2
    with pytest.raises(FitError, match="cannot fix 'D_min_K'"):
        compare_models(etm_data, ("ll",), fixed={"D_min_K": 0.1})


@pytest.mark.parametrize("text, fragment", [
    pytest.param("ll,bogus", "unknown model 'bogus'", id="unknown"),
    pytest.param("ll,,etm", "comma-separated list", id="empty-item"),
    pytest.param("etm,etm", "'etm' is listed twice", id="repeated"),
])
def test_bad_model_lists(text, fragment):
    with pytest.raises(FitError, match=fragment):
        parse_model_list(text)
    assert parse_model_list(" ll, etm ") == ("ll", "etm")


def test_other_species_are_shared_by_every_model():
    """Data with Gd3+ and Fe3+: both models report n_Gd3_per_g and n_Fe3_per_g side by side, nothing of Fe2+;
    a fixed density of a species not listed is refused naming it."""
    gd3 = ions.IONS["Gd3+"].species
    species = (gd3, ions.FE3)
    pf = load_parameter_file(BK7_FILE)
    truth = {k: v for k, v in pf.values().items() if k != "n_Fe2_per_g"}
    truth["n_Gd3_per_g"] = 3e16
    runs = seed_runs(n_temperatures=18, n_fields=16, fields_Oe=(1000.0, 10000.0, 50000.0),
                     temperatures_K=(2.0, 4.5, 10.0))
    data = synthesize(truth, runs, pf.noise, seed=7, P_star=pf.P_star, T0_K=pf.T0_K, species=species)
    c = compare_models(data, ("ll", "etm"), species=species)
    assert c.preferred == "etm" and c.species == species
    assert list(c.row("ll").parameters) == ["n_Gd3_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe"]
    assert all(fit.species == species for fit in c.fits.values())
    text = format_comparison(c)
    assert "paramagnetic species: Gd3+ (g = 2, J = 7/2), Fe3+ (g = 2, J = 5/2)" in text
    assert "n_Gd3_per_g" in text and "n_Fe2_per_g" not in text
    assert c.to_dict()["species"][0] == {"name": "Gd3+", "g": 2.0, "J": 3.5, "parameter": "n_Gd3_per_g"}
    with pytest.raises(FitError, match="cannot fix 'n_Fe2_per_g'"):
        compare_models(data, ("ll",), fixed={"n_Fe2_per_g": 1e16}, species=species)
