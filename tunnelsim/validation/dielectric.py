"""The ETM's dielectric prediction against the exact three-level ensemble: an error map over (T, B).

The ETM treats every ATS as the effective two-level system of its lowest doublet
(:mod:`tunnelsim.dielectric.etm`; physics.md sections 2 and 8); :func:`compare_dielectric_etm`
computes ``Delta eps/eps_r`` of the exact Eq. 6 ensemble (:func:`tunnelsim.dielectric.ensemble.permittivity_map`)
and of the effective 2LS (:func:`tunnelsim.dielectric.etm.permittivity_map_etm`) on the same quadrature
and orientation rule, and the relative error ``(etm - exact)/|exact|`` per observable
(:func:`tunnelsim.dielectric.etm.etm_error_map`), with the exact map's error estimate
to judge which differences are resolved.

This is a stand-alone check in the form of the validation parts (settings, a frozen result of plain
arrays, one function) but not (yet) a part of ``tunnelsim validate``: it has no table row, HDF5 group
or figure there. :func:`quick_dielectric_settings` runs in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .._checks import as_positive_array
from .settings import Material

__all__ = ["DielectricETMResult", "DielectricETMSettings", "compare_dielectric_etm", "quick_dielectric_settings"]


@dataclass(frozen=True)
class DielectricETMSettings:
    """Grid, measurement and quadrature of the dielectric ETM check.

    Attributes
    ----------
    temperature_K, field_T : tuple of float
        The (T, B) grid (K, tesla).
    frequency_Hz : float
        Measuring frequency (0: static).
    field_direction : str
        ``parallel`` or ``perpendicular`` (electric against magnetic field).
    dipole_moment_D : float
        STM dipole moment of the ring's wells (debye); both maps scale as its square.
    mapping : str
        Gap mapping of the effective 2LS (:data:`tunnelsim.dielectric.etm.ETM_MAPPINGS`).
    nodes : mapping of str to int or None
        Quadrature nodes per axis (``D``, ``D0``, ``alpha``); None: the library's defaults.
    orientation_nodes : int
        Nodes of the planar orientation rule.
    error_estimate : bool
        Error estimate of the exact map.
    observables : tuple of str
        Names from :data:`tunnelsim.dielectric.ensemble.OBSERVABLES`.
    """

    temperature_K: tuple = (0.01, 0.03, 0.1, 0.3, 1.0)
    field_T: tuple = (1e-4, 1e-3, 1e-2, 0.1, 1.0, 3.0, 6.5)
    frequency_Hz: float = 0.0
    field_direction: str = "parallel"
    dipole_moment_D: float = 1.0
    mapping: str = "derived"
    nodes: MappingProxyType | None = None
    orientation_nodes: int = 8
    error_estimate: bool = True
    observables: tuple = ("permittivity_resonant", "permittivity_relaxation", "permittivity")


def quick_dielectric_settings():
    """A coarse grid and reduced node counts: the check in a few seconds."""
    return DielectricETMSettings(temperature_K=(0.01, 0.1, 1.0), field_T=(1e-3, 1e-2, 0.1, 1.0, 6.5),
                                 nodes=MappingProxyType({"D": 16, "D0": 2, "alpha": 8}), orientation_nodes=6)


@dataclass(frozen=True)
class DielectricETMResult:
    """Exact and ETM ``Delta eps/eps_r`` on the grid and the ETM's relative error.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    exact, exact_error, etm : dict of str to numpy.ndarray, shape (nT, nB)
        Dimensionless, per observable.
    relative_error : dict of str to numpy.ndarray, shape (nT, nB)
        ``(etm - exact) / |exact|``.
    resolved : dict of str to numpy.ndarray of bool
        Where ``|etm - exact|`` exceeds the exact map's error estimate (all True without one).
    max_error : dict of str to float
        Largest ``|relative_error|`` per observable.
    mapping : str
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    exact: dict
    exact_error: dict
    etm: dict
    relative_error: dict
    resolved: dict
    max_error: dict
    mapping: str


def compare_dielectric_etm(material=None, settings=None):
    """The ETM's dielectric prediction beside the exact 3LS ensemble (module docstring).

    Parameters
    ----------
    material : Material, optional
        The ATS parameters (default: the seed's BK7 Table 3, ``(Q/e) S = 30000 Å^2``).
    settings : DielectricETMSettings, optional

    Returns
    -------
    DielectricETMResult
    """
    from .. import distributions
    from ..dielectric.ensemble import permittivity_map
    from ..dielectric.etm import etm_error_map, permittivity_map_etm
    from ..dielectric.response import DielectricSettings
    from ..ensemble import AveragingSettings
    from ..orientations import planar_rule

    material = Material() if material is None else material
    settings = DielectricETMSettings() if settings is None else settings
    T = as_positive_array(settings.temperature_K, "temperature_K")
    B = np.asarray(settings.field_T, dtype=float)
    D0_min, D0_max = material.D0_range_K()
    dist = distributions.ATSDistribution(D_min_K=material.D_min_K, D_max_K=material.D_max_K, D0_min_K=D0_min,
                                         D0_max_K=D0_max, P_star=material.P_star)
    dsettings = DielectricSettings(frequency_Hz=settings.frequency_Hz, field_direction=settings.field_direction)
    averaging = AveragingSettings(nodes=None if settings.nodes is None else dict(settings.nodes),
                                  error_estimate=settings.error_estimate)
    rule = planar_rule(settings.orientation_nodes)
    common = dict(density_per_g=material.density_per_g, dipole_moment_D=settings.dipole_moment_D,
                  charge_area_A2=material.charge_area_A2, averaging=averaging, orientations=rule,
                  observables=tuple(settings.observables))
    exact, exact_error = permittivity_map("three_level", dist, T, B, dsettings, **common)
    etm, _ = permittivity_map_etm(dist, T, B, dsettings, mapping=settings.mapping, **common)
    # a floor far below the map keeps the ratio finite where a part vanishes (relaxation at k_B T << gaps)
    relative = {name: etm_error_map({name: exact[name]}, etm, floor=1e-12 * float(np.max(np.abs(exact[name]))))[name]
                for name in exact}
    resolved = {name: (np.abs(etm[name] - exact[name]) > exact_error[name]) if settings.error_estimate
                else np.ones(exact[name].shape, dtype=bool) for name in exact}
    return DielectricETMResult(
        temperature_K=T, field_T=B, exact=exact, exact_error=exact_error, etm=etm, relative_error=relative,
        resolved=resolved, max_error={name: float(np.max(np.abs(r))) for name, r in relative.items()},
        mapping=settings.mapping,
    )
