"""Tests of tunnelsim.distributions: measures, moments, the clustered alpha rule, the
infinite-D_max composite rule, (quasi-)Monte Carlo sampling and the exact STM density of states."""

import math

import numpy as np
import pytest
from scipy.integrate import dblquad, quad
from scipy.special import ellipk, i0

from tunnelsim import hamiltonians
from tunnelsim.distributions import (
    ATSDistribution,
    FourWellATSDistribution,
    ParameterSample,
    STMDistribution,
    StandardThreeLevelDistribution,
    four_well_basis,
)

TWO_PI = 2 * math.pi


def ln(a, b):
    return math.log(b / a)


# --------------------------------------------------------------------------- total measure
# (distribution, analytic total measure computed here from the cutoffs, normalised?)
MEASURE_CASES = [
    pytest.param(ATSDistribution(0.027, 9.06, 9.75, 1e3), 1.0, True, id="ats-normalised"),
    pytest.param(
        ATSDistribution(0.027, 9.06, 9.75, 1e3, P_star=0.2),
        0.2 * TWO_PI * ln(9.06, 9.75) * ln(0.027, 1e3),
        False,
        id="ats-set",
    ),
    pytest.param(StandardThreeLevelDistribution(10.0, 0.1, 1.0), 1.0, True, id="standard-normalised"),
    pytest.param(
        StandardThreeLevelDistribution(10.0, 0.1, 1.0, P_bar=1e-3),
        1e-3 * math.pi * 100.0 * ln(0.1, 1.0),
        False,
        id="standard-set",
    ),
    pytest.param(STMDistribution(10.0, 1e-3, 1.0), 1.0, True, id="stm-normalised"),
    pytest.param(STMDistribution(10.0, 1e-3, 1.0, P_bar=0.5), 0.5 * 10.0 * ln(1e-3, 1.0), False, id="stm-set"),
    pytest.param(FourWellATSDistribution(0.1, 1.0, 2.0, 100.0), 1.0, True, id="four-well-normalised"),
    pytest.param(
        FourWellATSDistribution(0.1, 1.0, 2.0, 100.0, P_star=0.3),
        0.3 * 4 * math.pi * ln(1.0, 2.0) * ln(0.1, 100.0),
        False,
        id="four-well-set",
    ),
]


@pytest.mark.parametrize("level", [pytest.param(0, id="level0"), pytest.param(1, id="level1")])
@pytest.mark.parametrize("dist, expected, normalised", MEASURE_CASES)
def test_total_weight_is_the_analytic_measure(dist, expected, normalised, level):
    sample = dist.quadrature(level=level)
    assert isinstance(sample, ParameterSample) and not sample.sampled
    assert sample.weights.sum() == pytest.approx(expected, rel=1e-12)
    assert dist.measure == pytest.approx(expected, rel=1e-14)
    assert dist.normalised is normalised
    assert ("normalised: 1/" in dist.describe()) is normalised
    assert ("set value" in dist.describe()) is (not normalised)
    assert np.all(sample.weights > 0)


def test_level_doubles_every_axis():
    dist = ATSDistribution(0.027, 9.06, 9.75, 1e3)
    counts = dist.default_nodes
    assert set(counts) == {"D", "D0", "alpha"}
    assert len(dist.quadrature()) == counts["D"] * counts["D0"] * counts["alpha"]
    assert len(dist.quadrature(level=1)) == 8 * len(dist.quadrature())
    custom = dist.quadrature(nodes={"D": 5, "D0": 3, "alpha": 10})
    assert len(custom) == 150


def test_infinite_D_max_amplitude_and_description():
    ats = ATSDistribution(0.027, 9.06, 9.75)
    assert ats.amplitude == pytest.approx(1 / TWO_PI, rel=1e-15) and not ats.normalised
    assert math.isinf(ats.measure)
    assert "1/(2 pi)" in ats.describe() and "not normalised" in ats.describe()
    four = FourWellATSDistribution(0.1, 1.0, 2.0)
    assert four.amplitude == pytest.approx(1 / (4 * math.pi), rel=1e-15) and not four.normalised
    assert set(ats.default_nodes) == {"D", "D_tail", "D0", "alpha"}
    # An explicit amplitude is a set value even if it equals the normalised one.
    finite = ATSDistribution(0.027, 9.06, 9.75, 1e3)
    same = ATSDistribution(0.027, 9.06, 9.75, 1e3, P_star=finite.amplitude)
    assert finite.normalised and not same.normalised


# --------------------------------------------------------------------------- parameter layout
@pytest.mark.parametrize(
    "dist, energy_scale",
    [
        pytest.param(ATSDistribution(0.027, 9.06, 9.75, 1e3), None, id="ats"),
        pytest.param(ATSDistribution(0.027, 9.06, 9.75), 30.0, id="ats-inf"),
        pytest.param(StandardThreeLevelDistribution(10.0, 0.1, 1.0), None, id="standard"),
        pytest.param(FourWellATSDistribution(0.1, 1.0, 2.0, 100.0), None, id="four-well"),
        pytest.param(FourWellATSDistribution(0.1, 1.0, 2.0), 5.0, id="four-well-inf"),
    ],
)
def test_asymmetries_lie_on_the_zero_sum_sphere_of_radius_D(dist, energy_scale):
    for sample in (dist.quadrature(energy_scale_K=energy_scale), dist.sample(64, 1, energy_scale_K=energy_scale)):
        E, D = sample.params["E"], sample.params["D"]
        n_wells = 3 if dist.system_kind == "three_level" else 4
        assert E.shape == (len(sample), n_wells)
        assert all(v.shape[0] == len(sample) for v in sample.params.values())
        assert np.abs(E.sum(axis=1)).max() < 1e-12 * D.max()
        assert np.allclose(np.sqrt((E**2).sum(axis=1)), D, rtol=1e-13)
        assert np.all((sample.params["D0"] >= dist.D0_min_K) & (sample.params["D0"] <= dist.D0_max_K))


