"""Two-pulse polarisation echoes (tunnelsim.dielectric.echoes).

Cross-checks against QuTiP (``mesolve`` with the full cos drive, one segment at a time, tight
tolerances), the textbook echo of a resonant 2LS (Hahn 1950; Hunklinger & Arnold 1976), the
equivalence of the echo pathway with inhomogeneous averaging and with phase cycling, the
exp(-2 tau / T2) decay, and the field dependence: Aharonov-Bohm periodic for the 3LS of Eq. 6,
absent for the STM 2LS.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import constants

from tunnelsim import hamiltonians, units
from tunnelsim.dielectric import dipoles, echoes
from tunnelsim.dielectric.ensemble import ats_echo_nodes

#: rad/ns per kelvin of energy (an independent conversion for the QuTiP reference).
RAD_PER_NS_PER_K = constants.k / constants.hbar * 1e-9
#: rad/ns per debye per V/m.
RAD_PER_NS_PER_D_V_PER_M = 1e-21 / constants.c / constants.hbar * 1e-9
QUTIP_OPTIONS = {"atol": 1e-12, "rtol": 1e-12, "nsteps": 10**7, "method": "vern9"}
#: Agreement with QuTiP, debye (the signals are 0.03-0.5 D).
QUTIP_TOL_D = 1e-8
TEMPERATURE_K = 0.02


def _carrier_K(frequency_Hz):
    return constants.h * frequency_Hz / constants.k


def _eig(h, p):
    levels, vecs = np.linalg.eigh(h)
    return levels, vecs, vecs.conj().T @ p @ vecs


def two_level_case():
    """A 2LS detuned by 2 % from a 1 GHz carrier, Rabi frequency 20 MHz, pi/2 - pi pulses."""
    frequency = 1e9
    delta0 = 0.04
    delta = math.sqrt((1.02 * _carrier_K(frequency)) ** 2 - delta0**2)
    h = hamiltonians.two_level(delta, delta0)
    p = dipoles.two_level_dipole_operator(1.0, 0.7)
    field = float(echoes.field_for_rabi_frequency(20e6, 0.7 * delta0 / math.hypot(delta, delta0)))
    return h, p, echoes.EchoSequence(12.5e-9, 25e-9, 40e-9, frequency, field)


def three_level_case(t2_s=math.inf):
    """A 3LS ring of Eq. 6 in a field (phi = 1), carrier 1 % above its lower gap.

    Its levels (-0.046, -0.011, 0.057 K) put the third level near three carrier quanta and the
    upper transition near two: the counter-rotating and off-resonant couplings all matter.
    """
    h = hamiltonians.three_level([0.01, -0.004, -0.006], 0.03, 1.0)
    p = dipoles.dipole_operator(dipoles.well_dipoles(dipoles.ring_positions(3), 1.0), [0.6, 0.0, 0.8])
    levels, _, pe = _eig(h, p)
    frequency = 1.01 * (levels[1] - levels[0]) * constants.k / constants.h
    field = float(echoes.field_for_rabi_frequency(20e6, abs(pe[0, 1])))
    return h, p, echoes.EchoSequence(12.5e-9, 25e-9, 40e-9, frequency, field, phase2_rad=0.3, t2_s=t2_s)


CASES = {"two_level": two_level_case, "three_level_ring": three_level_case}


def qutip_states(qutip, h, p, sequence, times_s, echo_pathway=False):
    """Density matrices (well basis) at ``times_s`` from QuTiP, one ``mesolve`` per segment.

    Pulses carry ``-F0 cos(omega t + phi) P``; free periods with finite T2 get the collapse
    operators ``|k><k| / sqrt(T2)`` in the eigenbasis of ``H0`` (each coherence then decays at
    ``1/T2``). ``echo_pathway`` keeps only the coherences of carrier order -1 at pulse 2.
    """
    levels, vecs, _ = _eig(h, p)
    h0 = qutip.Qobj(h * RAD_PER_NS_PER_K)
    drive = qutip.Qobj(-sequence.field_amplitude_V_per_m * RAD_PER_NS_PER_D_V_PER_M * p)
    omega = 2 * math.pi * sequence.frequency_Hz * 1e-9
    c_ops = []
    if math.isfinite(sequence.t2_s):
        rate = 1.0 / (sequence.t2_s * 1e9)
        c_ops = [qutip.Qobj(math.sqrt(rate) * np.outer(v, v.conj())) for v in vecs.T]
    pops = np.exp(-(levels - levels[0]) / TEMPERATURE_K)
    rho = qutip.Qobj(vecs @ np.diag(pops / pops.sum()) @ vecs.conj().T)
    quanta = np.rint((levels - levels[0]) / _carrier_K(sequence.frequency_Hz))
    states = {}
    for index, (start, length, phase) in enumerate(sequence.segments()):
        if index == 2 and echo_pathway:
            r = vecs.conj().T @ rho.full() @ vecs
            r = np.where(quanta[:, None] - quanta[None, :] == -1, r, 0.0)
            rho = qutip.Qobj(vecs @ r @ vecs.conj().T)
        end = start + length
        inside = [t for t in times_s if start < t <= end]
        tlist = sorted({start, *inside, *([end] if math.isfinite(end) else [])})
        if len(tlist) < 2:
            continue
        if phase is None:
            ham, collapse = h0, c_ops
        else:
            ham = qutip.QobjEvo([h0, [drive, lambda t, ph=phase: math.cos(omega * t + ph)]])
            collapse = []
        result = qutip.mesolve(ham, rho, [t * 1e9 for t in tlist], c_ops=collapse, options=QUTIP_OPTIONS)
        states.update((t, result.states[tlist.index(t)]) for t in inside)
        rho = result.states[-1]
    return [states[t].full() for t in times_s]


def envelope(h, p, sequence, rho, time_s):
    """``A = 2 sum_{n_k - n_l = 1} rho_kl P_lk exp(i omega t)`` from a well-basis density matrix."""
    levels, vecs, pe = _eig(h, p)
    r = vecs.conj().T @ rho @ vecs
    quanta = np.rint((levels - levels[0]) / _carrier_K(sequence.frequency_Hz))
    mask = quanta[:, None] - quanta[None, :] == 1
    return 2 * np.sum(np.where(mask, r * pe.T, 0.0)) * np.exp(2j * math.pi * sequence.frequency_Hz * time_s)


def sample_times(sequence):
    """Inside pulse 1, the delay, pulse 2, after pulse 2, and the echo time."""
    return [5e-9, 30e-9, sequence.pulse2_end_s - 3e-9, sequence.pulse2_end_s + 10e-9, sequence.echo_time_s]


# --------------------------------------------------------------------------- QuTiP reference
@pytest.mark.parametrize("case", [pytest.param(name, id=name) for name in CASES])
def test_exact_polarisation_and_envelope_match_qutip(case, qutip):
    """<P>(t) at five times and the echo envelope (full signal) equal QuTiP's to 1e-8 D."""
    h, p, sequence = CASES[case]()
    times = sample_times(sequence)
    states = qutip_states(qutip, h, p, sequence, times)
    expected = [np.trace(rho @ p).real for rho in states]
    got = echoes.polarisation(h, p, sequence, TEMPERATURE_K, times)
    np.testing.assert_allclose(got, expected, rtol=0, atol=QUTIP_TOL_D)
    amplitude = echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, method="exact", pathway="all")
    reference = envelope(h, p, sequence, states[-1], sequence.echo_time_s)
    assert abs(reference) > 0.05
    assert abs(amplitude - reference) < QUTIP_TOL_D


