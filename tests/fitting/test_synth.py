"""Parameter files and synthetic SQUID runs."""

import math
from pathlib import Path

import numpy as np
import pytest

from tunnelsim import ions
from tunnelsim.fitting import fit_magnetization, parameters, synth
from tunnelsim.fitting.start import estimate_start
from tunnelsim.paramagnet import PARAMETER_NAMES, total_magnetization_emu_per_g
from tunnelsim.fitting.parameters import NoiseModel, ParameterFileError, RunSpec

BK7_FILE = Path(__file__).resolve().parents[2] / "simulations" / "bk7_synthetic_params.toml"
TABLE3 = {"n_Fe2_per_g": 1.099e17, "n_Fe3_per_g": 0.599e17, "chi_L_emu_per_g_Oe": 4.227e-7,
          "n_ATS_per_g": 1.352e16, "D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5,
          "delta_mu_K": 0.319}


def test_bk7_file_holds_table3_and_the_seed_runs():
    pf = parameters.load_parameter_file(BK7_FILE)
    assert pf.values() == TABLE3
    assert set(pf.values()) == set(PARAMETER_NAMES)
    assert pf.P_star == pytest.approx(1.0 / (2.0 * math.pi)) and pf.T0_K == 1.26
    fields = [r.fixed_value for r in pf.runs if r.kind == "M_vs_T"]
    temps = [r.fixed_value for r in pf.runs if r.kind == "M_vs_H"]
    assert fields == list(parameters.SEED_M_VS_T_FIELDS_OE) and temps == list(parameters.SEED_M_VS_H_TEMPERATURES_K)
    assert pf.runs == parameters.seed_runs()
    assert sum(len(r.axis) for r in pf.runs) == 500
    assert pf.noise == NoiseModel(1e-3, 1e-7) and isinstance(pf.seed, int)


def test_seed_runs_span_the_seed_ranges():
    runs = parameters.seed_runs()
    T_axis, H_axis = runs[0].axis, runs[-1].axis
    assert T_axis[0] == pytest.approx(2.0) and T_axis[-1] == pytest.approx(300.0)
    assert H_axis[0] == 0.0 and H_axis[-1] == pytest.approx(70000.0)


def test_noiseless_synthesis_is_eq17():
    data = synth.synthesize(TABLE3, noise=None)
    assert data.sigma_emu_per_g is None
    expected = total_magnetization_emu_per_g(data.temperature_K, data.field_Oe, TABLE3)
    np.testing.assert_array_equal(data.magnetization_emu_per_g, expected)
    assert [(r.start, r.stop) for r in data.runs][:2] == [(0, 40), (40, 80)]


def test_noise_model_statistics_and_reproducibility():
    clean = synth.synthesize(TABLE3, noise=None)
    noisy = synth.synthesize(TABLE3, seed=7)
    again = synth.synthesize(TABLE3, seed=7)
    other = synth.synthesize(TABLE3, seed=8)
    np.testing.assert_array_equal(noisy.magnetization_emu_per_g, again.magnetization_emu_per_g)
    assert np.any(noisy.magnetization_emu_per_g != other.magnetization_emu_per_g)
    sigma = np.hypot(1e-3 * clean.magnetization_emu_per_g, 1e-7)
    np.testing.assert_allclose(noisy.sigma_emu_per_g, sigma, rtol=1e-15)
    z = (noisy.magnetization_emu_per_g - clean.magnetization_emu_per_g) / sigma
    # 500 standard normal draws: mean within 4/sqrt(500), std within 4/sqrt(1000) of 1
    assert abs(z.mean()) < 4 / math.sqrt(z.size)
    assert abs(z.std() - 1.0) < 4 / math.sqrt(2 * z.size)


def test_zero_sigma_at_zero_field_is_refused():
    with pytest.raises(ValueError, match="absolute_emu_per_g > 0"):
        synth.synthesize(TABLE3, noise=NoiseModel(1e-3, 0.0), seed=1)


