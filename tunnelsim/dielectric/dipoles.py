"""Electric dipole operators of tunnelling systems in the well basis.

Convention (physics.md section 8)
---------------------------------
A tunnelling system with wells at positions ``r_i`` carries the dipole operator
``P = q sum_i (r_i - r_c) |i><i|``, diagonal in the well basis and measured from the
centroid ``r_c`` of the wells. An electric field ``F`` adds ``H_F = -F . P`` to the Hamiltonian
(Eq. 5, 6 or the four-well matrix). The charge ``q`` is fixed by the STM: for two wells,
``H = 1/2 (Delta sigma_z + Delta0 sigma_x) - (p . F) sigma_z`` (Phillips 1987; Esquinazi ed. 1998,
ch. 1), so the two wells' dipoles differ by ``2 p`` and the asymmetry shifts by ``2 p . F``.
Every nearest-neighbour pair of wells of a multi-well system is given the same: ``q d_nn = 2 p``
with ``d_nn`` the shortest distance between two wells and ``p = dipole_moment_D``. Which well of a
2LS carries ``+p`` follows from the positions given; the response is even in ``P``.

Units: dipoles in debye (1 D = 1e-21/c C m, :data:`tunnelsim.units.DEBYE_C_M`); the positions
may be in any length unit (only their ratios enter). ``p F`` in kelvin is
``p[D] F[V/m] * DEBYE_V_PER_M_K``.

Geometry and the magnetic field
-------------------------------
* :func:`ring_positions` puts ``N`` wells on a circle counter-clockwise about ``normal``, in the
  order of :func:`tunnelsim.hamiltonians.ring` (bond ``k -> k+1`` carries ``+phi/N``). In the
  symmetric gauge of :func:`tunnelsim.hamiltonians.four_well` a field ``B`` along ``normal``
  then gives ``phi > 0``: ``phi = 2 pi (Q/e) S B . normal / phi_0``, i.e. ``u = cos(theta)`` of
  :class:`tunnelsim.systems.ThreeLevelSystem` is the cosine between ``B`` and ``normal``.
* :func:`tetrahedron_positions` is :func:`tunnelsim.hamiltonians.regular_tetrahedron`: vertex
  ``i`` is well ``i`` of :func:`tunnelsim.hamiltonians.four_well`, in the body frame in which
  :class:`tunnelsim.systems.FourWellSystem` takes the field direction.

Field direction setting: by default the electric field of the measurement is parallel to ``B``
(``"parallel"``); ``"perpendicular"`` averages the field over the circle normal to ``B``.
:mod:`tunnelsim.dielectric.response` implements both from the dipole tensor.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_int, as_positive_array, as_real_array, broadcast_batch, last_axis
from ..hamiltonians import regular_tetrahedron

__all__ = [
    "FIELD_DIRECTIONS",
    "dipole_components",
    "dipole_operator",
    "ring_positions",
    "tetrahedron_positions",
    "two_level_dipole_operator",
    "well_dipoles",
]

#: Settings of the measuring field's direction relative to the magnetic field.
FIELD_DIRECTIONS = ("parallel", "perpendicular")


def well_dipoles(positions, dipole_moment_D):
    """Dipole vector of each well, in debye, relative to the centroid of the wells.

    ``d_i = q (r_i - r_c)`` with ``q = 2 p / d_nn`` (module docstring): the dipoles of every
    nearest-neighbour pair differ by ``2 p`` in magnitude, as the two wells of an STM 2LS.

    Parameters
    ----------
    positions : array_like, shape (..., n_wells, 3)
        Well positions, any length unit, ``n_wells >= 2``, distinct.
    dipole_moment_D : array_like
        STM dipole moment ``p`` in debye, ``> 0``, broadcast against the batch ``...``.

    Returns
    -------
    numpy.ndarray, shape (..., n_wells, 3)
        Well dipoles in debye, summing to zero over the wells.
    """
    r = last_axis(as_real_array(positions, "positions"), 3, "positions")
    if r.ndim < 2 or r.shape[-2] < 2:
        raise ValueError(f"positions must have shape (..., n_wells >= 2, 3), got {r.shape}")
    p = as_positive_array(dipole_moment_D, "dipole_moment_D")
    batch = broadcast_batch(positions=r.shape[:-2], dipole_moment_D=p.shape)
    rel = r - r.mean(axis=-2, keepdims=True)
    n = r.shape[-2]
    i, j = np.triu_indices(n, k=1)
    d_nn = np.linalg.norm(r[..., i, :] - r[..., j, :], axis=-1).min(axis=-1)
    if np.any(d_nn <= 0):
        raise ValueError("positions must be distinct (two wells coincide)")
    q = 2.0 * p / d_nn
    return np.broadcast_to(q[..., None, None] * rel, batch + r.shape[-2:]).copy()


def ring_positions(n_wells=3, normal=(0.0, 0.0, 1.0)):
    """Wells of an ``N``-ring on the unit circle, counter-clockwise about ``normal``.

    Well ``k`` (0-based) sits at angle ``2 pi k / N`` in the plane normal to ``normal``, so that
    ``(r_k x r_{k+1}) . normal > 0``: with :func:`tunnelsim.hamiltonians.ring`'s phases ``+phi/N``
    on the bonds ``k -> k+1``, a field along ``normal`` gives ``phi > 0`` (module docstring).

    Parameters
    ----------
    n_wells : int, optional
        Number of wells, ``>= 2`` (3 for Eq. 6).
    normal : array_like, shape (3,), optional
        Loop normal (need not be normalised).

    Returns
    -------
    numpy.ndarray, shape (n_wells, 3)
        Positions in units of the circumradius.
    """
    n_wells = as_int(n_wells, "n_wells", 2)
    nrm = last_axis(as_real_array(normal, "normal"), 3, "normal")
    if nrm.shape != (3,):
        raise ValueError(f"normal must have shape (3,), got {nrm.shape}")
    length = np.linalg.norm(nrm)
    if length == 0:
        raise ValueError("normal must be a non-zero vector")
    nrm = nrm / length
    trial = np.eye(3)[int(np.argmin(np.abs(nrm)))]
    e1 = trial - np.dot(trial, nrm) * nrm
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(nrm, e1)
    angle = 2.0 * math.pi * np.arange(n_wells) / n_wells
    return np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2


def tetrahedron_positions():
    """Wells of the four-well system: the vertices of :func:`~tunnelsim.hamiltonians.regular_tetrahedron`.

    Returns
    -------
    numpy.ndarray, shape (4, 3)
        Vertex ``i`` is well ``i`` of :func:`tunnelsim.hamiltonians.four_well` (units where one face
        has unit area, the body frame of :class:`tunnelsim.systems.FourWellSystem`).
    """
    return regular_tetrahedron()


def dipole_components(well_dipoles_D):
    """Cartesian components of the dipole operator, ``P_a = sum_i d_ia |i><i|``.

    Parameters
    ----------
    well_dipoles_D : array_like, shape (..., n, 3)
        Well dipoles in debye (:func:`well_dipoles`).

    Returns
    -------
    numpy.ndarray, shape (..., 3, n, n)
        Real diagonal matrices ``P_x, P_y, P_z`` in debye.
    """
    d = last_axis(as_real_array(well_dipoles_D, "well_dipoles_D"), 3, "well_dipoles_D")
    if d.ndim < 2:
        raise ValueError(f"well_dipoles_D must have shape (..., n, 3), got {d.shape}")
    comps = np.swapaxes(d, -1, -2)  # (..., 3, n)
    return comps[..., :, None] * np.eye(d.shape[-2])


def dipole_operator(well_dipoles_D, direction):
    """Dipole operator along the electric field, ``P . e`` in the well basis.

    Parameters
    ----------
    well_dipoles_D : array_like, shape (..., n, 3)
        Well dipoles in debye (:func:`well_dipoles`).
    direction : array_like, shape (..., 3)
        Unit vector of the electric field (body frame), broadcast against the batch.

    Returns
    -------
    numpy.ndarray, shape (..., n, n)
        Real diagonal matrices in debye; ``-F P . e`` is the field term of the Hamiltonian.
    """
    d = last_axis(as_real_array(well_dipoles_D, "well_dipoles_D"), 3, "well_dipoles_D")
    if d.ndim < 2:
        raise ValueError(f"well_dipoles_D must have shape (..., n, 3), got {d.shape}")
    e = last_axis(as_real_array(direction, "direction"), 3, "direction")
    if not np.allclose(np.linalg.norm(e, axis=-1), 1.0, atol=1e-9):
        raise ValueError("direction must be a unit vector (or an array of unit vectors)")
    broadcast_batch(well_dipoles_D=d.shape[:-2], direction=e.shape[:-1])
    proj = np.einsum("...ia,...a->...i", d, e)
    return proj[..., :, None] * np.eye(d.shape[-2])


def two_level_dipole_operator(dipole_moment_D, cos_theta):
    """Dipole operator of the STM 2LS along the field, ``p cos(theta) sigma_z``.

    Parameters
    ----------
    dipole_moment_D : array_like
        ``p`` in debye, ``> 0``.
    cos_theta : array_like
        Cosine between the dipole and the electric field, in ``[-1, 1]``.

    Returns
    -------
    numpy.ndarray, shape (..., 2, 2)
        Real diagonal matrices in debye (well 1 carries ``+p cos(theta)``).
    """
    p = as_positive_array(dipole_moment_D, "dipole_moment_D")
    u = as_real_array(cos_theta, "cos_theta")
    if np.any(np.abs(u) > 1.0):
        raise ValueError("cos_theta must lie in [-1, 1]")
    broadcast_batch(dipole_moment_D=p.shape, cos_theta=u.shape)
    mu = p * u
    return mu[..., None, None] * np.diag([1.0, -1.0])
