"""Dielectric response of tunnelling systems: dipoles, single systems, ensembles, ETM."""

import math

import numpy as np
import pytest

from tunnelsim import distributions, hamiltonians, units
from tunnelsim.dielectric import dipoles, etm, response
from tunnelsim.dielectric.ensemble import _node_parts, permittivity_map
from tunnelsim.ensemble import AveragingSettings
from tunnelsim.orientations import planar_rule

P_D = 1.3


def _fd_chi(h, Pe, T, step=2e-2):
    """-d^2F/df^2 by the 5-point stencil (error O(step^4))."""
    F = lambda f: response.free_energy_K(h - f * Pe, T)  # noqa: E731
    return -(-F(2 * step) + 16 * F(step) - 30 * F(0.0) + 16 * F(-step) - F(-2 * step)) / (12 * step**2)


# --------------------------------------------------------------------------- dipoles
def test_well_dipoles_nearest_neighbours_differ_by_2p():
    """STM convention (Phillips 1987): the two wells of a pair differ by 2p; dipoles sum to zero."""
    for pos in (dipoles.ring_positions(3), dipoles.tetrahedron_positions(), dipoles.ring_positions(2)):
        d = dipoles.well_dipoles(pos, P_D)
        assert np.allclose(d.sum(axis=0), 0.0, atol=1e-12)
        dist = np.linalg.norm(d[:, None] - d[None], axis=-1)
        nn = np.min(dist[~np.eye(len(d), dtype=bool)])
        assert nn == pytest.approx(2 * P_D, rel=1e-12)


def test_ring_positions_match_the_ab_phase_sense():
    """Kwant-style gauge check: the symmetric-gauge Peierls phases on ring_positions (as four_well
    uses them) are a diagonal gauge transform of hamiltonians.ring with the same phi (Eq. 6, 7)."""
    normal = np.array([0.3, -0.5, 0.8])
    r = dipoles.ring_positions(3, normal)
    nhat = normal / np.linalg.norm(normal)
    area = 0.5 * np.dot(np.cross(r[0], r[1]) + np.cross(r[1], r[2]) + np.cross(r[2], r[0]), nhat)
    assert area > 0
    phi, D0, E = 0.7, 1.0, np.array([0.2, -0.5, 0.3])
    phi_vec = nhat * phi / area
    h = np.diag(E).astype(complex)
    for i in range(3):
        j = (i + 1) % 3
        theta = 0.5 * np.dot(phi_vec, np.cross(r[i], r[j]))
        h[i, j], h[j, i] = D0 * np.exp(1j * theta), D0 * np.exp(-1j * theta)
    ref = hamiltonians.ring(E, D0, phi)
    # gauge phases chi_i with h = U ref U^dagger, U = diag(exp(i chi))
    chi = np.zeros(3)
    chi[1] = np.angle(h[0, 1] / ref[0, 1])
    chi[2] = chi[1] + np.angle(h[1, 2] / ref[1, 2])
    U = np.diag(np.exp(-1j * chi))
    assert np.allclose(U @ ref @ U.conj().T, h, atol=1e-12)


