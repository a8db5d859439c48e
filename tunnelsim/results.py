"""HDF5 result sets: write, read and summarise, with provenance.

Layout of a result set (readable by ``h5py``, ``xarray.open_dataset(path, engine="h5netcdf")``
and any netCDF-4 aware tool):

* ``temperature`` (K) and ``field`` (T, ``B = mu0 H``): 1-D coordinate datasets made HDF5
  dimension scales;
* one ``(temperature, field)`` float64 dataset per observable with ``units`` and
  ``long_name`` attributes, and ``<name>_error`` with its error estimate (left out when
  no estimate exists, i.e. the error array is all NaN);
* root attributes: ``title``, ``tunnelsim_version``, ``created`` (ISO 8601, UTC),
  ``config`` (the TOML text), ``config_sha256``, ``command``, ``numpy_version``,
  ``scipy_version``, ``h5py_version``, ``python_version``, ``distribution`` and the entries of
  the result's ``info`` (JSON text for values that are not scalars).

Writes are atomic (:func:`tunnelsim._atomic.atomic_output`): the file is written under a
temporary name in the target directory and moved into place with :func:`os.replace`, so the
output path holds either nothing or a complete result set. An existing file is only replaced with ``force=True``.

Large grids are written block by block (:class:`ResultSetWriter`): the datasets are created at
their full ``(temperature, field)`` shape, chunked by rows of temperatures, and each block of
temperatures is written as soon as it is computed, so the memory of a run does not grow with the
grid. The file is the one :func:`write_result` would write for the same values (error datasets
that end up all NaN are removed at the end).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import units
from ._atomic import atomic_output
from .provenance import provenance_attrs

__all__ = ["ResultFormatError", "ResultSet", "ResultSetWriter", "read_result", "summary", "write_result"]

_COORDS = {
    "temperature": ("K", "temperature"),
    "field": ("T", "magnetic field B = mu0 H"),
}
_ERROR_SUFFIX = "_error"
_PROVENANCE = (
    "title",
    "tunnelsim_version",
    "created",
    "config",
    "config_sha256",
    "command",
    "numpy_version",
    "scipy_version",
    "h5py_version",
    "python_version",
)


class ResultFormatError(ValueError):
    """A file is not a readable tunnelsim result set; the message names the file."""


@dataclass(frozen=True)
class ResultSet:
    """A result set read back from HDF5.

    Attributes
    ----------
    temperature_K : numpy.ndarray, shape (nT,)
    field_T : numpy.ndarray, shape (nB,)
    values : dict of str to numpy.ndarray, shape (nT, nB)
    errors : dict of str to numpy.ndarray, shape (nT, nB)
        Same keys as ``values``; all NaN where the file holds no error estimate.
    units, long_names : dict of str to str
    attrs : dict
        Root attributes (provenance and run information), JSON entries decoded.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    values: dict
    errors: dict
    units: dict
    long_names: dict
    attrs: dict = field(default_factory=dict)


def _attr_value(key, value):
    """An HDF5-storable attribute: str/int/float/bool as is, anything else as JSON text."""
    if isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_)):
        return value
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"attribute {key!r}: cannot store {type(value).__name__} as JSON ({exc})") from None


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _root_attrs(result, config, command, extra_attrs):
    attrs = {}
    info = dict(getattr(result, "info", {}) or {})
    extra = dict(extra_attrs or {})
    for origin, entries in (("info", info), ("extra_attrs", extra)):
        for key in entries:
            if key in _PROVENANCE and not (origin == "extra_attrs" and key == "title" and config is None):
                raise ValueError(f"{origin} entry {key!r} clashes with a provenance attribute of the result set")
    for key, value in {**info, **extra}.items():
        attrs[str(key)] = _attr_value(key, value)
    attrs["title"] = config.title if config is not None else str(extra.get("title", ""))
    provenance = provenance_attrs(command)
    attrs["tunnelsim_version"] = provenance.pop("tunnelsim_version")
    attrs["created"] = provenance.pop("created")
    attrs["config"] = config.text if config is not None else ""
    attrs["config_sha256"] = config.sha256 if config is not None else ""
    attrs["command"] = provenance.pop("command")
    attrs.update(provenance)
    return attrs