def test_run_spec_checks():
    with pytest.raises(ValueError, match="kind"):
        RunSpec("M_vs_X", 1.0, (1.0, 2.0))
    with pytest.raises(ValueError, match="axis"):
        RunSpec("M_vs_T", 1.0, (2.0,))
    with pytest.raises(ValueError, match="temperatures must be > 0"):
        RunSpec("M_vs_H", 0.0, (0.0, 1.0))
    T, H = RunSpec("M_vs_H", 4.5, (0.0, 1e4)).points()
    np.testing.assert_array_equal(T, [4.5, 4.5])
    np.testing.assert_array_equal(H, [0.0, 1e4])


def test_parameter_entries_and_runs_from_text():
    pf = parameters.parse_parameter_file("""
[parameters]
n_Fe3_per_g = {value = 1e17, vary = false}
chi_L_emu_per_g_Oe = {value = 4e-7, min = 0.0, max = 1e-6}
[settings]
P_star = 2.5
[runs]
M_vs_T_fields_Oe = [500.0]
M_vs_T_temperatures_K = [2.0, 4.0, 8.0]
M_vs_H_temperatures_K = []
[noise]
relative = 0.0
absolute_emu_per_g = 1e-6
""", "x.toml")
    assert pf.parameters["n_Fe3_per_g"] == parameters.ParameterEntry(1e17, vary=False)
    assert pf.parameters["chi_L_emu_per_g_Oe"] == parameters.ParameterEntry(4e-7, True, 0.0, 1e-6)
    assert pf.P_star == 2.5 and pf.seed is None
    assert pf.runs == (RunSpec("M_vs_T", 500.0, (2.0, 4.0, 8.0)),)
    assert pf.noise == NoiseModel(0.0, 1e-6)


@pytest.mark.parametrize("text, key", [
    pytest.param("[parameters]\nn_Fe4_per_g = 1.0\n", "parameters.n_Fe4_per_g: unknown key", id="unknown-name"),
    pytest.param("[parameters]\nD_min_K = 'x'\n", "parameters.D_min_K: must be a number", id="string"),
    pytest.param("[parameters]\nD_min_K = true\n", "parameters.D_min_K: must be a number", id="boolean"),
    pytest.param("[parameters]\nD_min_K = -1.0\n", "parameters.D_min_K: must be > 0", id="negative-cutoff"),
    pytest.param("[parameters]\nn_ATS_per_g = -1.0\n", "parameters.n_ATS_per_g: must be >= 0", id="negative-n"),
    pytest.param("[parameters]\nD0QS_min_K_A2 = 2.0\nD0QS_max_K_A2 = 1.0\n",
                 "parameters.D0QS_max_K_A2: must exceed D0QS_min_K_A2", id="max-below-min"),
    pytest.param("[parameters]\nD_min_K = {vary = false}\n", "parameters.D_min_K.value: missing", id="no-value"),
    pytest.param("[parameters]\nD_min_K = {value = 1.0, vary = 1}\n", "parameters.D_min_K.vary: must be a boolean",
                 id="vary-type"),
    pytest.param("[parameters]\nD_min_K = {value = 1.0, min = 2.0}\n", "parameters.D_min_K.value: must lie within",
                 id="outside-bounds"),
    pytest.param("[parameters]\nD_min_K = {value = 1.0, step = 2.0}\n", "parameters.D_min_K.step: unknown key",
                 id="unknown-entry-key"),
    pytest.param("[parameters]\n[settings]\nP_star = 0.0\n", "settings.P_star: must be > 0", id="P-star"),
    pytest.param("[parameters]\n[runs]\nM_vs_T_temperatures_K = {start = 2.0, stop = 3.0, num = 1}\n",
                 "runs.M_vs_T_temperatures_K.num: must be an integer >= 2", id="num"),
    pytest.param("[parameters]\n[runs]\nM_vs_H_temperatures_K = [0.0]\n",
                 "runs.M_vs_H_temperatures_K[0]: must be > 0", id="zero-temperature"),
    pytest.param("[parameters]\n[runs]\nM_vs_T_fields_Oe = []\nM_vs_H_temperatures_K = []\n", "runs: no runs",
                 id="no-runs"),
    pytest.param("[parameters]\n[noise]\nseed = -1\n", "noise.seed: must be an integer >= 0", id="seed"),
    pytest.param("[parameters]\n[noise]\nrelative = -0.1\n", "noise.relative: must be >= 0", id="noise"),
    pytest.param("[grid]\n", "grid: unknown section", id="unknown-section"),
    pytest.param("title = 'x'\n", "parameters: missing required section", id="no-parameters"),
    pytest.param("[parameters\n", "invalid TOML", id="syntax"),
])
def test_bad_parameter_file_one_line_naming_the_key(text, key):
    with pytest.raises(ParameterFileError) as exc:
        parameters.parse_parameter_file(text, "p.toml")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("p.toml: ") and key in message


