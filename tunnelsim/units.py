"""Physical constants and unit conversions.

Every constant used by tunnelsim lives here and comes from :mod:`scipy.constants`
(CODATA). Internal units (see ``physics.md``):

* energies in kelvin (``E / k_B``),
* magnetic field in tesla (``B = mu0 H``; 1 T corresponds to 10 kOe),
* charge times loop area ``(Q/e) S_Delta`` in square angstrom,
* magnetisation in J/T per gram (1 emu = 1e-3 J/T),
* susceptibility in emu g^-1 Oe^-1, as in the seed's tables.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import constants as _c

#: Boltzmann constant, J/K.
K_B_J_PER_K = _c.k
#: Bohr magneton, J/T.
MU_B_J_PER_T = _c.physical_constants["Bohr magneton"][0]
#: Planck constant, J s.
H_PLANCK_J_S = _c.h
#: Elementary charge, C.
E_CHARGE_C = _c.e
#: Electron flux quantum h/e in T m^2 (Eq. 7's phi_0).
PHI0_T_M2 = _c.h / _c.e
#: Electron flux quantum h/e in T Å^2 (about 4.1357e5).
PHI0_T_A2 = PHI0_T_M2 * 1e20
#: Bohr magneton over Boltzmann constant, K/T.
MU_B_K_PER_T = MU_B_J_PER_T / K_B_J_PER_K
#: Oersted per tesla for B = mu0 H in vacuum (CGS: 1 G = 1 Oe).
OE_PER_T = 1e4
#: emu per J/T.
EMU_PER_J_PER_T = 1e3

# Settings of the seed's model, defined here once and imported wherever they are defaults.
#: The seed's "in practice P* is of order 1/2 pi" (Section B): the default setting of P* in Eq. 8.
DEFAULT_P_STAR = 1.0 / (2.0 * math.pi)
#: Reference temperature of Eq. 15 at which the seed's fitted parameters hold (K).
DEFAULT_T0_K = 1.26


def kelvin_to_joule(energy_K):
    """Convert an energy from kelvin (E / k_B) to joule."""
    return np.asarray(energy_K, dtype=float) * K_B_J_PER_K


def joule_to_kelvin(energy_J):
    """Convert an energy from joule to kelvin (E / k_B)."""
    return np.asarray(energy_J, dtype=float) / K_B_J_PER_K


def tesla_to_oe(field_T):
    """Convert a field B = mu0 H in tesla to H in oersted (1 T -> 1e4 Oe)."""
    return np.asarray(field_T, dtype=float) * OE_PER_T


def oe_to_tesla(field_Oe):
    """Convert H in oersted to B = mu0 H in tesla (1e4 Oe -> 1 T)."""
    return np.asarray(field_Oe, dtype=float) / OE_PER_T


def j_per_t_to_emu(moment_J_per_T):
    """Convert a magnetic moment (or moment per gram) from J/T to emu."""
    return np.asarray(moment_J_per_T, dtype=float) * EMU_PER_J_PER_T


def emu_to_j_per_t(moment_emu):
    """Convert a magnetic moment (or moment per gram) from emu to J/T."""
    return np.asarray(moment_emu, dtype=float) / EMU_PER_J_PER_T


def kelvin_per_tesla_to_emu(moment_K_per_T):
    """Convert a moment -dF/dB with F in kelvin and B in tesla to emu.

    ``-dF/dB`` in K/T times ``k_B`` is J/T; times 1e3 is emu.
    """
    return np.asarray(moment_K_per_T, dtype=float) * K_B_J_PER_K * EMU_PER_J_PER_T


def kelvin_per_tesla2_to_emu_per_oe(chi_K_per_T2):
    """Convert ``dM/dB`` with M in K/T and B in tesla to emu per oersted.

    ``dM/dH[emu/Oe] = dM/dB[K/T^2] * k_B * 1e3 / 1e4``.
    """
    return np.asarray(chi_K_per_T2, dtype=float) * K_B_J_PER_K * EMU_PER_J_PER_T / OE_PER_T


def phase_per_tesla(charge_area_A2, cos_theta=1.0):
    """Aharonov-Bohm phase per tesla, Eq. 7.

    ``phi = 2 pi Phi / Phi_0`` with ``Phi = B S_Delta cos(theta)`` and
    ``Phi_0 = h / Q = phi_0 e / Q``, so ``phi / B = 2 pi (Q/e) S_Delta cos(theta) / phi_0``.

    Parameters
    ----------
    charge_area_A2 : array_like
        ``(Q/e) S_Delta`` in square angstrom.
    cos_theta : array_like, optional
        Cosine of the angle between the field and the loop normal.

    Returns
    -------
    numpy.ndarray
        ``dphi/dB`` in rad per tesla.
    """
    return 2.0 * math.pi * np.asarray(charge_area_A2, dtype=float) * np.asarray(
        cos_theta, dtype=float
    ) / PHI0_T_A2


def ab_phase(field_T, cos_theta, charge_area_A2):
    """Aharonov-Bohm phase ``phi`` (rad) of Eq. 7 for a field, orientation and ``(Q/e) S``.

    Parameters
    ----------
    field_T : array_like
        Field ``B = mu0 H`` in tesla.
    cos_theta : array_like
        Cosine of the angle between the field and the loop normal.
    charge_area_A2 : array_like
        ``(Q/e) S_Delta`` in square angstrom.
    """
    return np.asarray(field_T, dtype=float) * phase_per_tesla(charge_area_A2, cos_theta)


def phase_field_scale_T(charge_area_A2):
    """Field ``B_phi = phi_0 / (2 pi (Q/e) S_Delta)`` in tesla at which ``phi = 1`` for ``u = 1``.

    This is the natural scale of the seed's B* in Eq. 11 (physics.md section 5).
    """
    charge_area_A2 = np.asarray(charge_area_A2, dtype=float)
    return PHI0_T_A2 / (2.0 * math.pi * charge_area_A2)


# --------------------------------------------------------------------------- dielectric units
#: One debye in C m (1e-21 / c, exactly, from the CGS definition 1e-18 statC cm).
DEBYE_C_M = 1e-21 / _c.c
#: Vacuum permittivity, F/m.
EPS0_F_PER_M = _c.epsilon_0
#: Reduced Planck constant, J s.
HBAR_J_S = _c.hbar
#: Energy of one debye in a field of 1 V/m, in kelvin (``p F / k_B``).
DEBYE_V_PER_M_K = DEBYE_C_M / K_B_J_PER_K


def susceptibility_to_permittivity(chi_D2_per_K_per_g, density_g_cm3, eps_r):
    """Convert a susceptibility per gram ``d<P>/dF`` in D^2/K g^-1 to ``Delta eps / eps_r``.

    ``Delta eps / eps_r = n chi / (eps0 eps_r)`` with ``chi`` in C^2 m^2 / J per system and ``n`` per
    volume: ``D^2 -> (DEBYE_C_M)^2``, ``1/K -> 1/k_B``, ``g^-1 -> g^-1 * rho[g/m^3]``.

    Parameters
    ----------
    chi_D2_per_K_per_g : array_like
        Susceptibility density in debye^2 per kelvin per gram.
    density_g_cm3 : float
        Mass density in g/cm^3.
    eps_r : float
        Background relative permittivity.
    """
    per_volume = np.asarray(chi_D2_per_K_per_g, dtype=float) * (float(density_g_cm3) * 1e6)
    return per_volume * DEBYE_C_M**2 / K_B_J_PER_K / (EPS0_F_PER_M * float(eps_r))