@pytest.mark.parametrize("case", [pytest.param(name, id=name) for name in CASES])
def test_exact_echo_pathway_matches_qutip(case, qutip):
    """The echo pathway (order -1 coherences kept at pulse 2) equals QuTiP's to 1e-8 D."""
    h, p, sequence = CASES[case]()
    rho = qutip_states(qutip, h, p, sequence, [sequence.echo_time_s], echo_pathway=True)[0]
    reference = envelope(h, p, sequence, rho, sequence.echo_time_s)
    amplitude = echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, method="exact")
    assert abs(reference) > 0.05
    assert abs(amplitude - reference) < QUTIP_TOL_D


def test_exact_with_dephasing_matches_qutip(qutip):
    """With T2 = 60 ns, the 3LS ring's full signal and echo pathway equal QuTiP (Lindblad) to 1e-8 D."""
    h, p, sequence = three_level_case(t2_s=60e-9)
    t_e = sequence.echo_time_s
    full = qutip_states(qutip, h, p, sequence, [sequence.pulse2_end_s + 10e-9, t_e])
    echo = qutip_states(qutip, h, p, sequence, [t_e], echo_pathway=True)[0]
    got = echoes.polarisation(h, p, sequence, TEMPERATURE_K, [sequence.pulse2_end_s + 10e-9, t_e])
    np.testing.assert_allclose(got, [np.trace(r @ p).real for r in full], rtol=0, atol=QUTIP_TOL_D)
    for pathway, rho in (("all", full[-1]), ("echo", echo)):
        amplitude = echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, method="exact", pathway=pathway)
        assert abs(amplitude - envelope(h, p, sequence, rho, t_e)) < QUTIP_TOL_D


