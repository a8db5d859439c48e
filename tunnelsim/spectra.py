"""Levels, exact level slopes and field couplings of batched Hamiltonians.

The reference solver is :func:`numpy.linalg.eigh` on a stack of matrices. Derivatives with
respect to the field parameter ``lambda`` (a phase or the field itself) are taken from the
exact ``dH/dlambda`` in the eigenbasis (Hellmann-Feynman), never by finite differences:

* ``slopes[..., n] = <n| dH |n>`` -- the level slopes. Inside a degenerate subspace the split
  among the degenerate levels depends on the basis, but its sum does not, and thermal
  averages only use such sums (``M = -Tr(rho dH)`` is basis independent);
* ``coupling2[..., n, m] = |<n| dH |m>|^2`` -- for the exact (van Vleck + Curie) susceptibility;
* ``curvature[..., n] = <n| d2H |n>`` -- the explicit second derivative of ``H``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Spectrum", "solve", "to_qobj"]


@dataclass(frozen=True)
class Spectrum:
    """Eigen-data of a batch of Hamiltonians.

    Attributes
    ----------
    levels : numpy.ndarray, shape (..., n)
        Eigenvalues in K, ascending along the last axis.
    slopes : numpy.ndarray or None, shape (..., n)
        ``<n| dH/dlambda |n>``.
    coupling2 : numpy.ndarray or None, shape (..., n, n)
        ``|<n| dH/dlambda |m>|^2``.
    curvature : numpy.ndarray or None, shape (..., n)
        ``<n| d2H/dlambda2 |n>``.
    """

    levels: np.ndarray
    slopes: np.ndarray | None = None
    coupling2: np.ndarray | None = None
    curvature: np.ndarray | None = None

    @property
    def n_levels(self):
        """Number of levels per instance."""
        return self.levels.shape[-1]

    def rescaled(self, factor):
        """Spectrum with the field parameter rescaled, ``lambda = factor * lambda'``.

        Derivatives with respect to ``lambda'`` are ``factor`` (first) and ``factor**2``
        (second) times those with respect to ``lambda``; ``factor`` broadcasts over the batch.
        """
        f = np.asarray(factor, dtype=float)
        return Spectrum(
            levels=self.levels,
            slopes=None if self.slopes is None else self.slopes * f[..., None],
            coupling2=None if self.coupling2 is None else self.coupling2 * (f * f)[..., None, None],
            curvature=None if self.curvature is None else self.curvature * (f * f)[..., None],
        )


def _check_stack(h, name):
    h = np.asarray(h)
    if h.ndim < 2 or h.shape[-1] != h.shape[-2]:
        raise ValueError(f"{name} must be a stack of square matrices (..., n, n), got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return h


def _check_derivative(d, name, H):
    """A derivative stack must have ``H``'s matrix size and a batch that broadcasts to ``H``'s."""
    d = _check_stack(d, name)
    if d.shape[-2:] != H.shape[-2:]:
        raise ValueError(f"{name} must have matrices of shape {H.shape[-2:]} like H, got shape {d.shape}")
    batch = H.shape[:-2]
    try:
        fits = np.broadcast_shapes(batch, d.shape[:-2]) == batch
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name} batch shape {d.shape[:-2]} does not broadcast to H's batch shape {batch}")
    return d


def solve(H, dH=None, d2H=None):
    """Diagonalise a batch of Hermitian matrices with :func:`numpy.linalg.eigh`.

    Parameters
    ----------
    H : array_like, shape (..., n, n)
        Hermitian Hamiltonians (K).
    dH, d2H : array_like, shape (..., n, n), optional
        Exact first and second derivatives with respect to the field parameter; their
        batch shapes broadcast to that of ``H``.

    Returns
    -------
    Spectrum
        Levels, and the slopes, couplings and curvatures that the derivatives given allow.
    """
    H = _check_stack(H, "H")
    levels, vecs = np.linalg.eigh(H)
    slopes = coupling2 = curvature = None
    vecs_h = np.conj(np.swapaxes(vecs, -1, -2))
    if dH is not None:
        dH = _check_derivative(dH, "dH", H)
        v = vecs_h @ dH @ vecs
        slopes = np.real(np.diagonal(v, axis1=-2, axis2=-1)).copy()
        coupling2 = np.abs(v) ** 2
    if d2H is not None:
        d2H = _check_derivative(d2H, "d2H", H)
        curvature = np.real(np.einsum("...in,...ij,...jn->...n", np.conj(vecs), d2H, vecs))
    return Spectrum(levels=levels, slopes=slopes, coupling2=coupling2, curvature=curvature)


def to_qobj(H, index=()):
    """Convert one instance of a batch of Hamiltonians to a :class:`qutip.Qobj`.

    Parameters
    ----------
    H : array_like, shape (..., n, n)
        Batch of Hamiltonians.
    index : tuple of int, optional
        Index into the leading (batch) axes; ``()`` for an unbatched matrix.

    Returns
    -------
    qutip.Qobj
        The Hermitian operator, with ``dims [[n], [n]]``.
    """
    import qutip  # imported here: QuTiP is slow to import and only needed for interoperability

    H = _check_stack(H, "H")
    index = (index,) if np.isscalar(index) else tuple(index)
    if len(index) != H.ndim - 2:
        raise ValueError(f"index must have {H.ndim - 2} entries for H of shape {H.shape}, got {index!r}")
    return qutip.Qobj(np.array(H[index], dtype=complex), isherm=True)
