"""Two-pulse (Hahn) polarisation echoes of tunnelling systems in a magnetic field.

A batch of ``n``-level systems ``H0`` (K, any basis, e.g. the well basis) with dipole operators
``P`` along the electric field (debye, :mod:`tunnelsim.dielectric.dipoles`) is driven by
``H(t) = H0 - P F(t)`` (STM convention, physics.md section 8), ``F(t) = F0 cos(omega t + phi_j)``
during pulse ``j`` and ``F = 0`` between them. The carrier is phase coherent: ``t`` is the absolute
time from the start of pulse 1. The sequence (:class:`EchoSequence`) is

    pulse 1 [0, t1] -- free, tau -- pulse 2 [t1 + tau, t1 + tau + t2] -- free -- echo at tau after pulse 2.

The density matrix starts in thermal equilibrium of ``H0`` at ``T``. Observable: the polarisation
``<P>(t) = Tr(rho(t) P)`` and its demodulated complex envelope (:func:`echo_amplitude`)

    A(t) = 2 sum_{n_k - n_l = 1} rho_kl(t) P_lk exp(i omega t),   <P>_res(t) = Re[A(t) exp(-i omega t)],

in the eigenbasis of ``H0``, where ``n_k = round((E_k - E_0) / hbar omega)`` counts carrier quanta:
the pairs with ``n_k - n_l = 1`` are the transitions the carrier drives (detuning below half the
carrier). The echo amplitude is ``A`` at the echo time, in debye per system; ensembles sum it with
weights (:func:`echo_amplitude_vs_field`).

Coherence pathways (``pathway``)
--------------------------------
``"all"`` is the full signal of one system. ``"echo"`` keeps only the coherences of order
``n_a - n_b = -1`` before pulse 2 (coherence-transfer pathway ``0 -> -1 -> +1``), the part that
refocuses at ``2 tau`` whatever the detuning: what survives inhomogeneous broadening and what a
phase-cycled measurement selects (in the rotating-wave limit it equals the component of the signal
varying as ``exp(+i phi_1)`` with the phase of pulse 1, tested). On resonance in the rotating-wave
limit a 2LS gives the textbook echo (Hahn 1950; Hunklinger & Arnold 1976)

    A_echo = -i |P_eg| tanh(E / 2 k_B T) sin(theta_1) sin^2(theta_2 / 2),   theta_j = Omega_R t_j,

with ``hbar Omega_R = |P_eg| F0`` and ``|P_eg| = p cos(theta) Delta0 / E`` for the STM 2LS: maximal
for a ``pi/2 - pi`` sequence.

Propagation (``method``)
------------------------
* ``"rwa"``: rotating-wave approximation in the frame ``exp(i N omega t)``, ``N = diag(n_k)``:
  ``H_R = diag(E_k - n_k hbar omega) - (F0 / 2) sum_{|n_k - n_l| = 1} P_kl e^{-i phi (n_k - n_l)} |k><l|``,
  constant during a pulse, so each pulse is one matrix exponential (one ``eigh`` per system serves
  both pulses). Valid for ``|P_kl| F0`` and the detuning ``<< hbar omega``; the neglected
  counter-rotating terms (Bloch-Siegert) and the drive on the diagonal dipoles ``P_kk`` (a phase
  modulation of index ``|P_kk - P_ll| F0 / hbar omega``) give corrections of first order in
  ``F0 / hbar omega`` (tests).
* ``"exact"``: the full ``cos`` drive, no approximation beyond the integrator. ``H(t)`` is periodic,
  so a pulse of ``m`` carrier periods plus a remainder ``r`` is ``U_r U_T^m`` with ``U_T`` the
  one-period propagator (``U_T^m`` by repeated squaring), whatever the pulse length. ``U_T`` and
  ``U_r`` come from the sixth-order Magnus integrator with three Gauss-Legendre nodes per step
  (Blanes, Casas & Ros 2000), each step one batched ``eigh`` of a Hermitian matrix. Its error falls
  as ``steps_per_period^-6``; the default (48 per period, times the level spread in carrier quanta,
  which must be resolved) agrees with QuTiP ``mesolve`` to about 1e-11 D (tests). A 3LS with
  ``3 D0 >> h f`` (the seed's D0 of several K at GHz) costs proportionally more: use the RWA there.

Free evolution is exact (eigenbasis). Optional phenomenological dephasing ``t2_s``: during the free
periods every coherence between different carrier manifolds (``n_k != n_l``) decays as
``exp(-t / T2)``, so the echo pathway decays as ``exp(-2 tau / T2)`` (Hahn 1950); populations do
not relax (``T1`` infinite) and the pulses are taken short against ``T2``. This is not the spectral
diffusion of glasses (Black & Halperin 1977), which gives a non-exponential decay.

Magnetic field: the 3LS of Eq. 6 carries the Aharonov-Bohm phase of Eq. 7; its spectrum and the
dipole matrix elements in the eigenbasis change with ``B``, and so does the echo (the field dependent
coherent echoes of Ludwig, Nagel, Hunklinger & Enss, J. Low Temp. Phys. 131, 89 (2003), the seed's
ref. [41]). The STM 2LS (Eq. 5) has no orbital coupling: its echo does not depend on ``B``.

Units: energies in K (``E / k_B``), times in s, frequencies in Hz, dipoles in debye, ``F0`` in V/m;
``p F`` in K is ``p[D] F[V/m] DEBYE_V_PER_M_K``.

References
----------
E. L. Hahn, Phys. Rev. 80, 580 (1950). -- S. Hunklinger and W. Arnold, in Physical Acoustics XII,
ed. W. P. Mason and R. N. Thurston (Academic, 1976), p. 155. -- J. L. Black and B. I. Halperin,
Phys. Rev. B 16, 2879 (1977). -- W. A. Phillips, Rep. Prog. Phys. 50, 1657 (1987). -- S. Blanes,
F. Casas and J. Ros, BIT 40, 434 (2000); S. Blanes, F. Casas, J. A. Oteo and J. Ros, Phys. Rep. 470,
151 (2009). -- S. Ludwig, P. Nagel, S. Hunklinger and C. Enss, J. Low Temp. Phys. 131, 89 (2003).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import hamiltonians
from .._checks import as_int, as_positive_array, as_real_array, broadcast_batch
from ..units import DEBYE_V_PER_M_K, H_PLANCK_J_S, HBAR_J_S, K_B_J_PER_K, ab_phase

__all__ = [
    "ECHO_KINDS",
    "METHODS",
    "PATHWAYS",
    "EchoSequence",
    "echo_amplitude",
    "echo_amplitude_vs_field",
    "field_for_rabi_frequency",
    "polarisation",
    "rabi_frequency_Hz",
]

#: Propagation methods: rotating-wave approximation or the exact (Magnus, full cos) drive.
METHODS = ("rwa", "exact")
#: Signal pathways: the full signal of each system, or the refocusing (echo) pathway only.
PATHWAYS = ("echo", "all")
#: System kinds of :func:`echo_amplitude_vs_field`.
ECHO_KINDS = ("two_level", "three_level")

_GAUSS_NODES = (0.5 - math.sqrt(15.0) / 10.0, 0.5, 0.5 + math.sqrt(15.0) / 10.0)


def _time_K(time_s):
    """Time in s to the inverse-kelvin unit in which ``E[K] * t`` is a phase (``t k_B / hbar``)."""
    return time_s * (K_B_J_PER_K / HBAR_J_S)


def rabi_frequency_Hz(transition_dipole_D, field_amplitude_V_per_m):
    """Rabi frequency ``Omega_R / 2 pi = |P_kl| F0 / h`` of a resonant transition.

    For ``F(t) = F0 cos(omega t)`` and a transition matrix element ``P_kl`` (eigenbasis of ``H0``)
    the rotating-wave coupling is ``|P_kl| F0 / 2`` and the pulse area ``theta = Omega_R t``. For the
    STM 2LS ``|P_kl| = p cos(theta) Delta0 / E`` (Phillips 1987).

    Parameters
    ----------
    transition_dipole_D : array_like
        ``|P_kl|`` in debye.
    field_amplitude_V_per_m : array_like
        ``F0`` in V/m.

    Returns
    -------
    numpy.ndarray
        Rabi frequency in Hz.
    """
    p = np.abs(as_real_array(transition_dipole_D, "transition_dipole_D"))
    f0 = as_positive_array(field_amplitude_V_per_m, "field_amplitude_V_per_m", allow_zero=True)
    return p * f0 * DEBYE_V_PER_M_K * K_B_J_PER_K / H_PLANCK_J_S


def field_for_rabi_frequency(rabi_frequency_Hz, transition_dipole_D):
    """Field amplitude ``F0`` (V/m) giving the Rabi frequency for ``|P_kl|`` (inverse of :func:`rabi_frequency_Hz`)."""
    f_r = as_positive_array(rabi_frequency_Hz, "rabi_frequency_Hz", allow_zero=True)
    p = as_positive_array(np.abs(as_real_array(transition_dipole_D, "transition_dipole_D")), "transition_dipole_D")
    return f_r * H_PLANCK_J_S / (K_B_J_PER_K * DEBYE_V_PER_M_K * p)


@dataclass(frozen=True)
class EchoSequence:
    """A two-pulse echo sequence (module docstring).

    Parameters
    ----------
    pulse1_s, pulse2_s : float
        Pulse lengths ``t1``, ``t2`` in s, ``>= 0``.
    delay_s : float
        Free evolution ``tau`` between the end of pulse 1 and the start of pulse 2, in s, ``>= 0``.
    frequency_Hz : float
        Carrier frequency ``f = omega / 2 pi``, ``> 0``.
    field_amplitude_V_per_m : float
        ``F0`` in V/m (:func:`field_for_rabi_frequency` converts a Rabi frequency), ``>= 0``.
    phase1_rad, phase2_rad : float, optional
        Carrier phases of the pulses (phase cycling), default 0.
    echo_offset_s : float, optional
        The echo is read at ``tau + echo_offset_s`` after pulse 2, default 0.
    t2_s : float, optional
        Phenomenological dephasing time of the free periods (module docstring), default ``inf``.
    """

    pulse1_s: float
    pulse2_s: float
    delay_s: float
    frequency_Hz: float
    field_amplitude_V_per_m: float
    phase1_rad: float = 0.0
    phase2_rad: float = 0.0
    echo_offset_s: float = 0.0
    t2_s: float = math.inf

    def __post_init__(self):
        checks = {"pulse1_s": "nonnegative", "pulse2_s": "nonnegative", "delay_s": "nonnegative",
                  "field_amplitude_V_per_m": "nonnegative", "frequency_Hz": "positive", "phase1_rad": "real",
                  "phase2_rad": "real", "echo_offset_s": "real"}
        for name, kind in checks.items():
            value = getattr(self, name)
            value = as_real_array(value, name) if kind == "real" else as_positive_array(
                value, name, allow_zero=kind == "nonnegative")
            if value.ndim:
                raise ValueError(f"{name} must be a scalar, got shape {value.shape}")
        try:
            t2_ok = float(self.t2_s) > 0
        except (TypeError, ValueError):
            t2_ok = False
        if not t2_ok:
            raise ValueError(f"t2_s must be a number > 0 (inf for no dephasing), got {self.t2_s!r}")
        if self.delay_s + self.echo_offset_s < 0:
            raise ValueError(f"echo_offset_s must be >= -delay_s, got {self.echo_offset_s!r}")

    @property
    def pulse2_start_s(self):
        """Start of pulse 2, ``t1 + tau``."""
        return self.pulse1_s + self.delay_s

    @property
    def pulse2_end_s(self):
        """End of pulse 2, ``t1 + tau + t2``."""
        return self.pulse2_start_s + self.pulse2_s

    @property
    def echo_time_s(self):
        """Echo time ``t1 + tau + t2 + tau + echo_offset_s`` from the start of pulse 1."""
        return self.pulse2_end_s + self.delay_s + self.echo_offset_s

    def segments(self):
        """``(start_s, length_s, phase_rad or None)`` of pulse 1, the delay, pulse 2 and the free tail."""
        return (
            (0.0, self.pulse1_s, self.phase1_rad),
            (self.pulse1_s, self.delay_s, None),
            (self.pulse2_start_s, self.pulse2_s, self.phase2_rad),
            (self.pulse2_end_s, math.inf, None),
        )

    def carrier_phase(self, time_s):
        """``omega t`` reduced to ``[0, 2 pi)`` (from ``f t mod 1``, accurate for long times)."""
        return 2.0 * math.pi * math.fmod(self.frequency_Hz * time_s, 1.0)


# --------------------------------------------------------------------------- set-up
@dataclass(frozen=True)
class _Frame:
    """A batch in the eigenbasis of ``H0``: levels, dipoles, carrier manifolds and drive, in K."""

    levels: np.ndarray  # (..., n)
    dipole: np.ndarray  # (..., n, n) complex, eigenbasis
    manifold: np.ndarray  # (..., n) int, n_k
    order: np.ndarray  # (..., n, n) int, n_k - n_l
    carrier_K: float  # hbar omega / k_B
    drive_K: float  # F0 in K per debye

    @property
    def n(self):
        return self.levels.shape[-1]


def _check_hermitian(arr, name):
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    scale = max(1.0, float(np.abs(arr).max(initial=0.0)))
    if np.abs(arr - np.conj(np.swapaxes(arr, -1, -2))).max(initial=0.0) > 1e-10 * scale:
        raise ValueError(f"{name} must be Hermitian")


def _frame(hamiltonian_K, dipole_D, sequence):
    if not isinstance(sequence, EchoSequence):
        raise ValueError(f"sequence must be an EchoSequence, got {type(sequence).__name__}")
    h = np.asarray(hamiltonian_K)
    p = np.asarray(dipole_D)
    if h.ndim < 2 or h.shape[-1] != h.shape[-2] or h.shape[-1] < 2:
        raise ValueError(f"hamiltonian_K must be a stack of square matrices (..., n >= 2, n), got shape {h.shape}")
    if p.shape[-2:] != h.shape[-2:]:
        raise ValueError(f"dipole_D must have matrices of shape {h.shape[-2:]} like hamiltonian_K, got {p.shape}")
    _check_hermitian(h, "hamiltonian_K")
    _check_hermitian(p, "dipole_D")
    batch = broadcast_batch(hamiltonian_K=h.shape[:-2], dipole_D=p.shape[:-2])
    levels, vecs = np.linalg.eigh(np.broadcast_to(h, batch + h.shape[-2:]))
    dipole = np.einsum("...ji,...jk->...ik", np.conj(vecs), _mm(p, vecs))
    carrier_K = sequence.frequency_Hz * H_PLANCK_J_S / K_B_J_PER_K
    manifold = np.rint((levels - levels[..., :1]) / carrier_K).astype(np.int64)
    order = manifold[..., :, None] - manifold[..., None, :]
    return _Frame(levels, dipole, manifold, order, carrier_K, sequence.field_amplitude_V_per_m * DEBYE_V_PER_M_K)


def _thermal(frame, temperature_K):
    t = as_positive_array(temperature_K, "temperature_K")
    broadcast_batch(batch=frame.levels.shape[:-1], temperature_K=t.shape)
    boltz = np.exp(-(frame.levels - frame.levels[..., :1]) / t[..., None])
    pops = boltz / boltz.sum(axis=-1, keepdims=True)
    return pops[..., :, None] * np.eye(frame.n)


def _dagger(u):
    return np.conj(np.swapaxes(u, -1, -2))


# Batched products of small matrices: einsum is about twice as fast as matmul on (N, 3, 3) stacks.
def _mm(a, b):
    """``a @ b`` over leading axes."""
    return np.einsum("...ij,...jk->...ik", a, b)


def _mm_dagger(a, b):
    """``a @ b^+`` over leading axes."""
    return np.einsum("...ij,...kj->...ik", a, np.conj(b))


def _sandwich(u, rho):
    """``u @ rho @ u^+``."""
    return _mm(u, _mm_dagger(rho, u))


# --------------------------------------------------------------------------- pulses
def _rwa_generator(frame):
    """Eigen-decomposition of the rotating-frame Hamiltonian at pulse phase 0 (module docstring)."""
    coupling = np.where(np.abs(frame.order) == 1, frame.dipole, 0.0)
    h_r = -0.5 * frame.drive_K * coupling
    idx = np.arange(frame.n)
    h_r[..., idx, idx] += frame.levels - frame.manifold * frame.carrier_K
    return np.linalg.eigh(h_r)


def _rwa_pulse(frame, generator, sequence, start_s, length_s, phase_rad):
    """Lab-frame propagator (eigenbasis) of a pulse in the rotating-wave approximation.

    ``U = R(t_end)^+ D_phi exp(-i H_R t) D_phi^+ R(t_start)``, ``R(t) = exp(i N omega t)``,
    ``D_phi = exp(-i N phi)``.
    """
    w, q = generator
    u_r = _mm_dagger(q * np.exp(-1j * w * _time_K(length_s))[..., None, :], q)
    left = np.exp(-1j * frame.manifold * (sequence.carrier_phase(start_s + length_s) + phase_rad))
    right = np.exp(1j * frame.manifold * (sequence.carrier_phase(start_s) + phase_rad))
    return left[..., :, None] * u_r * right[..., None, :]


def _magnus_segment(frame, theta0, length_K, n_steps):
    """Propagator over ``length_K`` (1/K) of ``diag(E) - F0 cos(theta0 + omega t) P``, sixth-order Magnus.

    Three Gauss-Legendre nodes per step (Blanes, Casas & Ros 2000; Blanes et al. 2009): with
    ``A = -i H``, ``a1 = h A2``, ``a2 = sqrt(15) h (A3 - A1) / 3``, ``a3 = 10 h (A3 - 2 A2 + A1) / 3``,
    ``C1 = [a1, a2]``, ``C2 = -[a1, 2 a3 + C1] / 60`` and ``Omega = a1 + a3 / 12 + [-20 a1 - a3 + C1, a2 + C2] / 240``;
    the step is ``exp(Omega)``, from ``eigh`` of the Hermitian ``i Omega``.
    """
    levels, dipole = frame.levels, frame.dipole
    n = frame.n
    idx = np.arange(n)
    h_static = np.zeros(dipole.shape, dtype=complex)
    h_static[..., idx, idx] = levels
    u = np.broadcast_to(np.eye(n, dtype=complex), dipole.shape).copy()
    h = length_K / n_steps

    def comm(x, y):
        return _mm(x, y) - _mm(y, x)

    for step in range(n_steps):
        f1, f2, f3 = (frame.drive_K * math.cos(theta0 + frame.carrier_K * (step + c) * h) for c in _GAUSS_NODES)
        a1 = -1j * h * (h_static - f2 * dipole)
        a2 = (1j * math.sqrt(15.0) / 3.0 * h * (f3 - f1)) * dipole
        a3 = (1j * 10.0 / 3.0 * h * (f3 - 2.0 * f2 + f1)) * dipole
        c1 = comm(a1, a2)
        c2 = comm(a1, 2.0 * a3 + c1) / -60.0
        omega = a1 + a3 / 12.0 + comm(-20.0 * a1 - a3 + c1, a2 + c2) / 240.0
        k = 0.5j * (omega - _dagger(omega))  # i Omega, Hermitian
        w, q = np.linalg.eigh(k)
        u = _mm(q * np.exp(-1j * w)[..., None, :], np.einsum("...ji,...jk->...ik", np.conj(q), u))
    return u


def _matrix_power(u, m):
    result = None
    while m:
        if m & 1:
            result = u if result is None else _mm(u, result)
        m >>= 1
        if m:
            u = _mm(u, u)
    return result


def _exact_pulse(frame, sequence, start_s, length_s, phase_rad, steps_per_period):
    """Lab-frame propagator (eigenbasis) of a pulse with the full cos drive: ``U_r U_T^m``."""
    period_s = 1.0 / sequence.frequency_Hz
    m = int(length_s // period_s)
    rest_s = length_s - m * period_s
    theta0 = sequence.carrier_phase(start_s) + phase_rad
    eye = np.broadcast_to(np.eye(frame.n, dtype=complex), frame.dipole.shape)
    n_rest = math.ceil(steps_per_period * rest_s / period_s) if rest_s > 0 else 0
    u_rest = _magnus_segment(frame, theta0, _time_K(rest_s), n_rest) if n_rest else eye
    if m == 0:
        return u_rest
    theta_mid = theta0 + 2.0 * math.pi * sequence.frequency_Hz * rest_s
    n_mid = max(1, math.ceil(steps_per_period * (period_s - rest_s) / period_s))
    u_period = _mm(_magnus_segment(frame, theta_mid, _time_K(period_s - rest_s), n_mid), u_rest)
    return _mm(u_rest, _matrix_power(u_period, m))


def _default_steps(spread_K, carrier_K):
    """Steps per carrier period: 48 times the largest level spread in carrier quanta (at least 48).

    48 steps resolve one carrier period to about 1e-9 of the signal (sixth order; tests).
    """
    return 48 * max(1, math.ceil(float(np.max(spread_K, initial=0.0)) / carrier_K))


# --------------------------------------------------------------------------- evolution
def _free(frame, rho, length_s, sequence):
    phase = np.exp(-1j * frame.levels * _time_K(length_s))
    rho = phase[..., :, None] * rho * np.conj(phase)[..., None, :]
    if math.isfinite(sequence.t2_s) and length_s > 0:
        rho = np.where(frame.order != 0, rho * math.exp(-length_s / sequence.t2_s), rho)
    return rho


def _evolve(frame, rho, sequence, time_s, method, pathway, steps_per_period):
    """Density matrix (eigenbasis, lab frame) at ``time_s``; the echo pathway is selected at pulse 2."""
    generator = _rwa_generator(frame) if method == "rwa" else None
    for index, (start, length, phase) in enumerate(sequence.segments()):
        if index == 2 and pathway == "echo":
            rho = np.where(frame.order == -1, rho, 0.0)
        span = min(length, time_s - start)
        if span <= 0:
            break
        if phase is None:
            rho = _free(frame, rho, span, sequence)
            continue
        if method == "rwa":
            u = _rwa_pulse(frame, generator, sequence, start, span, phase)
        else:
            u = _exact_pulse(frame, sequence, start, span, phase, steps_per_period)
        rho = _sandwich(u, rho)
    return rho


def _options(method, pathway, steps_per_period, frame):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if pathway not in PATHWAYS:
        raise ValueError(f"pathway must be one of {PATHWAYS}, got {pathway!r}")
    if method != "exact":
        return None
    if steps_per_period is None:
        return _default_steps(frame.levels[..., -1] - frame.levels[..., 0], frame.carrier_K)
    return as_int(steps_per_period, "steps_per_period", 1)


def echo_amplitude(hamiltonian_K, dipole_D, sequence, temperature_K, *, method="rwa", pathway="echo",
                   time_s=None, steps_per_period=None):
    """Demodulated polarisation envelope ``A`` at the echo time, per system (module docstring).

    Parameters
    ----------
    hamiltonian_K : array_like, shape (..., n, n)
        Hermitian ``H0`` in K (e.g. :func:`tunnelsim.hamiltonians.three_level`).
    dipole_D : array_like, shape (..., n, n)
        Dipole operator along the electric field in debye, same basis as ``hamiltonian_K``
        (:func:`tunnelsim.dielectric.dipoles.dipole_operator`); batches broadcast.
    sequence : EchoSequence
        Pulses, delay, carrier and field amplitude.
    temperature_K : array_like
        Temperature of the initial thermal state, ``> 0``, broadcast against the batch.
    method : {"rwa", "exact"}, optional
        Rotating-wave propagation (default) or the full cos drive (module docstring).
    pathway : {"echo", "all"}, optional
        Refocusing pathway only (default; what survives an inhomogeneous ensemble) or the full signal.
    time_s : float, optional
        Read-out time from the start of pulse 1 (default :attr:`EchoSequence.echo_time_s`); with
        ``pathway="echo"`` it must not precede pulse 2.
    steps_per_period : int, optional
        Magnus steps per carrier period for ``method="exact"``; default 48 times the largest
        level spread of the batch in carrier quanta (at least 48).

    Returns
    -------
    numpy.ndarray
        Complex envelope ``A`` in debye, shape of the batch; ``|A|`` is the echo amplitude.
    """
    frame = _frame(hamiltonian_K, dipole_D, sequence)
    steps = _options(method, pathway, steps_per_period, frame)
    time_s = sequence.echo_time_s if time_s is None else float(as_real_array(time_s, "time_s"))
    if pathway == "echo" and time_s < sequence.pulse2_start_s:
        raise ValueError(f"time_s must be >= the start of pulse 2 ({sequence.pulse2_start_s!r} s) for the echo pathway")
    rho = _evolve(frame, _thermal(frame, temperature_K), sequence, time_s, method, pathway, steps)
    detected = np.where(frame.order == 1, rho * np.swapaxes(frame.dipole, -1, -2), 0.0).sum(axis=(-1, -2))
    return 2.0 * detected * np.exp(1j * sequence.carrier_phase(time_s))


def polarisation(hamiltonian_K, dipole_D, sequence, temperature_K, times_s, *, method="exact",
                 steps_per_period=None):
    """Polarisation ``<P>(t) = Tr(rho(t) P)`` along the field, in the lab frame.

    Parameters
    ----------
    hamiltonian_K, dipole_D, sequence, temperature_K, steps_per_period
        As for :func:`echo_amplitude`.
    times_s : array_like, shape (n_times,)
        Times from the start of pulse 1, ``>= 0``, inside or after the pulses.
    method : {"exact", "rwa"}, optional
        Full cos drive (default) or the rotating-wave approximation.

    Returns
    -------
    numpy.ndarray, shape (..., n_times)
        ``<P>(t)`` in debye (includes the static part).
    """
    times = as_positive_array(times_s, "times_s", allow_zero=True)
    if times.ndim > 1:
        raise ValueError(f"times_s must be a scalar or 1-D array, got shape {times.shape}")
    frame = _frame(hamiltonian_K, dipole_D, sequence)
    steps = _options(method, "all", steps_per_period, frame)
    rho0 = _thermal(frame, temperature_K)
    out = [np.einsum("...kl,...lk->...", _evolve(frame, rho0, sequence, float(t), method, "all", steps),
                     frame.dipole).real for t in np.atleast_1d(times)]
    return np.stack(out, axis=-1)


# --------------------------------------------------------------------------- ensembles
def _param(params, name, kind):
    try:
        return np.asarray(params[name], dtype=float)
    except KeyError:
        raise ValueError(f"params for {kind} need {name!r}; got {sorted(params)}") from None


def echo_amplitude_vs_field(kind, params, weights, dipole_D, field_T, sequence, temperature_K, *,
                            charge_area_A2=None, method="rwa", pathway="echo", steps_per_period=None,
                            chunk_size=32768):
    """Weighted ensemble echo amplitude against the magnetic field.

    ``A(B) = sum_i w_i A_i(B)`` with :func:`echo_amplitude` per system. The samples (nodes of a
    quadrature or a Monte Carlo set, with their orientations) and weights come from the caller;
    :func:`~tunnelsim.dielectric.ensemble.ats_echo_nodes` builds an adequate ATS quadrature.

    Nodes in ``u = cos(theta)``: for ``D << D0 phi u`` every ATS has the lower gap
    ``(2/sqrt 3) D0 phi u``, so above the field where that reaches ``h f`` (about 10 mT for D0 = 9.4 K,
    (Q/e) S = 30000 A^2, 1 GHz) the resonant systems lie on a thin shell in ``u`` (relative width about
    ``f_Rabi / f``, at ``u ~ 1/B``) and a coarse ``u`` rule gives spurious peaks (5 Gauss nodes, D down
    to 5 mK: up to 40x). On the (e1) case of ``benchmarks/echoes.md`` (0-50 mT, ``f_Rabi / f = 0.02``,
    composite 4-point Gauss rules, 128 nodes in ``ln D``) 256 nodes in ``u`` leave 3.6e-4 of max|A|,
    128 leave 1.2e-2, 64 leave 5e-2, 16 leave 0.4; the count grows with ``B_max`` and ``f / f_Rabi``.

    ``kind="three_level"`` with ``method="rwa"`` runs a compiled path (closed-form levels, cofactor
    eigenvectors, closed-form rotating-frame pulses; :mod:`tunnelsim.dielectric._echo_kernel`), the
    same propagation as :func:`echo_amplitude` (tests: 1e-10); the rest calls :func:`echo_amplitude`.

    Parameters
    ----------
    kind : {"two_level", "three_level"}
        ``"two_level"``: STM 2LS, Eq. 5, params ``delta`` and ``delta0`` (K), shape ``(N,)``; no field
        coupling, so the amplitude is computed once and repeated over ``field_T``.
        ``"three_level"``: Eq. 6 with the AB phase of Eq. 7, ``phi = 2 pi (Q/e) S B cos(theta) / phi0``
        (:func:`tunnelsim.units.ab_phase`); params ``E`` (N, 3), ``D0`` (N,) in K and ``cos_theta``
        (N,), the cosine between ``B`` and the loop normal.
    params : dict of array_like
        Parameter samples, leading axis ``N``.
    weights : array_like, shape (N,)
        Weights of the samples (e.g. quadrature weights times a density).
    dipole_D : array_like, shape (N, n, n)
        Dipole operator of each sample along the electric field in the well basis, debye (for one
        orientation sample, the same rotation must set ``cos_theta`` and the field direction).
    field_T : array_like, shape (n_fields,)
        Magnetic field ``B`` in tesla.
    sequence, temperature_K, method, pathway, steps_per_period
        As for :func:`echo_amplitude`.
    charge_area_A2 : array_like, optional
        ``(Q/e) S_Delta`` in square angstrom, scalar or ``(N,)``; required for ``"three_level"``.
    chunk_size : int, optional
        Systems x fields propagated at once (memory about ``chunk_size * n^2 * 300`` bytes).

    Returns
    -------
    numpy.ndarray, shape (n_fields,)
        Complex ensemble envelope in debye times the unit of the weights.
    """
    if kind not in ECHO_KINDS:
        raise ValueError(f"kind must be one of {ECHO_KINDS}, got {kind!r}")
    fields = as_real_array(field_T, "field_T")
    if fields.ndim > 1:
        raise ValueError(f"field_T must be a scalar or 1-D array, got shape {fields.shape}")
    fields = np.atleast_1d(fields)
    w = as_real_array(weights, "weights")
    n_sys = w.shape[0] if w.ndim == 1 else -1
    p = np.asarray(dipole_D)
    size = 2 if kind == "two_level" else 3
    if w.ndim != 1 or p.shape != (n_sys, size, size):
        raise ValueError(f"weights must have shape (N,) and dipole_D (N, {size}, {size}), got {w.shape} and {p.shape}")
    chunk = as_int(chunk_size, "chunk_size", 1)
    t = as_positive_array(temperature_K, "temperature_K")
    if t.ndim:
        raise ValueError(f"temperature_K must be a scalar, got shape {t.shape}")
    options = {"method": method, "pathway": pathway, "steps_per_period": steps_per_period}
    carrier_K = sequence.frequency_Hz * H_PLANCK_J_S / K_B_J_PER_K
    if kind == "two_level":
        delta, delta0 = (np.broadcast_to(_param(params, name, kind), (n_sys,)) for name in ("delta", "delta0"))
        if method == "exact" and steps_per_period is None:  # one step count for every chunk
            options["steps_per_period"] = _default_steps(np.hypot(delta, delta0), carrier_K)
        total = 0.0j
        for lo in range(0, n_sys, chunk):
            sl = slice(lo, lo + chunk)
            h = hamiltonians.two_level(delta[sl], delta0[sl])
            total += np.dot(w[sl], echo_amplitude(h, p[sl], sequence, temperature_K, **options))
        return np.full(fields.shape, total)
    E = _param(params, "E", kind)
    if E.shape != (n_sys, 3):
        raise ValueError(f"params['E'] must have shape ({n_sys}, 3), got {E.shape}")
    D0, u = (np.broadcast_to(_param(params, name, kind), (n_sys,)) for name in ("D0", "cos_theta"))
    if method == "exact" and steps_per_period is None:  # Gershgorin bound on the spread, every field
        options["steps_per_period"] = _default_steps(np.ptp(E, axis=-1) + 4.0 * np.abs(D0), carrier_K)
    if charge_area_A2 is None:
        raise ValueError("charge_area_A2 is required for kind 'three_level'")
    area = np.broadcast_to(as_positive_array(charge_area_A2, "charge_area_A2"), (n_sys,))
    phi = ab_phase(fields[:, None], u, area).ravel()  # (n_fields * N,)
    system = np.tile(np.arange(n_sys), fields.size)
    field_index = np.repeat(np.arange(fields.size), n_sys)
    real = np.zeros(fields.size)
    imag = np.zeros(fields.size)
    if method == "rwa":  # compiled path (docstring)
        from ._echo_kernel import ring3_rwa_echo_vs_field

        if not isinstance(sequence, EchoSequence):
            raise ValueError(f"sequence must be an EchoSequence, got {type(sequence).__name__}")
        _options(method, pathway, None, None)
        _check_hermitian(p, "dipole_D")
        as_positive_array(D0, "D0")
        return ring3_rwa_echo_vs_field(E, D0, phi, p, w, sequence, float(t), pathway, system, field_index,
                                       fields.size, chunk)
    for lo in range(0, phi.size, chunk):
        sl = slice(lo, lo + chunk)
        i = system[sl]
        h = hamiltonians.three_level(E[i], D0[i], phi[sl])
        amp = w[i] * echo_amplitude(h, p[i], sequence, temperature_K, **options)
        real += np.bincount(field_index[sl], amp.real, minlength=fields.size)
        imag += np.bincount(field_index[sl], amp.imag, minlength=fields.size)
    return real + 1j * imag
