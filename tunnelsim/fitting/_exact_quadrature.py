"""Fixed quadrature rules and the compiled per-point sums of :mod:`~tunnelsim.fitting.exact_intrinsic`.

The intrinsic magnetisation of Eq. 17 with the exact three-level ATS (Eq. 6) averaged over the
distribution of Eq. 8, ``P* dalpha dD/D dD0/D0``, and over planar orientations ``u = cos(theta)``
is evaluated here on a tensor rule that is fixed once (node counts) and mapped onto the
parameters (cutoffs), so that the result is a smooth function of the parameters:

* ``ln D``: Gauss-Lobatto on ``[D_min, D_c]`` (the node ``D = D_min`` gives the boundary term of
  the ``D_min`` derivative for free), plus the tail ``D = D_c / s^4`` with ``s`` Gauss-Legendre on
  ``(0, 1)`` (the tail integrand decays like ``ln(D) / D``, see
  :mod:`tunnelsim.distributions.rules`); ``D_c = D_min + f E_s`` with the smooth energy scale
  ``E_s = sqrt(T^2 + D0_max^2 (1 + phi^2))`` of each point;
* ``ln D0``: Gauss-Lobatto on ``[D0_min, D0_max]`` (both cutoffs are nodes: their boundary
  terms come for free);
* ``u``: Gauss-Radau on ``[0, 1]`` with the node ``u = 1`` (the field derivative of the
  orientation average needs the ``u = 1`` magnetisation, see the class docstring);
* ``alpha``: the spectrum depends on ``alpha`` only through ``cos 3 alpha``, so ``[0, pi/3]``
  with weight 6; each half ``[0, pi/6]``, ``[pi/6, pi/3]`` is mapped by ``alpha = c sinh(s)``
  from its end, ``c = D0 / (2 D)`` the width of the anticrossings at ``cos 3 alpha = +-1``, and
  ``s`` Gauss-Legendre (the clustered rule of :mod:`tunnelsim.distributions.rules`, built inside
  the kernel per ``(D, D0)`` node).

Spectrum (Eq. 6) in closed form, from the asymmetry polar coordinates
-----------------------------------------------------------------------
With ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)``: ``S = sum E_k^2 = D^2``,
``P = E1 E2 E3 = D^3 cos(3 alpha) / (3 sqrt 6)`` and
``[(E1 - E2)(E2 - E3)(E3 - E1)]^2 = D^6 sin^2(3 alpha) / 2``. The levels solve
``lambda^3 - p lambda - q = 0``, ``p = 3 D0^2 + D^2 / 2``, ``q = 2 D0^3 cos(phi) + P``, with the
discriminant in the cancellation-free form of :mod:`tunnelsim.kernels`,

    Delta = 108 D0^6 sin^2 phi + 54 D0^4 D^2 + 9 D0^2 D^4 + D^6 sin^2(3 alpha) / 2
            - 6 sqrt(6) D0^3 D^3 cos(3 alpha) cos(phi).

In units of ``a = sqrt(p / 3)``: the isolated root ``mu_0 = 2 sign(q) z``, ``4 z^3 - 3 z = |q| / 2``
(Newton from a quadratic start), the pair ``-mu_0 / 2 +- g / 2`` with ``g = sqrt(Delta) / f'(mu_0)``,
``f'(mu_0) = 3 (4 z^2 - 1) >= 6``; slopes ``dlambda/dphi = q'(phi) / f'(lambda)``,
``q' = -2 D0^3 sin(phi)``, the pair's written with ``rho = 2 D0^3 sin(phi) / sqrt(Delta)``
(bounded by ``1/sqrt(27)``) so that nothing divides by the vanishing gap of a near-degenerate
pair. Everything is branch-free (the inner loop over ``alpha`` vectorises), the Boltzmann factors
use the kernels' vectorisable :func:`tunnelsim.kernels._common._exp_neg`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numpy.polynomial import legendre as _leg

from ..kernels._common import _exp_neg

__all__ = [
    "alpha_half_rule",
    "gauss_legendre",
    "gauss_lobatto",
    "gauss_radau_right",
    "point_sums",
    "polar_spectrum",
]

_JIT = dict(nogil=True, cache=True, fastmath={"contract", "arcp", "nsz"}, error_model="numpy")

_INV_3SQRT6 = 1.0 / (3.0 * math.sqrt(6.0))
_SQRT3_HALF = 0.5 * math.sqrt(3.0)
_Z_QUADRATIC = 1.0 - _SQRT3_HALF - 1.0 / 6.0  # z(y) ~ sqrt(3)/2 + y/6 + c y^2, exact at y = 0, 1
_INV_SQRT27 = 1.0 / math.sqrt(27.0)
_PI_SIXTH = math.pi / 6.0
_TINY = 1e-300  # floor of the discriminant (exactly 0 only at D = 0 with sin(phi) = 0)


# --------------------------------------------------------------------------- 1-D rules
def gauss_legendre(n):
    """Gauss-Legendre nodes and weights on ``[-1, 1]`` (``n >= 1``)."""
    return _leg.leggauss(n)


def gauss_lobatto(n):
    """Gauss-Lobatto nodes (both ends ``-1``, ``1`` included) and weights on ``[-1, 1]``.

    Exact for polynomials of degree ``2 n - 3``; ``n >= 2``.
    """
    if n < 2:
        raise ValueError(f"a Gauss-Lobatto rule needs n >= 2 nodes, got {n}")
    c = np.zeros(n)
    c[-1] = 1.0  # P_{n-1}
    inner = np.sort(_leg.legroots(_leg.legder(c))) if n > 2 else np.empty(0)
    x = np.concatenate([[-1.0], inner, [1.0]])
    w = 2.0 / (n * (n - 1) * _leg.legval(x, c) ** 2)
    return x, w


def gauss_radau_right(n):
    """Gauss-Radau nodes with the fixed node ``+1`` (the last), and weights on ``[-1, 1]``.

    Exact for polynomials of degree ``2 n - 2``; ``n >= 1``. The mirror image of the rule with
    the fixed node ``-1``, whose free nodes are the roots of ``(P_{n-1} + P_n) / (1 + x)`` with
    weights ``(1 - x) / (n^2 P_{n-1}(x)^2)`` and ``2 / n^2`` at ``-1``.
    """
    if n < 1:
        raise ValueError(f"a Gauss-Radau rule needs n >= 1 nodes, got {n}")
    if n == 1:
        return np.array([1.0]), np.array([2.0])
    p_prev = np.zeros(n)
    p_prev[-1] = 1.0  # P_{n-1}
    p_n = np.zeros(n + 1)
    p_n[-1] = 1.0
    roots = np.sort(_leg.legroots(_leg.legadd(p_prev, p_n)))  # includes -1
    free = roots[np.abs(roots + 1.0) > 1e-10]
    w_free = (1.0 - free) / (n * n * _leg.legval(free, p_prev) ** 2)
    x = np.concatenate([[-1.0], free])
    w = np.concatenate([[2.0 / (n * n)], w_free])
    return np.sort(-x), w[np.argsort(-x)]


def alpha_half_rule(n_half):
    """Gauss-Legendre nodes and weights in ``[0, 1]`` of one half of the clustered ``alpha`` rule.

    In the kernel ``s = depth * t``, ``alpha = c sinh(s)``, ``depth = asinh(pi / (6 c))``.
    """
    t, w = gauss_legendre(n_half)
    return 0.5 * (t + 1.0), 0.5 * w


@numba.njit(inline="always", **_JIT)
def _levels_slopes(d, d0, c3, s3, cphi, sphi):
    """Normalised spectrum of Eq. 6 from ``d = D/a``, ``d0 = D0/a``, ``a = sqrt(D0^2 + D^2/6)``.

    Returns ``(x1, x2, s_ground, s_mid, s_top, lam_ground)``: gaps above the ground level, the
    slopes ``dlambda/dphi`` of the ascending levels and the ground level, all in units of ``a``.
    At an exact degeneracy (``D = 0`` with ``sin(phi) = 0``, never a quadrature node) the pair's
    slopes come out 0 instead of the ``+-`` limits; their thermal sum, all that enters, is right.
    """
    S = d * d
    P = d * S * c3 * _INV_3SQRT6
    d02 = d0 * d0
    d03 = d02 * d0
    y = d03 * cphi + 0.5 * P  # q / 2 with p = 3 (units of a)
    ya = min(abs(y), 1.0)
    z = _SQRT3_HALF + ya * (1.0 / 6.0 + _Z_QUADRATIC * ya)
    for _ in range(3):
        z = z - (4.0 * z * z * z - 3.0 * z - ya) / (12.0 * z * z - 3.0)
    fp = 3.0 * (4.0 * z * z - 1.0)
    disc = (108.0 * d03 * d03 * sphi * sphi + 54.0 * d02 * d02 * S + 9.0 * d02 * S * S
            + 0.5 * S * S * S * s3 * s3 - 108.0 * d03 * P * cphi)
    root = math.sqrt(max(disc, _TINY))
    g = root / fp
    rho = 2.0 * d03 * sphi / root
    s_iso = -2.0 * d03 * sphi / fp
    near = rho * fp / (3.0 * z - 0.5 * g)
    far = rho * fp / (3.0 * z + 0.5 * g)
    # y >= 0: isolated root on top, ground lambda_-, middle lambda_+;
    # y < 0: isolated root at the bottom, middle lambda_-, top lambda_+ (selects, no branches)
    top = y >= 0.0
    x1 = g if top else 3.0 * z - 0.5 * g
    s_ground = -far if top else s_iso
    s_top = s_iso if top else -far
    ground = -z - 0.5 * g if top else -2.0 * z
    return x1, 3.0 * z + 0.5 * g, s_ground, near, s_top, ground


@numba.njit(**_JIT)
def _polar_spectrum_kernel(D, D0, c3, s3, phi, levels, slopes):
    for i in range(D.size):
        a = math.sqrt(D0[i] * D0[i] + D[i] * D[i] / 6.0)
        x1, x2, sg, sm, st, l0 = _levels_slopes(D[i] / a, D0[i] / a, c3[i], s3[i], math.cos(phi[i]), math.sin(phi[i]))
        levels[i, 0] = a * l0
        levels[i, 1] = a * (l0 + x1)
        levels[i, 2] = a * (l0 + x2)
        slopes[i, 0] = a * sg
        slopes[i, 1] = a * sm
        slopes[i, 2] = a * st


def polar_spectrum(D_K, alpha, D0_K, phi):
    """Levels and slopes ``dlambda/dphi`` of Eq. 6 at ``E_k = sqrt(2/3) D cos(alpha - 2 pi k/3)``.

    The closed form the kernel uses (module docstring), for tests against
    :func:`numpy.linalg.eigh`.

    Parameters
    ----------
    D_K, alpha, D0_K, phi : array_like
        Broadcast together; ``D >= 0``, ``D0 > 0`` in K, angles in rad.

    Returns
    -------
    levels, slopes : numpy.ndarray, shape ``batch + (3,)``
        Ascending levels (K) and their phase derivatives (K/rad).
    """
    D, alpha, D0, phi = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (D_K, alpha, D0_K, phi)))
    shape = D.shape
    flat = [np.ascontiguousarray(v).ravel() for v in (D, D0, np.cos(3.0 * alpha), np.sin(3.0 * alpha), phi)]
    levels = np.empty((flat[0].size, 3))
    slopes = np.empty((flat[0].size, 3))
    _polar_spectrum_kernel(*flat, levels, slopes)
    return levels.reshape(shape + (3,)), slopes.reshape(shape + (3,))


# --------------------------------------------------------------------------- ensemble sums
@numba.njit(**_JIT)
def _point_sums_kernel(inv_tau, phi_max, D, D0, u, t_half, w_half, out, start, stop):
    """``out[i, j, k, m] = sum_alpha w_alpha (-<dlambda/dphi>)`` at ``(D[i, j], D0[k], phi_max[i] u[m])``.

    ``<.>`` is the thermal average at temperature ``1 / inv_tau[i]`` (K); the ``alpha`` rule
    (weights summing to ``2 pi``) is built per ``(D, D0)`` node (module docstring).
    """
    n_half = t_half.size
    n_alpha = 2 * n_half
    n_u = u.size
    c3 = np.empty(n_alpha)
    s3 = np.empty(n_alpha)
    wa = np.empty(n_alpha)
    terms = np.empty(n_alpha)
    cphi = np.empty(n_u)
    sphi = np.empty(n_u)
    for i in range(start, stop):
        for m in range(n_u):
            cphi[m] = math.cos(phi_max[i] * u[m])
            sphi[m] = math.sin(phi_max[i] * u[m])
        for j in range(D.shape[1]):
            Dj = D[i, j]
            for k in range(D0.size):
                D0k = D0[k]
                a = math.sqrt(D0k * D0k + Dj * Dj / 6.0)
                d = Dj / a
                d0 = D0k / a
                beta = a * inv_tau[i]
                c = 0.5 * D0k / Dj
                depth = math.asinh(_PI_SIXTH / c)
                for h in range(n_half):
                    s = depth * t_half[h]
                    x = 3.0 * c * math.sinh(s)
                    w = 6.0 * depth * w_half[h] * c * math.cosh(s)
                    cx = math.cos(x)
                    sx = math.sin(x)
                    c3[h] = cx
                    s3[h] = sx
                    wa[h] = w
                    c3[n_alpha - 1 - h] = -cx  # alpha -> pi/3 - alpha: cos(3 alpha) -> -cos(3 alpha)
                    s3[n_alpha - 1 - h] = sx
                    wa[n_alpha - 1 - h] = w
                for m in range(n_u):
                    cp = cphi[m]
                    sp = sphi[m]
                    for h in range(n_alpha):  # branch-free: vectorised
                        x1, x2, sg, sm, st, l0 = _levels_slopes(d, d0, c3[h], s3[h], cp, sp)
                        e1 = _exp_neg(x1 * beta)
                        e2 = _exp_neg(x2 * beta)
                        terms[h] = wa[h] * (sg + e1 * sm + e2 * st) / (1.0 + e1 + e2)
                    acc = 0.0
                    for h in range(n_alpha):
                        acc += terms[h]
                    out[i, j, k, m] = -a * acc


def point_sums(temperature_K, phi_max, D_K, D0_K, u, n_alpha_half, threads=None):
    """The ``alpha``-integrated mean slopes of every point, ``(D, D0)`` node and orientation.

    Parameters
    ----------
    temperature_K : numpy.ndarray, shape (P,)
        Temperatures (K, > 0) of the points.
    phi_max : numpy.ndarray, shape (P,)
        Phase at ``u = 1`` of each point (rad).
    D_K : numpy.ndarray, shape (P, n_D)
        Asymmetry nodes of each point (K, > 0).
    D0_K : numpy.ndarray, shape (n_D0,)
        Tunnelling nodes (K, > 0).
    u : numpy.ndarray, shape (n_u,)
        Orientation nodes ``cos(theta)``.
    n_alpha_half : int
        Nodes per half of the ``alpha`` rule.
    threads : int, optional
        Worker threads (default ``numba.get_num_threads()``).

    Returns
    -------
    numpy.ndarray, shape (P, n_D, n_D0, n_u)
        ``int dalpha (-<dlambda/dphi>)`` in K/rad (``alpha`` over ``[0, 2 pi)``).
    """
    inv_tau = np.ascontiguousarray(1.0 / np.asarray(temperature_K, dtype=float))
    phi_max = np.ascontiguousarray(phi_max, dtype=float)
    D = np.ascontiguousarray(D_K, dtype=float)
    D0 = np.ascontiguousarray(D0_K, dtype=float)
    u = np.ascontiguousarray(u, dtype=float)
    t_half, w_half = alpha_half_rule(int(n_alpha_half))
    n = inv_tau.size
    out = np.empty((n, D.shape[1], D0.size, u.size))
    args = (inv_tau, phi_max, D, D0, u, t_half, w_half, out)
    threads = numba.get_num_threads() if threads is None else int(threads)
    n_chunks = max(1, min(4 * threads, n))
    bounds = np.linspace(0, n, n_chunks + 1).astype(np.int64)
    if threads <= 1 or n_chunks == 1:
        _point_sums_kernel(*args, 0, n)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(_point_sums_kernel, *args, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
                f.result()
    return out
