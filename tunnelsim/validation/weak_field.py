"""Part c: Eq. 12 against the exact ``B = 0`` susceptibility, and the two limits of Eq. 13."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from .. import etm
from .._checks import as_positive_array
from ..ensemble import AveragingSettings, compute
from .curves import grid_axis
from .reference import GAP_A, GAP_B, ats_ensemble, exact_cutoffs
from .settings import Material, WeakFieldSettings

__all__ = ["WeakFieldResult", "check_weak_field", "tanh_integral_quad_per_K"]


@dataclass(frozen=True)
class WeakFieldResult:
    """Eq. 12 against the exact ``B = 0`` susceptibility, and the Eq. 13 limits.

    Attributes
    ----------
    temperature_K : numpy.ndarray
    susceptibility_eq12 : numpy.ndarray
        Eq. 12 (emu g^-1 Oe^-1).
    susceptibility_eq12_gap : numpy.ndarray
        Eq. 12 with ``D_min -> sqrt(2/3) D_min`` (the exact asymmetry splitting).
    susceptibility_exact, susceptibility_exact_error : numpy.ndarray
        Exact ensemble with the seed's parameters as given (``D_max`` of the material).
    susceptibility_exact_mapped, susceptibility_exact_mapped_error : numpy.ndarray
        Exact ensemble with mapped cutoffs.
    ratio_exact, ratio_exact_mapped : numpy.ndarray
        ``chi_exact / chi_Eq12`` for both.
    gap_prediction : numpy.ndarray
        ``(4/3) chi_Eq12_gap / chi_Eq12``: the ratio the leading-order gap mapping predicts.
    d0_factor : numpy.ndarray
        ``chi_exact / chi_Eq12_gap``; tends to 4/3 as ``T/D0 -> 0``.
    D0_range_K : tuple
        ``(D0_min, D0_max)`` of the unmapped exact ensemble.
    eq13_temperature_K : numpy.ndarray
    tanh_integral_per_K : numpy.ndarray
        ``I(T) = int_{D_min}^inf tanh(E/2T) dE/E^2`` (:func:`~tunnelsim.etm.tanh_integral_per_K`).
    tanh_integral_quad_per_K : numpy.ndarray
        The same by :func:`scipy.integrate.quad` in ``ln E`` (independent check).
    low_T_limit_per_K, high_T_limit_per_K, high_T_seed_per_K : numpy.ndarray
        ``1/D_min``; ``[ln(2T/D_min) + c]/(2T)``; the seed's ``1/(2T)``.
    high_temperature_constant : float
        ``c`` (:func:`~tunnelsim.etm.high_temperature_constant`).
    """

    temperature_K: np.ndarray
    susceptibility_eq12: np.ndarray
    susceptibility_eq12_gap: np.ndarray
    susceptibility_exact: np.ndarray
    susceptibility_exact_error: np.ndarray
    susceptibility_exact_mapped: np.ndarray
    susceptibility_exact_mapped_error: np.ndarray
    ratio_exact: np.ndarray
    ratio_exact_mapped: np.ndarray
    gap_prediction: np.ndarray
    d0_factor: np.ndarray
    D0_range_K: tuple
    eq13_temperature_K: np.ndarray
    tanh_integral_per_K: np.ndarray
    tanh_integral_quad_per_K: np.ndarray
    low_T_limit_per_K: np.ndarray
    high_T_limit_per_K: np.ndarray
    high_T_seed_per_K: np.ndarray
    high_temperature_constant: float

    def relative_errors(self):
        """``limit / I - 1`` of the low-T, corrected high-T and seed high-T forms of Eq. 13."""
        I = self.tanh_integral_per_K
        return (self.low_T_limit_per_K / I - 1.0, self.high_T_limit_per_K / I - 1.0, self.high_T_seed_per_K / I - 1.0)


def tanh_integral_quad_per_K(temperature_K, D_min_K):
    """``int_{D_min}^inf tanh(E/2T) dE/E^2`` by adaptive quadrature in ``ln E`` (independent of etm).

    Beyond ``E_c = max(D_min, 40 T)`` ``tanh = 1`` to 1e-17 and the tail is ``1/E_c``.
    """
    out = []
    for T in np.atleast_1d(as_positive_array(temperature_K, "temperature_K")):
        E_c = max(D_min_K, 40.0 * T)
        value = 1.0 / E_c
        if E_c > D_min_K:
            value += integrate.quad(lambda s, T=T: math.tanh(math.exp(s) / (2.0 * T)) * math.exp(-s),
                                    math.log(D_min_K), math.log(E_c), epsabs=0.0, epsrel=1e-12, limit=200)[0]
        out.append(value)
    return np.array(out)


def check_weak_field(material=Material(), settings=WeakFieldSettings()):
    """Part c: Eq. 12 against the exact ensemble's ``B = 0`` susceptibility; Eq. 13's limits.

    The exact ``chi = dM/dH`` at ``B = 0`` comes from :func:`~tunnelsim.ensemble.compute`
    (``"susceptibility"``), for the seed's parameters as given and for the mapped cutoffs.
    The D0 factor ``chi_exact / chi_Eq12(D_min -> sqrt(2/3) D_min)`` isolates the ``(4/3)``
    of the ``D0`` mapping (module docstring). Eq. 13's limits are compared with the integral
    ``I(T)`` of Eq. 12, itself checked against an independent adaptive quadrature.

    Returns
    -------
    WeakFieldResult
    """
    T = grid_axis(settings.temperature_K, "temperature_K")
    T13 = grid_axis(settings.eq13_temperature_K, "eq13_temperature_K")
    Dmin, qs1, qs2 = material.eq10_args()
    amp = material.amplitude_per_g
    chi12 = etm.susceptibility_eq12_emu_per_g_Oe(T, Dmin, qs1, qs2, amp)
    chi12_gap = etm.susceptibility_eq12_emu_per_g_Oe(T, math.sqrt(GAP_A) * Dmin, qs1, qs2, amp)
    avg = AveragingSettings(error_estimate=settings.error_estimate)
    chis = {}
    for mapped in (False, True):
        c = exact_cutoffs(material, material.charge_area_A2, mapped, material.D_max_K)
        res = compute(ats_ensemble(material, material.charge_area_A2, **c), T, [0.0],
                      observables=("susceptibility",), settings=avg)
        chis[mapped] = (res.values["susceptibility"][:, 0], res.errors["susceptibility"][:, 0])
    I = etm.tanh_integral_per_K(T13, Dmin)
    return WeakFieldResult(
        temperature_K=T, susceptibility_eq12=chi12, susceptibility_eq12_gap=chi12_gap,
        susceptibility_exact=chis[False][0], susceptibility_exact_error=chis[False][1],
        susceptibility_exact_mapped=chis[True][0], susceptibility_exact_mapped_error=chis[True][1],
        ratio_exact=chis[False][0] / chi12, ratio_exact_mapped=chis[True][0] / chi12,
        gap_prediction=GAP_B * chi12_gap / chi12, d0_factor=chis[False][0] / chi12_gap,
        D0_range_K=material.D0_range_K(), eq13_temperature_K=T13, tanh_integral_per_K=I,
        tanh_integral_quad_per_K=tanh_integral_quad_per_K(T13, Dmin),
        low_T_limit_per_K=np.broadcast_to(etm.tanh_integral_low_temperature_limit_per_K(Dmin), T13.shape).copy(),
        high_T_limit_per_K=etm.tanh_integral_high_temperature_limit_per_K(T13, Dmin),
        high_T_seed_per_K=etm.tanh_integral_high_temperature_seed_per_K(T13),
        high_temperature_constant=float(etm.high_temperature_constant()),
    )
