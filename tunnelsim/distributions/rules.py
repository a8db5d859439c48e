"""Quadrature rules and sampling maps of the parameter axes of the distributions.

The rules are all Gauss-Legendre after a change of variable, so node doubling converges. Each
returns nodes and the weights of the axis measure (``dx``, ``dx / x`` ...) without the amplitude;
the distributions (:mod:`~tunnelsim.distributions.stm`, ...) combine them into tensor rules.

Quadrature rules
----------------
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
  degeneracy planes), see :class:`~tunnelsim.distributions.FourWellATSDistribution`.

Integrands must be symmetric under relabelling the wells (every orientation-averaged observable
is): the ``alpha`` rule samples only ``[0, pi/3]`` and the default four-well rule one chamber,
so a lone asymmetry component such as ``E1`` is not integrated correctly, while
``E1^2 + E2^2 + E3^2`` or ``E1 E2 E3`` are.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial.legendre import leggauss, legroots, legvander

#: ``D_c / energy_scale_K`` of the composite rule for ``D_max = inf``.
_TAIL_START_FACTOR = 10.0
#: Default node count of the tail rule ``D = D_c / s^4``.
_TAIL_NODES = 12
#: Half-width of the strip about a log (or graded) axis in which the integrands are analytic:
#: their singularities sit at ``x = i pi k_B T``, ``i D0 phi`` ... (module docstring).
_STRIP = math.pi / 2.0
#: Power ``m`` of the tail substitution ``t = D_c / D = s^m``.
_TAIL_POWER = 4
#: The default ``alpha`` count resolves anticrossings up to ``D = _ALPHA_RESOLVED_TAIL * D_c``.
_ALPHA_RESOLVED_TAIL = 1e2


# --------------------------------------------------------------------------- 1-D rules
@functools.lru_cache(maxsize=64)
def _kronrod_unit(m):
    """Gauss-Kronrod rule on ``[-1, 1]`` with its two embedded sub-rules, for ``m >= 1``.

    Returns ``(x, w_K, w_G, w_L)``, each of length ``2 m + 1``: the Kronrod nodes and weights
    (exact for polynomials of degree ``3 m + 1``, ``3 m + 2`` for odd ``m``), the ``m``-point
    Gauss-Legendre weights on their nodes (degree ``2 m - 1``) and the interpolatory weights on
    the ``m + 1`` Kronrod-only nodes (degree ``m``, ``m + 1`` for even ``m``); each sub-rule is
    zero on the nodes it does not use. The Kronrod-only nodes are the roots of the Stieltjes
    polynomial ``E = P_{m+1} + sum_{j <= m} c_j P_j`` with ``int P_m E P_k dx = 0``,
    ``k = 0 ... m`` (solved in the Legendre basis, the integrals by Gauss-Legendre); the weights
    solve the moment equations in the Legendre basis. Positive for every ``m`` used here (tested).
    """
    g, wg = leggauss(m)
    q, wq = leggauss(2 * m + 2)
    V = legvander(q, m + 1)
    A = (wq * V[:, m])[:, None] * V[:, : m + 1]
    coef = np.append(np.linalg.solve(A.T @ V[:, : m + 1], -(A.T @ V[:, m + 1])), 1.0)
    e = np.sort(legroots(coef).real)
    x = np.sort(np.concatenate([g, e]))

    def moments(nodes, degree):
        rhs = np.zeros(degree + 1)
        rhs[0] = 2.0
        return np.linalg.solve(legvander(nodes, degree).T, rhs)

    w_K = moments(x, 2 * m)
    w_G, w_L = np.zeros_like(x), np.zeros_like(x)
    w_G[np.searchsorted(x, g)] = wg
    w_L[np.searchsorted(x, e)] = moments(e, m)
    return x, w_K, w_G, w_L


#: Null rules per Gauss-Kronrod axis (:func:`kronrod_null_rules`): the top Legendre coefficients.
NULL_RULES = 12


@functools.lru_cache(maxsize=64)
def kronrod_null_rules(m, count=NULL_RULES):
    """Null rules on the nodes of :func:`_kronrod_unit` ``(m)``: the top Legendre coefficients.

    The ``2 m + 1`` node values ``g(x_j)`` determine the interpolating polynomial
    ``p = sum_{k <= 2 m} c_k P~_k`` (``P~_k = sqrt((2 k + 1) / 2) P_k``, orthonormal on
    ``[-1, 1]``); ``c = V^-1 g`` with ``V_jk = P~_k(x_j)``. Row ``j`` of the result is the row
    ``k = 2 m - j`` of ``V^-1``: a weight vector that gives ``c_k`` and annihilates every
    polynomial of degree ``< k`` (a null rule of degree ``k - 1``, Berntsen and Espelid).
    Row 0 is proportional to the difference of the Kronrod rule and its Gauss sub-rule
    (``Q_K - Q_G = -c_{2m} G[P~_{2m}]``: both rules are exact on ``p``).

    Returns
    -------
    weights : numpy.ndarray, shape (J, 2 m + 1)
        ``J = min(count, 2 m)`` null rules (``c_0``, the integral, is never one).
    indices : tuple of int
        The Legendre index ``k`` of each row (``2 m, 2 m - 1, ...``); row ``j`` annihilates
        polynomials up to degree ``k_j - 1``.
    """
    x = _kronrod_unit(m)[0]
    n = 2 * m
    V = legvander(x, n) * np.sqrt(np.arange(n + 1) + 0.5)
    inv = np.linalg.inv(V)
    indices = tuple(range(n, max(0, n - count), -1))
    return inv[list(indices)], indices


@functools.lru_cache(maxsize=64)
def _gauss_coefficient_factor(m):
    """``|G[P~_{2m}]|``: ``|Q_K - Q_G| = |c_{2m}|`` times this (:func:`kronrod_null_rules`)."""
    x, _, w_G, _ = _kronrod_unit(m)
    return float(abs(w_G @ (legvander(x, 2 * m)[:, -1] * math.sqrt(2 * m + 0.5))))


@functools.lru_cache(maxsize=64)
def kronrod_error_functional(m):
    """``|K[P~_k] - int P~_k|`` for ``k = 0 ... 12 m + 40``: the error of the Kronrod rule of
    :func:`_kronrod_unit` ``(m)`` on each orthonormal Legendre polynomial (zero up to its degree).

    Just past the degree, ``~ 1e-2`` (not ``~ 1`` as for the Gauss rule, :func:`_gauss_coefficient_factor`),
    growing to ``O(1)`` near ``k = 4 m``; the error of ``K`` on ``sum_k a_k P~_k`` is ``sum_k a_k`` times this.
    """
    x, w_K, _, _ = _kronrod_unit(m)
    k_max = 12 * m + 40
    values = w_K @ (legvander(x, k_max) * np.sqrt(np.arange(k_max + 1) + 0.5))
    values[0] -= math.sqrt(2.0)
    values[: kronrod_degrees(m)[0] + 1] = 0.0
    return np.abs(values)


def _unit_lower(m):
    """Sub-rule weights on the unit Kronrod nodes: ``"G"``, ``"L"`` and the null rules ``"N0"...``."""
    _, _, w_G, w_L = _kronrod_unit(m)
    nulls, _ = kronrod_null_rules(m)
    return {"G": w_G, "L": w_L, **{f"N{j}": v for j, v in enumerate(nulls)}}


def kronrod_degrees(m):
    """Polynomial degrees ``(K, G, L)`` integrated exactly by :func:`_kronrod_unit` ``(m)``."""
    return 3 * m + 1 + m % 2, 2 * m - 1, m + 1 - m % 2


def _kronrod_order(n):
    """Gauss points ``m`` of the Kronrod rule standing for a count of ``n`` nodes: ``2 m + 1 >= n``."""
    return max(1, n // 2)


class Embedded:
    """Weights of the sub-rules embedded in an axis rule, and the degrees of the three rules.

    Attributes
    ----------
    lower : dict of str to numpy.ndarray
        ``"G"`` (the Gauss rule inside the Kronrod rule) and ``"L"`` (the rule on the
        Kronrod-only nodes): weights on the same nodes as the rule, zero where unused.
    degrees : tuple of int or None
        Polynomial degrees ``(K, G, L)`` of the rule and its two sub-rules (on the unmapped
        variable); None where the sub-rules are not polynomial (then no extrapolation is made).
    rate : float or None
        ``ln rho`` of the Bernstein ellipse in which the axis's integrands are analytic, from the
        strip half-width the axis guarantees (module docstring): a rule of degree ``d`` errs by
        ``~ rho^-d``. None where no such bound is known.
    periodic : bool
        The rule is the trapezoid rule of a periodic variable (sub-rules on every second and
        fourth point), whose errors fall geometrically with the node count.
    null : tuple of int or None
        Gauss-Kronrod axes: the Legendre index ``k`` of each null rule ``"N0"``, ``"N1"``, ...
        in ``lower`` (:func:`kronrod_null_rules`: ``"Nj"`` gives the orthonormal Legendre
        coefficient ``c_k`` of the integrand along the axis); None: no null rules.
    composite : bool
        The axis is several Gauss-Kronrod rules side by side (the two halves of
        :func:`_two_ended_rule`) whose sub-rules and null rules act on every part at once.
    index : dict of str to numpy.ndarray or None
        Tensor structure, for the error estimate's per-axis sums: ``index[k]`` (integer, the
        shape of ``lower[k]``) is each node's position along the coordinate that sub-rule ``k``
        acts on, such that ``lower[k] = weights * f_k[index[k]]`` with ``f_k`` a function of that
        position alone (``weights`` the main rule's). Sub-rules without an entry (None: none
        has one) are not known to be of this form. Kept by :meth:`scaled`; :meth:`with_lower`
        drops it unless the new positions are given, so that a construction that does not
        carry it falls back to full weight rows.
    """

    __slots__ = ("lower", "degrees", "rate", "periodic", "null", "composite", "index")

    def __init__(self, lower, degrees, rate=None, periodic=False, null=None, composite=False, index=None):
        self.lower = lower
        self.degrees = degrees
        self.rate = rate
        self.periodic = periodic
        self.null = null
        self.composite = composite
        self.index = index

    def scaled(self, factor):
        """The same sub-rules with every weight multiplied by ``factor`` (a Jacobian)."""
        return self.with_lower({k: v * factor for k, v in self.lower.items()}, self.index)

    def with_lower(self, lower, index=None):
        """Other sub-rule weights (the same axis in a larger tensor rule), same degrees and rate;
        ``index``: the nodes' positions for those weights (:attr:`index`), else none."""
        return Embedded(lower, self.degrees, self.rate, self.periodic, self.null, self.composite, index)

    def reindexed(self, lower, take):
        """:meth:`with_lower` for a larger rule whose node ``j`` lies on node ``take(j)`` of this
        one: ``take`` maps each of this rule's index arrays to the new nodes."""
        if self.index is None:
            return self.with_lower(lower)
        taken = {}  # sub-rules share their position arrays: map each once
        for v in self.index.values():
            if id(v) not in taken:
                taken[id(v)] = take(v)
        return self.with_lower(lower, {k: taken[id(v)] for k, v in self.index.items()})


