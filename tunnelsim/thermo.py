"""Equilibrium thermodynamics of batched quantum systems over a temperature axis.

From levels ``E_n`` (K) and the field couplings of a :class:`~tunnelsim.spectra.Spectrum`,
for temperatures ``T`` (K), all in units of ``k_B`` (energies in K, entropy and heat
capacity in units of ``k_B``):

* ``ln Z = -E_0/T + ln sum_n exp(-(E_n - E_0)/T)`` -- shifted by the ground level, so nothing
  overflows from 1e-4 K to 1e4 K whatever the level spread; the shifted sum is ``1 + r`` and its
  logarithm ``log1p(r)``, so the entropy keeps full relative accuracy when it is exponentially small;
* ``F = -T ln Z``, ``U = <E>``, ``S = (U - F)/T``, ``C = dU/dT = (<E^2> - <E>^2)/T^2``;
* ``M = -dF/dlambda = -<dH/dlambda>`` (basis independent, exact at degeneracies);
* ``chi = dM/dlambda = -d2F/dlambda2
  = -<d2H> + sum_nm |<n|dH|m>|^2 w_nm - <dH>^2 / T`` with
  ``w_nm = (p_m - p_n)/(E_n - E_m)`` and ``w_nn = p_n / T`` (Kubo / Bogoliubov form: van Vleck
  plus Curie terms, exact at ``lambda = 0`` and at degeneracies, no division by the field).

Outputs have the batch shape of the levels followed by the temperature axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import temperature_axis
from .spectra import Spectrum

__all__ = ["Thermodynamics", "boltzmann_weights", "thermodynamics"]


@dataclass(frozen=True)
class Thermodynamics:
    """Thermodynamic functions of a batch, shape ``batch + (n_temperature,)``.

    Attributes
    ----------
    temperature_K : numpy.ndarray
        The temperature axis.
    log_partition : numpy.ndarray
        ``ln Z``.
    free_energy_K, internal_energy_K : numpy.ndarray
        ``F`` and ``U`` in K.
    entropy, heat_capacity : numpy.ndarray
        ``S`` and ``C`` in units of ``k_B``.
    magnetization : numpy.ndarray or None
        ``-dF/dlambda`` in K per unit of ``lambda`` (None without slopes).
    susceptibility : numpy.ndarray or None
        ``-d2F/dlambda2`` in K per unit of ``lambda^2`` (None without couplings).
    """

    temperature_K: np.ndarray
    log_partition: np.ndarray
    free_energy_K: np.ndarray
    internal_energy_K: np.ndarray
    entropy: np.ndarray
    heat_capacity: np.ndarray
    magnetization: np.ndarray | None = None
    susceptibility: np.ndarray | None = None


def boltzmann_weights(levels, temperature_K):
    """Occupation probabilities and the shifted log partition function.

    Parameters
    ----------
    levels : array_like, shape (..., n)
        Energies in K.
    temperature_K : array_like, shape (n_T,)
        Temperatures in K, all > 0.

    Returns
    -------
    p : numpy.ndarray, shape (..., n_T, n)
        ``exp(-E_n/T) / Z``.
    log_z : numpy.ndarray, shape (..., n_T)
        ``ln Z``.
    """
    T = temperature_axis(temperature_K)
    p, log_z_shifted, e0 = _shifted_weights(levels, T)
    return p, log_z_shifted - e0 / T


def _shifted_weights(levels, T):
    """Weights, ``ln Z' = ln sum_n exp(-(E_n - E_0)/T)`` and ``E_0`` (shape ``(..., 1)``).

    ``Z' = 1 + r`` with ``r`` the sum over every level but one ground level, and
    ``ln Z' = log1p(r)``: at low temperature ``r`` is far below the rounding of ``1 + r``, and
    ``ln(1 + r)`` would lose it (the entropy ``ln Z' + <E - E_0>/T`` would lose its first term).
    """
    E = np.asarray(levels, dtype=float)
    if not np.all(np.isfinite(E)):
        raise ValueError("levels must be finite (no NaN or inf)")
    if E.ndim < 1 or E.shape[-1] < 1:
        raise ValueError(f"levels must have a last axis with at least one level, got shape {E.shape}")
    ground = np.argmin(E, axis=-1)[..., None]
    e0 = np.take_along_axis(E, ground, axis=-1)
    x = -(E - e0)[..., None, :] / T[:, None]  # (..., n_T, n), all <= 0
    w = np.exp(x)
    is_ground = np.arange(E.shape[-1]) == ground[..., None, :]  # (..., 1, n)
    rest = np.sum(np.where(is_ground, 0.0, w), axis=-1)
    p = w / (1.0 + rest)[..., None]
    return p, np.log1p(rest), e0


def _kubo_response(levels, coupling2, p, T):
    """``sum_nm |<n|dH|m>|^2 w_nm`` with ``w_nm = (p_m - p_n)/(E_n - E_m)``, ``w_nn = p_n / T``.

    Each pair is written as ``max(p_n, p_m) f(|E_n - E_m| / T) / T`` with
    ``f(y) = (1 - e^{-y})/y``, ``f(0) = 1``, which never divides by a small gap nor overflows;
    only the pairs ``n < m`` are evaluated (the weights are symmetric).
    """
    n = levels.shape[-1]
    diag = np.diagonal(coupling2, axis1=-2, axis2=-1)[..., None, :]  # (..., 1, n)
    response = np.sum(diag * p, axis=-1)
    iu, ju = np.triu_indices(n, 1)
    if iu.size:
        gap = np.abs(levels[..., ju] - levels[..., iu])[..., None, :] / T[:, None]  # (..., n_T, pairs)
        small = gap < 1e-8
        safe = np.where(small, 1.0, gap)
        f = np.where(small, 1.0 - 0.5 * gap, -np.expm1(-safe) / safe)
        pmax = np.maximum(p[..., iu], p[..., ju])
        pair = coupling2[..., iu, ju][..., None, :]
        response = response + 2.0 * np.sum(pair * pmax * f, axis=-1)
    return response / T


def thermodynamics(spectrum, temperature_K):
    """Thermodynamic functions of every instance of a spectrum at every temperature.

    Parameters
    ----------
    spectrum : Spectrum
        Levels (K) and, optionally, slopes, couplings and curvatures with respect to the
        field parameter ``lambda``.
    temperature_K : array_like
        Temperatures in K (scalar or 1-D), all > 0.

    Returns
    -------
    Thermodynamics
        Arrays of shape ``levels.shape[:-1] + (n_T,)``.
    """
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    T = temperature_axis(temperature_K)
    E = np.asarray(spectrum.levels, dtype=float)
    p, log_z_shifted, e0 = _shifted_weights(E, T)
    log_z = log_z_shifted - e0 / T
    excess = (E - e0)[..., None, :]  # (..., 1, n), >= 0: no cancellation against E_0
    mean_excess = np.sum(p * excess, axis=-1)
    F = -T * log_z
    U = e0 + mean_excess
    C = np.sum(p * (excess - mean_excess[..., None]) ** 2, axis=-1) / T**2
    S = log_z_shifted + mean_excess / T  # ln Z' + <E - E_0>/T, no cancellation against E_0/T
    M = chi = None
    if spectrum.slopes is not None:
        slopes = np.asarray(spectrum.slopes)[..., None, :]
        mean_slope = np.sum(p * slopes, axis=-1)
        M = -mean_slope
        if spectrum.coupling2 is not None:
            response = _kubo_response(E, np.asarray(spectrum.coupling2), p, T)
            chi = response - mean_slope**2 / T
            if spectrum.curvature is not None:
                chi = chi - np.sum(p * np.asarray(spectrum.curvature)[..., None, :], axis=-1)
    return Thermodynamics(
        temperature_K=T,
        log_partition=log_z,
        free_energy_K=F,
        internal_energy_K=U,
        entropy=S,
        heat_capacity=C,
        magnetization=M,
        susceptibility=chi,
    )
