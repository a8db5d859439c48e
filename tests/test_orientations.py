"""Tests of tunnelsim.orientations: exactness degrees, reproducibility, Haar rotations."""

import math

import numpy as np
import pytest
from scipy.special import eval_legendre, gammaln, lpmv

from tunnelsim.orientations import (
    OrientationRule,
    planar_rule,
    random_directions,
    random_rotations,
    refine,
    sphere_rule,
)


def real_spherical_harmonics(l_max, nodes):
    """Orthonormal real Y_lm, l <= l_max, at unit vectors ``nodes``; dict (l, m) -> values."""
    z = np.clip(nodes[:, 2], -1.0, 1.0)
    azimuth = np.arctan2(nodes[:, 1], nodes[:, 0])
    out = {}
    for l in range(l_max + 1):
        for m in range(-l, l + 1):
            am = abs(m)
            norm = math.sqrt((2 * l + 1) / (4 * math.pi) * math.exp(gammaln(l - am + 1) - gammaln(l + am + 1)))
            legendre = lpmv(am, l, z)
            if m == 0:
                out[l, m] = norm * legendre
            elif m > 0:
                out[l, m] = math.sqrt(2.0) * norm * legendre * np.cos(am * azimuth)
            else:
                out[l, m] = math.sqrt(2.0) * norm * legendre * np.sin(am * azimuth)
    return out


def sphere_integrals(rule, l_max):
    """``int Y_lm dOmega`` by the rule (weights sum to 1, so times 4 pi)."""
    ys = real_spherical_harmonics(l_max, rule.nodes)
    return {key: 4 * math.pi * rule.weights @ y for key, y in ys.items()}


# --------------------------------------------------------------------------- planar rule
@pytest.mark.parametrize("n", [pytest.param(n, id=f"n{n}") for n in (1, 2, 4, 8, 16)])
def test_planar_rule_exact_to_degree(n):
    rule = planar_rule(n)
    assert rule.kind == "planar" and not rule.sampled and rule.degree == 2 * n - 1
    assert rule.nodes.shape == (n,) and np.all((rule.nodes > 0) & (rule.nodes < 1))
    assert abs(rule.weights.sum() - 1.0) < 1e-14 and np.all(rule.weights > 0)
    # <u^k> = 1/(k+1) for u uniform on [0, 1] and <P_k(2u - 1)> = 0 (k >= 1), exact up to
    # degree 2n - 1 ...
    x = 2 * rule.nodes - 1
    for k in range(2 * n):
        assert abs(rule.weights @ rule.nodes**k - 1.0 / (k + 1)) < 1e-14
        assert abs(rule.weights @ eval_legendre(k, x) - (k == 0)) < 1e-14
    # ... and not beyond: the degree is honest.
    assert abs(rule.weights @ eval_legendre(2 * n, x)) > 1e-2


def test_planar_rule_second_and_fourth_moments():
    rule = planar_rule()
    assert len(rule) == 8
    assert rule.weights @ rule.nodes**2 == pytest.approx(1 / 3, abs=1e-15)
    assert rule.weights @ rule.nodes**4 == pytest.approx(1 / 5, abs=1e-15)


def test_planar_rule_is_the_sphere_average_of_abs_cos():
    """u = |cos theta| of a normal uniform on the sphere: compare with a sphere rule."""
    sphere = sphere_rule(21)
    planar = planar_rule(8)
    for k in (2, 4, 6, 8):
        on_sphere = sphere.weights @ np.abs(sphere.nodes[:, 2]) ** k
        assert on_sphere == pytest.approx(planar.weights @ planar.nodes**k, abs=1e-13)


# --------------------------------------------------------------------------- sphere rules
SPHERE_CASES = [pytest.param(d, "product", id=f"product-{d}") for d in (1, 2, 5, 10, 11, 16)] + [
    pytest.param(d, "lebedev", id=f"lebedev-{d}") for d in (3, 11, 17)
]


@pytest.mark.parametrize("degree, method", SPHERE_CASES)
def test_sphere_rule_integrates_harmonics_exactly_up_to_degree(degree, method):
    rule = sphere_rule(degree, method=method)
    assert rule.kind == "sphere" and rule.degree == degree and not rule.sampled
    assert np.allclose(np.linalg.norm(rule.nodes, axis=1), 1.0, atol=1e-14)
    assert abs(rule.weights.sum() - 1.0) < 1e-13 and np.all(rule.weights > 0)
    integrals = sphere_integrals(rule, degree + 1)
    for (l, m), value in integrals.items():
        expected = math.sqrt(4 * math.pi) if l == 0 else 0.0
        if l <= degree:
            assert abs(value - expected) < 1e-12, (l, m, value)
    # At l = degree + 1 some harmonic is missed: the stated degree is the true one.
    worst = max(abs(v) for (l, m), v in integrals.items() if l == degree + 1)
    assert worst > 1e-3