def _ellipse_rate(strip, half_length):
    """``ln rho`` of the largest Bernstein ellipse inside a strip of half-width ``strip`` about an
    interval of half-length ``half_length``: ``rho = b + sqrt(1 + b^2)``, ``b = strip / half_length``."""
    return math.asinh(strip / half_length)


def _gauss_legendre(n, lo, hi, embedded=False, strip=None):
    """Gauss-Legendre nodes and weights on ``[lo, hi]``.

    With ``embedded`` the Gauss-Kronrod rule of ``2 m + 1`` nodes, ``m = max(1, n // 2)``,
    instead, returning ``(x, w, Embedded)``; ``strip``, the half-width of the strip about
    ``[lo, hi]`` in which the integrands are analytic, sets its ``rate``.
    """
    half = 0.5 * (hi - lo)
    if not embedded:
        x, w = leggauss(n)
        return lo + half * (x + 1.0), half * w
    m = _kronrod_order(n)
    x, w_K, _, _ = _kronrod_unit(m)
    rate = None if strip is None or half <= 0 else _ellipse_rate(strip, half)
    lower = {k: half * v for k, v in _unit_lower(m).items()}
    position = np.arange(x.size)
    return (lo + half * (x + 1.0), half * w_K,
            Embedded(lower, kronrod_degrees(m), rate, null=kronrod_null_rules(m)[1],
                     index={k: position for k in lower}))