def test_magnus_converges_at_sixth_order():
    """Doubling the steps per period divides the error by about 2^6 (asymptotic regime)."""
    h, p, sequence = two_level_case()
    times = sample_times(sequence)
    ref = echoes.polarisation(h, p, sequence, TEMPERATURE_K, times, steps_per_period=256)
    err = [np.abs(echoes.polarisation(h, p, sequence, TEMPERATURE_K, times, steps_per_period=s) - ref).max()
           for s in (12, 24)]
    assert 30 < err[0] / err[1] < 130


# --------------------------------------------------------------------------- textbook limit
def resonant_two_level(frequency_Hz=1e9, n=1):
    delta0 = np.linspace(0.02, 0.045, n)
    delta = np.sqrt(_carrier_K(frequency_Hz) ** 2 - delta0**2)
    cos_theta = np.linspace(0.3, 0.9, n)
    p = dipoles.two_level_dipole_operator(1.0, cos_theta)
    return hamiltonians.two_level(delta, delta0), p, cos_theta * delta0 / _carrier_K(frequency_Hz)


@pytest.mark.parametrize("theta1, theta2", [(math.pi / 2, math.pi), (math.pi / 3, math.pi / 2), (2.0, 2.5),
                                            (math.pi, math.pi)])
def test_rwa_resonant_echo_is_textbook(theta1, theta2):
    """On resonance (RWA) A_echo = -i |P_eg| tanh(E/2T) sin(theta1) sin^2(theta2/2), to 1e-12.

    Hahn (1950); Hunklinger & Arnold (1976). Systems with different |P_eg| get the same
    Rabi frequency here by scaling the pulse lengths per system.
    """
    h, p, transition = resonant_two_level(n=3)
    rabi = 2 * math.pi * 30e6
    for hi, pi, mu in zip(h, p, transition):
        field = float(echoes.field_for_rabi_frequency(rabi / (2 * math.pi), mu))
        sequence = echoes.EchoSequence(theta1 / rabi, theta2 / rabi, 200e-9, 1e9, field)
        amplitude = echoes.echo_amplitude(hi, pi, sequence, TEMPERATURE_K)
        energy = _carrier_K(1e9)
        expected = -1j * mu * math.tanh(energy / (2 * TEMPERATURE_K)) * math.sin(theta1) * math.sin(theta2 / 2) ** 2
        assert abs(amplitude - expected) < 1e-12 * mu


def test_textbook_echo_is_maximal_for_pi_half_pi():
    """Over a grid of pulse areas (theta1 in (0, pi], theta2 in (0, 2 pi)) the resonant RWA echo peaks at (pi/2, pi)."""
    h, p, (mu,) = resonant_two_level()
    field = float(echoes.field_for_rabi_frequency(10e6, mu))
    areas1 = np.linspace(0, math.pi, 13)[1:]
    areas2 = np.linspace(0, 2 * math.pi, 25)[1:-1]
    rabi = 2 * math.pi * 10e6
    grid = np.array([[abs(echoes.echo_amplitude(h, p, echoes.EchoSequence(a1 / rabi, a2 / rabi, 1e-7, 1e9, field),
                                                TEMPERATURE_K)[0]) for a2 in areas2] for a1 in areas1])
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    assert (areas1[i], areas2[j]) == pytest.approx((math.pi / 2, math.pi))