def test_dipole_operator_and_two_level_operator():
    d = dipoles.well_dipoles(np.array([[1.0, 0, 0], [-1.0, 0, 0]]), P_D)
    op = dipoles.dipole_operator(d, [0.6, 0.8, 0.0])
    assert np.allclose(op, np.diag([0.6 * P_D, -0.6 * P_D]))
    assert np.allclose(dipoles.two_level_dipole_operator(P_D, 0.6), op)
    with pytest.raises(ValueError, match="direction"):
        dipoles.dipole_operator(d, [1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="dipole_moment_D"):
        dipoles.well_dipoles(dipoles.ring_positions(3), -1.0)


# --------------------------------------------------------------------------- single systems
CASES = [
    pytest.param(hamiltonians.two_level(0.7, 0.4), np.array([[1.0, 0, 0], [-1.0, 0, 0]]), id="2LS"),
    pytest.param(hamiltonians.three_level([0.3, -0.1, -0.2], 1.0, 0.7), dipoles.ring_positions(3), id="3LS-phi"),
    pytest.param(hamiltonians.four_well([0.3, -0.1, -0.5, 0.3], 1.0, [0.3, 0.5, -0.2]),
                 dipoles.tetrahedron_positions(), id="four-well"),
]


@pytest.mark.parametrize("h, positions", CASES)
def test_static_susceptibility_is_free_energy_curvature(h, positions):
    """Linear response = -d^2F/dF^2 of the exact spectrum with -F P added (e.g. Phillips 1987 Sec. 4)."""
    T = np.array([0.05, 0.3, 1.0, 3.0])
    d = dipoles.well_dipoles(positions, P_D)
    e = np.array([0.36, 0.48, 0.8])
    chi = response.susceptibility(h, dipoles.dipole_components(d), np.outer(e, e), T, response.DielectricSettings(), P_D)
    ref = _fd_chi(h, dipoles.dipole_operator(d, e), T)
    np.testing.assert_allclose(chi.static, ref, rtol=1e-6)


def test_two_level_closed_form_and_jaeckle_rate():
    """STM 2LS (Phillips 1972; Jaeckle 1972): generic master equation = closed forms, incl. 1/tau."""
    s = response.DielectricSettings(frequency_Hz=1e7, linewidth_K=1e-4)
    T = np.array([0.01, 0.1, 1.0])
    h = hamiltonians.two_level(0.7, 0.4)
    comps = dipoles.dipole_components(dipoles.well_dipoles(np.array([[1.0, 0, 0], [-1.0, 0, 0]]), P_D))
    a = response.susceptibility(h, comps, np.eye(3) / 3, T, s, P_D)
    b = response.two_level_susceptibility(0.7, 0.4, P_D**2 / 3, T, s)
    np.testing.assert_allclose(a.resonant, b.resonant, rtol=1e-10)
    np.testing.assert_allclose(a.relaxation, b.relaxation, rtol=1e-10, atol=1e-30)
    lv, X, G, S2 = response.matrix_elements(h, comps, np.eye(3))
    _, rates = response.relaxation_rates_per_s(lv, S2 / P_D**2, T, response.one_phonon_prefactor_per_s_K3(s))
    np.testing.assert_allclose(rates[..., 1], response.two_level_relaxation_rate_per_s(0.7, 0.4, T, s), rtol=1e-10)


@pytest.mark.parametrize("settings", [
    pytest.param(response.DielectricSettings(), id="static-parallel"),
    pytest.param(response.DielectricSettings(frequency_Hz=1e6, linewidth_K=1e-3, field_direction="perpendicular"),
                 id="1MHz-perpendicular"),
])
def test_fast_ring_path_matches_eigh_reference(settings):
    """Compiled 3-ring sums (eigenvector-eigenvalue identity) = numpy eigh path, azimuth averaged numerically."""
    rng = np.random.default_rng(1)
    N = 30
    E = rng.normal(size=(N, 3))
    E -= E.mean(1, keepdims=True)
    D0 = rng.uniform(0.2, 2, N)
    rule = planar_rule(4)
    T = np.array([0.1, 0.5, 2.0])
    fast = _node_parts("three_level", {"E": E, "D0": D0}, np.ones(N), rule, T, 0.5, settings, P_D, 3e4)
    phi = units.phase_per_tesla(3e4, rule.nodes) * 0.5
    h = hamiltonians.three_level(E[:, None, :], D0[:, None], phi)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.ring_positions(3), P_D))
    ref = np.zeros_like(fast)
    for k, uk in enumerate(rule.nodes):
        for psi in np.linspace(0, 2 * np.pi, 9)[:-1]:
            s = math.sqrt(1 - uk**2)
            t = response.direction_tensor(settings.field_direction, [s * math.cos(psi), s * math.sin(psi), uk])
            chi = response.susceptibility(h[:, k], comps, t, T, settings, P_D)
            parts = np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], -1)
            ref += rule.weights[k] * parts / 8
    scale = np.abs(ref).max(axis=(0, 1)) + 1e-300
    assert np.all(np.abs(fast - ref).max(axis=(0, 1)) <= 1e-8 * scale)