def _mapped(rule, nodes, jacobian):
    """``(nodes, weights * jacobian[, Embedded scaled])`` of a rule in a mapped variable."""
    if len(rule) == 2:
        return nodes, rule[1] * jacobian
    return nodes, rule[1] * jacobian, rule[2].scaled(jacobian)


def _log_rule(n, lo, hi, embedded=False):
    """Gauss-Legendre in ``ln x`` on ``[lo, hi]``: nodes ``x`` and weights of ``dx / x``."""
    rule = _gauss_legendre(n, math.log(lo), math.log(hi), embedded, strip=_STRIP)
    return _mapped(rule, np.exp(rule[0]), 1.0)


def _graded_rule(n, hi, scale, embedded=False):
    """Nodes ``x = scale sinh(s)`` on ``(0, hi)`` and weights of ``dx`` (Gauss-Legendre in s)."""
    rule = _gauss_legendre(n, 0.0, math.asinh(hi / scale), embedded, strip=_STRIP)
    s = rule[0]
    return _mapped(rule, scale * np.sinh(s), scale * np.cosh(s))


def _tail_rule(n, start, embedded=False):
    """``D = start / s^4``, ``s`` Gauss-Legendre on ``(0, 1]``: nodes and weights of ``dD / D``.

    ``dD / D = dt / t = 4 ds / s`` with ``t = s^4``.
    """
    rule = _gauss_legendre(n, 0.0, 1.0, embedded)
    s = rule[0]
    return _mapped(rule, start / s**_TAIL_POWER, _TAIL_POWER / s)


