"""Simulation configs: the shipped configs parse, values are converted, every error is one clear line."""

import copy
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import simulation_configs

from tunnelsim import units
from tunnelsim.config import ConfigError, SimulationConfig, load_config, parse_config

SIMULATIONS = Path(__file__).resolve().parents[1] / "simulations"
SOURCE = "quickstart.toml"

BASE = {
    "title": "test config",
    "system": {"kind": "three_level", "charge_area_A2": 30000.0},
    "distribution": {
        "kind": "ats",
        "density_per_g": 1.352e16,
        "D_min_K": 2.671e-2,
        "D0QS_min_K_A2": 2.717e5,
        "D0QS_max_K_A2": 2.925e5,
    },
    "averaging": {"method": "quadrature"},
    "grid": {"temperature_K": {"start": 2.0, "stop": 300.0, "num": 5, "scale": "log"}, "field_Oe": [1e4, 3e4]},
    "output": {"observables": ["magnetization", "heat_capacity"]},
}


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(doc):
    """A TOML document from nested dicts (top-level scalars first, one [table] per section)."""
    lines = [f"{k} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"\n[{name}]")
            lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


_DELETE = object()


def mutated(changes):
    """BASE with ``{"section.key": value}`` changes applied; ``_DELETE`` removes the entry."""
    doc = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = doc
        for name in parents:
            target = target.setdefault(name, {})
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return to_toml(doc)


def parse(changes=None):
    return parse_config(mutated(changes or {}), source=SOURCE)


# --------------------------------------------------------------------------- valid configs
@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in simulation_configs()])
def test_shipped_configs_are_valid(path):
    cfg = load_config(path)
    assert isinstance(cfg, SimulationConfig)
    assert cfg.title
    assert cfg.source == str(path)
    assert cfg.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert all(t > 0 for t in cfg.grid.temperature_K)


def test_base_config_values_and_conversions():
    cfg = parse()
    assert cfg.system.kind == "three_level" and cfg.system.charge_area_A2 == 30000.0
    p = cfg.distribution.parameters
    assert p["D0_min_K"] == pytest.approx(2.717e5 / 30000.0, rel=1e-14)
    assert p["D0_max_K"] == pytest.approx(2.925e5 / 30000.0, rel=1e-14)
    assert p["D_max_K"] == math.inf and "P_star" not in p
    assert cfg.distribution.density_per_g == 1.352e16
    np.testing.assert_allclose(cfg.grid.field_T, units.oe_to_tesla([1e4, 3e4]))
    assert cfg.grid.field_input_unit == "Oe"
    np.testing.assert_allclose(cfg.grid.temperature_K, np.geomspace(2.0, 300.0, 5), rtol=1e-14)
    assert cfg.grid.temperature_K[0] == 2.0 and cfg.grid.temperature_K[-1] == 300.0
    assert cfg.output.observables == ("magnetization", "heat_capacity")
    assert cfg.output.analytic == () and cfg.output.plot is True
    assert cfg.output.path == Path("results/quickstart.h5")
    assert cfg.temperature_dependence is None
    assert cfg.sha256 == hashlib.sha256(cfg.text.encode()).hexdigest()


def test_direct_tunnelling_cutoffs_and_optional_keys():
    cfg = parse({
        "distribution.D0QS_min_K_A2": _DELETE, "distribution.D0QS_max_K_A2": _DELETE,
        "distribution.D0_min_K": 5.0, "distribution.D0_max_K": 9.0, "distribution.D_max_K": "inf",
        "distribution.P_star": 0.1, "temperature_dependence.delta_mu_K": 0.319,
        "output.analytic": ["etm", "etm_high_field"], "output.path": "out/x.h5", "output.plot": False,
    })
    p = cfg.distribution.parameters
    assert (p["D0_min_K"], p["D0_max_K"], p["D_max_K"], p["P_star"]) == (5.0, 9.0, math.inf, 0.1)
    assert cfg.temperature_dependence.delta_mu_K == 0.319 and cfg.temperature_dependence.T0_K is None
    assert cfg.output.analytic == ("etm", "etm_high_field")
    assert cfg.output.path == Path("out/x.h5") and cfg.output.plot is False


