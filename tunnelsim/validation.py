"""Validation of the analytic ETM (Section B, Eqs. 10-13) against exact spectra and ensembles.

Each check is a function returning a small frozen dataclass of plain arrays and numbers, so
notebooks can reuse them; :func:`run_validation` runs them all, :func:`format_report` makes
the text table, :func:`write_report` the HDF5 file and :func:`save_figures` the PNG figures
(``tunnelsim validate``).

a. :func:`fit_gap_mapping` -- the effective-gap mapping fitted from exact Eq. 6 spectra.
b. :func:`check_eq10_effective` (Eq. 10, corrected prefactor ``pi P* n_ATS / (2B)``, against
   the effective two-level ensemble it is the closed form of) and :func:`compare_eq10_exact`
   (against the exact 3LS ensemble with mapped cutoffs, over ``(T, B)`` and ``D_max/D0_min``).
c. :func:`check_weak_field` -- Eq. 12 against the exact ``B = 0`` susceptibility and the two
   limits of Eq. 13 against the integral they approximate.
d. :func:`check_high_field` -- exact ``M(B)`` against Eq. 10 and both Eq. 11 forms.
e. :func:`compare_four_well` -- the tetrahedral four-well ensemble against the 3LS ensemble.

The gap mapping, and why the exact ensemble is 4/3 of Eq. 10 at weak field
---------------------------------------------------------------------------
Eq. 10 treats every ATS as a two-level system with gap ``E^2 = D^2 + (D0 phi)^2``
(the seed's "reasonable approximate form"). The exact lower gap of Eq. 6 for ``D << D0``,
``phi << 1`` is ``E^2 = (2/3) D^2 + (4/3) D0^2 phi^2``: the asymmetries, projected on the
degenerate doublet of Eq. 9 (the plane orthogonal to ``(1, 1, 1)``), split it by
``sqrt(2/3) D``, and the flux splits it by ``2 sqrt(3) D0 sin(phi/3) ~ (2/sqrt(3)) D0 phi``.
So Eq. 10 with cutoffs ``D_min, D_max, D0_min, D0_max`` describes, to leading order, the exact
ensemble with the **mapped cutoffs** ``sqrt(3/2) D`` and ``(sqrt(3)/2) D0`` (:func:`mapped_cutoffs`;
``P*`` and ``n_ATS`` are unchanged, the measure ``dD/D dD0/D0`` being scale free).

If instead the seed's parameters are put into the exact Hamiltonian unchanged, each doublet
responds to the field with ``(4/3) (D0 phi)^2`` instead of ``(D0 phi)^2``: the weak-field
susceptibility is 4/3 of Eq. 12's (the "D0 mapping" factor), times
``I(T, sqrt(2/3) D_min) / I(T, D_min)`` from the asymmetry mapping (``I`` the integral of
Eq. 12; the factor tends to 1 for ``T >> D_min`` and to ``sqrt(3/2)`` for ``T << D_min``).
Both hold only while the doublet is all that is thermally populated and the effective
two-level picture is complete. The exact levels also contain the doublet-centre shift
``-D0 cos(phi/3)`` (diamagnetic) and the third level about ``3 D0`` above, which lower the
ratio by ``O(T/D0)``; systems with ``D >~ D0`` add ``O(D_min/D0)``. :func:`check_weak_field`
reports the D0 factor ``chi_exact / chi_Eq12(D_min -> sqrt(2/3) D_min)``, which tends to 4/3
as ``T/D0 -> 0``, and the full ratio at each temperature.

Eq. 11 and the high-field regime
--------------------------------
With the mapped ``D0`` the exact ``D = 0`` gap is ``3 D0 sin(phi/3)``, whose square is
``D0^2 phi^2 (1 - phi^2/27 + ...)``: Eq. 11's substitution. :func:`check_high_field` compares
the exact ensemble (seed parameters as given, and mapped) with Eq. 10,
:func:`~tunnelsim.etm.magnetization_etm_high_field` (the modified gap, magnetisation as the
true derivative) and :func:`~tunnelsim.etm.magnetization_etm_shortcut` (the seed's
``(1 - (B/B*)^2/54)/B`` with ``B* = B_phi = phi_0 / (2 pi (Q/e) S_Delta)``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy import integrate

from . import __version__, etm, hamiltonians, spectra, units
from ._checks import as_positive_array, as_real_array
from .config import ConfigError, _integer, _number, _parse_axis, _Section
from .distributions import ATSDistribution, FourWellATSDistribution
from .ensemble import AveragingSettings, Ensemble, compute
from .systems import FourWellSystem, ThreeLevelSystem

__all__ = [
    "EffectiveCheckResult",
    "EffectiveCheckSettings",
    "ExactMapResult",
    "ExactMapSettings",
    "FourWellResult",
    "FourWellSettings",
    "GapFitResult",
    "GapFitSettings",
    "HighFieldResult",
    "HighFieldSettings",
    "Material",
    "ValidationReport",
    "ValidationSettings",
    "WeakFieldResult",
    "WeakFieldSettings",
    "check_eq10_effective",
    "check_high_field",
    "check_outputs",
    "check_weak_field",
    "compare_eq10_exact",
    "compare_four_well",
    "exact_gap_K",
    "figure_names",
    "first_crossing",
    "fit_gap_mapping",
    "format_report",
    "four_well_verdict",
    "full_settings",
    "load_settings",
    "mapped_cutoffs",
    "peak",
    "quick_settings",
    "run_validation",
    "save_figures",
    "write_report",
]

#: Exact 3LS cutoffs whose effective 2LS is Eq. 10's: D -> D sqrt(3/2), D0 -> D0 sqrt(3)/2.
_D_MAP = math.sqrt(1.5)
_D0_MAP = math.sqrt(3.0) / 2.0
#: Leading-order gap constants of Eq. 6: E^2 = (2/3) D^2 + (4/3) D0^2 phi^2.
GAP_A = 2.0 / 3.0
GAP_B = 4.0 / 3.0
#: Curves of the high-field comparison, in the order of the summary arrays.
HIGH_FIELD_CURVES = ("exact", "exact_mapped", "eq10", "eq11", "shortcut")
_DIMENSIONLESS = "1"


# ============================================================================ settings
@dataclass(frozen=True)
class Material:
    """ETM parameters of the comparison; default: the seed's BK7 Table 3 (constant-H fits).

    Attributes
    ----------
    density_per_g : float
        ``n_ATS`` per gram.
    P_star : float
        Amplitude ``P*`` (default ``1/(2 pi)``, the seed's "order 1/2 pi").
    D_min_K : float
        Asymmetry cutoff ``D_min`` of Eq. 10 (K).
    D0QS_min_K_A2, D0QS_max_K_A2 : float
        The seed's fitted products ``D0 (Q/e) S_Delta`` (K Å^2).
    charge_area_A2 : float
        ``(Q/e) S_Delta`` (Å^2) fixing ``D0 = D0QS / ((Q/e) S_Delta)`` of the exact ensembles
        (parts b, c, e); the high-field part sweeps its own values.
    D_max_K : float
        Upper asymmetry cutoff of the exact ensembles of parts c and d (K, may be inf).
    """

    density_per_g: float = 1.352e16
    P_star: float = 1.0 / (2.0 * math.pi)
    D_min_K: float = 2.671e-2
    D0QS_min_K_A2: float = 2.717e5
    D0QS_max_K_A2: float = 2.925e5
    charge_area_A2: float = 3.0e4
    D_max_K: float = 1.0e4

    def __post_init__(self):
        for name in ("density_per_g", "P_star", "D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2"):
            as_positive_array(getattr(self, name), name)
        if not self.D0QS_max_K_A2 > self.D0QS_min_K_A2:
            raise ValueError("D0QS_max_K_A2 must exceed D0QS_min_K_A2")
        if not (self.D_max_K > self.D_min_K):  # inf allowed
            raise ValueError("D_max_K must exceed D_min_K")

    @property
    def amplitude_per_g(self):
        """``n_ATS P*`` per gram, the only amplitude Eq. 10 depends on."""
        return self.density_per_g * self.P_star

    def D0_range_K(self, charge_area_A2=None):
        """``(D0_min, D0_max)`` in K for a ``(Q/e) S_Delta`` (default :attr:`charge_area_A2`)."""
        qs = self.charge_area_A2 if charge_area_A2 is None else float(charge_area_A2)
        return self.D0QS_min_K_A2 / qs, self.D0QS_max_K_A2 / qs

    def eq10_args(self):
        """``(D_min_K, D0QS_min_K_A2, D0QS_max_K_A2)`` of the :mod:`tunnelsim.etm` functions."""
        return self.D_min_K, self.D0QS_min_K_A2, self.D0QS_max_K_A2


@dataclass(frozen=True)
class GapFitSettings:
    """Part a: least-squares fits of ``E^2 = a D^2 + b D0^2 phi^2`` to exact Eq. 6 gaps.

    Attributes
    ----------
    box_sizes : tuple of float
        Each fit uses ``D/D0`` and ``phi`` on ``(0, s]`` for one ``s``; the fitted ``a(s)``,
        ``b(s)`` are extrapolated to ``s -> 0`` by a polynomial in ``s``.
    points_per_axis : int
        Grid points in ``D/D0`` and in ``phi`` per box.
    alpha_nodes : int
        Asymmetry angles ``alpha`` (equally spaced over a period of ``cos 3 alpha``).
    extrapolation_degree : int
        Degree of the polynomial in ``s``.
    map_ratio_max, map_phase_max : float
        Extent of the residual map in ``D/D0`` and ``phi``.
    map_points : int
        Points per axis of the residual map.
    tolerance : float
        Stated accuracy of the extrapolated constants (pass mark in the table).
    """

    box_sizes: tuple = (0.16, 0.08, 0.04, 0.02, 0.01)
    points_per_axis: int = 8
    alpha_nodes: int = 6
    extrapolation_degree: int = 2
    map_ratio_max: float = 1.0
    map_phase_max: float = 1.5
    map_points: int = 31
    tolerance: float = 1e-3


@dataclass(frozen=True)
class EffectiveCheckSettings:
    """Part b(i): Eq. 10 against the effective two-level ensemble.

    Attributes
    ----------
    temperature_K, field_T : tuple of float
        Grid (``field_T > 0``).
    orientations : tuple of float
        ``u = cos(theta)`` values of the single-orientation check.
    tolerance : float
        Stated agreement (pass mark).
    """

    temperature_K: tuple = (0.05, 1.0, 4.5, 30.0)
    field_T: tuple = (0.1, 1.0, 3.0, 6.5)
    orientations: tuple = (0.1, 0.5, 1.0)
    tolerance: float = 1e-5


@dataclass(frozen=True)
class ExactMapSettings:
    """Part b(ii): Eq. 10 against the exact 3LS ensemble with mapped cutoffs.

    Attributes
    ----------
    temperature_K, field_T : tuple of float
        Grid (``field_T > 0``).
    D_max_over_D0_min : tuple of float
        ``D_max / D0_min`` of the exact ensemble (its own, mapped cutoffs); ``inf`` allowed.
    tolerances : tuple of float
        Relative errors whose regions are reported (1 % and 5 %).
    orientation_nodes : int or None
        Planar orientation rule of the exact ensemble; None: ``max(8, ceil(1.2 phi_max))``.
    error_estimate : bool
        Node-doubling error estimate of the exact ensemble (about 16 times the cost).
    """

    temperature_K: tuple = tuple(float(t) for t in np.geomspace(0.01, 30.0, 14))
    field_T: tuple = (0.01, 0.03, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.5)
    D_max_over_D0_min: tuple = (3.0, 10.0, 100.0, 1000.0, math.inf)
    tolerances: tuple = (0.01, 0.05)
    orientation_nodes: int | None = None
    error_estimate: bool = False


@dataclass(frozen=True)
class WeakFieldSettings:
    """Part c: Eq. 12 against the exact ``B = 0`` susceptibility; the limits of Eq. 13.

    Attributes
    ----------
    temperature_K : tuple of float
        Temperatures of the susceptibility comparison.
    eq13_temperature_K : tuple of float
        Temperatures of the Eq. 13 limits.
    error_estimate : bool
        Node-doubling error estimate of the exact susceptibilities.
    """

    temperature_K: tuple = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 4.5, 10.0, 30.0)
    eq13_temperature_K: tuple = (0.001, 0.003, 0.01, 0.03, 0.1, 1.0, 4.5, 30.0, 300.0)
    error_estimate: bool = True


@dataclass(frozen=True)
class HighFieldSettings:
    """Part d: exact ``M(B)`` at fixed ``T`` against Eq. 10 and the two Eq. 11 forms.

    Attributes
    ----------
    temperature_K : float
        Temperature (the seed's Fig. 23: 4.5 K).
    charge_area_A2 : tuple of float
        ``(Q/e) S_Delta`` sweep (sets ``B_phi`` and ``D0 = D0QS / (Q/e) S``).
    field_T : tuple of float
        Fields (T, >= 0); ``B = 0`` is added (its slope is the susceptibility).
    reference_field_T : float
        A field at which ``M/M_Eq10`` is also reported (the seed's top field, 6.5 T);
        added to the grid.
    departure : float
        Relative deviation that counts as a departure.
    orientation_nodes : int or None
        As for :class:`ExactMapSettings`.
    orientation_check : bool
        Recompute the exact top-field value with twice the orientation nodes and report the change.
    """

    temperature_K: float = 4.5
    charge_area_A2: tuple = (1.0e4, 3.0e4, 6.6e4, 1.0e5)
    field_T: tuple = tuple(float(b) for b in np.linspace(0.25, 10.0, 40))
    reference_field_T: float = 6.5
    departure: float = 0.05
    orientation_nodes: int | None = None
    orientation_check: bool = True


@dataclass(frozen=True)
class FourWellSettings:
    """Part e: four-well (tetrahedral) ensemble against the 3LS ensemble.

    Matching: same ``n_ATS``, same ``D_min``, ``D_max``, ``D0`` range and ``(Q/e) S`` per face
    (:attr:`Material.charge_area_A2`); ``P*_4 = P*/2`` so that ``P* dalpha`` (total ``2 pi P*``)
    and ``P*_4 dOmega`` (total ``4 pi P*_4``) give the same weight to every ``(D, D0)`` cell.

    Attributes
    ----------
    temperature_K, field_T : tuple of float
        Grid (``field_T > 0``).
    D_max_K : float
        Upper asymmetry cutoff of both ensembles (finite keeps the four-well cost bounded).
    sphere_degree : int
        Degree of the field-direction rule of the four-well ensemble.
    nodes : mapping or None
        Node counts of the four-well distribution (axes ``D``, ``D0``, ``direction``).
    """

    temperature_K: tuple = (1.0, 2.0, 4.5, 10.0, 30.0)
    field_T: tuple = (1.0, 3.0, 6.5)
    D_max_K: float = 1.0e3
    sphere_degree: int = 7
    nodes: MappingProxyType | None = None


@dataclass(frozen=True)
class ValidationSettings:
    """Everything ``tunnelsim validate`` computes, and where it writes.

    Attributes
    ----------
    title : str
    material : Material
    gap_fit, eq10_effective, eq10_exact, weak_field, high_field, four_well
        Settings of parts a-e.
    output_path : pathlib.Path
        Default HDF5 report path.
    plots_dir : pathlib.Path or None
        Default figure directory (None: ``<output stem>_figures`` next to the report).
    source : str
        Where the settings came from (``built-in quick``, ``built-in full`` or a file).
    text : str
        The TOML text when read from a file, else empty.
    """

    title: str = "ETM validation (full)"
    material: Material = Material()
    gap_fit: GapFitSettings = GapFitSettings()
    eq10_effective: EffectiveCheckSettings = EffectiveCheckSettings()
    eq10_exact: ExactMapSettings = ExactMapSettings()
    weak_field: WeakFieldSettings = WeakFieldSettings()
    high_field: HighFieldSettings = HighFieldSettings()
    four_well: FourWellSettings = FourWellSettings()
    output_path: Path = Path("results") / "validation.h5"
    plots_dir: Path | None = None
    source: str = "built-in full"
    text: str = ""


def full_settings():
    """Settings of the full report (also ``simulations/validation_full.toml``)."""
    return ValidationSettings()


def quick_settings():
    """Coarse grids and reduced node counts: the whole report in well under two minutes."""
    return ValidationSettings(
        title="ETM validation (quick)",
        gap_fit=GapFitSettings(box_sizes=(0.08, 0.04, 0.02, 0.01), points_per_axis=6, alpha_nodes=4, map_points=21),
        eq10_effective=EffectiveCheckSettings(temperature_K=(0.05, 4.5, 30.0), field_T=(0.1, 3.0, 6.5)),
        eq10_exact=ExactMapSettings(temperature_K=(0.01, 0.1, 1.0, 4.5, 20.0), field_T=(0.01, 0.1, 1.0, 3.0, 6.5),
                                    D_max_over_D0_min=(10.0, 1000.0, math.inf)),
        weak_field=WeakFieldSettings(temperature_K=(0.01, 0.1, 1.0, 4.5, 20.0),
                                     eq13_temperature_K=(0.001, 0.01, 0.1, 1.0, 4.5, 30.0, 300.0),
                                     error_estimate=False),
        high_field=HighFieldSettings(charge_area_A2=(3.0e4, 6.6e4),
                                     field_T=(0.5, 1.5, 2.5, 3.5, 4.0, 4.5, 5.0, 5.5, 6.5, 8.0, 10.0),
                                     orientation_check=False),
        four_well=FourWellSettings(temperature_K=(2.0, 4.5, 10.0, 30.0), field_T=(1.0, 3.0), D_max_K=100.0,
                                   sphere_degree=5, nodes=MappingProxyType({"D": 10, "D0": 2, "direction": 6})),
        output_path=Path("results") / "validation_quick.h5",
        source="built-in quick",
    )


# ============================================================================ small helpers
def mapped_cutoffs(D_min_K, D0_min_K, D0_max_K, D_max_K=math.inf):
    """Exact-3LS cutoffs whose effective two-level gap reproduces Eq. 10's (module docstring).

    ``sqrt(2/3) D' = D`` and ``(2/sqrt(3)) D0' = D0``: returns
    ``dict(D_min_K=sqrt(3/2) D_min, D0_min_K=(sqrt(3)/2) D0_min, D0_max_K=(sqrt(3)/2) D0_max,
    D_max_K=sqrt(3/2) D_max)``.
    """
    return {"D_min_K": _D_MAP * D_min_K, "D0_min_K": _D0_MAP * D0_min_K, "D0_max_K": _D0_MAP * D0_max_K,
            "D_max_K": _D_MAP * D_max_K}


def exact_gap_K(D_K, alpha, D0_K, phi):
    """Lower gap ``E_1 - E_0`` of Eq. 6 (``numpy.linalg.eigh``), batched over broadcast arguments.

    Parameters
    ----------
    D_K : array_like
        ``D = sqrt(E1^2 + E2^2 + E3^2)`` (K, >= 0).
    alpha : array_like
        Polar angle of the asymmetries (:func:`~tunnelsim.hamiltonians.asymmetries_from_polar`).
    D0_K : array_like
        Tunnelling amplitude (K, > 0).
    phi : array_like
        Aharonov-Bohm phase of Eq. 7.

    Returns
    -------
    numpy.ndarray
    """
    D, alpha, D0, phi = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (D_K, alpha, D0_K, phi)))
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    levels = spectra.solve(hamiltonians.three_level(E, D0, phi)).levels
    return levels[..., 1] - levels[..., 0]


def first_crossing(x, y, level):
    """Smallest ``x`` at which ``y`` first rises above ``level`` (linear interpolation); NaN if never.

    Returns ``x[0]`` when ``y[0]`` is already above.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    above = y > level
    if not np.any(above):
        return math.nan
    j = int(np.argmax(above))
    if j == 0:
        return float(x[0])
    return float(x[j - 1] + (level - y[j - 1]) * (x[j] - x[j - 1]) / (y[j] - y[j - 1]))


def peak(x, y):
    """Position and value of the maximum of ``y(x)``: parabola through the top three grid points.

    Returns the grid point itself when the maximum is at either end.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    j = int(np.argmax(y))
    if j == 0 or j == len(y) - 1:
        return float(x[j]), float(y[j])
    c2, c1, c0 = np.polyfit(x[j - 1:j + 2], y[j - 1:j + 2], 2)
    if c2 >= 0:
        return float(x[j]), float(y[j])
    xp = -c1 / (2.0 * c2)
    return float(xp), float(c0 + c1 * xp + c2 * xp * xp)


def _exact_settings(orientation_nodes, phi_max, error_estimate=False):
    """Averaging of an exact 3LS ensemble: default nodes, ``max(8, ceil(1.2 phi_max))`` orientations.

    The orientation average of the exact ensemble is smooth in ``u``; with this count the
    doubling check of :func:`check_high_field` changes the top-field value by < 1e-5.
    """
    n = orientation_nodes if orientation_nodes is not None else max(8, math.ceil(1.2 * phi_max))
    return AveragingSettings(error_estimate=error_estimate, orientation_nodes=int(n))


def _ats_ensemble(material, charge_area_A2, D_min_K, D0_min_K, D0_max_K, D_max_K):
    dist = ATSDistribution(D_min_K=D_min_K, D0_min_K=D0_min_K, D0_max_K=D0_max_K, D_max_K=D_max_K,
                           P_star=material.P_star)
    return Ensemble(ThreeLevelSystem(float(charge_area_A2)), dist, material.density_per_g)


def _exact_cutoffs(material, charge_area_A2, mapped, D_max_K):
    D0_min, D0_max = material.D0_range_K(charge_area_A2)
    if mapped:
        return mapped_cutoffs(material.D_min_K, D0_min, D0_max, D_max_K)
    return {"D_min_K": material.D_min_K, "D0_min_K": D0_min, "D0_max_K": D0_max, "D_max_K": D_max_K}


def _axis(values, name, positive=True):
    arr = np.atleast_1d(as_real_array(values, name))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list")
    if np.any(arr <= 0) if positive else np.any(arr < 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}")
    return arr


# ============================================================================ a. gap mapping
@dataclass(frozen=True)
class GapFitResult:
    """Fitted gap constants and the residual of the mapped gap.

    Attributes
    ----------
    a, b : float
        Extrapolated (``s -> 0``) constants of ``E^2 = a D^2 + b D0^2 phi^2``.
    box_sizes, a_by_box, b_by_box : numpy.ndarray
        Per-box fits.
    map_ratio, map_phase : numpy.ndarray
        Axes ``D/D0`` and ``phi`` of the residual map.
    residual_map : numpy.ndarray, shape (n_ratio, n_phase)
        ``max_alpha |sqrt(a D^2 + b D0^2 phi^2) / E_exact - 1|`` (NaN at the origin).
    slope_at_zero_field : float
        ``lim_{D/D0 -> 0} max_alpha |E_mapped/E_exact - 1| / (D/D0)`` at ``phi = 0``.
    eq10_phase_1pct, eq11_phase_1pct : float
        At ``D = 0``, the phase above which Eq. 10's gap ``(4/3) D0^2 phi^2`` and Eq. 11's
        ``(4/3) D0^2 phi^2 (1 - phi^2/27)`` differ from the exact squared gap by more than 1 %.
    tolerance : float
    """

    a: float
    b: float
    box_sizes: np.ndarray
    a_by_box: np.ndarray
    b_by_box: np.ndarray
    map_ratio: np.ndarray
    map_phase: np.ndarray
    residual_map: np.ndarray
    slope_at_zero_field: float
    eq10_phase_1pct: float
    eq11_phase_1pct: float
    tolerance: float


def _alpha_nodes(n):
    """``n`` angles equally spaced over ``[0, 2 pi/3)``: a full period of ``cos 3 alpha``."""
    return (np.arange(n) + 0.5) * (2.0 * math.pi / 3.0) / n


def fit_gap_mapping(settings=GapFitSettings()):
    """Part a: fit ``E_gap^2 = a D^2 + b D0^2 phi^2`` to exact Eq. 6 gaps (``D0 = 1``).

    In each box ``D/D0, phi in (0, s]`` (a grid times ``alpha`` nodes) the relative residuals
    ``(a x^2 + b phi^2)/E^2 - 1`` are minimised by linear least squares; the corrections are
    higher order in ``s`` (``x^3 cos 3 alpha``, ``x^4``, ``x^2 phi^2``, ``phi^4``), so ``a(s)``,
    ``b(s)`` are extrapolated to ``s -> 0`` with a polynomial in ``s``. Expected: ``a = 2/3``,
    ``b = 4/3`` (module docstring).

    Parameters
    ----------
    settings : GapFitSettings

    Returns
    -------
    GapFitResult
    """
    boxes = _axis(settings.box_sizes, "box_sizes")
    if len(boxes) < settings.extrapolation_degree + 1:
        raise ValueError("box_sizes: need more boxes than the extrapolation degree")
    n = int(settings.points_per_axis)
    alpha = _alpha_nodes(int(settings.alpha_nodes))
    a_s, b_s = [], []
    for s in boxes:
        grid = s * np.arange(1, n + 1) / n
        X, P, A = np.meshgrid(grid, grid, alpha, indexing="ij")
        g2 = exact_gap_K(X, A, 1.0, P).ravel() ** 2
        design = np.stack([X.ravel() ** 2, P.ravel() ** 2], axis=-1) / g2[:, None]
        (a, b), *_ = np.linalg.lstsq(design, np.ones_like(g2), rcond=None)
        a_s.append(a)
        b_s.append(b)
    a_s, b_s = np.array(a_s), np.array(b_s)
    deg = int(settings.extrapolation_degree)
    a0 = float(np.polynomial.polynomial.polyfit(boxes, a_s, deg)[0])
    b0 = float(np.polynomial.polynomial.polyfit(boxes, b_s, deg)[0])

    m = int(settings.map_points)
    ratio = np.linspace(0.0, settings.map_ratio_max, m)
    phase = np.linspace(0.0, settings.map_phase_max, m)
    alpha_map = np.linspace(0.0, 2.0 * math.pi / 3.0, 2 * int(settings.alpha_nodes) + 1)  # has cos 3 alpha = +-1
    X, P, A = np.meshgrid(ratio, phase, alpha_map, indexing="ij")
    exact = exact_gap_K(X, A, 1.0, P)
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.max(np.abs(np.sqrt(a0 * X**2 + b0 * P**2) / exact - 1.0), axis=-1)
    residual[0, 0] = np.nan

    x_small = np.array([1e-4, 2e-4])
    X, A = np.meshgrid(x_small, alpha_map, indexing="ij")
    err = np.max(np.abs(math.sqrt(a0) * X / exact_gap_K(X, A, 1.0, 0.0) - 1.0), axis=-1) / x_small
    slope = float(2.0 * err[0] - err[1])  # linear extrapolation to x -> 0

    phi = np.linspace(1e-3, math.pi, 2000)
    g2 = exact_gap_K(0.0, 0.0, 1.0, phi) ** 2
    eq10 = np.abs(b0 * phi**2 / g2 - 1.0)
    eq11 = np.abs(b0 * phi**2 * (1.0 - phi**2 / 27.0) / g2 - 1.0)
    return GapFitResult(
        a=a0, b=b0, box_sizes=boxes, a_by_box=a_s, b_by_box=b_s, map_ratio=ratio, map_phase=phase,
        residual_map=residual, slope_at_zero_field=slope, eq10_phase_1pct=first_crossing(phi, eq10, 0.01),
        eq11_phase_1pct=first_crossing(phi, eq11, 0.01), tolerance=float(settings.tolerance),
    )


# ============================================================================ b. Eq. 10
@dataclass(frozen=True)
class EffectiveCheckResult:
    """Eq. 10 against the effective two-level ensemble.

    Attributes
    ----------
    temperature_K, field_T, orientations : numpy.ndarray
    per_orientation : numpy.ndarray, shape (n_u, nT, nB)
        ``|M_Eq10 / M_eff2LS - 1|`` for one orientation.
    averaged : numpy.ndarray, shape (nT, nB)
        The same for the orientation averages (``magnetization_etm`` against a graded
        Gauss-Legendre average of the direct 2-D quadrature).
    max_error : float
    tolerance : float
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    orientations: np.ndarray
    per_orientation: np.ndarray
    averaged: np.ndarray
    max_error: float
    tolerance: float


def _graded_u_rule(u_min, nodes_per_panel=10, ratio=4.0):
    """Gauss-Legendre on geometric panels ``[0, u_min], ..., [1/ratio, 1]`` of ``u`` in [0, 1]."""
    levels = max(1, math.ceil(math.log(1.0 / u_min, ratio)))
    edges = np.concatenate([[0.0], ratio ** -np.arange(levels, -1, -1.0)])
    x, w = np.polynomial.legendre.leggauss(nodes_per_panel)
    lo, hi = edges[:-1, None], edges[1:, None]
    return (lo + 0.5 * (hi - lo) * (x + 1.0)).ravel(), (0.5 * (hi - lo) * w).ravel()


def check_eq10_effective(material=Material(), settings=EffectiveCheckSettings()):
    """Part b(i): Eq. 10 (corrected, prefactor ``pi P* n_ATS / (2B)``) against its effective 2LS ensemble.

    Per orientation :func:`~tunnelsim.etm.magnetization_eq10` against
    :func:`~tunnelsim.etm.effective_two_level_magnetization` (a direct 2-D quadrature over
    ``dD/D dD0/D0``); orientation averaged :func:`~tunnelsim.etm.magnetization_etm` against the
    direct quadrature averaged over ``u`` with Gauss-Legendre panels graded towards ``u = 0``
    (down to ``u ~ D_min / (10 D0_max phi_max)``, where the integrand varies).

    Returns
    -------
    EffectiveCheckResult
    """
    T = _axis(settings.temperature_K, "temperature_K")
    B = _axis(settings.field_T, "field_T")
    u = _axis(settings.orientations, "orientations")
    if np.any(u > 1):
        raise ValueError("orientations must lie in (0, 1]")
    args = material.eq10_args()
    amp = material.amplitude_per_g
    Tg, Bg = T[:, None], B[None, :]
    per_u = []
    for uk in u:
        m10 = etm.magnetization_eq10(Tg, Bg, *args, amp, u=uk)
        m2 = etm.effective_two_level_magnetization(Tg, Bg, *args, amp, u=uk)
        per_u.append(np.abs(m10 / m2 - 1.0))
    w_max = float(units.phase_per_tesla(material.D0QS_max_K_A2)) * float(B.max())
    u_nodes, u_weights = _graded_u_rule(min(0.1, material.D_min_K / (10.0 * w_max)))
    m2 = etm.effective_two_level_magnetization(Tg[None], Bg[None], *args, amp, u=u_nodes[:, None, None])
    m_avg = np.tensordot(u_weights, m2, axes=(0, 0))
    averaged = np.abs(etm.magnetization_etm(Tg, Bg, *args, amp) / m_avg - 1.0)
    per_u = np.array(per_u)
    return EffectiveCheckResult(T, B, u, per_u, averaged, float(max(per_u.max(), averaged.max())),
                                float(settings.tolerance))


@dataclass(frozen=True)
class ExactMapResult:
    """Eq. 10 against the exact 3LS ensemble (mapped cutoffs) over ``(T, B)`` and ``D_max/D0_min``.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    D_max_over_D0_min : numpy.ndarray
        Of the exact ensemble (its mapped cutoffs).
    magnetization_eq10 : numpy.ndarray, shape (nT, nB)
    magnetization_exact, magnetization_exact_error : numpy.ndarray, shape (nR, nT, nB)
        Error NaN unless estimated.
    relative_error : numpy.ndarray, shape (nR, nT, nB)
        ``M_Eq10 / M_exact - 1``.
    tolerances : numpy.ndarray
    fraction_within : numpy.ndarray, shape (nR, n_tol)
        Fraction of the ``(T, B)`` grid with ``|relative_error| <= tol``.
    boundary_field_T : numpy.ndarray, shape (nR, n_tol, nT)
        Per temperature the largest grid field up to which every field is within ``tol``
        (NaN: not even the lowest field).
    exact_parameters : dict
        The exact ensembles' cutoffs (K) and ``(Q/e) S`` (Å^2) without ``D_max``.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    D_max_over_D0_min: np.ndarray
    magnetization_eq10: np.ndarray
    magnetization_exact: np.ndarray
    magnetization_exact_error: np.ndarray
    relative_error: np.ndarray
    tolerances: np.ndarray
    fraction_within: np.ndarray
    boundary_field_T: np.ndarray
    exact_parameters: dict


def _boundary(B, ok):
    """Largest ``B`` up to which every entry of ``ok`` (ascending ``B``) is true; NaN if none."""
    if not ok[0]:
        return math.nan
    bad = np.nonzero(~ok)[0]
    return float(B[-1] if bad.size == 0 else B[bad[0] - 1])


def compare_eq10_exact(material=Material(), settings=ExactMapSettings()):
    """Part b(ii): Eq. 10 against the exact 3LS ensemble with mapped cutoffs (:func:`mapped_cutoffs`).

    The exact ensemble has ``D_min' = sqrt(3/2) D_min``, ``D0' = (sqrt(3)/2) D0``
    (``D0 = D0QS / (Q/e) S`` with :attr:`Material.charge_area_A2`), ``D_max' = r D0_min'`` for
    each ``r`` of ``D_max_over_D0_min``; Eq. 10 is the seed's (``D_max = inf``). The relative
    error ``M_Eq10/M_exact - 1`` then measures what the effective two-level reduction leaves
    out (doublet-centre shift, third level, ``D >~ D0``, higher orders in ``phi``) plus the
    truncation at ``D_max'``.

    Returns
    -------
    ExactMapResult
    """
    T = _axis(settings.temperature_K, "temperature_K")
    B = _axis(settings.field_T, "field_T")
    ratios = _ratios(settings.D_max_over_D0_min)
    tols = _axis(settings.tolerances, "tolerances")
    m10 = etm.magnetization_etm(T[:, None], B[None, :], *material.eq10_args(), material.amplitude_per_g)
    base = _exact_cutoffs(material, material.charge_area_A2, True, math.inf)
    phi_max = float(units.phase_per_tesla(material.charge_area_A2)) * float(B.max())
    avg = _exact_settings(settings.orientation_nodes, phi_max, settings.error_estimate)
    exact, errors = [], []
    for r in ratios:
        D_max = r * base["D0_min_K"]
        if not D_max > base["D_min_K"]:
            raise ValueError(f"D_max_over_D0_min: {r:g} puts D_max below D_min")
        ens = _ats_ensemble(material, material.charge_area_A2, base["D_min_K"], base["D0_min_K"], base["D0_max_K"],
                            D_max)
        res = compute(ens, T, B, settings=avg)
        exact.append(res.values["magnetization"])
        errors.append(res.errors["magnetization"])
    exact, errors = np.array(exact), np.array(errors)
    rel = m10[None] / exact - 1.0
    within = np.abs(rel)[:, None] <= tols[None, :, None, None]  # (nR, ntol, nT, nB)
    fraction = within.mean(axis=(2, 3))
    boundary = np.array([[[_boundary(B, within[i, k, j]) for j in range(T.size)] for k in range(tols.size)]
                         for i in range(ratios.size)])
    params = {k: v for k, v in base.items() if k != "D_max_K"}
    params["charge_area_A2"] = material.charge_area_A2
    return ExactMapResult(T, B, ratios, m10, exact, errors, rel, tols, fraction, boundary, params)


def _ratios(values):
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr <= 1.0):
        raise ValueError("D_max_over_D0_min must be a non-empty list of numbers > 1 (inf allowed)")
    return arr


# ============================================================================ c. weak field
@dataclass(frozen=True)
class WeakFieldResult:
    """Eq. 12 against the exact ``B = 0`` susceptibility, and the Eq. 13 limits.

    Attributes
    ----------
    temperature_K : numpy.ndarray
    susceptibility_eq12 : numpy.ndarray
        Eq. 12 (emu g^-1 Oe^-1).
    susceptibility_eq12_gap : numpy.ndarray
        Eq. 12 with ``D_min -> sqrt(2/3) D_min`` (the exact asymmetry splitting).
    susceptibility_exact, susceptibility_exact_error : numpy.ndarray
        Exact ensemble with the seed's parameters as given (``D_max`` of the material).
    susceptibility_exact_mapped, susceptibility_exact_mapped_error : numpy.ndarray
        Exact ensemble with mapped cutoffs.
    ratio_exact, ratio_exact_mapped : numpy.ndarray
        ``chi_exact / chi_Eq12`` for both.
    gap_prediction : numpy.ndarray
        ``(4/3) chi_Eq12_gap / chi_Eq12``: the ratio the leading-order gap mapping predicts.
    d0_factor : numpy.ndarray
        ``chi_exact / chi_Eq12_gap``; tends to 4/3 as ``T/D0 -> 0``.
    D0_range_K : tuple
        ``(D0_min, D0_max)`` of the unmapped exact ensemble.
    eq13_temperature_K : numpy.ndarray
    tanh_integral_per_K : numpy.ndarray
        ``I(T) = int_{D_min}^inf tanh(E/2T) dE/E^2`` (:func:`~tunnelsim.etm.tanh_integral_per_K`).
    tanh_integral_quad_per_K : numpy.ndarray
        The same by :func:`scipy.integrate.quad` in ``ln E`` (independent check).
    low_T_limit_per_K, high_T_limit_per_K, high_T_seed_per_K : numpy.ndarray
        ``1/D_min``; ``[ln(2T/D_min) + c]/(2T)``; the seed's ``1/(2T)``.
    high_temperature_constant : float
        ``c`` (:func:`~tunnelsim.etm.high_temperature_constant`).
    """

    temperature_K: np.ndarray
    susceptibility_eq12: np.ndarray
    susceptibility_eq12_gap: np.ndarray
    susceptibility_exact: np.ndarray
    susceptibility_exact_error: np.ndarray
    susceptibility_exact_mapped: np.ndarray
    susceptibility_exact_mapped_error: np.ndarray
    ratio_exact: np.ndarray
    ratio_exact_mapped: np.ndarray
    gap_prediction: np.ndarray
    d0_factor: np.ndarray
    D0_range_K: tuple
    eq13_temperature_K: np.ndarray
    tanh_integral_per_K: np.ndarray
    tanh_integral_quad_per_K: np.ndarray
    low_T_limit_per_K: np.ndarray
    high_T_limit_per_K: np.ndarray
    high_T_seed_per_K: np.ndarray
    high_temperature_constant: float

    def relative_errors(self):
        """``limit / I - 1`` of the low-T, corrected high-T and seed high-T forms of Eq. 13."""
        I = self.tanh_integral_per_K
        return (self.low_T_limit_per_K / I - 1.0, self.high_T_limit_per_K / I - 1.0, self.high_T_seed_per_K / I - 1.0)


def tanh_integral_quad_per_K(temperature_K, D_min_K):
    """``int_{D_min}^inf tanh(E/2T) dE/E^2`` by adaptive quadrature in ``ln E`` (independent of etm).

    Beyond ``E_c = max(D_min, 40 T)`` ``tanh = 1`` to 1e-17 and the tail is ``1/E_c``.
    """
    out = []
    for T in np.atleast_1d(as_positive_array(temperature_K, "temperature_K")):
        E_c = max(D_min_K, 40.0 * T)
        value = 1.0 / E_c
        if E_c > D_min_K:
            value += integrate.quad(lambda s, T=T: math.tanh(math.exp(s) / (2.0 * T)) * math.exp(-s),
                                    math.log(D_min_K), math.log(E_c), epsabs=0.0, epsrel=1e-12, limit=200)[0]
        out.append(value)
    return np.array(out)


def check_weak_field(material=Material(), settings=WeakFieldSettings()):
    """Part c: Eq. 12 against the exact ensemble's ``B = 0`` susceptibility; Eq. 13's limits.

    The exact ``chi = dM/dH`` at ``B = 0`` comes from :func:`~tunnelsim.ensemble.compute`
    (``"susceptibility"``), for the seed's parameters as given and for the mapped cutoffs.
    The D0 factor ``chi_exact / chi_Eq12(D_min -> sqrt(2/3) D_min)`` isolates the ``(4/3)``
    of the ``D0`` mapping (module docstring). Eq. 13's limits are compared with the integral
    ``I(T)`` of Eq. 12, itself checked against an independent adaptive quadrature.

    Returns
    -------
    WeakFieldResult
    """
    T = _axis(settings.temperature_K, "temperature_K")
    T13 = _axis(settings.eq13_temperature_K, "eq13_temperature_K")
    Dmin, qs1, qs2 = material.eq10_args()
    amp = material.amplitude_per_g
    chi12 = etm.susceptibility_eq12_emu_per_g_Oe(T, Dmin, qs1, qs2, amp)
    chi12_gap = etm.susceptibility_eq12_emu_per_g_Oe(T, math.sqrt(GAP_A) * Dmin, qs1, qs2, amp)
    avg = AveragingSettings(error_estimate=settings.error_estimate)
    chis = {}
    for mapped in (False, True):
        c = _exact_cutoffs(material, material.charge_area_A2, mapped, material.D_max_K)
        res = compute(_ats_ensemble(material, material.charge_area_A2, **c), T, [0.0],
                      observables=("susceptibility",), settings=avg)
        chis[mapped] = (res.values["susceptibility"][:, 0], res.errors["susceptibility"][:, 0])
    I = etm.tanh_integral_per_K(T13, Dmin)
    return WeakFieldResult(
        temperature_K=T, susceptibility_eq12=chi12, susceptibility_eq12_gap=chi12_gap,
        susceptibility_exact=chis[False][0], susceptibility_exact_error=chis[False][1],
        susceptibility_exact_mapped=chis[True][0], susceptibility_exact_mapped_error=chis[True][1],
        ratio_exact=chis[False][0] / chi12, ratio_exact_mapped=chis[True][0] / chi12,
        gap_prediction=GAP_B * chi12_gap / chi12, d0_factor=chis[False][0] / chi12_gap,
        D0_range_K=material.D0_range_K(), eq13_temperature_K=T13, tanh_integral_per_K=I,
        tanh_integral_quad_per_K=tanh_integral_quad_per_K(T13, Dmin),
        low_T_limit_per_K=np.broadcast_to(etm.tanh_integral_low_temperature_limit_per_K(Dmin), T13.shape).copy(),
        high_T_limit_per_K=etm.tanh_integral_high_temperature_limit_per_K(T13, Dmin),
        high_T_seed_per_K=etm.tanh_integral_high_temperature_seed_per_K(T13),
        high_temperature_constant=float(etm.high_temperature_constant()),
    )


# ============================================================================ d. high field
@dataclass(frozen=True)
class HighFieldResult:
    """Exact ``M(B)`` at fixed ``T`` against Eq. 10 and the Eq. 11 forms, per ``(Q/e) S_Delta``.

    Curves (axis 1 of the arrays, :data:`HIGH_FIELD_CURVES`): ``exact`` (seed's parameters as
    given), ``exact_mapped`` (mapped cutoffs), ``eq10``, ``eq11`` (modified gap, true
    derivative), ``shortcut`` (seed's ``(1 - (B/B*)^2/54)/B``, ``B* = B_phi``).

    Attributes
    ----------
    temperature_K : float
    charge_area_A2, B_phi_T : numpy.ndarray, shape (nq,)
    D0_min_K, D0_max_K : numpy.ndarray, shape (nq,)
        Of the unmapped exact ensemble.
    field_T : numpy.ndarray, shape (nB,)
        Starts at 0.
    magnetization : numpy.ndarray, shape (nq, 5, nB)
        emu/g.
    susceptibility_weak : numpy.ndarray, shape (nq, 5)
        ``dM/dH`` at ``B = 0`` (Eq. 12 for the three analytic curves).
    weak_ratio_eq10 : numpy.ndarray, shape (nq, 5)
        ``chi / chi_Eq12``.
    peak_field_T, peak_magnetization : numpy.ndarray, shape (nq, 5)
    top_ratio_eq10, reference_ratio_eq10 : numpy.ndarray, shape (nq, 5)
        ``M / M_Eq10`` at the top field and at ``reference_field_T``.
    negative_field_T : numpy.ndarray, shape (nq, 5)
        Lowest field where ``M < 0`` (NaN: none up to the top field). Eq. 11 from
        :func:`~tunnelsim.etm.high_field_sign_change_T`, the shortcut at ``sqrt(54) B*``, the
        others by linear interpolation on the grid.
    positive_again_T : numpy.ndarray, shape (nq, 5)
        First field above ``negative_field_T`` where ``M > 0`` again (grid; NaN: none).
    departure_field_T, shape_departure_field_T : numpy.ndarray, shape (nq, 3)
        For ``eq10``, ``eq11``, ``shortcut``: lowest field where ``|M_a/M_exact_mapped - 1|``
        exceeds ``departure`` (0: already at ``B -> 0``, from the susceptibilities), and the same
        for the ratio normalised to its ``B -> 0`` value (the field dependence alone).
    orientation_change : numpy.ndarray, shape (nq,)
        ``|M(2n) - M(n)| / max|M|`` of the exact curve at the top field under doubling of the
        orientation nodes (NaN if not checked).
    orientation_nodes : numpy.ndarray, shape (nq,)
    reference_field_T, departure : float
    """

    temperature_K: float
    charge_area_A2: np.ndarray
    B_phi_T: np.ndarray
    D0_min_K: np.ndarray
    D0_max_K: np.ndarray
    field_T: np.ndarray
    magnetization: np.ndarray
    susceptibility_weak: np.ndarray
    weak_ratio_eq10: np.ndarray
    peak_field_T: np.ndarray
    peak_magnetization: np.ndarray
    top_ratio_eq10: np.ndarray
    reference_ratio_eq10: np.ndarray
    negative_field_T: np.ndarray
    positive_again_T: np.ndarray
    departure_field_T: np.ndarray
    shape_departure_field_T: np.ndarray
    orientation_change: np.ndarray
    orientation_nodes: np.ndarray
    reference_field_T: float
    departure: float


def _departures(B, m_a, m_e, chi_a, chi_e, tol):
    """(absolute, shape) departure fields of an analytic curve from the exact one (B[0] = 0)."""
    weak = chi_a / chi_e
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.concatenate([[weak], m_a[1:] / m_e[1:]])
    absolute = first_crossing(B, np.abs(ratio - 1.0), tol)
    shape = first_crossing(B, np.abs(ratio / weak - 1.0), tol)
    return absolute, shape


def _sign_changes(B, m):
    """(first field with M < 0, first field after it with M > 0), linear interpolation; NaN if none."""
    neg = first_crossing(B, -m, 0.0)
    if math.isnan(neg):
        return neg, math.nan
    after = B > neg
    again = first_crossing(np.concatenate([[neg], B[after]]), np.concatenate([[0.0], m[after]]), 0.0)
    return neg, again


def check_high_field(material=Material(), settings=HighFieldSettings()):
    """Part d: the high-field regime at fixed ``T`` for a sweep of ``(Q/e) S_Delta``.

    For each ``(Q/e) S_Delta`` (``D0 = D0QS/(Q/e)S``, ``B_phi = phi_0/(2 pi (Q/e) S)``) the exact
    ensemble (seed's parameters as given, and mapped cutoffs; ``D_max`` of the material) is
    compared with Eq. 10, the true-derivative Eq. 11 model and the seed's shortcut. The
    analytic forms approximate the mapped exact ensemble, so departures are measured against it;
    the unmapped curve is the one the seed's fitted parameters describe literally (its weak-field
    ratio to Eq. 10 is the "4/3" of the module docstring, reduced at finite ``T/D0``).

    Returns
    -------
    HighFieldResult
    """
    T = float(as_positive_array(settings.temperature_K, "temperature_K"))
    qs_all = _axis(settings.charge_area_A2, "charge_area_A2")
    B_ref = float(as_positive_array(settings.reference_field_T, "reference_field_T"))
    B = _axis(settings.field_T, "field_T", positive=False)
    B = np.union1d(np.where(np.isclose(B, B_ref, rtol=1e-9, atol=0.0), B_ref, B), [0.0, B_ref])
    tol = float(settings.departure)
    if not 0 < tol < 1:
        raise ValueError(f"departure must lie in (0, 1), got {tol!r}")
    args, amp = material.eq10_args(), material.amplitude_per_g
    chi12 = float(etm.susceptibility_eq12_emu_per_g_Oe(T, *args, amp))
    nq, nc, nB = qs_all.size, len(HIGH_FIELD_CURVES), B.size
    M = np.zeros((nq, nc, nB))
    chi = np.zeros((nq, nc))
    peak_B, peak_M, top, ref, neg, again = (np.full((nq, nc), np.nan) for _ in range(6))
    dep, shape_dep = np.full((nq, 3), np.nan), np.full((nq, 3), np.nan)
    orient_change, orient_nodes = np.full(nq, np.nan), np.zeros(nq, dtype=int)
    j_ref = int(np.nonzero(B == B_ref)[0][0])
    for i, qs in enumerate(qs_all):
        B_phi = float(units.phase_field_scale_T(qs))
        avg = _exact_settings(settings.orientation_nodes, B[-1] / B_phi)
        orient_nodes[i] = avg.orientation_nodes
        for c, mapped in enumerate((False, True)):
            ens = _ats_ensemble(material, qs, **_exact_cutoffs(material, qs, mapped, material.D_max_K))
            M[i, c] = compute(ens, [T], B, settings=avg).values["magnetization"][0]
            chi[i, c] = compute(ens, [T], [0.0], observables=("susceptibility",),
                                settings=dataclasses.replace(avg, orientation_nodes=8)).values["susceptibility"][0, 0]
            if c == 0 and settings.orientation_check:
                fine = dataclasses.replace(avg, orientation_nodes=2 * avg.orientation_nodes)
                m_fine = compute(ens, [T], B[-1:], settings=fine).values["magnetization"][0, 0]
                orient_change[i] = abs(m_fine - M[i, c, -1]) / np.max(np.abs(M[i, c]))
        M[i, 2] = etm.magnetization_etm(T, B, *args, amp)
        M[i, 3] = etm.magnetization_etm_high_field(T, B, *args, qs, amp)
        M[i, 4] = etm.magnetization_etm_shortcut(T, B, *args, amp, charge_area_A2=qs)
        chi[i, 2:] = chi12
        for c in range(nc):
            peak_B[i, c], peak_M[i, c] = peak(B, M[i, c])
            top[i, c] = M[i, c, -1] / M[i, 2, -1]
            ref[i, c] = M[i, c, j_ref] / M[i, 2, j_ref]
            neg[i, c], again[i, c] = _sign_changes(B, M[i, c])
        if B[-1] > math.sqrt(13.5) * B_phi:  # Eq. 11 changes sign only beyond phi^2 = 27/2
            neg[i, 3] = float(etm.high_field_sign_change_T(T, *args, qs, field_max_T=B[-1])[0])
        else:
            neg[i, 3] = math.nan
        neg[i, 4] = math.sqrt(54.0) * B_phi if math.sqrt(54.0) * B_phi <= B[-1] else math.nan
        for k, c in enumerate((2, 3, 4)):
            dep[i, k], shape_dep[i, k] = _departures(B, M[i, c], M[i, 1], chi[i, c], chi[i, 1], tol)
    D0 = np.array([material.D0_range_K(q) for q in qs_all])
    return HighFieldResult(
        temperature_K=T, charge_area_A2=qs_all, B_phi_T=units.phase_field_scale_T(qs_all), D0_min_K=D0[:, 0],
        D0_max_K=D0[:, 1], field_T=B, magnetization=M, susceptibility_weak=chi, weak_ratio_eq10=chi / chi12,
        peak_field_T=peak_B, peak_magnetization=peak_M, top_ratio_eq10=top, reference_ratio_eq10=ref,
        negative_field_T=neg, positive_again_T=again, departure_field_T=dep, shape_departure_field_T=shape_dep,
        orientation_change=orient_change, orientation_nodes=orient_nodes, reference_field_T=B_ref, departure=tol,
    )


# ============================================================================ e. four wells
@dataclass(frozen=True)
class FourWellResult:
    """Four-well (tetrahedral) ensemble against the matched 3LS ensemble.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    magnetization_three_level, magnetization_four_well : numpy.ndarray, shape (nT, nB)
        emu/g.
    ratio : numpy.ndarray, shape (nT, nB)
        ``M_4w / M_3LS``.
    shape_ratio : numpy.ndarray, shape (nT, nB)
        Ratio of the curves normalised per field to their value at the lowest temperature.
    verdict : str
        :func:`four_well_verdict`.
    matching : str
        How the parameters were matched.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    magnetization_three_level: np.ndarray
    magnetization_four_well: np.ndarray
    ratio: np.ndarray
    shape_ratio: np.ndarray
    verdict: str
    matching: str


def four_well_verdict(ratio, close=0.05, same_shape=1.10):
    """One line on how close "the same physics" is, from the ratios ``M_4w / M_3LS``.

    * every ratio within ``close`` of 1: the same physics quantitatively;
    * same sign everywhere and ``max/min <= same_shape``: the same temperature and field
      dependence up to a constant factor (absorbed by the fitted ``n_ATS P*``);
    * same sign, larger spread: qualitatively alike (sign, order of magnitude), not in detail;
    * otherwise different.
    """
    r = np.asarray(ratio, dtype=float).ravel()
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("ratio has no finite values")
    lo, hi = float(r.min()), float(r.max())
    if np.all(np.abs(r - 1.0) <= close):
        return f"same physics quantitatively: M_4w/M_3LS within {close:.0%} of 1 ({lo:.3f} to {hi:.3f})"
    if lo > 0 and hi / lo <= same_shape:
        mean = math.exp(float(np.mean(np.log(r))))
        return (f"same T and B dependence within {hi / lo - 1:.1%}, amplitude x{mean:.2f} "
                f"(a constant absorbed by the fitted n_ATS P*)")
    if lo > 0:
        return (f"alike only qualitatively: same sign, M_4w/M_3LS runs from {lo:.2f} to {hi:.2f} "
                f"(T and B dependence differ by {hi / lo - 1:.0%}), so not the same physics in detail")
    return f"different: M_4w/M_3LS runs from {lo:.2f} to {hi:.2f} and changes sign"


def compare_four_well(material=Material(), settings=FourWellSettings()):
    """Part e: :class:`~tunnelsim.systems.FourWellSystem` + :class:`~tunnelsim.distributions.FourWellATSDistribution`
    against the 3LS ATS ensemble with matched parameters (:class:`FourWellSettings`).

    Returns
    -------
    FourWellResult
    """
    T = _axis(settings.temperature_K, "temperature_K")
    B = _axis(settings.field_T, "field_T")
    qs = material.charge_area_A2
    D0_min, D0_max = material.D0_range_K()
    D_max = float(settings.D_max_K)
    three = _ats_ensemble(material, qs, material.D_min_K, D0_min, D0_max, D_max)
    dist4 = FourWellATSDistribution(D_min_K=material.D_min_K, D0_min_K=D0_min, D0_max_K=D0_max, D_max_K=D_max,
                                    P_star=material.P_star / 2.0)
    four = Ensemble(FourWellSystem(qs), dist4, material.density_per_g)
    phi_max = float(units.phase_per_tesla(qs)) * float(B.max())
    m3 = compute(three, T, B, settings=_exact_settings(None, phi_max)).values["magnetization"]
    s4 = AveragingSettings(error_estimate=False, sphere_degree=int(settings.sphere_degree),
                           nodes=None if settings.nodes is None else dict(settings.nodes))
    m4 = compute(four, T, B, settings=s4).values["magnetization"]
    ratio = m4 / m3
    shape = (m4 / m4[:1]) / (m3 / m3[:1])
    matching = (f"same n_ATS = {material.density_per_g:.4g}/g, D_min = {material.D_min_K:g} K, "
                f"D_max = {D_max:g} K, D0 = {D0_min:.4g}..{D0_max:.4g} K, (Q/e) S = {qs:g} A^2 per loop/face; "
                f"P* = {material.P_star:.4g} (3LS, d alpha) and P*/2 (four-well, d Omega)")
    return FourWellResult(T, B, m3, m4, ratio, shape, four_well_verdict(ratio), matching)


# ============================================================================ the whole report
@dataclass(frozen=True)
class ValidationReport:
    """Results of parts a-e (None where a part was not run) and the time each took (s)."""

    settings: ValidationSettings
    gap_fit: GapFitResult | None = None
    eq10_effective: EffectiveCheckResult | None = None
    eq10_exact: ExactMapResult | None = None
    weak_field: WeakFieldResult | None = None
    high_field: HighFieldResult | None = None
    four_well: FourWellResult | None = None
    timings_s: dict = field(default_factory=dict)


PARTS = {
    "gap_fit": lambda s: fit_gap_mapping(s.gap_fit),
    "eq10_effective": lambda s: check_eq10_effective(s.material, s.eq10_effective),
    "eq10_exact": lambda s: compare_eq10_exact(s.material, s.eq10_exact),
    "weak_field": lambda s: check_weak_field(s.material, s.weak_field),
    "high_field": lambda s: check_high_field(s.material, s.high_field),
    "four_well": lambda s: compare_four_well(s.material, s.four_well),
}


def run_validation(settings=None, parts=None, log=None):
    """Run the validation parts.

    Parameters
    ----------
    settings : ValidationSettings, optional
        Default :func:`full_settings`.
    parts : sequence of str, optional
        Names from :data:`PARTS` (default all, in order).
    log : callable, optional
        Called with one line after each part (e.g. ``print`` to stderr).

    Returns
    -------
    ValidationReport
    """
    settings = full_settings() if settings is None else settings
    names = tuple(PARTS) if parts is None else tuple(parts)
    for name in names:
        if name not in PARTS:
            raise ValueError(f"parts: unknown part {name!r}; expected some of {', '.join(PARTS)}")
    results, timings = {}, {}
    for name in names:
        start = time.perf_counter()
        results[name] = PARTS[name](settings)
        timings[name] = time.perf_counter() - start
        if log is not None:
            log(f"validate: {name} done in {timings[name]:.1f} s")
    return ValidationReport(settings=settings, timings_s=timings, **results)


# ============================================================================ text report
def _fmt(x, spec=".3g", none="-"):
    return none if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _fmt_list(values, spec=".3g"):
    return ", ".join(format(float(v), spec) for v in values)


def _section_a(r):
    lines = ["a. Effective-gap mapping fitted from exact Eq. 6 spectra: E^2 = a D^2 + b D0^2 phi^2",
             "   box s (D/D0, phi <= s)      a(s)          b(s)"]
    lines += [f"   {s:<27.4g} {a:<13.8f} {b:.8f}" for s, a, b in zip(r.box_sizes, r.a_by_box, r.b_by_box)]
    ok = abs(r.a - GAP_A) <= r.tolerance and abs(r.b - GAP_B) <= r.tolerance
    lines += [
        f"   extrapolated s -> 0         a = {r.a:.8f} (2/3: |diff| {abs(r.a - GAP_A):.1e})   "
        f"b = {r.b:.8f} (4/3: |diff| {abs(r.b - GAP_B):.1e})   {'ok' if ok else 'FAIL'} (tolerance {r.tolerance:g})",
        f"   mapped gap vs exact: |E_map/E - 1| -> {r.slope_at_zero_field:.4f} D/D0 at phi = 0 (max over alpha; "
        f"{2 * r.slope_at_zero_field:.4f} D/D0 for E^2); "
        f"max {np.nanmax(r.residual_map):.1%} on D/D0 <= {r.map_ratio[-1]:g}, phi <= {r.map_phase[-1]:g}",
        f"   at D = 0 the exact E^2 leaves Eq. 10's (4/3) D0^2 phi^2 by 1 % at phi = {r.eq10_phase_1pct:.3f} "
        f"and Eq. 11's (4/3) D0^2 phi^2 (1 - phi^2/27) at phi = {r.eq11_phase_1pct:.3f}",
    ]
    return lines


def _section_b(eff, ex):
    lines = ["b. Eq. 10 (corrected: E_c1..E_c2, prefactor pi P* n_ATS / (2B)), orientation averaged"]
    if eff is not None:
        ok = eff.max_error < eff.tolerance
        lines.append(f"   vs effective two-level ensemble: max |rel. diff| = {eff.max_error:.1e} over T = "
                     f"{_fmt_list(eff.temperature_K)} K, B = {_fmt_list(eff.field_T)} T, u = "
                     f"{_fmt_list(eff.orientations)} and the u average   "
                     f"{'ok' if ok else 'FAIL'} (< {eff.tolerance:g})")
    if ex is None:
        return lines
    p = ex.exact_parameters
    lines += [f"   vs exact 3LS ensemble, mapped cutoffs D_min' = {p['D_min_K']:.4g} K, D0' = {p['D0_min_K']:.4g}.."
              f"{p['D0_max_K']:.4g} K, (Q/e)S = {p['charge_area_A2']:g} A^2, D_max' = r D0_min'; "
              "error = M_Eq10/M_exact - 1",
              "   r = D_max/D0_min  " + "".join(f"within {t:.0%}: fraction, T <= [K], B <= [T]    "
                                                  for t in ex.tolerances)]
    for i, r in enumerate(ex.D_max_over_D0_min):
        cells = []
        for k in range(ex.tolerances.size):
            inside = np.isfinite(ex.boundary_field_T[i, k])
            T_top = _fmt(float(ex.temperature_K[inside].max()) if inside.any() else math.nan, ".3g")
            B_top = _fmt(float(np.nanmax(ex.boundary_field_T[i, k])) if inside.any() else math.nan, ".3g")
            cells.append(f"{ex.fraction_within[i, k]:<10.2f}{T_top:<10}{B_top:<22}")
        lines.append(f"   {r:<17g} " + "".join(cells))
    tol_txt = " / ".join(f"{t:.0%}" for t in ex.tolerances)
    lines.append(f"   largest field [T] up to which Eq. 10 is within {tol_txt} "
                 f"(-: not even at B = {ex.field_T[0]:g} T)")
    lines.append("   T [K]     " + "".join(f"r = {r:<14g}" for r in ex.D_max_over_D0_min))
    for j, T in enumerate(ex.temperature_K):
        cells = [" / ".join(_fmt(ex.boundary_field_T[i, k, j], ".3g") for k in range(ex.tolerances.size))
                 for i in range(ex.D_max_over_D0_min.size)]
        lines.append(f"   {T:<9.3g} " + "".join(f"{c:<18}" for c in cells))
    i = ex.D_max_over_D0_min.size - 1
    lines.append(f"   relative error map for r = {ex.D_max_over_D0_min[i]:g} (rows T [K], columns B [T])")
    lines.append("   T \\ B     " + "".join(f"{b:<9.3g}" for b in ex.field_T))
    for j, T in enumerate(ex.temperature_K):
        lines.append(f"   {T:<9.3g} " + "".join(f"{e:<+9.3f}" for e in ex.relative_error[i, j]))
    return lines


def _section_c(r):
    lo, hi = r.D0_range_K
    lines = [f"c. Weak field: Eq. 12 against the exact chi = dM/dH at B = 0 (D0 = {lo:.4g}..{hi:.4g} K unmapped)",
             "   T [K]     chi_Eq12 [emu/(g Oe)]  exact/Eq12  (4/3)I-ratio  D0 factor (->4/3)  mapped exact/Eq12"]
    for j, T in enumerate(r.temperature_K):
        lines.append(f"   {T:<9.3g} {r.susceptibility_eq12[j]:<22.4e} {r.ratio_exact[j]:<11.4f} "
                     f"{r.gap_prediction[j]:<13.4f} {r.d0_factor[j]:<18.4f} {r.ratio_exact_mapped[j]:.4f}")
    rel_err = np.abs(np.concatenate([r.susceptibility_exact_error / r.susceptibility_exact,
                                     r.susceptibility_exact_mapped_error / r.susceptibility_exact_mapped]))
    if np.any(np.isfinite(rel_err)):
        err = float(np.nanmax(rel_err))
        lines.append(f"   exact susceptibilities: node-doubling error estimate <= {err:.1e} (relative)")
    quad = np.max(np.abs(r.tanh_integral_quad_per_K / r.tanh_integral_per_K - 1.0))
    lines += [f"   Eq. 13 limits of I(T) = int_{{D_min}}^inf tanh(E/2T) dE/E^2: relative error of each form "
              f"(I checked against scipy quad: max |diff| {quad:.1e})",
              "   T [K]     I [1/K]       low-T 1/D_min   "
              f"high-T [ln(2T/D_min) + {r.high_temperature_constant:.4f}]/(2T)"
              "   seed 1/(2T)"]
    low, high, seed = r.relative_errors()
    for j, T in enumerate(r.eq13_temperature_K):
        lines.append(f"   {T:<9.3g} {r.tanh_integral_per_K[j]:<13.5g} {low[j]:<+15.3e} {high[j]:<+38.3e} "
                     f"{seed[j]:+.3e}")
    return lines


_CURVE_LABELS = {"exact": "exact", "exact_mapped": "exact mapped", "eq10": "Eq. 10", "eq11": "Eq. 11 true-der.",
                 "shortcut": "Eq. 11 shortcut"}


def _section_d(r):
    lines = [f"d. High field at T = {r.temperature_K:g} K; departures ({r.departure:.0%}) measured from the "
             "mapped exact ensemble ('0': already as B -> 0; 'shape': ratio normalised to its B -> 0 value)",
             f"   {'(Q/e)S [A^2]':<13} {'B_phi [T]':<10} {'D0 [K]':<12} {'curve':<17} {'chi/chi_Eq12':<13} "
             f"{'peak [T]':<9} {f'M/Eq10 @{r.reference_field_T:g}T':<14} {f'M/Eq10 @{r.field_T[-1]:g}T':<14} "
             f"{'M<0 from [T]':<13} {'M>0 again':<10} {'departs [T]':<12} shape departs [T]"]
    for i, qs in enumerate(r.charge_area_A2):
        for c, name in enumerate(HIGH_FIELD_CURVES):
            head = (f"{qs:<13g} {r.B_phi_T[i]:<10.4g} {f'{r.D0_min_K[i]:.3g}-{r.D0_max_K[i]:.3g}':<12}" if c == 0
                    else " " * 37)
            dep = shape = ""
            if c >= 2:
                dep = _fmt(r.departure_field_T[i, c - 2], ".3g")
                shape = _fmt(r.shape_departure_field_T[i, c - 2], ".3g")
            at_top = ">=" if r.peak_field_T[i, c] >= r.field_T[-1] else ""
            lines.append(f"   {head} {_CURVE_LABELS[name]:<17} {r.weak_ratio_eq10[i, c]:<13.4f} "
                         f"{at_top + _fmt(r.peak_field_T[i, c], '.3g'):<9} {r.reference_ratio_eq10[i, c]:<+14.4f} "
                         f"{r.top_ratio_eq10[i, c]:<+14.4f} {_fmt(r.negative_field_T[i, c], '.4g'):<13} "
                         f"{_fmt(r.positive_again_T[i, c], '.4g'):<10} {dep:<12} {shape}")
    if np.any(np.isfinite(r.orientation_change)):
        lines.append("   orientation check (exact, top field, doubled u nodes): change "
                     + ", ".join(f"{c:.1e}" for c in r.orientation_change) + " of max|M|")
    return lines


def _section_e(r):
    lines = ["e. Four-well (tetrahedral) ensemble against the 3LS ensemble",
             f"   matching: {r.matching}",
             "   T [K]     B [T]   M_3LS [emu/g]   M_4w [emu/g]    M_4w/M_3LS   shape ratio (per B, vs lowest T)"]
    for j, T in enumerate(r.temperature_K):
        for k, B in enumerate(r.field_T):
            lines.append(f"   {T:<9.3g} {B:<7.3g} {r.magnetization_three_level[j, k]:<15.4e} "
                         f"{r.magnetization_four_well[j, k]:<15.4e} {r.ratio[j, k]:<12.4f} {r.shape_ratio[j, k]:.4f}")
    lines.append(f"   verdict: {r.verdict}")
    return lines


def format_report(report):
    """The validation report as a text table (parts that were not run are left out).

    Parameters
    ----------
    report : ValidationReport

    Returns
    -------
    str
    """
    s = report.settings
    m = s.material
    lo, hi = m.D0_range_K()
    lines = [f"tunnelsim validate: {s.title}   [settings: {s.source}]",
             f"material: n_ATS = {m.density_per_g:.4g}/g, P* = {m.P_star:.4g}, D_min = {m.D_min_K:g} K, "
             f"D0 (Q/e)S = {m.D0QS_min_K_A2:.4g}..{m.D0QS_max_K_A2:.4g} K A^2, (Q/e)S = {m.charge_area_A2:g} A^2 "
             f"(D0 = {lo:.4g}..{hi:.4g} K), exact D_max = {m.D_max_K:g} K", ""]
    if report.gap_fit is not None:
        lines += _section_a(report.gap_fit) + [""]
    if report.eq10_effective is not None or report.eq10_exact is not None:
        lines += _section_b(report.eq10_effective, report.eq10_exact) + [""]
    if report.weak_field is not None:
        lines += _section_c(report.weak_field) + [""]
    if report.high_field is not None:
        lines += _section_d(report.high_field) + [""]
    if report.four_well is not None:
        lines += _section_e(report.four_well) + [""]
    lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings_s.items())
                 + f"; total {sum(report.timings_s.values()):.1f} s")
    return "\n".join(line.rstrip() for line in lines)


# ============================================================================ HDF5 report
def _items(report):
    """``{group: ([(name, array, units, long_name)], {attr: value})}`` of every part that was run."""
    out = {}
    K, T_, emu, chi = "K", "T", "emu/g", "emu g-1 Oe-1"
    r = report.gap_fit
    if r is not None:
        out["gap_fit"] = ([
            ("box_size", r.box_sizes, _DIMENSIONLESS, "largest D/D0 and phi of each fitting box"),
            ("a_by_box", r.a_by_box, _DIMENSIONLESS, "fitted a of E^2 = a D^2 + b D0^2 phi^2 per box"),
            ("b_by_box", r.b_by_box, _DIMENSIONLESS, "fitted b per box"),
            ("map_ratio", r.map_ratio, _DIMENSIONLESS, "D/D0 axis of the residual map"),
            ("map_phase", r.map_phase, "rad", "phi axis of the residual map"),
            ("residual_map", r.residual_map, _DIMENSIONLESS,
             "max over alpha of |sqrt(a D^2 + b D0^2 phi^2)/E_exact - 1| (map_ratio, map_phase)"),
        ], {"a": r.a, "b": r.b, "slope_at_zero_field": r.slope_at_zero_field, "eq10_phase_1pct": r.eq10_phase_1pct,
            "eq11_phase_1pct": r.eq11_phase_1pct, "tolerance": r.tolerance})
    r = report.eq10_effective
    if r is not None:
        out["eq10_effective"] = ([
            ("temperature", r.temperature_K, K, "temperature"),
            ("field", r.field_T, T_, "magnetic field B = mu0 H"),
            ("orientation", r.orientations, _DIMENSIONLESS, "u = cos(theta) of the single-orientation check"),
            ("relative_difference_per_orientation", r.per_orientation, _DIMENSIONLESS,
             "|M_Eq10/M_eff2LS - 1| (orientation, temperature, field)"),
            ("relative_difference_averaged", r.averaged, _DIMENSIONLESS,
             "|M_Eq10/M_eff2LS - 1| orientation averaged (temperature, field)"),
        ], {"max_error": r.max_error, "tolerance": r.tolerance})
    r = report.eq10_exact
    if r is not None:
        out["eq10_exact"] = ([
            ("temperature", r.temperature_K, K, "temperature"),
            ("field", r.field_T, T_, "magnetic field B = mu0 H"),
            ("D_max_over_D0_min", r.D_max_over_D0_min, _DIMENSIONLESS, "D_max/D0_min of the exact ensemble"),
            ("tolerance", r.tolerances, _DIMENSIONLESS, "relative-error levels"),
            ("magnetization_eq10", r.magnetization_eq10, emu, "Eq. 10 orientation averaged (temperature, field)"),
            ("magnetization_exact", r.magnetization_exact, emu,
             "exact 3LS ensemble, mapped cutoffs (D_max_over_D0_min, temperature, field)"),
            ("magnetization_exact_error", r.magnetization_exact_error, emu, "error estimate (NaN: not estimated)"),
            ("relative_error", r.relative_error, _DIMENSIONLESS, "M_Eq10/M_exact - 1"),
            ("fraction_within", r.fraction_within, _DIMENSIONLESS,
             "fraction of the (T, B) grid within each tolerance (D_max_over_D0_min, tolerance)"),
            ("boundary_field", r.boundary_field_T, T_,
             "largest field up to which every field is within tolerance (D_max_over_D0_min, tolerance, temperature)"),
        ], {f"exact_{k}": v for k, v in r.exact_parameters.items()})
    r = report.weak_field
    if r is not None:
        low, high, seed = r.relative_errors()
        out["weak_field"] = ([
            ("temperature", r.temperature_K, K, "temperature"),
            ("susceptibility_eq12", r.susceptibility_eq12, chi, "Eq. 12"),
            ("susceptibility_eq12_gap", r.susceptibility_eq12_gap, chi, "Eq. 12 with D_min -> sqrt(2/3) D_min"),
            ("susceptibility_exact", r.susceptibility_exact, chi, "exact ensemble, seed's parameters, B = 0"),
            ("susceptibility_exact_error", r.susceptibility_exact_error, chi, "error estimate (NaN: not estimated)"),
            ("susceptibility_exact_mapped", r.susceptibility_exact_mapped, chi, "exact ensemble, mapped cutoffs"),
            ("susceptibility_exact_mapped_error", r.susceptibility_exact_mapped_error, chi,
             "error estimate (NaN: not estimated)"),
            ("ratio_exact", r.ratio_exact, _DIMENSIONLESS, "chi_exact/chi_Eq12"),
            ("ratio_exact_mapped", r.ratio_exact_mapped, _DIMENSIONLESS, "chi_exact_mapped/chi_Eq12"),
            ("gap_prediction", r.gap_prediction, _DIMENSIONLESS, "(4/3) chi_Eq12_gap/chi_Eq12"),
            ("d0_factor", r.d0_factor, _DIMENSIONLESS, "chi_exact/chi_Eq12_gap (-> 4/3 as T/D0 -> 0)"),
            ("eq13_temperature", r.eq13_temperature_K, K, "temperature of the Eq. 13 limits"),
            ("tanh_integral", r.tanh_integral_per_K, "K-1", "I(T) = int_{D_min}^inf tanh(E/2T) dE/E^2"),
            ("tanh_integral_quad", r.tanh_integral_quad_per_K, "K-1", "I(T) by scipy quad"),
            ("eq13_low_T_relative_error", low, _DIMENSIONLESS, "(1/D_min)/I - 1"),
            ("eq13_high_T_relative_error", high, _DIMENSIONLESS, "corrected high-T limit/I - 1"),
            ("eq13_seed_high_T_relative_error", seed, _DIMENSIONLESS, "seed's 1/(2T)/I - 1"),
        ], {"D0_min_K": r.D0_range_K[0], "D0_max_K": r.D0_range_K[1],
            "high_temperature_constant": r.high_temperature_constant})
    r = report.high_field
    if r is not None:
        curves = ",".join(HIGH_FIELD_CURVES)
        out["high_field"] = ([
            ("charge_area", r.charge_area_A2, "A2", "(Q/e) S_Delta"),
            ("B_phi", r.B_phi_T, T_, "phi_0 / (2 pi (Q/e) S_Delta)"),
            ("D0_min", r.D0_min_K, K, "D0_min of the unmapped exact ensemble"),
            ("D0_max", r.D0_max_K, K, "D0_max of the unmapped exact ensemble"),
            ("field", r.field_T, T_, "magnetic field B = mu0 H"),
            ("magnetization", r.magnetization, emu, f"M (charge_area, curve [{curves}], field)"),
            ("susceptibility_weak", r.susceptibility_weak, chi, f"chi at B = 0 (charge_area, curve [{curves}])"),
            ("weak_ratio_eq10", r.weak_ratio_eq10, _DIMENSIONLESS, "chi/chi_Eq12 (charge_area, curve)"),
            ("peak_field", r.peak_field_T, T_, "field of the maximum (charge_area, curve)"),
            ("peak_magnetization", r.peak_magnetization, emu, "maximum (charge_area, curve)"),
            ("top_ratio_eq10", r.top_ratio_eq10, _DIMENSIONLESS, "M/M_Eq10 at the top field (charge_area, curve)"),
            ("reference_ratio_eq10", r.reference_ratio_eq10, _DIMENSIONLESS,
             "M/M_Eq10 at the reference field (charge_area, curve)"),
            ("negative_field", r.negative_field_T, T_, "lowest field with M < 0, NaN: none (charge_area, curve)"),
            ("positive_again_field", r.positive_again_T, T_, "first field above it with M > 0 (charge_area, curve)"),
            ("departure_field", r.departure_field_T, T_,
             "field where |M/M_exact_mapped - 1| exceeds the departure (charge_area, [eq10, eq11, shortcut])"),
            ("shape_departure_field", r.shape_departure_field_T, T_,
             "the same for the ratio normalised at B -> 0 (charge_area, [eq10, eq11, shortcut])"),
            ("orientation_change", r.orientation_change, _DIMENSIONLESS,
             "exact top-field change under doubled orientation nodes / max|M| (NaN: not checked)"),
            ("orientation_nodes", r.orientation_nodes, _DIMENSIONLESS, "orientation nodes of the exact ensembles"),
        ], {"temperature_K": r.temperature_K, "reference_field_T": r.reference_field_T, "departure": r.departure,
            "curves": curves})
    r = report.four_well
    if r is not None:
        out["four_well"] = ([
            ("temperature", r.temperature_K, K, "temperature"),
            ("field", r.field_T, T_, "magnetic field B = mu0 H"),
            ("magnetization_three_level", r.magnetization_three_level, emu, "3LS ATS ensemble (temperature, field)"),
            ("magnetization_four_well", r.magnetization_four_well, emu, "four-well ensemble (temperature, field)"),
            ("ratio", r.ratio, _DIMENSIONLESS, "M_4w/M_3LS"),
            ("shape_ratio", r.shape_ratio, _DIMENSIONLESS, "ratio of curves normalised at the lowest temperature"),
        ], {"verdict": r.verdict, "matching": r.matching})
    return out


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (dict, MappingProxyType)):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def check_outputs(path, plots_dir=None, force=False):
    """Raise FileExistsError if the report (``path``, may be None) or a figure exists and ``force`` is false."""
    targets = [] if path is None else [Path(path)]
    if plots_dir is not None:
        targets += [Path(plots_dir) / name for name in figure_names()]
    if not force:
        for target in targets:
            if target.exists():
                raise FileExistsError(f"{target}: exists; use --force to replace it")


def write_report(path, report, command=None, force=False):
    """Write the report to HDF5, atomically (temporary file and :func:`os.replace`).

    One group per part (``gap_fit``, ``eq10_effective``, ``eq10_exact``, ``weak_field``,
    ``high_field``, ``four_well``), every dataset with ``units`` and ``long_name`` attributes,
    scalar results as group attributes. Root attributes: ``title``, ``tunnelsim_version``,
    ``created`` (ISO 8601), ``command``, ``settings`` (JSON), ``settings_source``, ``config``
    (the TOML text when read from a file), ``timings_s`` (JSON) and library versions.

    Parameters
    ----------
    path : str or os.PathLike
    report : ValidationReport
    command : str, optional
        The command line.
    force : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``force`` is false.
    """
    import h5py
    import scipy

    path = Path(path)
    check_outputs(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w", track_order=True) as f:
            attrs = {
                "title": report.settings.title,
                "tunnelsim_version": __version__,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "command": "" if command is None else str(command),
                "settings": json.dumps(_jsonable(report.settings)),
                "settings_source": report.settings.source,
                "config": report.settings.text,
                "timings_s": json.dumps(report.timings_s),
                "numpy_version": np.__version__,
                "scipy_version": scipy.__version__,
                "h5py_version": h5py.__version__,
                "python_version": platform.python_version(),
            }
            for key, value in attrs.items():
                f.attrs[key] = value
            for group_name, (datasets, group_attrs) in _items(report).items():
                g = f.create_group(group_name)
                for name, data, unit, long_name in datasets:
                    ds = g.create_dataset(name, data=np.asarray(data))
                    ds.attrs["units"] = unit
                    ds.attrs["long_name"] = long_name
                for key, value in group_attrs.items():
                    g.attrs[key] = value
        if path.exists() and not force:
            raise FileExistsError(f"{path}: appeared while writing; use --force to replace it")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# ============================================================================ figures
_FIGURES = {
    "gap_fit": "gap_mapping.png",
    "eq10_exact": "eq10_vs_exact.png",
    "weak_field": "weak_field.png",
    "high_field": "high_field.png",
    "four_well": "four_well.png",
}


def figure_names():
    """File names of the figures :func:`save_figures` writes (when the part was run)."""
    return tuple(_FIGURES.values())


def _figure(n_panels, width=5.2, height=4.2, max_columns=3):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = min(n_panels, max_columns)
    rows = math.ceil(n_panels / columns)
    fig = Figure(figsize=(width * columns, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, columns, k + 1) for k in range(n_panels)]


def _cell_edges(x, log):
    """Cell edges around grid points (geometric or arithmetic midpoints) for ``pcolormesh``."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] / 1.5, x[0] * 1.5]) if log else np.array([x[0] - 0.5, x[0] + 0.5])
    if log:
        mid = np.sqrt(x[:-1] * x[1:])
        return np.concatenate([[x[0] ** 2 / mid[0]], mid, [x[-1] ** 2 / mid[-1]]])
    mid = 0.5 * (x[:-1] + x[1:])
    return np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])


def _plot_gap(r):
    fig, (ax1, ax2) = _figure(2)
    s = np.linspace(0.0, r.box_sizes.max(), 50)
    for values, exact, label in ((r.a_by_box, GAP_A, "a"), (r.b_by_box, GAP_B, "b")):
        line, = ax1.plot(r.box_sizes, values / exact, "o", label=f"{label}(s) / {'2/3' if label == 'a' else '4/3'}")
        coef = np.polynomial.polynomial.polyfit(r.box_sizes, values, min(2, len(values) - 1))
        ax1.plot(s, np.polynomial.polynomial.polyval(s, coef) / exact, "-", color=line.get_color())
    ax1.axhline(1.0, color="k", lw=0.6)
    ax1.set_xlabel("box size s (D/D0 and phi up to s)")
    ax1.set_ylabel("fitted constant / expected")
    ax1.set_title(f"a = {r.a:.7f}, b = {r.b:.7f}")
    ax1.legend()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(r.residual_map.T)
    mesh = ax2.pcolormesh(_cell_edges(r.map_ratio, False), _cell_edges(r.map_phase, False), z, shading="flat",
                          cmap="viridis")
    ax2.contour(r.map_ratio, r.map_phase, r.residual_map.T, levels=[0.01, 0.05], colors=["w", "r"])
    fig.colorbar(mesh, ax=ax2, label="log10 |E_mapped/E_exact - 1| (max over alpha)")
    ax2.set_xlabel("D / D0")
    ax2.set_ylabel("AB phase phi (rad)")
    ax2.set_title("mapped gap residual (white 1 %, red 5 %)")
    return fig


def _plot_exact_map(r):
    n = r.D_max_over_D0_min.size
    fig, axes = _figure(n, width=4.2)
    from matplotlib.colors import SymLogNorm

    norm = SymLogNorm(linthresh=0.01, vmin=-3.0, vmax=3.0)
    log_B = r.field_T[-1] > 10.0 * r.field_T[0]
    B_edges, T_edges = _cell_edges(r.field_T, log_B), _cell_edges(r.temperature_K, True)
    for i, ax in enumerate(axes):
        mesh = ax.pcolormesh(B_edges, T_edges, r.relative_error[i], shading="flat", cmap="RdBu_r", norm=norm)
        if r.temperature_K.size > 1 and r.field_T.size > 1:
            ax.contour(r.field_T, r.temperature_K, np.abs(r.relative_error[i]), levels=list(r.tolerances),
                       colors=["k", "0.4"], linestyles=["-", "--"])
        ax.set_yscale("log")
        if log_B:
            ax.set_xscale("log")
        ax.set_xlabel("field B (T)")
        ax.set_ylabel("temperature T (K)")
        ax.set_title(f"M_Eq10/M_exact - 1, D_max/D0_min = {r.D_max_over_D0_min[i]:g}", fontsize=9)
    fig.colorbar(mesh, ax=axes, label="relative error (contours: 1 %, 5 %)")
    return fig


def _plot_weak(r):
    fig, (ax1, ax2) = _figure(2)
    T = r.temperature_K
    ax1.plot(T, r.ratio_exact, "o-", label="exact / Eq. 12 (seed parameters)")
    ax1.plot(T, r.gap_prediction, "s--", label="(4/3) I(T, sqrt(2/3) D_min) / I(T, D_min)")
    ax1.plot(T, r.d0_factor, "^-", label="D0 factor (-> 4/3)")
    ax1.plot(T, r.ratio_exact_mapped, "v-", label="exact (mapped cutoffs) / Eq. 12")
    ax1.axhline(GAP_B, color="k", lw=0.6, ls=":")
    ax1.axhline(1.0, color="k", lw=0.6)
    ax1.set_xscale("log")
    ax1.set_xlabel("temperature T (K)")
    ax1.set_ylabel("susceptibility ratio (B = 0)")
    ax1.legend(fontsize=8)
    low, high, seed = r.relative_errors()
    T13 = r.eq13_temperature_K
    for values, label in ((low, "low-T 1/D_min"), (high, "high-T with log (corrected)"), (seed, "seed's 1/(2T)")):
        ax2.plot(T13, np.maximum(np.abs(values), 1e-16), "o-", label=label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("temperature T (K)")
    ax2.set_ylabel("|limit / I(T) - 1|")
    ax2.set_title("Eq. 13 limits of I(T)")
    ax2.legend(fontsize=8)
    return fig


def _plot_high(r):
    n = r.charge_area_A2.size
    fig, axes = _figure(n, width=4.4)
    styles = {"exact": "k-", "exact_mapped": "k--", "eq10": "C0-", "eq11": "C1-", "shortcut": "C2-."}
    for i, ax in enumerate(axes):
        for c, name in enumerate(HIGH_FIELD_CURVES):
            ax.plot(r.field_T, r.magnetization[i, c], styles[name], label=_CURVE_LABELS[name])
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xlabel("field B (T)")
        ax.set_ylabel("M (emu/g)")
        ax.set_title(f"(Q/e)S = {r.charge_area_A2[i]:g} A^2, B_phi = {r.B_phi_T[i]:.3g} T, T = {r.temperature_K:g} K",
                     fontsize=9)
    axes[0].legend(fontsize=8)
    return fig


def _plot_four(r):
    fig, (ax1, ax2) = _figure(2)
    for k, B in enumerate(r.field_T):
        line, = ax1.plot(r.temperature_K, r.magnetization_three_level[:, k], "o-", label=f"3LS, B = {B:g} T")
        ax1.plot(r.temperature_K, r.magnetization_four_well[:, k], "s--", color=line.get_color(),
                 label=f"four-well, B = {B:g} T")
        ax2.plot(r.temperature_K, r.ratio[:, k], "o-", color=line.get_color(), label=f"B = {B:g} T")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("temperature T (K)")
    ax1.set_yscale("log")
    ax1.set_ylabel("M (emu/g)")
    ax1.legend(fontsize=8)
    ax2.set_ylabel("M_4w / M_3LS")
    ax2.legend(fontsize=8)
    return fig


_PLOTTERS = {"gap_fit": _plot_gap, "eq10_exact": _plot_exact_map, "weak_field": _plot_weak,
             "high_field": _plot_high, "four_well": _plot_four}


def save_figures(report, directory, force=False):
    """Write the PNG figures of the parts that were run (matplotlib, Agg canvas, atomic writes).

    Parameters
    ----------
    report : ValidationReport
    directory : str or os.PathLike
        Created if missing.
    force : bool
        Replace existing figures.

    Returns
    -------
    list of pathlib.Path
    """
    directory = Path(directory)
    check_outputs(None, directory, force=force)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for part, name in _FIGURES.items():
        result = getattr(report, part)
        if result is None:
            continue
        fig = _PLOTTERS[part](result)
        target = directory / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        os.close(fd)
        try:
            fig.savefig(tmp, format="png", dpi=110)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


# ============================================================================ settings files
def _float_list(sec, key, minimum=0.0, strict=True, allow_inf=False, increasing=False):
    value = sec.raw(key, required=False)
    if not isinstance(value, list) or not value:
        sec.fail(key, f"must be a non-empty array of numbers, got {value!r}")
    out = tuple(_number(sec, f"{key}[{i}]", x, minimum=minimum, strict=strict, allow_inf=allow_inf)
                for i, x in enumerate(value))
    if increasing and any(b <= a for a, b in zip(out, out[1:])):
        sec.fail(key, f"must be strictly increasing, got {list(out)}")
    return out


def _fraction(sec, key):
    value = sec.number(key, minimum=0.0)
    if value >= 1.0:
        sec.fail(key, f"must be < 1, got {value!r}")
    return value


def _nodes_table(sec, key):
    table = sec.table_of(key)
    return MappingProxyType({axis: _integer(sec, f"{key}.{axis}", n, 1) for axis, n in table.items()})


def _axis_key(positive):
    return lambda sec, key: _parse_axis(sec, key, positive=positive)


#: TOML schema: section -> {key: parser(section, key)}; every key is optional (defaults: the base settings).
_SCHEMA = {
    "material": {
        "density_per_g": lambda s, k: s.number(k, minimum=0.0),
        "P_star": lambda s, k: s.number(k, minimum=0.0),
        "D_min_K": lambda s, k: s.number(k, minimum=0.0),
        "D0QS_min_K_A2": lambda s, k: s.number(k, minimum=0.0),
        "D0QS_max_K_A2": lambda s, k: s.number(k, minimum=0.0),
        "charge_area_A2": lambda s, k: s.number(k, minimum=0.0),
        "D_max_K": lambda s, k: s.number(k, minimum=0.0, allow_inf=True),
    },
    "gap_fit": {
        "box_sizes": lambda s, k: _float_list(s, k),
        "points_per_axis": lambda s, k: s.integer(k, 2),
        "alpha_nodes": lambda s, k: s.integer(k, 1),
        "extrapolation_degree": lambda s, k: s.integer(k, 0),
        "map_ratio_max": lambda s, k: s.number(k, minimum=0.0),
        "map_phase_max": lambda s, k: s.number(k, minimum=0.0),
        "map_points": lambda s, k: s.integer(k, 3),
        "tolerance": lambda s, k: s.number(k, minimum=0.0),
    },
    "eq10_effective": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "orientations": lambda s, k: _float_list(s, k),
        "tolerance": lambda s, k: s.number(k, minimum=0.0),
    },
    "eq10_exact": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "D_max_over_D0_min": lambda s, k: _float_list(s, k, minimum=1.0, allow_inf=True),
        "tolerances": lambda s, k: _float_list(s, k),
        "orientation_nodes": lambda s, k: s.integer(k, 1),
        "error_estimate": lambda s, k: s.boolean(k),
    },
    "weak_field": {
        "temperature_K": _axis_key(True),
        "eq13_temperature_K": _axis_key(True),
        "error_estimate": lambda s, k: s.boolean(k),
    },
    "high_field": {
        "temperature_K": lambda s, k: s.number(k, minimum=0.0),
        "charge_area_A2": lambda s, k: _float_list(s, k),
        "field_T": _axis_key(False),
        "reference_field_T": lambda s, k: s.number(k, minimum=0.0),
        "departure": _fraction,
        "orientation_nodes": lambda s, k: s.integer(k, 1),
        "orientation_check": lambda s, k: s.boolean(k),
    },
    "four_well": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "D_max_K": lambda s, k: s.number(k, minimum=0.0),
        "sphere_degree": lambda s, k: s.integer(k, 1),
        "nodes": _nodes_table,
    },
    "output": {
        "path": lambda s, k: Path(s.string(k)),
        "plots_dir": lambda s, k: Path(s.string(k)),
    },
}


def load_settings(path, base=None):
    """Read validation settings from TOML; keys left out keep the values of ``base``.

    The file has an optional ``title`` and the sections ``[material]``, ``[gap_fit]``,
    ``[eq10_effective]``, ``[eq10_exact]``, ``[weak_field]``, ``[high_field]``,
    ``[four_well]`` and ``[output]`` (``path``, ``plots_dir``); their keys are the attributes of
    :class:`Material`, :class:`GapFitSettings`, ... (``simulations/validation_full.toml``
    documents each). Temperature and field axes are lists or ``{start, stop, num, scale}``
    tables; ``inf`` is allowed where stated. Unknown sections or keys are errors.

    Parameters
    ----------
    path : str or os.PathLike
    base : ValidationSettings, optional
        Default :func:`full_settings`.

    Returns
    -------
    ValidationSettings

    Raises
    ------
    ConfigError
        One line naming the file and the key.
    """
    base = full_settings() if base is None else base
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read settings: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    top = _Section(source, "", doc, ("title",) + tuple(_SCHEMA))
    changes = {"source": source, "text": text}
    if "title" in doc:
        changes["title"] = top.string("title")
    for name, schema in _SCHEMA.items():
        if name not in doc:
            continue
        if not isinstance(doc[name], dict):
            top.fail(name, f"must be a table [{name}]")
        sec = _Section(source, name, doc[name], tuple(schema))
        values = {key: parser(sec, key) for key, parser in schema.items() if key in doc[name]}
        if name == "output":
            changes.update({"output_path" if k == "path" else k: v for k, v in values.items()})
            continue
        try:
            changes[name] = dataclasses.replace(getattr(base, name), **values)
        except ValueError as exc:
            raise ConfigError(f"{source}: {name}: {exc}") from None
    return dataclasses.replace(base, **changes)