FAST_PATH_SETTINGS = [
    pytest.param(response.DielectricSettings(), id="static"),
    pytest.param(response.DielectricSettings(frequency_Hz=1e3), id="1kHz"),
    pytest.param(response.DielectricSettings(frequency_Hz=1e6, linewidth_K=1e-3), id="1MHz-linewidth"),
    pytest.param(response.DielectricSettings(frequency_Hz=2e10, linewidth_K=1e-2), id="20GHz-linewidth"),
]


@pytest.mark.parametrize("settings", FAST_PATH_SETTINGS)
def test_ring_kernel_equals_numpy_formulas_to_1e10(settings):
    """The compiled temperature sums (one pass per temperature block, rates from three Boltzmann
    factors, the relaxation modes from invariants of the rate matrix) equal the numpy formulas of
    ``susceptibility_from_parts`` fed with the same levels and occupations, to 1e-10 relative."""
    from tunnelsim.dielectric._kernel import ring3_node_sums
    from tunnelsim.dielectric.ensemble import ring3_parts

    rng = np.random.default_rng(7)
    N = 40
    D = np.exp(rng.uniform(np.log(1e-2), np.log(3.0), N))
    E = hamiltonians.asymmetries_from_polar(D, rng.uniform(0, 2 * np.pi, N))
    D0 = rng.uniform(0.3, 1.5, N)
    phi = np.array([0.0, 0.3, 1.1, 2.9])
    g = np.array([0.4, 0.3, 0.2, 0.1])
    T = np.geomspace(0.05, 5.0, 7)
    lv, M = ring3_parts(E, D0, phi)
    A = response.one_phonon_prefactor_per_s_K3(settings)
    fast = ring3_node_sums(lv, M, np.ones(N), g, T, settings.photon_energy_K, settings.linewidth_K,
                           settings.omega_per_s, A, P_D)
    c1, c0 = 2 * P_D**2, -2 * P_D**2 / 3
    X = np.where(np.eye(3, dtype=bool), 0.0, c1 * M)
    chi = response.susceptibility_from_parts(lv, X, c1 * M + c0, 2 * P_D**2 * M, T, settings, P_D)
    parts = np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], -1)
    ref = np.einsum("k,nktj->ntj", g, parts)
    scale = np.abs(ref).max(axis=(0, 1))
    np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-13 * scale.max())
    np.testing.assert_array_less(np.abs(fast - ref).max(axis=(0, 1)), 1e-10 * scale + 1e-300)


def test_ring_kernel_relaxation_accurate_when_excited_levels_are_frozen_out():
    """k_B T << gaps: the fluctuation term is p_1 times a dipole variance with p_1 ~ 1e-12. The kernel
    sums sum_{m<n} p_m p_n (P_mm - P_nn)^2 (no cancellation, unlike <P^2> - <P>^2), so it agrees to
    1e-12 with that sum taken from eigh eigenvectors; the same holds for the f > 0 relaxation."""
    from tunnelsim.dielectric._kernel import ring3_node_sums
    from tunnelsim.dielectric.ensemble import ring3_parts

    E = hamiltonians.asymmetries_from_polar(np.array([0.3, 1.0, 2.0]), np.array([0.2, 1.3, 2.5]))
    D0 = np.array([0.5, 0.8, 1.0])
    phi = np.array([0.4])
    lv, M = ring3_parts(E, D0, phi)
    T = 0.036 * (lv[:, 0, 1] - lv[:, 0, 0]).min() * np.array([1.0, 1.2])  # p_1 / p_0 <= exp(-27)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.ring_positions(3), P_D))
    lv_ref, _, G, _ = response.matrix_elements(hamiltonians.three_level(E, D0, phi[0]), comps, np.eye(3))
    pop = np.exp(-(lv_ref[:, None, :] - lv_ref[:, None, :1]) / T[:, None])
    pop /= pop.sum(-1, keepdims=True)
    ref = sum(pop[..., m] * pop[..., n] * (G[:, m, m] + G[:, n, n] - 2 * G[:, m, n])[:, None]
              for m in range(3) for n in range(m + 1, 3)) / T
    assert ref.max() < 1e-10 * P_D**2 / T.min()  # frozen out indeed
    for settings in (response.DielectricSettings(), response.DielectricSettings(frequency_Hz=1e-30)):
        out = ring3_node_sums(lv, M, np.ones(3), np.ones(1), T, 0.0, 0.0, settings.omega_per_s,
                              response.one_phonon_prefactor_per_s_K3(settings), P_D)
        np.testing.assert_allclose(out[..., 2], ref, rtol=1e-12)


