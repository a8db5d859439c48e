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
  ``solver="fast"`` (default) uses the closed-form kernel :func:`tunnelsim.kernels.three_level.three_level_outer`,
  ``solver="eigh"`` the reference :func:`tunnelsim.spectra.solve`; they agree to rounding.
* :class:`FourWellSystem` -- tetrahedral four wells, parameters ``E`` (N, 4) and ``D0``;
  orientation is the unit field direction in the body frame (K, 3);
  ``phi_vec = 2 pi (Q/e) S_1 B n / phi_0`` with ``S_1`` one face of the regular tetrahedron.
  ``solver="fast"`` (default) uses the compiled Jacobi solver of :mod:`tunnelsim.kernels.four_well`,
  ``solver="eigh"`` the reference; they agree to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from . import hamiltonians, spectra
from ._checks import as_positive_array, as_real_array, temperature_axis
from .units import phase_per_tesla

__all__ = [
    "FourWellSystem",
    "FusedSumsModel",
    "SOLVERS",
    "SYSTEM_KINDS",
    "ThreeLevelSystem",
    "TunnellingModel",
    "TwoLevelSystem",
    "make_system",
]

#: Spectrum solvers of the three-level and four-well models: compiled kernels, or the numpy eigh reference.
SOLVERS = ("fast", "eigh")
#: The model kinds, as configs and distributions name them.
SYSTEM_KINDS = ("two_level", "three_level", "four_well")


@runtime_checkable
class TunnellingModel(Protocol):
    """What :mod:`tunnelsim.ensemble` needs from a model.

    Attributes
    ----------
    kind : str
        One of :data:`SYSTEM_KINDS`; a distribution names the kind it is for.
    n_levels : int
        Size of the Hamiltonian (levels per instance).
    orientation_kind : {"none", "planar", "sphere"}
        The orientation rule the model averages over (:mod:`tunnelsim.orientations`).
    field_dependent : bool
        Whether the spectrum depends on the field (the ensemble reuses it across fields if not).

    Methods
    -------
    spectrum(params, field_T, orientations, couplings=True)
        :class:`~tunnelsim.spectra.Spectrum` of shape ``(N, K)``, derivatives per tesla.
    """

    kind: ClassVar[str]
    n_levels: ClassVar[int]
    orientation_kind: ClassVar[str]
    field_dependent: ClassVar[bool]

    def spectrum(self, params, field_T, orientations, couplings=True): ...


@runtime_checkable
class FusedSumsModel(TunnellingModel, Protocol):
    """A model that also sums its thermodynamics over nodes and orientations in one pass.

    ``thermal_sums(params, weights, field_T, orientations, orientation_weights, temperature_K,
    observables)`` returns ``(totals, squares)``: dicts of observable name to arrays of shape
    ``(n_T,)`` holding ``sum_i w_i sum_k omega_k O_ik`` and the sums of squares of the node
    contributions. The ensemble then stores nothing per instance.
    """

    def thermal_sums(self, params, weights, field_T, orientations, orientation_weights, temperature_K,
                     observables): ...


def _param(params, name, kind):
    try:
        return np.asarray(params[name], dtype=float)
    except KeyError:
        raise ValueError(f"{kind} needs parameter {name!r}; got {sorted(params)}") from None


def _observable_names(observables):
    from .thermo import FUNCTION_NAMES

    names = list(dict.fromkeys(observables))
    unknown = [name for name in names if name not in FUNCTION_NAMES]
    if unknown:
        raise ValueError(f"observables: unknown {unknown}; expected names from {FUNCTION_NAMES}")
    return names


def _numpy_sums(spectrum, weights, orientation_weights, temperature_K, names):
    """The reference path of ``thermal_sums``: numpy thermodynamics of an (N, K) spectrum, summed."""
    from .thermo import thermodynamics

    th = thermodynamics(spectrum, temperature_K, method="numpy")
    totals, squares = {}, {}
    for name in names:
        contrib = np.tensordot(getattr(th, name), orientation_weights, axes=([1], [0])) * weights[:, None]  # (N, n_T)
        totals[name] = contrib.sum(axis=0)
        squares[name] = (contrib**2).sum(axis=0)
    return totals, squares