def _two_ended_rule(n, scale, length, embedded=False):
    """Rule on ``[0, length]`` clustered at both ends; weights sum to ``length``.

    Each half gets ``ceil(n/2)`` Gauss-Legendre nodes in ``s`` with ``x = c sinh(s)`` from the
    near end (``s`` in ``[0, asinh(length / (2 c))]``): uniform spacing for ``x << c``,
    logarithmic for ``x >> c``. With ``embedded`` each half is the Gauss-Kronrod rule of
    :func:`_gauss_legendre` instead, and an :class:`Embedded` (both halves' sub-rules) is returned too.

    Parameters
    ----------
    n : int
        Total number of nodes (rounded up to even).
    scale : numpy.ndarray, shape (M,)
        Clustering scale ``c`` per row.
    length : float
        Length of the interval.
    embedded : bool, optional
        Gauss-Kronrod halves with their embedded sub-rules.

    Returns
    -------
    x, weights : numpy.ndarray, shape (M, k)
        ``k = 2 ceil(n/2)``, or ``2 (2 m + 1)`` with ``m = max(1, ceil(n/2) // 2)`` when embedded.
    embedded : Embedded
        Only with ``embedded``; weights of shape (M, k).
    """
    half = (n + 1) // 2
    if embedded:
        m = _kronrod_order(half)
        t, w, _, _ = _kronrod_unit(m)
        lower = _unit_lower(m)
    else:
        t, w = leggauss(half)
        lower = {}
    scale = np.asarray(scale, dtype=float)[:, None]
    depth = np.arcsinh((0.5 * length) / scale)  # (M, 1)
    s = 0.5 * depth * (t + 1.0)
    x = scale * np.sinh(s)
    jacobian = 0.5 * depth * scale * np.cosh(s)

    def both_halves(weights):
        wx = weights * jacobian
        return np.concatenate([wx, wx[:, ::-1]], axis=1)

    def one_half(weights, part):
        wx = weights * jacobian
        zero = np.zeros_like(wx)
        return np.concatenate([wx, zero] if part == 0 else [zero, wx[:, ::-1]], axis=1)

    nodes = np.concatenate([x, length - x[:, ::-1]], axis=1)
    if not embedded:
        return nodes, both_halves(w)
    # the sub-rules act on both halves at once; each null rule on one half ("Nj": the first,
    # "Nj'": the second, as seen from its own end)
    subs = {k: both_halves(v) for k, v in lower.items() if not k.startswith("N")}
    for k, v in lower.items():
        if k.startswith("N"):
            subs[k], subs[k + "'"] = one_half(v, 0), one_half(v, 1)
    position = np.broadcast_to(np.arange(nodes.shape[1]), nodes.shape)
    return nodes, both_halves(w), Embedded(subs, kronrod_degrees(m), null=kronrod_null_rules(m)[1], composite=True,
                                           index={k: position for k in subs})