def test_four_well_basis_is_orthonormal_and_traceless():
    b = four_well_basis()
    assert np.allclose(b.T @ b, np.eye(3), atol=1e-15)
    assert np.allclose(b.sum(axis=0), 0.0, atol=1e-15)


# --------------------------------------------------------------------------- moments
def test_ats_moments_analytic_and_quad():
    dmin, dmax, d0min, d0max, p = 0.027, 1e3, 0.5, 9.75, 0.2
    dist = ATSDistribution(dmin, d0min, d0max, dmax, P_star=p)
    s = dist.quadrature()
    D, D0, alpha, w = s.params["D"], s.params["D0"], s.params["alpha"], s.weights
    L_D, L_D0 = ln(dmin, dmax), ln(d0min, d0max)
    mean_log = p * TWO_PI * L_D0 * (math.log(dmax) ** 2 - math.log(dmin) ** 2) / 2
    assert w @ np.log(D) == pytest.approx(mean_log, rel=1e-12)
    assert w @ D0**2 == pytest.approx(p * TWO_PI * L_D * (d0max**2 - d0min**2) / 2, rel=1e-12)
    assert w @ (1 / D) == pytest.approx(p * TWO_PI * L_D0 * (1 / dmin - 1 / dmax), rel=1e-12)
    assert w @ np.cos(3 * alpha) ** 2 == pytest.approx(p * math.pi * L_D * L_D0, rel=1e-10)
    # A 2LS-like integrand against scipy.integrate.dblquad in (ln D, ln D0).
    f = lambda D, D0: D0**2 / (D**2 + D0**2)  # noqa: E731
    ref = dblquad(
        lambda x0, x: f(math.exp(x), math.exp(x0)),
        math.log(dmin), math.log(dmax), math.log(d0min), math.log(d0max), epsabs=0, epsrel=1e-12,
    )[0]
    assert w @ f(D, D0) == pytest.approx(p * TWO_PI * ref, rel=1e-8)


def test_stm_moments_analytic_and_quad():
    dmax, d0min, d0max = 10.0, 1e-3, 1.0
    dist = STMDistribution(dmax, d0min, d0max)
    s = dist.quadrature()
    d, d0, w = s.params["delta"], s.params["delta0"], s.weights
    p, L0 = dist.amplitude, ln(d0min, d0max)
    assert w @ d**2 == pytest.approx(p * L0 * dmax**3 / 3, rel=1e-12)
    assert w @ d0 == pytest.approx(p * dmax * (d0max - d0min), rel=1e-12)
    f = lambda d, d0: 1 / np.hypot(d, d0)  # noqa: E731
    ref = dblquad(
        lambda x0, y: f(y, math.exp(x0)), 0.0, dmax, math.log(d0min), math.log(d0max), epsabs=0, epsrel=1e-12
    )[0]
    assert w @ f(d, d0) == pytest.approx(p * ref, rel=1e-8)


def test_standard_three_level_moments():
    dmax, d0min, d0max = 10.0, 0.1, 1.0
    dist = StandardThreeLevelDistribution(dmax, d0min, d0max)
    s = dist.quadrature()
    E, D, D0, w = s.params["E"], s.params["D"], s.params["D0"], s.weights
    p, L0 = dist.amplitude, ln(d0min, d0max)
    assert w @ D**2 == pytest.approx(p * TWO_PI * L0 * dmax**4 / 4, rel=1e-12)
    # Only functions symmetric under relabelling the wells are integrated (the alpha rule covers
    # [0, pi/3]): sum_k E_k^4 = D^4 / 2 and E1 E2 E3 = (2/3)^{3/2} D^3 cos(3 alpha) / 4.
    assert w @ (E**4).sum(axis=1) == pytest.approx(p * TWO_PI * L0 * dmax**6 / 12, rel=1e-12)
    assert abs(w @ E.prod(axis=1)) < 1e-12 * (w @ D**3)
    assert w @ E.prod(axis=1) ** 2 == pytest.approx(
        p * L0 * (2 / 3) ** 3 / 16 * math.pi * dmax**8 / 8, rel=1e-10
    )
    # int D dD dalpha dD0/D0 D0^2/(D0^2 + D^2) = 2 pi int dD0/D0 (D0^2/2) ln(1 + D_max^2/D0^2)
    ref = quad(
        lambda x: math.exp(2 * x) / 2 * math.log1p(dmax**2 * math.exp(-2 * x)),
        math.log(d0min), math.log(d0max), epsabs=0, epsrel=1e-13,
    )[0]
    assert w @ (D0**2 / (D0**2 + D**2)) == pytest.approx(p * TWO_PI * ref, rel=1e-8)


