"""The weak-field ETM: Eq. 12 (``chi_ATS = G I(T)``), its Eq. 13 limits, Eq. 14 and the Curie product Eq. 18.

All share ``I(T) = int_{D_min}^inf tanh(E/2T) dE/E^2`` (:func:`tanh_integral_per_K`) and the
amplitude ``G`` (:func:`etm_G_emu_K_per_g_Oe`). Correction of the seed: the Eq. 13
high-temperature limit keeps a logarithm, ``I -> [ln(2T/D_min) + c]/(2T)`` with ``c`` from
:func:`high_temperature_constant` (computed by ``quad``); the seed prints ``1/(2T)``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate

from .._checks import as_positive_array, as_real_array, broadcast_batch
from ..units import kelvin_per_tesla2_to_emu_per_oe, phase_per_tesla
from ._integrals import _gauss_legendre

__all__ = [
    "curie_product_eq18_emu_K_per_g_Oe",
    "etm_G_emu_K_per_g_Oe",
    "high_temperature_constant",
    "susceptibility_eq12_emu_per_g_Oe",
    "susceptibility_eq14_emu_per_g_Oe",
    "tanh_integral_high_temperature_limit_per_K",
    "tanh_integral_high_temperature_seed_per_K",
    "tanh_integral_low_temperature_limit_per_K",
    "tanh_integral_per_K",
]


@functools.lru_cache(maxsize=None)
def high_temperature_constant():
    """``c = int_0^1 (tanh x - x)/x^2 dx + int_1^inf tanh(x)/x^2 dx`` (about 0.7905), by ``quad``.

    The constant of the corrected Eq. 13 high-temperature limit; computed on first use.
    """

    def inner(x):
        return (math.tanh(x) - x) / x**2 if x > 1e-4 else -x / 3.0

    def decaying(x):  # (1 - tanh x)/x^2 without overflow
        e = math.exp(-2.0 * x)
        return 2.0 * e / (1.0 + e) / x**2

    first = integrate.quad(inner, 0.0, 1.0, epsabs=0.0, epsrel=1e-12)[0]
    # int_1^inf tanh/x^2 = 1 - int_1^inf (1 - tanh x)/x^2
    tail = integrate.quad(decaying, 1.0, np.inf, epsabs=0.0, epsrel=1e-12)[0]
    return first + 1.0 - tail


def _tanh_over_square_integral(x0):
    """``J(x0) = int_{x0}^inf tanh(s)/s^2 ds`` for an array ``x0 > 0`` (fixed Gauss rules).

    ``x0 >= 1``: ``J = (1/x0) int_0^1 tanh(x0/v) dv`` on geometric panels in ``v`` (the
    integrand is 1 to 1e-14 below ``v = 1/16``). ``x0 < 1``:
    ``J = ln(1/x0) + int_{x0}^1 (tanh s - s)/s^2 ds + J(1)``.
    """
    x, w = _gauss_legendre(24)
    edges = np.array([1.0 / 16, 1.0 / 8, 0.25, 0.5, 1.0])
    v = (edges[:-1, None] + np.diff(edges)[:, None] * x).ravel()
    wv = (np.diff(edges)[:, None] * w).ravel()

    def large(y):
        return (edges[0] + np.tanh(y[..., None] / v) @ wv) / y

    x0 = np.asarray(x0, dtype=float)
    big = np.maximum(x0, 1.0)
    small = np.minimum(x0, 1.0)
    s = small[..., None] + (1.0 - small[..., None]) * x
    inner = (np.tanh(s) - s) / s**2 @ w * (1.0 - small)
    return np.where(x0 >= 1.0, large(big), -np.log(small) + inner + large(np.ones(())))


def tanh_integral_per_K(temperature_K, D_min_K):
    """``I(T) = int_{D_min}^inf dE/E^2 tanh(E/2T)`` in 1/K (Eqs. 12, 14, 18).

    Written as ``J(D_min/2T)/(2T)``, ``J(x0) = int_{x0}^inf tanh(s)/s^2 ds``, evaluated with
    fixed Gauss rules (vectorised; relative accuracy about 1e-13).

    Parameters
    ----------
    temperature_K, D_min_K : array_like
        Broadcast together (K, > 0).

    Returns
    -------
    numpy.ndarray
    """
    T = as_positive_array(temperature_K, "temperature_K")
    Dm = as_positive_array(D_min_K, "D_min_K")
    broadcast_batch(temperature_K=T.shape, D_min_K=Dm.shape)
    return _tanh_over_square_integral(0.5 * Dm / T) / (2.0 * T)


def tanh_integral_low_temperature_limit_per_K(D_min_K):
    """Eq. 13, ``T << D_min``: ``I -> 1/D_min`` (as printed; correct)."""
    return 1.0 / as_positive_array(D_min_K, "D_min_K")


def tanh_integral_high_temperature_limit_per_K(temperature_K, D_min_K):
    """Eq. 13, ``T >> D_min``, corrected: ``I -> [ln(2T/D_min) + c]/(2T)``, ``c`` = :func:`high_temperature_constant`.

    The relative error of this limit falls as ``(D_min/2T)^2 / ln(2T/D_min)``.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    Dm = as_positive_array(D_min_K, "D_min_K")
    return (np.log(2.0 * T / Dm) + high_temperature_constant()) / (2.0 * T)


