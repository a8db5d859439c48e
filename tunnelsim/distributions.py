"""Parameter distributions of tunnelling systems, with quadrature and seeded (quasi-)Monte Carlo.

Each distribution is a measure ``dP`` on the parameters of one kind of tunnelling system. It
turns into a :class:`ParameterSample`: nodes (a dict of arrays with a leading axis ``N``) and
weights such that ``sum_i w_i f(params_i)`` approximates ``integral f dP``. The weights include
the amplitude (``P_bar`` or ``P*``), so ``sum_i w_i`` is the total measure (1 when normalised).

Distributions (physics.md section 4)
------------------------------------
* :class:`STMDistribution` -- two-level systems of the STM (Eq. 5):
  ``P_bar dDelta dDelta0 / Delta0``, ``Delta`` uniform on ``[0, Delta_max]``, ``Delta0``
  log-uniform; with the exact density of states :meth:`STMDistribution.density_of_states`.
* :class:`StandardThreeLevelDistribution` -- three-well systems with uniform asymmetries,
  ``P_bar dE1 dE2 dD0 / D0 = P_bar D dD dalpha dD0 / D0`` on the disk ``D < D_max``.
* :class:`ATSDistribution` -- Eq. 8, ``P* dE1 dE2 dD0 / (D0 (E1^2 + E2^2 + E3^2))``, which in
  the polar coordinates ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)`` of the plane
  ``E1 + E2 + E3 = 0`` (area element ``D dD dalpha``) is ``P* dalpha dD/D dD0/D0``.
* :class:`FourWellATSDistribution` -- the four-well analogue ``P* dOmega dD/D dD0/D0``.

Quadrature rules (all Gauss-Legendre after a change of variable, so node doubling converges)
------------------------------------------------------------------------------------------
* log-uniform axes (``D``, ``D0``, ``Delta0``): Gauss-Legendre in ``ln x``. Observables are
  analytic in ``ln x`` within a strip of half-width ``pi/2`` (their singularities sit at
  ``x = i pi k_B T`` or ``x = i D0 phi``), so the error falls like ``rho^(-2n)`` with
  ``rho = b + sqrt(1 + b^2)``, ``b = pi / ln(x_max / x_min)``; the default counts grow linearly
  with ``ln(x_max / x_min)``.
* uniform axes starting at 0 (``Delta`` of the STM, ``D`` of the standard 3LS): the graded map
  ``x = c sinh(s)``, Gauss-Legendre in ``s``. It is uniform for ``x << c`` and logarithmic for
  ``x >> c``, so features on every scale from ``c`` (set to half the smallest tunnelling
  energy) up to ``x_max`` -- e.g. the heat capacity varying on the scale ``k_B T`` -- are
  resolved, whatever the temperature.
* the asymmetry angle ``alpha`` (3LS): the spectrum of Eq. 6 depends on ``alpha`` only via
  ``cos(3 alpha)`` at fixed ``D`` (``E1 E2 E3 ~ D^3 cos 3 alpha``), so
  ``int_0^{2 pi} dalpha = 6 int_0^{pi/3} dalpha``. For ``D >> D0`` two wells are degenerate at
  ``alpha = 0`` and ``pi/3`` (``cos 3 alpha = +-1``): anticrossings of width ``~ D0 / D`` in
  ``alpha``. The rule maps each half ``[0, pi/6]`` and ``[pi/6, pi/3]`` by
  ``alpha = c sinh(s)`` (resp. ``pi/3 - c sinh(s)``) with ``c = D0 / (2 D)`` chosen per
  ``(D, D0)`` node, clustering nodes at both ends down to the anticrossing width. The map is
  not polynomial, so smooth functions of ``cos 3 alpha`` are integrated to near machine
  precision (the error falls geometrically with the node count) rather than exactly; a uniform
  rule with as many nodes misses anticrossings of width ``1e-3`` by tens of per cent.
  The default count, ``2 ceil(2 L + 4)`` with ``L = asinh(pi / (6 c_min))``, was calibrated on
  the exact 3LS magnetisation and heat capacity (relative error below 1e-4 for the heat
  capacity at ``D / D0 = 1e4``, far smaller for the magnetisation).
* ``D_max = inf`` (ATS): a composite rule, log-Gauss-Legendre on ``[D_min, D_c]`` plus a tail
  rule in ``t = D_c / D`` on ``(0, 1]`` (``dD/D = dt/t``); nothing is truncated. Beyond every
  energy scale ``E_s`` of the calculation (temperature, ``D0_max``, ``D0_max phi_max``), with
  ``D_c = 10 E_s``, an observable's integrand ``g`` in ``int dD/D g(D)`` is an expansion in
  ``E_s / D = (E_s / D_c) t`` whose singularities lie at ``|t| >~ 10 / pi``, and it decays like
  ``1/D`` -- times ``ln D`` for the exact 3LS, because the ``alpha`` average across the
  anticrossings at ``cos 3 alpha = +-1`` (width ``E_s / D``) of ``tanh(E / 2T) / E`` gives
  ``ln(D / E_s) / D``. So ``g(D_c/t)/t ~ a ln(1/t) + b + O(t ln t)``: a logarithmic endpoint
  singularity on which Gauss-Legendre in ``t`` converges only like ``n^-2``. The substitution
  ``t = s^4`` (``dt/t = 4 ds/s``) turns it into ``s^3 (a' ln s + b') + ...``, for which
  Gauss-Legendre in ``s`` converges like ``n^-8`` (12 nodes: about 1e-8 of the tail), while
  integrands analytic in ``t`` (such as ``1/(1 + D/a)``, ``a <~ D_c``) keep geometric
  convergence. The weights of the tail do not sum to the (infinite) measure: the rule is meant
  for integrands decaying at least like ``ln(D)/D``.

* the four-well asymmetry direction: the analogue of the ``alpha`` rule on one Weyl chamber
  ``E1 >= E2 >= E3 >= E4`` with weight 24, clustered at its walls ``E_i = E_{i+1}`` (the
  degeneracy planes), see :class:`FourWellATSDistribution`.

Integrands must be symmetric under relabelling the wells (every orientation-averaged observable
is): the ``alpha`` rule samples only ``[0, pi/3]`` and the default four-well rule one chamber,
so a lone asymmetry component such as ``E1`` is not integrated correctly, while
``E1^2 + E2^2 + E3^2`` or ``E1 E2 E3`` are.

Sampling (:meth:`~_Distribution.sample`) draws every parameter from its own distribution
(``alpha`` on ``[0, 2 pi)``, directions on the whole sphere), pseudo-randomly or by scrambled
Sobol points, with equal weights (the measure over ``n``); with ``D_max = inf`` the tail
``D > D_c`` is importance-sampled as ``D = D_c / t``, ``t`` uniform.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.legendre import leggauss

from ._checks import as_int, as_real_array
from .hamiltonians import asymmetries_from_polar
from .orientations import sphere_rule

__all__ = [
    "ATSDistribution",
    "FourWellATSDistribution",
    "ParameterSample",
    "STMDistribution",
    "StandardThreeLevelDistribution",
    "four_well_basis",
]

#: ``D_c / energy_scale_K`` of the composite rule for ``D_max = inf``.
_TAIL_START_FACTOR = 10.0
#: Default node count of the tail rule ``D = D_c / s^4``.
_TAIL_NODES = 12
#: Power ``m`` of the tail substitution ``t = D_c / D = s^m``.
_TAIL_POWER = 4
#: The default ``alpha`` count resolves anticrossings up to ``D = _ALPHA_RESOLVED_TAIL * D_c``.
_ALPHA_RESOLVED_TAIL = 1e2


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
    """

    params: dict[str, np.ndarray]
    weights: np.ndarray
    sampled: bool

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