@pytest.mark.parametrize("rule", ["chamber", "full", "product"])
def test_four_well_moments(rule):
    dmin, dmax, d0min, d0max = 0.1, 100.0, 1.0, 2.0
    dist = FourWellATSDistribution(dmin, d0min, d0max, dmax, direction_rule=rule)
    s = dist.quadrature()
    E, D, w = s.params["E"], s.params["D"], s.weights
    p, L0 = dist.amplitude, ln(d0min, d0max)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    # Symmetric under relabelling the wells (what the chamber rule integrates):
    # E_i = D b_i.n with |b_i|^2 = 3/4, b_i.b_j = -1/4, and <(b.n)^4> = |b|^4 / 5 for n uniform.
    fourth = p * 4 * math.pi * L0 * (dmax**4 - dmin**4) / 4
    assert w @ (E**4).sum(axis=1) == pytest.approx(4 * fourth * (9 / 16) / 5, rel=1e-8)
    assert w @ (E**2).sum(axis=1) == pytest.approx(p * 4 * math.pi * L0 * (dmax**2 - dmin**2) / 2, rel=1e-12)
    assert abs(w @ E.prod(axis=1)) > 0  # E1 E2 E3 E4 is symmetric and its mean is not zero
    assert w @ E.prod(axis=1) == pytest.approx(fourth * three_fourths_product_mean(), rel=1e-6)
    if rule != "chamber":  # the full-sphere rules integrate single components too
        assert w @ E[:, 0] ** 2 == pytest.approx(p * 4 * math.pi * L0 * (dmax**2 - dmin**2) / 8, rel=1e-12)
        assert abs(w @ E[:, 0] ** 3) < 1e-6 * (w @ D**3)


def three_fourths_product_mean():
    """<prod_i (b_i . n)> for n uniform on the sphere, by scipy dblquad (independent of the rules)."""
    b = four_well_basis()

    def f(theta, azimuth):
        n = np.array([math.sin(theta) * math.cos(azimuth), math.sin(theta) * math.sin(azimuth), math.cos(theta)])
        return np.prod(b @ n) * math.sin(theta)

    return dblquad(f, 0, TWO_PI, 0, math.pi, epsabs=1e-14, epsrel=1e-12)[0] / (4 * math.pi)


def test_four_well_chamber_rule_resolves_degeneracy_planes():
    """Pair anticrossings on the planes E_i = E_j at D/D0 = 1e3: chamber vs full vs product rule."""
    D, D0 = 1000.0, 1.0
    kw = dict(D_min_K=D, D0_min_K=D0, D0_max_K=D0 * 1.0000001, D_max_K=D * 1.0000001)

    def pair_peaks(p):
        E = p["E"]
        width = p["D0"] / p["D"]
        total = 0.0
        for i in range(4):
            for j in range(i + 1, 4):
                gap = (E[:, i] - E[:, j]) / p["D"]
                total = total + width / np.sqrt(width**2 + gap**2)
        return total

    values = {}
    for rule in ("chamber", "full", "product"):
        dist = FourWellATSDistribution(**kw, direction_rule=rule)
        s = dist.quadrature(nodes={"D": 1, "D0": 1})
        values[rule] = (s.weights @ pair_peaks(s.params)) / s.weights.sum()
    # reference: 6 pairs, each the sphere average of w / sqrt(w^2 + 2 (x.n)^2), x = unit vector,
    # = w / sqrt(2) * asinh(sqrt(2) / w) (|x.n| is uniform on [0, 1]).
    w = D0 / D
    exact = 6 * w / math.sqrt(2) * math.asinh(math.sqrt(2) / w)
    assert values["chamber"] == pytest.approx(exact, rel=1e-4)
    assert values["full"] == pytest.approx(values["chamber"], rel=1e-12)
    assert abs(values["product"] / exact - 1) > 1e-2


