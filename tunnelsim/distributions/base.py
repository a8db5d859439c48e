"""The shared machinery of the parameter distributions: the sample, argument checks, base classes.

Each distribution is a measure ``dP`` on the parameters of one kind of tunnelling system. It
turns into a :class:`ParameterSample`: nodes (a dict of arrays with a leading axis ``N``) and
weights such that ``sum_i w_i f(params_i)`` approximates ``integral f dP``. The weights include
the amplitude (``P_bar`` or ``P*``), so ``sum_i w_i`` is the total measure (1 when normalised).

:class:`_Distribution` makes a subclass's rule (``_default_counts``, ``_rule``) into
:meth:`~_Distribution.quadrature` and its map of the unit cube (``_map``) into
:meth:`~_Distribution.sample`. :class:`_PBarDistribution` (amplitude ``P_bar``, finite cutoffs)
and :class:`_LogAsymmetryDistribution` (the Eq. 8 family ``P* dOmega dD/D dD0/D0``) add the
amplitude, the normalisation and the total measure.

Sampling (:meth:`_Distribution.sample`) draws every parameter from its own distribution
(``alpha`` on ``[0, 2 pi)``, directions on the whole sphere), pseudo-randomly or by scrambled
Sobol points, with equal weights (the measure over ``n``); with ``D_max = inf`` the tail
``D > D_c`` is importance-sampled as ``D = D_c / t``, ``t`` uniform.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import as_int, as_real_array
from .rules import (
    _alpha_resolved_D,
    _alpha_scale,
    _log_count,
    _log_D_counts,
    _log_D_map,
    _log_D_rule,
    _log_rule,
    _tensor,
)

__all__ = ["ParameterSample"]


# --------------------------------------------------------------------------- the sample
@dataclass(frozen=True)
class ParameterSample:
    """Nodes and measure weights of a parameter distribution.

    Attributes
    ----------
    params : dict of str to numpy.ndarray
        Parameter arrays, each with leading axis ``N``.
    weights : numpy.ndarray, shape (N,)
        Measure weights including the amplitude ``P*`` or ``P_bar``:
        ``sum_i w_i f(params_i) ~= integral f dP`` (``= 1`` for ``f = 1`` when normalised).
    sampled : bool
        True for Monte Carlo / quasi-Monte Carlo (the error is a standard error), False for
        deterministic quadrature.
    embedded : dict of str to Embedded, optional
        Gauss-Kronrod rules only (``quadrature(embedded=True)``): per axis, the weights of the
        rule with that axis's Kronrod factor replaced by its embedded Gauss (``"G"``) and
        Kronrod-only (``"L"``) sub-rules, each of shape ``(N,)``, and the three rules' degrees
        (:class:`~tunnelsim.distributions.rules.Embedded`).
    """

    params: dict[str, np.ndarray]
    weights: np.ndarray
    sampled: bool
    embedded: dict | None = None

    def __post_init__(self):
        weights = np.asarray(self.weights, dtype=float)
        if weights.ndim != 1:
            raise ValueError(f"weights must be 1-D, got shape {weights.shape}")
        params = {}
        for name, value in self.params.items():
            arr = np.asarray(value)
            if arr.ndim < 1 or arr.shape[0] != weights.shape[0]:
                raise ValueError(
                    f"params[{name!r}] must have leading axis {weights.shape[0]}, got shape {arr.shape}"
                )
            params[name] = arr
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "params", params)
        if self.embedded is not None:
            for axis, emb in self.embedded.items():
                for name, value in emb.lower.items():
                    if np.shape(value) != weights.shape:
                        raise ValueError(f"embedded[{axis!r}] weights {name!r} must have shape {weights.shape}, "
                                         f"got {np.shape(value)}")

    def __len__(self):
        return self.weights.shape[0]


# --------------------------------------------------------------------------- argument checks
def _positive(value, name):
    arr = as_real_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    if arr <= 0:
        raise ValueError(f"{name} must be > 0, got {float(arr)!r}")
    return float(arr)


def _upper(value, name, lower, lower_name, allow_inf=False):
    """An upper cutoff, > lower; ``inf`` only when allowed."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
        what = "finite or +inf" if allow_inf else "finite"
        raise ValueError(f"{name} must be {what}, got {x!r}")
    if x <= lower:
        raise ValueError(f"{name} must be > {lower_name} = {lower!r}, got {x!r}")
    return x