# --------------------------------------------------------------------------- 1-D rules
def _gauss_legendre(n, lo, hi):
    """Gauss-Legendre nodes and weights on ``[lo, hi]``."""
    x, w = leggauss(n)
    half = 0.5 * (hi - lo)
    return lo + half * (x + 1.0), half * w


def _log_rule(n, lo, hi):
    """Gauss-Legendre in ``ln x`` on ``[lo, hi]``: nodes ``x`` and weights of ``dx / x``."""
    s, w = _gauss_legendre(n, math.log(lo), math.log(hi))
    return np.exp(s), w


def _graded_rule(n, hi, scale):
    """Nodes ``x = scale sinh(s)`` on ``(0, hi)`` and weights of ``dx`` (Gauss-Legendre in s)."""
    s, w = _gauss_legendre(n, 0.0, math.asinh(hi / scale))
    return scale * np.sinh(s), w * scale * np.cosh(s)


def _tail_rule(n, start):
    """``D = start / s^4``, ``s`` Gauss-Legendre on ``(0, 1]``: nodes and weights of ``dD / D``.

    ``dD / D = dt / t = 4 ds / s`` with ``t = s^4``.
    """
    s, w = _gauss_legendre(n, 0.0, 1.0)
    return start / s**_TAIL_POWER, _TAIL_POWER * w / s


