"""The echo observable: the ATS echo against B on a (T, B) grid (tunnelsim.dielectric.echo_map), in configs
and result sets."""

import math

import numpy as np
import pytest

from tunnelsim import units
from tunnelsim.config import ConfigError, parse_config
from tunnelsim.dielectric.echo_map import EchoSettings, echo_map
from tunnelsim.distributions import ATSDistribution
from tunnelsim.results import read_result
from tunnelsim.runner import run_to_file

DIST = ATSDistribution(D_min_K=2.671e-2, D0_min_K=2.717e5 / 3e4, D0_max_K=2.925e5 / 3e4)
KW = dict(density_per_g=1.352e16, dipole_moment_D=1.0, charge_area_A2=3e4)
SMALL = EchoSettings(n_D=128, n_u=64)


def test_weak_field_echo_follows_the_polarisation_of_the_resonant_systems():
    """At B -> 0 the driven systems are those with gap h f; their echo is proportional to the population
    difference tanh(h f / 2 k_B T) (Hahn echo of a 2LS, Hunklinger & Arnold 1976), so the ratio of two
    temperatures is that of the tanh factors (to 1 %: the few systems with other gaps are off resonance)."""
    T = np.array([0.01, 0.05])
    values, _ = echo_map(DIST, T, [1e-4], SMALL, **KW)
    a = values["echo_amplitude"][:, 0]
    quantum_K = units.H_PLANCK_J_S * 1e9 / units.K_B_J_PER_K
    expected = math.tanh(quantum_K / (2 * 0.01)) / math.tanh(quantum_K / (2 * 0.05))
    assert a[0] / a[1] == pytest.approx(expected, rel=0.01)


def test_error_estimate_covers_a_refined_rule():
    """The half-rule estimate bounds the difference to a rule with 4x the nodes in ln D and u."""
    T, B = np.array([0.02]), np.array([1e-4, 5e-3, 2e-2])
    values, errors = echo_map(DIST, T, B, SMALL, **KW)
    ref, _ = echo_map(DIST, T, B, EchoSettings(n_D=512, n_u=256), error_estimate=False, **KW)
    true = np.abs(values["echo_amplitude"] - ref["echo_amplitude"])
    assert np.all(true <= errors["echo_amplitude"])
    _, none = echo_map(DIST, T, B, SMALL, error_estimate=False, **KW)
    assert np.all(np.isnan(none["echo_amplitude"]))


def test_the_echo_depends_on_the_field():
    """The AB splitting sweeps systems through resonance: the echo changes by far more than its error
    between 0.1 mT and 15 mT (at 10 mK it roughly doubles, benchmarks/echoes.md)."""
    values, errors = echo_map(DIST, [0.01], [1e-4, 1.5e-2], EchoSettings(n_D=256, n_u=128), **KW)
    a, e = values["echo_amplitude"][0], errors["echo_amplitude"][0]
    assert a[1] / a[0] > 1.5 and abs(a[1] - a[0]) > 3 * (e[0] + e[1])


CONFIG = """title = "echo"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.352e16
D_min_K = 2.671e-2
D0QS_min_K_A2 = 2.717e5
D0QS_max_K_A2 = 2.925e5
[dielectric.echo]
nodes = { D = 64, u = 32 }
[grid]
temperature_K = [0.01, 0.05]
field_T = [1.0e-4, 1.0e-2]
[output]
observables = ["echo_amplitude"]
plot = false
"""


def test_echo_observable_in_a_result_set(tmp_path):
    cfg = parse_config(CONFIG.replace('plot = false', f'plot = false\npath = "{tmp_path / "e.h5"}"'), "echo.toml")
    assert cfg.dielectric.echo.n_D == 64 and cfg.dielectric.echo.pulse2_s == pytest.approx(4e-8)
    out = run_to_file(cfg)
    rs = read_result(out.result_path)
    assert rs.units["echo_amplitude"] == "D/g"
    direct, _ = echo_map(DIST, [0.01, 0.05], [1e-4, 1e-2], cfg.dielectric.echo, **KW)
    np.testing.assert_allclose(rs.values["echo_amplitude"], direct["echo_amplitude"], rtol=1e-12)
    assert np.all(np.isfinite(rs.errors["echo_amplitude"]))


@pytest.mark.parametrize("change, fragment", [
    (('kind = "three_level"\ncharge_area_A2 = 30000.0\n[distribution]\nkind = "ats"\ndensity_per_g = 1.352e16\n'
      'D_min_K = 2.671e-2\nD0QS_min_K_A2 = 2.717e5\nD0QS_max_K_A2 = 2.925e5',
      'kind = "two_level"\n[distribution]\nkind = "stm"\ndensity_per_g = 1e16\ndelta_max_K = 1.0\n'
      'delta0_min_K = 1e-4\ndelta0_max_K = 1.0'), "echo_amplitude needs the ATS distribution"),
    (("nodes = { D = 64, u = 32 }", "nodes = { D = 64, x = 32 }"), "dielectric.echo.nodes.x: unknown axis"),
    (("nodes = { D = 64, u = 32 }", "pulse1_s = -1.0"), "dielectric.echo.pulse1_s: must be > 0"),
    (('observables = ["echo_amplitude"]', 'observables = ["permittivity"]'),
     "dielectric.echo: no echo observable in output.observables"),
])
def test_bad_echo_configs_name_the_key(change, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_config(CONFIG.replace(*change), "echo.toml")