def _amplitude(value, name):
    return None if value is None else _positive(value, name)


def _int_at_least(value, name, minimum):
    return as_int(value, name, minimum)


# --------------------------------------------------------------------------- quadrature and sampling
def _unit_points(n, dim, seed, method):
    """``n`` points in ``[0, 1)^dim``: pseudo-random or scrambled Sobol, both seeded."""
    n = _int_at_least(n, "n", 1)
    seed = as_int(seed, "seed", 0)
    if method == "monte_carlo":
        return np.random.default_rng(seed).random((n, dim))
    if method == "qmc":
        from scipy.stats import qmc

        try:
            engine = qmc.Sobol(dim, scramble=True, rng=seed)
        except TypeError:  # SciPy < 1.15
            engine = qmc.Sobol(dim, scramble=True, seed=seed)
        with warnings.catch_warnings():
            # Sobol balance is best for powers of two; other n are still valid estimates.
            warnings.simplefilter("ignore", UserWarning)
            return engine.random(n)
    raise ValueError(f"method must be 'monte_carlo' or 'qmc', got {method!r}")


def _energy_scale(value, required):
    if value is None:
        if required:
            raise ValueError("energy_scale_K is required when an upper cutoff is infinite (D_max_K = inf)")
        return None
    return _positive(value, "energy_scale_K")