@pytest.mark.parametrize(
    "changes, expected_T",
    [
        pytest.param({"grid.temperature_K": [1.0, 2, 4.5]}, [1.0, 2.0, 4.5], id="list-with-int"),
        pytest.param(
            {"grid.temperature_K": {"start": 1.0, "stop": 3.0, "num": 3}}, [1.0, 2.0, 3.0], id="linear-default"
        ),
        pytest.param(
            {"grid.temperature_K": {"start": 1, "stop": 100, "num": 3, "scale": "log"}}, [1.0, 10.0, 100.0], id="log"
        ),
    ],
)
def test_temperature_grid_forms(changes, expected_T):
    np.testing.assert_allclose(parse(changes).grid.temperature_K, expected_T, rtol=1e-14)


def test_field_in_tesla_including_zero():
    cfg = parse({"grid.field_Oe": _DELETE, "grid.field_T": {"start": 0.0, "stop": 2.0, "num": 3}})
    assert cfg.grid.field_T == (0.0, 1.0, 2.0) and cfg.grid.field_input_unit == "T"


def test_averaging_passes_only_given_options():
    cfg = parse({"averaging": {"level": 1, "nodes": {"D": 12}, "orientation_nodes": 4, "error_estimate": False}})
    expected = {"level": 1, "nodes": {"D": 12}, "orientation_nodes": 4, "error_estimate": False}
    assert cfg.averaging.settings_kwargs() == expected
    assert parse({"averaging": {}}).averaging.settings_kwargs() == {}


@pytest.mark.parametrize("value, expected", [
    pytest.param(None, "embedded", id="default"),
    pytest.param(True, "embedded", id="true"),
    pytest.param("embedded", "embedded", id="embedded"),
    pytest.param("doubling", "doubling", id="doubling"),
    pytest.param(False, False, id="off"),
])
def test_averaging_error_estimate_defaults_to_embedded(value, expected):
    from tunnelsim.ensemble import AveragingSettings

    changes = {"averaging": {} if value is None else {"error_estimate": value}}
    kwargs = parse(changes).averaging.settings_kwargs()
    assert AveragingSettings(**kwargs).error_estimate == expected


def test_two_level_and_four_well_configs():
    two = parse({
        "system": {"kind": "two_level"},
        "distribution": {"kind": "stm", "density_per_g": 1e17, "delta_max_K": 10.0,
                         "delta0_min_K": 1e-4, "delta0_max_K": 10.0, "P_bar": 1.0},
    })
    assert two.system.charge_area_A2 is None and two.distribution.parameters["P_bar"] == 1.0
    vertices = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0, 0, 0]]
    four = parse({"system.kind": "four_well", "system.vertices": vertices, "distribution.kind": "four_well_ats",
                  "averaging.sphere_degree": 5})
    assert four.system.vertices == tuple(tuple(float(x) for x in v) for v in vertices)


def test_default_path_from_title_for_strings():
    cfg = parse_config(mutated({"title": "My run: B/T scan"}))
    assert cfg.output.path == Path("results/My_run_B_T_scan.h5")
    assert cfg.source == "<string>"


