"""The temperature dependence of the ETM parameters: Eqs. 15 and 16 and the parameter scaling.

With ``Q ~ N``, ``S_Delta ~ N``, ``D0 ~ N`` and ``D_min ~ N`` (Section B), the number of
tunnelling units ``N_tunn(T)`` rescales every parameter from its value at ``T0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import dataclasses

from ._checks import as_positive_array, as_real_array
from .units import DEFAULT_T0_K

__all__ = ["ScaledParameters", "TemperatureDependence", "scale_system_nodes", "scale_parameters_by_ratio", "scaled_parameters", "tunnelling_number_ratio",
           "tunnelling_number_ratio_activated"]


def tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K=DEFAULT_T0_K):
    """Eq. 15 as a ratio: ``N_tunn(T)/N_tunn(T0) = exp(-delta_mu/T + delta_mu/T0)``."""
    T = as_positive_array(temperature_K, "temperature_K")
    dmu = as_real_array(delta_mu_K, "delta_mu_K")
    T0 = as_positive_array(T0_K, "T0_K")
    return np.exp(dmu * (1.0 / T0 - 1.0 / T))


def tunnelling_number_ratio_activated(temperature_K, gamma, E0_K, T0_K=None):
    """Eq. 16: ``N_tunn(T)/N0 = 1 - Gamma exp(E0/T)``; with ``T0_K`` the ratio ``N(T)/N(T0)``.

    Raises ValueError (naming ``gamma``) where ``N`` would not be positive.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    g = as_real_array(gamma, "gamma")
    E0 = as_real_array(E0_K, "E0_K")
    ratio = 1.0 - g * np.exp(E0 / T)
    if np.any(ratio <= 0):
        raise ValueError("gamma: 1 - Gamma exp(E0/T) must stay > 0 (a positive number of tunnelling units)")
    if T0_K is None:
        return ratio
    ref = 1.0 - g * np.exp(E0 / as_positive_array(T0_K, "T0_K"))
    if np.any(ref <= 0):
        raise ValueError("gamma: 1 - Gamma exp(E0/T0) must be > 0")
    return ratio / ref


@dataclass(frozen=True)
class ScaledParameters:
    """ETM parameters at temperature ``T`` from their values at ``T0`` (Eq. 15 scaling).

    Attributes
    ----------
    ratio : numpy.ndarray
        ``r = N_tunn(T)/N_tunn(T0)``.
    D_min_K : numpy.ndarray
        ``D_min r`` (``D_min ~ N``).
    D0QS_min_K_A2, D0QS_max_K_A2 : numpy.ndarray
        ``D0QS r^3`` (``D0 ~ N``, ``Q ~ N``, ``S ~ N``).
    charge_area_A2 : numpy.ndarray or None
        ``(Q/e) S r^2``.
    """

    ratio: np.ndarray
    D_min_K: np.ndarray
    D0QS_min_K_A2: np.ndarray
    D0QS_max_K_A2: np.ndarray
    charge_area_A2: np.ndarray | None = None


def scale_parameters_by_ratio(ratio, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2=None):
    """Scale the ETM parameters by ``r = N_tunn(T)/N_tunn(T0)``: ``D_min r``, ``D0QS r^3``, ``(Q/e)S r^2``."""
    r = as_positive_array(ratio, "ratio")
    qs = None if charge_area_A2 is None else as_positive_array(charge_area_A2, "charge_area_A2") * r**2
    return ScaledParameters(
        ratio=r,
        D_min_K=as_positive_array(D_min_K, "D_min_K") * r,
        D0QS_min_K_A2=as_positive_array(D0QS_min_K_A2, "D0QS_min_K_A2") * r**3,
        D0QS_max_K_A2=as_positive_array(D0QS_max_K_A2, "D0QS_max_K_A2") * r**3,
        charge_area_A2=qs,
    )


def scaled_parameters(temperature_K, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, delta_mu_K, T0_K=DEFAULT_T0_K,
                      charge_area_A2=None):
    """ETM parameters at ``temperature_K`` given at ``T0_K`` (Eq. 15).

    With ``Q ~ N``, ``S_Delta ~ N``, ``D0 ~ N``, ``D_min ~ N`` (Section B): ``D_min`` scales as
    ``r``, ``D0 (Q/e) S`` as ``r^3`` and ``(Q/e) S`` as ``r^2``, ``r = exp(-delta_mu/T + delta_mu/T0)``.

    Returns
    -------
    ScaledParameters
    """
    r = tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K)
    return scale_parameters_by_ratio(r, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2, charge_area_A2)