class _Distribution:
    """Shared quadrature/sampling plumbing; subclasses define the physics."""

    _sample_dim = 0

    # subclasses: _infinite, _default_counts(energy_scale), _rule(counts, energy_scale),
    # _map(u, energy_scale) -> (params, weights), amplitude, normalised, measure, describe

    _infinite = False

    @property
    def default_nodes(self):
        """Default node counts per axis (level 0).

        With ``D_max = inf`` the counts are those for ``energy_scale_K = D0_max_K``;
        :meth:`quadrature` recomputes them from the ``energy_scale_K`` it is given.
        """
        return self._default_counts(None)

    def quadrature(self, nodes=None, level=0, energy_scale_K=None, embedded=False):
        """Deterministic rule: a :class:`ParameterSample` with ``sampled=False``.

        Parameters
        ----------
        nodes : dict of str to int, optional
            Node counts overriding :attr:`default_nodes` per axis.
        level : int, optional
            Every node count is doubled ``level`` times (level 0 vs 1 estimates the error).
        energy_scale_K : float, optional
            Largest energy scale of the calculation (max of temperature, ``D0_max``,
            ``D0_max phi_max``) in K; required when an upper cutoff is infinite.
        embedded : bool, optional
            Gauss-Kronrod instead of Gauss-Legendre on every axis: an axis count ``n`` gives
            ``2 m + 1`` nodes with ``m = max(1, n // 2)`` (the alpha and chamber rules: per
            half), and the sample carries the embedded sub-rules of every axis
            (:attr:`ParameterSample.embedded`) for the error estimate of
            :mod:`tunnelsim.ensemble`.

        Returns
        -------
        ParameterSample
        """
        scale = _energy_scale(energy_scale_K, self._infinite)
        counts = self.node_counts(nodes, level, scale)
        if not embedded:
            params, weights = self._rule(counts, scale)
            return ParameterSample(params=params, weights=weights, sampled=False)
        params, weights, lower = self._rule(counts, scale, embedded=True)
        return ParameterSample(params=params, weights=weights, sampled=False, embedded=lower)

    def node_counts(self, nodes=None, level=0, energy_scale_K=None):
        """Node counts per axis that :meth:`quadrature` uses for these arguments.

        Parameters are those of :meth:`quadrature`; the result is a dict of axis name to count,
        which passed back as ``nodes`` (with ``level=0``) reproduces the same rule.
        """
        scale = _energy_scale(energy_scale_K, self._infinite)
        level = _int_at_least(level, "level", 0)
        counts = self._default_counts(scale)
        if nodes is not None:
            if not hasattr(nodes, "items"):
                raise ValueError(f"nodes must be a dict of axis name to count, got {nodes!r}")
            for axis, count in nodes.items():
                if axis not in counts:
                    raise ValueError(f"nodes has unknown axis {axis!r}; axes are {sorted(counts)}")
                counts[axis] = _int_at_least(count, f"nodes[{axis!r}]", 1)
        return {axis: count * 2**level for axis, count in counts.items()}

    def sample(self, n, seed, method="monte_carlo", energy_scale_K=None):
        """Seeded Monte Carlo or scrambled-Sobol quasi-Monte Carlo sample.

        Parameters
        ----------
        n : int
            Number of points (>= 1; powers of two suit Sobol best).
        seed : int
            Seed (>= 0): the same seed gives the same sample.
        method : {"monte_carlo", "qmc"}, optional
            Pseudo-random points or scrambled Sobol points (:class:`scipy.stats.qmc.Sobol`).
        energy_scale_K : float, optional
            As for :meth:`quadrature`; required when an upper cutoff is infinite (it sets where
            the importance-sampled tail starts).

        Returns
        -------
        ParameterSample
            ``sampled=True``; weights are the measure over ``n`` (times importance weights
            where a cutoff is infinite), so ``sum w f`` is an unbiased estimate.
        """
        scale = _energy_scale(energy_scale_K, self._infinite)
        u = _unit_points(n, self._sample_dim, seed, method)
        params, weights = self._map(u, scale)
        return ParameterSample(params=params, weights=weights, sampled=True)

    def _check_cutoffs(self, lower_name, upper_name, allow_inf=False):
        """Check and store the fields ``lower_name`` (> 0) and ``upper_name`` (> lower) as floats.

        ``upper_name`` may be ``inf`` only when ``allow_inf``; ValueError names the field.
        """
        lower = _positive(getattr(self, lower_name), lower_name)
        upper = _upper(getattr(self, upper_name), upper_name, lower, lower_name, allow_inf=allow_inf)
        object.__setattr__(self, lower_name, lower)
        object.__setattr__(self, upper_name, upper)

    def _describe_amplitude(self, symbol, normalisation, default_text):
        if self.normalised:
            return f"{symbol} = {self.amplitude:.6g} (normalised: 1/{symbol} = {normalisation})"
        if getattr(self, self._amplitude_field) is not None:
            return f"{symbol} = {self.amplitude:.6g} (set value, not normalised)"
        return f"{symbol} = {self.amplitude:.6g} (set value: {default_text}; not normalised)"


# --------------------------------------------------------------------------- amplitude and measure
class _PBarDistribution(_Distribution):
    """A distribution with finite cutoffs and amplitude ``P_bar``: normalised unless ``P_bar`` is set.

    Subclasses define ``_unit_measure``, the total measure at ``P_bar = 1``.
    """

    @property
    def normalised(self):
        """True when ``P_bar`` is the normalised value (no ``P_bar`` given)."""
        return self.P_bar is None

    @property
    def amplitude(self):
        """``P_bar`` actually used: the given value, else ``1 / _unit_measure``."""
        if self.P_bar is not None:
            return self.P_bar
        return 1.0 / self._unit_measure

    @property
    def measure(self):
        """Total measure ``P_bar * _unit_measure``."""
        return self.amplitude * self._unit_measure


