"""Running configs: ensemble construction, analytic outputs, result files and fail-fast checks."""

import math
import sys
import types

import h5py
import numpy as np
import pytest
from conftest import simulation_configs

from tunnelsim import distributions, ensemble, runner
from tunnelsim.config import ConfigError, load_config, parse_config
from tunnelsim.results import read_result
from tunnelsim.runner import RunOutput, build_ensemble, run, run_to_file

THREE_LEVEL = """title = "runner three-level"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.352e16
D_min_K = 0.05
D_max_K = 20.0
D0QS_min_K_A2 = 6.0e4
D0QS_max_K_A2 = 9.0e4
[averaging]
nodes = { D = 6, D0 = 2, alpha = 6 }
orientation_nodes = 3
[grid]
temperature_K = [2.0, 10.0, 40.0]
field_T = [0.5, 3.0]
[output]
observables = ["magnetization", "entropy"]
"""

TWO_LEVEL = """title = "runner two-level"
[system]
kind = "two_level"
[distribution]
kind = "stm"
density_per_g = 1.0e17
delta_max_K = 10.0
delta0_min_K = 1.0e-3
delta0_max_K = 10.0
[averaging]
nodes = { delta = 8, delta0 = 8 }
[grid]
temperature_K = [0.1, 1.0]
field_T = [0.0]
[output]
observables = ["heat_capacity"]
plot = false
"""

FOUR_WELL = """title = "runner four-well"
[system]
kind = "four_well"
charge_area_A2 = 30000.0
[distribution]
kind = "four_well_ats"
density_per_g = 1.0e16
D_min_K = 0.05
D_max_K = 20.0
D0_min_K = 2.0
D0_max_K = 3.0
[averaging]
nodes = { D = 3, D0 = 2, direction = 2 }
sphere_degree = 3
error_estimate = false
[grid]
temperature_K = [4.0]
field_T = [1.0, 2.0]
"""


def cfg_from(text, source="run.toml", **replacements):
    for old, new in replacements.items():
        text = text.replace(old, new)
    return parse_config(text, source=source)


# --------------------------------------------------------------------------- building
@pytest.mark.parametrize(
    "text, system_kind, dist_type, rule_kind",
    [
        pytest.param(TWO_LEVEL, "two_level", distributions.STMDistribution, None, id="two_level"),
        pytest.param(THREE_LEVEL, "three_level", distributions.ATSDistribution, "planar", id="three_level"),
        pytest.param(FOUR_WELL, "four_well", distributions.FourWellATSDistribution, "sphere", id="four_well"),
    ],
)
def test_build_ensemble_per_system_kind(text, system_kind, dist_type, rule_kind):
    cfg = cfg_from(text)
    ens, rule, settings = build_ensemble(cfg)
    assert isinstance(ens, ensemble.Ensemble) and isinstance(settings, ensemble.AveragingSettings)
    assert ens.system.kind == system_kind and isinstance(ens.distribution, dist_type)
    assert ens.density_per_g == cfg.distribution.density_per_g
    assert (rule is None) if rule_kind is None else (rule.kind == rule_kind)
    assert settings.nodes == dict(cfg.averaging.nodes)


def test_all_shipped_simulation_configs_are_found():
    names = {p.stem for p in simulation_configs()}
    assert {"quickstart", "four_well", "stm_heat_capacity", "bk7_table3_M_vs_T"} <= names


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem) for p in simulation_configs()],
)
def test_shipped_configs_build(path):
    cfg = load_config(path)
    ens, rule, settings = build_ensemble(cfg)
    assert ens.system.kind == cfg.system.kind
    assert (rule is None) == (cfg.system.kind == "two_level")