def _checked_arrays(result):
    T = np.asarray(result.temperature_K, dtype=float)
    B = np.asarray(result.field_T, dtype=float)
    if T.ndim != 1 or B.ndim != 1 or T.size == 0 or B.size == 0:
        raise ValueError(f"temperature_K and field_T must be non-empty 1-D arrays, got shapes {T.shape}, {B.shape}")
    if not result.values:
        raise ValueError("result has no observables to write")
    data = {}
    for name, value in result.values.items():
        if name in _COORDS or name.endswith(_ERROR_SUFFIX):
            raise ValueError(f"observable name {name!r} is reserved")
        value = np.asarray(value, dtype=float)
        error = np.asarray(result.errors.get(name, np.full(value.shape, np.nan)), dtype=float)
        for label, arr in ((name, value), (name + _ERROR_SUFFIX, error)):
            if arr.shape != (T.size, B.size):
                raise ValueError(f"{label} must have shape (nT, nB) = {(T.size, B.size)}, got {arr.shape}")
        for mapping in ("units", "long_names"):
            if name not in getattr(result, mapping):
                raise ValueError(f"result.{mapping} has no entry for observable {name!r}")
        data[name] = (value, error)
    return T, B, data


def _write_contents(h5file, T, B, data, result, attrs):
    """Fill an open, empty HDF5 file with the result set."""
    scales = {}
    for name, axis in (("temperature", T), ("field", B)):
        ds = h5file.create_dataset(name, data=axis)
        ds.attrs["units"], ds.attrs["long_name"] = _COORDS[name]
        ds.make_scale(name)
        scales[name] = ds
    for name, (value, error) in data.items():
        arrays = [(name, value, result.long_names[name])]
        if not np.all(np.isnan(error)):
            arrays.append((name + _ERROR_SUFFIX, error, f"error estimate of {result.long_names[name]}"))
        for ds_name, arr, long_name in arrays:
            ds = h5file.create_dataset(ds_name, data=arr)
            ds.attrs["units"] = result.units[name]
            ds.attrs["long_name"] = long_name
            ds.dims[0].attach_scale(scales["temperature"])
            ds.dims[1].attach_scale(scales["field"])
    for key, value in attrs.items():
        h5file.attrs[key] = value


class _Provenance:
    """What :func:`_root_attrs` reads of a result: its ``info``."""

    def __init__(self, info):
        self.info = info