@pytest.mark.parametrize("rabi_Hz", [5e6, 20e6])
def test_exact_approaches_rwa_for_weak_drive(rabi_Hz):
    """The full cos drive differs from the RWA by the counter-rotating terms, O(Omega_R / omega)."""
    h, p, (mu,) = resonant_two_level()
    rabi = 2 * math.pi * rabi_Hz
    field = float(echoes.field_for_rabi_frequency(rabi_Hz, mu))
    sequence = echoes.EchoSequence(0.5 * math.pi / rabi, math.pi / rabi, 100e-9, 1e9, field)
    rwa = echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K)
    exact = echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, method="exact")
    assert abs(exact - rwa)[0] / abs(rwa)[0] < 2 * rabi_Hz / 1e9


# --------------------------------------------------------------------------- pathways
def test_echo_pathway_is_the_inhomogeneous_average():
    """Averaged over a Gaussian line of detunings, the full signal equals the echo pathway (1e-9).

    The free-induction terms decay as exp(-sigma^2 t^2 / 2) (sigma tau = 10); only the refocusing
    pathway survives at the echo time. Gauss-Hermite quadrature over the detuning.
    """
    frequency = 1e9
    sigma_K = _carrier_K(10e6)
    nodes, weights = np.polynomial.hermite_e.hermegauss(240)
    energy = _carrier_K(frequency) + sigma_K * nodes
    delta0 = 0.03
    h = hamiltonians.two_level(np.sqrt(energy**2 - delta0**2), delta0)
    p = dipoles.two_level_dipole_operator(1.0, 0.8)
    field = float(echoes.field_for_rabi_frequency(40e6, 0.8 * delta0 / _carrier_K(frequency)))
    sequence = echoes.EchoSequence(6.25e-9, 12.5e-9, 10 / (2 * math.pi * 10e6), frequency, field)
    w = weights / weights.sum()
    full = w @ echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, pathway="all")
    echo = w @ echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, pathway="echo")
    assert abs(echo) > 0.1
    assert abs(full - echo) < 1e-9 * abs(echo)


def test_echo_pathway_is_phase_cycling():
    """In the RWA the echo pathway is the exp(+i phi1) component of the signal (8-step cycle), to 1e-12."""
    h, p, base = three_level_case()
    phases = 2 * math.pi * np.arange(8) / 8
    signals = [echoes.echo_amplitude(h, p, echoes.EchoSequence(base.pulse1_s, base.pulse2_s, base.delay_s,
                                                                base.frequency_Hz, base.field_amplitude_V_per_m,
                                                                phase1_rad=phi, phase2_rad=0.3), TEMPERATURE_K,
                                     pathway="all") for phi in phases]
    cycled = np.mean(np.array(signals) * np.exp(-1j * phases))
    echo = echoes.echo_amplitude(h, p, base, TEMPERATURE_K)
    assert abs(echo) > 0.05
    assert abs(cycled - echo) < 1e-12


def test_rwa_echo_pathway_refocuses_for_any_delay():
    """In the RWA the echo pathway at 2 tau is independent of tau for detuned systems (1e-12)."""
    h, p, base = three_level_case()
    amplitudes = [echoes.echo_amplitude(h, p, echoes.EchoSequence(base.pulse1_s, base.pulse2_s, tau, base.frequency_Hz,
                                                                   base.field_amplitude_V_per_m), TEMPERATURE_K)
                  for tau in (10e-9, 137e-9, 2.3e-6)]
    assert abs(amplitudes[0]) > 0.05
    np.testing.assert_allclose(amplitudes[1:], amplitudes[0], rtol=1e-12)