# --------------------------------------------------------------------------- the alpha rule
def rows(sample):
    """Group a three-level sample by its (D, D0) node: inverse index and row weights."""
    keys = np.stack([sample.params["D"], sample.params["D0"]], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return uniq, inverse, np.bincount(inverse, weights=sample.weights)


def row_means(sample, values):
    """Per (D, D0) row: sum w f / sum w = (1/2pi) int_0^{2pi} f dalpha as given by the rule."""
    uniq, inverse, row_w = rows(sample)
    return uniq, np.bincount(inverse, weights=sample.weights * values) / row_w


@pytest.mark.parametrize(
    "f, mean",
    [
        pytest.param(lambda x: np.exp(x), i0(1.0), id="exp"),
        pytest.param(lambda x: x**2, 0.5, id="cos2"),
        pytest.param(lambda x: (1 + x) ** 4, 35 / 8, id="poly4"),
        pytest.param(lambda x: x**3, 0.0, id="cos3"),
    ],
)
def test_alpha_rule_integrates_smooth_functions_of_cos3alpha(f, mean):
    """Over 0 <= alpha < 2 pi with D/D0 from 0.01 to 1e3; tolerance 1e-9 relative per row.

    The clustering map is not polynomial, so this is spectral accuracy, not exactness.
    """
    sample = ATSDistribution(0.01, 0.1, 1.0, 100.0).quadrature()
    alpha = sample.params["alpha"]
    assert alpha.min() > 0 and alpha.max() < math.pi / 3
    _, means = row_means(sample, f(np.cos(3 * alpha)))
    assert np.abs(means - mean).max() < 1e-9 * max(abs(mean), 1.0)


def anticrossing(alpha, width):
    """Smooth in cos(3 alpha); peaks of width ``width`` at alpha = 0 and pi/3 (mod 2 pi/3)."""
    c = np.cos(3 * alpha)
    return width / np.sqrt(width**2 + (2 / 9) * (1 - c)) + width / np.sqrt(width**2 + (2 / 9) * (1 + c))


def test_alpha_rule_resolves_anticrossings_where_a_uniform_rule_fails():
    """D/D0 = 1e3 with default nodes: 1e-4 relative; a uniform rule of equal size is far off."""
    dist = ATSDistribution(999.0, 1.0, 1.001, 1001.0)
    sample = dist.quadrature()
    D, D0, alpha = sample.params["D"], sample.params["D0"], sample.params["alpha"]
    uniq, means = row_means(sample, anticrossing(alpha, D0 / D))
    width = uniq[:, 1] / uniq[:, 0]
    # (1/2pi) int_0^{2pi} dalpha w / sqrt(w^2 + (4/9) sin^2(3 alpha / 2)) = (2/pi) K(-4/(9 w^2))
    exact = 2 * (2 / math.pi) * ellipk(-4 / (9 * width**2))
    assert np.abs(means / exact - 1).max() < 1e-4
    # independent check of the closed form for one row
    w0 = width[0]
    by_quad = sum(
        quad(lambda a: anticrossing(a, w0), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0]
        for lo, hi in [(0, 10 * w0), (10 * w0, math.pi / 3 - 10 * w0), (math.pi / 3 - 10 * w0, math.pi / 3)]
    ) * 6 / TWO_PI
    assert by_quad == pytest.approx(exact[0], rel=1e-10)
    # a uniform (midpoint) rule on [0, pi/3] with the same number of nodes per row
    k = len(sample) // len(uniq)
    mid = (np.arange(k) + 0.5) * (math.pi / 3) / k
    uniform = anticrossing(mid[None, :], width[:, None]).mean(axis=1)
    assert np.abs(uniform / exact - 1).min() > 1e-2


def lower_gap(D, D0, alpha):
    """Lower gap of Eq. 6 at phi = 0 from the exact Hamiltonian."""
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    levels = np.linalg.eigvalsh(hamiltonians.three_level(E, D0, 0.0))
    return levels[..., 1] - levels[..., 0]


def test_alpha_rule_on_the_exact_three_level_anticrossing():
    """tanh(g/2T)/g of the exact lower gap of Eq. 6 at D/D0 = 1e3 against scipy quad."""
    D, D0, T = 1000.0, 1.0, 1.0
    dist = ATSDistribution(D, D0, D0 * 1.0000001, D * 1.0000001)
    sample = dist.quadrature(nodes={"D": 1, "D0": 1})
    alpha = sample.params["alpha"]
    f = lambda a: np.tanh(lower_gap(D, D0, a) / (2 * T)) / lower_gap(D, D0, a)  # noqa: E731
    by_rule = (sample.weights @ f(alpha)) / sample.weights.sum()
    # reference: substitution alpha = e^x near each end, where the features are
    half = math.pi / 6
    ref = 0.0
    for mirror in (False, True):
        g = (lambda x: float(f(math.pi / 3 - math.exp(x))) * math.exp(x)) if mirror else (
            lambda x: float(f(math.exp(x))) * math.exp(x))
        ref += quad(g, math.log(1e-12), math.log(half), epsabs=0, epsrel=1e-11, limit=400)[0]
    ref = ref * 6 / TWO_PI
    assert by_rule == pytest.approx(ref, rel=1e-4)
    k = len(alpha)
    mid = (np.arange(k) + 0.5) * (math.pi / 3) / k
    assert abs(f(mid).mean() / ref - 1) > 1e-2


# --------------------------------------------------------------------------- node doubling
def gap_observable(params, T=2.0):
    """A smooth magnetisation-like integrand with anticrossing peaks, decaying like 1/D."""
    D, D0, alpha = params["D"], params["D0"], params["alpha"]
    gap = np.sqrt((2 / 9) * D**2 * (1 - np.cos(3 * alpha)) + D0**2)
    return D0 / (gap + T)


@pytest.mark.parametrize(
    "dist, energy_scale, f",
    [
        pytest.param(ATSDistribution(0.027, 9.06, 9.75, 1e3), None, gap_observable, id="ats"),
        pytest.param(ATSDistribution(0.01, 0.1, 1.0, 1e3), None, gap_observable, id="ats-wide"),
        pytest.param(ATSDistribution(0.027, 0.5, 9.75), 20.0, gap_observable, id="ats-inf"),
        pytest.param(StandardThreeLevelDistribution(100.0, 0.1, 1.0), None, gap_observable, id="standard"),
        pytest.param(
            STMDistribution(10.0, 1e-3, 1.0), None,
            lambda p: np.tanh(np.hypot(p["delta"], p["delta0"]) / 0.02) * p["delta0"] ** 2
            / (p["delta"] ** 2 + p["delta0"] ** 2), id="stm",
        ),
    ],
)
def test_node_doubling_converges(dist, energy_scale, f):
    values = [dist.quadrature(level=k, energy_scale_K=energy_scale) for k in range(3)]
    q = [s.weights @ f(s.params) for s in values]
    d01, d12 = abs(q[0] - q[1]) / abs(q[2]), abs(q[1] - q[2]) / abs(q[2])
    assert d01 < 1e-4  # the default nodes are already accurate
    assert d12 < 1e-8 or d12 < 1e-2 * d01  # and doubling converges fast


# --------------------------------------------------------------------------- infinite D_max
@pytest.mark.parametrize(
    "d_min, energy_scale, a",
    [pytest.param(0.027, 1.0, a, id=f"a{a}") for a in (0.01, 0.3, 1.0, 3.0, 10.0)]
    + [pytest.param(20.0, 1.0, a, id=f"tail-only-a{a}") for a in (5.0, 20.0)],
)
def test_infinite_D_max_composite_rule(d_min, energy_scale, a):
    """int_{D_min}^inf dD/D / (1 + D/a) = ln(1 + a/D_min), to 1e-8 (and against quad)."""
    dist = ATSDistribution(d_min, 1.0, 2.0, P_star=1.0)
    s = dist.quadrature(energy_scale_K=energy_scale)
    g = 1 / (1 + s.params["D"] / a)
    by_rule = (s.weights @ g) / (TWO_PI * ln(1.0, 2.0))
    exact = math.log1p(a / d_min)
    by_quad = quad(lambda D: 1 / (D * (1 + D / a)), d_min, np.inf, epsabs=0, epsrel=1e-12)[0]
    assert by_quad == pytest.approx(exact, rel=1e-10)
    assert by_rule == pytest.approx(exact, rel=1e-8)
    assert np.isfinite(s.params["D"]).all() and s.params["D"].max() > 1e3 * energy_scale


# --------------------------------------------------------------------------- sampling
SAMPLING_CASES = [
    pytest.param(ATSDistribution(0.027, 9.06, 9.75, 1e3), None, gap_observable, id="ats"),
    pytest.param(ATSDistribution(0.027, 0.5, 9.75), 20.0, gap_observable, id="ats-inf"),
    pytest.param(StandardThreeLevelDistribution(10.0, 0.1, 1.0), None, gap_observable, id="standard"),
    pytest.param(
        STMDistribution(10.0, 1e-3, 1.0), None,
        lambda p: p["delta0"] / np.hypot(p["delta"], p["delta0"] + 0.1), id="stm",
    ),
    pytest.param(
        FourWellATSDistribution(0.1, 1.0, 2.0, 100.0), None,
        lambda p: sum(p["D0"] ** 2 / (p["D0"] ** 2 + (p["E"][:, i] - p["E"][:, j]) ** 2)
                      for i in range(4) for j in range(i + 1, 4)),
        id="four-well",
    ),
]


@pytest.mark.parametrize("method", ["monte_carlo", "qmc"])
@pytest.mark.parametrize("dist, energy_scale, f", SAMPLING_CASES)
def test_sampling_is_reproducible_and_agrees_with_quadrature(dist, energy_scale, f, method):
    n = 4096
    a = dist.sample(n, seed=11, method=method, energy_scale_K=energy_scale)
    b = dist.sample(n, seed=11, method=method, energy_scale_K=energy_scale)
    c = dist.sample(n, seed=12, method=method, energy_scale_K=energy_scale)
    assert a.sampled and len(a) == n
    for key in a.params:
        assert np.array_equal(a.params[key], b.params[key])
    assert np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights * f(a.params), c.weights * f(c.params))
    contributions = n * a.weights * f(a.params)
    estimate, stderr = contributions.mean(), contributions.std(ddof=1) / math.sqrt(n)
    exact = dist.quadrature(energy_scale_K=energy_scale)
    exact = exact.weights @ f(exact.params)
    assert abs(estimate - exact) < 3 * stderr
    assert stderr < 0.05 * abs(exact)  # a meaningful comparison
    if math.isfinite(dist.measure):
        assert a.weights.sum() == pytest.approx(dist.measure, rel=1e-12)