# --------------------------------------------------------------------------- errors
ERRORS = [
    # unknown keys and sections
    pytest.param({"extra.x": 1}, "extra", "unknown section", id="unknown-section"),
    pytest.param({"name": "x"}, "name", "unknown key", id="unknown-top-key"),
    pytest.param({"system.charge_area": 1.0}, "system.charge_area", "unknown key", id="unknown-system-key"),
    pytest.param({"distribution.Dmin_K": 1.0}, "distribution.Dmin_K", "unknown key", id="unknown-distribution-key"),
    pytest.param({"averaging.nodez": {}}, "averaging.nodez", "unknown section", id="unknown-averaging-table"),
    pytest.param({"averaging.sample": 10}, "averaging.sample", "unknown key", id="unknown-averaging-key"),
    pytest.param({"grid.field": [1.0]}, "grid.field", "unknown key", id="unknown-grid-key"),
    pytest.param({"grid.temperature_K": {"start": 1.0, "stop": 2.0, "num": 2, "step": 1}},
                 "grid.temperature_K.step", "unknown key", id="unknown-range-key"),
    pytest.param({"output.observable": ["entropy"]}, "output.observable", "unknown key", id="unknown-output-key"),
    pytest.param({"temperature_dependence": {"delta_mu_K": 0.3, "T0": 1.0}}, "temperature_dependence.T0",
                 "unknown key", id="unknown-td-key"),
    pytest.param({"distribution.P_bar": 1.0}, "distribution.P_bar", "unknown key", id="key-of-other-kind"),
    # wrong types
    pytest.param({"distribution.D_min_K": True}, "distribution.D_min_K", "must be a number, got boolean true",
                 id="bool-is-not-a-number"),
    pytest.param({"distribution.density_per_g": "1e16"}, "distribution.density_per_g", "must be a number",
                 id="string-number"),
    pytest.param({"averaging.level": 1.5}, "averaging.level", "must be an integer", id="float-level"),
    pytest.param({"averaging.seed": False}, "averaging.seed", "must be an integer", id="bool-seed"),
    pytest.param({"averaging.error_estimate": 1}, "averaging.error_estimate", "must be a boolean", id="int-bool"),
    pytest.param({"output.plot": "yes"}, "output.plot", "must be a boolean", id="string-bool"),
    pytest.param({"title": 3}, "title", "must be a string", id="title-int"),
    pytest.param({"system.kind": "two-level"}, "system.kind", "must be one of", id="bad-kind"),
    pytest.param({"averaging.method": "mc"}, "averaging.method", "must be one of", id="bad-method"),
    pytest.param({"output.observables": "magnetization"}, "output.observables", "must be an array", id="not-a-list"),
    # values out of range
    pytest.param({"distribution.D_min_K": -1.0}, "distribution.D_min_K", "must be > 0, got -1.0", id="negative"),
    pytest.param({"distribution.density_per_g": 0.0}, "distribution.density_per_g", "must be > 0", id="zero-density"),
    pytest.param({"system.charge_area_A2": math.nan}, "system.charge_area_A2", "must be finite", id="nan"),
    pytest.param({"distribution.D_max_K": -math.inf}, "distribution.D_max_K", "must be finite", id="minus-inf"),
    pytest.param({"distribution.D_min_K": math.inf}, "distribution.D_min_K", "must be finite", id="inf-not-allowed"),
    pytest.param({"grid.temperature_K": [2.0, -1.0]}, "grid.temperature_K[1]", "must be > 0", id="negative-T"),
    pytest.param({"grid.temperature_K": [0.0, 1.0]}, "grid.temperature_K[0]", "must be > 0", id="zero-T"),
    pytest.param({"grid.temperature_K": [1.0, math.nan]}, "grid.temperature_K[1]", "must be finite", id="nan-T"),
    pytest.param({"grid.temperature_K": {"start": 0.0, "stop": 2.0, "num": 3}}, "grid.temperature_K.start",
                 "must be > 0", id="zero-T-start"),
    pytest.param({"grid.temperature_K": [3.0, 2.0]}, "grid.temperature_K", "strictly increasing", id="decreasing"),
    pytest.param({"grid.temperature_K": []}, "grid.temperature_K", "must not be empty", id="empty"),
    pytest.param({"grid.temperature_K": {"start": 1.0, "stop": 2.0, "num": 1}}, "grid.temperature_K.num",
                 "must be >= 2", id="num-1"),
    pytest.param({"grid.temperature_K": {"start": 3.0, "stop": 2.0, "num": 4}}, "grid.temperature_K.start",
                 "must be < stop", id="start-above-stop"),
    pytest.param({"grid.field_Oe": [-1.0]}, "grid.field_Oe[0]", "must be >= 0", id="negative-field"),
    pytest.param({"grid.field_Oe": [math.inf]}, "grid.field_Oe[0]", "must be finite", id="inf-field"),
    pytest.param({"grid.field_Oe": {"start": 0.0, "stop": 1e4, "num": 3, "scale": "log"}}, "grid.field_Oe.start",
                 "must be > 0 for scale = 'log'", id="log-from-zero"),
    pytest.param({"distribution.D_max_K": 0.01}, "distribution.D_min_K", "must be < D_max_K", id="Dmin-ge-Dmax"),
    pytest.param({"distribution.D0QS_min_K_A2": 3e5}, "distribution.D0QS_min_K_A2", "must be < D0QS_max_K_A2",
                 id="D0QS-min-ge-max"),
    pytest.param({"distribution.D0QS_min_K_A2": _DELETE, "distribution.D0QS_max_K_A2": _DELETE,
                  "distribution.D0_min_K": 9.0, "distribution.D0_max_K": 9.0}, "distribution.D0_min_K",
                 "must be < D0_max_K", id="D0min-eq-D0max"),
    pytest.param({"averaging.samples": 1}, "averaging.samples", "must be >= 2", id="one-sample"),
    pytest.param({"averaging.nodes": {"D": 0}}, "averaging.nodes.D", "must be >= 1", id="zero-nodes"),
    pytest.param({"temperature_dependence.delta_mu_K": -0.1}, "temperature_dependence.delta_mu_K", "must be >= 0",
                 id="negative-dmu"),
    # missing sections and keys
    pytest.param({"title": _DELETE}, "title", "missing required key", id="no-title"),
    pytest.param({"system": _DELETE}, "system", "missing required section", id="no-system"),
    pytest.param({"grid": _DELETE}, "grid", "missing required section", id="no-grid"),
    pytest.param({"system.kind": _DELETE}, "system.kind", "missing required key", id="no-system-kind"),
    pytest.param({"system.charge_area_A2": _DELETE}, "system.charge_area_A2", "missing required key", id="no-area"),
    pytest.param({"distribution.density_per_g": _DELETE}, "distribution.density_per_g", "missing", id="no-density"),
    pytest.param({"distribution.D_min_K": _DELETE}, "distribution.D_min_K", "missing", id="no-Dmin"),
    pytest.param({"distribution.D0QS_max_K_A2": _DELETE}, "distribution.D0QS_max_K_A2", "missing", id="half-product"),
    pytest.param({"distribution.D0QS_min_K_A2": _DELETE, "distribution.D0QS_max_K_A2": _DELETE},
                 "distribution.D0_min_K", "missing required key", id="no-D0"),
    pytest.param({"distribution.D0_min_K": 1.0}, "distribution.D0QS_min_K_A2", "not both", id="both-D0-forms"),
    pytest.param({"grid.temperature_K": _DELETE}, "grid.temperature_K", "missing required key", id="no-T"),
    pytest.param({"grid.field_Oe": _DELETE}, "grid.field_T", "exactly one of field_T or field_Oe", id="no-field"),
    pytest.param({"grid.field_T": [1.0]}, "grid.field_Oe", "exactly one of", id="both-fields"),
    pytest.param({"temperature_dependence.T0_K": 1.0}, "temperature_dependence.delta_mu_K", "missing", id="no-dmu"),
    # kinds and outputs that do not fit together
    pytest.param({"distribution.kind": "stm"}, "distribution.kind", "needs system.kind = 'two_level'", id="mismatch"),
    pytest.param({"system.kind": "four_well"}, "distribution.kind", "'ats' needs system.kind = 'three_level'",
                 id="mismatch-four-well"),
    pytest.param({"system.vertices": [[0, 0, 0]] * 4}, "system.vertices", "only used by system kind 'four_well'",
                 id="vertices-three-level"),
    pytest.param({"system.kind": "four_well", "distribution.kind": "four_well_ats",
                  "system.vertices": [[0.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0]]}, "system.vertices",
                 "volume", id="flat-tetrahedron"),
    pytest.param({"system.kind": "four_well", "distribution.kind": "four_well_ats", "system.vertices": [[0.0, 0, 0]]},
                 "system.vertices", "4 points", id="vertices-shape"),
    pytest.param({"averaging.sphere_degree": 5}, "averaging.sphere_degree", "only used by system kind 'four_well'",
                 id="sphere-degree-3ls"),
    pytest.param({"output.observables": ["magnetisation"]}, "output.observables[0]", "must be one of",
                 id="unknown-observable"),
    pytest.param({"output.observables": ["entropy", "entropy"]}, "output.observables[1]", "listed twice",
                 id="duplicate-observable"),
    pytest.param({"output.observables": []}, "output.observables", "at least one", id="no-observables"),
    pytest.param({"output.analytic": ["etm", "eq10"]}, "output.analytic[1]",
                 "must be one of etm, etm_high_field, etm_shortcut, got 'eq10'", id="unknown-analytic"),
    pytest.param({"output.analytic": [3]}, "output.analytic[0]", "must be a string", id="analytic-not-string"),
    pytest.param({"output.path": " "}, "output.path", "must not be empty", id="empty-path"),
]