@pytest.mark.parametrize("method", echoes.METHODS)
def test_dephasing_gives_hahn_decay(method):
    """With T2 the echo pathway is multiplied by exp(-2 tau / T2) exactly."""
    h, p, base = three_level_case()
    t2 = 300e-9
    damped = echoes.EchoSequence(base.pulse1_s, base.pulse2_s, base.delay_s, base.frequency_Hz,
                                 base.field_amplitude_V_per_m, phase2_rad=0.3, t2_s=t2)
    ratio = (echoes.echo_amplitude(h, p, damped, TEMPERATURE_K, method=method)
             / echoes.echo_amplitude(h, p, base, TEMPERATURE_K, method=method))
    assert ratio == pytest.approx(math.exp(-2 * base.delay_s / t2), rel=1e-12, abs=0)


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_rwa_polarisation_close_to_exact(scale):
    """<P>(t) in the RWA is within 3 Omega_R / omega of the exact propagation (2LS).

    Besides the counter-rotating terms the RWA drops the drive on the diagonal dipoles
    ``P_ee - P_gg`` (phase modulation of index ``2 (Delta / Delta0) Omega_R / omega``); both are
    linear in the drive, so the bound scales with it (Omega_R / omega = 0.02 and 0.005).
    """
    h, p, base = two_level_case()
    sequence = echoes.EchoSequence(base.pulse1_s / scale, base.pulse2_s / scale, base.delay_s, base.frequency_Hz,
                                   base.field_amplitude_V_per_m * scale)
    times = sample_times(sequence)
    exact = echoes.polarisation(h, p, sequence, TEMPERATURE_K, times)
    rwa = echoes.polarisation(h, p, sequence, TEMPERATURE_K, times, method="rwa")
    assert np.abs(rwa - exact).max() < 3 * (0.02 * scale) * np.abs(exact).max()


# --------------------------------------------------------------------------- field dependence
def ring_sample(n=12, seed=3):
    """A small 3LS sample with the electric field parallel to B: E, D0, cos(theta) and dipoles."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0, 2 * math.pi, n)
    D = rng.uniform(0.005, 0.04, n)
    u = rng.uniform(0.2, 1.0, n)
    beta = rng.uniform(0, 2 * math.pi, n)
    s = np.sqrt(1 - u**2)
    direction = np.stack([s * np.cos(beta), s * np.sin(beta), u], axis=-1)
    wd = dipoles.well_dipoles(dipoles.ring_positions(3), 1.0)
    params = {"E": hamiltonians.asymmetries_from_polar(D, alpha), "D0": rng.uniform(0.02, 0.03, n), "cos_theta": u}
    return params, rng.uniform(0.5, 1.5, n), dipoles.dipole_operator(wd, direction)


def ring_sequence():
    field = float(echoes.field_for_rabi_frequency(20e6, 0.3))
    return echoes.EchoSequence(12.5e-9, 25e-9, 300e-9, 1e9, field)


def test_three_level_echo_depends_on_field_two_level_does_not():
    """The 3LS ensemble echo changes with B (AB phase); the 2LS ensemble's is the same at every B."""
    params, weights, p = ring_sample()
    fields = np.linspace(0.0, 2.0, 9)
    sequence = ring_sequence()
    three = echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields, sequence, TEMPERATURE_K,
                                           charge_area_A2=30000.0)
    assert np.ptp(np.abs(three)) > 0.2 * np.abs(three).max()
    rng = np.random.default_rng(5)
    tls = {"delta": rng.uniform(0, 0.05, 20), "delta0": rng.uniform(0.01, 0.05, 20)}
    p2 = dipoles.two_level_dipole_operator(1.0, rng.uniform(-1, 1, 20))
    two = echoes.echo_amplitude_vs_field("two_level", tls, np.ones(20), p2, fields, sequence, TEMPERATURE_K)
    direct = echoes.echo_amplitude(hamiltonians.two_level(tls["delta"], tls["delta0"]), p2, sequence,
                                   TEMPERATURE_K).sum()
    assert abs(direct) > 1e-3
    np.testing.assert_allclose(two, direct, rtol=1e-14)


@pytest.mark.parametrize("method", echoes.METHODS)
def test_ensemble_equals_sum_of_single_systems(method):
    """echo_amplitude_vs_field is the weighted sum of echo_amplitude over samples, chunked or not."""
    params, weights, p = ring_sample(n=5)
    fields = np.array([0.3, 1.1])
    sequence = ring_sequence()
    area = 30000.0
    got = echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields, sequence, TEMPERATURE_K,
                                         charge_area_A2=area, method=method, chunk_size=3)
    for b, value in zip(fields, got):
        phi = units.ab_phase(b, params["cos_theta"], area)
        h = hamiltonians.three_level(params["E"], params["D0"], phi)
        expected = weights @ echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, method=method)
        assert abs(value - expected) < 1e-12 * max(1.0, abs(expected))