def test_single_ring_ab_period():
    """A 3LS's response is periodic in B with period phi0 / ((Q/e) S cos theta) (Eq. 7), and varies."""
    qs, u = 5e4, 0.6
    period = units.PHI0_T_A2 / (qs * u)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.ring_positions(3), P_D))
    T = np.array([0.02])
    chi = lambda B: response.susceptibility(  # noqa: E731
        hamiltonians.three_level([0.05, -0.02, -0.03], 0.3, units.ab_phase(B, u, qs)), comps,
        np.diag([0.5, 0.5, 0.0]), T, response.DielectricSettings(), P_D).static
    assert chi(0.7 * period) == pytest.approx(chi(1.7 * period), rel=1e-9)
    assert abs(chi(0.25 * period) - chi(0.0)) > 0.05 * abs(chi(0.0))


# --------------------------------------------------------------------------- ensembles
STM = distributions.STMDistribution(delta_max_K=10.0, delta0_min_K=1e-6, delta0_max_K=10.0)
RHO, EPS_R, N_G = 2.2, 3.8, 1e17


def _C():
    """C = P_bar p^2 / (3 eps0 eps_r) per volume, dimensionless per kelvin^0 (P_bar per K per volume)."""
    return float(units.susceptibility_to_permittivity(STM.amplitude * N_G * P_D**2 / 3.0, RHO, EPS_R))


def test_stm_resonant_log_slope():
    """Resonant regime, d(Delta eps'/eps_r)/d ln T = -(2/3) P_bar p^2/(eps0 eps_r) = -2C
    (Hunklinger & Arnold 1976; Phillips 1987; physics.md section 8), to 1 %."""
    s = response.DielectricSettings(mass_density_g_cm3=RHO, eps_r=EPS_R)
    T = np.array([0.02, 0.02 * math.e])
    vals, _ = permittivity_map("two_level", STM, T, [0.0], s, density_per_g=N_G, dipole_moment_D=P_D,
                               averaging=AveragingSettings(error_estimate=False, nodes={"delta": 400, "delta0": 200}),
                               observables=("permittivity_resonant",))
    slope = vals["permittivity_resonant"][1, 0] - vals["permittivity_resonant"][0, 0]
    assert slope == pytest.approx(-2.0 * _C(), rel=1e-2)


def test_stm_relaxation_plateau_and_log_slope():
    """One-phonon relaxation with omega tau_min << 1: loss plateau tan delta = (pi/2) C and
    Delta eps'/eps_r slope +3C per ln T (3/2 of the resonant magnitude; Hunklinger & Arnold 1976;
    Esquinazi ed. 1998, ch. 2), to 2 %."""
    s = response.DielectricSettings(frequency_Hz=1e3, mass_density_g_cm3=RHO, eps_r=EPS_R)
    T = np.array([1.0, math.e])
    stm = distributions.STMDistribution(delta_max_K=100.0, delta0_min_K=1e-6, delta0_max_K=100.0)  # Delta_max >> 10 k_B T
    vals, _ = permittivity_map("two_level", stm, T, [0.0], s, density_per_g=N_G, dipole_moment_D=P_D,
                               averaging=AveragingSettings(error_estimate=False, nodes={"delta": 300, "delta0": 400}),
                               observables=("loss_tangent_relaxation", "permittivity_relaxation"))
    C = _C() * stm.amplitude / STM.amplitude
    assert vals["loss_tangent_relaxation"][0, 0] == pytest.approx(math.pi / 2 * C, rel=2e-2)
    slope = vals["permittivity_relaxation"][1, 0] - vals["permittivity_relaxation"][0, 0]
    assert slope == pytest.approx(3.0 * C, rel=2e-2)