def _two_ended_rule(n, scale, length):
    """Rule on ``[0, length]`` clustered at both ends; weights sum to ``length``.

    Each half gets ``ceil(n/2)`` Gauss-Legendre nodes in ``s`` with ``x = c sinh(s)`` from the
    near end (``s`` in ``[0, asinh(length / (2 c))]``): uniform spacing for ``x << c``,
    logarithmic for ``x >> c``.

    Parameters
    ----------
    n : int
        Total number of nodes (rounded up to even).
    scale : numpy.ndarray, shape (M,)
        Clustering scale ``c`` per row.
    length : float
        Length of the interval.

    Returns
    -------
    x, weights : numpy.ndarray, shape (M, 2 ceil(n/2))
    """
    half = (n + 1) // 2
    t, w = leggauss(half)
    scale = np.asarray(scale, dtype=float)[:, None]
    depth = np.arcsinh((0.5 * length) / scale)  # (M, 1)
    s = 0.5 * depth * (t + 1.0)
    x = scale * np.sinh(s)
    wx = 0.5 * depth * w * scale * np.cosh(s)
    return np.concatenate([x, length - x[:, ::-1]], axis=1), np.concatenate([wx, wx[:, ::-1]], axis=1)


def _alpha_rule(n, scale):
    """Angle rule on ``[0, pi/3]`` clustered at both ends, weights summing to ``2 pi``.

    :func:`_two_ended_rule` on ``[0, pi/3]`` with the factor 6 that extends it to
    ``[0, 2 pi]`` (the spectrum depends on ``alpha`` only via ``cos 3 alpha``).
    """
    alpha, weights = _two_ended_rule(n, scale, math.pi / 3.0)
    return alpha, 6.0 * weights


def _depth(length, scale):
    """Clustering depth ``asinh(length / (2 c))`` of :func:`_two_ended_rule`."""
    return math.asinh(0.5 * length / scale)


def _log_count(log_length):
    """Default Gauss-Legendre count for an analytic-in-a-strip integrand over ``log_length``."""
    return int(max(4, math.ceil(2.0 * log_length + 4.0)))


def _graded_count(log_length):
    """Default Gauss-Legendre count of the graded rule ``x = c sinh(s)`` over ``s`` in ``[0, log_length]``."""
    return int(max(6, math.ceil(2.6 * log_length + 6.0)))


def _alpha_count(log_length):
    """Default total node count of :func:`_alpha_rule` for the largest clustering depth."""
    return 2 * int(max(8, math.ceil(2.0 * log_length + 4.0)))