@pytest.mark.parametrize("degree, method", SPHERE_CASES)
def test_sphere_rule_orthonormality(degree, method):
    """Gram matrix of Y_lm, Y_l'm' with l + l' <= degree is the identity."""
    rule = sphere_rule(degree, method=method)
    ys = real_spherical_harmonics(degree // 2, rule.nodes)
    keys = list(ys)
    values = np.array([ys[k] for k in keys])
    gram = 4 * math.pi * (values * rule.weights) @ values.T
    assert np.abs(gram - np.eye(len(keys))).max() < 1e-12


def test_lebedev_is_smaller_than_product_for_the_same_degree():
    assert len(sphere_rule(11, "lebedev")) < len(sphere_rule(11, "product"))
    assert len(sphere_rule(11, "product")) == 72


# --------------------------------------------------------------------------- random rules
def test_random_directions_reproducible_and_uniform():
    a = random_directions(20000, seed=7)
    b = random_directions(20000, seed=7)
    c = random_directions(20000, seed=8)
    assert np.array_equal(a.nodes, b.nodes) and not np.array_equal(a.nodes, c.nodes)
    assert a.sampled and a.degree is None and a.seed == 7
    assert np.allclose(np.linalg.norm(a.nodes, axis=1), 1.0, atol=1e-14)
    assert abs(a.weights.sum() - 1.0) < 1e-12
    # Uniformity: <n> = 0 and <n_z^2> = 1/3; standard errors 1/sqrt(3N) and sqrt(4/45/N).
    n = len(a)
    assert np.all(np.abs(a.nodes.mean(axis=0)) < 5 / math.sqrt(3 * n))
    assert abs(np.mean(a.nodes[:, 2] ** 2) - 1 / 3) < 5 * math.sqrt(4 / 45 / n)


def test_random_rotations_are_haar_rotations():
    R = random_rotations(20000, seed=3)
    assert R.shape == (20000, 3, 3)
    eye = np.broadcast_to(np.eye(3), R.shape)
    assert np.abs(R @ np.swapaxes(R, 1, 2) - eye).max() < 1e-13
    assert np.allclose(np.linalg.det(R), 1.0, atol=1e-13)
    assert np.array_equal(R, random_rotations(20000, seed=3))
    assert not np.array_equal(R, random_rotations(20000, seed=4))
    # Haar moments: E[tr R] = 0, E[(tr R)^2] = 1 (character orthogonality), Var[(tr R)^2] = 2.
    tr = np.trace(R, axis1=1, axis2=2)
    n = len(tr)
    assert abs(tr.mean()) < 5 / math.sqrt(n)
    assert abs(np.mean(tr**2) - 1.0) < 5 * math.sqrt(2.0 / n)
    # A rotated fixed vector is uniform on the sphere.
    v = R[:, :, 2]
    assert np.all(np.abs(v.mean(axis=0)) < 5 / math.sqrt(3 * n))


# --------------------------------------------------------------------------- refine
def test_refine_doubles_resolution():
    planar = planar_rule(6)
    assert len(refine(planar)) == 12 and refine(planar).degree == 23
    product = sphere_rule(11)
    finer = refine(product)
    assert finer.degree == 23 and len(finer) == 4 * len(product)  # both angular counts double
    lebedev = refine(sphere_rule(11, "lebedev"))
    assert lebedev.method == "lebedev" and lebedev.degree >= 23
    rnd = random_directions(100, seed=5)
    more = refine(rnd)
    assert len(more) == 200 and np.array_equal(more.nodes[:100], rnd.nodes)


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "call, name",
    [
        pytest.param(lambda: planar_rule(0), "n_nodes", id="planar-zero"),
        pytest.param(lambda: planar_rule(2.5), "n_nodes", id="planar-float"),
        pytest.param(lambda: sphere_rule(0), "degree", id="sphere-zero"),
        pytest.param(lambda: sphere_rule(5, method="gauss"), "method", id="sphere-method"),
        pytest.param(lambda: sphere_rule(500, method="lebedev"), "degree", id="lebedev-too-high"),
        pytest.param(lambda: random_directions(0, 1), "n", id="directions-n"),
        pytest.param(lambda: random_directions(3, -1), "seed", id="directions-seed"),
        pytest.param(lambda: random_rotations(0, 1), "n", id="rotations-n"),
        pytest.param(lambda: random_rotations(2, 1.5), "seed", id="rotations-seed"),
        pytest.param(lambda: refine("rule"), "rule", id="refine"),
        pytest.param(lambda: OrientationRule("cone", np.ones(2), np.ones(2), 1, False), "kind", id="kind"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# --------------------------------------------------------------------------- embedded sub-rules
def test_embedded_planar_rule_and_sub_rules_are_exact_for_their_degrees():
    from tunnelsim.orientations import planar_rule, with_embedded

    rule = with_embedded(planar_rule(8))
    assert len(rule) == 9 and rule.method == "gauss_kronrod"
    emb = rule.embedded["orientation"]
    for weights, degree in zip((rule.weights, emb.lower["G"], emb.lower["L"]), emb.degrees):
        for k in range(degree + 1):
            assert abs(weights @ rule.nodes**k - 1.0 / (k + 1)) < 1e-13, (degree, k)


def test_embedded_product_sphere_rule_integrates_spherical_harmonics_of_its_degree():
    from scipy.special import sph_harm_y

    from tunnelsim.orientations import sphere_rule, with_embedded

    rule = with_embedded(sphere_rule(11))
    x, y, z = rule.nodes.T
    theta, phi = np.arccos(np.clip(z, -1, 1)), np.arctan2(y, x)
    for l in range(rule.degree + 1):
        for m in range(-l, l + 1):
            value = rule.weights @ sph_harm_y(l, m, theta, phi)
            assert abs(value - (1 / np.sqrt(4 * np.pi) if l == 0 else 0.0)) < 1e-13, (l, m)
    for emb in rule.embedded.values():
        for name, weights in emb.lower.items():
            assert abs(weights.sum() - (0.0 if name.startswith("N") else 1.0)) < 1e-13


def test_every_rule_kind_has_an_embedded_form():
    from tunnelsim.orientations import planar_rule, random_directions, sphere_rule, with_embedded

    for rule in (planar_rule(5), sphere_rule(7), sphere_rule(11, method="lebedev"), random_directions(10, 1)):
        emb = with_embedded(rule)
        assert emb.embedded and abs(emb.weights.sum() - 1.0) < 1e-13
        assert with_embedded(emb) is emb
    with pytest.raises(ValueError, match="OrientationRule"):
        with_embedded("planar")