@pytest.mark.parametrize("changes, key, fragment", ERRORS)
def test_errors_are_one_line_naming_file_and_key(changes, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse(changes)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{SOURCE}: {key}: "), message
    assert fragment in message, message


@pytest.mark.parametrize(
    "doc, key, fragment",
    [
        pytest.param(
            {"title": "t", "system": {"kind": "two_level"},
             "distribution": {"kind": "stm", "density_per_g": 1.0, "delta_max_K": 1.0, "delta0_min_K": 2.0,
                              "delta0_max_K": 1.0},
             "grid": {"temperature_K": [1.0], "field_T": [0.0]}},
            "distribution.delta0_min_K", "must be < delta0_max_K", id="stm-order"),
        pytest.param(
            {"title": "t", "system": {"kind": "two_level", "charge_area_A2": 1.0}},
            "system.charge_area_A2", "not used by system kind 'two_level'", id="area-two-level"),
        pytest.param(
            {"title": "t", "system": {"kind": "two_level"},
             "distribution": {"kind": "stm", "density_per_g": 1.0, "delta_max_K": 1.0, "delta0_min_K": 0.1,
                              "delta0_max_K": 1.0},
             "temperature_dependence": {"delta_mu_K": 0.3},
             "grid": {"temperature_K": [1.0], "field_T": [0.0]}},
            "temperature_dependence", "not to two_level", id="td-two-level"),
        pytest.param(
            {"title": "t", "system": {"kind": "three_level", "charge_area_A2": 1.0},
             "distribution": {"kind": "standard", "density_per_g": 1.0, "D_max_K": 1.0, "D0_min_K": 0.1,
                              "D0_max_K": 1.0},
             "grid": {"temperature_K": [1.0], "field_T": [0.0]}, "output": {"analytic": ["etm"]}},
            "output.analytic", "distribution.kind = 'ats'", id="analytic-standard"),
    ],
)
def test_errors_of_other_kinds(doc, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config(to_toml(doc), source=SOURCE)
    assert str(info.value).startswith(f"{SOURCE}: {key}: ") and fragment in str(info.value), str(info.value)


def test_section_that_is_not_a_table():
    with pytest.raises(ConfigError, match=r"^quickstart.toml: grid: must be a table \[grid\], got 3$"):
        parse_config('title = "t"\ngrid = 3\n', source=SOURCE)


def test_invalid_toml_reports_the_line():
    text = 'title = "t"\n[system]\nkind = "three_level"\ncharge_area_A2 = \n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, source=SOURCE)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: invalid TOML:") and "line 4" in message and "\n" not in message


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(mutated({"distribution.D_min_K": -1.0}))
    with pytest.raises(ConfigError, match=r"bad\.toml: distribution\.D_min_K: must be > 0, got -1\.0$"):
        load_config(path)
    good = tmp_path / "good run.toml"
    good.write_text(mutated({}))
    assert load_config(good).output.path == Path("results/good run.h5")


@pytest.mark.parametrize(
    "content, fragment",
    [pytest.param(None, "cannot read config", id="missing"), pytest.param(b"title = '\xff'", "not UTF-8", id="binary")],
)
def test_unreadable_config_files(tmp_path, content, fragment):
    path = tmp_path / "c.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_config(path)
    assert str(info.value).startswith(str(path))


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_eq16_temperature_dependence_in_a_config_runs_and_scales_like_its_ratio():
    """[temperature_dependence] with gamma and E0_K (Eq. 16): parsed, run, and equal to the plain run
    with every parameter scaled by N(T)/N(T0) = (1 - Gamma e^{E0/T}) / (1 - Gamma e^{E0/T0})."""
    from tunnelsim import runner
    from tunnelsim.temperature_dependence import tunnelling_number_ratio_activated

    base = {"grid.temperature_K": [4.0], "grid.field_Oe": [20000.0], "output.observables": ["magnetization"],
            "averaging.error_estimate": False}
    cfg = parse({**base, "temperature_dependence.gamma": 0.2, "temperature_dependence.E0_K": 1.0})
    tdc = cfg.temperature_dependence
    assert (tdc.delta_mu_K, tdc.gamma, tdc.E0_K) == (None, 0.2, 1.0)
    res = runner.run(cfg)
    assert res.info["temperature_law"] == "eq16" and res.info["gamma"] == 0.2
    r = float(tunnelling_number_ratio_activated(4.0, 0.2, 1.0, 1.26))
    p = cfg.distribution.parameters
    plain = parse({**base, "system.charge_area_A2": cfg.system.charge_area_A2 * r**2,
                   "distribution.D_min_K": p["D_min_K"] * r,
                   "distribution.D0QS_min_K_A2": _DELETE, "distribution.D0QS_max_K_A2": _DELETE,
                   "distribution.D0_min_K": p["D0_min_K"] * r, "distribution.D0_max_K": p["D0_max_K"] * r})
    ref = runner.run(plain)
    np.testing.assert_allclose(res.values["magnetization"], ref.values["magnetization"], rtol=1e-3)


@pytest.mark.parametrize("table, message", [
    pytest.param({"temperature_dependence.delta_mu_K": 0.3, "temperature_dependence.gamma": 0.1}, "not both",
                 id="both-laws"),
    pytest.param({"temperature_dependence.gamma": 0.1}, "E0_K", id="eq16-no-E0"),
])
def test_eq16_config_errors(table, message):
    with pytest.raises(ConfigError, match=message):
        parse(table)


# --------------------------------------------------------------------------- extreme values
_EXTREME_BASE = """title = "extremes"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.4e16
D_min_K = 5.99e-2
D0QS_min_K_A2 = 0.887e5
D0QS_max_K_A2 = 1.2e5
[temperature_dependence]
delta_mu_K = 0.48
T0_K = 1.26
[grid]
temperature_K = [2.0, 300.0]
field_T = [3.0]
"""


@pytest.mark.parametrize(
    "old, new, key",
    [
        pytest.param("charge_area_A2 = 30000.0", "charge_area_A2 = 1e-300", "system.charge_area_A2", id="qs-tiny"),
        pytest.param("charge_area_A2 = 30000.0", "charge_area_A2 = 1e300", "system.charge_area_A2", id="qs-huge"),
        pytest.param("delta_mu_K = 0.48", "delta_mu_K = 1e300", "temperature_dependence.delta_mu_K", id="dmu-huge"),
        pytest.param("T0_K = 1.26", "T0_K = 1e-300", "temperature_dependence.T0_K", id="T0-tiny"),
        pytest.param("T0_K = 1.26", "T0_K = 1e300", "temperature_dependence.T0_K", id="T0-huge"),
    ],
)
def test_unrepresentable_physics_values_are_refused_naming_the_key(old, new, key):
    with pytest.raises(ConfigError) as info:
        parse_config(_EXTREME_BASE.replace(old, new), "x.toml")
    message = str(info.value)
    assert message.startswith(f"x.toml: {key}: must be between") and "\n" not in message


def test_grid_axis_too_large_for_memory_is_refused_before_it_is_built():
    text = _EXTREME_BASE.replace("temperature_K = [2.0, 300.0]",
                                 "temperature_K = { start = 2.0, stop = 300.0, num = 1000000000000 }")
    with pytest.raises(ConfigError, match=r"^x.toml: grid.temperature_K.num: 1000000000000 points need an estimated "
                                          r"[\d.]+ TiB of memory for the axis alone"):
        parse_config(text, "x.toml")


# --------------------------------------------------------------------------- [dielectric]
DIELECTRIC = {"output.observables": ["permittivity", "loss_tangent"]}


def test_dielectric_defaults_are_a_bk7_like_glass():
    from tunnelsim.config import DIELECTRIC_DEFAULTS, DielectricConfig

    cfg = parse(DIELECTRIC)
    assert cfg.dielectric == DielectricConfig() and cfg.dielectric.stm is None
    s = cfg.dielectric.settings()
    assert (s.frequency_Hz, s.linewidth_K, s.field_direction) == (0.0, 0.0, "parallel")
    assert (s.mass_density_g_cm3, s.eps_r) == (2.5, 6.0)
    assert (s.sound_velocity_l_m_s, s.sound_velocity_t_m_s) == (5800.0, 3500.0)
    assert 0.3 <= s.deformation_potential_t_eV <= s.deformation_potential_l_eV <= 2.0
    assert DIELECTRIC_DEFAULTS["dipole_moment_D"] == cfg.dielectric.dipole_moment_D == 1.0
    assert parse().dielectric is None  # no dielectric observable, no section: nothing dielectric


def test_dielectric_keys_and_stm_background():
    cfg = parse({**DIELECTRIC, "dielectric.frequency_Hz": 1e3, "dielectric.linewidth_K": 1e-4,
                 "dielectric.field_direction": "perpendicular", "dielectric.mass_density_g_cm3": 2.51,
                 "dielectric.relative_permittivity": 6.7, "dielectric.deformation_potential_l_eV": 0.9,
                 "dielectric.deformation_potential_t_eV": 0.6, "dielectric.sound_velocity_l_m_s": 6000,
                 "dielectric.sound_velocity_t_m_s": 3700.0, "dielectric.dipole_moment_D": 2.0,
                 "dielectric.stm": {"density_per_g": 5e16, "delta_max_K": 1.0, "delta0_min_K": 1e-4,
                                    "delta0_max_K": 1.0}})
    d = cfg.dielectric
    assert d.settings().eps_r == 6.7 and d.settings().field_direction == "perpendicular"
    assert d.sound_velocity_l_m_s == 6000.0 and isinstance(d.sound_velocity_l_m_s, float)
    assert (d.stm.density_per_g, d.stm.delta0_min_K, d.stm.dipole_moment_D) == (5e16, 1e-4, 2.0)  # p inherited


@pytest.mark.parametrize(
    "changes, message",
    [
        pytest.param({"dielectric.frequency_Hz": -1.0}, r"dielectric.frequency_Hz: must be >= 0", id="frequency"),
        pytest.param({"dielectric.linewidth_K": "wide"}, r"dielectric.linewidth_K: must be a number", id="linewidth"),
        pytest.param({"dielectric.field_direction": "diagonal"},
                     r"dielectric.field_direction: must be one of parallel, perpendicular", id="direction"),
        pytest.param({"dielectric.mass_density_g_cm3": 0.0}, r"dielectric.mass_density_g_cm3: must be > 0",
                     id="density"),
        pytest.param({"dielectric.relative_permittivity": 0.5}, r"dielectric.relative_permittivity: must be >= 1",
                     id="eps_r"),
        pytest.param({"dielectric.eps_r": 6.0}, r"dielectric.eps_r: unknown key; expected one of", id="eps_r-name"),
        pytest.param({"dielectric.deformation_potential_l_eV": -0.1}, r"dielectric.deformation_potential_l_eV: "
                     r"must be >= 0", id="gamma_l"),
        pytest.param({"dielectric.deformation_potential_t_eV": True}, r"dielectric.deformation_potential_t_eV: "
                     r"must be a number", id="gamma_t"),
        pytest.param({"dielectric.sound_velocity_l_m_s": math.inf}, r"dielectric.sound_velocity_l_m_s: must be "
                     r"finite", id="v_l"),
        pytest.param({"dielectric.sound_velocity_t_m_s": -3500.0}, r"dielectric.sound_velocity_t_m_s: must be > 0",
                     id="v_t"),
        pytest.param({"dielectric.dipole_moment_D": 0}, r"dielectric.dipole_moment_D: must be > 0", id="p"),
        pytest.param({"dielectric.stm": 3}, r"dielectric.stm: must be a table, got", id="stm-not-table"),
        pytest.param({"dielectric.stm": {"delta_max_K": 1.0, "delta0_min_K": 1e-4, "delta0_max_K": 1.0}},
                     r"dielectric.stm.density_per_g: missing required key", id="stm-density"),
        pytest.param({"dielectric.stm": {"density_per_g": 1e16, "delta_max_K": 1.0, "delta0_min_K": 1.0,
                                         "delta0_max_K": 0.1}},
                     r"dielectric.stm.delta0_min_K: must be < delta0_max_K = 0.1", id="stm-order"),
        pytest.param({"dielectric.stm": {"density_per_g": 1e16, "delta_max_K": 1.0, "delta0_min_K": 1e-4,
                                         "delta0_max_K": 1.0, "P_bar": 1.0}},
                     r"dielectric.stm.P_bar: unknown key", id="stm-unknown"),
        pytest.param({"dielectric.stm": {"density_per_g": 1e16, "delta_max_K": 1.0, "delta0_min_K": 1e-4,
                                         "delta0_max_K": 1.0, "dipole_moment_D": -1.0}},
                     r"dielectric.stm.dipole_moment_D: must be > 0", id="stm-p"),
        pytest.param({"output.observables": ["permittivity", "permitivity"]},
                     r"output.observables\[1\]: must be one of .*loss_tangent", id="observable-typo"),
        pytest.param({"temperature_dependence.delta_mu_K": 0.319},
                     r"temperature_dependence: not supported with the dielectric observables", id="eq15"),
        pytest.param({"output.analytic": ["etm", "etm_high_field"]},
                     r"output.analytic\[1\]: 'etm_high_field' is a magnetisation formula", id="analytic"),
    ],
)
def test_dielectric_errors_name_the_key(changes, message):
    with pytest.raises(ConfigError) as info:
        parse({**DIELECTRIC, **changes})
    text = str(info.value)
    assert text.startswith(f"{SOURCE}: ") and "\n" not in text
    assert re.search(message, text), text


def test_dielectric_section_without_a_dielectric_observable_is_refused():
    with pytest.raises(ConfigError, match=r"^quickstart.toml: dielectric: no dielectric observable in "
                                          r"output.observables"):
        parse({"dielectric.frequency_Hz": 1e3})


def test_dielectric_observables_with_magnetic_ones_keep_every_analytic_output():
    cfg = parse({"output.observables": ["magnetization", "permittivity"],
                 "output.analytic": ["etm", "etm_high_field"]})
    assert cfg.output.observables == ("magnetization", "permittivity")
    assert cfg.output.analytic == ("etm", "etm_high_field")


def test_dielectric_four_well_needs_the_regular_tetrahedron():
    vertices = [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.2]]
    changes = {**DIELECTRIC, "system.kind": "four_well", "distribution.kind": "four_well_ats"}
    assert parse(changes).dielectric is not None
    with pytest.raises(ConfigError, match=r"^quickstart.toml: system.vertices: the dielectric observables use the "
                                          r"regular tetrahedron"):
        parse({**changes, "system.vertices": vertices})
