"""The four-well analogue of Eq. 8 and its quadrature of asymmetry directions (Weyl chambers)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..orientations import sphere_rule, with_embedded
from .base import _LogAsymmetryDistribution
from .rules import Embedded, _alpha_scale, _depth, _two_ended_rule

__all__ = ["FourWellATSDistribution", "four_well_basis"]


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


def _chamber_rule(n, scale, embedded=False):
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
    embedded : Embedded
        Only with ``embedded`` (Gauss-Kronrod halves in both coordinates, ``k = 2 (2 m + 1)``
        nodes per coordinate): the sub-rules ``"G"`` and ``"L"`` in both coordinates at once,
        each normalised like the weights.
    """
    x, wx, *ex = _two_ended_rule(n, scale, 1.0, embedded)
    y, wy, *ey = _two_ended_rule(n, scale, 1.0, embedded)
    x, y = x[:, :, None], y[:, None, :]
    g = np.stack(np.broadcast_arrays(x, (1.0 - x) * y, (1.0 - x) * (1.0 - y)), axis=-1)
    to_basis = four_well_basis().T @ _GAPS_TO_ASYMMETRIES  # (3, 3)
    c = g @ to_basis.T
    norm = np.linalg.norm(c, axis=-1)
    jacobian = abs(np.linalg.det(to_basis)) * (1.0 - x) / norm**3
    rows = c.shape[0]

    main_sum = (wx[:, :, None] * wy[:, None, :] * jacobian).sum(axis=(1, 2), keepdims=True)

    def normalised(ax, ay, norm_sum=None):
        weights = ax[:, :, None] * ay[:, None, :] * jacobian
        # The Jacobian is smooth, but deep clustering leaves the chamber's middle coarse: make the
        # rule exact for constants (the chamber's solid angle 4 pi / 24) row by row.
        weights *= (math.pi / 6.0) / (weights.sum(axis=(1, 2), keepdims=True) if norm_sum is None else norm_sum)
        return weights.reshape(rows, -1)

    directions = (c / norm[..., None]).reshape(rows, -1, 3)
    if not embedded:
        return directions, normalised(wx, wy)
    ax, ay = ex[0].lower, ey[0].lower
    lower = {k: normalised(ax[k], ay[k]) for k in ax if not k.startswith("N")}
    # null rules along one coordinate at a time (the other with its main weights), normalised
    # like the main rule (a null rule sums to zero): "Nj" + "x"/"y" + the half's suffix
    # (a null rule is the main weights times a factor of the node's x, resp. y, position; "G" and
    # "L" act on both coordinates and are normalised row by row, so they have no such form)
    kx, ky = wx.shape[1], wy.shape[1]
    x_position = np.broadcast_to(np.repeat(np.arange(kx), ky), (rows, kx * ky))
    y_position = np.broadcast_to(np.tile(np.arange(ky), kx), (rows, kx * ky))
    index = {}
    for k in ax:
        if k.startswith("N"):
            j, half = k[1:].rstrip("'"), k[1 + len(k[1:].rstrip("'")):]
            lower[f"N{j}x{half}"] = normalised(ax[k], wy, main_sum)
            lower[f"N{j}y{half}"] = normalised(wx, ay[k], main_sum)
            index[f"N{j}x{half}"], index[f"N{j}y{half}"] = x_position, y_position
    return (directions, normalised(wx, wy),
            Embedded(lower, ex[0].degrees, null=ex[0].null, composite=True, index=index))


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
    _solid_angle_text = "4 pi"
    _title = "four-well ATS distribution P* dOmega dD/D dD0/D0"

    def __post_init__(self):
        super().__post_init__()
        if self.direction_rule not in _DIRECTION_RULES:
            raise ValueError(f"direction_rule must be one of {_DIRECTION_RULES}, got {self.direction_rule!r}")

    def _default_counts(self, energy_scale):
        counts = self._D_D0_counts(energy_scale)
        if self.direction_rule == "product":
            counts["direction"] = 6
        else:
            counts["direction"] = _chamber_count(_depth(1.0, self._finest_angle_scale(energy_scale)))
        return counts

    def _rule(self, counts, energy_scale, embedded=False):
        if embedded:
            (D, D0), w, lower = self._D_D0_rule(counts, energy_scale, embedded=True)
        else:
            (D, D0), w = self._D_D0_rule(counts, energy_scale)
        direction_lower = {}
        if self.direction_rule == "product":
            sphere = sphere_rule(2 * counts["direction"] - 1)
            if embedded:
                sphere = with_embedded(sphere)
                direction_lower = {label.replace("orientation", "direction"): emb.scaled(self._solid_angle)
                                   for label, emb in sphere.embedded.items()}
                direction_lower = {k: e.with_lower({n: np.broadcast_to(v, (len(D), len(sphere))) for n, v in e.lower.items()})
                                   for k, e in direction_lower.items()}
            n = np.broadcast_to(sphere.nodes, (len(D),) + sphere.nodes.shape)
            wn = np.broadcast_to(self._solid_angle * sphere.weights, (len(D), len(sphere)))
        else:
            n, wn, *emb = _chamber_rule(counts["direction"], _alpha_scale(D, D0), embedded)
            if emb:
                direction_lower = {"direction": emb[0]}
            if self.direction_rule == "chamber":
                wn = 24.0 * wn
                direction_lower = {k: e.scaled(24.0) for k, e in direction_lower.items()}
            else:
                E = n @ four_well_basis().T  # (M, k, 4)
                images = [E[..., list(p)] for p in itertools.permutations(range(4))]
                n = np.concatenate(images, axis=1) @ four_well_basis()
                wn = np.concatenate([wn] * 24, axis=1)
                direction_lower = {k: e.reindexed({name: np.concatenate([v] * 24, axis=1) for name, v in e.lower.items()},
                                                  lambda v: np.concatenate([v] * 24, axis=1))
                                   for k, e in direction_lower.items()}
        k = n.shape[1]
        weights = (w[:, None] * wn).ravel()
        params = self._params(np.repeat(D, k), np.repeat(D0, k), n.reshape(-1, 3))
        if not embedded:
            return params, self.amplitude * weights
        out = {axis: e.reindexed({name: self.amplitude * (v[:, None] * wn).ravel() for name, v in e.lower.items()},
                                 lambda v: np.repeat(v, k))
               for axis, e in lower.items()}
        for axis, e in direction_lower.items():
            out[axis] = e.reindexed({name: self.amplitude * (w[:, None] * v).ravel() for name, v in e.lower.items()},
                                    lambda v: np.ravel(v))
        return params, self.amplitude * weights, out

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