def test_build_ensemble_values_flow_through():
    cfg = cfg_from(THREE_LEVEL)
    ens, rule, settings = build_ensemble(cfg)
    assert ens.system.charge_area_A2 == 30000.0
    assert ens.distribution.D0_min_K == pytest.approx(2.0) and ens.distribution.D0_max_K == pytest.approx(3.0)
    assert ens.distribution.D_max_K == 20.0 and ens.temperature_dependence is None
    assert len(rule.weights) == 3 and settings.orientation_nodes == 3
    assert settings.method == ensemble.AveragingSettings().method  # library default when not given
    td_cfg = cfg_from(THREE_LEVEL, **{"[grid]": "[temperature_dependence]\ndelta_mu_K = 0.3\n[grid]"})
    td = build_ensemble(td_cfg)[0].temperature_dependence
    assert td.delta_mu_K == 0.3 and td.T0_K == ensemble.TemperatureDependence(0.3).T0_K
    td_cfg = cfg_from(THREE_LEVEL, **{"[grid]": "[temperature_dependence]\ndelta_mu_K = 0.3\nT0_K = 2.0\n[grid]"})
    assert build_ensemble(td_cfg)[0].temperature_dependence.T0_K == 2.0
    rule4 = build_ensemble(cfg_from(FOUR_WELL))[1]
    assert rule4.degree >= 3


def test_unknown_quadrature_axis_names_the_key():
    cfg = cfg_from(THREE_LEVEL, **{"alpha = 6": "theta = 6"})
    expected = r"^run.toml: averaging.nodes.theta: unknown axis for distribution kind 'ats'"
    with pytest.raises(ConfigError, match=expected):
        build_ensemble(cfg)


def test_library_rejections_become_config_errors(monkeypatch):
    def reject(**kwargs):
        raise ValueError("D_min_K too small for this test")

    monkeypatch.setitem(runner._DISTRIBUTIONS, "ats", reject)
    with pytest.raises(ConfigError, match=r"^run.toml: distribution: D_min_K too small for this test$"):
        build_ensemble(cfg_from(THREE_LEVEL))


# --------------------------------------------------------------------------- running
def test_run_three_level():
    cfg = cfg_from(THREE_LEVEL)
    res = run(cfg)
    assert set(res.values) == {"magnetization", "entropy"} == set(res.errors)
    np.testing.assert_array_equal(res.temperature_K, cfg.grid.temperature_K)
    np.testing.assert_array_equal(res.field_T, cfg.grid.field_T)
    for name in res.values:
        assert res.values[name].shape == (3, 2) and np.all(np.isfinite(res.values[name]))
    assert np.all(res.values["magnetization"] > 0)
    assert res.units["magnetization"] == "emu/g"
    assert res.info["orientation_rule"] == "planar" and "analytic" not in res.info


def test_run_two_level_heat_capacity_and_progress():
    class Progress:
        def __init__(self):
            self.total, self.done = None, 0

        def reset(self, total):
            self.total = total

        def update(self, n):
            self.done += n

    progress = Progress()
    res = run(cfg_from(TWO_LEVEL), progress=progress)
    assert np.all(res.values["heat_capacity"] > 0)
    assert progress.total > 0 and progress.done == progress.total


def test_run_monte_carlo_has_statistical_errors():
    cfg = cfg_from(THREE_LEVEL, **{"orientation_nodes = 3": 'orientation_nodes = 3\nmethod = "qmc"\nsamples = 64',
                                   "nodes = { D = 6, D0 = 2, alpha = 6 }\n": ""})
    res = run(cfg)
    err = res.errors["magnetization"]
    assert np.all(np.isfinite(err)) and np.all(err > 0)
    assert res.info["samples"] == 64


# --------------------------------------------------------------------------- analytic outputs
ANALYTIC = {"observables = [\"magnetization\", \"entropy\"]":
            "observables = [\"magnetization\"]\nanalytic = [\"etm\", \"etm_shortcut\"]"}


@pytest.mark.parametrize(
    "module",
    [pytest.param(None, id="no-etm-module"), pytest.param(types.ModuleType("tunnelsim.etm"), id="no-function")],
)
def test_unavailable_analytic_output_fails_before_computing(monkeypatch, module):
    monkeypatch.setitem(sys.modules, "tunnelsim.etm", module)
    monkeypatch.setattr(ensemble, "compute", lambda *a, **k: pytest.fail("computed before checking analytic outputs"))
    with pytest.raises(ConfigError) as info:
        run(cfg_from(THREE_LEVEL, **ANALYTIC))
    message = str(info.value)
    assert message == ("run.toml: output.analytic: 'etm' is unavailable: "
                       "this version of tunnelsim has no tunnelsim.etm.analytic_magnetization")