@dataclass(frozen=True)
class TemperatureDependence:
    """``N_tunn(T)``: Eq. 15, ``N0 exp(-delta_mu / k_B T)``, or Eq. 16, ``N0 (1 - Gamma e^{E0 / k_B T})``;
    the parameters hold at ``T0_K``.

    Give ``delta_mu_K`` (Eq. 15) or both ``gamma`` and ``E0_K`` (Eq. 16), not both laws.

    Parameters
    ----------
    delta_mu_K : float, optional
        Chemical-potential difference ``Delta mu`` in K, >= 0 (Eq. 15).
    T0_K : float
        Reference temperature at which the distribution's parameters hold (seed: 1.26 K).
    gamma, E0_K : float, optional
        ``Gamma`` (dimensionless) and ``E0`` (K) of Eq. 16; ``1 - Gamma e^{E0/T}`` must stay > 0
        at every temperature asked for (checked by :meth:`ratio`).
    """

    delta_mu_K: float | None = None
    T0_K: float = DEFAULT_T0_K
    gamma: float | None = None
    E0_K: float | None = None

    def __post_init__(self):
        eq16 = self.gamma is not None or self.E0_K is not None
        if eq16 == (self.delta_mu_K is not None):
            raise ValueError("temperature dependence: give delta_mu_K (Eq. 15) or gamma and E0_K (Eq. 16), "
                             "one of the two laws")
        if eq16:
            if self.gamma is None or self.E0_K is None:
                raise ValueError("Eq. 16 needs both gamma and E0_K")
            as_real_array(self.gamma, "gamma")
            as_real_array(self.E0_K, "E0_K")
            tunnelling_number_ratio_activated(self.T0_K, self.gamma, self.E0_K)  # N(T0) > 0
        else:
            as_positive_array(self.delta_mu_K, "delta_mu_K", allow_zero=True)
        as_positive_array(self.T0_K, "T0_K")

    @property
    def law(self):
        """``"eq15"`` or ``"eq16"``."""
        return "eq15" if self.delta_mu_K is not None else "eq16"

    def ratio(self, temperature_K):
        """``N_tunn(T) / N_tunn(T0)`` (Eq. 15 or Eq. 16)."""
        if self.law == "eq15":
            return tunnelling_number_ratio(temperature_K, self.delta_mu_K, self.T0_K)
        return tunnelling_number_ratio_activated(temperature_K, self.gamma, self.E0_K, self.T0_K)

    def describe(self):
        """The law and its parameters, JSON-serialisable."""
        if self.law == "eq15":
            return {"law": "eq15", "delta_mu_K": float(self.delta_mu_K), "T0_K": float(self.T0_K)}
        return {"law": "eq16", "gamma": float(self.gamma), "E0_K": float(self.E0_K), "T0_K": float(self.T0_K)}


def scale_system_nodes(system, params, ratio):
    """Eq. 15 rescaling of a model and its parameter nodes by ``r = N(T)/N(T0)``.

    ``E -> r E``, ``D -> r D``, ``D0 -> r D0`` and ``(Q/e) S_Delta -> r^2 (Q/e) S_Delta``
    (``Q ~ N``, ``S_Delta ~ N``, ``D0 ~ N``, ``D_min ~ N``; physics.md section 5), so the
    products ``D0 (Q/e) S`` scale as ``r^3``, as :func:`scale_parameters_by_ratio` has it.

    Parameters
    ----------
    system : object
        A model of :mod:`tunnelsim.systems` with a ``charge_area_A2`` field.
    params : dict of str to numpy.ndarray
        Parameter nodes (``E``, ``D``, ``D0``, others unchanged).
    ratio : float
        ``N(T)/N(T0)``, > 0.

    Returns
    -------
    system, params
        The rescaled model and nodes (the inputs themselves when ``ratio == 1``).
    """
    if ratio == 1.0:
        return system, params
    scaled = dict(params)
    for name in ("E", "D", "D0"):
        if name in scaled:
            scaled[name] = np.asarray(scaled[name]) * ratio
    return dataclasses.replace(system, charge_area_A2=system.charge_area_A2 * ratio**2), scaled
