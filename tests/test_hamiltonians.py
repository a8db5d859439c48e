"""Tests of tunnelsim.hamiltonians: Eq. 5, Eq. 6, N-rings and the tetrahedral four-well system.

Following Kwant's gauge tests, the physical invariants (hopping products around every loop,
spectra under gauge transformations, Aharonov-Bohm periodicity) are checked over stacked
parametrisations; the exact facts of physics.md section 2 about Eq. 6 are found numerically.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_vertices
from tunnelsim import hamiltonians, spectra

HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True)  # the same examples on every run

finite = st.floats(-50.0, 50.0, allow_nan=False)
positive = st.floats(1e-2, 50.0)
phases = st.floats(-20.0, 20.0)


def _levels(H):
    return np.linalg.eigvalsh(H)


def _level_scale(H):
    return np.abs(_levels(H)).max(axis=-1, keepdims=True)


def _zero_sum(E):
    E = np.asarray(E, dtype=float)
    return E - E.mean(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- matrices
def test_two_level_is_eq5():
    """Eq. 5 entry by entry; levels +-sqrt(Delta^2 + Delta0^2)/2; no field coupling."""
    delta, delta0 = np.array([0.3, -1.2]), np.array([0.7, 0.05])
    H = hamiltonians.two_level(delta, delta0)
    expected = 0.5 * np.array([[[d, d0], [d0, -d]] for d, d0 in zip(delta, delta0)])
    assert np.array_equal(H, expected)
    E = np.hypot(delta, delta0)
    assert np.allclose(_levels(H), np.stack([-E / 2, E / 2], axis=-1), rtol=1e-14, atol=0)
    dH, d2H = hamiltonians.two_level_derivatives(delta, delta0)
    assert dH.shape == H.shape and not dH.any() and not d2H.any()


def test_three_level_is_eq6():
    """Eq. 6 as printed: H12 = H23 = H31 = D0 e^{i phi/3}, Hermitian conjugates below."""
    E, D0, phi = np.array([0.4, -1.1, 0.7]), 0.9, 0.8
    z = D0 * np.exp(1j * phi / 3)
    expected = np.array([[E[0], z, np.conj(z)], [np.conj(z), E[1], z], [z, np.conj(z), E[2]]])
    H = hamiltonians.three_level(E, D0, phi)
    assert np.allclose(H, expected, rtol=0, atol=1e-15)
    assert np.array_equal(H, hamiltonians.ring(E, D0, phi))


@pytest.mark.parametrize(
    "E_shape, D0_shape, phi_shape, batch",
    [
        pytest.param((3,), (), (), (), id="scalar"),
        pytest.param((5, 3), (5,), (5,), (5,), id="aligned"),
        pytest.param((5, 1, 3), (7,), (), (5, 7), id="outer"),
        pytest.param((3,), (2, 1), (4,), (2, 4), id="phi-axis"),
        pytest.param((2, 1, 1, 3), (6, 1), (5,), (2, 6, 5), id="deep"),
    ],
)
def test_three_level_stacked_parametrisations(rng, E_shape, D0_shape, phi_shape, batch):
    """Any broadcastable stacking gives shape batch + (3, 3), Hermitian, each element equal to
    the unbatched build (to 1e-15, the last bit of batched arithmetic)."""
    E = rng.normal(size=E_shape)
    D0 = rng.uniform(0.1, 2.0, D0_shape)
    phi = rng.uniform(-7.0, 7.0, phi_shape)
    H = hamiltonians.three_level(E, D0, phi)
    dH, d2H = hamiltonians.three_level_derivatives(E, D0, phi)
    assert H.shape == dH.shape == d2H.shape == batch + (3, 3)
    for M in (H, dH, d2H):
        assert np.array_equal(M, np.conj(np.swapaxes(M, -1, -2)))
    Eb = np.broadcast_to(E, batch + (3,))
    D0b, phib = np.broadcast_to(D0, batch), np.broadcast_to(phi, batch)
    for idx in np.ndindex(*batch):
        single = hamiltonians.three_level(Eb[idx], D0b[idx], phib[idx])
        assert np.allclose(H[idx], single, rtol=1e-15, atol=1e-15)


def test_four_well_stacked_parametrisations(rng):
    """E (5, 1, 4), D0 (6,), phi_vec (6, 3) -> (5, 6, 4, 4); Hermitian; per-element equality (1e-15)."""
    E, D0, phi_vec = rng.normal(size=(5, 1, 4)), rng.uniform(0.1, 2.0, 6), rng.normal(size=(6, 3))
    direction = rng.normal(size=3)
    H = hamiltonians.four_well(E, D0, phi_vec)
    dH, d2H = hamiltonians.four_well_derivatives(E, D0, phi_vec, direction)
    assert H.shape == dH.shape == d2H.shape == (5, 6, 4, 4)
    for M in (H, dH, d2H):
        assert np.array_equal(M, np.conj(np.swapaxes(M, -1, -2)))
    for a, b in np.ndindex(5, 6):
        single = hamiltonians.four_well(E[a, 0], D0[b], phi_vec[b])
        assert np.allclose(H[a, b], single, rtol=1e-15, atol=1e-15)


# --------------------------------------------------------------------------- loop phases
@HYPOTHESIS
@given(
    n_wells=st.integers(3, 8),
    D0=st.lists(positive, min_size=1, max_size=4),
    phi=st.lists(phases, min_size=1, max_size=4),
)
def test_ring_loop_product(n_wells, D0, phi):
    """Hopping product around the ring, H[0,1] H[1,2] ... H[N-1,0] = D0^N e^{i phi} (1e-12)."""
    D0, phi = np.array(D0)[:, None], np.array(phi)[None, :]  # stacked (len D0, len phi)
    E = np.zeros(n_wells)
    H = hamiltonians.ring(E, D0, phi) if n_wells != 3 else hamiltonians.three_level(E, D0, phi)
    product = np.ones(H.shape[:-2], dtype=complex)
    for k in range(n_wells):
        product = product * H[..., k, (k + 1) % n_wells]
    expected = D0**n_wells * np.exp(1j * phi)
    assert np.all(np.abs(product - expected) <= 1e-12 * D0**n_wells)
    # Every bond carries the same phase phi / N (the symmetric choice of the seed's Eq. 6).
    bonds = np.stack([H[..., k, (k + 1) % n_wells] for k in range(n_wells)], axis=-1)
    assert np.allclose(bonds, (D0 * np.exp(1j * phi / n_wells))[..., None], rtol=1e-14, atol=0)


@HYPOTHESIS
@given(D0=positive, phi=phases)
def test_two_well_ring_bonds_add(D0, phi):
    """N = 2: the two bonds D0 e^{i phi/2} (loop product D0^2 e^{i phi}) join the same wells, so
    H[0, 1] = D0 e^{i phi/2} + D0 e^{-i phi/2} = 2 D0 cos(phi/2); the spectrum is 4 pi periodic
    in the entry but 2 pi periodic as a spectrum."""
    H = hamiltonians.ring([0.3, -0.3], D0, phi)
    assert np.array_equal(H, np.conj(H.T))
    assert abs(H[0, 1] - 2.0 * D0 * math.cos(phi / 2)) <= 1e-12 * D0
    shifted = hamiltonians.ring([0.3, -0.3], D0, phi + 2.0 * math.pi)
    assert np.allclose(_levels(shifted), _levels(H), rtol=0, atol=1e-12 * (D0 + 1))


@pytest.mark.parametrize("geometry", [pytest.param("regular", id="regular"), pytest.param("random", id="random")])
def test_four_well_face_loop_phases(rng, geometry):
    """For every oriented face (i, j, k): H_ij H_jk H_ki = D0^3 exp(i phi_vec . a_f) (1e-12)."""
    vertices = None if geometry == "regular" else random_vertices(rng)
    faces, areas = hamiltonians.tetrahedron_faces(vertices)
    D0 = rng.uniform(0.2, 3.0, (7, 1))
    phi_vec = rng.uniform(-10.0, 10.0, (7, 9, 3))
    H = hamiltonians.four_well(rng.normal(size=4), D0, phi_vec, vertices)
    assert H.shape == (7, 9, 4, 4)
    for (i, j, k), a in zip(faces, areas):
        product = H[..., i, j] * H[..., j, k] * H[..., k, i]
        expected = D0**3 * np.exp(1j * phi_vec @ a)
        assert np.all(np.abs(product - expected) <= 1e-12 * D0**3), (i, j, k)


@pytest.mark.parametrize("geometry", [pytest.param("regular", id="regular"), pytest.param("random", id="random")])
def test_tetrahedron_faces_geometry(rng, geometry):
    """Faces are outward oriented, their area vectors close (sum 0) and, for the default
    tetrahedron, each has unit area: the unit of phi_vec (1e-14)."""
    vertices = hamiltonians.regular_tetrahedron() if geometry == "regular" else random_vertices(rng)
    faces, areas = hamiltonians.tetrahedron_faces(vertices)
    assert sorted(tuple(sorted(f)) for f in faces) == [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]
    centre = vertices.mean(axis=0)
    for (i, j, k), a in zip(faces, areas):
        r_i, r_j, r_k = vertices[[i, j, k]]
        assert np.allclose(a, 0.5 * np.cross(r_j - r_i, r_k - r_i), rtol=0, atol=1e-14)  # translation invariant
        assert np.dot(a, (r_i + r_j + r_k) / 3 - centre) > 0  # outward
    assert np.allclose(areas.sum(axis=0), 0.0, atol=1e-14)
    if geometry == "regular":
        assert np.allclose(np.linalg.norm(areas, axis=-1), 1.0, rtol=1e-14)
        assert np.allclose(vertices.mean(axis=0), 0.0, atol=1e-15)


# --------------------------------------------------------------------------- gauge invariance
def _gauge(H, chi):
    U = np.exp(1j * chi)
    return U[..., :, None] * H * np.conj(U)[..., None, :]


@pytest.mark.parametrize(
    "build, n",
    [
        pytest.param(lambda E, D0, phi: hamiltonians.three_level(E, D0, phi), 3, id="three_level"),
        pytest.param(lambda E, D0, phi: hamiltonians.ring(E, D0, phi), 2, id="ring2"),
        pytest.param(lambda E, D0, phi: hamiltonians.ring(E, D0, phi), 5, id="ring5"),
    ],
)
def test_ring_gauge_invariance(rng, build, n):
    """Moving the whole flux onto one bond (a diagonal gauge transformation of the symmetric
    ``phi/N`` per bond) leaves every level unchanged (1e-12), and so does U H U^dagger with
    random U = diag(e^{i chi_k}), which also keeps the loop product."""
    E = _zero_sum(rng.normal(size=(200, n)) * rng.uniform(0.01, 5.0, (200, 1)))
    D0, phi = rng.uniform(0.1, 3.0, 200), rng.uniform(-7.0, 7.0, 200)
    H = build(E, D0, phi)
    scale = _level_scale(H)
    # Flux on the bond n -> 1 only: H[k, k+1] = D0 for k < n - 1, H[n-1, 0] = D0 e^{i phi}.
    one_bond = np.zeros_like(H)
    idx = np.arange(n)
    one_bond[:, idx, idx] = E
    for k in range(n):
        amp = D0 * np.exp(1j * phi) if k == n - 1 else D0.astype(complex)
        one_bond[:, k, (k + 1) % n] += amp
        one_bond[:, (k + 1) % n, k] += np.conj(amp)
    assert np.abs(_levels(one_bond) - _levels(H)).max() <= 1e-12 * scale.max()
    chi = rng.uniform(-math.pi, math.pi, (200, n))
    G = _gauge(H, chi)
    assert np.all(np.abs(_levels(G) - _levels(H)) <= 1e-12 * scale)
    if n >= 3:
        loop = lambda M: np.prod([M[:, k, (k + 1) % n] for k in range(n)], axis=0)  # noqa: E731
        assert np.allclose(loop(G), loop(H), rtol=1e-12, atol=0)


def test_four_well_gauge_invariance(rng):
    """Translating the tetrahedron changes the symmetric-gauge bond phases (a gauge
    transformation) but neither any face's loop product nor the spectrum; random diagonal
    gauge transformations keep the spectrum too (1e-12)."""
    vertices = random_vertices(rng)
    E = _zero_sum(rng.normal(size=(300, 4)))
    D0, phi_vec = rng.uniform(0.1, 3.0, 300), rng.uniform(-6.0, 6.0, (300, 3))
    H = hamiltonians.four_well(E, D0, phi_vec, vertices)
    moved = hamiltonians.four_well(E, D0, phi_vec, vertices + rng.normal(size=3) * 3.0)
    scale = _level_scale(H)
    assert not np.allclose(moved, H)  # the gauge really changed
    assert np.all(np.abs(_levels(moved) - _levels(H)) <= 1e-12 * scale)
    faces, _ = hamiltonians.tetrahedron_faces(vertices)
    for i, j, k in faces:
        loop = lambda M: M[:, i, j] * M[:, j, k] * M[:, k, i]  # noqa: E731
        assert np.allclose(loop(moved), loop(H), rtol=1e-12, atol=0)
    G = _gauge(H, rng.uniform(-math.pi, math.pi, (300, 4)))
    assert np.all(np.abs(_levels(G) - _levels(H)) <= 1e-12 * scale)


# --------------------------------------------------------------------------- periodicity
@HYPOTHESIS
@given(
    n_wells=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    D0=positive,
    phi=phases,
    turns=st.integers(-3, 3),
)
def test_ring_spectrum_periodic_and_even(n_wells, seed, D0, phi, turns):
    """Ring spectra (Eq. 6 for N = 3) are 2 pi periodic and even in phi (1e-12 of max |level|)."""
    E = _zero_sum(np.random.default_rng(seed).normal(size=n_wells) * 3.0)
    levels = _levels(hamiltonians.ring(E, D0, phi))
    scale = np.abs(levels).max()
    shifted = _levels(hamiltonians.ring(E, D0, phi + 2.0 * math.pi * turns))
    mirrored = _levels(hamiltonians.ring(E, D0, -phi))
    assert np.abs(shifted - levels).max() <= 1e-12 * scale
    assert np.abs(mirrored - levels).max() <= 1e-12 * scale


@pytest.mark.parametrize("geometry", [pytest.param("regular", id="regular"), pytest.param("random", id="random")])
def test_four_well_flux_periodicity_and_time_reversal(rng, geometry):
    """Shifting phi_vec so that every face flux phi_vec . a_f changes by a multiple of 2 pi
    leaves the spectrum unchanged, as does phi_vec -> -phi_vec (1e-12)."""
    vertices = None if geometry == "regular" else random_vertices(rng)
    _, areas = hamiltonians.tetrahedron_faces(vertices)
    E = _zero_sum(rng.normal(size=(100, 4)))
    D0, phi_vec = rng.uniform(0.1, 3.0, 100), rng.uniform(-3.0, 3.0, (100, 3))
    levels = _levels(hamiltonians.four_well(E, D0, phi_vec, vertices))
    scale = np.abs(levels).max(axis=-1, keepdims=True)
    turns = rng.integers(-2, 3, size=(100, 3))
    turns[:, 0] = np.where(turns.any(axis=-1), turns[:, 0], 1)  # at least one flux quantum
    shift = np.linalg.solve(areas[:3], (2.0 * math.pi * turns).T).T  # a_f . shift = 2 pi m_f, f < 3
    fourth = shift @ areas[3] / (2.0 * math.pi)
    assert np.allclose(fourth, np.round(fourth), atol=1e-9)  # the fourth face follows (closed surface)
    shifted = _levels(hamiltonians.four_well(E, D0, phi_vec + shift, vertices))
    assert np.all(np.abs(shifted - levels) <= 1e-12 * scale)
    reversed_ = _levels(hamiltonians.four_well(E, D0, -phi_vec, vertices))
    assert np.all(np.abs(reversed_ - levels) <= 1e-12 * scale)
    # and a generic shift does change it: the check can fail
    generic = _levels(hamiltonians.four_well(E, D0, phi_vec + 0.5, vertices))
    assert np.abs(generic - levels).max() > 1e-3


# --------------------------------------------------------------------------- Eq. 9 and slopes
@pytest.mark.parametrize(
    "D0", [pytest.param(0.01, id="small"), pytest.param(1.0, id="unit"), pytest.param(250.0, id="big")]
)
def test_positive_D0_gives_degenerate_ground_doublet(D0):
    """Eq. 9: with D0 > 0, at E_i = 0 and phi = 0 the 3LS levels are (-D0, -D0, 2 D0): a degenerate
    ground doublet; the regular four-well system has a triplet (-D0 x3, 3 D0). (1e-14 relative)"""
    three = _levels(hamiltonians.three_level(np.zeros(3), D0, 0.0))
    assert np.allclose(three, [-D0, -D0, 2 * D0], rtol=0, atol=1e-14 * D0)
    four = _levels(hamiltonians.four_well(np.zeros(4), D0, np.zeros(3)))
    assert np.allclose(four, [-D0, -D0, -D0, 3 * D0], rtol=0, atol=1e-14 * D0)
    # Weak disorder or a flux lifts the doublet (Eq. 9's remark): the check can fail.
    split = _levels(hamiltonians.three_level([1e-3 * D0, 0.0, -1e-3 * D0], D0, 0.0))
    assert split[1] - split[0] > 1e-4 * D0


def test_sum_of_level_slopes_vanishes(rng):
    """Eq. 6: sum of level slopes = Tr(dH/dphi) = 0, from the exact slopes (1e-12 of D0) and
    from finite differences of the levels (their sum, Tr H, does not depend on phi)."""
    E = _zero_sum(rng.normal(size=(500, 3)) * rng.uniform(0.01, 10.0, (500, 1)))
    D0, phi = rng.uniform(0.1, 3.0, 500), rng.uniform(-7.0, 7.0, 500)
    dH, d2H = hamiltonians.three_level_derivatives(E, D0, phi)
    assert np.abs(np.trace(dH, axis1=-2, axis2=-1)).max() == 0.0
    sp = spectra.solve(hamiltonians.three_level(E, D0, phi), dH, d2H)
    assert np.all(np.abs(sp.slopes.sum(axis=-1)) <= 1e-12 * D0)
    assert np.all(np.abs(sp.curvature.sum(axis=-1)) <= 1e-12 * D0)
    h = 1e-3
    level_sum = lambda s: _levels(hamiltonians.three_level(E, D0, phi + s)).sum(axis=-1)  # noqa: E731
    scale = _level_scale(hamiltonians.three_level(E, D0, phi))[:, 0]
    assert np.all(np.abs(level_sum(h) - level_sum(-h)) / (2 * h) <= 1e-10 * scale)


# --------------------------------------------------------------------------- exact derivatives
def _fd_matrix(build, h):
    f = [build(k * h) for k in (-2, -1, 0, 1, 2)]
    first = (f[0] - 8 * f[1] + 8 * f[3] - f[4]) / (12 * h)
    second = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h**2)
    return first, second


@pytest.mark.parametrize("n_wells", [pytest.param(n, id=f"ring{n}") for n in (2, 3, 4, 7)])
def test_ring_derivatives_match_finite_differences(rng, n_wells):
    """ring_derivatives (three_level_derivatives for N = 3) equal five-point differences of H
    (step 1e-3: truncation ~1e-13 D0, rounding ~1e-10 D0; tolerance 1e-8 D0)."""
    E, D0, phi = rng.normal(size=(50, n_wells)), rng.uniform(0.1, 3.0, (50, 1, 1)), rng.uniform(-7, 7, 50)
    build = hamiltonians.three_level if n_wells == 3 else hamiltonians.ring
    derivatives = hamiltonians.three_level_derivatives if n_wells == 3 else hamiltonians.ring_derivatives
    exact = derivatives(E, D0[:, 0, 0], phi)
    fd = _fd_matrix(lambda s: build(E, D0[:, 0, 0], phi + s), 1e-3)
    for a, b in zip(exact, fd):
        assert np.all(np.abs(a - b) <= 1e-8 * D0)


@pytest.mark.parametrize("geometry", [pytest.param("regular", id="regular"), pytest.param("random", id="random")])
def test_four_well_derivatives_match_finite_differences(rng, geometry):
    """four_well_derivatives along a direction n equal differences of H(phi_vec + s n) (1e-8 D0)."""
    vertices = None if geometry == "regular" else random_vertices(rng)
    E, D0 = rng.normal(size=(50, 4)), rng.uniform(0.1, 3.0, 50)
    phi_vec, direction = rng.uniform(-5, 5, (50, 3)), rng.normal(size=(50, 3))
    exact = hamiltonians.four_well_derivatives(E, D0, phi_vec, direction, vertices)
    fd = _fd_matrix(lambda s: hamiltonians.four_well(E, D0, phi_vec + s * direction, vertices), 1e-3)
    scale = D0[:, None, None] * (1 + np.linalg.norm(direction, axis=-1)[:, None, None] ** 2)
    for a, b in zip(exact, fd):
        assert np.all(np.abs(a - b) <= 1e-8 * scale)


# --------------------------------------------------------------------------- facts of Eq. 6
@HYPOTHESIS
@given(D=st.floats(0.0, 30.0), alpha=st.floats(-10.0, 10.0))
def test_asymmetries_from_polar(D, alpha):
    """E_k = sqrt(2/3) D cos(alpha - 2 pi k/3): sum 0, sum of squares D^2,
    product (2/3)^{3/2} D^3 cos(3 alpha)/4 (1e-12 relative to D^k)."""
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    assert E.shape == (3,)
    assert abs(E.sum()) <= 1e-12 * (D + 1e-300) + 1e-300
    # 1e-300 absolute: D^2 and D^3 are subnormal or zero for D below about 1e-154
    assert abs(np.sum(E**2) - D**2) <= 1e-12 * D**2 + 1e-300
    assert abs(np.prod(E) - (2 / 3) ** 1.5 * D**3 * math.cos(3 * alpha) / 4) <= 1e-12 * D**3 + 1e-300


def test_asymmetries_from_polar_broadcast():
    E = hamiltonians.asymmetries_from_polar(np.array([1.0, 2.0])[:, None], np.linspace(0, 1, 5))
    assert E.shape == (2, 5, 3)


@HYPOTHESIS
@given(D=st.floats(0.0, 20.0), alpha=st.floats(-4.0, 4.0), D0=st.floats(0.05, 10.0), phi=phases)
def test_characteristic_polynomial(D, alpha, D0, phi):
    """The levels of Eq. 6 are the roots of
    lambda^3 - (3 D0^2 + D^2/2) lambda - (2 D0^3 cos(phi) + E1 E2 E3) (coefficients to 1e-12 s^k)."""
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    levels = _levels(hamiltonians.three_level(E, D0, phi))
    s = np.abs(levels).max()
    linear = 3 * D0**2 + D**2 / 2
    constant = 2 * D0**3 * math.cos(phi) + np.prod(E)
    coefficients = np.poly(levels)  # monic, from the numerical roots
    for k, expected in ((1, 0.0), (2, -linear), (3, -constant)):
        assert abs(coefficients[k] - expected) <= 1e-12 * s**k, k
    cubic = levels**3 - linear * levels - constant  # each level is a root
    assert np.all(np.abs(cubic) <= 1e-12 * s**3)


def test_levels_at_zero_asymmetry():
    """At E_i = 0 the levels are 2 D0 cos(phi/3 + 2 pi k/3) and, for |phi| <= pi, the lower gap is
    2 sqrt(3) D0 |sin(phi/3)| (1e-13 D0), whose square is (4/3) D0^2 phi^2 (1 - phi^2/27 + O(phi^4))."""
    D0 = 1.3
    phi = np.linspace(-math.pi, math.pi, 401)
    levels = _levels(hamiltonians.three_level(np.zeros(3), D0, phi))
    k = np.arange(3)
    expected = np.sort(2 * D0 * np.cos(phi[:, None] / 3 + 2 * math.pi * k / 3), axis=-1)
    assert np.abs(levels - expected).max() <= 1e-13 * D0
    gap = levels[:, 1] - levels[:, 0]
    assert np.abs(gap - 2 * math.sqrt(3) * D0 * np.abs(np.sin(phi / 3))).max() <= 1e-13 * D0
    # beyond |phi| = pi the lower gap closes again (it is 2 pi periodic), so the form is not global
    outside = _levels(hamiltonians.three_level(np.zeros(3), D0, 2 * math.pi - 0.3))
    assert abs((outside[1] - outside[0]) - 2 * math.sqrt(3) * D0 * math.sin(0.3 / 3)) <= 1e-13 * D0
    # Eq. 11's expansion: the relative remainder is 2 phi^4/3645 (next Taylor term), tested to 2 %
    small = np.array([0.05, 0.1, 0.2, 0.4])
    lv = _levels(hamiltonians.three_level(np.zeros(3), D0, small))
    g2 = (lv[:, 1] - lv[:, 0]) ** 2
    remainder = g2 / (4 / 3 * D0**2 * small**2 * (1 - small**2 / 27)) - 1
    assert np.allclose(remainder, 2 * small**4 / 3645, rtol=2e-2, atol=0)


@pytest.mark.parametrize(
    "alpha, expected_slope",
    [
        pytest.param(0.3, 1.0, id="generic-alpha-linear"),
        pytest.param(0.0, 1.0, id="alpha0-linear"),
        pytest.param(math.pi / 6, 2.0, id="cos3alpha0-quadratic"),
    ],
)
def test_lower_gap_small_asymmetry_limit(alpha, expected_slope):
    """For D << D0 and phi ~ D/D0 the lower gap obeys E^2 = (2/3) D^2 + (4/3) D0^2 phi^2; the relative
    error of E shrinks linearly in D/D0 (log-log slope in [0.9, 1.1]) — it comes from E1 E2 E3, so
    where cos(3 alpha) = 0 it is quadratic instead (slope in [1.9, 2.1])."""
    D0 = 2.0
    ratio = np.logspace(-4, -1.5, 8)
    D, phi = ratio * D0, ratio
    levels = _levels(hamiltonians.three_level(hamiltonians.asymmetries_from_polar(D, alpha), D0, phi))
    gap = levels[:, 1] - levels[:, 0]
    approx = np.sqrt(2 / 3 * D**2 + 4 / 3 * D0**2 * phi**2)
    error = np.abs(gap / approx - 1)
    assert error.max() < 0.05
    slope = np.polyfit(np.log(ratio), np.log(error), 1)[0]
    assert expected_slope - 0.1 <= slope <= expected_slope + 0.1, slope


# --------------------------------------------------------------------------- bad input
GOOD3 = {"E": [0.1, -0.2, 0.1], "D0": 1.0, "phi": 0.3}
GOOD4 = {"E": [0.1, -0.2, 0.1, 0.0], "D0": 1.0, "phi_vec": [0.1, 0.2, 0.3]}


@pytest.mark.parametrize(
    "func, kwargs, name",
    [
        pytest.param(hamiltonians.three_level, {**GOOD3, "E": [0.1, -0.1]}, "E", id="3LS-E-length"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "E": 1.0}, "E", id="3LS-E-scalar"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "D0": 0.0}, "D0", id="3LS-D0-zero"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "D0": -1.0}, "D0", id="3LS-D0-negative"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "D0": [1.0, -0.5]}, "D0", id="3LS-D0-one-negative"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "E": [0.1, np.nan, 0.1]}, "E", id="3LS-E-nan"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "D0": np.nan}, "D0", id="3LS-D0-nan"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "phi": np.nan}, "phi", id="3LS-phi-nan"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "phi": np.inf}, "phi", id="3LS-phi-inf"),
        pytest.param(hamiltonians.three_level, {**GOOD3, "phi": "x"}, "phi", id="3LS-phi-text"),
        pytest.param(hamiltonians.three_level, {"E": np.zeros((5, 3)), "D0": np.ones(4), "phi": 0.0}, "D0",
                     id="3LS-batch-mismatch"),
        pytest.param(hamiltonians.three_level_derivatives, {**GOOD3, "D0": 0.0}, "D0", id="3LS-deriv-D0"),
        pytest.param(hamiltonians.ring, {**GOOD3, "E": [0.3]}, "E", id="ring-one-well"),
        pytest.param(hamiltonians.ring, {**GOOD3, "D0": -2.0}, "D0", id="ring-D0"),
        pytest.param(hamiltonians.ring_derivatives, {**GOOD3, "phi": np.nan}, "phi", id="ring-deriv-phi-nan"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "E": [0.1, 0.2, 0.3]}, "E", id="4W-E-length"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "phi_vec": [0.1, 0.2]}, "phi_vec", id="4W-phi_vec-length"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "phi_vec": 0.1}, "phi_vec", id="4W-phi_vec-scalar"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "D0": 0.0}, "D0", id="4W-D0-zero"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "E": [0.1, np.nan, 0.3, 0.0]}, "E", id="4W-E-nan"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "phi_vec": [0.1, np.nan, 0.3]}, "phi_vec", id="4W-phi_vec-nan"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "vertices": np.zeros((3, 3))}, "vertices",
                     id="4W-vertices-shape"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "vertices": np.eye(4)}, "vertices", id="4W-vertices-4x4"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "vertices": [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]},
                     "vertices", id="4W-vertices-flat"),
        pytest.param(hamiltonians.four_well, {**GOOD4, "vertices": [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, np.nan]]},
                     "vertices", id="4W-vertices-nan"),
        pytest.param(hamiltonians.four_well_derivatives, {**GOOD4, "direction": [1.0, 0.0]}, "direction",
                     id="4W-direction-length"),
        pytest.param(hamiltonians.four_well_derivatives, {**GOOD4, "direction": np.ones((2, 3)), "E": np.zeros((3, 4))},
                     "direction", id="4W-direction-batch"),
        pytest.param(hamiltonians.tetrahedron_faces, {"vertices": np.zeros((4, 3))}, "vertices", id="faces-degenerate"),
        pytest.param(hamiltonians.two_level, {"delta": np.nan, "delta0": 1.0}, "delta", id="2LS-delta-nan"),
        pytest.param(hamiltonians.two_level, {"delta": 1.0, "delta0": np.inf}, "delta0", id="2LS-delta0-inf"),
        pytest.param(hamiltonians.two_level, {"delta": np.zeros(3), "delta0": np.ones(2)}, "delta0", id="2LS-batch"),
        pytest.param(hamiltonians.asymmetries_from_polar, {"D": -1.0, "alpha": 0.0}, "D", id="polar-D-negative"),
        pytest.param(hamiltonians.asymmetries_from_polar, {"D": 1.0, "alpha": np.nan}, "alpha", id="polar-alpha-nan"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(func, kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        func(**kwargs)
