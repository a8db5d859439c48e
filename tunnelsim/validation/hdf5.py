"""The validation report as HDF5: one group per part, every dataset with ``units`` and ``long_name``."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..provenance import provenance_attrs
from .high_field import HIGH_FIELD_CURVES
from .outputs import atomic_output, check_outputs

__all__ = ["write_report"]

#: ``units`` attributes of the datasets
_DIMENSIONLESS = "1"
_KELVIN = "K"
_TESLA = "T"
_EMU_PER_G = "emu/g"
_EMU_PER_G_OE = "emu g-1 Oe-1"


def _grid_datasets(r):
    """The ``temperature`` and ``field`` axes of a comparison over a ``(T, B)`` grid."""
    return [("temperature", r.temperature_K, _KELVIN, "temperature"),
            ("field", r.field_T, _TESLA, "magnetic field B = mu0 H")]


def _gap_fit_group(r):
    """Datasets and attributes of part a: per-box fits and the residual map."""
    return ([
        ("box_size", r.box_sizes, _DIMENSIONLESS, "largest D/D0 and phi of each fitting box"),
        ("a_by_box", r.a_by_box, _DIMENSIONLESS, "fitted a of E^2 = a D^2 + b D0^2 phi^2 per box"),
        ("b_by_box", r.b_by_box, _DIMENSIONLESS, "fitted b per box"),
        ("map_ratio", r.map_ratio, _DIMENSIONLESS, "D/D0 axis of the residual map"),
        ("map_phase", r.map_phase, "rad", "phi axis of the residual map"),
        ("residual_map", r.residual_map, _DIMENSIONLESS,
         "max over alpha of |sqrt(a D^2 + b D0^2 phi^2)/E_exact - 1| (map_ratio, map_phase)"),
    ], {"a": r.a, "b": r.b, "slope_at_zero_field": r.slope_at_zero_field, "eq10_phase_1pct": r.eq10_phase_1pct,
        "eq11_phase_1pct": r.eq11_phase_1pct, "tolerance": r.tolerance})


def _eq10_effective_group(r):
    """Datasets and attributes of part b(i): Eq. 10 against the effective two-level ensemble."""
    return (_grid_datasets(r) + [
        ("orientation", r.orientations, _DIMENSIONLESS, "u = cos(theta) of the single-orientation check"),
        ("relative_difference_per_orientation", r.per_orientation, _DIMENSIONLESS,
         "|M_Eq10/M_eff2LS - 1| (orientation, temperature, field)"),
        ("relative_difference_averaged", r.averaged, _DIMENSIONLESS,
         "|M_Eq10/M_eff2LS - 1| orientation averaged (temperature, field)"),
    ], {"max_error": r.max_error, "tolerance": r.tolerance})


def _eq10_exact_group(r):
    """Datasets and attributes of part b(ii): Eq. 10 against the exact ensemble over (T, B) and D_max/D0_min."""
    return (_grid_datasets(r) + [
        ("D_max_over_D0_min", r.D_max_over_D0_min, _DIMENSIONLESS, "D_max/D0_min of the exact ensemble"),
        ("tolerance", r.tolerances, _DIMENSIONLESS, "relative-error levels"),
        ("magnetization_eq10", r.magnetization_eq10, _EMU_PER_G, "Eq. 10 orientation averaged (temperature, field)"),
        ("magnetization_exact", r.magnetization_exact, _EMU_PER_G,
         "exact 3LS ensemble, mapped cutoffs (D_max_over_D0_min, temperature, field)"),
        ("magnetization_exact_error", r.magnetization_exact_error, _EMU_PER_G, "error estimate (NaN: not estimated)"),
        ("relative_error", r.relative_error, _DIMENSIONLESS, "M_Eq10/M_exact - 1"),
        ("fraction_within", r.fraction_within, _DIMENSIONLESS,
         "fraction of the (T, B) grid within each tolerance (D_max_over_D0_min, tolerance)"),
        ("boundary_field", r.boundary_field_T, _TESLA,
         "largest field up to which every field is within tolerance (D_max_over_D0_min, tolerance, temperature)"),
    ], {f"exact_{k}": v for k, v in r.exact_parameters.items()})


def _weak_field_group(r):
    """Datasets and attributes of part c: susceptibilities and the Eq. 13 limits."""
    low, high, seed = r.relative_errors()
    return ([
        ("temperature", r.temperature_K, _KELVIN, "temperature"),
        ("susceptibility_eq12", r.susceptibility_eq12, _EMU_PER_G_OE, "Eq. 12"),
        ("susceptibility_eq12_gap", r.susceptibility_eq12_gap, _EMU_PER_G_OE, "Eq. 12 with D_min -> sqrt(2/3) D_min"),
        ("susceptibility_exact", r.susceptibility_exact, _EMU_PER_G_OE, "exact ensemble, seed's parameters, B = 0"),
        ("susceptibility_exact_error", r.susceptibility_exact_error, _EMU_PER_G_OE,
         "error estimate (NaN: not estimated)"),
        ("susceptibility_exact_mapped", r.susceptibility_exact_mapped, _EMU_PER_G_OE, "exact ensemble, mapped cutoffs"),
        ("susceptibility_exact_mapped_error", r.susceptibility_exact_mapped_error, _EMU_PER_G_OE,
         "error estimate (NaN: not estimated)"),
        ("ratio_exact", r.ratio_exact, _DIMENSIONLESS, "chi_exact/chi_Eq12"),
        ("ratio_exact_mapped", r.ratio_exact_mapped, _DIMENSIONLESS, "chi_exact_mapped/chi_Eq12"),
        ("gap_prediction", r.gap_prediction, _DIMENSIONLESS, "(4/3) chi_Eq12_gap/chi_Eq12"),
        ("d0_factor", r.d0_factor, _DIMENSIONLESS, "chi_exact/chi_Eq12_gap (-> 4/3 as T/D0 -> 0)"),
        ("eq13_temperature", r.eq13_temperature_K, _KELVIN, "temperature of the Eq. 13 limits"),
        ("tanh_integral", r.tanh_integral_per_K, "K-1", "I(T) = int_{D_min}^inf tanh(E/2T) dE/E^2"),
        ("tanh_integral_quad", r.tanh_integral_quad_per_K, "K-1", "I(T) by scipy quad"),
        ("eq13_low_T_relative_error", low, _DIMENSIONLESS, "(1/D_min)/I - 1"),
        ("eq13_high_T_relative_error", high, _DIMENSIONLESS, "corrected high-T limit/I - 1"),
        ("eq13_seed_high_T_relative_error", seed, _DIMENSIONLESS, "seed's 1/(2T)/I - 1"),
    ], {"D0_min_K": r.D0_range_K[0], "D0_max_K": r.D0_range_K[1],
        "high_temperature_constant": r.high_temperature_constant})


def _high_field_group(r):
    """Datasets and attributes of part d: the M(B) curves and their landmarks per (Q/e) S."""
    curves = ",".join(HIGH_FIELD_CURVES)
    return ([
        ("charge_area", r.charge_area_A2, "A2", "(Q/e) S_Delta"),
        ("B_phi", r.B_phi_T, _TESLA, "phi_0 / (2 pi (Q/e) S_Delta)"),
        ("D0_min", r.D0_min_K, _KELVIN, "D0_min of the unmapped exact ensemble"),
        ("D0_max", r.D0_max_K, _KELVIN, "D0_max of the unmapped exact ensemble"),
        ("field", r.field_T, _TESLA, "magnetic field B = mu0 H"),
        ("magnetization", r.magnetization, _EMU_PER_G, f"M (charge_area, curve [{curves}], field)"),
        ("susceptibility_weak", r.susceptibility_weak, _EMU_PER_G_OE, f"chi at B = 0 (charge_area, curve [{curves}])"),
        ("weak_ratio_eq10", r.weak_ratio_eq10, _DIMENSIONLESS, "chi/chi_Eq12 (charge_area, curve)"),
        ("peak_field", r.peak_field_T, _TESLA, "field of the maximum (charge_area, curve)"),
        ("peak_magnetization", r.peak_magnetization, _EMU_PER_G, "maximum (charge_area, curve)"),
        ("top_ratio_eq10", r.top_ratio_eq10, _DIMENSIONLESS, "M/M_Eq10 at the top field (charge_area, curve)"),
        ("reference_ratio_eq10", r.reference_ratio_eq10, _DIMENSIONLESS,
         "M/M_Eq10 at the reference field (charge_area, curve)"),
        ("negative_field", r.negative_field_T, _TESLA, "lowest field with M < 0, NaN: none (charge_area, curve)"),
        ("positive_again_field", r.positive_again_T, _TESLA, "first field above it with M > 0 (charge_area, curve)"),
        ("departure_field", r.departure_field_T, _TESLA,
         "field where |M/M_exact_mapped - 1| exceeds the departure (charge_area, [eq10, eq11, shortcut])"),
        ("shape_departure_field", r.shape_departure_field_T, _TESLA,
         "the same for the ratio normalised at B -> 0 (charge_area, [eq10, eq11, shortcut])"),
        ("orientation_change", r.orientation_change, _DIMENSIONLESS,
         "exact top-field change under doubled orientation nodes / max|M| (NaN: not checked)"),
        ("orientation_nodes", r.orientation_nodes, _DIMENSIONLESS, "orientation nodes of the exact ensembles"),
    ], {"temperature_K": r.temperature_K, "reference_field_T": r.reference_field_T, "departure": r.departure,
        "curves": curves})


def _or_nan(errors, like):
    """``errors``, or NaN shaped like ``like`` when there are none."""
    return np.full(np.shape(like), np.nan) if errors is None else errors


def _four_well_group(r):
    """Datasets and attributes of part e: four-well against 3LS magnetisations."""
    return (_grid_datasets(r) + [
        ("magnetization_three_level", r.magnetization_three_level, _EMU_PER_G, "3LS ATS ensemble (temperature, field)"),
        ("magnetization_four_well", r.magnetization_four_well, _EMU_PER_G, "four-well ensemble (temperature, field)"),
        ("magnetization_three_level_error", _or_nan(r.magnetization_three_level_error, r.magnetization_three_level),
         _EMU_PER_G, "error estimate of the 3LS ensemble (NaN: not estimated)"),
        ("magnetization_four_well_error", _or_nan(r.magnetization_four_well_error, r.magnetization_four_well),
         _EMU_PER_G, "error estimate of the four-well ensemble (NaN: not estimated)"),
        ("ratio", r.ratio, _DIMENSIONLESS, "M_4w/M_3LS"),
        ("shape_ratio", r.shape_ratio, _DIMENSIONLESS, "ratio of curves normalised at the lowest temperature"),
    ], {"verdict": r.verdict, "matching": r.matching,
        "refit_three_level": json.dumps(None if r.refit is None else {
            "parameters": r.refit.parameters, "moved": r.refit.moved, "max_residual": r.refit.max_residual,
            "chi2_reduced": r.refit.chi2_reduced})})


#: part -> ``([(name, array, units, long_name)], {attr: value})`` of its HDF5 group
_GROUPS = {
    "gap_fit": _gap_fit_group,
    "eq10_effective": _eq10_effective_group,
    "eq10_exact": _eq10_exact_group,
    "weak_field": _weak_field_group,
    "high_field": _high_field_group,
    "four_well": _four_well_group,
}


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

    path = Path(path)
    check_outputs(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, force) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        provenance = provenance_attrs(command)
        attrs = {
            "title": report.settings.title,
            "tunnelsim_version": provenance.pop("tunnelsim_version"),
            "created": provenance.pop("created"),
            "command": provenance.pop("command"),
            "settings": json.dumps(_jsonable(report.settings)),
            "settings_source": report.settings.source,
            "config": report.settings.text,
            "timings_s": json.dumps(report.timings_s),
            **provenance,
        }
        for key, value in attrs.items():
            f.attrs[key] = value
        for part, group in _GROUPS.items():
            result = getattr(report, part)
            if result is None:
                continue
            datasets, group_attrs = group(result)
            g = f.create_group(part)
            for name, data, unit, long_name in datasets:
                ds = g.create_dataset(name, data=np.asarray(data))
                ds.attrs["units"] = unit
                ds.attrs["long_name"] = long_name
            for key, value in group_attrs.items():
                g.attrs[key] = value
    return path
