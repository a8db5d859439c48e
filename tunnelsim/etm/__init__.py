"""The seed's analytic Extended Tunnelling Model (Section B, Eqs. 10-16 and 18).

Conventions: energies in K, field ``B`` in T, ``(Q/e) S_Delta`` in Å^2, magnetisation in
emu/g, susceptibilities in emu g^-1 Oe^-1. The ATS of Eq. 8 are replaced by effective
two-level systems with levels ``+-E/2``, ``E^2 = D^2 + (D0 phi)^2``, distributed as
``P* dalpha dD/D dD0/D0`` (Eq. 8 in polar coordinates; ``D_max -> inf``), with the Eq. 7 phase

    D0 phi = 2 pi (D0 (Q/e) S_Delta) u B / phi_0 = w,    u = cos(theta).

Only the products ``D0QS = D0 (Q/e) S_Delta`` (the seed's Table 3 fits them) and the amplitude
``n_ATS P*`` enter Eq. 10; Eq. 11 also needs ``(Q/e) S_Delta`` itself through ``phi``.

Corrections of the seed (see the docstrings):

* Eq. 10: the first integral runs from ``E_c1`` to ``E_c2`` (printed ``E_c1`` to ``E_c1``),
  ``E_c1,2 = sqrt(D_min^2 + (D0_min,max phi)^2)`` (printed ``D_0min phi^2``, unsquared ``D0``), and
  the prefactor is ``pi P* n_ATS / (2 B)``: the printed ``pi P* n_ATS / B`` is twice the
  ensemble average of the effective 2LS, while ``pi/(2B)`` is what Eq. 12 (as printed) follows from.
* Eq. 13: the high-temperature limit keeps a logarithm,
  ``int_{D_min}^inf tanh(E/2T) dE/E^2 -> [ln(2T/D_min) + c]/(2T)``, ``c`` from
  :func:`high_temperature_constant`; the seed prints ``1/(2T)``.
* Eq. 11's shortcut ``(1 - (B/B*)^2/54)/B`` leaves ``B*`` undefined; its small-field
  coefficient is not that of the orientation average of ``phi^2 -> phi^2 (1 - phi^2/27)``
  (see :func:`magnetization_etm_shortcut`).

The modules: ``_gap`` (the effective gap, its couplings and the checked model arguments) and
``_integrals`` (the ``E`` integrals of Eq. 10 by fixed Gauss-Legendre rules, batched);
:mod:`~tunnelsim.etm.eq10` (Eq. 10 per orientation, its orientation average and the direct
effective-2LS quadrature it is the closed form of); :mod:`~tunnelsim.etm.eq11` (the high-field
Eq. 11: modified gap, orientation average, sign change, the seed's shortcut);
:mod:`~tunnelsim.etm.free_energy` (the free energy whose ``-dF/dB`` they are);
:mod:`~tunnelsim.etm.weak_field` (Eqs. 12-14 and 18); :mod:`~tunnelsim.temperature_dependence`
(Eqs. 15, 16 and the parameter scaling); :mod:`~tunnelsim.etm.analytic` (the runner's
(temperature, field) grids). This package re-exports the public names of all of them.
"""

from .analytic import ANALYTIC_NAMES, analytic_magnetization
from .eq10 import (
    EQ10_PREFACTORS,
    eq10_integrals_K,
    effective_two_level_magnetization,
    magnetization_eq10,
    magnetization_etm,
)
from .eq11 import (
    high_field_sign_change_T,
    magnetization_eq11,
    magnetization_etm_high_field,
    magnetization_etm_shortcut,
)
from .free_energy import free_energy_shift_K_per_g
from ..temperature_dependence import (
    ScaledParameters,
    scale_parameters_by_ratio,
    scaled_parameters,
    tunnelling_number_ratio,
    tunnelling_number_ratio_activated,
)
from .weak_field import (
    curie_product_eq18_emu_K_per_g_Oe,
    etm_G_emu_K_per_g_Oe,
    high_temperature_constant,
    susceptibility_eq12_emu_per_g_Oe,
    susceptibility_eq14_emu_per_g_Oe,
    tanh_integral_high_temperature_limit_per_K,
    tanh_integral_high_temperature_seed_per_K,
    tanh_integral_low_temperature_limit_per_K,
    tanh_integral_per_K,
)

__all__ = [
    "EQ10_PREFACTORS",
    "ANALYTIC_NAMES",
    "ScaledParameters",
    "analytic_magnetization",
    "curie_product_eq18_emu_K_per_g_Oe",
    "effective_two_level_magnetization",
    "eq10_integrals_K",
    "etm_G_emu_K_per_g_Oe",
    "free_energy_shift_K_per_g",
    "high_field_sign_change_T",
    "high_temperature_constant",
    "magnetization_eq10",
    "magnetization_eq11",
    "magnetization_etm",
    "magnetization_etm_high_field",
    "magnetization_etm_shortcut",
    "scaled_parameters",
    "scale_parameters_by_ratio",
    "susceptibility_eq12_emu_per_g_Oe",
    "susceptibility_eq14_emu_per_g_Oe",
    "tanh_integral_high_temperature_limit_per_K",
    "tanh_integral_high_temperature_seed_per_K",
    "tanh_integral_low_temperature_limit_per_K",
    "tanh_integral_per_K",
    "tunnelling_number_ratio",
    "tunnelling_number_ratio_activated",
]
