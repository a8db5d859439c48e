"""Distributions of three-well systems: uniform asymmetries and the anomalous systems of Eq. 8.

Both use the polar coordinates ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)`` of the plane
``E1 + E2 + E3 = 0`` (:func:`~tunnelsim.hamiltonians.asymmetries_from_polar`) and the
clustered ``alpha`` rule of :mod:`~tunnelsim.distributions.rules`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..hamiltonians import asymmetries_from_polar
from .base import _amplitude, _LogAsymmetryDistribution, _PBarDistribution, _positive
from .rules import (
    _alpha_count,
    _alpha_rule,
    _alpha_scale,
    _depth,
    _graded_count,
    _graded_rule,
    _log_count,
    _log_rule,
    _tensor,
)

__all__ = ["ATSDistribution", "StandardThreeLevelDistribution"]


def _three_level_params(D, alpha, D0):
    return {"E": asymmetries_from_polar(D, alpha), "D": D, "alpha": alpha, "D0": D0}


def _with_alpha(D, D0, w, n_alpha, lower=None):
    """Attach the clustered ``alpha`` rule to every ``(D, D0)`` node and flatten.

    With ``lower`` (``{axis: Embedded}`` of the ``(D, D0)`` rule) the Gauss-Kronrod ``alpha``
    rule is used and a fifth value is returned: ``lower`` extended to the flattened nodes, plus
    the ``"alpha"`` axis.
    """
    rule = _alpha_rule(n_alpha, _alpha_scale(D, D0), embedded=lower is not None)
    alpha, wa = rule[0], rule[1]
    k = alpha.shape[1]
    flat = np.repeat(D, k), alpha.ravel(), np.repeat(D0, k), (w[:, None] * wa).ravel()
    if lower is None:
        return flat
    out = {axis: emb.reindexed({name: (v[:, None] * wa).ravel() for name, v in emb.lower.items()},
                               lambda v: np.repeat(v, k))
           for axis, emb in lower.items()}
    out["alpha"] = rule[2].reindexed({name: (w[:, None] * v).ravel() for name, v in rule[2].lower.items()},
                                     lambda v: v.ravel())
    return (*flat, out)


def _amplified(lower, amplitude):
    return {axis: emb.scaled(amplitude) for axis, emb in lower.items()}


@dataclass(frozen=True)
class StandardThreeLevelDistribution(_PBarDistribution):
    """Three-well systems with uniform asymmetries: ``dP = P_bar dE1 dE2 dD0 / D0``.

    In the polar coordinates of the plane ``E1 + E2 + E3 = 0``,
    ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)``, the measure is
    ``P_bar D dD dalpha dD0 / D0`` on ``0 <= D <= D_max``, ``0 <= alpha < 2 pi``.

    Parameters
    ----------
    D_max_K : float
        Radius of the asymmetry disk in K, > 0.
    D0_min_K, D0_max_K : float
        Tunnelling cutoffs in K, ``0 < D0_min < D0_max``.
    P_bar : float, optional
        Amplitude; default normalised, ``1 / P_bar = pi D_max^2 ln(D0_max / D0_min)``.

    Notes
    -----
    Quadrature axes: ``"D"`` (graded rule ``D = c sinh(s)``, ``c = D0_min / 2``, weight
    ``D dD``), ``"D0"`` (Gauss-Legendre in ``ln D0``), ``"alpha"`` (``[0, pi/3]`` times 6,
    clustered at both ends on the scale ``D0 / (2 D)``, see :mod:`~tunnelsim.distributions.rules`).
    Parameters ``E`` (N, 3), ``D``, ``alpha``, ``D0``.
    """

    D_max_K: float
    D0_min_K: float
    D0_max_K: float
    P_bar: float | None = None

    system_kind = "three_level"
    kind = "standard"
    _amplitude_field = "P_bar"
    _sample_dim = 3

    def __post_init__(self):
        object.__setattr__(self, "D_max_K", _positive(self.D_max_K, "D_max_K"))
        self._check_cutoffs("D0_min_K", "D0_max_K")
        object.__setattr__(self, "P_bar", _amplitude(self.P_bar, "P_bar"))

    @property
    def _log_D0(self):
        return math.log(self.D0_max_K / self.D0_min_K)

    @property
    def _unit_measure(self):
        """Measure at unit amplitude, ``pi D_max^2 ln(D0_max / D0_min)`` (K^2)."""
        return math.pi * self.D_max_K**2 * self._log_D0

    def describe(self):
        """One line for result metadata: the amplitude and whether it is normalised."""
        amp = self._describe_amplitude("P_bar", "pi D_max^2 ln(D0_max/D0_min)", "")
        return (
            f"standard three-level distribution P_bar dE1 dE2 dD0/D0: {amp}; "
            f"D in [0, {self.D_max_K:g}] K, D0 in [{self.D0_min_K:g}, {self.D0_max_K:g}] K"
        )

    @property
    def _graded_scale(self):
        return 0.5 * min(self.D0_min_K, self.D_max_K)

    def _default_counts(self, energy_scale):
        depth = _depth(math.pi / 3.0, _alpha_scale(self.D_max_K, self.D0_min_K))
        return {
            "D": _graded_count(math.asinh(self.D_max_K / self._graded_scale)),
            "D0": _log_count(self._log_D0),
            "alpha": _alpha_count(depth),
        }

    def _rule(self, counts, energy_scale, embedded=False):
        if not embedded:
            D, wD = _graded_rule(counts["D"], self.D_max_K, self._graded_scale)
            (D, D0), w = _tensor((D, wD * D), _log_rule(counts["D0"], self.D0_min_K, self.D0_max_K))
            D, alpha, D0, w = _with_alpha(D, D0, w, counts["alpha"])
            return _three_level_params(D, alpha, D0), self.amplitude * w
        D, wD, eD = _graded_rule(counts["D"], self.D_max_K, self._graded_scale, True)
        D0, wD0, eD0 = _log_rule(counts["D0"], self.D0_min_K, self.D0_max_K, True)
        (D, D0), w, lower = _tensor((D, wD * D, {"D": eD.scaled(D)}), (D0, wD0, {"D0": eD0}))
        D, alpha, D0, w, lower = _with_alpha(D, D0, w, counts["alpha"], lower)
        return _three_level_params(D, alpha, D0), self.amplitude * w, _amplified(lower, self.amplitude)

    def _map(self, u, energy_scale):
        D = self.D_max_K * np.sqrt(u[:, 0])
        D0 = self.D0_min_K * np.exp(u[:, 1] * self._log_D0)
        alpha = 2.0 * math.pi * u[:, 2]
        return _three_level_params(D, alpha, D0), np.full(len(u), self.measure / len(u))


@dataclass(frozen=True)
class ATSDistribution(_LogAsymmetryDistribution):
    """Anomalous tunnelling systems of the ETM, Eq. 8: ``dP = P* dalpha dD/D dD0/D0``.

    Eq. 8, ``P*/(D0 (E1^2 + E2^2 + E3^2))`` on the plane ``E1 + E2 + E3 = 0``, in the polar
    coordinates ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)`` (area element ``D dD dalpha``,
    :func:`~tunnelsim.hamiltonians.asymmetries_from_polar`): ``alpha`` uniform, ``D`` and ``D0``
    log-uniform on ``[D_min, D_max]`` and ``[D0_min, D0_max]``.

    Parameters
    ----------
    D_min_K : float
        Lower asymmetry cutoff in K, > 0.
    D0_min_K, D0_max_K : float
        Tunnelling cutoffs in K, ``0 < D0_min < D0_max``.
    D_max_K : float, optional
        Upper asymmetry cutoff in K, ``> D_min``; ``inf`` (default) as in Eq. 10.
    P_star : float, optional
        Amplitude ``P*``. Default: with every cutoff finite the normalised value,
        ``1/P* = 2 pi ln(D0_max/D0_min) ln(D_max/D_min)`` (the seed prints
        ``ln(D0max/D0max)``, a misprint); with ``D_max = inf`` the measure cannot be normalised
        and ``P* = 1/(2 pi)``, the seed's "in practice P* is of order 1/2 pi".

    Notes
    -----
    Quadrature axes: ``"D"`` (Gauss-Legendre in ``ln D``; for ``D_max = inf`` on
    ``[D_min, D_c]``, ``D_c = 10 energy_scale_K``, plus ``"D_tail"``, Gauss-Legendre in ``s``
    with ``D = D_c / s^4``), ``"D0"`` (Gauss-Legendre in ``ln D0``) and ``"alpha"``:
    ``[0, pi/3]`` with weight 6 (the spectrum depends on ``alpha`` only through
    ``cos 3 alpha``), nodes clustered at both ends on the anticrossing scale ``D0 / (2 D)`` of
    each ``(D, D0)`` node (:mod:`~tunnelsim.distributions.rules`). The default ``alpha`` count grows with
    ``ln(D_res / D0_min)``, ``D_res = D_max`` or ``100 D_c`` for ``D_max = inf``.
    Sampling draws ``alpha`` uniformly on ``[0, 2 pi)``.
    Parameters ``E`` (N, 3), ``D``, ``alpha``, ``D0``.
    """

    system_kind = "three_level"
    kind = "ats"
    _sample_dim = 3
    _title = "ATS distribution (Eq. 8) P* dalpha dD/D dD0/D0"

    def _default_counts(self, energy_scale):
        counts = self._D_D0_counts(energy_scale)
        counts["alpha"] = _alpha_count(_depth(math.pi / 3.0, self._finest_angle_scale(energy_scale)))
        return counts

    def _rule(self, counts, energy_scale, embedded=False):
        if not embedded:
            (D, D0), w = self._D_D0_rule(counts, energy_scale)
            D, alpha, D0, w = _with_alpha(D, D0, w, counts["alpha"])
            return _three_level_params(D, alpha, D0), self.amplitude * w
        (D, D0), w, lower = self._D_D0_rule(counts, energy_scale, embedded=True)
        D, alpha, D0, w, lower = _with_alpha(D, D0, w, counts["alpha"], lower)
        return _three_level_params(D, alpha, D0), self.amplitude * w, _amplified(lower, self.amplitude)

    def _map(self, u, energy_scale):
        D, D0, weights = self._map_D_D0(u, energy_scale)
        alpha = 2.0 * math.pi * u[:, 2]
        return _three_level_params(D, alpha, D0), weights