def test_stm_relaxation_loss_T3_at_low_temperature():
    """omega tau_min >> 1: the one-phonon relaxation loss grows as T^3 (Phillips 1987; Jaeckle 1972)."""
    s = response.DielectricSettings(frequency_Hz=1e6, mass_density_g_cm3=RHO, eps_r=EPS_R)
    T = np.array([0.002, 0.004])
    vals, _ = permittivity_map("two_level", STM, T, [0.0], s, density_per_g=N_G, dipole_moment_D=P_D,
                               averaging=AveragingSettings(error_estimate=False, nodes={"delta": 300, "delta0": 200}),
                               observables=("loss_tangent_relaxation",))
    tan = vals["loss_tangent_relaxation"][:, 0]
    assert math.log(tan[1] / tan[0]) / math.log(2.0) == pytest.approx(3.0, abs=0.05)


def test_ats_permittivity_changes_at_millitesla():
    """The ATS permittivity at 10 mK responds to B of a few mT for the seed's D0 (Q/e)S ~ 3e5 K A^2
    (B_c ~ phi0 k_B T / (2 pi D0 (Q/e) S) ~ 2 mT), and not at 10 microtesla."""
    dist = distributions.ATSDistribution(D_min_K=1e-3, D0_min_K=9.0, D0_max_K=9.75, D_max_K=100.0)
    vals, errs = permittivity_map("three_level", dist, [0.01], [0.0, 1e-5, 5e-3], response.DielectricSettings(),
                                  density_per_g=1e16, dipole_moment_D=1.0, charge_area_A2=3e4,
                                  observables=("permittivity",))
    eps = vals["permittivity"][0]
    assert abs(eps[2] - eps[0]) > 1e-2 * abs(eps[0])
    assert abs(eps[1] - eps[0]) < 1e-2 * abs(eps[2] - eps[0])
    assert np.all(errs["permittivity"] < 0.1 * abs(eps[2] - eps[0]))


def test_etm_matches_exact_ring_in_its_window():
    """ETM effective 2LS (Section B; E^2 = (2/3)D^2 + (4/3)(D0 phi)^2) vs exact Eq. 6 at D, D0 phi << D0,
    k_B T << D0, alpha averaged: relaxation to 1e-4, resonant to 1 % (the third level's van Vleck term)."""
    s = response.DielectricSettings()
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.ring_positions(3), P_D))
    T = np.array([1e-3, 3e-3])
    alpha = np.linspace(0, 2 * np.pi, 25)[:-1]
    for D, phi in [(0.01, 0.0), (0.01, 0.01)]:
        ex = response.susceptibility(hamiltonians.three_level(hamiltonians.asymmetries_from_polar(D, alpha), 1.0, phi),
                                     comps, np.diag([0.5, 0.5, 0.0]), T, s, P_D)
        e = etm.etm_susceptibility(D, 1.0, phi, 1.0, T, s, P_D)
        np.testing.assert_allclose(e.relaxation_static, ex.relaxation_static.mean(0), rtol=1e-4)
        np.testing.assert_allclose(e.resonant.real, ex.resonant.real.mean(0), rtol=1e-2)


# --------------------------------------------------------------------------- four-well ensembles
FOUR_WELL = distributions.FourWellATSDistribution(D_min_K=0.05, D0_min_K=0.5, D0_max_K=1.0, D_max_K=5.0)
FOUR_WELL_AVERAGING = AveragingSettings(error_estimate=False, nodes={"D": 4, "D0": 2, "direction": 4})


def _four_well_reference(T, B, settings, sphere_degree, qs, density):
    """Direct sum over the same parameter nodes and field directions of response.susceptibility."""
    from tunnelsim.orientations import sphere_rule

    scale = max(float(np.max(T)), FOUR_WELL.D0_max_K, FOUR_WELL.D0_max_K * float(units.phase_per_tesla(qs)) * max(B))
    counts = FOUR_WELL.node_counts(FOUR_WELL_AVERAGING.nodes, FOUR_WELL_AVERAGING.level, scale)
    nodes = FOUR_WELL.quadrature(nodes=counts, energy_scale_K=scale)
    rule = sphere_rule(sphere_degree)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.tetrahedron_positions(), P_D))
    factor = float(units.susceptibility_to_permittivity(density, settings.mass_density_g_cm3, settings.eps_r))
    out = np.zeros((len(T), len(B), 4))
    for j, b in enumerate(B):
        phi_vec = rule.nodes * float(units.phase_per_tesla(qs)) * b
        h = hamiltonians.four_well(nodes.params["E"][:, None, :], nodes.params["D0"][:, None], phi_vec)
        tensor = response.direction_tensor(settings.field_direction, rule.nodes)
        chi = response.susceptibility(h, comps, tensor, T, settings, P_D)
        parts = np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], -1)
        out[:, j] = np.einsum("n,k,nktj->tj", np.asarray(nodes.weights), rule.weights, parts) * factor
    return out, len(nodes.weights)