# --------------------------------------------------------------------------- STM density of states
STM_CASES = [
    pytest.param(STMDistribution(10.0, 1e-3, 1.0), id="d0max<dmax"),
    pytest.param(STMDistribution(0.5, 1e-2, 2.0, P_bar=3.0), id="d0max>dmax"),
    pytest.param(STMDistribution(1.0, 0.1, 0.2), id="narrow"),
]


def dos_breakpoints(dist):
    return sorted({dist.delta0_min_K, dist.delta0_max_K, math.hypot(dist.delta_max_K, dist.delta0_min_K),
                   math.hypot(dist.delta_max_K, dist.delta0_max_K)})


@pytest.mark.parametrize("dist", STM_CASES)
def test_stm_dos_regions(dist):
    dmax, a, b, p = dist.delta_max_K, dist.delta0_min_K, dist.delta0_max_K, dist.amplitude
    top = min(b, math.hypot(dmax, a))
    E = np.linspace(a, top, 50)[1:-1]
    assert np.allclose(dist.density_of_states(E), p * np.arccosh(E / a), rtol=1e-13, atol=0)
    assert np.all(dist.density_of_states([-1.0, 0.0, 0.5 * a, a]) == 0)
    assert np.all(dist.density_of_states(math.hypot(dmax, b) * np.array([1.0, 1.001, 10.0])) == 0)
    inside = np.linspace(a, math.hypot(dmax, b), 101)[1:-1]
    assert np.all(dist.density_of_states(inside) > 0)
    # continuous at every region boundary: the jump across it vanishes with the gap
    for edge in dos_breakpoints(dist):
        jumps = [np.ptp(dist.density_of_states([edge * (1 - eps), edge * (1 + eps)])) for eps in (1e-10, 1e-12)]
        assert jumps[1] < 1e-3 * p and jumps[1] <= jumps[0] / 5