@dataclass(frozen=True)
class _LogAsymmetryDistribution(_Distribution):
    """Shared cutoffs of the Eq. 8 family: ``P* dOmega dD/D dD0/D0``.

    Subclasses set the solid angle ``Omega`` of the asymmetry directions (``_solid_angle``,
    and as text ``_solid_angle_text``), the ``_title`` of :meth:`describe` and the direction
    axis of the rule; the ``D`` and ``D0`` axes, the amplitude and the measure are shared.
    """

    D_min_K: float
    D0_min_K: float
    D0_max_K: float
    D_max_K: float = math.inf
    P_star: float | None = None

    _amplitude_field = "P_star"
    _solid_angle = 2.0 * math.pi
    _solid_angle_text = "2 pi"
    _title = "P* dOmega dD/D dD0/D0"

    def __post_init__(self):
        self._check_cutoffs("D_min_K", "D_max_K", allow_inf=True)
        self._check_cutoffs("D0_min_K", "D0_max_K")
        object.__setattr__(self, "P_star", _amplitude(self.P_star, "P_star"))

    @property
    def _infinite(self):
        return not math.isfinite(self.D_max_K)

    @property
    def _log_D0(self):
        return math.log(self.D0_max_K / self.D0_min_K)

    @property
    def _log_D(self):
        return math.log(self.D_max_K / self.D_min_K)

    @property
    def normalised(self):
        """True when ``P*`` is the normalised value (no ``P*`` given, every cutoff finite)."""
        return self.P_star is None and not self._infinite

    @property
    def amplitude(self):
        """``P*`` actually used."""
        if self.P_star is not None:
            return self.P_star
        if self._infinite:
            return 1.0 / self._solid_angle
        return 1.0 / (self._solid_angle * self._log_D0 * self._log_D)

    @property
    def measure(self):
        """Total measure ``P* Omega ln(D0_max/D0_min) ln(D_max/D_min)`` (inf for ``D_max = inf``)."""
        if self._infinite:
            return math.inf
        return self.amplitude * self._solid_angle * self._log_D0 * self._log_D

    def describe(self):
        """One line for result metadata: the amplitude and whether it is normalised."""
        omega = self._solid_angle_text
        amp = self._describe_amplitude(
            "P*", f"{omega} ln(D0_max/D0_min) ln(D_max/D_min)", f"1/({omega}) as D_max is infinite"
        )
        return (
            f"{self._title}: {amp}; "
            f"D in [{self.D_min_K:g}, {self.D_max_K:g}] K, D0 in [{self.D0_min_K:g}, {self.D0_max_K:g}] K"
        )

    def _D_D0_counts(self, energy_scale):
        """Default counts of the ``D`` axes and of ``D0``."""
        counts = _log_D_counts(self.D_min_K, self.D_max_K, energy_scale, self.D0_max_K)
        counts["D0"] = _log_count(self._log_D0)
        return counts

    def _finest_angle_scale(self, energy_scale):
        """Smallest clustering scale ``D0_min / (2 D_res)`` the default angular counts resolve.

        ``D_res`` is :func:`~tunnelsim.distributions.rules._alpha_resolved_D` for
        ``energy_scale`` (``D0_max`` when None).
        """
        scale = self.D0_max_K if energy_scale is None else energy_scale
        return _alpha_scale(_alpha_resolved_D(self.D_min_K, self.D_max_K, scale), self.D0_min_K)

    def _D_D0_rule(self, counts, energy_scale, embedded=False):
        D_axis = _log_D_rule(counts, self.D_min_K, self.D_max_K, energy_scale, embedded)
        D0_axis = _log_rule(counts["D0"], self.D0_min_K, self.D0_max_K, embedded)
        if embedded:
            D0_axis = (D0_axis[0], D0_axis[1], {"D0": D0_axis[2]})
        return _tensor(D_axis, D0_axis)

    def _map_D_D0(self, u, energy_scale):
        D, inv_q = _log_D_map(u[:, 0], self.D_min_K, self.D_max_K, energy_scale)
        D0 = self.D0_min_K * np.exp(u[:, 1] * self._log_D0)
        weights = self.amplitude * self._solid_angle * self._log_D0 * inv_q / len(u)
        return D, D0, weights