def test_analytic_outputs_get_the_config_parameters(monkeypatch):
    calls = []

    def fake(name, temperature_K, field_T, **kwargs):
        calls.append((name, kwargs))
        return np.full((len(temperature_K), len(field_T)), 1.0 + len(calls))

    module = types.ModuleType("tunnelsim.etm")
    module.analytic_magnetization = fake
    monkeypatch.setitem(sys.modules, "tunnelsim.etm", module)
    cfg = cfg_from(THREE_LEVEL, **ANALYTIC, **{"[grid]": "[temperature_dependence]\ndelta_mu_K = 0.3\n[grid]"})
    res = run(cfg)
    assert [c[0] for c in calls] == ["etm", "etm_shortcut"]
    kwargs = calls[0][1]
    dist = build_ensemble(cfg)[0].distribution
    assert kwargs == {
        "D_min_K": 0.05, "D0_min_K": pytest.approx(2.0), "D0_max_K": pytest.approx(3.0),
        "charge_area_A2": 30000.0, "amplitude_per_g": pytest.approx(1.352e16 * dist.amplitude),
        "delta_mu_K": 0.3, "T0_K": ensemble.TemperatureDependence(0.3).T0_K,
    }
    np.testing.assert_array_equal(res.values["magnetization_etm"], 2.0)
    np.testing.assert_array_equal(res.values["magnetization_etm_shortcut"], 3.0)
    assert np.all(np.isnan(res.errors["magnetization_etm"]))
    assert res.units["magnetization_etm"] == "emu/g" and "Eq. 10" in res.long_names["magnetization_etm"]
    assert res.info["analytic"] == ["etm", "etm_shortcut"]


def test_analytic_value_errors_name_the_output(monkeypatch):
    module = types.ModuleType("tunnelsim.etm")

    def reject(name, *args, **kwargs):
        raise ValueError("field too high for the series")

    module.analytic_magnetization = reject
    monkeypatch.setitem(sys.modules, "tunnelsim.etm", module)
    with pytest.raises(ConfigError, match=r"^run.toml: output.analytic \(etm\): field too high for the series$"):
        run(cfg_from(THREE_LEVEL, **ANALYTIC))


def test_real_analytic_outputs_are_written(tmp_path):
    pytest.importorskip("tunnelsim.etm")
    cfg = cfg_from(THREE_LEVEL, **ANALYTIC)
    out = run_to_file(cfg, tmp_path / "a.h5")
    rs = read_result(out.result_path)
    for name in ("magnetization_etm", "magnetization_etm_shortcut"):
        assert rs.values[name].shape == (3, 2) and np.all(np.isfinite(rs.values[name]))
        assert np.all(rs.values[name] > 0) and rs.units[name] == "emu/g"
    with h5py.File(out.result_path, "r") as f:
        assert "magnetization_error" in f and "magnetization_etm_error" not in f


# --------------------------------------------------------------------------- files
def test_run_to_file_writes_result_and_plot(tmp_path):
    cfg = cfg_from(THREE_LEVEL)
    out = run_to_file(cfg, tmp_path / "sub" / "r.h5", command="tunnelsim run run.toml")
    assert out == RunOutput(tmp_path / "sub" / "r.h5", tmp_path / "sub" / "r.png")
    assert out.plot_path.read_bytes()[:4] == b"\x89PNG"
    rs = read_result(out.result_path)
    assert rs.attrs["config"] == cfg.text and rs.attrs["config_sha256"] == cfg.sha256
    assert rs.attrs["command"] == "tunnelsim run run.toml"
    assert rs.attrs["distribution"].startswith("ATS distribution")
    assert rs.attrs["orientation_rule"] == "planar"