@pytest.mark.parametrize("dist", STM_CASES)
def test_stm_dos_integrates_to_the_measure_and_matches_the_counting_function(dist):
    dmax, a, b, p = dist.delta_max_K, dist.delta0_min_K, dist.delta0_max_K, dist.amplitude
    edges = [0.0] + dos_breakpoints(dist)
    n = lambda E: float(dist.density_of_states(E))  # noqa: E731
    total = sum(quad(n, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] for lo, hi in zip(edges[:-1], edges[1:]))
    assert total == pytest.approx(dist.measure, rel=1e-9)
    # Counting function N(E) = int dP [sqrt(Delta^2 + Delta0^2) < E], computed independently as
    # P int dDelta0/Delta0 min(Delta_max, sqrt(E^2 - Delta0^2)).
    for E in np.linspace(a, math.hypot(dmax, b), 7)[1:]:
        count = p * quad(
            lambda x: min(dmax, math.sqrt(max(E * E - math.exp(2 * x), 0.0))),
            math.log(a), math.log(b), points=[math.log(min(max(E, a), b))], epsabs=0, epsrel=1e-12, limit=200,
        )[0]
        cuts = [e for e in edges if e < E] + [E]
        by_dos = sum(quad(n, lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] for lo, hi in zip(cuts[:-1], cuts[1:]))
        assert by_dos == pytest.approx(count, rel=1e-8)


def test_stm_dos_matches_a_sample_histogram():
    dist = STMDistribution(1.0, 1e-2, 2.0)
    s = dist.sample(400_000, seed=2)
    E = np.hypot(s.params["delta"], s.params["delta0"])
    bins = np.linspace(dist.delta0_min_K, math.hypot(1.0, 2.0), 25)
    counts, _ = np.histogram(E, bins)
    expected = np.array([
        quad(lambda e: float(dist.density_of_states(e)), lo, hi, epsabs=0, epsrel=1e-10)[0]
        for lo, hi in zip(bins[:-1], bins[1:])
    ]) / dist.measure * len(E)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)


def schottky(E, T):
    """Heat capacity of a two-level system with splitting E, in units of k_B."""
    x = np.abs(E) / (2 * T)
    q = np.exp(-2 * x)
    return 4 * x**2 * q / (1 + q) ** 2  # (x / cosh x)^2 without overflow


