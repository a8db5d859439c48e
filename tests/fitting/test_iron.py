"""Total iron fixed, the Fe2+ fraction fitted (the seed's Figs. 16-18): tunnelsim.fitting.iron."""

import numpy as np
import pytest

from tunnelsim import fitting, ions
from tunnelsim.fitting import figures, iron, parameters, synth
from tunnelsim.paramagnet import FE2, FE3, species_magnetization_emu_per_g

LL = {"n_Fe2_per_g": 1.1e17, "n_Fe3_per_g": 0.6e17, "chi_L_emu_per_g_Oe": 4.2e-7}
N_TOTAL = 1.7e17
X_TRUE = 1.1 / 1.7
RUNS = (parameters.RunSpec("M_vs_T", 30000.0, tuple(np.geomspace(2.0, 300.0, 20))),
        parameters.RunSpec("M_vs_H", 2.0, tuple(np.linspace(2500.0, 70000.0, 20))))


@pytest.fixture(scope="module")
def ll_data():
    params = dict(LL, n_ATS_per_g=0.0, D_min_K=0.03, D0QS_min_K_A2=2.7e5, D0QS_max_K_A2=2.9e5)
    return synth.synthesize(params, RUNS, parameters.NoiseModel(relative=1e-4, absolute_emu_per_g=1e-7), seed=2)


def test_remainder_is_the_data_less_the_langevin_term_of_each_fraction(ll_data):
    rem = iron.langevin_remainder(ll_data, N_TOTAL, [0.0, 1.0])
    T, H, M = ll_data.temperature_K, ll_data.field_Oe, ll_data.magnetization_emu_per_g
    np.testing.assert_allclose(rem[0], M - species_magnetization_emu_per_g(N_TOTAL, FE3, H, T), rtol=1e-13)
    np.testing.assert_allclose(rem[1], M - species_magnetization_emu_per_g(N_TOTAL, FE2, H, T), rtol=1e-13)
    # at the true fraction only the Larmor term (and the noise) is left
    left = iron.langevin_remainder(ll_data, N_TOTAL, X_TRUE)
    np.testing.assert_allclose(left, -LL["chi_L_emu_per_g_Oe"] * H, atol=5e-4 * np.abs(M).max())


def test_fixed_total_iron_fit_recovers_the_fraction_and_reports_species_as_derived(ll_data):
    fit = fitting.fit_magnetization(ll_data, "ll", iron_total_per_g=N_TOTAL)
    assert "x_Fe2" in fit.parameters and "n_Fe2_per_g" not in fit.parameters
    assert not fit.parameters["n_Fe_total_per_g"].vary
    x = fit.parameters["x_Fe2"]
    assert abs(x.value - X_TRUE) < 4 * x.stderr and x.stderr < 1e-3
    assert fit.derived["n_Fe2_per_g"].value == pytest.approx(x.value * N_TOTAL, rel=1e-12)
    assert fit.derived["n_Fe3_per_g"].value == pytest.approx((1 - x.value) * N_TOTAL, rel=1e-12)
    np.testing.assert_allclose(fit.evaluate(ll_data.temperature_K, ll_data.field_Oe), fit.best_fit_emu_per_g,
                               rtol=1e-12)


def test_scan_singles_out_the_true_fraction(ll_data):
    scan = iron.iron_fraction_scan(ll_data, N_TOTAL, model="ll")
    assert scan.remainder_emu_per_g.shape == (6, ll_data.n_points)
    assert scan.x_values[int(np.nanargmin(scan.chi2))] == pytest.approx(0.6)    # nearest grid point to 0.647
    x, err = scan.best_x
    assert abs(x - X_TRUE) < 4 * err
    text = scan.summary()
    assert "fitted x(Fe2+)" in text and "x = 0.60" in text
    doc = scan.to_dict()
    assert doc["best_x_Fe2"] == pytest.approx(x) and len(doc["chi2"]) == 6
    fig, axes = figures.plot_iron_fraction_scan(ll_data, scan)
    assert len(axes[0].lines) >= 12 and axes[1].get_xlabel().startswith("x")


def test_bad_input_is_refused(ll_data):
    with pytest.raises(ValueError, match="n_Fe_total_per_g"):
        iron.langevin_remainder(ll_data, -1.0, 0.5)
    with pytest.raises(ValueError, match="x_Fe2"):
        iron.langevin_remainder(ll_data, N_TOTAL, 1.5)
    with pytest.raises(ValueError, match="x_Fe2"):
        fitting.fit_magnetization(ll_data, "ll", start={"x_Fe2": 0.5})          # no total iron given
    with pytest.raises(ValueError, match="cannot fix"):
        iron.iron_fraction_scan(ll_data, N_TOTAL, model="ll", fixed={"n_Fe2_per_g": 1e17})


def test_total_iron_needs_exactly_fe2_and_fe3(ll_data):
    """Any other species: one-line ValueError naming them; the iron pair in either order works."""
    gd = ions.IONS["Gd3+"].species
    for call in (lambda: iron.langevin_remainder(ll_data, N_TOTAL, 0.5, species=(gd,)),
                 lambda: iron.iron_fraction_scan(ll_data, N_TOTAL, model="ll", species=(gd, FE3)),
                 lambda: fitting.fit_magnetization(ll_data, "ll", species=(FE2, FE3, gd), iron_total_per_g=N_TOTAL),
                 lambda: fitting.model_parameter_names("ll", iron_total=True, species=(FE3,))):
        with pytest.raises(ValueError) as info:
            call()
        assert "needs exactly the species Fe2+ and Fe3+" in str(info.value) and "\n" not in str(info.value)
    np.testing.assert_array_equal(iron.langevin_remainder(ll_data, N_TOTAL, 0.3, species=(FE3, FE2)),
                                  iron.langevin_remainder(ll_data, N_TOTAL, 0.3))