def test_run_to_file_default_path_and_no_plot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = run_to_file(cfg_from(TWO_LEVEL, source="stm.toml"))
    assert out.result_path == cfg_from(TWO_LEVEL, source="stm.toml").output.path
    assert (tmp_path / "results" / "stm.h5").is_file() and out.plot_path is None
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["stm.h5"]


def test_run_to_file_checks_output_before_computing(tmp_path, monkeypatch):
    path = tmp_path / "r.h5"
    path.write_bytes(b"old")
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("computed although the output exists"))
    with pytest.raises(FileExistsError, match="r.h5: result set exists"):
        run_to_file(cfg_from(THREE_LEVEL), path)
    with pytest.raises(IsADirectoryError):
        run_to_file(cfg_from(THREE_LEVEL), tmp_path)
    assert path.read_bytes() == b"old"


def test_run_to_file_force_replaces(tmp_path):
    path = tmp_path / "r.h5"
    path.write_bytes(b"old")
    cfg = cfg_from(TWO_LEVEL)
    run_to_file(cfg, path, force=True)
    assert read_result(path).attrs["title"] == "runner two-level"


def test_plot_never_replaces_the_result_set(tmp_path):
    out = run_to_file(cfg_from(THREE_LEVEL), tmp_path / "odd.png")
    assert out.plot_path == tmp_path / "odd.png.png"
    assert read_result(out.result_path).values["magnetization"].shape == (3, 2)


def test_four_well_run(tmp_path):
    res = run(cfg_from(FOUR_WELL))
    assert res.values["magnetization"].shape == (1, 2)
    assert np.all(np.isnan(res.errors["magnetization"]))
    assert res.info["orientation_rule"] == "sphere" and not math.isnan(res.values["magnetization"][0, 0])


@pytest.mark.parametrize(
    "vertices, rule",
    [
        pytest.param(None, "chamber", id="regular-uses-symmetry-chamber"),
        pytest.param("[[0, 0, 0], [1, 0, 0], [0, 1.2, 0], [0.1, 0.2, 0.9]]", "full", id="custom-uses-full-sphere"),
    ],
)
def test_four_well_direction_rule_follows_the_geometry(vertices, rule):
    text = FOUR_WELL if vertices is None else FOUR_WELL.replace(
        'charge_area_A2 = 30000.0', f'charge_area_A2 = 30000.0\nvertices = {vertices}')
    ens, _, _ = build_ensemble(cfg_from(text))
    assert ens.distribution.direction_rule == rule


@pytest.mark.parametrize("solver", [pytest.param("fast", id="fast"), pytest.param("eigh", id="eigh")])
@pytest.mark.parametrize("kind", ["three_level", "four_well"])
def test_system_solver_key_selects_the_solver(kind, solver):
    text = THREE_LEVEL if kind == "three_level" else FOUR_WELL
    cfg = cfg_from(text.replace(f'kind = "{kind}"', f'kind = "{kind}"\nsolver = "{solver}"'))
    ens, _, _ = build_ensemble(cfg)
    assert ens.system.solver == solver


def test_solver_key_is_rejected_for_the_two_level_system():
    with pytest.raises(ConfigError, match="system.solver"):
        cfg_from(TWO_LEVEL.replace('kind = "two_level"', 'kind = "two_level"\nsolver = "eigh"'))


# --------------------------------------------------------------------------- bounded resources
def _no_computing(monkeypatch):
    def fail(*args, **kwargs):
        pytest.fail("computed although the run should have been refused first")

    monkeypatch.setattr(ensemble, "_accumulate", fail)
    monkeypatch.setattr(ensemble, "compute", fail)


TD_LINES = '[temperature_dependence]\ndelta_mu_K = 0.319\nT0_K = 1.26\n[averaging]'


