"""Error of the planar orientation rule read from the Aharonov-Bohm harmonics of its integrand.

For the three-well system (Eq. 6) the field enters only through the Aharonov-Bohm phase of Eq. 7,
``phi = omega u`` with ``omega = phase_per_tesla((Q/e) S, 1) B`` and ``u = cos(theta)`` in
``[0, 1]``. The spectrum is ``2 pi`` periodic in ``phi`` (one flux quantum is a gauge
transformation) and even (``H(-phi) = H(phi)*``), so for every instance, and for any weighted sum
of instances, the orientation integrands are

* heat capacity and entropy: ``G(omega u)``, ``G`` even;
* magnetisation ``M = -dF/dB = -u (dphi/dB)(u=1) dF/dphi``: ``u G(omega u)``, ``G`` odd;
* susceptibility ``dM/dH``: ``u^2 G(omega u)``, ``G`` even,

with ``G`` a ``2 pi`` periodic function: a cosine (even) or sine (odd) series
``sum_n a_n psi(n phi)``. The error of the Gauss-Kronrod rule on ``u^j psi(n omega u)`` is known
exactly, ``e_n`` (:func:`harmonic_rule_errors`), so the error of the rule is
``sum_n a_n e_n``. Past about half an Aharonov-Bohm period at ``u = 1`` the Legendre coefficients
in ``u`` are pre-asymptotic on the rule's nine nodes (they stay flat up to degree ``~ omega / 2``
and then fall faster than geometrically, :mod:`tunnelsim.error_estimates`), while the harmonics
are what the node values resolve directly. Per ``(T, B)`` point and observable
(:func:`harmonic_axis_error`):

1. the node values ``F_k = sum_i w_i f_i(u_k)`` are recovered from the main and null-rule rows of
   the same pass (``2 m + 1`` independent rows on ``2 m + 1`` nodes; no further spectra);
2. ``g_k = F_k / u_k^j`` is fitted by least squares with the harmonics ``n <= N`` the nodes
   resolve: ``N omega <=`` :data:`RESOLVED_PHASE_PER_DEGREE` ``d_K`` and at most ``m`` non-constant
   harmonics (at least one);
3. the error of the fitted series, ``|sum_{n <= N} a_n e_n|``, plus a tail for the harmonics past
   ``N``: the first with amplitude ``a_{N+1}``, the larger of the residual's amplitude
   ``sqrt(2 sum r^2 / dof)`` (an unresolved harmonic aliases into the residual) and the fitted
   decay ``|a_N| q``, ``q = |a_N / a_{N-1}|`` (or ``a_{N+1} / |a_N|`` with one harmonic), and
   the further ones decaying by ``q`` (at most :data:`HARMONIC_DECAY_MAX`);
4. times the safety factor :data:`HARMONIC_SAFETY`, and no larger than that factor times the
   Gauss sub-rule's own error ``|Q_G - Q_K|`` (the Kronrod value is the better of the two; the
   tail sums ``|e_n|`` whose signed sum can cancel, which at low T and moderate phase would
   otherwise report errors of the order of the value; in
   :func:`tunnelsim.error_estimates.embedded_axis_errors`).

It is used where ``omega >=`` :data:`HARMONIC_MIN_PHASE_RAD` on rules of at most
:data:`HARMONIC_MAX_NODES` nodes (the default has nine); below that phase the harmonics are not
separable on ``[0, omega]`` (they are all nearly polynomials in ``u``) and the Legendre null rules
of :mod:`tunnelsim.error_estimates` are the right reading. The numbers are set with
``benchmarks/error_estimate_honesty.py`` alone (``benchmarks/error_estimate_honesty.md``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "HARMONIC_DECAY_MAX",
    "HARMONIC_FORMS",
    "HARMONIC_MAX_NODES",
    "HARMONIC_MIN_PHASE_RAD",
    "HARMONIC_SAFETY",
    "RESOLVED_PHASE_PER_DEGREE",
    "harmonic_axis_error",
    "harmonic_rule_errors",
    "node_values",
]

#: ``{observable: (j, parity)}``: the orientation integrand is ``u^j G(omega u)`` with ``G`` even or odd.
HARMONIC_FORMS = {
    "magnetization": (1, "odd"),
    "susceptibility": (2, "even"),
    "heat_capacity": (0, "even"),
    "entropy": (0, "even"),
}
#: Smallest Aharonov-Bohm phase at ``u = 1`` (rad) for which the harmonic reading is used.
HARMONIC_MIN_PHASE_RAD = 2.0
#: Highest fitted phase ``N omega`` per degree of the Kronrod rule (16 rad for the nine-node rule, degree 13).
RESOLVED_PHASE_PER_DEGREE = 16.0 / 13.0
#: Safety factor of the harmonic estimate (set by the honesty table alone).
HARMONIC_SAFETY = 2.0
#: Largest decay per harmonic assumed for the unresolved tail.
HARMONIC_DECAY_MAX = 0.95
#: Largest orientation rule (nodes) read from the harmonics: larger rules resolve the decay of the
#: Legendre coefficients themselves, and the fit would cost O(K^3) per point.
HARMONIC_MAX_NODES = 17
#: Harmonics summed in the tail past the last fitted one.
_TAIL_TERMS = 40


def node_values(weights, null_rows, totals, null_totals):
    """Per-node sums ``F_k`` of a ``(2 m + 1)``-node rule from its main and ``2 m`` null-rule totals.

    Parameters
    ----------
    weights : numpy.ndarray, shape (K,)
        The main rule's weights.
    null_rows : numpy.ndarray, shape (K - 1, K)
        The null rules' weights.
    totals : numpy.ndarray
        ``sum_k w_k F_k`` (any shape ``S``).
    null_totals : numpy.ndarray, shape (K - 1, *S)
        ``sum_k n_jk F_k`` for each null rule.

    Returns
    -------
    numpy.ndarray, shape (K, *S)
    """
    A = np.vstack([np.asarray(weights, dtype=float)[None, :], np.asarray(null_rows, dtype=float)])
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"node values need {A.shape[1] - 1} null rules on {A.shape[1]} nodes, got {A.shape[0] - 1}")
    Y = np.concatenate([np.asarray(totals, dtype=float)[None], np.asarray(null_totals, dtype=float)])
    return np.linalg.solve(A, Y.reshape(A.shape[0], -1)).reshape(Y.shape)


def _psi(parity, x):
    return np.cos(x) if parity == "even" else np.sin(x)


@functools.lru_cache(maxsize=8)
def _legendre_unit(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _moments(j, parity, k):
    """``int_0^1 u^j psi(k u) du`` for ``k >= 0``: closed forms for ``j <= 2`` and ``k >= 1`` (no
    cancellation worse than ~10x there), Gauss-Legendre with 64 nodes below ``k = 1`` and for other ``j``."""
    k = np.asarray(k, dtype=float)
    out = np.empty(k.shape)
    small = k < 1.0
    if np.any(small) or j > 2:
        x, w = _legendre_unit(64)
        pick = small if j <= 2 else np.ones(k.shape, dtype=bool)
        if j > 2 and np.max(k, initial=0.0) > 40.0:
            x, w = _legendre_unit(int(math.ceil(np.max(k) / 2.0)) + 64)
        out[pick] = (_psi(parity, np.outer(k[pick], x)) * x**j) @ w
        if j > 2:
            return out
    big = ~small
    kb = k[big]
    s, c = np.sin(kb), np.cos(kb)
    if parity == "even":
        closed = {0: s / kb, 1: (kb * s + c - 1.0) / kb**2, 2: ((kb**2 - 2.0) * s + 2.0 * kb * c) / kb**3}[j]
    else:
        closed = {0: (1.0 - c) / kb, 1: (s - kb * c) / kb**2, 2: ((2.0 - kb**2) * c + 2.0 * kb * s - 2.0) / kb**3}[j]
    out[big] = closed
    return out


def harmonic_rule_errors(nodes, weights, j, parity, harmonics, omega):
    """Signed errors ``int_0^1 u^j psi(n omega u) du - sum_k w_k u_k^j psi(n omega u_k)``.

    Parameters
    ----------
    nodes, weights : numpy.ndarray, shape (K,)
        The rule on ``[0, 1]``.
    j : int
        Power of ``u`` (>= 0).
    parity : {"even", "odd"}
        ``psi = cos`` or ``sin``.
    harmonics : array_like of int
    omega : float
        Phase at ``u = 1`` (rad).

    Returns
    -------
    numpy.ndarray, shape (len(harmonics),)
        Exact integrals in closed form (:func:`_moments`) minus the rule.
    """
    nodes, weights = np.asarray(nodes, dtype=float), np.asarray(weights, dtype=float)
    harmonics = np.asarray(harmonics, dtype=float)
    return _rule_errors(nodes, weights, int(j), parity, harmonics, np.atleast_1d(float(omega)))[0]


def harmonic_axis_error(nodes, weights, degree, F, j, parity, omega, safety=None):
    """Error of the rule on ``u^j G(omega u)`` from the node values ``F`` (module docstring).

    Parameters
    ----------
    nodes, weights : numpy.ndarray, shape (K,)
        The Gauss-Kronrod rule on ``[0, 1]`` (nodes > 0).
    degree : int
        Its polynomial degree ``d_K``.
    F : numpy.ndarray, shape (K, P)
        Node values of ``P`` points.
    j, parity :
        As :data:`HARMONIC_FORMS`.
    omega : float or numpy.ndarray of shape (P,)
        Phase at ``u = 1`` (rad) of each point, > 0.
    safety : float, optional
        Default :data:`HARMONIC_SAFETY`.

    Returns
    -------
    numpy.ndarray, shape (P,)
    """
    safety = HARMONIC_SAFETY if safety is None else safety
    nodes = np.asarray(nodes, dtype=float)
    weights = np.asarray(weights, dtype=float)
    F = np.asarray(F, dtype=float)
    K, P = F.shape
    omega = np.broadcast_to(np.asarray(omega, dtype=float), (P,))
    if not np.all(omega > 0):
        raise ValueError(f"omega must be > 0, got minimum {float(np.min(omega))!r}")
    g = F / (nodes**j)[:, None]  # (K, P)
    with np.errstate(divide="ignore"):
        resolved = np.floor(RESOLVED_PHASE_PER_DEGREE * degree / omega)
    n_max = np.clip(resolved, 1, (K - 1) // 2).astype(int)
    out = np.empty(P)
    for top in np.unique(n_max):  # points fitted with the same harmonics, batched
        pts = np.flatnonzero(n_max == top)
        out[pts] = _harmonic_points(nodes, weights, g[:, pts], j, parity, omega[pts], int(top))
    return safety * out


def _rule_errors(nodes, weights, j, parity, harmonics, omega):
    """``(P, n)`` signed errors of the rule on ``u^j psi(n omega_p u)`` (:func:`harmonic_rule_errors`, batched)."""
    k = np.outer(omega, harmonics)  # (P, n)
    exact = _moments(j, parity, np.abs(k).ravel()).reshape(k.shape)
    if parity == "odd":
        exact = exact * np.sign(k)
    rule = (_psi(parity, k[:, :, None] * nodes) * nodes**j) @ weights
    return exact - rule


def _harmonic_points(nodes, weights, g, j, parity, omega, n_max):
    """Unscaled harmonic estimate of points sharing the fitted harmonics ``<= n_max``; ``g`` (K, P)."""
    K, P = g.shape
    harmonics = np.arange(0 if parity == "even" else 1, n_max + 1)
    Psi = _psi(parity, omega[:, None, None] * nodes[None, :, None] * harmonics[None, None, :])  # (P, K, p)
    a = np.einsum("pqk,kp->pq", np.linalg.pinv(Psi, rcond=1e-10), g)  # (P, p)
    residual = g.T - np.einsum("pkq,pq->pk", Psi, a)  # (P, K)
    fitted = np.abs(np.sum(_rule_errors(nodes, weights, j, parity, harmonics, omega) * a, axis=1))
    dof = max(K - harmonics.size, 1)
    amp_residual = np.sqrt(2.0 * np.sum(residual**2, axis=1) / dof)
    varying = np.flatnonzero(harmonics >= 1)
    last = np.abs(a[:, varying[-1]])
    tiny = np.finfo(float).tiny
    if varying.size >= 2:
        q = np.minimum(last / np.maximum(np.abs(a[:, varying[-2]]), tiny), HARMONIC_DECAY_MAX)
        a_next = np.maximum(last * q, amp_residual)
    else:
        a_next = amp_residual
        q = np.minimum(a_next / np.maximum(last, tiny), HARMONIC_DECAY_MAX)
    tail_harmonics = np.arange(n_max + 1, n_max + 1 + _TAIL_TERMS)
    e_tail = np.abs(_rule_errors(nodes, weights, j, parity, tail_harmonics, omega))  # (P, T)
    powers = q[:, None] ** np.arange(_TAIL_TERMS)[None, :]
    return fitted + a_next * np.sum(e_tail * powers, axis=1)
