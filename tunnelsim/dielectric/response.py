"""Linear dielectric susceptibility of one tunnelling system from its exact spectrum.

The field term is ``H(F) = H0 - F P_e`` with ``P_e = P . e`` the dipole operator along the unit
field direction ``e`` (:mod:`tunnelsim.dielectric.dipoles`). Fields are measured as energies per
debye (``f = F[V/m] * DEBYE_V_PER_M_K``, K/D), so a susceptibility ``chi = d<P_e>/df`` is in
D^2/K per system; :func:`tunnelsim.units.susceptibility_to_permittivity` turns a per-gram density
of it into ``Delta eps / eps_r``.

With levels ``E_m``, Boltzmann populations ``p_m`` and ``P_mn = <m|P_e|n>``:

* **static isothermal** susceptibility, ``-d^2 F / df^2`` (second-order perturbation theory of
  ``F = -k_B T ln Z``):
  ``chi_T = sum_{m != n} (p_m - p_n) |P_mn|^2 / (E_n - E_m) + (<P_nn^2> - <P_nn>^2) / k_B T``;
* **resonant** part (Kubo, Phillips 1987 Rep. Prog. Phys. 50, 1657; Hunklinger & Arnold 1976),
  time dependence ``exp(-i omega t)``, ``hbar omega = h f``:
  ``chi_res(omega) = sum_{m,n} (p_m - p_n) |P_mn|^2 / (E_n - E_m - hbar omega - i Gamma)``,
  summed here over pairs ``E_n > E_m`` as
  ``(p_m - p_n) |P_mn|^2 [1/(E_nm - hbar omega - i Gamma) + 1/(E_nm + hbar omega + i Gamma)]``;
  ``Gamma`` is the phenomenological half width ``linewidth_K`` (Lorentzian absorption,
  ``Im chi_res >= 0`` for ``omega > 0``). At ``f = 0``, ``Gamma = 0`` it is the first term of
  ``chi_T``; degenerate pairs enter with their limit ``p_m / k_B T``;
* **relaxation** part: the populations relax towards the equilibrium of the instantaneous
  field through a master equation with one-phonon golden-rule rates. Symmetrised with
  ``sqrt(p)``, its rate matrix ``L`` (s^-1) has the zero mode ``sqrt(p)``; with
  ``x_m = sqrt(p_m) (P_mm - <P_nn>)``,
  ``chi_rel(omega) = x^T L (L - i omega)^{-1} x / k_B T = sum_k (v_k . x)^2 / k_B T / (1 - i omega / lambda_k)``,
  a sum of Debye terms over the relaxation modes, whose static value is the fluctuation term
  of ``chi_T``. For a 2LS there is one mode, ``lambda = 1/tau`` of Phillips (1972) / Jaeckle
  (1972): ``1/tau = (gamma_l^2/v_l^5 + 2 gamma_t^2/v_t^5) Delta0^2 E coth(E/2k_BT) / (2 pi rho hbar^4)``.

One-phonon rates for any number of wells (the generalisation used here): the strain couples
to the wells as the field does, through ``S_a = P_a / p`` (``p`` the STM dipole moment, so
``S = sigma_z`` for a 2LS), isotropically: ``|S_mn|^2 = sum_a |<m|P_a|n>|^2 / p^2``, and the rate
down a gap ``E_nm`` is ``A E_nm^3 |S_mn|^2 (n_B(E_nm) + 1)`` (up: ``n_B``), with
``A = (gamma_l^2/v_l^5 + 2 gamma_t^2/v_t^5) k_B^3 / (2 pi rho hbar^4)``
(:func:`one_phonon_prefactor_per_s_K3`). Golden-rule rates between eigenstates assume gaps
larger than the rates (no coherences); the full mode sum is used, not only the slowest rate
(:func:`relaxation_rates_per_s` gives the modes).

Every function is batched over leading axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import as_positive_array, as_real_array, temperature_axis
from .. import units
from .dipoles import FIELD_DIRECTIONS

__all__ = [
    "DielectricSettings",
    "Susceptibility",
    "direction_tensor",
    "free_energy_K",
    "matrix_elements",
    "one_phonon_prefactor_per_s_K3",
    "relaxation_rates_per_s",
    "susceptibility",
    "susceptibility_from_parts",
    "two_level_relaxation_rate_per_s",
    "two_level_susceptibility",
]


@dataclass(frozen=True)
class DielectricSettings:
    """Material and measurement settings of the dielectric response.

    Parameters
    ----------
    frequency_Hz : float
        Measuring frequency ``f`` (``omega = 2 pi f``); 0 (default) is the static limit.
    linewidth_K : float
        Half width ``Gamma`` of the Lorentzian resonant line, in K (0: no resonant absorption).
    field_direction : {"parallel", "perpendicular"}
        Electric field along the magnetic field (default) or averaged over the plane normal to it.
    mass_density_g_cm3 : float
        Mass density (per gram -> per volume, and the phonon rates).
    eps_r : float
        Background relative permittivity.
    deformation_potential_l_eV, deformation_potential_t_eV : float
        ``gamma_l``, ``gamma_t`` in eV (defaults: vitreous silica, Phillips 1987).
    sound_velocity_l_m_s, sound_velocity_t_m_s : float
        ``v_l``, ``v_t`` in m/s.
    """

    frequency_Hz: float = 0.0
    linewidth_K: float = 0.0
    field_direction: str = "parallel"
    mass_density_g_cm3: float = 2.2
    eps_r: float = 3.8
    deformation_potential_l_eV: float = 1.0
    deformation_potential_t_eV: float = 0.65
    sound_velocity_l_m_s: float = 5800.0
    sound_velocity_t_m_s: float = 3800.0

    def __post_init__(self):
        for name in ("frequency_Hz", "linewidth_K", "deformation_potential_l_eV", "deformation_potential_t_eV"):
            value = float(as_real_array(getattr(self, name), name))
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        for name in ("mass_density_g_cm3", "eps_r", "sound_velocity_l_m_s", "sound_velocity_t_m_s"):
            as_positive_array(getattr(self, name), name)
        if self.field_direction not in FIELD_DIRECTIONS:
            raise ValueError(f"field_direction must be one of {FIELD_DIRECTIONS}, got {self.field_direction!r}")

    @property
    def photon_energy_K(self):
        """``h f / k_B`` in K."""
        return units.H_PLANCK_J_S * self.frequency_Hz / units.K_B_J_PER_K

    @property
    def omega_per_s(self):
        """``omega = 2 pi f`` in s^-1."""
        return 2.0 * math.pi * self.frequency_Hz


def one_phonon_prefactor_per_s_K3(settings):
    """``A = (gamma_l^2/v_l^5 + 2 gamma_t^2/v_t^5) k_B^3 / (2 pi rho hbar^4)`` in s^-1 K^-3.

    The 2LS rate is ``1/tau = A Delta0^2 E coth(E / 2 k_B T)`` with energies in K
    (Phillips 1972; Jaeckle 1972, Z. Phys. 257, 212; Phillips 1987 Eq. 2.14).
    """
    e = units.E_CHARGE_C
    rho = settings.mass_density_g_cm3 * 1e3  # kg/m^3
    coupling = (settings.deformation_potential_l_eV * e) ** 2 / settings.sound_velocity_l_m_s**5 + 2.0 * (
        settings.deformation_potential_t_eV * e
    ) ** 2 / settings.sound_velocity_t_m_s**5
    return coupling * units.K_B_J_PER_K**3 / (2.0 * math.pi * rho * units.HBAR_J_S**4)


def two_level_relaxation_rate_per_s(delta_K, delta0_K, temperature_K, settings):
    """One-phonon relaxation rate of a 2LS, ``A Delta0^2 E coth(E / 2 k_B T)`` (Jaeckle 1972), s^-1."""
    d = np.asarray(delta_K, dtype=float)[..., None]
    d0 = np.asarray(delta0_K, dtype=float)[..., None]
    T = temperature_axis(temperature_K)
    E = np.hypot(d, d0)
    return one_phonon_prefactor_per_s_K3(settings) * d0**2 * E / np.tanh(E / (2.0 * T))


def direction_tensor(field_direction, magnetic_direction):
    """The average of ``e e^T`` over the electric-field directions of a setting.

    Parameters
    ----------
    field_direction : {"parallel", "perpendicular"}
        ``e = b`` (parallel) or ``e`` uniform on the circle normal to ``b`` (perpendicular).
    magnetic_direction : array_like, shape (..., 3)
        Unit vector ``b`` of the magnetic field in the system's frame.

    Returns
    -------
    numpy.ndarray, shape (..., 3, 3)
        ``b b^T`` or ``(I - b b^T) / 2``.
    """
    if field_direction not in FIELD_DIRECTIONS:
        raise ValueError(f"field_direction must be one of {FIELD_DIRECTIONS}, got {field_direction!r}")
    b = as_real_array(magnetic_direction, "magnetic_direction")
    bb = b[..., :, None] * b[..., None, :]
    return bb if field_direction == "parallel" else 0.5 * (np.eye(3) - bb)


def matrix_elements(hamiltonian, components, tensor):
    """Levels and the dipole matrix elements that the response needs, by :func:`numpy.linalg.eigh`.

    Parameters
    ----------
    hamiltonian : array_like, shape (..., n, n)
        Hermitian Hamiltonians in K.
    components : array_like, shape (..., 3, n, n)
        Dipole components ``P_a`` in the well basis, debye (:func:`~tunnelsim.dielectric.dipoles.dipole_components`).
    tensor : array_like, shape (..., 3, 3)
        ``<e_a e_b>`` over the field directions (:func:`direction_tensor`; ``e e^T`` for one direction).

    Returns
    -------
    levels : numpy.ndarray, shape (..., n)
        Ascending levels in K.
    X : numpy.ndarray, shape (..., n, n)
        ``X_mn = sum_ab T_ab Re(P_a,mn P_b,nm)`` (D^2): ``|P_mn|^2`` averaged over the directions.
    G : numpy.ndarray, shape (..., n, n)
        ``G_mn = sum_ab T_ab P_a,mm P_b,nn`` (D^2): products of diagonal elements.
    S2 : numpy.ndarray, shape (..., n, n)
        ``sum_a |P_a,mn|^2`` (D^2), the isotropic elastic matrix elements times ``p^2``.
    """
    h = np.asarray(hamiltonian)
    levels, vecs = np.linalg.eigh(h)
    P = np.asarray(components)
    Pm = np.conj(vecs)[..., None, :, :].swapaxes(-1, -2) @ P @ vecs[..., None, :, :]  # (..., 3, n, n)
    t = np.asarray(tensor, dtype=float)
    X = np.einsum("...ab,...amn,...bnm->...mn", t, Pm, Pm).real
    dg = np.diagonal(Pm, axis1=-2, axis2=-1).real  # (..., 3, n)
    G = np.einsum("...ab,...am,...bn->...mn", t, dg, dg)
    S2 = np.sum(np.abs(Pm) ** 2, axis=-3)
    return levels, X, G, S2


@dataclass(frozen=True)
class Susceptibility:
    """Susceptibility parts per system, complex, in D^2/K, shape ``(..., n_T)``.

    ``resonant`` and ``relaxation`` at the measuring frequency; ``relaxation_static`` the
    fluctuation term (``omega tau -> 0``); ``real`` part is the in-phase response, ``imag`` the loss.
    """

    resonant: np.ndarray
    relaxation: np.ndarray
    relaxation_static: np.ndarray

    @property
    def static(self):
        """``chi_res + chi_rel`` at ``omega = 0`` (real part), equal to ``-d^2F/df^2`` at f = 0, Gamma = 0."""
        return self.resonant.real + self.relaxation_static


def _populations(levels, T):
    """Boltzmann populations ``(..., n_T, n)`` of levels ``(..., n)`` at ``T (n_T,)``."""
    shifted = levels[..., None, :] - levels[..., None, :1]
    x = -shifted / T[:, None]
    w = np.exp(x)
    return w / w.sum(axis=-1, keepdims=True)


def _pair_weight(levels, pop, T, hf, gamma):
    """Complex ``(p_m - p_n) [1/(E_nm - hf - iG) + 1/(E_nm + hf + iG)]`` for ``E_n >= E_m`` (n > m)."""
    Em = levels[..., None, :, None]
    En = levels[..., None, None, :]
    gap = np.maximum(En - Em, 0.0)  # (..., 1, n, n)
    pm = pop[..., :, None]
    beta_gap = gap / T[:, None, None]
    # p_m - p_n = p_m (1 - exp(-beta E_nm)), written with expm1 for small gaps
    dp = -pm * np.expm1(-beta_gap)
    if hf == 0.0 and gamma == 0.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(beta_gap > 1e-8, -np.expm1(-beta_gap) / np.where(beta_gap > 0, beta_gap, 1.0), 1.0)
        w = 2.0 * pm * ratio / T[:, None, None] + 0j
    else:
        w = dp * (1.0 / (gap - hf - 1j * gamma) + 1.0 / (gap + hf + 1j * gamma))
    n = levels.shape[-1]
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    return np.where(upper, w, 0.0)


def relaxation_rates_per_s(levels, S2_over_p2, temperature_K, prefactor_per_s_K3):
    """Symmetrised master-equation rate matrix and its relaxation rates (module docstring).

    Parameters
    ----------
    levels : array_like, shape (..., n)
        Ascending levels in K.
    S2_over_p2 : array_like, shape (..., n, n)
        ``|S_mn|^2`` (dimensionless).
    temperature_K : array_like, shape (n_T,)
    prefactor_per_s_K3 : float
        :func:`one_phonon_prefactor_per_s_K3`.

    Returns
    -------
    L : numpy.ndarray, shape (..., n_T, n, n)
        Symmetrised rate matrix ``D^{-1/2} (-W) D^{1/2}`` (s^-1), ``D = diag(p)``.
    rates : numpy.ndarray, shape (..., n_T, n)
        Its eigenvalues, ascending; ``rates[..., 0] = 0`` is equilibrium, ``rates[..., 1]`` the
        slowest relaxation rate ``1/tau``.
    """
    E = np.asarray(levels, dtype=float)
    T = temperature_axis(temperature_K)
    L = _rate_matrix(E, S2_over_p2, T, prefactor_per_s_K3)
    rates = np.linalg.eigvalsh(L)
    return L, rates


def _rate_matrix(E, S2_over_p2, T, prefactor_per_s_K3):
    """The symmetrised rate matrix ``L`` of :func:`relaxation_rates_per_s` (without its eigenvalues)."""
    gap = np.abs(E[..., None, :, None] - E[..., None, None, :])  # (..., 1, n, n)
    x = gap / T[:, None, None]
    S2 = np.asarray(S2_over_p2, dtype=float)[..., None, :, :]
    # down rate A g^3 S2 (n+1), up A g^3 S2 n; n + 1 = 1/(1 - e^-x); sqrt(n (n+1)) = 1/(2 sinh(x/2))
    with np.errstate(divide="ignore", invalid="ignore"):
        g3 = prefactor_per_s_K3 * gap**3 * S2
        down = np.where(x > 0, g3 / -np.expm1(-np.where(x > 0, x, 1.0)), prefactor_per_s_K3 * gap**2 * S2 * T[:, None, None])
        up = down * np.exp(-x)
        geo = np.where(x > 0, g3 / (2.0 * np.sinh(np.where(x > 0, x, 1.0) / 2.0)), prefactor_per_s_K3 * gap**2 * S2 * T[:, None, None])
    n = E.shape[-1]
    lower = E[..., None, :, None] > E[..., None, None, :]  # E_m > E_n: m -> n is down
    # rate out of m into n: down if E_m > E_n else up; diag of L: sum of rates out of m
    out = np.where(lower, down, up)
    eye = np.eye(n, dtype=bool)
    out = np.where(eye, 0.0, out)
    L = -np.where(eye, 0.0, geo) + np.eye(n) * out.sum(axis=-1)[..., None]
    return L


def susceptibility(hamiltonian, components, tensor, temperature_K, settings, dipole_moment_D):
    """Dielectric susceptibility of tunnelling systems from their Hamiltonians (numpy eigh).

    Parameters
    ----------
    hamiltonian : array_like, shape (..., n, n)
        Hamiltonians in K (Eq. 5, Eq. 6, the four-well matrix...).
    components : array_like, shape (..., 3, n, n)
        Dipole components in the well basis (debye).
    tensor : array_like, shape (..., 3, 3)
        Direction average of ``e e^T`` (:func:`direction_tensor`).
    temperature_K : array_like, shape (n_T,)
    settings : DielectricSettings
    dipole_moment_D : float
        STM dipole moment ``p`` (elastic normalisation).

    Returns
    -------
    Susceptibility
        Parts of shape ``(..., n_T)`` in D^2/K.
    """
    levels, X, G, S2 = matrix_elements(hamiltonian, components, tensor)
    return susceptibility_from_parts(levels, X, G, S2, temperature_K, settings, dipole_moment_D)


def susceptibility_from_parts(levels, X, G, S2, temperature_K, settings, dipole_moment_D):
    """Resonant and relaxation susceptibility (D^2/K) from levels and matrix elements (module docstring).

    Parameters
    ----------
    levels, X, G, S2 : numpy.ndarray
        From :func:`matrix_elements`: shapes ``(..., n)`` and ``(..., n, n)``.
    temperature_K : array_like, shape (n_T,)
    settings : DielectricSettings
    dipole_moment_D : float
        STM dipole moment ``p`` (normalises the elastic coupling ``S = P / p``).

    Returns
    -------
    Susceptibility
        Each part of shape ``(..., n_T)``.
    """
    T = temperature_axis(temperature_K)
    E = np.asarray(levels, dtype=float)
    pop = _populations(E, T)  # (..., nT, n)
    w = _pair_weight(E, pop, T, settings.photon_energy_K, settings.linewidth_K)
    resonant = np.sum(w * X[..., None, :, :], axis=(-2, -1))
    Gt = G[..., None, :, :]
    g = np.einsum("...mn,...n->...m", Gt, pop)  # (..., nT, n)
    mean = np.sum(pop * g, axis=-1)
    second = np.sum(pop * np.diagonal(G, axis1=-2, axis2=-1)[..., None, :], axis=-1)
    static = (second - mean) / T
    omega = settings.omega_per_s
    if omega == 0.0:
        relaxation = static + 0j
    else:
        L = _rate_matrix(E, np.asarray(S2) / float(dipole_moment_D) ** 2, T, one_phonon_prefactor_per_s_K3(settings))
        sq = np.sqrt(pop)
        C = sq[..., :, None] * sq[..., None, :] * (Gt - g[..., :, None] - g[..., None, :] + mean[..., None, None])
        n = E.shape[-1]
        R = np.linalg.solve(L - 1j * omega * np.eye(n), L.astype(complex))
        relaxation = np.einsum("...mn,...nm->...", R, C) / T
    return Susceptibility(resonant=resonant, relaxation=relaxation, relaxation_static=static)


def two_level_susceptibility(delta_K, delta0_K, mu_squared_D2, temperature_K, settings, dipole_moment_D=None):
    """Closed-form STM 2LS susceptibility (D^2/K), ``mu^2 = <(p . e)^2>`` (``p^2/3`` isotropic).

    Resonant (static): ``2 mu^2 Delta0^2 tanh(E/2k_BT) / E^3``; relaxation:
    ``mu^2 (Delta/E)^2 sech^2(E/2k_BT) / (k_B T (1 - i omega tau))`` with the rate of
    :func:`two_level_relaxation_rate_per_s` (Phillips 1987; Hunklinger & Arnold 1976;
    physics.md section 8). At ``f > 0`` the resonant part is the Lorentzian Kubo form of the
    module docstring with ``|P_01|^2 = mu^2 Delta0^2 / E^2``.

    Parameters
    ----------
    delta_K, delta0_K : array_like
        Asymmetry and tunnelling splitting in K (broadcast).
    mu_squared_D2 : array_like
        Mean square dipole component along the field, D^2.
    temperature_K : array_like, shape (n_T,)
    settings : DielectricSettings

    Returns
    -------
    Susceptibility
        Parts of shape ``(..., n_T)``.
    """
    T = temperature_axis(temperature_K)
    d = np.asarray(delta_K, dtype=float)[..., None]
    d0 = np.asarray(delta0_K, dtype=float)[..., None]
    mu2 = np.asarray(mu_squared_D2, dtype=float)[..., None]
    E = np.hypot(d, d0)
    th = np.tanh(E / (2.0 * T))
    m01 = mu2 * (d0 / E) ** 2
    hf, gamma = settings.photon_energy_K, settings.linewidth_K
    if hf == 0.0 and gamma == 0.0:
        resonant = 2.0 * m01 * th / E + 0j
    else:
        resonant = m01 * th * (1.0 / (E - hf - 1j * gamma) + 1.0 / (E + hf + 1j * gamma))
    static = mu2 * (d / E) ** 2 * (1.0 - th**2) / T
    omega = settings.omega_per_s
    if omega == 0.0:
        relaxation = static + 0j
    else:
        rate = one_phonon_prefactor_per_s_K3(settings) * d0**2 * E / th
        relaxation = static / (1.0 - 1j * omega / rate)
    return Susceptibility(resonant=resonant, relaxation=relaxation, relaxation_static=static)


def free_energy_K(hamiltonian, temperature_K):
    """Free energy ``F = -k_B T ln Z`` in K of Hamiltonians ``(..., n, n)``, shape ``(..., n_T)``."""
    T = temperature_axis(temperature_K)
    levels = np.linalg.eigvalsh(np.asarray(hamiltonian))
    e0 = levels[..., :1]
    z = np.exp(-(levels[..., None, :] - e0[..., None, :]) / T[:, None]).sum(axis=-1)
    return e0 - T * np.log(z)