@pytest.mark.parametrize("dist", STM_CASES[:2])
def test_stm_heat_capacity_quadrature_matches_dos_quadrature(dist):
    """2-D default quadrature vs 1-D DOS quadrature for T over four decades, to 1e-4."""
    s = dist.quadrature()
    E = np.hypot(s.params["delta"], s.params["delta0"])
    edges = dos_breakpoints(dist)
    for T in np.logspace(math.log10(dist.delta0_min_K), math.log10(dist.delta_max_K) + 1, 9):
        pts = sorted(set(edges + [x * T for x in (1, 4, 16) if edges[0] < x * T < edges[-1]]))
        ref = sum(
            quad(lambda e: float(dist.density_of_states(e)) * schottky(e, T), lo, hi, epsabs=0, epsrel=1e-12,
                 limit=200)[0]
            for lo, hi in zip(pts[:-1], pts[1:])
        )
        assert s.weights @ schottky(E, T) == pytest.approx(ref, rel=1e-4)


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "call, name",
    [
        pytest.param(lambda: ATSDistribution(1.0, 0.1, 1.0, 1.0), "D_max_K", id="Dmin=Dmax"),
        pytest.param(lambda: ATSDistribution(2.0, 0.1, 1.0, 1.0), "D_max_K", id="Dmin>Dmax"),
        pytest.param(lambda: ATSDistribution(0.0, 0.1, 1.0), "D_min_K", id="Dmin-zero"),
        pytest.param(lambda: ATSDistribution(-1.0, 0.1, 1.0), "D_min_K", id="Dmin-negative"),
        pytest.param(lambda: ATSDistribution(float("nan"), 0.1, 1.0), "D_min_K", id="Dmin-nan"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, float("nan")), "D_max_K", id="Dmax-nan"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, -math.inf), "D_max_K", id="Dmax-minus-inf"),
        pytest.param(lambda: ATSDistribution(0.1, 1.0, 1.0), "D0_max_K", id="D0min=D0max"),
        pytest.param(lambda: ATSDistribution(0.1, 0.0, 1.0), "D0_min_K", id="D0min-zero"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, math.inf), "D0_max_K", id="D0max-inf"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, P_star=0.0), "P_star", id="Pstar-zero"),
        pytest.param(lambda: FourWellATSDistribution(1.0, 0.1, 1.0, 0.5), "D_max_K", id="four-well-Dmax"),
        pytest.param(lambda: StandardThreeLevelDistribution(float("nan"), 0.1, 1.0), "D_max_K", id="standard-nan"),
        pytest.param(lambda: StandardThreeLevelDistribution(1.0, 0.2, 0.1), "D0_max_K", id="standard-D0"),
        pytest.param(lambda: StandardThreeLevelDistribution(1.0, 0.1, 1.0, P_bar=-1), "P_bar", id="standard-Pbar"),
        pytest.param(lambda: STMDistribution(0.0, 0.1, 1.0), "delta_max_K", id="stm-dmax"),
        pytest.param(lambda: STMDistribution(math.inf, 0.1, 1.0), "delta_max_K", id="stm-dmax-inf"),
        pytest.param(lambda: STMDistribution(1.0, 0.1, 0.1), "delta0_max_K", id="stm-d0"),
        pytest.param(lambda: STMDistribution(1.0, "x", 1.0), "delta0_min_K", id="stm-d0min-text"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, 10.0).quadrature(nodes={"beta": 3}), "beta",
                     id="unknown-axis"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, 10.0).quadrature(nodes={"D_tail": 3}), "D_tail",
                     id="tail-axis-when-finite"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, 10.0).quadrature(nodes={"D": 0}), "D",
                     id="zero-nodes"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0, 10.0).quadrature(level=-1), "level", id="level"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0).quadrature(), "energy_scale_K", id="no-energy-scale"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0).sample(8, 1), "energy_scale_K",
                     id="no-energy-scale-sample"),
        pytest.param(lambda: ATSDistribution(0.1, 0.1, 1.0).quadrature(energy_scale_K=-1.0), "energy_scale_K",
                     id="negative-energy-scale"),
        pytest.param(lambda: STMDistribution(1.0, 0.1, 1.0).sample(0, 1), "n", id="n-zero"),
        pytest.param(lambda: STMDistribution(1.0, 0.1, 1.0).sample(8, -3), "seed", id="seed-negative"),
        pytest.param(lambda: STMDistribution(1.0, 0.1, 1.0).sample(8, 1, method="sobol"), "method", id="method"),
        pytest.param(lambda: STMDistribution(1.0, 0.1, 1.0).density_of_states(float("nan")), "E_K", id="dos-nan"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_four_well_orientation_average_is_the_same_in_every_weyl_chamber():
    """The premise of the chamber rule: with the field direction averaged over the sphere, the
    free energy of the regular tetrahedron is invariant under every permutation of the wells."""
    import itertools

    from tunnelsim.orientations import sphere_rule

    rng = np.random.default_rng(4)
    field = sphere_rule(21)
    E = rng.normal(size=4) * 3.0
    E -= E.mean()
    values = []
    for perm in itertools.permutations(range(4)):
        h = hamiltonians.four_well(E[list(perm)][None, :], 1.0, 0.8 * field.nodes)
        levels = np.linalg.eigvalsh(h)
        T = 0.7
        free = levels[:, 0] - T * np.log(np.exp(-(levels - levels[:, :1]) / T).sum(axis=1))
        values.append(field.weights @ free)
    assert np.ptp(values) < 1e-10 * abs(values[0])
    # ... while at a fixed, generic field direction it is not (the reduction needs the average).
    direction = np.array([0.3, -0.5, 0.81]) / np.linalg.norm([0.3, -0.5, 0.81])
    fixed = [np.linalg.eigvalsh(hamiltonians.four_well(E[list(p)], 1.0, 2.0 * direction))[0]
             for p in itertools.permutations(range(4))]
    assert np.ptp(fixed) > 1e-6


# --------------------------------------------------------------------------- embedded (Gauss-Kronrod) rules
@pytest.mark.parametrize("m", [1, 2, 3, 7, 14, 27])
def test_kronrod_rule_and_its_sub_rules_integrate_polynomials_of_their_degree(m):
    """K, G and L of the Gauss-Kronrod rule integrate x^k on [-1, 1] exactly up to their stated degrees."""
    from tunnelsim.distributions.rules import _kronrod_unit, kronrod_degrees

    x, w_K, w_G, w_L = _kronrod_unit(m)
    assert x.size == 2 * m + 1 and np.all(np.diff(x) > 0)
    assert np.all(w_K > 0) and np.all(w_G >= 0) and np.all(w_L >= 0)
    assert np.count_nonzero(w_G) == m and np.count_nonzero(w_L) == m + 1
    for weights, degree in zip((w_K, w_G, w_L), kronrod_degrees(m)):
        # Legendre polynomials are the well-conditioned test: int P_k = 2 delta_k0
        V = np.polynomial.legendre.legvander(x, degree)
        exact = np.zeros(degree + 1)
        exact[0] = 2.0
        np.testing.assert_allclose(weights @ V, exact, atol=1e-13)


def test_kronrod_rule_matches_the_tabulated_gk15_weights():
    from tunnelsim.distributions.rules import _kronrod_unit

    x, w_K, _, _ = _kronrod_unit(7)
    np.testing.assert_allclose(x[7:11], [0.0, 0.207784955007898, 0.405845151377397, 0.586087235467691], atol=1e-14)
    np.testing.assert_allclose(w_K[7:11], [0.209482141084728, 0.204432940075298, 0.190350578064785, 0.169004726639267],
                               atol=1e-14)


def test_embedded_estimate_of_a_known_integral_bounds_its_true_error():
    """The log rule's Kronrod value of int dx/x f(x) against scipy.integrate.quad; |G - K| bounds |K - I|."""
    from tunnelsim.distributions.rules import _log_rule

    def f(x):
        return np.tanh(1.0 / (2.0 * x)) / (1.0 + x)  # a thermal factor with its poles at x = i / (pi k)

    exact = quad(lambda s: f(np.exp(s)), np.log(0.01), np.log(100.0), epsabs=1e-13, epsrel=1e-13, limit=400)[0]
    for n in (8, 12, 16, 24):
        x, w, emb = _log_rule(n, 0.01, 100.0, embedded=True)
        value = w @ f(x)
        e_G = abs(emb.lower["G"] @ f(x) - value)
        assert abs(value - exact) <= e_G + 1e-14, n


@pytest.mark.parametrize(
    "dist",
    [
        pytest.param(ATSDistribution(D_min_K=0.05, D0_min_K=1.0, D0_max_K=3.0, D_max_K=30.0), id="ats"),
        pytest.param(StandardThreeLevelDistribution(D_max_K=5.0, D0_min_K=0.1, D0_max_K=2.0), id="standard"),
        pytest.param(STMDistribution(5.0, 0.01, 2.0), id="stm"),
        pytest.param(FourWellATSDistribution(D_min_K=0.1, D0_min_K=0.5, D0_max_K=2.0, D_max_K=5.0),
                     id="four-well"),
    ],
)
def test_embedded_quadrature_has_sub_rules_on_every_axis_with_the_same_total_measure(dist):
    """Every axis carries G and L sub-rules of the full node shape; each integrates the measure."""
    rule = dist.quadrature(embedded=True)
    plain = dist.quadrature()
    assert set(rule.embedded) >= set(dist.default_nodes) - {"D_tail"}
    assert len(rule) <= 1.35 * len(plain)
    for axis, emb in rule.embedded.items():
        for name, weights in emb.lower.items():
            assert weights.shape == rule.weights.shape
            if name.startswith("N"):  # a null rule (zero on polynomials in the unmapped variable; tested there)
                assert np.all(np.isfinite(weights)), f"{axis} {name}"
                continue
            np.testing.assert_allclose(weights.sum(), rule.weights.sum(), rtol=1e-6, err_msg=f"{axis} {name}")


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 13, 20])
def test_null_rules_annihilate_polynomials_below_their_index_and_read_its_coefficient(m):
    """Null rule ``j`` (Legendre index ``k``) gives 0 on every polynomial of degree < k (its stated
    degree ``k - 1``) and the orthonormal coefficient ``c_k`` of a polynomial of degree ``<= 2 m``."""
    from numpy.polynomial.legendre import legvander

    from tunnelsim.distributions.rules import _kronrod_unit, kronrod_null_rules

    x = _kronrod_unit(m)[0]
    weights, indices = kronrod_null_rules(m)
    assert indices == tuple(range(2 * m, max(0, 2 * m - 12), -1))
    V = legvander(x, 2 * m) * np.sqrt(np.arange(2 * m + 1) + 0.5)  # orthonormal P~_k at the nodes
    rng = np.random.default_rng(m)
    for row, k in zip(weights, indices):
        assert np.max(np.abs(row @ V[:, :k])) <= 1e-13, k  # every polynomial of degree < k
        assert abs(row @ x ** (k - 1)) <= 1e-13 * max(1.0, np.abs(row).sum()), k
        coef = rng.normal(size=2 * m + 1)
        np.testing.assert_allclose(row @ (V @ coef), coef[k], atol=1e-12)