@dataclass(frozen=True)
class TwoLevelSystem:
    """The STM two-level system, Eq. 5. It does not couple to the field."""

    kind = "two_level"
    n_levels = 2
    orientation_kind = "none"
    field_dependent = False

    def spectrum(self, params, field_T, orientations=None, couplings=True):
        """Spectrum of shape ``(N, 1)``; the field and orientations are ignored (no coupling).

        Parameters
        ----------
        params : dict
            ``delta`` and ``delta0`` (K), each of shape ``(N,)``.
        field_T : float
            Field in tesla (no effect on Eq. 5).
        orientations : array_like, optional
            Ignored.
        couplings : bool, optional
            Ignored (the couplings are zero).
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
    n_levels = 3
    orientation_kind = "planar"
    field_dependent = True

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
        nothing per instance (:func:`tunnelsim.kernels.three_level.three_level_sums`), with ``"eigh"`` the
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
        names = _observable_names(observables)
        if self.solver == "fast":
            from . import kernels

            dphi_dB = phase_per_tesla(self.charge_area_A2, u)
            phi = dphi_dB * float(as_real_array(field_T, "field_T"))
            return kernels.three_level_sums(E, D0, w, phi, dphi_dB, omega, T, names)
        return _numpy_sums(self.spectrum(params, field_T, u, couplings="susceptibility" in names), w, omega, T, names)


def _antipodal_fold(directions, weights, atol=1e-12):
    """Merge antipodal directions: ``(keep, folded_weights)``.

    A field along ``-n`` gives the complex conjugate Hamiltonian and derivatives of a field
    along ``n`` (the energies are real and every Peierls phase changes sign), hence the same
    levels, slopes, couplings and thermodynamics; a rule symmetric under inversion needs only
    one of each pair, with the pair's summed weight. Directions without a partner are kept.
    Pairs are found by hashing the directions rounded to ``atol`` (O(K)); a pair split by the
    rounding is only evaluated twice, never mismatched.
    """
    n = np.asarray(directions, dtype=float)
    w = np.asarray(weights, dtype=float)
    keys = np.round(n / atol).astype(np.int64)
    index = {}
    for k, key in enumerate(map(tuple, keys)):
        index.setdefault(key, k)
    partner = np.full(len(n), -1)
    for k in range(len(n)):
        if partner[k] >= 0:
            continue
        m = index.get(tuple(-keys[k]))
        if m is not None and m != k and partner[m] < 0 and np.max(np.abs(n[m] + n[k])) <= atol:
            partner[k], partner[m] = m, k
    keep = [k for k in range(len(n)) if partner[k] < 0 or k < partner[k]]
    folded = np.array([w[k] + (w[partner[k]] if partner[k] >= 0 else 0.0) for k in keep])
    return np.array(keep, dtype=np.int64), folded


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
    solver : {"fast", "eigh"}, optional
        ``"fast"`` (default): the compiled Jacobi solver of :mod:`tunnelsim.kernels.four_well`;
        ``"eigh"``: :func:`numpy.linalg.eigh` on the built matrices (the reference path).
    """

    charge_area_A2: float
    vertices: tuple | None = None
    solver: str = "fast"
    kind = "four_well"
    n_levels = 4
    orientation_kind = "sphere"
    field_dependent = True

    def __post_init__(self):
        as_positive_array(self.charge_area_A2, "charge_area_A2")
        if self.vertices is not None:
            hamiltonians.tetrahedron_faces(self.vertices)  # validates the geometry
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")

    def _directions(self, orientations):
        n = as_real_array(orientations, "orientations")
        if n.ndim != 2 or n.shape[-1] != 3:
            raise ValueError(f"orientations for four_well must have shape (K, 3), got {n.shape}")
        if not np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-9):
            raise ValueError("orientations for four_well must be unit vectors")
        return n

    def _nodes(self, params):
        E = _param(params, "E", "four_well")
        D0 = _param(params, "D0", "four_well")
        if E.ndim != 2 or E.shape[1] != 4 or D0.shape != E.shape[:1]:
            raise ValueError(f"four_well needs E of shape (N, 4) and D0 of shape (N,), got {E.shape} and {D0.shape}")
        return E, D0

    def _table(self, field_T, n):
        """Bond table at one field, ``(K, 18)``; with an array of fields ``(P,)``, every field's in a row
        point-major, ``(P K, 18)`` (the point mode of :func:`tunnelsim.kernels.four_well.four_well_sums`)."""
        from .kernels import four_well as kernels_four_well  # numba is imported only when the fast path is used

        dphi_dB = float(phase_per_tesla(self.charge_area_A2))
        field = np.asarray(as_real_array(field_T, "field_T"), dtype=float)
        if field.ndim == 0:
            rate = np.full(len(n), dphi_dB)
            return kernels_four_well.bond_table(n * (dphi_dB * float(field)), n, rate, self.vertices)
        phi_vec = (field[:, None, None] * dphi_dB * n[None, :, :]).reshape(-1, 3)
        directions = np.broadcast_to(n, (field.size,) + n.shape).reshape(-1, 3)
        return kernels_four_well.bond_table(phi_vec, directions, np.full(phi_vec.shape[0], dphi_dB), self.vertices)

    def spectrum(self, params, field_T, orientations, couplings=True):
        """Spectrum of shape ``(N, K)`` with derivatives with respect to the field in tesla.

        Parameters
        ----------
        params : dict
            ``E`` of shape ``(N, 4)`` and ``D0`` of shape ``(N,)``, in K.
        field_T : float
            Field magnitude in tesla.
        orientations : array_like, shape (K, 3)
            Unit vectors: the field direction in the tetrahedron's body frame.
        couplings : bool, optional
            Whether to compute ``coupling2`` and ``curvature`` (needed only for the susceptibility).
        """
        E, D0 = self._nodes(params)
        n = self._directions(orientations)
        if self.solver == "fast":
            from .kernels import four_well as kernels_four_well

            return kernels_four_well.four_well_outer(E, D0, self._table(field_T, n), couplings=couplings)
        dphi_dB = float(phase_per_tesla(self.charge_area_A2))
        phi_vec = n * (dphi_dB * float(as_real_array(field_T, "field_T")))  # (K, 3)
        h = hamiltonians.four_well(E[:, None, :], D0[:, None], phi_vec, self.vertices)
        d1, d2 = hamiltonians.four_well_derivatives(E[:, None, :], D0[:, None], phi_vec, n, self.vertices)
        sp = spectra.solve(h, d1, d2 if couplings else None).rescaled(dphi_dB)
        return sp if couplings else spectra.Spectrum(levels=sp.levels, slopes=sp.slopes)

    def thermal_sums(self, params, weights, field_T, orientations, orientation_weights, temperature_K, observables):
        """Weighted sums of thermodynamic functions over nodes and directions, at one field.

        As :meth:`ThreeLevelSystem.thermal_sums`. Antipodal field directions give the same
        thermodynamics (a field along ``-n`` conjugates the Hamiltonian), so each antipodal pair
        of the rule is evaluated once with the pair's weight. With ``solver="fast"`` it is one
        compiled pass that stores nothing per instance
        (:func:`tunnelsim.kernels.four_well.four_well_sums`); with ``"eigh"`` the reference
        spectrum and thermodynamics summed with numpy.

        Parameters
        ----------
        params : dict
            ``E`` (N, 4) and ``D0`` (N,) in K.
        weights : array_like, shape (N,)
            Node weights.
        field_T : float
            Field in tesla.
        orientations : array_like, shape (K, 3)
            Unit field directions.
        orientation_weights : array_like, shape (K,)
            Their weights.
        temperature_K : array_like, shape (n_T,)
            Temperatures in K, > 0.
        observables : sequence of str
            Names of :class:`~tunnelsim.thermo.Thermodynamics` functions.

        Returns
        -------
        totals, squares : dict of str to numpy.ndarray, shape (n_T,)
        """
        E, D0 = self._nodes(params)
        n = self._directions(orientations)
        w = as_real_array(weights, "weights")
        omega = as_real_array(orientation_weights, "orientation_weights")
        if omega.shape != n.shape[:1]:
            raise ValueError(f"orientation_weights must have shape ({n.shape[0]},), got {omega.shape}")
        if w.shape != D0.shape:
            raise ValueError(f"weights must have shape {D0.shape} like D0, got {w.shape}")
        T = temperature_axis(temperature_K)
        names = _observable_names(observables)
        keep, omega = _antipodal_fold(n, omega)
        n = n[keep]
        if self.solver == "fast":
            from .kernels import four_well as kernels_four_well

            return kernels_four_well.four_well_sums(E, D0, w, self._table(field_T, n), omega, T, names)
        return _numpy_sums(self.spectrum(params, field_T, n, couplings="susceptibility" in names), w, omega, T, names)


def make_system(kind, charge_area_A2=None, vertices=None, solver="fast"):
    """Build a model by name: ``two_level``, ``three_level`` or ``four_well``.

    ``solver`` selects the spectrum solver of the three-level and four-well models
    (:data:`SOLVERS`); the two-level model always uses the reference eigh path.
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
        return FourWellSystem(
            float(charge_area_A2), None if vertices is None else tuple(map(tuple, vertices)), solver=solver
        )
    raise ValueError(f"unknown system kind {kind!r}; expected one of {', '.join(SYSTEM_KINDS)}")
