"""Dielectric observables in configs and runs: `tunnelsim run` on the shipped BK7 config, the runner
against direct calls of the library, the ETM beside the exact response, and the result set's layout."""

import dataclasses
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from tunnelsim import distributions, runner
from tunnelsim.cli import main
from tunnelsim.config import ConfigError, load_config, parse_config
from tunnelsim.dielectric.ensemble import OBSERVABLES, permittivity_map, sum_maps
from tunnelsim.dielectric.etm import permittivity_map_etm
from tunnelsim.dielectric.response import DielectricSettings
from tunnelsim.results import read_result

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "simulations" / "dielectric_bk7.toml"

SMALL = """title = "dielectric runner"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.352e16
D_min_K = 2.671e-2
D_max_K = 10.0
D0QS_min_K_A2 = 2.717e5
D0QS_max_K_A2 = 2.925e5
[averaging]
nodes = { D = 8, D0 = 2, alpha = 6 }
orientation_nodes = 4
[dielectric]
frequency_Hz = 1.0e3
linewidth_K = 1.0e-4
relative_permittivity = 7.0
dipole_moment_D = 1.5
[dielectric.stm]
density_per_g = 5.0e16
delta_max_K = 1.0
delta0_min_K = 1.0e-4
delta0_max_K = 1.0
dipole_moment_D = 0.8
[grid]
temperature_K = [0.01, 0.05]
field_T = [0.0, 2.0e-3, 1.0]
[output]
observables = ["permittivity", "loss_tangent"]
analytic = ["etm"]
plot = false
"""


def cfg_from(text, **kwargs):
    return parse_config(text, source=kwargs.pop("source", "dielectric.toml"))


# --------------------------------------------------------------------------- the runner against the library
def test_run_equals_permittivity_map_plus_stm_background():
    """The runner's values and errors are permittivity_map of [system]/[distribution] plus the STM
    background, summed by sum_maps, with the config's material and averaging (exactly)."""
    cfg = cfg_from(SMALL)
    res = runner.run(cfg)
    ens, rule, settings = runner.build_ensemble(cfg)
    s = DielectricSettings(frequency_Hz=1e3, linewidth_K=1e-4, eps_r=7.0, mass_density_g_cm3=2.5,
                           sound_velocity_t_m_s=3500.0)
    T, B = cfg.grid.temperature_K, cfg.grid.field_T
    wanted = ("permittivity", "loss_tangent")
    ats = permittivity_map("three_level", ens.distribution, T, B, s, density_per_g=1.352e16, dipole_moment_D=1.5,
                           charge_area_A2=30000.0, averaging=settings, orientations=rule, observables=wanted)
    stm = permittivity_map("two_level", distributions.STMDistribution(1.0, 1e-4, 1.0), T, B, s, density_per_g=5e16,
                           dipole_moment_D=0.8, averaging=dataclasses.replace(settings, nodes=None),
                           observables=wanted)
    values, errors = sum_maps(ats, stm)
    etm_values, etm_errors = sum_maps(permittivity_map_etm(ens.distribution, T, B, s, density_per_g=1.352e16,
                                                           dipole_moment_D=1.5, charge_area_A2=30000.0,
                                                           averaging=settings, orientations=rule,
                                                           observables=wanted), stm)
    for name in wanted:
        np.testing.assert_array_equal(res.values[name], values[name])
        np.testing.assert_array_equal(res.errors[name], errors[name])
        np.testing.assert_array_equal(res.values[f"{name}_etm"], etm_values[name])
        np.testing.assert_array_equal(res.errors[f"{name}_etm"], etm_errors[name])
        assert res.units[name] == OBSERVABLES[name][0] and res.long_names[name] == OBSERVABLES[name][1]
    assert set(res.values) == {"permittivity", "loss_tangent", "permittivity_etm", "loss_tangent_etm"}
    assert "magnetization_etm" not in res.values  # no magnetic observable asked for
    assert res.info["dielectric"]["n_orientations"] == 4 and res.info["dielectric_stm"]["density_per_g"] == 5e16


def test_stm_background_is_independent_of_field_and_adds():
    """Without [dielectric.stm] the map is the ATS alone; the difference is B independent (Eq. 5 has
    no orbital coupling) and positive in Delta eps'."""
    with_stm = runner.run(cfg_from(SMALL))
    start = SMALL.index("[dielectric.stm]")
    without = runner.run(cfg_from(SMALL[:start] + SMALL[SMALL.index("[grid]"):]))
    diff = with_stm.values["permittivity"] - without.values["permittivity"]
    assert np.all(diff > 0)
    np.testing.assert_allclose(diff, diff[:, :1] * np.ones_like(diff), rtol=1e-12)


def test_mixed_magnetic_and_dielectric_run_to_file_equals_run(tmp_path):
    """Magnetic and dielectric observables in one config: the streamed file equals the in-memory run;
    magnetization_etm and permittivity_etm both written, with units and long names."""
    text = SMALL.replace('observables = ["permittivity", "loss_tangent"]',
                         'observables = ["magnetization", "permittivity"]').replace("[0.01, 0.05]", "[0.5, 2.0]")
    cfg = cfg_from(text)
    res = runner.run(cfg)
    out = runner.run_to_file(cfg, tmp_path / "mixed.h5")
    rs = read_result(out.result_path)
    assert list(rs.values) == ["magnetization", "magnetization_etm", "permittivity", "permittivity_etm"]
    for name in rs.values:
        np.testing.assert_allclose(rs.values[name], res.values[name], rtol=1e-13)
        assert rs.units[name] == res.units[name] and rs.long_names[name] == res.long_names[name]
    with h5py.File(out.result_path, "r") as f:
        assert f["permittivity"].attrs["units"] == "1"
        assert f["permittivity_error"].attrs["long_name"].startswith("error estimate of Delta eps'/eps_r")
        assert "ETM" in f["permittivity_etm"].attrs["long_name"]
        assert "dielectric" in f.attrs