# --------------------------------------------------------------------------- common machinery
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

    def quadrature(self, nodes=None, level=0, energy_scale_K=None):
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

        Returns
        -------
        ParameterSample
        """
        scale = _energy_scale(energy_scale_K, self._infinite)
        counts = self.node_counts(nodes, level, scale)
        params, weights = self._rule(counts, scale)
        return ParameterSample(params=params, weights=weights, sampled=False)

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

    def _describe_amplitude(self, symbol, normalisation, default_text):
        if self.normalised:
            return f"{symbol} = {self.amplitude:.6g} (normalised: 1/{symbol} = {normalisation})"
        if getattr(self, self._amplitude_field) is not None:
            return f"{symbol} = {self.amplitude:.6g} (set value, not normalised)"
        return f"{symbol} = {self.amplitude:.6g} (set value: {default_text}; not normalised)"


def _tensor(*axes):
    """Flattened tensor product of 1-D (nodes, weights) pairs."""
    grids = np.meshgrid(*[a[0] for a in axes], indexing="ij")
    wgrids = np.meshgrid(*[a[1] for a in axes], indexing="ij")
    weights = np.prod([g.ravel() for g in wgrids], axis=0)
    return [g.ravel() for g in grids], weights


def _log_D_rule(counts, D_min, D_max, energy_scale):
    """Nodes and ``dD/D`` weights on ``[D_min, D_max]``, composite when ``D_max = inf``."""
    if math.isfinite(D_max):
        return _log_rule(counts["D"], D_min, D_max)
    start = _TAIL_START_FACTOR * energy_scale
    if start <= D_min:
        return _tail_rule(counts["D_tail"], D_min)
    inner = _log_rule(counts["D"], D_min, start)
    tail = _tail_rule(counts["D_tail"], start)
    return np.concatenate([inner[0], tail[0]]), np.concatenate([inner[1], tail[1]])


def _log_D_counts(D_min, D_max, energy_scale, fallback_scale):
    """Default counts of the ``D`` axes (``D`` and, for ``D_max = inf``, ``D_tail``)."""
    if math.isfinite(D_max):
        return {"D": _log_count(math.log(D_max / D_min))}
    scale = fallback_scale if energy_scale is None else energy_scale
    start = _TAIL_START_FACTOR * scale
    return {"D": _log_count(math.log(max(start, D_min) / D_min)), "D_tail": _TAIL_NODES}


def _alpha_resolved_D(D_min, D_max, energy_scale):
    """Largest ``D`` whose anticrossings the default ``alpha`` count is sized for.

    ``D_max`` when finite; else ``100 D_c``: beyond it the tail carries a fraction
    ``~ ln(100) / 100`` of the tail integral, and the rule there still clusters at ``D0 / 2D``.
    """
    if math.isfinite(D_max):
        return D_max
    return _ALPHA_RESOLVED_TAIL * max(_TAIL_START_FACTOR * energy_scale, D_min)


def _log_D_map(v, D_min, D_max, energy_scale):
    """Map uniform ``v`` to ``D`` and the importance weight ``1 / q(D)`` for ``dD/D``.

    Finite ``D_max``: log-uniform, ``1/q = ln(D_max/D_min)``. Infinite: a mixture, log-uniform on
    ``[D_min, D_c]`` with probability ``p = L / (L + 1)`` (``L = ln(D_c/D_min)``) and
    ``D = D_c / t``, ``t`` uniform on ``(0, 1]``, otherwise; then ``q = p / L`` or
    ``q = (1 - p) t`` per unit of ``dD/D``.
    """
    if math.isfinite(D_max):
        L = math.log(D_max / D_min)
        return D_min * np.exp(v * L), np.full(v.shape, L)
    start = max(_TAIL_START_FACTOR * energy_scale, D_min)
    L = math.log(start / D_min)
    p = L / (L + 1.0)
    inner = v < p
    D = np.empty_like(v)
    inv_q = np.empty_like(v)
    if p > 0:
        D[inner] = D_min * np.exp(v[inner] / p * L)
        inv_q[inner] = L / p
    t = 1.0 - (v[~inner] - p) / (1.0 - p)  # in (0, 1]
    D[~inner] = start / t
    inv_q[~inner] = 1.0 / ((1.0 - p) * t)
    return D, inv_q


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


# --------------------------------------------------------------------------- STM two-level
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
        d0min = _positive(self.delta0_min_K, "delta0_min_K")
        object.__setattr__(self, "delta0_min_K", d0min)
        object.__setattr__(
            self, "delta0_max_K", _upper(self.delta0_max_K, "delta0_max_K", d0min, "delta0_min_K")
        )
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

    def _rule(self, counts, energy_scale):
        delta = _graded_rule(counts["delta"], self.delta_max_K, self._graded_scale)
        delta0 = _log_rule(counts["delta0"], self.delta0_min_K, self.delta0_max_K)
        (d, d0), w = _tensor(delta, delta0)
        return {"delta": d, "delta0": d0}, self.amplitude * w

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


# --------------------------------------------------------------------------- three-level systems
def _three_level_params(D, alpha, D0):
    return {"E": asymmetries_from_polar(D, alpha), "D": D, "alpha": alpha, "D0": D0}


def _alpha_scale(D, D0):
    """Clustering scale of the angle rule: the anticrossing width ``~ D0 / D``."""
    return 0.5 * D0 / D


def _with_alpha(D, D0, w, n_alpha):
    """Attach the clustered ``alpha`` rule to every ``(D, D0)`` node and flatten."""
    alpha, wa = _alpha_rule(n_alpha, _alpha_scale(D, D0))
    k = alpha.shape[1]
    return np.repeat(D, k), alpha.ravel(), np.repeat(D0, k), (w[:, None] * wa).ravel()


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
    clustered at both ends on the scale ``D0 / (2 D)``, see the module docstring).
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
        d0min = _positive(self.D0_min_K, "D0_min_K")
        object.__setattr__(self, "D0_min_K", d0min)
        object.__setattr__(self, "D0_max_K", _upper(self.D0_max_K, "D0_max_K", d0min, "D0_min_K"))
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

    def _rule(self, counts, energy_scale):
        D, wD = _graded_rule(counts["D"], self.D_max_K, self._graded_scale)
        (D, D0), w = _tensor((D, wD * D), _log_rule(counts["D0"], self.D0_min_K, self.D0_max_K))
        D, alpha, D0, w = _with_alpha(D, D0, w, counts["alpha"])
        return _three_level_params(D, alpha, D0), self.amplitude * w

    def _map(self, u, energy_scale):
        D = self.D_max_K * np.sqrt(u[:, 0])
        D0 = self.D0_min_K * np.exp(u[:, 1] * self._log_D0)
        alpha = 2.0 * math.pi * u[:, 2]
        return _three_level_params(D, alpha, D0), np.full(len(u), self.measure / len(u))


@dataclass(frozen=True)
class _LogAsymmetryDistribution(_Distribution):
    """Shared cutoffs of the Eq. 8 family: ``P* dOmega dD/D dD0/D0``."""

    D_min_K: float
    D0_min_K: float
    D0_max_K: float
    D_max_K: float = math.inf
    P_star: float | None = None

    _amplitude_field = "P_star"
    _solid_angle = 2.0 * math.pi

    def __post_init__(self):
        dmin = _positive(self.D_min_K, "D_min_K")
        object.__setattr__(self, "D_min_K", dmin)
        object.__setattr__(self, "D_max_K", _upper(self.D_max_K, "D_max_K", dmin, "D_min_K", allow_inf=True))
        d0min = _positive(self.D0_min_K, "D0_min_K")
        object.__setattr__(self, "D0_min_K", d0min)
        object.__setattr__(self, "D0_max_K", _upper(self.D0_max_K, "D0_max_K", d0min, "D0_min_K"))
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

    def _D_D0_rule(self, counts, energy_scale):
        D_axis = _log_D_rule(counts, self.D_min_K, self.D_max_K, energy_scale)
        D0_axis = _log_rule(counts["D0"], self.D0_min_K, self.D0_max_K)
        return _tensor(D_axis, D0_axis)

    def _map_D_D0(self, u, energy_scale):
        D, inv_q = _log_D_map(u[:, 0], self.D_min_K, self.D_max_K, energy_scale)
        D0 = self.D0_min_K * np.exp(u[:, 1] * self._log_D0)
        weights = self.amplitude * self._solid_angle * self._log_D0 * inv_q / len(u)
        return D, D0, weights


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
    each ``(D, D0)`` node (module docstring). The default ``alpha`` count grows with
    ``ln(D_res / D0_min)``, ``D_res = D_max`` or ``100 D_c`` for ``D_max = inf``.
    Sampling draws ``alpha`` uniformly on ``[0, 2 pi)``.
    Parameters ``E`` (N, 3), ``D``, ``alpha``, ``D0``.
    """

    system_kind = "three_level"
    kind = "ats"
    _sample_dim = 3

    def describe(self):
        """One line for result metadata: the amplitude and whether it is normalised."""
        amp = self._describe_amplitude(
            "P*", "2 pi ln(D0_max/D0_min) ln(D_max/D_min)", "1/(2 pi) as D_max is infinite"
        )
        return (
            f"ATS distribution (Eq. 8) P* dalpha dD/D dD0/D0: {amp}; "
            f"D in [{self.D_min_K:g}, {self.D_max_K:g}] K, D0 in [{self.D0_min_K:g}, {self.D0_max_K:g}] K"
        )

    def _default_counts(self, energy_scale):
        fallback = self.D0_max_K
        counts = _log_D_counts(self.D_min_K, self.D_max_K, energy_scale, fallback)
        counts["D0"] = _log_count(self._log_D0)
        scale = fallback if energy_scale is None else energy_scale
        top = _alpha_resolved_D(self.D_min_K, self.D_max_K, scale)
        counts["alpha"] = _alpha_count(_depth(math.pi / 3.0, _alpha_scale(top, self.D0_min_K)))
        return counts

    def _rule(self, counts, energy_scale):
        (D, D0), w = self._D_D0_rule(counts, energy_scale)
        D, alpha, D0, w = _with_alpha(D, D0, w, counts["alpha"])
        return _three_level_params(D, alpha, D0), self.amplitude * w

    def _map(self, u, energy_scale):
        D, D0, weights = self._map_D_D0(u, energy_scale)
        alpha = 2.0 * math.pi * u[:, 2]
        return _three_level_params(D, alpha, D0), weights


