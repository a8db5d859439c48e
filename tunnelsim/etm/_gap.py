"""The effective gap of the ETM (Section B) and the checked model arguments.

The ATS of Eq. 8 become effective two-level systems with gap ``E^2 = D^2 + w^2``,
``w = D0 phi u`` (Eq. 7, ``u = cos(theta)``), and with Eq. 11 ``w^2 -> w^2 (1 - phi^2/27)``. The
cutoffs ``E_c1,2 = sqrt(D_min^2 + w_1,2^2)`` of Eq. 10 follow from ``D_min`` and the couplings
``w_1,2`` of ``D0_min,max``. Only the products ``D0QS = D0 (Q/e) S_Delta`` (K Å^2) enter ``w``;
``phi`` itself needs ``(Q/e) S_Delta``.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_positive_array, as_real_array, broadcast_batch
from ..units import phase_per_tesla

_PHI2_MAX = 27.0  # phi^2 (1 - phi^2/27) vanishes here: the Eq. 11 gap has no meaning beyond


def _w_per_tesla(D0QS_K_A2):
    """``D0 phi / (u B)`` in K/T for a product ``D0 (Q/e) S`` in K Å^2 (Eq. 7)."""
    return D0QS_K_A2 * phase_per_tesla(1.0)


def _phase_sq(field_T, u, charge_area_A2):
    """``phi^2`` of Eq. 7 at ``u B`` (T) for ``(Q/e) S_Delta`` in Å^2."""
    return (phase_per_tesla(charge_area_A2) * u * field_T) ** 2


def _check_model(temperature_K, field_T, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g, **extra):
    """Validate and broadcast the common arguments; returns (shape, dict of flat arrays)."""
    arrays = {
        "temperature_K": as_positive_array(temperature_K, "temperature_K"),
        "field_T": as_real_array(field_T, "field_T"),
        "D_min_K": as_positive_array(D_min_K, "D_min_K"),
        "D0QS_min_K_A2": as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2"),
        "D0QS_max_K_A2": as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2"),
        "amplitude_per_g": as_positive_array(amplitude_per_g, "amplitude_per_g", allow_zero=True),
    }
    for name, (value, check) in extra.items():
        arrays[name] = check(value, name)
    if np.any(arrays["D0QS_max_K_A2"] <= arrays["D0QS_min_K_A2"]):
        raise ValueError("D0QS_max_K_A2 must exceed D0QS_min_K_A2 (the D0 distribution needs D0_max > D0_min)")
    shape = broadcast_batch(**{k: np.shape(v) for k, v in arrays.items()})
    return shape, {k: np.broadcast_to(v, shape).ravel() for k, v in arrays.items()}


def _unit_interval(value, name):
    arr = as_real_array(value, name)
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError(f"{name} must lie in [0, 1] (cos of the angle to the loop normal)")
    return arr