def test_synthesize_from_file_records_the_seed():
    pf = parameters.parse_parameter_file("[parameters]\n" + "\n".join(f"{k} = {v!r}" for k, v in TABLE3.items()))
    data, lines = synth.synthesize_from_file(pf, seed=11)
    assert any("seed = 11" in line for line in lines)
    np.testing.assert_array_equal(data.magnetization_emu_per_g,
                                  synth.synthesize(TABLE3, seed=11).magnetization_emu_per_g)
    _, lines = synth.synthesize_from_file(pf)  # no seed anywhere: a fresh one, recorded
    assert any(line.startswith("noise:") and "seed = " in line for line in lines)


def test_synthesize_from_file_needs_every_parameter_and_a_valid_seed():
    pf = parameters.parse_parameter_file("[parameters]\nn_Fe2_per_g = 1e17\n", "p.toml")
    with pytest.raises(ParameterFileError, match="p.toml: parameters.n_Fe3_per_g: missing"):
        synth.synthesize_from_file(pf)
    full = parameters.parse_parameter_file("[parameters]\n" + "\n".join(f"{k} = {v!r}" for k, v in TABLE3.items()))
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        synth.synthesize_from_file(full, seed=-1)


# ----------------------------------------------------------------------------- other paramagnetic species
GD3 = ions.IONS["Gd3+"].species
GD_TRUTH = {"n_Gd3_per_g": 4.0e16, **{k: v for k, v in TABLE3.items() if not k.startswith("n_Fe")}}


def test_gd3_synth_and_fit_round_trip():
    """Synthetic data with Gd3+ alone (only n_Gd3_per_g), estimated start, joint etm fit: every parameter
    is named after the species and n_Gd3_per_g is recovered within 3 of its standard errors."""
    data = synth.synthesize(GD_TRUTH, seed=5, species=(GD3,))
    start = estimate_start(data, "etm", species=(GD3,))
    assert tuple(start.values)[:2] == ("n_Gd3_per_g", "chi_L_emu_per_g_Oe")
    fit = fit_magnetization(data, "etm", start=dict(start.values), species=(GD3,))
    p = fit.parameters["n_Gd3_per_g"]
    assert p.stderr is not None and 0 < p.stderr < 0.01 * p.value
    assert abs(p.value - GD_TRUTH["n_Gd3_per_g"]) < 3 * p.stderr
    assert not any(n.startswith("n_Fe") for n in list(fit.parameters) + list(fit.derived))
    assert fit.species == (GD3,)
    assert fit.to_dict()["settings"]["species"] == [{"name": "Gd3+", "g": 2.0, "J": 3.5, "parameter": "n_Gd3_per_g"}]
    assert "paramagnetic species: Gd3+ (g = 2, J = 7/2)" in fit.summary()
    np.testing.assert_allclose(fit.evaluate(data.temperature_K, data.field_Oe), fit.best_fit_emu_per_g, rtol=1e-12)


GD_FILE = """
[parameters]
n_Gd3_per_g = 4.0e16
n_Mn2_per_g = {value = 1.0e16, vary = false}
chi_L_emu_per_g_Oe = 4.227e-7
n_ATS_per_g = 1.352e16
D_min_K = 2.671e-2
D0QS_min_K_A2 = 2.717e5
D0QS_max_K_A2 = 2.925e5
[settings]
species = ["Gd3+", "Mn2+"]
[noise]
seed = 3
"""


def test_parameter_file_species_reach_the_synthetic_data():
    pf = parameters.parse_parameter_file(GD_FILE, "gd.toml")
    mn2 = ions.IONS["Mn2+"].species
    assert pf.species == (GD3, mn2)
    assert pf.parameters["n_Mn2_per_g"] == parameters.ParameterEntry(1.0e16, vary=False)
    data, lines = synth.synthesize_from_file(pf)
    np.testing.assert_array_equal(data.magnetization_emu_per_g,
                                  synth.synthesize(pf.values(), seed=3, species=(GD3, mn2)).magnetization_emu_per_g)
    assert any(line.startswith("model: Eq. 17 (Larmor + Langevin Gd3+/Mn2+ + ") for line in lines)
    assert any("species = Gd3+ (g = 2, J = 7/2), Mn2+ (g = 2, J = 5/2)" in line for line in lines)


