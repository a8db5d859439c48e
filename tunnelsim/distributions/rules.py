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

import math

import numpy as np
from numpy.polynomial.legendre import leggauss

#: ``D_c / energy_scale_K`` of the composite rule for ``D_max = inf``.
_TAIL_START_FACTOR = 10.0
#: Default node count of the tail rule ``D = D_c / s^4``.
_TAIL_NODES = 12
#: Power ``m`` of the tail substitution ``t = D_c / D = s^m``.
_TAIL_POWER = 4
#: The default ``alpha`` count resolves anticrossings up to ``D = _ALPHA_RESOLVED_TAIL * D_c``.
_ALPHA_RESOLVED_TAIL = 1e2


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


def _alpha_scale(D, D0):
    """Clustering scale of the angle rule: the anticrossing width ``~ D0 / D``."""
    return 0.5 * D0 / D


# --------------------------------------------------------------------------- tensor products
def _tensor(*axes):
    """Flattened tensor product of 1-D (nodes, weights) pairs."""
    grids = np.meshgrid(*[a[0] for a in axes], indexing="ij")
    wgrids = np.meshgrid(*[a[1] for a in axes], indexing="ij")
    weights = np.prod([g.ravel() for g in wgrids], axis=0)
    return [g.ravel() for g in grids], weights


# --------------------------------------------------------------------------- the asymmetry D
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