def test_three_level_echo_is_aharonov_bohm_periodic():
    """Loops normal to B: the echo repeats when the flux grows by one flux quantum, phi -> phi + 2 pi."""
    params, weights, p = ring_sample(n=6)
    params["cos_theta"] = np.ones(6)
    area = 30000.0
    period_T = units.PHI0_T_A2 / area
    fields = np.array([0.4, 1.3]) * period_T
    sequence = ring_sequence()
    a = echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields, sequence, TEMPERATURE_K,
                                       charge_area_A2=area)
    b = echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields + period_T, sequence,
                                       TEMPERATURE_K, charge_area_A2=area)
    assert abs(a[0] - a[1]) > 1e-2 * abs(a).max()
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-10 * np.abs(a).max())


# --------------------------------------------------------------------------- units and arguments
def test_rabi_frequency_units():
    """|P| F0 / h: 1 D in 1e4 V/m is 50.34 MHz; field_for_rabi_frequency inverts it."""
    expected = 1e-21 / constants.c * 1e4 / constants.h
    assert float(echoes.rabi_frequency_Hz(1.0, 1e4)) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(50.34e6, rel=1e-3)
    assert float(echoes.field_for_rabi_frequency(expected, 1.0)) == pytest.approx(1e4, rel=1e-14)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        pytest.param({"method": "magnus"}, "method", id="method"),
        pytest.param({"pathway": "fid"}, "pathway", id="pathway"),
        pytest.param({"steps_per_period": 0, "method": "exact"}, "steps_per_period", id="steps"),
        pytest.param({"time_s": 1e-9}, "time_s", id="time-before-pulse2"),
    ],
)
def test_bad_options_name_the_argument(kwargs, name):
    h, p, sequence = two_level_case()
    with pytest.raises(ValueError, match=name):
        echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, **kwargs)


def test_bad_inputs_name_the_argument():
    h, p, sequence = two_level_case()
    with pytest.raises(ValueError, match="hamiltonian_K must be Hermitian"):
        echoes.echo_amplitude(h + np.triu(np.ones((2, 2)), 1), p, sequence, TEMPERATURE_K)
    with pytest.raises(ValueError, match="dipole_D"):
        echoes.echo_amplitude(h, np.eye(3), sequence, TEMPERATURE_K)
    with pytest.raises(ValueError, match="temperature_K"):
        echoes.echo_amplitude(h, p, sequence, 0.0)
    with pytest.raises(ValueError, match="delay_s"):
        echoes.EchoSequence(1e-9, 1e-9, -1e-9, 1e9, 1e3)
    with pytest.raises(ValueError, match="frequency_Hz"):
        echoes.EchoSequence(1e-9, 1e-9, 1e-9, 0.0, 1e3)
    with pytest.raises(ValueError, match="charge_area_A2"):
        params, weights, pr = ring_sample(n=2)
        echoes.echo_amplitude_vs_field("three_level", params, weights, pr, [0.1], sequence, TEMPERATURE_K)
    with pytest.raises(ValueError, match="kind"):
        echoes.echo_amplitude_vs_field("four_well", {}, [1.0], p[None], [0.1], sequence, TEMPERATURE_K)


# --------------------------------------------------------------------------- compiled 3LS path and node sets
def _numpy_reference(params, weights, p, fields, sequence, area, pathway):
    """The weighted sum of echo_amplitude (numpy eigh path) per field."""
    out = []
    for b in fields:
        phi = units.ab_phase(b, params["cos_theta"], area)
        h = hamiltonians.three_level(params["E"], params["D0"], phi)
        out.append(weights @ echoes.echo_amplitude(h, p, sequence, TEMPERATURE_K, pathway=pathway))
    return np.array(out)


