"""Tests of tunnelsim.spectra: levels, exact level slopes, couplings and the QuTiP bridge.

Levels are cross-checked against QuTiP (an independent eigensolver path) on 1000 random
instances of every system; slopes, couplings and curvatures against finite differences of
the levels (Hellmann-Feynman and second-order perturbation theory).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import FAMILY_NAMES
from tunnelsim import hamiltonians, spectra

FAMILIES = [pytest.param(name, id=name) for name in FAMILY_NAMES]


def _spectral_norm(a):
    return np.linalg.norm(a, ord=2, axis=(-2, -1))


def _central_differences(f, h):
    """Five-point first and second derivatives of ``f(shift)`` (shape (B, n)), step ``h`` (B,)."""
    f_m2, f_m1, f_0, f_p1, f_p2 = (f(k * h) for k in (-2, -1, 0, 1, 2))
    h = h[:, None]
    first = (f_m2 - 8.0 * f_m1 + 8.0 * f_p1 - f_p2) / (12.0 * h)
    second = (-f_m2 + 16.0 * f_m1 - 30.0 * f_0 + 16.0 * f_p1 - f_p2) / (12.0 * h**2)
    return first, second


def _analytic_radius(family, spectrum):
    """Field-parameter scale over which the levels vary, in units of ``lam_unit``, capped at 1.

    The smallest gap over the size of the field coupling: the levels are analytic in ``lam``
    within about this distance, so the ``k``-th derivative is about ``scale / radius^k``.
    """
    dH, d2H = family.derivatives()
    unit = family.lam_unit(spectrum.levels)
    gap = np.diff(spectrum.levels, axis=-1).min(axis=-1)
    return np.minimum(gap / (_spectral_norm(dH) * unit + _spectral_norm(d2H) * unit**2), 1.0)


# --------------------------------------------------------------------------- QuTiP
@pytest.fixture(scope="module", params=FAMILIES)
def family_and_qutip_levels(request, random_families, qutip):
    """A random family and the eigenenergies QuTiP finds for each of its instances."""
    family = random_families[request.param]
    H = family.hamiltonian()
    levels = np.array([spectra.to_qobj(H, (i,)).eigenenergies() for i in range(family.size)])
    return family, levels


def test_levels_match_qutip(family_and_qutip_levels):
    """Levels from numpy eigh agree with qutip.Qobj.eigenenergies to 1e-12 of max |level|."""
    family, qutip_levels = family_and_qutip_levels
    levels = spectra.solve(family.hamiltonian()).levels
    scale = np.abs(levels).max(axis=-1)
    assert family.size >= 1000
    assert np.all(np.diff(levels, axis=-1) >= 0.0)
    error = np.abs(levels - qutip_levels).max(axis=-1) / scale
    assert error.max() < 1e-12, f"max relative error {error.max():.2e}"


def test_to_qobj_round_trip(qutip):
    """to_qobj gives a Hermitian Qobj of dims [[n], [n]] holding exactly H[index]."""
    H = hamiltonians.four_well(np.arange(8.0).reshape(2, 4) - 1.5, 0.7, [[0.1, 0.2, 0.3]])
    q = spectra.to_qobj(H, (1,))
    assert q.dims == [[4], [4]]
    assert q.isherm
    assert np.array_equal(q.full(), H[1])
    single = spectra.to_qobj(H[0])
    assert np.array_equal(single.full(), H[0])


@pytest.mark.parametrize(
    "index",
    [pytest.param((), id="too-few"), pytest.param((0, 0), id="too-many")],
)
def test_to_qobj_rejects_wrong_index(index):
    H = hamiltonians.three_level(np.zeros((2, 3)), 1.0, 0.0)
    with pytest.raises(ValueError, match="index"):
        spectra.to_qobj(H, index)


# --------------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("name", FAMILIES)
def test_slopes_match_finite_differences(random_families, name):
    """Hellmann-Feynman slopes <n|dH|n> equal five-point differences of the levels.

    The step is 1e-3 of each instance's analytic radius, so truncation (about
    (h/r)^4 scale/r) and rounding (about 1e-16 scale/h) both stay below 1e-10 scale/r.
    """
    family = random_families[name]
    sp = family.spectrum()
    radius = _analytic_radius(family, sp)
    unit = family.lam_unit(sp.levels)
    away = radius > 1e-3  # away from degeneracies
    assert away.mean() > 0.95
    step = 1e-3 * radius * unit
    fd_first, _ = _central_differences(lambda s: spectra.solve(family.hamiltonian(s)).levels, step)
    natural = np.abs(sp.levels).max(axis=-1) / (radius * unit)
    error = (np.abs(fd_first - sp.slopes).max(axis=-1) / natural)[away]
    assert error.max() < 1e-10, f"max error {error.max():.2e} of scale/radius"


@pytest.mark.parametrize("name", FAMILIES)
def test_level_curvature_from_couplings_matches_finite_differences(random_families, name):
    """Second-order perturbation theory from the Spectrum equals d2E/dlam2 of the levels.

    ``E_n'' = <n|d2H|n> + 2 sum_{m != n} |<n|dH|m>|^2 / (E_n - E_m)`` uses ``curvature`` and
    ``coupling2``; five-point differences with step 1e-3 of the analytic radius agree to
    1e-7 of scale/radius^2 (truncation about 1e-11, rounding about 5e-10 of that scale).
    """
    family = random_families[name]
    sp = family.spectrum()
    radius = _analytic_radius(family, sp)
    unit = family.lam_unit(sp.levels)
    away = radius > 1e-3
    step = 1e-3 * radius * unit
    _, fd_second = _central_differences(lambda s: spectra.solve(family.hamiltonian(s)).levels, step)
    E = sp.levels
    gaps = E[..., :, None] - E[..., None, :]
    off = ~np.eye(family.n_levels, dtype=bool)
    second = sp.curvature + 2.0 * np.sum(np.where(off, sp.coupling2 / np.where(off, gaps, 1.0), 0.0), axis=-1)
    natural = np.abs(E).max(axis=-1) / (radius * unit) ** 2
    error = (np.abs(fd_second - second).max(axis=-1) / natural)[away]
    assert error.max() < 1e-7, f"max error {error.max():.2e} of scale/radius^2"


@pytest.mark.parametrize("name", FAMILIES)
def test_coupling_sum_rule(random_families, name):
    """``sum_m |<n|dH|m>|^2 = <n|dH^2|n>`` and the diagonal of coupling2 is slopes^2 (1e-12)."""
    family = random_families[name]
    H = family.hamiltonian()
    dH, _ = family.derivatives()
    sp = spectra.solve(H, dH)
    square = spectra.solve(H, dH @ dH)  # slopes of dH^2 are <n|dH^2|n>
    scale = _spectral_norm(dH)[:, None] ** 2 + 1e-300
    assert np.abs(sp.coupling2.sum(axis=-1) - square.slopes).max() / scale.max() < 1e-12
    diagonal = np.diagonal(sp.coupling2, axis1=-2, axis2=-1)
    assert np.max(np.abs(diagonal - sp.slopes**2) / scale) < 1e-12
    asymmetry = np.abs(sp.coupling2 - np.swapaxes(sp.coupling2, -1, -2)).max(axis=(-2, -1))
    assert np.max(asymmetry / scale[:, 0]) < 1e-12


def test_degenerate_doublet_slopes_from_block():
    """At E_i = 0, phi = 0 the 3LS ground doublet splits with slopes -+ D0/sqrt(3).

    Inside the doublet eigh may return any basis, so the individual ``slopes`` are not
    defined; the 2x2 block of dH (diagonal ``slopes``, off-diagonal ``|coupling|``) is, and
    its eigenvalues must be the slopes of ``2 D0 cos(phi/3 + 2 pi k/3)``, k = 1, 2 (1e-12).
    """
    D0 = 1.7
    E = [0.0, 0.0, 0.0]
    sp = spectra.solve(hamiltonians.three_level(E, D0, 0.0), *hamiltonians.three_level_derivatives(E, D0, 0.0))
    assert np.allclose(sp.levels, [-D0, -D0, 2.0 * D0], rtol=0, atol=1e-14)
    s1, s2 = sp.slopes[:2]
    c12 = sp.coupling2[0, 1]
    mean, half = 0.5 * (s1 + s2), math.sqrt(0.25 * (s1 - s2) ** 2 + c12)
    expected = D0 / math.sqrt(3.0)
    assert abs(mean) < 1e-12 * D0
    assert abs(half - expected) < 1e-12 * D0
    assert abs(sp.slopes[2]) < 1e-12 * D0  # the top level 2 D0 cos(phi/3) is flat at phi = 0


def test_rescaled_equals_scaled_derivatives(rng):
    """Spectrum.rescaled(f) equals solving with f dH and f^2 d2H (per-instance f), to 1e-12."""
    E = rng.normal(size=(20, 3))
    D0 = rng.uniform(0.5, 2.0, 20)
    phi = rng.uniform(-3.0, 3.0, 20)
    H = hamiltonians.three_level(E, D0, phi)
    dH, d2H = hamiltonians.three_level_derivatives(E, D0, phi)
    factor = rng.uniform(-2.0, 2.0, 20)
    direct = spectra.solve(H, factor[:, None, None] * dH, factor[:, None, None] ** 2 * d2H)
    rescaled = spectra.solve(H, dH, d2H).rescaled(factor)
    for attr in ("levels", "slopes", "coupling2", "curvature"):
        assert np.allclose(getattr(rescaled, attr), getattr(direct, attr), rtol=1e-12, atol=1e-12), attr


def test_derivatives_broadcast_against_batch(rng):
    """A single dH of shape (n, n) broadcasts over a batch of H."""
    H = hamiltonians.two_level(rng.normal(size=5), 1.0)
    dH = np.diag([0.5, -0.5]).astype(complex)
    one = spectra.solve(H, dH)
    many = spectra.solve(H, np.broadcast_to(dH, H.shape))
    assert one.slopes.shape == (5, 2)
    assert np.array_equal(one.slopes, many.slopes)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param({"H": np.zeros((3, 2))}, "H", id="H-non-square"),
        pytest.param({"H": np.zeros(3)}, "H", id="H-vector"),
        pytest.param({"H": np.full((2, 2), np.nan)}, "H", id="H-nan"),
        pytest.param({"H": np.eye(2), "dH": np.zeros((2, 3))}, "dH", id="dH-non-square"),
        pytest.param({"H": np.eye(2), "dH": np.zeros((3, 3))}, "dH", id="dH-wrong-size"),
        pytest.param({"H": np.eye(2)[None].repeat(4, 0), "dH": np.zeros((3, 2, 2))}, "dH", id="dH-wrong-batch"),
        pytest.param({"H": np.eye(2), "dH": np.zeros((3, 2, 2))}, "dH", id="dH-larger-batch"),
        pytest.param({"H": np.eye(2), "dH": np.eye(2), "d2H": np.array([[np.inf, 0], [0, 0]])}, "d2H", id="d2H-inf"),
    ],
)
def test_solve_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        spectra.solve(**kwargs)