@pytest.mark.parametrize("settings", [
    pytest.param(response.DielectricSettings(), id="static-parallel"),
    pytest.param(response.DielectricSettings(frequency_Hz=1e3, field_direction="perpendicular"),
                 id="1kHz-perpendicular"),
    pytest.param(response.DielectricSettings(frequency_Hz=1e9, linewidth_K=1e-2), id="1GHz-linewidth"),
])
def test_four_well_ensemble_equals_direct_sum(settings):
    """permittivity_map('four_well') = the weighted sum over the distribution's nodes and the sphere
    rule of single-system susceptibilities (Hamiltonians of hamiltonians.four_well, dipoles along
    the field direction), times the per-volume factor, to 1e-10."""
    T, B, qs, density = np.array([0.2, 1.0, 4.0]), np.array([0.0, 0.7, 3.0]), 1e4, 1e16
    values, _ = permittivity_map("four_well", FOUR_WELL, T, B, settings, density_per_g=density, dipole_moment_D=P_D,
                                 charge_area_A2=qs, averaging=FOUR_WELL_AVERAGING, info=(info := {}))
    ref, n_nodes = _four_well_reference(T, B, settings, 11, qs, density)
    assert info["n_parameter_nodes"] == n_nodes and info["n_orientations"] == 72
    got = np.stack([values[k] for k in ("permittivity_resonant", "loss_tangent_resonant", "permittivity_relaxation",
                                        "loss_tangent_relaxation")], axis=-1)
    scale = np.abs(ref).max(axis=(0, 1)) + 1e-300
    assert np.all(np.abs(got - ref).max(axis=(0, 1)) <= 1e-10 * scale)
    assert np.ptp(values["permittivity"][1]) > 1e-3 * np.abs(values["permittivity"][1]).max()  # B matters


def test_four_well_ensemble_is_isotropic_at_zero_field():
    """At B = 0 nothing fixes a direction: E || B and E normal to B give the same response, equal to
    the isotropic Tr(X)/3 of every system (numpy path, no sphere rule; the rule integrates n n^T exactly)."""
    T = np.array([0.3, 2.0])
    s_par = response.DielectricSettings(frequency_Hz=1e3)
    s_perp = response.DielectricSettings(frequency_Hz=1e3, field_direction="perpendicular")
    kw = dict(density_per_g=1e16, dipole_moment_D=P_D, charge_area_A2=1e4, averaging=FOUR_WELL_AVERAGING)
    par, _ = permittivity_map("four_well", FOUR_WELL, T, [0.0], s_par, **kw)
    perp, _ = permittivity_map("four_well", FOUR_WELL, T, [0.0], s_perp, **kw)
    nodes = FOUR_WELL.quadrature(nodes=FOUR_WELL.node_counts(FOUR_WELL_AVERAGING.nodes, 0, 2.0), energy_scale_K=2.0)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.tetrahedron_positions(), P_D))
    chi = response.susceptibility(hamiltonians.four_well(nodes.params["E"], nodes.params["D0"], np.zeros(3)), comps,
                                  np.eye(3) / 3, T, s_par, P_D)
    factor = float(units.susceptibility_to_permittivity(1e16, s_par.mass_density_g_cm3, s_par.eps_r))
    iso = np.asarray(nodes.weights) @ (chi.resonant + chi.relaxation) * factor
    # the loss is ~1e-4 of the in-phase part here (omega tau << 1): the solve of (L - i omega) Y = L C
    # leaves rounding of the in-phase part (1e-13 of it) in the loss, 1e-9 of the loss, in either path
    for k, part, rtol in (("permittivity", iso.real, 1e-10), ("loss_tangent", iso.imag, 1e-8)):
        np.testing.assert_allclose(par[k][:, 0], part, rtol=rtol)
        np.testing.assert_allclose(perp[k][:, 0], part, rtol=rtol)