@pytest.mark.parametrize("pathway", echoes.PATHWAYS)
@pytest.mark.parametrize("variant", ["plain", "t2-phases-offset", "no-delay"])
def test_compiled_rwa_path_equals_numpy_path(pathway, variant):
    """The compiled 3LS RWA path (cofactor eigenvectors, closed-form rotating-frame pulses) equals the
    numpy eigh path to 1e-10, including the eigh fallbacks: an exactly degenerate ring (E = 0 at B = 0)
    and ladders of two driven transitions (levels within three carrier quanta)."""
    params, weights, p = ring_sample(n=30, seed=8)
    params["E"][0] = 0.0  # degenerate doublet at B = 0: eigh fallback for H0
    sequence = ring_sequence()
    if variant == "t2-phases-offset":
        sequence = echoes.EchoSequence(12.5e-9, 25e-9, 300e-9, 1e9, sequence.field_amplitude_V_per_m,
                                       phase1_rad=0.4, phase2_rad=1.1, echo_offset_s=3e-9, t2_s=1e-6)
    elif variant == "no-delay":
        sequence = echoes.EchoSequence(12.5e-9, 25e-9, 0.0, 1e9, sequence.field_amplitude_V_per_m)
    fields = np.array([0.0, 0.4, 1.3])
    area = 30000.0
    levels = np.linalg.eigvalsh(hamiltonians.three_level(params["E"], params["D0"], 0.0))
    quanta = np.rint((levels - levels[:, :1]) / _carrier_K(1e9))
    assert np.any((quanta[:, 1] == 1) & (quanta[:, 2] == 2))  # ladders present
    got = echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields, sequence, TEMPERATURE_K,
                                         charge_area_A2=area, pathway=pathway, chunk_size=40)
    ref = _numpy_reference(params, weights, p, fields, sequence, area, pathway)
    assert np.abs(ref).max() > 1e-4
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.abs(ref).max())


def test_ats_echo_nodes_weights_and_dipoles():
    """Weights sum to 1 and integrate smooth functions of ln D, ln D0 and u exactly (Gauss); dipoles
    are those of F parallel to B at the node's orientation."""
    params, weights, p = ats_echo_nodes(0.02, 0.2, 9.0, 9.8, n_D=8, n_D0=4, n_u=8, n_angle=2)
    assert weights.shape == (8 * 4 * 8 * 2,) and p.shape == weights.shape + (3, 3)
    assert weights.sum() == pytest.approx(1.0, rel=1e-14)
    u = params["cos_theta"]
    assert np.sum(weights * u**5) == pytest.approx(1 / 6, rel=1e-12)
    D = np.sqrt(np.sum(params["E"] ** 2, axis=-1))
    lnD = np.log(D / 0.02) / math.log(10.0)  # in [0, 1]
    assert np.sum(weights * lnD**3) == pytest.approx(1 / 4, rel=1e-12)
    assert np.all((D > 0.02) & (D < 0.2)) and np.all((params["D0"] > 9.0) & (params["D0"] < 9.8))
    # trace of P over the wells vanishes; P's eigenvalues are the in-plane projections of the well dipoles
    np.testing.assert_allclose(np.trace(p, axis1=-2, axis2=-1), 0.0, atol=1e-12)
    wd = dipoles.well_dipoles(dipoles.ring_positions(3), 1.0)
    norm_in_plane = np.sqrt(1 - u**2)
    assert np.all(np.abs(p).max(axis=(-1, -2)) <= np.abs(wd).max() * norm_in_plane + 1e-12)


def test_ats_echo_nodes_converge_under_doubling():
    """A small ATS echo against B (Rabi frequency 0.1 of the carrier, 0-40 mT, where the echo doubles):
    doubling (n_D, n_u) from (32, 64) changes it by < 1e-2 of max|A|, ten times less than the doubling
    before; the coarse rule is visibly off."""
    rabi = 100e6
    field = float(echoes.field_for_rabi_frequency(rabi, 1.0))
    sequence = echoes.EchoSequence(0.25 / rabi, 0.5 / rabi, 1e-6, 1e9, field)
    fields = np.array([0.0, 0.01, 0.02, 0.04])

    def run(n):
        params, weights, p = ats_echo_nodes(0.02, 0.2, 9.0, 9.8, n_D=n, n_u=2 * n, n_D0=4)
        return echoes.echo_amplitude_vs_field("three_level", params, weights, p, fields, sequence, 0.01,
                                              charge_area_A2=30000.0)

    a16, a32, a64 = run(16), run(32), run(64)
    scale = np.abs(a64).max()
    assert abs(a64[2]) > 1.5 * abs(a64[0])  # the field dependence the rule must resolve
    coarse, fine = np.abs(a16 - a32).max() / scale, np.abs(a32 - a64).max() / scale
    assert coarse > 2e-2
    assert fine < 1e-2 and fine < 0.1 * coarse
