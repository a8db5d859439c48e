"""Tunnelling-system Hamiltonians and their exact phase derivatives, batched.

All energies are in kelvin. Every builder broadcasts its arguments over leading axes and
returns a complex array of shape ``(..., n, n)``; nothing loops over instances in Python.
The field enters only through Aharonov-Bohm / Peierls phases, so the derivatives with
respect to the phase are exact closed forms (used for Hellmann-Feynman level slopes and
for the exact susceptibility), never finite differences.

Systems
-------
* :func:`two_level` -- the STM two-level system, Eq. 5 (no orbital field coupling).
* :func:`ring` -- ``N`` wells on one loop, Peierls phase ``phi/N`` per bond in the sense
  ``1 -> 2 -> ... -> N -> 1``; the loop product of hoppings is ``D0^N exp(i phi)``.
* :func:`three_level` -- Eq. 6 (Eq. 4 at ``phi = 0``), the ``N = 3`` ring.
* :func:`four_well` -- wells at the vertices of a tetrahedron, hopping on all six bonds,
  Peierls phases from the symmetric gauge ``A = B x r / 2``.

Sign convention: ``H[i, j] = D0 exp(i theta_ij)`` for the bond ``i -> j``; for Eq. 6 this gives
``H12 = H23 = H31 = D0 exp(i phi / 3)`` as printed in the seed.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import as_positive_array, as_real_array, broadcast_batch, last_axis

__all__ = [
    "asymmetries_from_polar",
    "four_well",
    "four_well_derivatives",
    "regular_tetrahedron",
    "ring",
    "ring_derivatives",
    "tetrahedron_faces",
    "three_level",
    "three_level_derivatives",
    "two_level",
    "two_level_derivatives",
]


# --------------------------------------------------------------------------- 2LS (Eq. 5)
def two_level(delta, delta0):
    """Two-level system of the STM, Eq. 5.

    ``H = [[Delta/2, Delta0/2], [Delta0/2, -Delta/2]]``.

    Parameters
    ----------
    delta : array_like
        Asymmetry ``Delta`` in K.
    delta0 : array_like
        Tunnelling splitting ``Delta0`` in K (broadcast against ``delta``).

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``broadcast(delta, delta0).shape + (2, 2)``.
    """
    delta = as_real_array(delta, "delta")
    delta0 = as_real_array(delta0, "delta0")
    broadcast_batch(delta=delta.shape, delta0=delta0.shape)
    delta, delta0 = np.broadcast_arrays(delta, delta0)
    h = np.zeros(delta.shape + (2, 2), dtype=complex)
    h[..., 0, 0] = 0.5 * delta
    h[..., 1, 1] = -0.5 * delta
    h[..., 0, 1] = 0.5 * delta0
    h[..., 1, 0] = 0.5 * delta0
    return h


def two_level_derivatives(delta, delta0):
    """Field derivatives of Eq. 5: the STM 2LS does not couple to the field, both are zero.

    Returns
    -------
    tuple of numpy.ndarray
        ``(dH, d2H)``, zero arrays shaped like :func:`two_level`.
    """
    h = two_level(delta, delta0)
    return np.zeros_like(h), np.zeros_like(h)


# --------------------------------------------------------------------------- N-ring
def _ring_bond_indices(n_wells):
    i = np.arange(n_wells)
    return i, (i + 1) % n_wells


def _ring_args(E, D0, phi, n_wells=None):
    E = as_real_array(E, "E")
    if n_wells is not None:
        last_axis(E, n_wells, "E")
    if E.ndim < 1 or E.shape[-1] < 2:
        raise ValueError(f"E must have a last axis of length >= 2 (one energy per well), got shape {E.shape}")
    D0 = as_positive_array(D0, "D0")
    phi = as_real_array(phi, "phi")
    batch = broadcast_batch(E=E.shape[:-1], D0=D0.shape, phi=phi.shape)
    return E, D0, phi, batch


def _ring_matrix(E, D0, phi, batch, order):
    """``d^order H / dphi^order`` for the ring (order 0 is H itself)."""
    n = E.shape[-1]
    h = np.zeros(batch + (n, n), dtype=complex)
    if order == 0:
        idx = np.arange(n)
        h[..., idx, idx] = np.broadcast_to(E, batch + (n,))
    factor = (1j / n) ** order
    hop = np.broadcast_to(D0 * np.exp(1j * phi / n) * factor, batch)
    hop_back = np.conj(hop)
    for i, j in zip(*_ring_bond_indices(n)):
        # n == 2: both bonds join wells 1 and 2; their amplitudes add.
        h[..., i, j] += hop
        h[..., j, i] += hop_back
    return h


def ring(E, D0, phi):
    """``N`` wells on a single loop with Peierls phase ``phi/N`` on each bond.

    ``H[k, k] = E_k`` and ``H[k, k+1] = D0 exp(i phi / N)`` (indices mod ``N``), plus the
    Hermitian conjugates, so the hopping product around the loop is ``D0^N exp(i phi)``.
    ``N = 3`` is Eq. 6. For ``N = 2`` both bonds join the two wells and their amplitudes add.

    Parameters
    ----------
    E : array_like, shape (..., N)
        On-site energies (asymmetries) in K; the physics uses ``sum_k E_k = 0``.
    D0 : array_like
        Tunnelling amplitude in K, ``D0 > 0`` (Eq. 9).
    phi : array_like
        Aharonov-Bohm phase through the loop, Eq. 7.

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``(..., N, N)``.
    """
    E, D0, phi, batch = _ring_args(E, D0, phi)
    return _ring_matrix(E, D0, phi, batch, 0)


def ring_derivatives(E, D0, phi):
    """Exact first and second derivatives of :func:`ring` with respect to ``phi``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(dH/dphi, d2H/dphi2)``, each of shape ``(..., N, N)``.
    """
    E, D0, phi, batch = _ring_args(E, D0, phi)
    return _ring_matrix(E, D0, phi, batch, 1), _ring_matrix(E, D0, phi, batch, 2)


def three_level(E, D0, phi):
    """Three-level (three-well) ATS Hamiltonian, Eq. 6 (Eq. 4 at ``phi = 0``).

    ``H = [[E1, D0 e^{i phi/3}, D0 e^{-i phi/3}], [c.c., E2, D0 e^{i phi/3}], [..., E3]]``.

    Parameters
    ----------
    E : array_like, shape (..., 3)
        Asymmetries ``E1, E2, E3`` in K (the seed takes ``E1 + E2 + E3 = 0``).
    D0 : array_like
        Tunnelling amplitude in K, ``D0 > 0`` (Eq. 9).
    phi : array_like
        Aharonov-Bohm phase of Eq. 7.

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``(..., 3, 3)``.
    """
    E, D0, phi, batch = _ring_args(E, D0, phi, n_wells=3)
    return _ring_matrix(E, D0, phi, batch, 0)


def three_level_derivatives(E, D0, phi):
    """Exact ``(dH/dphi, d2H/dphi2)`` of Eq. 6, each of shape ``(..., 3, 3)``."""
    E, D0, phi, batch = _ring_args(E, D0, phi, n_wells=3)
    return _ring_matrix(E, D0, phi, batch, 1), _ring_matrix(E, D0, phi, batch, 2)


def asymmetries_from_polar(D, alpha):
    """Asymmetries on the plane ``E1 + E2 + E3 = 0`` from polar coordinates.

    ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)``, ``k = 0, 1, 2`` (physics.md section 4),
    so that ``E1^2 + E2^2 + E3^2 = D^2`` and ``E1 E2 E3 = (2/3)^{3/2} D^3 cos(3 alpha) / 4``.

    Parameters
    ----------
    D : array_like
        ``D = sqrt(E1^2 + E2^2 + E3^2)`` in K, ``D >= 0``.
    alpha : array_like
        Polar angle in the asymmetry plane.

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(D, alpha).shape + (3,)``.
    """
    D = as_positive_array(D, "D", allow_zero=True)
    alpha = as_real_array(alpha, "alpha")
    broadcast_batch(D=D.shape, alpha=alpha.shape)
    k = np.arange(3)
    return math.sqrt(2.0 / 3.0) * D[..., None] * np.cos(alpha[..., None] - 2.0 * math.pi * k / 3.0)


# --------------------------------------------------------------------------- four wells
def regular_tetrahedron():
    """Vertices of the default regular tetrahedron, shape ``(4, 3)``.

    Centred at the origin and scaled so that each face has unit area: areas measured in
    these units are "in units of one face of the default regular tetrahedron".
    """
    v = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    face_area = 2.0 * math.sqrt(3.0)  # edge 2 sqrt 2: (sqrt 3 / 4) * 8
    return v / math.sqrt(face_area)


def _vertices(vertices):
    if vertices is None:
        return regular_tetrahedron()
    v = as_real_array(vertices, "vertices")
    if v.shape != (4, 3):
        raise ValueError(f"vertices must have shape (4, 3), got {v.shape}")
    volume = np.linalg.det(v[1:] - v[0]) / 6.0
    if abs(volume) < 1e-12 * max(1.0, np.abs(v).max() ** 3):
        raise ValueError("vertices must span a tetrahedron of non-zero volume")
    return v


_TETRA_BONDS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def tetrahedron_faces(vertices=None):
    """Faces of a tetrahedron, oriented with outward normals.

    Parameters
    ----------
    vertices : array_like, shape (4, 3), optional
        Well positions (default :func:`regular_tetrahedron`).

    Returns
    -------
    faces : list of tuple of int
        Vertex triples ``(i, j, k)`` ordered counter-clockwise seen from outside.
    areas : numpy.ndarray, shape (4, 3)
        Oriented area vectors ``a_f = (r_i x r_j + r_j x r_k + r_k x r_i) / 2``.
    """
    v = _vertices(vertices)
    faces, areas = [], []
    for opposite in range(4):
        i, j, k = (m for m in range(4) if m != opposite)
        a = 0.5 * (np.cross(v[i], v[j]) + np.cross(v[j], v[k]) + np.cross(v[k], v[i]))
        centroid = (v[i] + v[j] + v[k]) / 3.0
        if np.dot(a, centroid - v[opposite]) < 0:
            j, k = k, j
            a = -a
        faces.append((i, j, k))
        areas.append(a)
    return faces, np.array(areas)


def _four_well_args(E, D0, phi_vec, vertices):
    E = last_axis(as_real_array(E, "E"), 4, "E")
    D0 = as_positive_array(D0, "D0")
    phi_vec = last_axis(as_real_array(phi_vec, "phi_vec"), 3, "phi_vec")
    v = _vertices(vertices)
    batch = broadcast_batch(E=E.shape[:-1], D0=D0.shape, phi_vec=phi_vec.shape[:-1])
    return E, D0, phi_vec, v, batch


def _bond_phase_gradients(v):
    """``d theta_ij / d phi_vec = (r_i x r_j) / 2`` for the six bonds, shape (6, 3)."""
    return np.array([0.5 * np.cross(v[i], v[j]) for i, j in _TETRA_BONDS])


def _four_well_matrix(E, D0, phi_vec, v, batch, direction=None, order=0):
    grads = _bond_phase_gradients(v)  # (6, 3)
    theta = phi_vec @ grads.T  # (..., 6)
    amp = D0[..., None] * np.exp(1j * theta)
    if order:
        rate = direction @ grads.T  # (..., 6): d theta / ds along the direction
        amp = amp * (1j * rate) ** order
    amp = np.broadcast_to(amp, batch + (6,))
    h = np.zeros(batch + (4, 4), dtype=complex)
    if order == 0:
        idx = np.arange(4)
        h[..., idx, idx] = np.broadcast_to(E, batch + (4,))
    for b, (i, j) in enumerate(_TETRA_BONDS):
        h[..., i, j] = amp[..., b]
        h[..., j, i] = np.conj(amp[..., b])
    return h


def four_well(E, D0, phi_vec, vertices=None):
    """Tetrahedral four-well system with Peierls phases on all six bonds.

    ``H[i, i] = E_i``, ``H[i, j] = D0 exp(i theta_ij)`` with, in the symmetric gauge
    ``A = B x r / 2``, ``theta_ij = pi (Q/e) B . (r_i x r_j) / phi_0 = phi_vec . (r_i x r_j) / 2``
    where ``phi_vec = 2 pi (Q/e) S_1 B / phi_0`` and ``S_1`` is the area of one face of the default
    regular tetrahedron (the unit of length-squared for ``vertices``). The loop phase around a
    face with oriented area vector ``a_f`` is then ``phi_vec . a_f`` (Eq. 7 per face).

    Parameters
    ----------
    E : array_like, shape (..., 4)
        On-site energies in K.
    D0 : array_like
        Tunnelling amplitude in K, ``D0 > 0``.
    phi_vec : array_like, shape (..., 3)
        Field as a phase vector (rad per unit face area).
    vertices : array_like, shape (4, 3), optional
        Well positions; default :func:`regular_tetrahedron`.

    Returns
    -------
    numpy.ndarray
        Complex array of shape ``(..., 4, 4)``.
    """
    E, D0, phi_vec, v, batch = _four_well_args(E, D0, phi_vec, vertices)
    return _four_well_matrix(E, D0, phi_vec, v, batch)


def four_well_derivatives(E, D0, phi_vec, direction, vertices=None):
    """Exact first and second derivatives of :func:`four_well` along a phase direction.

    Returns ``d^k/ds^k H(E, D0, phi_vec + s * direction)`` at ``s = 0`` for ``k = 1, 2``. With
    ``phi_vec = phi_B n`` and a field along the unit vector ``n``, ``direction = n`` gives the
    derivatives with respect to ``phi_B``.

    Parameters
    ----------
    direction : array_like, shape (..., 3)
        Direction of the phase change (broadcast against the batch).

    Returns
    -------
    tuple of numpy.ndarray
        ``(dH/ds, d2H/ds2)``, each of shape ``(..., 4, 4)``.
    """
    E, D0, phi_vec, v, batch = _four_well_args(E, D0, phi_vec, vertices)
    direction = last_axis(as_real_array(direction, "direction"), 3, "direction")
    batch = broadcast_batch(
        E=E.shape[:-1], D0=D0.shape, phi_vec=phi_vec.shape[:-1], direction=direction.shape[:-1]
    )
    first = _four_well_matrix(E, D0, phi_vec, v, batch, direction, order=1)
    second = _four_well_matrix(E, D0, phi_vec, v, batch, direction, order=2)
    return first, second
