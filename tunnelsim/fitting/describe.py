"""What a data file holds, as ``tunnelsim info DATA`` shows it: points, runs, columns, mass, skipped rows."""

from __future__ import annotations

import numpy as np

__all__ = ["data_summary", "format_data_summary"]


def _run_entry(data, run):
    s = run.indices
    swept, unit = (data.temperature_K[s], "K") if run.kind == "M_vs_T" else (data.field_Oe[s], "Oe")
    entry = run.to_dict()
    entry["range"] = [float(np.min(swept)), float(np.max(swept))]
    entry["range_unit"] = unit
    return entry


def data_summary(data):
    """A JSON-ready description of a data set and of how its file was read.

    Parameters
    ----------
    data : tunnelsim.fitting.data.MagnetizationData

    Returns
    -------
    dict
        ``source``, ``n_points``, ``runs`` (each with ``kind``, ``n_points``, ``fixed_value``,
        ``branch``, ``range``), ``moment_column`` (a name, or a list where rows use several),
        ``mass_g``, ``skipped_rows`` (reason -> count and first lines), ``weighted`` and the
        reader's other entries (format, encoding, delimiter, error columns, errors, repeats,
        warnings).
    """
    doc = {"source": data.source, "n_points": data.n_points, "runs": [_run_entry(data, r) for r in data.runs],
           "weighted": data.sigma_emu_per_g is not None,
           "temperature_range_K": [float(data.temperature_K.min()), float(data.temperature_K.max())],
           "field_range_Oe": [float(data.field_Oe.min()), float(data.field_Oe.max())]}
    if data.reading is not None:
        doc.update(data.reading.to_dict())
    else:
        doc.update({"moment_column": None, "mass_g": None, "skipped_rows": {}})
    doc["source"], doc["n_points"] = data.source, data.n_points
    return doc


def format_data_summary(data):
    """:func:`data_summary` as text lines (a string)."""
    lines = list(data.reading.lines()) if data.reading is not None else [f"file: {data.source}"]
    weighted = "weighted by sigma" if data.sigma_emu_per_g is not None else "no sigma (fits are unweighted)"
    lines.append(f"points: {data.n_points} in {len(data.runs)} runs ({weighted}); "
                 f"T {data.temperature_K.min():.6g} .. {data.temperature_K.max():.6g} K, "
                 f"H {data.field_Oe.min():.6g} .. {data.field_Oe.max():.6g} Oe")
    for run in data.runs:
        e = _run_entry(data, run)
        swept = "T" if run.kind == "M_vs_T" else "H"
        lines.append(f"  {run.kind:<7} {run.label:<48} {run.n_points:>5} points, {swept} {e['range'][0]:.6g} .. "
                     f"{e['range'][1]:.6g} {e['range_unit']}")
    return "\n".join(lines)
