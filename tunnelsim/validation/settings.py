"""Settings of the validation parts a-e and of the whole report, with the built-in presets.

Each part has a frozen dataclass of grids, node counts and pass marks; :class:`Material` holds
the ETM parameters all parts compare with (default: the seed's BK7 Table 3).
:func:`full_settings` and :func:`quick_settings` are the two presets of ``tunnelsim validate``;
:func:`tunnelsim.validation.settings_file.load_settings` reads changes to them from TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .._checks import as_positive_array

__all__ = [
    "EffectiveCheckSettings",
    "ExactMapSettings",
    "FourWellSettings",
    "GapFitSettings",
    "HighFieldSettings",
    "Material",
    "ValidationSettings",
    "WeakFieldSettings",
    "full_settings",
    "quick_settings",
]


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
        Error estimate of the exact ensemble (the embedded estimate of :mod:`tunnelsim.error_estimates`,
        about 1.2-1.5 times the cost of the values alone).
    """

    temperature_K: tuple = tuple(float(t) for t in np.geomspace(0.01, 30.0, 14))
    field_T: tuple = (0.01, 0.03, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.5)
    D_max_over_D0_min: tuple = (3.0, 10.0, 100.0, 1000.0, math.inf)
    tolerances: tuple = (0.01, 0.05)
    orientation_nodes: int | None = None
    error_estimate: bool = True


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
        Error estimate of the exact susceptibilities (embedded, about 1.2-1.5 times the cost).
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
    error_estimate : bool
        Error estimates of both ensembles (embedded, about 1.2-1.5 times the cost).
    """

    temperature_K: tuple = (1.0, 2.0, 4.5, 10.0, 30.0)
    field_T: tuple = (1.0, 3.0, 6.5)
    D_max_K: float = 1.0e3
    sphere_degree: int = 7
    nodes: MappingProxyType | None = None
    error_estimate: bool = True


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
                                     eq13_temperature_K=(0.001, 0.01, 0.1, 1.0, 4.5, 30.0, 300.0)),
        high_field=HighFieldSettings(charge_area_A2=(3.0e4, 6.6e4),
                                     field_T=(0.5, 1.5, 2.5, 3.5, 4.0, 4.5, 5.0, 5.5, 6.5, 8.0, 10.0),
                                     orientation_check=False),
        four_well=FourWellSettings(temperature_K=(2.0, 4.5, 10.0, 30.0), field_T=(1.0, 3.0), D_max_K=100.0,
                                   sphere_degree=5, nodes=MappingProxyType({"D": 10, "D0": 2, "direction": 6})),
        output_path=Path("results") / "validation_quick.h5",
        source="built-in quick",
    )
