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

Two evaluation paths give the same numbers (to 1e-12 relative, tested): ``method="fast"``
(default) evaluates each function in one compiled pass per instance
(:func:`tunnelsim.kernels.thermal_observable`) when it is first read, so a caller that needs only
the magnetisation pays only for it; ``method="numpy"`` is the reference, batched numpy evaluating
everything at once.
"""

from __future__ import annotations

import numpy as np

from ._checks import temperature_axis
from .spectra import Spectrum

__all__ = ["FUNCTION_NAMES", "Thermodynamics", "boltzmann_weights", "thermodynamics"]


#: Names of the thermodynamic functions a :class:`Thermodynamics` holds.
FUNCTION_NAMES = (
    "log_partition",
    "free_energy_K",
    "internal_energy_K",
    "entropy",
    "heat_capacity",
    "magnetization",
    "susceptibility",
)
_METHODS = ("fast", "numpy")


class Thermodynamics:
    """Thermodynamic functions of a batch, shape ``batch + (n_temperature,)``.

    Made by :func:`thermodynamics`. With the fast path each function is computed when it is
    first read and then kept; the reference path computes them all at once.

    Attributes
    ----------
    temperature_K : numpy.ndarray
        The temperature axis.
    method : str
        ``"fast"`` or ``"numpy"``.
    log_partition : numpy.ndarray
        ``ln Z``.
    free_energy_K, internal_energy_K : numpy.ndarray
        ``F`` and ``U`` in K.
    entropy, heat_capacity : numpy.ndarray
        ``S`` and ``C`` in units of ``k_B``.
    magnetization : numpy.ndarray or None
        ``-dF/dlambda`` in K per unit of ``lambda`` (None without slopes).
    susceptibility : numpy.ndarray or None
        ``-d2F/dlambda2`` in K per unit of ``lambda^2`` (None without slopes and couplings).
    """

    __slots__ = ("temperature_K", "method", "_spectrum", "_values")

    def __init__(self, spectrum, temperature_K, method):
        self.temperature_K = temperature_K
        self.method = method
        self._spectrum = spectrum
        self._values = {}
        if method == "numpy":
            self._values.update(_reference_functions(spectrum, temperature_K))

    def _get(self, name):
        if name not in self._values:
            self._values[name] = _fast_function(self._spectrum, self.temperature_K, name)
        return self._values[name]

    log_partition = property(lambda self: self._get("log_partition"), doc="``ln Z``.")
    free_energy_K = property(lambda self: self._get("free_energy_K"), doc="``F = -T ln Z`` in K.")
    internal_energy_K = property(lambda self: self._get("internal_energy_K"), doc="``U = <E>`` in K.")
    entropy = property(lambda self: self._get("entropy"), doc="``S = (U - F)/T`` in units of k_B.")
    heat_capacity = property(lambda self: self._get("heat_capacity"), doc="``C = dU/dT`` in units of k_B.")
    magnetization = property(lambda self: self._get("magnetization"), doc="``-dF/dlambda`` or None.")
    susceptibility = property(lambda self: self._get("susceptibility"), doc="``-d2F/dlambda2`` or None.")

    def as_dict(self):
        """Every function (computing those not yet read), keyed by attribute name."""
        return {name: getattr(self, name) for name in FUNCTION_NAMES}

    def __repr__(self):
        shape = np.shape(self._spectrum.levels)[:-1] + (self.temperature_K.size,)
        return f"Thermodynamics(shape={shape}, method={self.method!r})"


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
    E = _check_levels(levels)
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


def _check_levels(levels):
    E = np.asarray(levels, dtype=float)
    if not np.all(np.isfinite(E)):
        raise ValueError("levels must be finite (no NaN or inf)")
    if E.ndim < 1 or E.shape[-1] < 1:
        raise ValueError(f"levels must have a last axis with at least one level, got shape {E.shape}")
    return E


def _reference_functions(spectrum, T):
    """All functions with batched numpy (the reference path)."""
    E = np.asarray(spectrum.levels, dtype=float)
    p, log_z_shifted, e0 = _shifted_weights(E, T)
    log_z = log_z_shifted - e0 / T
    excess = (E - e0)[..., None, :]  # (..., 1, n), >= 0: no cancellation against E_0
    mean_excess = np.sum(p * excess, axis=-1)
    values = {
        "log_partition": log_z,
        "free_energy_K": -T * log_z,
        "internal_energy_K": e0 + mean_excess,
        "heat_capacity": np.sum(p * (excess - mean_excess[..., None]) ** 2, axis=-1) / T**2,
        # ln Z' + <E - E_0>/T, no cancellation against E_0/T
        "entropy": log_z_shifted + mean_excess / T,
        "magnetization": None,
        "susceptibility": None,
    }
    if spectrum.slopes is not None:
        slopes = np.asarray(spectrum.slopes)[..., None, :]
        mean_slope = np.sum(p * slopes, axis=-1)
        values["magnetization"] = -mean_slope
        if spectrum.coupling2 is not None:
            response = _kubo_response(E, np.asarray(spectrum.coupling2), p, T)
            chi = response - mean_slope**2 / T
            if spectrum.curvature is not None:
                chi = chi - np.sum(p * np.asarray(spectrum.curvature)[..., None, :], axis=-1)
            values["susceptibility"] = chi
    return values


def _fast_function(spectrum, T, name):
    """One function with the compiled kernel, over the flattened batch."""
    from . import kernels  # numba is imported only when the fast path is used

    E = np.asarray(spectrum.levels, dtype=float)
    if name in ("magnetization", "susceptibility"):
        if spectrum.slopes is None or (name == "susceptibility" and spectrum.coupling2 is None):
            return None
    batch, n = E.shape[:-1], E.shape[-1]
    size = int(np.prod(batch, dtype=np.int64))

    def flat(value, tail):
        if value is None:
            return None
        return np.broadcast_to(np.asarray(value, dtype=float), batch + tail).reshape((size,) + tail)

    out = kernels.thermal_observable(
        name,
        E.reshape(size, n),
        T,
        slopes=flat(spectrum.slopes, (n,)),
        coupling2=flat(spectrum.coupling2, (n, n)) if name == "susceptibility" else None,
        curvature=flat(spectrum.curvature, (n,)) if name == "susceptibility" else None,
    )
    return out.reshape(batch + (T.size,))


def thermodynamics(spectrum, temperature_K, method="fast"):
    """Thermodynamic functions of every instance of a spectrum at every temperature.

    Parameters
    ----------
    spectrum : Spectrum
        Levels (K) and, optionally, slopes, couplings and curvatures with respect to the
        field parameter ``lambda``.
    temperature_K : array_like
        Temperatures in K (scalar or 1-D), all > 0.
    method : {"fast", "numpy"}, optional
        Compiled kernels evaluating each function when first read (default), or the batched
        numpy reference evaluating all of them at once.

    Returns
    -------
    Thermodynamics
        Arrays of shape ``levels.shape[:-1] + (n_T,)``.
    """
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum must be a Spectrum, got {type(spectrum).__name__}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    T = temperature_axis(temperature_K)
    _check_levels(spectrum.levels)
    return Thermodynamics(spectrum, T, method)
