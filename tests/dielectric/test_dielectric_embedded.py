"""Embedded Gauss-Kronrod error estimate of dielectric maps (tunnelsim.dielectric._embedded).

Every weighted total the estimate reads (main rule, node sub-rules and null rules from per-axis bin
sums, orientation sub-rules, the absolute row) must equal the direct weighted sum over the same
nodes and orientations; the estimate must cover a refined reference at low field, where the default
rule converges; node doubling stays selectable.
"""

import dataclasses

import numpy as np
import pytest

from tunnelsim import distributions, orientations
from tunnelsim.dielectric import _embedded, response
from tunnelsim.dielectric.ensemble import _node_parts, permittivity_map
from tunnelsim.ensemble import AveragingSettings

P_D = 1.3
CASES = {
    "two_level": (distributions.STMDistribution(1.0, 1e-4, 1.0), None, {"delta": 6, "delta0": 6}),
    "three_level": (distributions.ATSDistribution(D_min_K=1e-2, D0_min_K=0.5, D0_max_K=0.6, D_max_K=10.0),
                    orientations.planar_rule(8), {"D": 6, "D0": 2, "alpha": 6}),
    "four_well": (distributions.FourWellATSDistribution(D_min_K=0.05, D0_min_K=0.5, D0_max_K=1.0, D_max_K=5.0),
                  orientations.sphere_rule(7), {"D": 4, "D0": 2, "direction": 4}),
}


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("settings", [response.DielectricSettings(),
                                      response.DielectricSettings(frequency_Hz=1e3, linewidth_K=1e-3)],
                         ids=["static", "1kHz"])
def test_every_total_equals_the_direct_weighted_sum(kind, settings):
    """Main, node sub-rule (factored and explicit), orientation sub-rule and absolute rows equal
    _node_parts with those weights to 1e-12 of the row's (or the main sum's) largest value."""
    dist, rule, counts = CASES[kind]
    nodes = dist.quadrature(nodes=counts, energy_scale_K=1.0, embedded=True)
    rule = None if rule is None else orientations.with_embedded(rule)
    T, B = np.array([0.05, 0.5]), np.array([0.0, 0.3])
    totals = _embedded.embedded_totals(kind, nodes, rule, T, B, settings, P_D, 1e4)
    w = np.asarray(nodes.weights)

    def direct(weights, orientation_rule):
        out = np.zeros((T.size, B.size, 4))
        for j, b in enumerate(B):
            out[:, j] = _node_parts(kind, nodes.params, weights, orientation_rule, T, b, settings, P_D, 1e4).sum(axis=0)
        return out

    main = direct(w, rule)
    main_scale = np.abs(main).max(axis=(0, 1))

    def check(key_of_part, expected):
        # null rows cancel: their rounding is that of the terms, so the scale is at least the main sum's
        got = np.stack([totals[key_of_part(p)] for p in _embedded.PART_NAMES], axis=-1)
        scale = np.maximum(np.abs(expected).max(axis=(0, 1)), main_scale) + 1e-300
        assert np.all(np.abs(got - expected).max(axis=(0, 1)) <= 1e-12 * scale)

    check(lambda p: p, main)
    node_subs = [(axis, sub) for axis, emb in nodes.embedded.items() for sub in emb.lower]
    for axis, sub in node_subs[:: max(1, len(node_subs) // 6)]:  # a spread of sub-rule and null rows
        check(lambda p: (p, axis, sub), direct(np.asarray(nodes.embedded[axis].lower[sub]), rule))
    if rule is not None:
        for axis, emb in rule.embedded.items():
            for sub in list(emb.lower)[:3]:
                check(lambda p: (p, axis, sub), direct(w, dataclasses.replace(rule, weights=emb.lower[sub])))
    abs_row = np.zeros((T.size, B.size, 4))
    for j, b in enumerate(B):
        parts = _node_parts(kind, nodes.params, np.ones(w.size), rule, T, b, settings, P_D, 1e4)
        abs_row[:, j] = np.einsum("i,itp->tp", np.abs(w), np.abs(parts))
    check(lambda p: (p, "abs"), abs_row)


def test_embedded_errors_cover_a_refined_reference_at_low_field():
    """ATS ring, BK7-like products, 20 and 100 mK at 0 and 1 mT: the reported errors cover the change
    to a rule refined 4x per axis with 32 orientations, and overstate it by less than 1e3; the
    values are the Kronrod rule's, within 1e-4 of the reference."""
    dist = distributions.ATSDistribution(D_min_K=2.671e-2, D0_min_K=9.06, D0_max_K=9.75)
    T, B = [0.02, 0.1], [0.0, 1e-3]
    kw = dict(density_per_g=1.352e16, dipole_moment_D=1.0, charge_area_A2=3e4,
              observables=("permittivity_resonant", "permittivity_relaxation"))
    info = {}
    values, errors = permittivity_map("three_level", dist, T, B, response.DielectricSettings(), info=info, **kw)
    assert info["error_estimate"].startswith("embedded")
    ref, _ = permittivity_map("three_level", dist, T, B, response.DielectricSettings(),
                              averaging=AveragingSettings(error_estimate=False, level=2, orientation_nodes=32), **kw)
    for name in kw["observables"]:
        true = np.abs(values[name] - ref[name])
        assert np.all(errors[name] >= true), (name, errors[name], true)
        assert np.all(errors[name] <= 1e3 * np.maximum(true, 1e-14 * np.abs(ref[name])))
        assert np.all(true <= 1e-4 * np.abs(ref[name]))


def test_node_doubling_stays_selectable():
    """error_estimate = "doubling" takes the old estimate (and says so); False reports NaN."""
    dist, rule, counts = CASES["three_level"]
    kw = dict(density_per_g=1e16, dipole_moment_D=1.0, charge_area_A2=1e4, observables=("permittivity",))
    info = {}
    _, err = permittivity_map("three_level", dist, [0.1], [0.0, 0.5], response.DielectricSettings(),
                              averaging=AveragingSettings(error_estimate="doubling", nodes=counts), info=info, **kw)
    assert info["error_estimate"].startswith("node doubling") and np.all(np.isfinite(err["permittivity"]))
    _, none = permittivity_map("three_level", dist, [0.1], [0.0], response.DielectricSettings(),
                               averaging=AveragingSettings(error_estimate=False, nodes=counts), **kw)
    assert np.all(np.isnan(none["permittivity"]))