@pytest.mark.parametrize(
    "text, replacements",
    [
        pytest.param(THREE_LEVEL, {"temperature_K = [2.0, 10.0, 40.0]":
                                   'temperature_K = { start = 1.5, stop = 300.0, num = 7, scale = "log" }'},
                     id="three-level-quadrature"),
        pytest.param(THREE_LEVEL, {"temperature_K = [2.0, 10.0, 40.0]": "temperature_K = [2.0, 5.0, 10.0, 40.0, 90.0]",
                                   "[averaging]": TD_LINES}, id="eq15"),
        pytest.param(THREE_LEVEL, {"nodes = { D = 6, D0 = 2, alpha = 6 }": 'method = "monte_carlo"\nsamples = 300'},
                     id="monte-carlo"),
        pytest.param(TWO_LEVEL, {"temperature_K = [0.1, 1.0]": "temperature_K = [0.1, 0.3, 1.0, 3.0, 10.0]"},
                     id="two-level"),
    ],
)
def test_streamed_temperature_blocks_equal_the_one_shot_run(tmp_path, text, replacements):
    cfg = cfg_from(text, **replacements)
    one_shot = run(cfg)
    out = run_to_file(cfg, tmp_path / "blocks.h5", block_bytes=1)  # one temperature per block
    assert out.estimate.block_rows == 1
    streamed = read_result(out.result_path)
    assert streamed.attrs["temperature_blocks"] == len(cfg.grid.temperature_K)
    assert set(streamed.values) == set(one_shot.values)
    for name, value in one_shot.values.items():
        np.testing.assert_allclose(streamed.values[name], value, rtol=1e-12, atol=0)
        np.testing.assert_allclose(streamed.errors[name], one_shot.errors[name], rtol=1e-12, atol=0)
        assert streamed.long_names[name] == one_shot.long_names[name]


@pytest.mark.parametrize("text", [pytest.param(THREE_LEVEL, id="three-level"), pytest.param(TWO_LEVEL, id="two-level"),
                                  pytest.param(FOUR_WELL, id="four-well")])
@pytest.mark.parametrize("error_estimate", [True, False], ids=["errors", "no-errors"])
def test_estimate_counts_the_nodes_the_run_builds(text, error_estimate):
    cfg = cfg_from(text)
    cfg = cfg_from(cfg.text.replace("[averaging]", f"[averaging]\nerror_estimate = {str(error_estimate).lower()}", 1)
                   .replace("error_estimate = false\n", "", 1) if "error_estimate" in cfg.text else
                   cfg.text.replace("[averaging]", f"[averaging]\nerror_estimate = {str(error_estimate).lower()}", 1))
    estimate = runner.estimate_resources(cfg)
    ens, rule, settings = build_ensemble(cfg)
    T, B = np.asarray(cfg.grid.temperature_K), np.asarray(cfg.grid.field_T)
    ratio_max = 1.0
    plan = ensemble._plan(ens, settings, rule, ensemble._energy_scale_K(ens, T, B, ratio_max))
    built = {id(nodes): len(nodes) for _, nodes, _ in plan}
    assert estimate.n_nodes == len(plan[0][1])
    assert estimate.n_nodes_total == sum(built.values())  # (the counts the rules of the ensemble build)
    plan_rule = plan[0][2]
    assert estimate.n_orientations == (0 if plan_rule is None else len(plan_rule.weights))
    assert estimate.memory_bytes > 8 * estimate.n_nodes_total and estimate.time_s > 0


