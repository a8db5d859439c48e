"""The Standard Tunnelling Model distribution of two-level systems (Eq. 5), with its exact density of states."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import as_real_array
from .base import _amplitude, _PBarDistribution, _positive
from .rules import _graded_count, _graded_rule, _log_count, _log_rule, _tensor

__all__ = ["STMDistribution"]


@dataclass(frozen=True)
class STMDistribution(_PBarDistribution):
    """Standard Tunnelling Model distribution of two-level systems (Eq. 5).

    ``dP = P_bar dDelta dDelta0 / Delta0`` with ``0 <= Delta <= delta_max`` (uniform) and
    ``delta0_min <= Delta0 <= delta0_max`` (log-uniform).

    Parameters
    ----------
    delta_max_K : float
        Largest asymmetry ``Delta_max`` in K, > 0.
    delta0_min_K, delta0_max_K : float
        Tunnelling-splitting cutoffs in K, ``0 < delta0_min < delta0_max``.
    P_bar : float, optional
        Amplitude in K^-2 (per system); default: normalised,
        ``P_bar = 1 / (delta_max ln(delta0_max / delta0_min))``.

    Notes
    -----
    Quadrature: ``Delta`` by the graded rule ``Delta = c sinh(s)`` with
    ``c = delta0_min / 2`` (axis ``"delta"``), ``Delta0`` by Gauss-Legendre in ``ln Delta0``
    (axis ``"delta0"``). Parameters ``delta`` and ``delta0`` (K).
    """

    delta_max_K: float
    delta0_min_K: float
    delta0_max_K: float
    P_bar: float | None = None

    system_kind = "two_level"
    kind = "stm"
    _amplitude_field = "P_bar"
    _sample_dim = 2

    def __post_init__(self):
        object.__setattr__(self, "delta_max_K", _positive(self.delta_max_K, "delta_max_K"))
        self._check_cutoffs("delta0_min_K", "delta0_max_K")
        object.__setattr__(self, "P_bar", _amplitude(self.P_bar, "P_bar"))

    @property
    def _log_delta0(self):
        return math.log(self.delta0_max_K / self.delta0_min_K)

    @property
    def _unit_measure(self):
        """Measure at unit amplitude, ``delta_max ln(delta0_max / delta0_min)`` (K)."""
        return self.delta_max_K * self._log_delta0

    def describe(self):
        """One line for result metadata: the amplitude and whether it is normalised."""
        amp = self._describe_amplitude("P_bar", "delta_max ln(delta0_max/delta0_min)", "")
        return (
            f"STM two-level distribution P_bar dDelta dDelta0/Delta0: {amp}; "
            f"Delta in [0, {self.delta_max_K:g}] K, Delta0 in [{self.delta0_min_K:g}, {self.delta0_max_K:g}] K"
        )

    @property
    def _graded_scale(self):
        return 0.5 * min(self.delta0_min_K, self.delta_max_K)

    def _default_counts(self, energy_scale):
        L = math.asinh(self.delta_max_K / self._graded_scale)
        return {"delta": _graded_count(L), "delta0": _log_count(self._log_delta0)}

    def _rule(self, counts, energy_scale, embedded=False):
        delta = _graded_rule(counts["delta"], self.delta_max_K, self._graded_scale, embedded)
        delta0 = _log_rule(counts["delta0"], self.delta0_min_K, self.delta0_max_K, embedded)
        if not embedded:
            (d, d0), w = _tensor(delta, delta0)
            return {"delta": d, "delta0": d0}, self.amplitude * w
        (d, d0), w, lower = _tensor((*delta[:2], {"delta": delta[2]}), (*delta0[:2], {"delta0": delta0[2]}))
        lower = {axis: emb.scaled(self.amplitude) for axis, emb in lower.items()}
        return {"delta": d, "delta0": d0}, self.amplitude * w, lower

    def _map(self, u, energy_scale):
        d = self.delta_max_K * u[:, 0]
        d0 = self.delta0_min_K * np.exp(u[:, 1] * self._log_delta0)
        return {"delta": d, "delta0": d0}, np.full(len(u), self.measure / len(u))

    def density_of_states(self, E_K):
        """Exact density of states ``n(E) = int dP delta(E - sqrt(Delta^2 + Delta0^2))``.

        At fixed ``Delta0`` the level splitting ``E = sqrt(Delta^2 + Delta0^2)`` gives
        ``dDelta = E dE / sqrt(E^2 - Delta0^2)``, and
        ``int dDelta0 E / (Delta0 sqrt(E^2 - Delta0^2)) = -arccosh(E / Delta0)``, so

        ``n(E) = P_bar [arccosh(E / a) - arccosh(E / b)]`` for ``a < b``, else 0, with
        ``a = max(delta0_min, sqrt(E^2 - delta_max^2))`` (``Delta <= delta_max``) and
        ``b = min(delta0_max, E)`` (``Delta >= 0``).

        This covers every region: ``n = 0`` for ``E < delta0_min``; inside the window
        ``delta0_min <= E <= min(delta0_max, sqrt(delta_max^2 + delta0_min^2))`` it is
        ``P_bar arccosh(E / delta0_min)``; above ``delta0_max`` the upper ``Delta0`` cutoff
        subtracts ``P_bar arccosh(E / delta0_max)``; above ``sqrt(delta_max^2 + delta0_min^2)``
        the asymmetry cutoff raises the lower limit; ``n = 0`` above
        ``sqrt(delta_max^2 + delta0_max^2)``. ``n`` is continuous and integrates to
        :attr:`measure`.

        Parameters
        ----------
        E_K : array_like
            Level splitting in K (any real values; ``n = 0`` for ``E <= delta0_min``).

        Returns
        -------
        numpy.ndarray
            ``n(E)`` in K^-1 (per system when normalised), shaped like ``E_K``.
        """
        E = as_real_array(E_K, "E_K")
        with np.errstate(invalid="ignore"):
            lower = np.maximum(self.delta0_min_K, np.sqrt(np.maximum(E * E - self.delta_max_K**2, 0.0)))
            upper = np.minimum(self.delta0_max_K, E)
            inside = lower < upper
            safe_lower = np.where(inside, lower, 1.0)
            safe_upper = np.where(inside, upper, 1.0)
            ratio_low = np.where(inside, E / safe_lower, 1.0)
            ratio_up = np.where(inside, E / safe_upper, 1.0)
            value = np.arccosh(np.maximum(ratio_low, 1.0)) - np.arccosh(np.maximum(ratio_up, 1.0))
        return np.where(inside, self.amplitude * value, 0.0)