# --------------------------------------------------------------------------- four wells
def four_well_basis():
    """Orthonormal basis of the asymmetry space ``{E in R^4 : sum E = 0}``, shape ``(4, 3)``.

    Columns ``(1, 1, -1, -1)/2``, ``(1, -1, 1, -1)/2``, ``(1, -1, -1, 1)/2``. Row ``i`` is the
    direction of vertex ``i`` of the regular tetrahedron
    (:func:`~tunnelsim.hamiltonians.regular_tetrahedron`) scaled to length ``sqrt(3)/2``, so
    ``E = D basis @ n`` is the asymmetry of a uniform potential gradient along ``n``, with
    ``sum E = 0`` and ``sum E^2 = D^2``.
    """
    return 0.5 * np.array(
        [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    )


#: ``E = M g`` for the gaps ``g = (E1 - E2, E2 - E3, E3 - E4)`` with ``sum E = 0``, shape (4, 3).
_GAPS_TO_ASYMMETRIES = 0.25 * np.array(
    [[3.0, 2.0, 1.0], [-1.0, 2.0, 1.0], [-1.0, -2.0, 1.0], [-1.0, -2.0, -3.0]]
)
_DIRECTION_RULES = ("chamber", "full", "product")


def _chamber_rule(n, scale):
    """Directions in the Weyl chamber ``E1 >= E2 >= E3 >= E4`` clustered at its walls.

    The chamber's walls are the degeneracy planes ``E_i = E_{i+1}``. Its points are
    ``E ~ M g`` with gaps ``g >= 0`` on the simplex ``g1 + g2 + g3 = 1``, written in collapsed
    coordinates ``g = (x, (1 - x) y, (1 - x)(1 - y))``, ``x, y`` in ``[0, 1]``: the walls are
    ``x = 0`` (``g1 = 0``), ``y = 0`` (``g2 = 0``), ``y = 1`` (``g3 = 0``), and ``x = 1`` is the
    triple point ``E2 = E3 = E4``. Both coordinates use :func:`_two_ended_rule`. With
    ``c = B^T M g`` (``B`` = :func:`four_well_basis`) the solid angle is
    ``dOmega = |c . (c_x x c_y)| / |c|^3 dx dy = |det(B^T M)| (1 - x) / |c|^3 dx dy``.

    Parameters
    ----------
    n : int
        Nodes per coordinate (rounded up to even); ``n^2`` directions per row.
    scale : numpy.ndarray, shape (M,)
        Clustering scale per row.

    Returns
    -------
    directions : numpy.ndarray, shape (M, n^2, 3)
        Unit vectors ``n`` with ``E = D four_well_basis() @ n`` in the chamber.
    weights : numpy.ndarray, shape (M, n^2)
        Solid-angle weights, normalised to sum to ``4 pi / 24`` per row.
    """
    x, wx = _two_ended_rule(n, scale, 1.0)
    y, wy = _two_ended_rule(n, scale, 1.0)
    x, y = x[:, :, None], y[:, None, :]
    g = np.stack(np.broadcast_arrays(x, (1.0 - x) * y, (1.0 - x) * (1.0 - y)), axis=-1)
    to_basis = four_well_basis().T @ _GAPS_TO_ASYMMETRIES  # (3, 3)
    c = g @ to_basis.T
    norm = np.linalg.norm(c, axis=-1)
    jacobian = abs(np.linalg.det(to_basis)) * (1.0 - x) / norm**3
    weights = wx[:, :, None] * wy[:, None, :] * jacobian
    # The Jacobian is smooth, but deep clustering leaves the chamber's middle coarse: make the
    # rule exact for constants (the chamber's solid angle 4 pi / 24) row by row.
    weights *= (math.pi / 6.0) / weights.sum(axis=(1, 2), keepdims=True)
    rows = c.shape[0]
    return (c / norm[..., None]).reshape(rows, -1, 3), weights.reshape(rows, -1)


def _chamber_count(depth):
    """Default nodes per chamber coordinate for the largest clustering depth."""
    return 2 * int(max(6, math.ceil(depth + 4.0)))


@dataclass(frozen=True)
class FourWellATSDistribution(_LogAsymmetryDistribution):
    """Four-well analogue of Eq. 8: ``dP = P* dOmega dD/D dD0/D0``.

    The choice (physics.md section 4): in the 3-D asymmetry space ``E1 + ... + E4 = 0`` take
    ``P proportional to 1 / (D0 D^3)``, ``D^2 = sum E_i^2``, which keeps the radial measure
    ``dD/D`` of Eq. 8 (volume element ``D^2 dD dOmega``). The direction ``n`` is uniform on the
    unit 2-sphere of that subspace and ``E = D four_well_basis() @ n``.

    Parameters
    ----------
    D_min_K, D0_min_K, D0_max_K, D_max_K : float
        Cutoffs in K as for :class:`ATSDistribution` (``D_max`` may be ``inf``).
    P_star : float, optional
        Default: normalised ``1/P* = 4 pi ln(D0_max/D0_min) ln(D_max/D_min)`` when every cutoff
        is finite, else ``P* = 1/(4 pi)`` (the four-well counterpart of the seed's ``1/(2 pi)``:
        one over the solid angle of the asymmetry directions).
    direction_rule : {"chamber", "full", "product"}, optional
        Quadrature of the direction ``n`` (sampling always draws ``n`` uniformly):

        * ``"chamber"`` (default): as for the three-well ``alpha``, for ``D >> D0`` two wells are
          degenerate on the planes ``E_i = E_j`` (six great circles of the sphere), with
          anticrossing features of width ``~ D0 / D``. These planes are the mirrors of the
          permutation group of the wells, which cuts the sphere into 24 Weyl chambers, images
          of ``E1 >= E2 >= E3 >= E4``. For the regular tetrahedron every permutation of the
          wells is a symmetry of the tetrahedron, so once the field direction is averaged over
          the whole sphere the integrand is the same in every chamber: the rule integrates one
          chamber with weight 24, with nodes clustered at its walls on the scale ``D0 / (2 D)``
          of each ``(D, D0)`` node (:func:`_chamber_rule`).
        * ``"full"``: the same clustered nodes mapped into all 24 chambers (24 times the nodes);
          valid for any tetrahedron geometry.
        * ``"product"``: the unclustered product rule
          :func:`~tunnelsim.orientations.sphere_rule`; adequate only for ``D_max / D0_min`` of a
          few.

    Notes
    -----
    Quadrature axes ``"D"`` (``"D_tail"``), ``"D0"`` as for :class:`ATSDistribution`, and
    ``"direction"``: for ``"chamber"`` and ``"full"`` the nodes per chamber coordinate
    (``n^2`` directions per chamber; default from the clustering depth
    ``asinh(D_res / D0_min)``); for ``"product"`` the number ``m`` of polar nodes of the
    sphere rule of degree ``2 m - 1`` (``2 m^2`` directions, default 6). Doubling the count
    doubles the resolution of both angular coordinates. Parameters ``E`` (N, 4), ``D``, ``D0``
    and ``direction`` (N, 3).
    """

    direction_rule: str = "chamber"

    system_kind = "four_well"
    kind = "four_well_ats"
    _sample_dim = 4
    _solid_angle = 4.0 * math.pi

    def __post_init__(self):
        super().__post_init__()
        if self.direction_rule not in _DIRECTION_RULES:
            raise ValueError(f"direction_rule must be one of {_DIRECTION_RULES}, got {self.direction_rule!r}")

    def describe(self):
        """One line for result metadata: the amplitude and whether it is normalised."""
        amp = self._describe_amplitude(
            "P*", "4 pi ln(D0_max/D0_min) ln(D_max/D_min)", "1/(4 pi) as D_max is infinite"
        )
        return (
            f"four-well ATS distribution P* dOmega dD/D dD0/D0: {amp}; "
            f"D in [{self.D_min_K:g}, {self.D_max_K:g}] K, D0 in [{self.D0_min_K:g}, {self.D0_max_K:g}] K"
        )

    def _default_counts(self, energy_scale):
        counts = _log_D_counts(self.D_min_K, self.D_max_K, energy_scale, self.D0_max_K)
        counts["D0"] = _log_count(self._log_D0)
        if self.direction_rule == "product":
            counts["direction"] = 6
        else:
            scale = self.D0_max_K if energy_scale is None else energy_scale
            top = _alpha_resolved_D(self.D_min_K, self.D_max_K, scale)
            counts["direction"] = _chamber_count(_depth(1.0, _alpha_scale(top, self.D0_min_K)))
        return counts

    def _rule(self, counts, energy_scale):
        (D, D0), w = self._D_D0_rule(counts, energy_scale)
        if self.direction_rule == "product":
            sphere = sphere_rule(2 * counts["direction"] - 1)
            n = np.broadcast_to(sphere.nodes, (len(D),) + sphere.nodes.shape)
            wn = np.broadcast_to(self._solid_angle * sphere.weights, (len(D), len(sphere)))
        else:
            n, wn = _chamber_rule(counts["direction"], _alpha_scale(D, D0))
            if self.direction_rule == "chamber":
                wn = 24.0 * wn
            else:
                E = n @ four_well_basis().T  # (M, k, 4)
                images = [E[..., list(p)] for p in itertools.permutations(range(4))]
                n = np.concatenate(images, axis=1) @ four_well_basis()
                wn = np.concatenate([wn] * 24, axis=1)
        k = n.shape[1]
        weights = (w[:, None] * wn).ravel()
        params = self._params(np.repeat(D, k), np.repeat(D0, k), n.reshape(-1, 3))
        return params, self.amplitude * weights

    @staticmethod
    def _params(D, D0, n):
        return {"E": D[:, None] * (n @ four_well_basis().T), "D": D, "D0": D0, "direction": n}

    def _map(self, u, energy_scale):
        D, D0, weights = self._map_D_D0(u, energy_scale)
        z = 2.0 * u[:, 2] - 1.0
        azimuth = 2.0 * math.pi * u[:, 3]
        r = np.sqrt(1.0 - z * z)
        n = np.stack([r * np.cos(azimuth), r * np.sin(azimuth), z], axis=-1)
        return self._params(D, D0, n), weights
