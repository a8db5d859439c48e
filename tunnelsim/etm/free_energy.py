"""The field-induced free energy of the effective 2LS ensemble, whose ``-dF/dB`` are Eqs. 10 and 11."""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_positive_array
from ._gap import _PHI2_MAX, _check_model, _phase_sq, _unit_interval
from ._integrals import _raw_integral

__all__ = ["free_energy_shift_K_per_g"]


def free_energy_shift_K_per_g(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g,
                              u=1.0, charge_area_A2=None):
    """Field-induced free energy ``F(B) - F(0)`` of the effective 2LS ensemble, one orientation (K/g).

    ``F(B) - F(0) = -2 pi n_ATS P* T int dD0/D0 int_{D_min}^inf dD/D [ln cosh(E/2T) - ln cosh(D/2T)]``,
    reduced to ``E`` integrals: ``int_{E_c1}^inf g(E)/E h(E) dE - int_{D_min}^{E_c2} g(E)/E
    ln(w2/max(w1, sqrt(E^2 - D_min^2))) dE``, ``g = ln cosh(E/2T)``, ``h`` the half-braces of
    Eq. 10. Its ``-dF/dB`` is :func:`magnetization_eq10`; with ``charge_area_A2`` the gap is
    that of Eq. 11 and ``-dF/dB`` is :func:`magnetization_eq11`.

    Parameters
    ----------
    temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, u : array_like
        As :func:`magnetization_eq10`.
    charge_area_A2 : array_like, optional
        ``(Q/e) S_Delta`` (Å^2): use the Eq. 11 gap ``(D0 phi)^2 (1 - phi^2/27)`` (zero coupling
        for ``phi^2 >= 27``).

    Returns
    -------
    numpy.ndarray
        In K per gram (``F / k_B``); multiply by ``k_B`` for J/g.
    """
    extra = {"u": (u, _unit_interval)}
    if charge_area_A2 is not None:
        extra["charge_area_A2"] = (charge_area_A2, as_positive_array)
    shape, a = _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, **extra)
    scale = a["u"] * np.abs(a["field_T"])
    if charge_area_A2 is not None:
        phi2 = _phase_sq(a["field_T"], a["u"], a["charge_area_A2"])
        scale = scale * np.sqrt(np.clip(1.0 - phi2 / _PHI2_MAX, 0.0, None))
    phi_int = _raw_integral(a, "free", scale)
    return (-2.0 * math.pi * a["amplitude_per_g"] * a["temperature_K"] * phi_int).reshape(shape)