def test_estimate_bounds_the_measured_peak_memory(tmp_path):
    import tracemalloc

    cfg = cfg_from(THREE_LEVEL, **{"nodes = { D = 6, D0 = 2, alpha = 6 }": "nodes = { D = 40, D0 = 10, alpha = 40 }"})
    run_to_file(cfg, tmp_path / "warm.h5")
    tracemalloc.start()
    try:
        out = run_to_file(cfg, tmp_path / "r.h5")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the estimate bounds what the run allocates, by less than a factor 3 (it counts every
    # sub-rule and null-rule row of the embedded rules; 1.6-2x on the shipped configs)
    assert peak <= out.estimate.memory_bytes < 3 * peak


@pytest.mark.parametrize(
    "replacements, key",
    [
        pytest.param({"nodes = { D = 6, D0 = 2, alpha = 6 }": 'method = "monte_carlo"\nsamples = 1000000000000'},
                     "averaging.samples", id="samples-TiB"),
        pytest.param({"nodes = { D = 6, D0 = 2, alpha = 6 }": "level = 12"}, "averaging.level", id="level"),
        pytest.param({"nodes = { D = 6, D0 = 2, alpha = 6 }": "nodes = { D = 6, D0 = 2, alpha = 100000000000 }"},
                     "averaging.nodes.alpha", id="nodes"),
        pytest.param({"orientation_nodes = 3": "orientation_nodes = 10000000"}, "averaging.orientation_nodes",
                     id="orientations"),
    ],
)
def test_runs_that_cannot_fit_in_memory_are_refused_before_anything(tmp_path, monkeypatch, replacements, key):
    _no_computing(monkeypatch)
    cfg = cfg_from(THREE_LEVEL, **replacements)
    out = tmp_path / "r.h5"
    with pytest.raises(ConfigError) as info:
        run_to_file(cfg, out)
    message = str(info.value)
    assert message.startswith(f"run.toml: {key}: the run needs an estimated ") and "\n" not in message
    assert "iB of memory" in message and "available" in message
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match=key):
        run(cfg)


def test_memory_check_uses_the_documented_fraction(monkeypatch):
    from tunnelsim import resources

    estimate = runner.estimate_resources(cfg_from(THREE_LEVEL))
    need = estimate.memory_bytes + resources.BASELINE_BYTES
    resources.check_fits(estimate, "run.toml", available=int(need / resources.MEMORY_FRACTION) + 1)
    with pytest.raises(ConfigError, match=r"more than 0.5 of the"):
        resources.check_fits(estimate, "run.toml", available=int(need / resources.MEMORY_FRACTION) - 1)


def test_output_may_not_replace_the_config_file(tmp_path, monkeypatch):
    _no_computing(monkeypatch)
    config_path = tmp_path / "run.toml"
    config_path.write_text(THREE_LEVEL)
    cfg = load_config(config_path)
    with pytest.raises(ValueError, match=r"would replace the input file"):
        run_to_file(cfg, config_path, force=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"would replace the input file"):
        run_to_file(cfg, "./run.toml", force=True)
    assert config_path.read_text() == THREE_LEVEL


def test_output_under_a_file_is_refused_before_computing(tmp_path, monkeypatch):
    _no_computing(monkeypatch)
    (tmp_path / "plain").write_text("x")
    with pytest.raises(NotADirectoryError, match="plain: not a directory"):
        run_to_file(cfg_from(THREE_LEVEL), tmp_path / "plain" / "sub" / "r.h5")


@pytest.mark.skipif(hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0,
                    reason="root writes into read-only directories")
def test_unwritable_output_directory_is_refused_before_computing(tmp_path, monkeypatch):
    _no_computing(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            run_to_file(cfg_from(THREE_LEVEL), locked / "r.h5")
    finally:
        locked.chmod(0o700)


def test_unwritable_output_directory_found_through_access(tmp_path, monkeypatch):
    import os

    _no_computing(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    with pytest.raises(PermissionError, match="directory is not writable"):
        run_to_file(cfg_from(THREE_LEVEL), locked / "r.h5")


def test_result_set_larger_than_the_free_disk_is_refused(tmp_path, monkeypatch):
    import collections
    import shutil

    _no_computing(monkeypatch)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 100, 100))
    with pytest.raises(OSError, match="free on its file system"):
        run_to_file(cfg_from(THREE_LEVEL), tmp_path / "r.h5")


def test_result_set_and_plot_carry_one_run_id(tmp_path):
    from PIL import Image

    out = run_to_file(cfg_from(THREE_LEVEL), tmp_path / "r.h5")
    assert len(out.run_id) == 32
    assert read_result(out.result_path).attrs["run_id"] == out.run_id
    with Image.open(out.plot_path) as image:
        assert image.text["tunnelsim_run_id"] == out.run_id