def test_parameter_file_explicit_species_and_override():
    pf = parameters.parse_parameter_file('[parameters]\nn_X_per_g = 1e16\n[settings]\n'
                                         'species = [{name = "X", g = 2.1, J = "3/2"}, "Fe3+"]\n', "x.toml")
    assert pf.species == (ions.Species("X", 2.1, 1.5), ions.FE3)
    # --species wins: the file's names are then checked against the override
    pf = parameters.parse_parameter_file("[parameters]\nn_Gd3_per_g = 1e16\n", "y.toml", species=(GD3,))
    assert pf.species == (GD3,) and pf.values() == {"n_Gd3_per_g": 1e16}
    with pytest.raises(ParameterFileError, match="y.toml: parameters.n_Fe2_per_g: unknown key: not a density"):
        parameters.parse_parameter_file("[parameters]\nn_Fe2_per_g = 1e16\n", "y.toml", species=(GD3,))
    default = parameters.parse_parameter_file("[parameters]\nn_Fe2_per_g = 1e16\n", "y.toml")
    with pytest.raises(ParameterFileError, match="parameters.n_Fe2_per_g: not a parameter of model 'etm' with the "
                                                 "species Gd3\\+"):
        synth.synthesize_from_file(default, species=(GD3,))


@pytest.mark.parametrize("text, key", [
    pytest.param("[parameters]\nn_Gd3_per_g = 1.0\n",
                 "parameters.n_Gd3_per_g: unknown key: not a density of the species Fe2+, Fe3+", id="not-listed"),
    pytest.param("[parameters]\nn_Gd3_per_g = -1.0\n[settings]\nspecies = ['Gd3+']\n",
                 "parameters.n_Gd3_per_g: must be >= 0", id="negative-density"),
    pytest.param("[parameters]\nx_Fe2 = 0.5\n[settings]\nspecies = ['Gd3+']\n",
                 "parameters.x_Fe2: unknown key: the total-iron parametrisation needs exactly the species Fe2+ and "
                 "Fe3+", id="iron-total"),
    pytest.param("[parameters]\n[settings]\nspecies = ['Pr3+']\n",
                 "settings.species[0]: unknown species 'Pr3+'; the table has Fe2+", id="unknown-ion"),
    pytest.param("[parameters]\n[settings]\nspecies = ['Fe3+', 'fe3+']\n", "settings.species: species 'Fe3+' and "
                 "'Fe3+' are listed twice", id="duplicate"),
    pytest.param("[parameters]\n[settings]\nspecies = []\n", "settings.species: must be a non-empty array",
                 id="empty"),
    pytest.param("[parameters]\n[settings]\nspecies = 'Gd3+'\n", "settings.species: must be a non-empty array",
                 id="string"),
    pytest.param("[parameters]\n[settings]\nspecies = [1]\n", "settings.species[0]: must be an ion name", id="number"),
    pytest.param("[parameters]\n[settings]\nspecies = [{name = 'X', g = 2.0, J = 1.3}]\n",
                 "settings.species[0].J: species 'X': J must be a positive multiple of 1/2", id="bad-J"),
    pytest.param("[parameters]\n[settings]\nspecies = [{name = 'X', g = 0.0, J = 1}]\n",
                 "settings.species[0].g: must be > 0", id="bad-g"),
    pytest.param("[parameters]\n[settings]\nspecies = [{name = 'X', g = 2.0}]\n",
                 "settings.species[0].J: missing required key", id="no-J"),
    pytest.param("[parameters]\n[settings]\nspecies = [{name = 'X', g = 2.0, J = 1, L = 1}]\n",
                 "settings.species[0].L: unknown key", id="extra-key"),
])
def test_bad_species_in_a_parameter_file_one_line_naming_the_key(text, key):
    with pytest.raises(ParameterFileError) as exc:
        parameters.parse_parameter_file(text, "p.toml")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("p.toml: ") and key in message
