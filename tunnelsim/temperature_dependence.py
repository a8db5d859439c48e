"""The temperature dependence of the ETM parameters: Eqs. 15 and 16 and the parameter scaling.

With ``Q ~ N``, ``S_Delta ~ N``, ``D0 ~ N`` and ``D_min ~ N`` (Section B), the number of
tunnelling units ``N_tunn(T)`` rescales every parameter from its value at ``T0``.

Numerical range. Eq. 15 is evaluated through its logarithm,
``ln r = delta_mu (T - T0) / (T T0)`` (:func:`log_tunnelling_number_ratio`), which is accurate
for any ``T``, ``T0`` from 1e-4 K to 1e4 K and beyond; ``r`` itself is ``exp`` of it, 0 where
it underflows (no warning). The scaled parameters go as ``r``, ``r^2`` and ``r^3``:

* small ``r`` (``T << delta_mu``: ``r = exp(-3190)`` at 1e-4 K for the seed's BK7 values) is
  the limit in which every energy of the ensemble is far below ``k_B T``. The scaling uses
  ``max(r, RATIO_FLOOR)`` (:data:`RATIO_FLOOR` = 1e-60): below it the scaled energies are less
  than 1e-60 of their ``T0`` values, so at any temperature above 1e-40 K (for parameters below
  1e10 K) the Boltzmann factors and every observable equal their ``r -> 0`` limit to double
  precision, and ``r^3`` stays representable;
* large ``r`` has no such limit (the energies grow without bound): :func:`check_ratio_range`
  refuses ``r > RATIO_CEILING`` (1e30), naming ``delta_mu_K`` / ``T0_K`` and the highest
  temperature that is representable (the range ``T <= T_max`` is never empty).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ._checks import as_positive_array, as_real_array
from .units import DEFAULT_T0_K

__all__ = ["RATIO_CEILING", "RATIO_FLOOR", "ScaledParameters", "TemperatureDependence", "check_ratio_range",
           "log_tunnelling_number_ratio", "scale_system_nodes", "scale_parameters_by_ratio", "scaled_parameters",
           "tunnelling_number_ratio", "tunnelling_number_ratio_activated"]

#: Smallest ``r = N_tunn(T)/N_tunn(T0)`` the parameters are scaled by (module docstring).
RATIO_FLOOR = 1e-60
#: Largest ``r`` accepted: ``r^3`` times any parameter below 1e200 stays finite.
RATIO_CEILING = 1e30


def log_tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K=DEFAULT_T0_K):
    """``ln(N_tunn(T)/N_tunn(T0)) = delta_mu (T - T0) / (T T0)`` (Eq. 15), finite for every T, T0 > 0."""
    T = as_positive_array(temperature_K, "temperature_K")
    dmu = as_real_array(delta_mu_K, "delta_mu_K")
    T0 = as_positive_array(T0_K, "T0_K")
    # delta_mu (1/T0 - 1/T) = delta_mu ((T - T0)/T) / T0: no 1/T overflow, no cancellation
    with np.errstate(over="ignore"):
        return dmu * ((T - T0) / T) / T0


def tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K=DEFAULT_T0_K):
    """Eq. 15 as a ratio: ``N_tunn(T)/N_tunn(T0) = exp(-delta_mu/T + delta_mu/T0)``.

    Evaluated as ``exp`` of :func:`log_tunnelling_number_ratio`: 0 where it underflows, inf
    where it overflows, without warnings.
    """
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(log_tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K))


def check_ratio_range(temperature_K, delta_mu_K, T0_K=DEFAULT_T0_K):
    """Raise ValueError (one line) if Eq. 15's ``r`` exceeds :data:`RATIO_CEILING` at some temperature.

    The temperatures with ``r <= RATIO_CEILING`` are ``T <= T_max`` with
    ``1/T_max = 1/T0 - ln(RATIO_CEILING)/delta_mu`` (all ``T`` when that is <= 0), never empty;
    the message gives ``T_max``.
    """
    log_r = log_tunnelling_number_ratio(temperature_K, delta_mu_K, T0_K)
    limit = math.log(RATIO_CEILING)
    if not np.all(log_r <= limit):
        T = np.broadcast_to(np.asarray(temperature_K, dtype=float), np.shape(log_r))
        worst = float(np.asarray(T)[np.argmax(np.where(np.isnan(log_r), np.inf, log_r))])
        dmu, T0 = float(delta_mu_K), float(T0_K)
        inverse = 1.0 / T0 - limit / dmu
        t_max = math.inf if inverse <= 0 else 1.0 / inverse
        raise ValueError(
            f"N_tunn(T)/N_tunn(T0) = exp(delta_mu_K (1/T0_K - 1/T)) is exp({float(np.max(log_r)):.4g}) at "
            f"T = {worst:.4g} K (delta_mu_K = {dmu:g}, T0_K = {T0:g}): the parameters it scales (D0 (Q/e) S ~ r^3) "
            f"would not be representable; with these values the temperatures must stay <= {t_max:.4g} K"
        )


def tunnelling_number_ratio_activated(temperature_K, gamma, E0_K, T0_K=None):
    """Eq. 16: ``N_tunn(T)/N0 = 1 - Gamma exp(E0/T)``; with ``T0_K`` the ratio ``N(T)/N(T0)``.

    Raises ValueError (one line naming ``gamma``, ``E0_K`` and the temperature) where ``N`` would not
    be positive; for ``0 < gamma < 1`` and ``E0 > 0`` that is ``T <= E0 / ln(1/gamma)``.
    """
    T = as_positive_array(temperature_K, "temperature_K")
    g = as_real_array(gamma, "gamma")
    E0 = as_real_array(E0_K, "E0_K")

    def positive(ratio, temps, what):
        bad = ~(ratio > 0)
        if np.any(bad):
            t = float(np.asarray(np.broadcast_to(temps, ratio.shape))[bad].flat[0])
            limit = ""
            if g.ndim == 0 and E0.ndim == 0 and 0 < float(g) < 1 and float(E0) > 0:
                limit = f"; these values need T > E0_K/ln(1/gamma) = {float(E0) / math.log(1 / float(g)):.4g} K"
            raise ValueError(f"Eq. 16: 1 - gamma exp(E0_K/T) <= 0 at {what} = {t:.4g} K (gamma = {float(g):g}, "
                             f"E0_K = {float(E0):g}): no tunnelling units left{limit}")

    with np.errstate(over="ignore"):
        ratio = 1.0 - g * np.exp(E0 / T)
    positive(ratio, T, "T")
    if T0_K is None:
        return ratio
    T0 = as_positive_array(T0_K, "T0_K")
    with np.errstate(over="ignore"):
        ref = 1.0 - g * np.exp(E0 / T0)
    positive(ref, T0, "T0_K")
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
    """Scale the ETM parameters by ``r = N_tunn(T)/N_tunn(T0)``: ``D_min r``, ``D0QS r^3``, ``(Q/e)S r^2``.

    ``r`` below :data:`RATIO_FLOOR` (including an underflowed 0) is taken as the floor: the
    ``r -> 0`` limit to double precision (module docstring).
    """
    r = np.maximum(as_positive_array(ratio, "ratio", allow_zero=True), RATIO_FLOOR)
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
        The rescaled model and nodes (the inputs themselves when ``ratio == 1``). A ratio below
        :data:`RATIO_FLOOR` (an underflowed 0 included) is taken as the floor (module docstring).
    """
    if ratio == 1.0:
        return system, params
    ratio = max(float(ratio), RATIO_FLOOR)
    if ratio == 1.0:
        return system, params
    scaled = dict(params)
    for name in ("E", "D", "D0"):
        if name in scaled:
            scaled[name] = np.asarray(scaled[name]) * ratio
    return dataclasses.replace(system, charge_area_A2=system.charge_area_A2 * ratio**2), scaled