class ResultSetWriter:
    """Fill an open, empty HDF5 file with a result set, one block of temperatures at a time.

    Parameters
    ----------
    h5file : h5py.File
        Open for writing (the caller makes the write atomic, e.g. with
        :func:`tunnelsim._atomic.atomic_output`).
    temperature_K, field_T : array_like
        The full coordinate axes (1-D, non-empty).
    observables : dict of str to (str, str)
        Observable name -> ``(units, long_name)``, in the order the datasets are created.
    errors : sequence of str
        Observables that get an ``<name>_error`` dataset (removed at :meth:`finish` when it
        received no finite value).
    chunk_rows : int, optional
        Temperatures per HDF5 chunk (default: the writer's blocks are expected to be about this
        size; 1 MiB chunks otherwise).

    Examples
    --------
    >>> with h5py.File(tmp, "w", track_order=True) as f:  # doctest: +SKIP
    ...     writer = ResultSetWriter(f, T, B, {"magnetization": ("emu/g", "M")}, errors=["magnetization"])
    ...     writer.write_block(0, {"magnetization": M[:10]}, {"magnetization": dM[:10]})
    ...     writer.finish(info={}, config=cfg, command="tunnelsim run ...")
    """

    def __init__(self, h5file, temperature_K, field_T, observables, errors=(), chunk_rows=None):
        T = np.asarray(temperature_K, dtype=float)
        B = np.asarray(field_T, dtype=float)
        if T.ndim != 1 or B.ndim != 1 or T.size == 0 or B.size == 0:
            raise ValueError(f"temperature_K and field_T must be non-empty 1-D arrays, got shapes {T.shape}, {B.shape}")
        if not observables:
            raise ValueError("result has no observables to write")
        self._file = h5file
        self._shape = (T.size, B.size)
        rows = chunk_rows or max(1, (2**20 // 8) // B.size)
        chunks = (int(min(rows, T.size)), int(B.size))
        scales = {}
        for name, axis in (("temperature", T), ("field", B)):
            ds = h5file.create_dataset(name, data=axis)
            ds.attrs["units"], ds.attrs["long_name"] = _COORDS[name]
            ds.make_scale(name)
            scales[name] = ds
        self._scales = scales
        self._datasets = {}
        self._finite_error = {}
        for name, (unit, long_name) in observables.items():
            if name in _COORDS or name.endswith(_ERROR_SUFFIX):
                raise ValueError(f"observable name {name!r} is reserved")
            entries = [(name, long_name)]
            if name in errors:
                entries.append((name + _ERROR_SUFFIX, f"error estimate of {long_name}"))
                self._finite_error[name] = False
            for ds_name, ds_long_name in entries:
                ds = h5file.create_dataset(ds_name, shape=self._shape, dtype="f8", chunks=chunks,
                                           fillvalue=np.nan)
                ds.attrs["units"] = unit
                ds.attrs["long_name"] = ds_long_name
                ds.dims[0].attach_scale(scales["temperature"])
                ds.dims[1].attach_scale(scales["field"])
                self._datasets[ds_name] = ds

    def write_block(self, start, values, errors=None):
        """Write rows ``start:start + n`` of every observable (and of the error estimates given)."""
        errors = errors or {}
        for name, value in values.items():
            value = np.asarray(value, dtype=float)
            stop = start + value.shape[0]
            if value.ndim != 2 or value.shape[1] != self._shape[1] or stop > self._shape[0]:
                raise ValueError(f"{name}: block of shape {value.shape} at row {start} does not fit {self._shape}")
            self._datasets[name][start:stop] = value
            if name in self._finite_error and name in errors:
                error = np.asarray(errors[name], dtype=float)
                self._datasets[name + _ERROR_SUFFIX][start:stop] = error
                self._finite_error[name] |= bool(np.any(np.isfinite(error)))

    def finish(self, info=None, config=None, command=None, extra_attrs=None):
        """Drop error datasets that got no finite value and write the root attributes."""
        for name, finite in self._finite_error.items():
            if not finite:
                ds = self._datasets.pop(name + _ERROR_SUFFIX)
                ds.dims[0].detach_scale(self._scales["temperature"])
                ds.dims[1].detach_scale(self._scales["field"])
                del self._file[name + _ERROR_SUFFIX]
        attrs = _root_attrs(_Provenance(info or {}), config, command, extra_attrs)
        for key, value in attrs.items():
            self._file.attrs[key] = value


def write_result(path, result, config=None, command=None, extra_attrs=None, force=False):
    """Write a result set to HDF5, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; missing parent directories are created.
    result : EnsembleResult
        Anything with ``temperature_K``, ``field_T``, ``values``, ``errors``, ``units``,
        ``long_names`` and optionally ``info`` (see :class:`tunnelsim.ensemble.EnsembleResult`).
    config : SimulationConfig, optional
        Provides ``title``, ``config`` (the TOML text) and ``config_sha256``.
    command : str, optional
        The command line that produced the result.
    extra_attrs : dict, optional
        More root attributes (e.g. ``distribution``); may not override provenance
        attributes, except ``title`` when no config is given.
    force : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``force`` is false.
    ValueError
        If the result's arrays are inconsistent or an attribute cannot be stored.
    """
    import h5py

    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: result set exists; use force (--force) to replace it")
    T, B, data = _checked_arrays(result)
    attrs = _root_attrs(result, config, command, extra_attrs)
    with atomic_output(path, force, what="result set") as tmp, h5py.File(tmp, "w", track_order=True) as h5file:
        _write_contents(h5file, T, B, data, result, attrs)
    return path


def _decode_attr(value, json_allowed=True):
    """A Python value from an HDF5 attribute; JSON arrays/objects decoded when allowed."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, np.generic):
        value = value.item()
    if json_allowed and isinstance(value, str) and value[:1] in "[{" and value[-1:] in "]}":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_result(path):
    """Read a result set written by :func:`write_result`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ResultSet

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ResultFormatError
        If it is not HDF5 or lacks the ``temperature``/``field`` coordinates.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such result file")
    try:
        h5file = h5py.File(path, "r")
    except OSError as exc:
        raise ResultFormatError(f"{path}: not a readable HDF5 file ({exc})") from None
    with h5file:
        for name in _COORDS:
            if not isinstance(h5file.get(name), h5py.Dataset):
                raise ResultFormatError(f"{path}: not a tunnelsim result set (no {name!r} coordinate dataset)")
        T = h5file["temperature"][()]
        B = h5file["field"][()]
        values, errors, unit_map, long_names = {}, {}, {}, {}
        for name, ds in h5file.items():
            if name in _COORDS or name.endswith(_ERROR_SUFFIX) or not isinstance(ds, h5py.Dataset):
                continue
            if ds.shape != (T.size, B.size):
                continue
            values[name] = ds[()].astype(float)
            err = h5file.get(name + _ERROR_SUFFIX)
            errors[name] = err[()].astype(float) if err is not None else np.full(ds.shape, np.nan)
            unit_map[name] = str(_decode_attr(ds.attrs.get("units", "")))
            long_names[name] = str(_decode_attr(ds.attrs.get("long_name", name)))
        attrs = {key: _decode_attr(value, json_allowed=key not in _PROVENANCE) for key, value in h5file.attrs.items()}
    if not values:
        raise ResultFormatError(f"{path}: not a tunnelsim result set (no (temperature, field) observables)")
    return ResultSet(T, B, values, errors, unit_map, long_names, attrs)


def _axis_line(label, arr, unit, extra=""):
    if arr.size == 1:
        return f"  {label:<12} 1 point: {arr[0]:.6g} {unit}{extra}"
    return f"  {label:<12} {arr.size} points, {arr.min():.6g} .. {arr.max():.6g} {unit}{extra}"


def summary_document(path):
    """A JSON-ready summary of a result set (``tunnelsim info FILE --json``).

    Returns
    -------
    dict
        ``kind`` ("result_set"), ``title``, ``temperature_K`` and ``field_T`` (``n``, ``min``,
        ``max``), ``observables`` (name -> ``units``, ``min``, ``max``, ``max_error``) and the
        file's attributes.
    """
    rs = read_result(path)

    def span(a):
        finite = a[np.isfinite(a)]
        return (float(finite.min()), float(finite.max())) if finite.size else (None, None)

    observables = {}
    for name, value in rs.values.items():
        lo, hi = span(value)
        err = rs.errors[name]
        observables[name] = {"units": rs.units[name], "long_name": rs.long_names[name], "min": lo, "max": hi,
                             "max_error": float(np.nanmax(err)) if np.any(np.isfinite(err)) else None}
    axes = {label: {"n": int(a.size), "min": float(a.min()), "max": float(a.max())}
            for label, a in (("temperature_K", rs.temperature_K), ("field_T", rs.field_T))}
    attrs = {k: (v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v))
             for k, v in rs.attrs.items()}
    return {"kind": "result_set", "source": str(path), "title": rs.attrs.get("title"), **axes,
            "observables": observables, "attributes": attrs}


def summary(path):
    """A human-readable summary of a result set: title, dimensions, observables, provenance.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str
    """
    rs = read_result(path)
    a = rs.attrs
    oe = units.tesla_to_oe(rs.field_T) / 1e3
    field_kOe = f" ({oe.min():.6g} .. {oe.max():.6g} kOe)" if oe.size > 1 else f" ({oe[0]:.6g} kOe)"
    lines = [
        f"{path}",
        f"title: {a.get('title') or '(none)'}",
        "dimensions:",
        _axis_line("temperature", rs.temperature_K, "K"),
        _axis_line("field", rs.field_T, "T", field_kOe),
        "observables:",
    ]
    for name, value in rs.values.items():
        finite = value[np.isfinite(value)]
        span = f"min {finite.min():.6g}, max {finite.max():.6g}" if finite.size else "no finite values"
        err = rs.errors[name]
        err_note = f", max error {np.nanmax(err):.3g}" if np.any(np.isfinite(err)) else ""
        unit = f"[{rs.units[name]}]"
        lines.append(f"  {name:<28} {unit:<16} {span}{err_note}")
    lines.append("provenance:")
    shown = ("created", "tunnelsim_version", "command", "config_sha256", "distribution")
    for key in shown:
        if key in a and a[key] != "":
            lines.append(f"  {key}: {a[key]}")
    versions = ", ".join(f"{k[:-8]} {a[k]}" for k in sorted(a) if k.endswith("_version") and k != "tunnelsim_version")
    if versions:
        lines.append(f"  libraries: {versions}")
    other = {k: v for k, v in a.items() if k not in _PROVENANCE and k not in shown}
    if other:
        lines.append("run information:")
        lines.extend(f"  {key}: {value}" for key, value in sorted(other.items()))
    return "\n".join(lines)
