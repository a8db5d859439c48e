"""Orientation averages: quadrature and sampling rules for the field direction.

The field couples to a tunnelling system only through Aharonov-Bohm phases (Eq. 7), so an
ensemble of randomly oriented systems needs an average over the field direction seen in the
body frame of each system:

* a planar loop (the three-well ATS of Eq. 6) sees only ``u = cos(theta)``, ``theta`` the angle
  between the field and the loop normal. A normal uniform on the sphere makes ``cos(theta)``
  uniform on ``[-1, 1]``; the spectrum is even in the phase (physics.md section 2), and so is
  the free energy and the moment along the field, so ``u = |cos(theta)|`` uniform on ``[0, 1]``
  suffices (:func:`planar_rule`);
* a tetrahedral four-well system needs the full direction on the unit sphere
  (:func:`sphere_rule`, :func:`random_directions`) or, equivalently, a set of random body
  rotations (:func:`random_rotations`).

Every rule carries weights summing to 1, so ``sum_k w_k f(node_k)`` approximates the
orientational mean of ``f``. Deterministic rules state the polynomial degree they integrate
exactly; random rules are reproducible from their seed and are flagged ``sampled``.

Error estimates (:mod:`tunnelsim.ensemble`) either refine a rule (:func:`refine`, node doubling)
or use sub-rules embedded in it (:func:`with_embedded`), on the same nodes wherever a rule has
an embedded partner:

* planar Gauss-Legendre -> Gauss-Kronrod in ``u`` (``2 m + 1`` nodes, ``m = n // 2``) with its
  Gauss and Kronrod-only sub-rules;
* product sphere rule -> Gauss-Kronrod in ``z`` (sub-rules as for the planar rule) times the
  azimuthal trapezoid rule on a multiple of 4 points, whose sub-rules are every second and
  every fourth point (weights 2 and 4 times): two axes, ``orientation_polar`` and
  ``orientation_azimuth``;
* Lebedev rules have no embedded partner: the sub-rules are the Lebedev rules of about half the
  degree and the next lower one, evaluated as extra nodes of weight 0 in the main rule (a cheap
  sub-rule: about 40 % more directions at degree 11);
* random directions: the first half of the sample (weights doubled), no extrapolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.legendre import leggauss

from ._checks import as_int

__all__ = [
    "OrientationRule",
    "planar_rule",
    "random_directions",
    "random_rotations",
    "refine",
    "sphere_rule",
    "with_embedded",
]

_SPHERE_METHODS = ("product", "lebedev")


@dataclass(frozen=True)
class OrientationRule:
    """Nodes and weights of an orientation average.

    Attributes
    ----------
    kind : str
        ``"planar"``: nodes are ``u = |cos(theta)|``, shape ``(K,)``; ``"sphere"``: nodes are
        unit vectors, shape ``(K, 3)``.
    nodes : numpy.ndarray
        The orientations.
    weights : numpy.ndarray, shape (K,)
        Non-negative weights summing to 1.
    degree : int or None
        Polynomial degree integrated exactly: in ``u`` for planar rules, in the spherical
        harmonics ``Y_lm``, ``l <= degree``, for sphere rules; None for random rules.
    sampled : bool
        True for random rules (errors are statistical), False for quadrature.
    method : str
        How the rule was built (``"gauss_legendre"``, ``"product"``, ``"lebedev"`` or
        ``"random"``); used by :func:`refine`.
    seed : int or None
        Seed of a random rule, None otherwise.
    embedded : dict of str to Embedded, optional
        Sub-rules on the same nodes (:func:`with_embedded`): per axis label, weights of shape
        ``(K,)`` and degrees (:class:`~tunnelsim.distributions.rules.Embedded`).
    """

    kind: str
    nodes: np.ndarray
    weights: np.ndarray
    degree: int | None
    sampled: bool
    method: str = ""
    seed: int | None = None
    embedded: dict | None = None

    def __post_init__(self):
        if self.kind not in ("planar", "sphere"):
            raise ValueError(f"kind must be 'planar' or 'sphere', got {self.kind!r}")
        nodes = np.asarray(self.nodes, dtype=float)
        weights = np.asarray(self.weights, dtype=float)
        expected = 1 if self.kind == "planar" else 2
        if nodes.ndim != expected or (self.kind == "sphere" and nodes.shape[-1] != 3):
            raise ValueError(f"nodes of a {self.kind} rule have the wrong shape {nodes.shape}")
        if weights.shape != (nodes.shape[0],):
            raise ValueError(f"weights must have shape ({nodes.shape[0]},), got {weights.shape}")
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "weights", weights)
        for label, emb in (self.embedded or {}).items():
            for name, value in emb.lower.items():
                if np.shape(value) != weights.shape:
                    raise ValueError(f"embedded[{label!r}] weights {name!r} must have shape {weights.shape}")

    def __len__(self):
        return self.weights.shape[0]


def _count(value, name, minimum=1):
    """Return ``value`` as an int >= ``minimum`` or raise ValueError naming ``name``."""
    return as_int(value, name, minimum)


def _seed(value, name="seed"):
    return as_int(value, name, 0)


def planar_rule(n_nodes=8):
    """Gauss-Legendre rule for a planar loop: ``u = |cos(theta)|`` uniform on ``[0, 1]``.

    A loop normal uniform on the sphere has ``cos(theta)`` uniform on ``[-1, 1]``; the ATS
    spectrum of Eq. 6 is even in the phase ``phi``, which is proportional to ``cos(theta)``
    (Eq. 7), so the average over ``u`` in ``[0, 1]`` is the full orientational average.

    Parameters
    ----------
    n_nodes : int, optional
        Number of nodes (>= 1); the rule is exact for polynomials in ``u`` of degree
        ``2 n_nodes - 1``.

    Returns
    -------
    OrientationRule
        ``kind="planar"``, nodes of shape ``(n_nodes,)`` in ``(0, 1)``.
    """
    n = _count(n_nodes, "n_nodes")
    x, w = leggauss(n)
    return OrientationRule(
        kind="planar",
        nodes=0.5 * (x + 1.0),
        weights=0.5 * w,
        degree=2 * n - 1,
        sampled=False,
        method="gauss_legendre",
    )


def _lebedev_orders():
    """Degrees of the Lebedev rules that :func:`scipy.integrate.lebedev_rule` provides."""
    return (3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 35, 41, 47, 53, 59, 65,
            71, 77, 83, 89, 95, 101, 107, 113, 119, 125, 131)


def sphere_rule(degree=11, method="product"):
    """Quadrature on the unit sphere, exact for every spherical harmonic ``Y_lm``, ``l <= degree``.

    ``method="product"`` (default): Gauss-Legendre in ``z = cos(theta)`` with
    ``ceil((degree + 1) / 2)`` nodes (exact for the associated Legendre factor of ``Y_l0`` up to
    ``l = degree``) times ``degree + 1`` equally spaced azimuths (the trapezoid rule integrates
    ``cos(m phi)``, ``sin(m phi)`` exactly for ``1 <= |m| <= degree``). It is exact for
    ``l <= degree``, and fails for some ``Y_lm`` with ``l = degree + 1`` (``m = 0`` for odd
    ``degree``, ``m = degree + 1`` for even ``degree``). ``(degree + 1) ceil((degree + 1)/2)``
    nodes.

    ``method="lebedev"``: the Lebedev rule of the smallest tabulated degree >= ``degree``
    (octahedrally symmetric, about ``(degree + 1)^2 / 3`` nodes; needs SciPy >= 1.15). The
    stated ``degree`` is the rule's actual degree.

    Parameters
    ----------
    degree : int, optional
        Degree of exactness (>= 1).
    method : {"product", "lebedev"}, optional
        Construction.

    Returns
    -------
    OrientationRule
        ``kind="sphere"``, nodes of shape ``(K, 3)`` (unit vectors), weights summing to 1.
    """
    degree = _count(degree, "degree")
    if method not in _SPHERE_METHODS:
        raise ValueError(f"method must be one of {_SPHERE_METHODS}, got {method!r}")
    if method == "lebedev":
        try:
            from scipy.integrate import lebedev_rule
        except ImportError:  # SciPy < 1.15
            raise ValueError("method='lebedev' needs scipy.integrate.lebedev_rule (SciPy >= 1.15)") from None
        orders = [p for p in _lebedev_orders() if p >= degree]
        if not orders:
            raise ValueError(f"degree must be <= {_lebedev_orders()[-1]} for method='lebedev', got {degree}")
        points, w = lebedev_rule(orders[0])
        return OrientationRule(
            kind="sphere",
            nodes=np.ascontiguousarray(points.T),
            weights=w / w.sum(),
            degree=orders[0],
            sampled=False,
            method="lebedev",
        )
    n_z = (degree + 2) // 2
    n_phi = degree + 1
    z, wz = leggauss(n_z)
    azimuth = 2.0 * math.pi * np.arange(n_phi) / n_phi
    sin_theta = np.sqrt(1.0 - z * z)
    nodes = np.stack(
        [
            sin_theta[:, None] * np.cos(azimuth)[None, :],
            sin_theta[:, None] * np.sin(azimuth)[None, :],
            np.broadcast_to(z[:, None], (n_z, n_phi)),
        ],
        axis=-1,
    ).reshape(-1, 3)
    weights = np.repeat(0.5 * wz / n_phi, n_phi)
    return OrientationRule(
        kind="sphere", nodes=nodes, weights=weights, degree=degree, sampled=False, method="product"
    )


def random_directions(n, seed):
    """Seeded directions uniform on the unit sphere (normalised Gaussian vectors).

    The first ``m`` directions for a seed do not depend on ``n >= m``, so doubling ``n``
    (:func:`refine`) extends the sample.

    Parameters
    ----------
    n : int
        Number of directions (>= 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    OrientationRule
        ``kind="sphere"``, equal weights ``1/n``, ``sampled=True``, ``degree=None``.
    """
    n = _count(n, "n")
    seed = _seed(seed)
    g = np.random.default_rng(seed).standard_normal((n, 3))
    nodes = g / np.linalg.norm(g, axis=-1, keepdims=True)
    return OrientationRule(
        kind="sphere",
        nodes=nodes,
        weights=np.full(n, 1.0 / n),
        degree=None,
        sampled=True,
        method="random",
        seed=seed,
    )


def random_rotations(n, seed):
    """Seeded rotation matrices uniform in the Haar measure of SO(3).

    A unit quaternion uniform on the 3-sphere (a normalised 4-D Gaussian vector) gives a
    Haar-uniform rotation.

    Parameters
    ----------
    n : int
        Number of rotations (>= 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray, shape (n, 3, 3)
        Orthogonal matrices with determinant +1.
    """
    n = _count(n, "n")
    seed = _seed(seed)
    q = np.random.default_rng(seed).standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def refine(rule):
    """The same kind of rule with doubled resolution, for node-doubling error estimates.

    * planar Gauss-Legendre: twice the nodes (degree ``2d + 1``);
    * product sphere rule: degree ``2d + 1``, which doubles both the polar and the azimuthal
      node counts;
    * Lebedev: the smallest tabulated degree >= ``2d + 1`` (about four times the nodes);
    * random rules: twice the directions from the same seed (the first half is the old set).

    Parameters
    ----------
    rule : OrientationRule
        A rule made by this module.

    Returns
    -------
    OrientationRule
    """
    if not isinstance(rule, OrientationRule):
        raise ValueError(f"rule must be an OrientationRule, got {type(rule).__name__}")
    if rule.method == "gauss_legendre":
        return planar_rule(2 * len(rule))
    if rule.method in _SPHERE_METHODS:
        return sphere_rule(2 * rule.degree + 1, method=rule.method)
    if rule.method == "random":
        return random_directions(2 * len(rule), rule.seed)
    raise ValueError(f"rule has unknown method {rule.method!r}; cannot refine it")


def _embedded_planar(n):
    from .distributions.rules import (NULL_RULES, Embedded, _kronrod_order, _kronrod_unit, _unit_lower, kronrod_degrees,
                                      kronrod_null_rules)

    m = _kronrod_order(n)
    x, w_K, _, _ = _kronrod_unit(m)
    degrees = kronrod_degrees(m)
    lower = {k: 0.5 * v for k, v in _unit_lower(m).items()}
    # every null rule (2 m) on rules the harmonic reading of tunnelsim.harmonic_errors takes: with
    # the main rule they give the node values (orientation rows cost no spectra); the top 12 otherwise
    from .harmonic_errors import HARMONIC_MAX_NODES

    nulls, indices = kronrod_null_rules(m, count=2 * m if 2 * m + 1 <= HARMONIC_MAX_NODES else NULL_RULES)
    lower.update({f"N{j}": 0.5 * v for j, v in enumerate(nulls)})
    return OrientationRule(
        kind="planar", nodes=0.5 * (x + 1.0), weights=0.5 * w_K, degree=degrees[0], sampled=False,
        method="gauss_kronrod", embedded={"orientation": Embedded(lower, degrees, null=indices)},
    )


def _embedded_product_sphere(degree):
    from .distributions.rules import Embedded, _kronrod_order, _kronrod_unit, _unit_lower, kronrod_degrees, kronrod_null_rules

    m = _kronrod_order((degree + 2) // 2)
    z, w_K, w_G, w_L = _kronrod_unit(m)
    n_phi = 4 * (-(-(degree + 1) // 4))
    azimuth = 2.0 * math.pi * np.arange(n_phi) / n_phi
    w_phi = np.full(n_phi, 1.0 / n_phi)
    every = {"G": np.where(np.arange(n_phi) % 2 == 0, 2.0, 0.0) * w_phi,
             "L": np.where(np.arange(n_phi) % 4 == 0, 4.0, 0.0) * w_phi}
    sin_theta = np.sqrt(1.0 - z * z)
    nodes = np.stack(
        [sin_theta[:, None] * np.cos(azimuth)[None, :], sin_theta[:, None] * np.sin(azimuth)[None, :],
         np.broadcast_to(z[:, None], (z.size, n_phi))], axis=-1,
    ).reshape(-1, 3)

    def outer(wz, wp):
        return (0.5 * wz[:, None] * wp[None, :]).ravel()

    z_degrees = kronrod_degrees(m)
    embedded = {
        "orientation_polar": Embedded({k: outer(v, w_phi) for k, v in _unit_lower(m).items()}, z_degrees,
                                      null=kronrod_null_rules(m)[1]),
        "orientation_azimuth": Embedded({k: outer(w_K, v) for k, v in every.items()},
                                        (n_phi - 1, n_phi // 2 - 1, n_phi // 4 - 1), periodic=True),
    }
    return OrientationRule(kind="sphere", nodes=nodes, weights=outer(w_K, w_phi), degree=min(z_degrees[0], n_phi - 1),
                           sampled=False, method="product_kronrod", embedded=embedded)


def _embedded_lebedev(rule):
    from .distributions.rules import Embedded

    lower_degrees = [p for p in _lebedev_orders() if p <= max(3, (rule.degree - 1) // 2) and p < rule.degree]
    if not lower_degrees:
        raise ValueError(f"a Lebedev rule of degree {rule.degree} has no lower Lebedev rule to estimate its error")
    parts = [sphere_rule(lower_degrees[-1], method="lebedev")]
    if len(lower_degrees) > 1:
        parts.append(sphere_rule(lower_degrees[-2], method="lebedev"))
    nodes = np.concatenate([rule.nodes] + [p.nodes for p in parts])
    sizes = [len(rule)] + [len(p) for p in parts]
    offsets = np.cumsum([0] + sizes)

    def placed(i, w):
        out = np.zeros(offsets[-1])
        out[offsets[i]:offsets[i + 1]] = w
        return out

    lower = {"G": placed(1, parts[0].weights)}
    degrees = None
    if len(parts) > 1:
        lower["L"] = placed(2, parts[1].weights)
        degrees = (rule.degree, parts[0].degree, parts[1].degree)
    return OrientationRule(kind="sphere", nodes=nodes, weights=placed(0, rule.weights), degree=rule.degree,
                           sampled=False, method="lebedev_embedded", embedded={"orientation": Embedded(lower, degrees)})


def with_embedded(rule):
    """The rule in the form that carries embedded sub-rules for an error estimate (module docstring).

    * planar Gauss-Legendre of ``n`` nodes -> Gauss-Kronrod of ``2 (n // 2) + 1`` nodes;
    * product sphere rule of degree ``d`` -> Gauss-Kronrod in ``z`` (``m = ceil((d + 1)/2) // 2``)
      times ``4 ceil((d + 1)/4)`` azimuths;
    * Lebedev -> the same rule plus two lower Lebedev rules as extra nodes of weight 0;
    * random directions -> the same directions, sub-rule the first half.

    Parameters
    ----------
    rule : OrientationRule
        A rule made by this module (an embedded rule is returned unchanged).

    Returns
    -------
    OrientationRule
        With :attr:`OrientationRule.embedded` set; its ``weights`` are the main rule's.
    """
    from .distributions.rules import Embedded

    if not isinstance(rule, OrientationRule):
        raise ValueError(f"rule must be an OrientationRule, got {type(rule).__name__}")
    if rule.embedded is not None:
        return rule
    if rule.method == "gauss_legendre":
        return _embedded_planar(len(rule))
    if rule.method == "product":
        return _embedded_product_sphere(rule.degree)
    if rule.method == "lebedev":
        return _embedded_lebedev(rule)
    if rule.method == "random":
        n = len(rule)
        half = max(1, n // 2)
        lower = {"G": np.where(np.arange(n) < half, 1.0 / half, 0.0)}
        return OrientationRule(kind=rule.kind, nodes=rule.nodes, weights=rule.weights, degree=None, sampled=True,
                               method="random", seed=rule.seed, embedded={"orientation": Embedded(lower, None)})
    raise ValueError(f"rule has unknown method {rule.method!r}; it has no embedded form")