def test_concurrent_forced_runs_leave_a_matching_pair(tmp_path, monkeypatch):
    import threading
    import time

    from PIL import Image

    from tunnelsim import plotting

    real = plotting.save_quicklook
    first = threading.Event()

    def slow_first(*args, **kwargs):
        if not first.is_set():
            first.set()
            time.sleep(0.5)  # the other run writes and renames meanwhile
        return real(*args, **kwargs)

    monkeypatch.setattr(plotting, "save_quicklook", slow_first)
    cfg = cfg_from(THREE_LEVEL)
    path = tmp_path / "r.h5"
    outputs, errors = [], []

    def one_run():
        try:
            outputs.append(run_to_file(cfg, path, force=True))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(outputs) == 2
    with Image.open(path.with_suffix(".png")) as image:
        png_id = image.text["tunnelsim_run_id"]
    assert read_result(path).attrs["run_id"] == png_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5", "r.png"]


def test_outputs_get_the_umask_mode(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        out = run_to_file(cfg_from(THREE_LEVEL), tmp_path / "r.h5")
    finally:
        os.umask(old)
    for path in (out.result_path, out.plot_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640


# --------------------------------------------------------------------------- Eq. 15 over extreme temperatures
def test_eq15_run_from_1e_4_to_1e4_kelvin_is_computed():
    cfg = cfg_from(THREE_LEVEL, **{
        "temperature_K = [2.0, 10.0, 40.0]": "temperature_K = [1e-4, 1e-3, 1e-2, 1.0, 100.0, 1e4]",
        "[averaging]": TD_LINES,
        'observables = ["magnetization", "entropy"]': 'observables = ["magnetization", "entropy", "heat_capacity"]',
    })
    result = run(cfg)
    for name, value in result.values.items():
        assert np.all(np.isfinite(value)), name
    M = result.values["magnetization"]
    # N_tunn -> 0 far below delta_mu: the moment vanishes, the entropy tends to a constant
    assert np.all(np.abs(M[:2]) < 1e-100 * np.abs(M[3]))
    np.testing.assert_allclose(result.values["entropy"][0], result.values["entropy"][1], rtol=1e-12)


@pytest.mark.parametrize(
    "replacements, key",
    [
        pytest.param({"[averaging]": '[temperature_dependence]\ndelta_mu_K = 0.319\nT0_K = 1e-3\n[averaging]'},
                     "temperature_dependence.T0_K", id="T0-1e-3"),
        pytest.param({"[averaging]": '[temperature_dependence]\ndelta_mu_K = 1e20\nT0_K = 1.26\n[averaging]'},
                     "temperature_dependence.delta_mu_K", id="delta-mu-huge"),
    ],
)
def test_eq15_ratio_beyond_representable_is_refused_naming_the_key(tmp_path, monkeypatch, replacements, key):
    _no_computing(monkeypatch)
    cfg = cfg_from(THREE_LEVEL, **replacements)
    for call in (lambda: run(cfg), lambda: run_to_file(cfg, tmp_path / "r.h5")):
        with pytest.raises(ConfigError) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"run.toml: {key}: N_tunn(T)/N_tunn(T0)") and "\n" not in message
        assert "temperatures must stay <=" in message
    assert list(tmp_path.iterdir()) == []


def test_eq16_below_its_lowest_temperature_is_refused_naming_the_key_and_the_limit(recwarn):
    """N_tunn = N0 (1 - gamma e^{E0/T}) <= 0 below E0/ln(1/gamma): one ConfigError, no overflow warning."""
    cfg = cfg_from(THREE_LEVEL, **{"[grid]": "[temperature_dependence]\ngamma = 0.1\nE0_K = 0.5\n[grid]"})
    T = np.array([1e-4, 1.0])
    with pytest.raises(ConfigError, match=r"temperature_dependence\.gamma: .* at T = 0\.0001 K .* "
                                          r"need T > E0_K/ln\(1/gamma\) = 0\.2171 K"):
        runner._check_temperature_dependence(cfg, T)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    runner._check_temperature_dependence(cfg, np.array([0.3, 1.0]))  # above the limit: fine