def test_no_error_estimate_gives_no_error_datasets(tmp_path):
    """error_estimate = false: no *_error dataset, also not for the ETM (whose doubling is then not run)."""
    cfg = cfg_from(SMALL.replace("orientation_nodes = 4", "orientation_nodes = 4\nerror_estimate = false"))
    out = runner.run_to_file(cfg, tmp_path / "noerr.h5")
    with h5py.File(out.result_path, "r") as f:
        assert not [name for name in f if name.endswith("_error")]
        assert np.all(np.isfinite(f["permittivity_etm"][...]))


def test_monte_carlo_errors_are_standard_errors_and_etm_has_none():
    cfg = cfg_from(SMALL.replace("nodes = { D = 8, D0 = 2, alpha = 6 }", 'method = "monte_carlo"\nsamples = 2000'))
    res = runner.run(cfg)
    assert np.all(res.errors["permittivity"] > 0) and np.all(np.isfinite(res.errors["permittivity"]))
    assert np.all(np.isnan(res.errors["permittivity_etm"]))


def test_two_level_system_alone():
    """An STM config ([system] two_level) has dielectric observables too; the ETM needs the ATS."""
    text = """title = "stm dielectric"
[system]
kind = "two_level"
[distribution]
kind = "stm"
density_per_g = 5.0e16
delta_max_K = 1.0
delta0_min_K = 1.0e-4
delta0_max_K = 1.0
[grid]
temperature_K = [0.02, 0.2]
field_T = [0.0, 1.0]
[output]
observables = ["permittivity_resonant"]
"""
    res = runner.run(cfg_from(text))
    eps = res.values["permittivity_resonant"]
    assert np.all(eps > 0) and eps[0, 0] > eps[1, 0]  # resonant part falls as -ln T
    np.testing.assert_array_equal(eps[:, 0], eps[:, 1])
    with pytest.raises(ConfigError, match=r"output.analytic: the analytic ETM describes the 3LS ATS ensemble"):
        cfg_from(text.replace('["permittivity_resonant"]', '["permittivity_resonant"]\nanalytic = ["etm"]'))


def test_library_rejections_name_the_dielectric_key(monkeypatch):
    cfg = cfg_from(SMALL)
    bad = dataclasses.replace(cfg, dielectric=dataclasses.replace(cfg.dielectric, field_direction="diagonal"))
    with pytest.raises(ConfigError, match=r"^dielectric.toml: dielectric: field_direction must be one of"):
        runner.run(bad)


# --------------------------------------------------------------------------- the shipped config
@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dielectric") / "bk7.h5"
    assert main(["run", str(SHIPPED), "-o", str(out)]) == 0
    return out


@pytest.mark.slow
def test_shipped_config_runs_with_finite_values_and_errors(shipped_run):
    rs = read_result(shipped_run)
    assert shipped_run.with_suffix(".png").is_file()
    cfg = load_config(SHIPPED)
    assert rs.temperature_K.tolist() == [0.01, 0.02, 0.05, 0.1]
    assert rs.field_T[0] == pytest.approx(1e-4) and rs.field_T[-1] == pytest.approx(10.0)
    for name in cfg.output.observables:
        for key in (name, f"{name}_etm"):
            value, error = rs.values[key], rs.errors[key]
            assert value.shape == (4, rs.field_T.size) and np.all(np.isfinite(value)) and np.all(value > 0), key
            assert np.all(np.isfinite(error)) and np.all(error >= 0) and np.all(error < 0.05 * value), key
            assert rs.units[key] == "1"
    eps = rs.values["permittivity"]
    np.testing.assert_allclose(eps, rs.values["permittivity_resonant"] + rs.values["permittivity_relaxation"],
                               rtol=1e-12)


@pytest.mark.slow
def test_shipped_config_shows_the_millitesla_feature(shipped_run):
    """At 10 mK Delta eps' of the ATS falls by more than its error between 0.1 mT and 10 mT (the AB
    splitting D0 phi reaches k_B T near a millitesla), and by less at 100 mK; the ETM follows the exact
    response to a few per cent at these weak fields."""
    rs = read_result(shipped_run)
    B = rs.field_T
    eps, err = rs.values["permittivity"], rs.errors["permittivity"]
    k10mT = int(np.argmin(abs(np.log(B / 1e-2))))
    drop_10mK = eps[0, 0] - eps[0, k10mT]
    drop_100mK = eps[3, 0] - eps[3, k10mT]
    assert drop_10mK > 10 * (err[0, 0] + err[0, k10mT])
    assert drop_10mK > 3 * drop_100mK
    weak = B < 0.1
    np.testing.assert_allclose(rs.values["permittivity_etm"][:, weak], eps[:, weak], rtol=0.03)
    assert math.isclose(eps[0, 0], eps[0, 1], rel_tol=1e-3)  # flat below the feature