def _alpha_rule(n, scale, embedded=False):
    """Angle rule on ``[0, pi/3]`` clustered at both ends, weights summing to ``2 pi``.

    :func:`_two_ended_rule` on ``[0, pi/3]`` with the factor 6 that extends it to
    ``[0, 2 pi]`` (the spectrum depends on ``alpha`` only via ``cos 3 alpha``).
    """
    rule = _two_ended_rule(n, scale, math.pi / 3.0, embedded)
    return _mapped(rule, rule[0], 6.0)


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


def _alpha_scale(D, D0):
    """Clustering scale of the angle rule: the anticrossing width ``~ D0 / D``."""
    return 0.5 * D0 / D


# --------------------------------------------------------------------------- tensor products
def _tensor(*axes):
    """Flattened tensor product of 1-D (nodes, weights) pairs.

    An axis may be ``(nodes, weights, {name: Embedded})``; then the result also holds, for each
    name, the product weights with that axis's factor replaced by each sub-rule's
    (``(grids, weights, {name: Embedded})``).
    """
    grids = np.meshgrid(*[a[0] for a in axes], indexing="ij")
    factors = [a[1] for a in axes]
    positions = np.meshgrid(*[np.arange(len(a[1])) for a in axes], indexing="ij")

    def product(fs):
        wgrids = np.meshgrid(*fs, indexing="ij")
        return np.prod([g.ravel() for g in wgrids], axis=0)

    weights = product(factors)
    if all(len(a) == 2 for a in axes):
        return [g.ravel() for g in grids], weights
    embedded = {}
    for i, a in enumerate(axes):
        for name, emb in (a[2] if len(a) > 2 else {}).items():
            lower = {k: product(factors[:i] + [v] + factors[i + 1:]) for k, v in emb.lower.items()}
            embedded[name] = emb.reindexed(lower, lambda v, p=positions[i].ravel(): v[p])
    return [g.ravel() for g in grids], weights, embedded


# --------------------------------------------------------------------------- the asymmetry D
def _log_D_rule(counts, D_min, D_max, energy_scale, embedded=False):
    """Nodes and ``dD/D`` weights on ``[D_min, D_max]``, composite when ``D_max = inf``.

    With ``embedded`` also ``{axis: Embedded}`` for the axes ``"D"`` and (infinite ``D_max``)
    ``"D_tail"``, each with the other part's weights unchanged.
    """
    if math.isfinite(D_max):
        rule = _log_rule(counts["D"], D_min, D_max, embedded)
        return rule if not embedded else (rule[0], rule[1], {"D": rule[2]})
    start = _TAIL_START_FACTOR * energy_scale
    if start <= D_min:
        rule = _tail_rule(counts["D_tail"], D_min, embedded)
        return rule if not embedded else (rule[0], rule[1], {"D_tail": rule[2]})
    inner = _log_rule(counts["D"], D_min, start, embedded)
    tail = _tail_rule(counts["D_tail"], start, embedded)
    nodes, weights = np.concatenate([inner[0], tail[0]]), np.concatenate([inner[1], tail[1]])
    if not embedded:
        return nodes, weights
    def other(part, key):
        """The other part's weights in a sub-rule of one part (zero in a null rule)."""
        return np.zeros_like(part) if key.startswith("N") else part

    # each sub-rule is the main weights times a factor of the position in the joined D array
    # (the sub-rule's factor on its own part, 1 or 0 on the other)
    position = np.arange(nodes.size)
    parts = {
        "D": inner[2].with_lower({k: np.concatenate([v, other(tail[1], k)]) for k, v in inner[2].lower.items()},
                                 {k: position for k in inner[2].lower}),
        "D_tail": tail[2].with_lower({k: np.concatenate([other(inner[1], k), v]) for k, v in tail[2].lower.items()},
                                     {k: position for k in tail[2].lower}),
    }
    return nodes, weights, parts


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
