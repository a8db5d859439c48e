"""Tunnelling-system models: how parameters, field and orientation make a Hamiltonian.

A model knows its Hamiltonian builder and how the field enters (Eq. 7); the solver
(:mod:`tunnelsim.spectra`) and the averages (:mod:`tunnelsim.ensemble`) know nothing of the
physics. Each model turns a batch of parameter nodes (a dict of arrays with a leading axis of
length ``N``, as made by :mod:`tunnelsim.distributions`), a batch of orientations (``K`` of
them) and one field into a :class:`~tunnelsim.spectra.Spectrum` of shape ``(N, K)`` whose
derivatives are with respect to the field in tesla.

* :class:`TwoLevelSystem` -- Eq. 5, parameters ``delta``, ``delta0`` (K); no field coupling.
* :class:`ThreeLevelSystem` -- Eq. 6, parameters ``E`` (N, 3) and ``D0`` (K); orientation
  ``u = cos(theta)`` of the loop normal to the field; ``phi = 2 pi (Q/e) S u B / phi_0``.
  ``solver="fast"`` (default) uses the closed-form kernel :func:`tunnelsim.kernels.three_level_outer`,
  ``solver="eigh"`` the reference :func:`tunnelsim.spectra.solve`; they agree to rounding.
* :class:`FourWellSystem` -- tetrahedral four wells, parameters ``E`` (N, 4) and ``D0``;
  orientation is the unit field direction in the body frame (K, 3);
  ``phi_vec = 2 pi (Q/e) S_1 B n / phi_0`` with ``S_1`` one face of the regular tetrahedron.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import hamiltonians, spectra
from ._checks import as_positive_array, as_real_array, temperature_axis
from .units import phase_per_tesla

__all__ = ["FourWellSystem", "SOLVERS", "ThreeLevelSystem", "TwoLevelSystem", "make_system"]

#: Spectrum solvers of the three-level model: closed-form kernels, or the numpy eigh reference.
SOLVERS = ("fast", "eigh")


def _param(params, name, kind):
    try:
        return np.asarray(params[name], dtype=float)
    except KeyError:
        raise ValueError(f"{kind} needs parameter {name!r}; got {sorted(params)}") from None


@dataclass(frozen=True)
class TwoLevelSystem:
    """The STM two-level system, Eq. 5. It does not couple to the field."""

    kind = "two_level"
    orientation_kind = "none"

    def spectrum(self, params, field_T, orientations=None):
        """Spectrum of shape ``(N, 1)``; the field and orientations are ignored (no coupling).

        Parameters
        ----------
        params : dict
            ``delta`` and ``delta0`` (K), each of shape ``(N,)``.
        field_T : float
            Field in tesla (no effect on Eq. 5).
        orientations : array_like, optional
            Ignored.
        """
        delta = _param(params, "delta", "two_level")[:, None]
        delta0 = _param(params, "delta0", "two_level")[:, None]
        h = hamiltonians.two_level(delta, delta0)
        sp = spectra.solve(h)
        zeros = np.zeros_like(sp.levels)
        return spectra.Spectrum(
            levels=sp.levels,
            slopes=zeros,
            coupling2=np.zeros(sp.levels.shape + (2,)),
            curvature=zeros,
        )


@dataclass(frozen=True)
class ThreeLevelSystem:
    """The three-well ATS of Eq. 6 with the Aharonov-Bohm phase of Eq. 7.

    Parameters
    ----------
    charge_area_A2 : float
        ``(Q/e) S_Delta`` in square angstrom, > 0.
    solver : {"fast", "eigh"}, optional
        ``"fast"`` (default): the closed-form kernel of :mod:`tunnelsim.kernels` (levels from the
        characteristic polynomial, slopes by implicit differentiation, degeneracy safe);
        ``"eigh"``: :func:`numpy.linalg.eigh` on the built matrices (the reference path).
    """

    charge_area_A2: float
    solver: str = "fast"
    kind = "three_level"
    orientation_kind = "planar"

    def __post_init__(self):
        as_positive_array(self.charge_area_A2, "charge_area_A2")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")

    def spectrum(self, params, field_T, orientations, couplings=True):
        """Spectrum of shape ``(N, K)`` with derivatives with respect to the field in tesla.

        Parameters
        ----------
        params : dict
            ``E`` of shape ``(N, 3)`` and ``D0`` of shape ``(N,)``, in K.
        field_T : float
            Field ``B = mu0 H`` in tesla.
        orientations : array_like, shape (K,)
            ``u = cos(theta)`` between field and loop normal.
        couplings : bool, optional
            Whether to compute ``coupling2`` and ``curvature`` (needed only for the
            susceptibility; the fast solver skips the eigenvectors without them).
        """
        E = _param(params, "E", "three_level")
        D0 = _param(params, "D0", "three_level")
        if E.ndim != 2 or E.shape[1] != 3 or D0.shape != E.shape[:1]:
            raise ValueError(f"three_level needs E of shape (N, 3) and D0 of shape (N,), got {E.shape} and {D0.shape}")
        u = as_real_array(orientations, "orientations")
        if u.ndim != 1:
            raise ValueError(f"orientations for three_level must be 1-D cos(theta), got shape {u.shape}")
        field = float(as_real_array(field_T, "field_T"))
        dphi_dB = phase_per_tesla(self.charge_area_A2, u)  # (K,)
        phi = dphi_dB * field
        if self.solver == "fast":
            from . import kernels  # numba is imported only when the fast path is used

            return kernels.three_level_outer(E, D0, phi, dphi_dB, couplings=couplings)
        E, D0 = E[:, None, :], D0[:, None]
        h = hamiltonians.three_level(E, D0, phi)
        if couplings:
            d1, d2 = hamiltonians.three_level_derivatives(E, D0, phi)
            sp = spectra.solve(h, d1, d2)
        else:
            d1, _ = hamiltonians.three_level_derivatives(E, D0, phi)
            sp = spectra.solve(h, d1)
            sp = spectra.Spectrum(levels=sp.levels, slopes=sp.slopes)
        return sp.rescaled(np.broadcast_to(dphi_dB, sp.levels.shape[:-1]))

    def thermal_sums(self, params, weights, field_T, orientations, orientation_weights, temperature_K, observables):
        """Weighted sums of thermodynamic functions over nodes and orientations, at one field.

        ``totals[name] = sum_i w_i sum_k omega_k O_ik(T)`` and ``squares[name] = sum_i c_i^2`` with
        ``c_i = w_i sum_k omega_k O_ik(T)``, where ``O`` is the :class:`~tunnelsim.thermo.Thermodynamics`
        function ``name`` of node ``i`` at orientation ``k`` (field derivatives in tesla). This is
        what an ensemble average needs; with ``solver="fast"`` it is one compiled pass that stores
        nothing per instance (:func:`tunnelsim.kernels.three_level_sums`), with ``"eigh"`` the
        reference spectrum and thermodynamics summed with numpy.

        Parameters
        ----------
        params : dict
            ``E`` (N, 3) and ``D0`` (N,) in K.
        weights : array_like, shape (N,)
            Node weights.
        field_T : float
            Field in tesla.
        orientations, orientation_weights : array_like, shape (K,)
            ``u = cos(theta)`` and the weight of each orientation.
        temperature_K : array_like, shape (n_T,)
            Temperatures in K, > 0.
        observables : sequence of str
            Names of :class:`~tunnelsim.thermo.Thermodynamics` functions.

        Returns
        -------
        totals, squares : dict of str to numpy.ndarray, shape (n_T,)
        """
        from .thermo import FUNCTION_NAMES, thermodynamics

        E = _param(params, "E", "three_level")
        D0 = _param(params, "D0", "three_level")
        w = as_real_array(weights, "weights")
        u = as_real_array(orientations, "orientations")
        omega = as_real_array(orientation_weights, "orientation_weights")
        if u.ndim != 1 or omega.shape != u.shape:
            raise ValueError(f"orientations and orientation_weights must be 1-D of equal length, got {u.shape} and {omega.shape}")
        if w.shape != D0.shape:
            raise ValueError(f"weights must have shape {D0.shape} like D0, got {w.shape}")
        T = temperature_axis(temperature_K)
        names = list(dict.fromkeys(observables))
        unknown = [name for name in names if name not in FUNCTION_NAMES]
        if unknown:
            raise ValueError(f"observables: unknown {unknown}; expected names from {FUNCTION_NAMES}")
        if self.solver == "fast":
            from . import kernels

            dphi_dB = phase_per_tesla(self.charge_area_A2, u)
            phi = dphi_dB * float(as_real_array(field_T, "field_T"))
            return kernels.three_level_sums(E, D0, w, phi, dphi_dB, omega, T, names)
        sp = self.spectrum(params, field_T, u, couplings="susceptibility" in names)
        th = thermodynamics(sp, T, method="numpy")
        totals, squares = {}, {}
        for name in names:
            values = getattr(th, name)
            contrib = np.tensordot(values, omega, axes=([1], [0])) * w[:, None]  # (N, n_T)
            totals[name] = contrib.sum(axis=0)
            squares[name] = (contrib**2).sum(axis=0)
        return totals, squares


@dataclass(frozen=True)
class FourWellSystem:
    """Tetrahedral four-well system with Peierls phases from the symmetric gauge.

    Parameters
    ----------
    charge_area_A2 : float
        ``(Q/e) S_1`` in square angstrom, ``S_1`` the area of one face of the default regular
        tetrahedron, > 0.
    vertices : array_like, shape (4, 3), optional
        Well positions in units where ``S_1 = 1`` (default: the regular tetrahedron).
    """

    charge_area_A2: float
    vertices: tuple | None = None
    kind = "four_well"
    orientation_kind = "sphere"

    def __post_init__(self):
        as_positive_array(self.charge_area_A2, "charge_area_A2")
        if self.vertices is not None:
            hamiltonians.tetrahedron_faces(self.vertices)  # validates the geometry

    def spectrum(self, params, field_T, orientations):
        """Spectrum of shape ``(N, K)`` with derivatives with respect to the field in tesla.

        Parameters
        ----------
        params : dict
            ``E`` of shape ``(N, 4)`` and ``D0`` of shape ``(N,)``, in K.
        field_T : float
            Field magnitude in tesla.
        orientations : array_like, shape (K, 3)
            Unit vectors: the field direction in the tetrahedron's body frame.
        """
        E = _param(params, "E", "four_well")[:, None, :]
        D0 = _param(params, "D0", "four_well")[:, None]
        n = as_real_array(orientations, "orientations")
        if n.ndim != 2 or n.shape[-1] != 3:
            raise ValueError(f"orientations for four_well must have shape (K, 3), got {n.shape}")
        if not np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-9):
            raise ValueError("orientations for four_well must be unit vectors")
        dphi_dB = float(phase_per_tesla(self.charge_area_A2))
        phi_vec = n * (dphi_dB * float(field_T))  # (K, 3)
        h = hamiltonians.four_well(E, D0, phi_vec, self.vertices)
        d1, d2 = hamiltonians.four_well_derivatives(E, D0, phi_vec, n, self.vertices)
        return spectra.solve(h, d1, d2).rescaled(dphi_dB)


def make_system(kind, charge_area_A2=None, vertices=None, solver="fast"):
    """Build a model by name: ``two_level``, ``three_level`` or ``four_well``.

    ``solver`` selects the three-level spectrum solver (:data:`SOLVERS`); the other models
    always use the reference eigh path.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if kind == "two_level":
        return TwoLevelSystem()
    if kind in ("three_level", "four_well"):
        if charge_area_A2 is None:
            raise ValueError(f"system kind {kind!r} needs charge_area_A2")
        if kind == "three_level":
            return ThreeLevelSystem(float(charge_area_A2), solver=solver)
        return FourWellSystem(float(charge_area_A2), None if vertices is None else tuple(map(tuple, vertices)))
    raise ValueError(f"unknown system kind {kind!r}; expected two_level, three_level or four_well")
