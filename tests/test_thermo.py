"""Tests of tunnelsim.thermo: thermal averages, exact M and chi, identities and limits.

Cross-checks: a QuTiP density-matrix computation on 1000 random instances of every system;
finite differences of the free energy for M = -dF/dlambda and the Kubo-form chi = -d2F/dlambda2,
including at exact degeneracies; thermodynamic identities (C = dU/dT, S = -dF/dT, M = -dF/dB,
Maxwell) for the 3LS and four-well models with the field in tesla; closed forms and limits.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from conftest import FAMILY_NAMES
from tunnelsim import hamiltonians, spectra, systems, thermo

FAMILIES = [pytest.param(name, id=name) for name in FAMILY_NAMES]
QUTIP_TEMPERATURES_K = np.array([0.3, 3.0, 30.0])


def _spectral_norm(a):
    return np.linalg.norm(a, ord=2, axis=(-2, -1))


def _five_point(f, h):
    """Five-point first and second derivatives of ``f(shift)`` with step ``h``."""
    f_m2, f_m1, f_0, f_p1, f_p2 = (f(k * h) for k in (-2, -1, 0, 1, 2))
    first = (f_m2 - 8.0 * f_m1 + 8.0 * f_p1 - f_p2) / (12.0 * h)
    second = (-f_m2 + 16.0 * f_m1 - 30.0 * f_0 + 16.0 * f_p1 - f_p2) / (12.0 * h**2)
    return first, second


def _three_level_spectrum(E, D0, phi):
    return spectra.solve(hamiltonians.three_level(E, D0, phi), *hamiltonians.three_level_derivatives(E, D0, phi))


def _free_energy(H, T):
    return thermo.thermodynamics(spectra.solve(H), T).free_energy_K[..., 0]


# --------------------------------------------------------------------------- QuTiP
@pytest.fixture(scope="module", params=FAMILIES)
def family_and_qutip_thermal(request, random_families, qutip):
    """F, U, S and -<dH> of every instance at QUTIP_TEMPERATURES_K, computed with QuTiP.

    ``rho = exp(-(H - E_0)/T) / Tr``; the shift by QuTiP's own ground energy ``E_0`` only keeps
    the exponential in range: ``F = E_0 - T ln Tr exp(-(H - E_0)/T)``.
    """
    family = random_families[request.param]
    H = family.hamiltonian()
    dH, _ = family.derivatives()
    shape = (family.size, QUTIP_TEMPERATURES_K.size)
    out = {key: np.empty(shape) for key in ("F", "U", "S", "M")}
    for i in range(family.size):
        h, dh = spectra.to_qobj(H, (i,)), spectra.to_qobj(dH, (i,))
        e0 = h.eigenenergies()[0]
        for j, T in enumerate(QUTIP_TEMPERATURES_K):
            unnormalised = (-(h - e0) / T).expm()
            trace = unnormalised.tr().real
            rho = unnormalised / trace
            out["F"][i, j] = e0 - T * math.log(trace)
            out["U"][i, j] = qutip.expect(h, rho)
            out["S"][i, j] = qutip.entropy_vn(rho)
            out["M"][i, j] = -qutip.expect(dh, rho)
    return family, out


def test_thermal_averages_match_qutip(family_and_qutip_thermal):
    """F, U (1e-12 of max(|level|, |F|)), S (1e-12 absolute, in k_B) and M = -Tr(rho dH)
    (1e-12 of max |level| per unit lam) agree with QuTiP on 1000 instances x 3 temperatures."""
    family, ref = family_and_qutip_thermal
    sp = family.spectrum()
    th = thermo.thermodynamics(sp, QUTIP_TEMPERATURES_K)
    assert th.free_energy_K.shape == (family.size, QUTIP_TEMPERATURES_K.size)
    level_scale = np.abs(sp.levels).max(axis=-1, keepdims=True)
    scale = np.maximum(level_scale, np.abs(ref["F"]))
    errors = {
        "F": np.abs(th.free_energy_K - ref["F"]) / scale,
        "U": np.abs(th.internal_energy_K - ref["U"]) / scale,
        "S": np.abs(th.entropy - ref["S"]),
        "M": np.abs(th.magnetization - ref["M"]) / (level_scale / family.lam_unit(sp.levels)[:, None]),
    }
    worst = {key: float(err.max()) for key, err in errors.items()}
    assert all(value < 1e-12 for value in worst.values()), worst


# --------------------------------------------------------------------------- M and chi vs F
@pytest.mark.parametrize("name", FAMILIES)
@pytest.mark.parametrize("temperature_K", [pytest.param(T, id=f"T{T:g}") for T in (0.3, 3.0, 30.0)])
def test_magnetization_and_susceptibility_are_derivatives_of_F(family_factory, name, temperature_K):
    """M = -dF/dlam and the Kubo chi = -d2F/dlam2 (van Vleck, Curie and the <d2H> term) equal
    five-point differences of F.

    F is analytic in lam within about r = T / (|dH| + sqrt(T |d2H|)); with step h = 1e-2 r the
    truncation (about 8 (h/r)^4) and rounding (about 1e-16 |F| / (h^2 T/r^2)) stay below the
    tolerances, 1e-8 of T/r for M and 1e-6 of T/r^2 for chi (the Curie scale).
    """
    family = family_factory(name, 300, seed=100 + FAMILY_NAMES.index(name))
    sp = family.spectrum()
    th = thermo.thermodynamics(sp, temperature_K)
    dH, d2H = family.derivatives()
    T = temperature_K
    radius = np.minimum(family.lam_unit(sp.levels), T / (_spectral_norm(dH) + np.sqrt(T * _spectral_norm(d2H))))
    step = 1e-2 * radius
    fd_first, fd_second = _five_point(lambda s: _free_energy(family.hamiltonian(s), T), step)
    m_error = np.abs(-fd_first - th.magnetization[:, 0]) / (T / radius)
    chi_error = np.abs(-fd_second - th.susceptibility[:, 0]) / (T / radius**2)
    assert m_error.max() < 1e-8, m_error.max()
    assert chi_error.max() < 1e-6, chi_error.max()


def _degenerate_cases():
    D0 = 0.8
    zero3, zero4 = np.zeros(3), np.zeros(4)
    for T in (0.01, 0.5, 5.0):
        yield pytest.param(
            lambda s, D0=D0: hamiltonians.three_level(zero3, D0, s),
            lambda s, D0=D0: hamiltonians.three_level_derivatives(zero3, D0, s),
            T,
            id=f"3LS-doublet-T{T:g}",
        )
        for k, n in enumerate(([0.0, 0.0, 1.0], [0.6, 0.0, 0.8], [1.0, 1.0, 1.0] / np.sqrt(3.0))):
            n = np.asarray(n)
            yield pytest.param(
                lambda s, D0=D0, n=n: hamiltonians.four_well(zero4, D0, s * n),
                lambda s, D0=D0, n=n: hamiltonians.four_well_derivatives(zero4, D0, s * n, n),
                T,
                id=f"4W-triplet-dir{k}-T{T:g}",
            )


@pytest.mark.parametrize("build, build_derivatives, temperature_K", list(_degenerate_cases()))
def test_susceptibility_at_degeneracy(build, build_derivatives, temperature_K):
    """At E = 0, phi = 0 (3LS ground doublet, four-well ground triplet) M and chi from the Kubo
    form still equal differences of F (basis independent: exact at degeneracies). Step
    1e-2 min(1, T/D0); tolerances 1e-8 (M) and 1e-6 (chi) of D0 max(1, D0/T)^k."""
    D0, T = 0.8, temperature_K
    sp = spectra.solve(build(0.0), *build_derivatives(0.0))
    th = thermo.thermodynamics(sp, T)
    radius = min(1.0, T / D0)
    fd_first, fd_second = _five_point(lambda s: _free_energy(build(s), T), 1e-2 * radius)
    M, chi = th.magnetization[0], th.susceptibility[0]
    assert abs(M) < 1e-12 * D0  # F is even in the field at E = 0
    assert abs(-fd_first - M) < 1e-8 * D0 / radius
    assert abs(-fd_second - chi) < 1e-6 * D0 / radius**2, (chi, -fd_second)
    assert abs(chi) > 1e-3 * D0  # a non-trivial response: the check can fail


def test_degenerate_ground_curie_law_and_isotropy(rng):
    """At E = 0, phi = 0 the 3LS doublet splits with slopes -+ D0/sqrt(3), so chi T -> D0^2/3 as
    T -> 0 (relative correction below T/D0); the regular four-well chi at E = 0 is the same for
    every field direction (tetrahedral symmetry makes the rank-2 response isotropic, 1e-12), and
    asymmetries break that isotropy."""
    D0 = 0.8
    T = np.array([1e-4, 1e-3, 1e-2]) * D0
    sp = _three_level_spectrum(np.zeros(3), D0, 0.0)
    curie = thermo.thermodynamics(sp, T).susceptibility * T / (D0**2 / 3)
    assert np.all(np.abs(curie - 1) <= T / D0)
    n = rng.normal(size=(20, 3))
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    zero = np.zeros((20, 3))

    def chi_over_directions(E):
        spec = spectra.solve(hamiltonians.four_well(E, D0, zero), *hamiltonians.four_well_derivatives(E, D0, zero, n))
        return thermo.thermodynamics(spec, [0.01, 0.5]).susceptibility

    symmetric = chi_over_directions(np.zeros(4))
    assert np.all(np.ptp(symmetric, axis=0) <= 1e-12 * np.abs(symmetric).max(axis=0))
    broken = chi_over_directions(np.array([0.1, -0.1, 0.2, -0.2]))
    assert np.all(np.ptp(broken, axis=0) > 1e-2 * np.abs(broken).max(axis=0))


def test_susceptibility_continuous_through_degeneracy():
    """chi at the exact 3LS doublet equals the limit of chi at tiny splittings (E = 1e-9 D0)."""
    D0 = 1.0
    T = np.array([0.02, 0.3, 3.0])
    exact = thermo.thermodynamics(_three_level_spectrum(np.zeros(3), D0, 0.0), T).susceptibility
    E = hamiltonians.asymmetries_from_polar(1e-9 * D0, 0.4)
    near = thermo.thermodynamics(_three_level_spectrum(E, D0, 1e-9), T).susceptibility
    assert np.allclose(near, exact, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- identities (field in T)
def _three_level_model(rng, n=30):
    model = systems.ThreeLevelSystem(charge_area_A2=3.0e4)
    D = rng.uniform(0.05, 3.0, n)
    E = hamiltonians.asymmetries_from_polar(D, rng.uniform(0, 2 * math.pi, n))
    params = {"E": E, "D0": rng.uniform(0.3, 3.0, n)}
    return model, params, np.array([0.2, 0.7, 1.0])


def _four_well_model(rng, n=30):
    model = systems.FourWellSystem(charge_area_A2=3.0e4)
    E = rng.normal(size=(n, 4))
    params = {"E": E - E.mean(axis=-1, keepdims=True), "D0": rng.uniform(0.3, 3.0, n)}
    directions = rng.normal(size=(3, 3))
    return model, params, directions / np.linalg.norm(directions, axis=-1, keepdims=True)


MODELS = [pytest.param(_three_level_model, id="three_level"), pytest.param(_four_well_model, id="four_well")]


def _relative_error(actual, expected, scale):
    """``|actual - expected| / max(|expected|, 1e-3 scale)`` pointwise.

    ``scale`` is the size the quantity has in general: where it is tiny (an exponentially small
    C or S, or M and dS/dB at B = 0 where F is even in the field) the comparison becomes
    absolute, at 1e-3 of that size (finite differences of F cannot resolve less).
    """
    return np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-3 * scale)


@pytest.mark.parametrize("make_model", MODELS)
@pytest.mark.parametrize(
    "field_T", [pytest.param(0.0, id="B0"), pytest.param(1.7, id="B1.7"), pytest.param(6.5, id="B6.5")]
)
def test_thermodynamic_identities(rng, make_model, field_T):
    """C = dU/dT, S = -dF/dT, M = -dF/dB, chi = dM/dB and Maxwell dS/dB = dM/dT, with the field in
    tesla through systems.*.spectrum, to 1e-6 relative (five-point steps 1e-3 T in temperature,
    1e-3 tesla in field)."""
    model, params, orientations = make_model(rng)
    T = np.array([0.3, 1.0, 3.0, 10.0])

    def state(B, temperatures):
        return thermo.thermodynamics(model.spectrum(params, B, orientations), temperatures)

    th = state(field_T, T)
    hT, hB = 1e-3 * T, 1e-3
    dT = lambda attr: _five_point(lambda s: getattr(state(field_T, T + s), attr), hT)[0]  # noqa: E731
    dB = lambda attr: _five_point(lambda s: getattr(state(field_T + s, T), attr), hB)[0]  # noqa: E731
    # general sizes: chi x 1 T for M, chi x 1 T / T for dM/dT
    chi_scale = np.abs(th.susceptibility).max()
    checks = {
        "C = dU/dT": (dT("internal_energy_K"), th.heat_capacity, np.abs(th.heat_capacity).max()),
        "S = -dF/dT": (-dT("free_energy_K"), th.entropy, np.abs(th.entropy).max()),
        "M = -dF/dB": (-dB("free_energy_K"), th.magnetization, chi_scale),
        "chi = dM/dB": (dB("magnetization"), th.susceptibility, chi_scale),
        "dS/dB = dM/dT": (dB("entropy"), dT("magnetization"), chi_scale / T.min()),
    }
    worst = {key: float(_relative_error(a, b, scale).max()) for key, (a, b, scale) in checks.items()}
    assert max(worst.values()) < 1e-6, worst
    assert chi_scale > 1e-2  # the field really couples: the checks can fail


def test_two_level_heat_capacity_is_schottky():
    """The 2LS heat capacity is the Schottky form (E/T)^2 e^{E/T} / (1 + e^{E/T})^2 with
    E = sqrt(Delta^2 + Delta0^2) (written with e^{-E/T} to stay finite), and F, U, S are the
    closed forms of levels +-E/2 (1e-12 relative), over E/T from 1e-4 to 1e4."""
    delta = np.array([0.0, 0.3, 2.0, 40.0])
    delta0 = np.array([1.0, 0.01, 2.0, 5.0])
    T = np.logspace(-2, 4, 61)
    th = thermo.thermodynamics(systems.TwoLevelSystem().spectrum({"delta": delta, "delta0": delta0}, 1.0), T)
    E = np.hypot(delta, delta0)[:, None, None]
    x = E / T
    schottky = x**2 * np.exp(-x) / (1.0 + np.exp(-x)) ** 2
    assert np.allclose(th.heat_capacity, schottky, rtol=1e-12, atol=1e-300)
    free = -E / 2 - T * np.log1p(np.exp(-x))
    assert np.allclose(th.free_energy_K, free, rtol=1e-12, atol=0)
    # U = E_0 + <E - E_0> cancels to about 1e-16 E where U ~ 0 (T >> E): absolute floor 1e-14 E
    internal = -E / 2 * np.tanh(x / 2)
    assert np.all(np.abs(th.internal_energy_K - internal) <= 1e-12 * np.abs(internal) + 1e-14 * E)
    assert np.allclose(th.entropy, np.log1p(np.exp(-x)) + x * np.exp(-x) / (1 + np.exp(-x)), rtol=1e-12, atol=1e-300)
    assert not th.magnetization.any()  # Eq. 5 does not couple to the field
    peak = T[np.argmax(th.heat_capacity[1, 0])]
    assert 0.3 < peak / E[1, 0, 0] < 0.55  # Schottky peak at T ~ 0.42 E


# --------------------------------------------------------------------------- limits
@pytest.mark.parametrize(
    "H, degeneracy",
    [
        pytest.param(hamiltonians.three_level(np.zeros(3), 1.0, 0.0), 2, id="3LS-doublet"),
        pytest.param(hamiltonians.four_well(np.zeros(4), 1.0, np.zeros(3)), 3, id="4W-triplet"),
        pytest.param(hamiltonians.three_level([0.3, -0.1, -0.2], 1.0, 0.4), 1, id="3LS-generic"),
        pytest.param(hamiltonians.ring(np.zeros(6), 1.0, 0.0), 1, id="ring6"),
        pytest.param(hamiltonians.ring(np.zeros(5), 1.0, 0.0), 2, id="ring5"),
    ],
)
def test_low_and_high_temperature_limits(H, degeneracy):
    """F -> E_0 and S -> ln(g) as T -> 0 (T = gap/100: corrections e^{-100}, so 1e-12 is rounding);
    S -> ln(n) as T -> inf (T = 1e4 x level spread: correction below 1e-7); C -> 0 both ways
    (below 1e-20 when cold: what is left is the rounding splitting of the degenerate levels)."""
    levels = np.linalg.eigvalsh(H)
    n = levels.size
    gap = levels[degeneracy] - levels[0]
    cold = thermo.thermodynamics(spectra.solve(H), gap / 100.0)
    assert abs(cold.free_energy_K[0] - (levels[0] - gap / 100.0 * math.log(degeneracy))) < 1e-12
    assert abs(cold.free_energy_K[0] - levels[0]) <= gap / 100.0 * math.log(n)
    assert abs(cold.entropy[0] - math.log(degeneracy)) < 1e-12
    assert cold.heat_capacity[0] < 1e-20
    hot = thermo.thermodynamics(spectra.solve(H), 1e4 * (levels[-1] - levels[0]))
    assert abs(hot.entropy[0] - math.log(n)) < 1e-7
    assert hot.heat_capacity[0] < 1e-7


@pytest.mark.parametrize("temperature_K", [pytest.param(1e-4, id="T1e-4"), pytest.param(1e4, id="T1e4")])
def test_extreme_temperatures_stay_finite(rng, temperature_K):
    """Levels up to 1e4 K at T = 1e-4 K and 1e4 K: no overflow, NaN or warning; F matches
    -T logsumexp(-E/T) (1e-12 relative), S and C are in range, M equals the thermal slope."""
    E = hamiltonians.asymmetries_from_polar(rng.uniform(1e2, 1e4, 50), rng.uniform(0, 6.3, 50))
    D0, phi = rng.uniform(1e-3, 1e3, 50), rng.uniform(-3, 3, 50)
    sp = _three_level_spectrum(E, D0, phi)
    T = np.array([temperature_K])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
            th = thermo.thermodynamics(sp, T)
    fields = ("log_partition", "free_energy_K", "internal_energy_K", "entropy", "heat_capacity")
    for field in fields + ("magnetization", "susceptibility"):
        assert np.all(np.isfinite(getattr(th, field))), field
    reference = -temperature_K * logsumexp(-sp.levels / temperature_K, axis=-1)
    assert np.allclose(th.free_energy_K[:, 0], reference, rtol=1e-12, atol=0)
    assert np.all((th.entropy >= -1e-12) & (th.entropy <= math.log(3) + 1e-12))
    assert np.all(th.heat_capacity >= 0)
    if temperature_K < 1:
        assert np.allclose(th.free_energy_K[:, 0], sp.levels[:, 0], rtol=1e-15, atol=0)
        assert np.allclose(th.magnetization[:, 0], -sp.slopes[:, 0], rtol=1e-12, atol=1e-12)


def test_boltzmann_weights():
    """Weights sum to 1 and have Boltzmann ratios; ln Z = ln sum exp(-E/T) (1e-13)."""
    levels = np.array([[-3.0, -1.0, 0.5, 3.5], [0.0, 0.0, 1.0, 2.0]])
    T = np.array([0.1, 1.0, 10.0])
    p, log_z = thermo.boltzmann_weights(levels, T)
    assert p.shape == (2, 3, 4) and log_z.shape == (2, 3)
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    ratio = p[..., 1:] / p[..., :1]
    assert np.allclose(ratio, np.exp(-(levels[:, None, 1:] - levels[:, None, :1]) / T[None, :, None]), rtol=1e-13)
    assert np.allclose(log_z, logsumexp(-levels[:, None, :] / T[:, None], axis=-1), rtol=1e-13)


def test_output_shapes_follow_batch_then_temperature():
    sp = _three_level_spectrum(np.zeros((4, 5, 3)), 1.0, 0.2)
    th = thermo.thermodynamics(sp, np.linspace(0.5, 2.0, 7))
    for field in ("free_energy_K", "entropy", "heat_capacity", "magnetization", "susceptibility"):
        assert getattr(th, field).shape == (4, 5, 7), field
    scalar = thermo.thermodynamics(sp, 1.0)
    assert scalar.free_energy_K.shape == (4, 5, 1)
    no_field = thermo.thermodynamics(spectra.solve(hamiltonians.three_level(np.zeros(3), 1.0, 0.0)), 1.0)
    assert no_field.magnetization is None and no_field.susceptibility is None


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "temperature_K",
    [
        pytest.param(0.0, id="zero"),
        pytest.param(-1.0, id="negative"),
        pytest.param([1.0, -0.5], id="one-negative"),
        pytest.param(np.nan, id="nan"),
        pytest.param([1.0, np.inf], id="inf"),
        pytest.param([[1.0, 2.0]], id="2d"),
        pytest.param("warm", id="text"),
    ],
)
def test_bad_temperature_raises(temperature_K):
    sp = spectra.solve(hamiltonians.three_level(np.zeros(3), 1.0, 0.0))
    with pytest.raises(ValueError, match="temperature_K"):
        thermo.thermodynamics(sp, temperature_K)
    with pytest.raises(ValueError, match="temperature_K"):
        thermo.boltzmann_weights(sp.levels, temperature_K)


def test_bad_spectrum_raises():
    with pytest.raises(ValueError, match="spectrum"):
        thermo.thermodynamics(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="levels"):
        thermo.thermodynamics(spectra.Spectrum(levels=np.array([0.0, np.nan])), 1.0)