def test_null_rules_ride_along_every_embedded_axis():
    """Every Gauss-Kronrod axis of a distribution carries its null rules with their indices; a null
    rule on one piece of a composite axis is zero on the other pieces."""
    ens_dist = ATSDistribution(D_min_K=0.03, D0_min_K=0.5, D0_max_K=5.0)
    rule = ens_dist.quadrature(embedded=True, energy_scale_K=10.0)
    for axis in ("D", "D_tail", "D0", "alpha"):
        emb = rule.embedded[axis]
        assert emb.null is not None and emb.null[0] == emb.degrees[1] + 1
        keys = [k for k in emb.lower if k.startswith("N")]
        assert len(keys) == len(emb.null) * (2 if axis == "alpha" else 1)
    D = rule.params["D"]
    tail = D > 100.0  # beyond D_c = 10 x the energy scale
    assert tail.any() and not tail.all()
    assert np.all(rule.embedded["D"].lower["N0"][tail] == 0.0)
    assert np.all(rule.embedded["D_tail"].lower["N0"][~tail] == 0.0)


@pytest.mark.parametrize(
    "dist, energy_scale",
    [
        pytest.param(ATSDistribution(D_min_K=0.05, D0_min_K=2.0, D0_max_K=3.0), 40.0, id="ats-composite-D"),
        pytest.param(ATSDistribution(D_min_K=0.05, D_max_K=30.0, D0_min_K=2.0, D0_max_K=3.0), None, id="ats"),
        pytest.param(StandardThreeLevelDistribution(D_max_K=20.0, D0_min_K=1.0, D0_max_K=3.0), None, id="standard"),
        pytest.param(STMDistribution(delta_max_K=10.0, delta0_min_K=1e-3, delta0_max_K=10.0), None, id="stm"),
        pytest.param(FourWellATSDistribution(D_min_K=0.1, D_max_K=5.0, D0_min_K=0.5, D0_max_K=2.0), None,
                     id="four-well-chamber"),
        pytest.param(FourWellATSDistribution(D_min_K=0.1, D_max_K=5.0, D0_min_K=0.5, D0_max_K=2.0,
                                             direction_rule="full"), None, id="four-well-full"),
    ],
)
def test_embedded_sub_rules_are_the_main_weights_times_a_factor_of_one_axis_position(dist, energy_scale):
    """``Embedded.index``: every sub-rule with positions is ``weights * f[index]`` (f read at one
    node per position) to 1e-14 relative, the tensor structure the per-axis sums rely on; all
    sub-rules have positions but the chamber's ``G`` and ``L`` (normalised row by row)."""
    sample = dist.quadrature(nodes=None, energy_scale_K=energy_scale, embedded=True)
    w = sample.weights
    assert np.all(w > 0)
    without = []
    for axis, emb in sample.embedded.items():
        for key, sub in emb.lower.items():
            index = None if emb.index is None else emb.index.get(key)
            if index is None:
                without.append((axis, key))
                continue
            p = np.ravel(index)
            f = np.zeros(p.max() + 1)
            f[p] = sub / w  # the last node at each position
            np.testing.assert_allclose(sub, w * f[p], rtol=1e-14, atol=0, err_msg=f"{axis} {key}")
    if isinstance(dist, FourWellATSDistribution):
        assert sorted(without) == [("direction", "G"), ("direction", "L")]
    else:
        assert without == []