def tanh_integral_high_temperature_seed_per_K(temperature_K):
    """Eq. 13, ``T >> D_min``, as printed in the seed: ``I -> 1/(2T)`` (drops the logarithm)."""
    return 0.5 / as_positive_array(temperature_K, "temperature_K")


def etm_G_emu_K_per_g_Oe(D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g):
    """``G`` of Eqs. 12, 14, 18: ``chi_ATS = G I(T)``, in emu K g^-1 Oe^-1.

    ``G = (2/3) pi^3 n_ATS P* (D0QS_max^2 - D0QS_min^2) / phi_0^2`` (Eq. 12, with ``<u^2> = 1/3``;
    consistent with Eq. 10's prefactor ``pi/(2B)``), converted from K/T^2 to emu/Oe.
    """
    a1 = as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2")
    a2 = as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2")
    amp = as_positive_array(amplitude_per_g, "amplitude_per_g", allow_zero=True)
    if np.any(a2 <= a1):
        raise ValueError("D0QS_max_K_A2 must exceed D0QS_min_K_A2")
    p = phase_per_tesla(1.0)
    return kelvin_per_tesla2_to_emu_per_oe(math.pi / 6.0 * amp * p**2 * (a2 - a1) * (a2 + a1))


def susceptibility_eq12_emu_per_g_Oe(temperature_K, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g):
    """Eq. 12: weak-field ATS susceptibility ``G I(T)`` (emu g^-1 Oe^-1), orientation averaged."""
    return etm_G_emu_K_per_g_Oe(D0QS_min_K_A2, D0QS_max_K_A2, amplitude_per_g) * tanh_integral_per_K(
        temperature_K, D_min_K)


def susceptibility_eq14_emu_per_g_Oe(temperature_K, chi_L_emu_per_g_Oe, curie_C_emu_K_per_g_Oe,
                                     G_emu_K_per_g_Oe, D_min_K):
    """Eq. 14: ``chi = -chi_L + C/T + G I(T)`` (emu g^-1 Oe^-1)."""
    T = as_positive_array(temperature_K, "temperature_K")
    chi_L = as_real_array(chi_L_emu_per_g_Oe, "chi_L_emu_per_g_Oe")
    C = as_real_array(curie_C_emu_K_per_g_Oe, "curie_C_emu_K_per_g_Oe")
    G = as_real_array(G_emu_K_per_g_Oe, "G_emu_K_per_g_Oe")
    return -chi_L + C / T + G * tanh_integral_per_K(T, D_min_K)


def curie_product_eq18_emu_K_per_g_Oe(temperature_K, curie_C_emu_K_per_g_Oe, G_emu_K_per_g_Oe, D_min_K):
    """Eq. 18: ``T (chi - chi_L) = C + G T I(T)`` (emu K g^-1 Oe^-1; ``chi_L`` with its sign).

    Tends to ``C + (G/D_min) T`` for ``T << D_min`` and grows like ``(G/2) ln(2T/D_min)`` above.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    C = as_real_array(curie_C_emu_K_per_g_Oe, "curie_C_emu_K_per_g_Oe")
    G = as_real_array(G_emu_K_per_g_Oe, "G_emu_K_per_g_Oe")
    return C + G * T * tanh_integral_per_K(T, D_min_K)
