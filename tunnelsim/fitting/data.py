"""SQUID magnetisation data sets: reading, checking, and grouping into runs.

A data set is a list of measured points ``(T, H, M[, sigma])`` in K, Oe and emu/g, in the
order they were measured. Two file formats are read:

* **CSV** (the project's format): a header line naming the columns ``T_K``, ``H_Oe``,
  ``M_emu_per_g`` and optionally ``sigma_emu_per_g`` (any order, no other columns), then one
  row per point. Lines starting with ``#`` are comments (``tunnelsim synth`` writes its
  provenance there); blank lines are skipped.
* **Quantum Design MPMS ``.dat``**: a ``[Header]`` section (ignored) and a ``[Data]`` section
  whose first line names the columns. Temperature from ``Temperature (K)``, field from
  ``Magnetic Field (Oe)`` (MPMS 3) or ``Field (Oe)`` (MPMS XL), moment from the first of
  ``Long Moment (emu)``, ``DC Moment (emu)``, ``DC Moment Free Ctr (emu)``,
  ``DC Moment Fixed Ctr (emu)``, ``Moment (emu)`` that holds a value in the first data row
  (or the column the caller names), with its error column when present. The sample mass is
  given by the caller (mg or g) and turns moments into emu/g. Rows whose temperature, field
  and moment are all empty (comment rows) are skipped.

Bad data stop with one :class:`DataError` line naming the file, the row (data row, counted
from 1, and the file line) and the column: a missing column, an empty or non-numeric value,
NaN or infinity, ``T <= 0``, ``sigma <= 0``, or a run of a single point.

**Runs.** SQUID data come as runs: M vs T at fixed H and M vs H at fixed T. :func:`group_runs`
splits the points, in file order, into maximal consecutive segments over which either ``H``
(an M vs T run) or ``T`` (an M vs H run) stays within a tolerance of the segment's first point,
``|x - x_first| <= abs + rel |x_first|`` (defaults in :class:`GroupingTolerance`: 0.05 K + 1 %
for T, 5 Oe + 0.2 % for H). From each starting point the longer of the two possible segments is
taken (a tie, where T and H both stay fixed, is called M vs T). A segment of one point (T and H
both change at the next point, or the last point alone) is an error: every point must belong to
a run of at least two.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic

__all__ = [
    "CSV_COLUMNS",
    "DataError",
    "GroupingTolerance",
    "MagnetizationData",
    "Run",
    "group_runs",
    "make_dataset",
    "read_csv",
    "read_data",
    "read_mpms_dat",
    "write_csv",
]

#: Required CSV columns, then the optional one.
CSV_COLUMNS = ("T_K", "H_Oe", "M_emu_per_g")
CSV_SIGMA = "sigma_emu_per_g"
_RUN_KINDS = ("M_vs_T", "M_vs_H")

#: MPMS column names, most specific first.
_MPMS_TEMPERATURE = ("Temperature (K)",)
_MPMS_FIELD = ("Magnetic Field (Oe)", "Field (Oe)")
#: moment column -> its error column
_MPMS_MOMENT = {
    "Long Moment (emu)": "Long Scan Std Dev",
    "DC Moment (emu)": "DC Moment Err (emu)",
    "DC Moment Free Ctr (emu)": "DC Moment Err Free Ctr (emu)",
    "DC Moment Fixed Ctr (emu)": "DC Moment Err Fixed Ctr (emu)",
    "Moment (emu)": "M. Std. Err. (emu)",
}


class DataError(ValueError):
    """A data set is invalid; the message is one line naming the file, row and column."""


@dataclass(frozen=True)
class GroupingTolerance:
    """How far T or H may wander within one run: ``|x - x_first| <= abs + rel |x_first|``.

    Attributes
    ----------
    temperature_abs_K, temperature_rel : float
        Tolerance on T within an M vs H run.
    field_abs_Oe, field_rel : float
        Tolerance on H within an M vs T run.
    """

    temperature_abs_K: float = 0.05
    temperature_rel: float = 0.01
    field_abs_Oe: float = 5.0
    field_rel: float = 0.002

    def __post_init__(self):
        for name in ("temperature_abs_K", "temperature_rel", "field_abs_Oe", "field_rel"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or math.isinf(value):
                raise ValueError(f"GroupingTolerance.{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class Run:
    """One run: consecutive points at fixed H (``M_vs_T``) or at fixed T (``M_vs_H``).

    Attributes
    ----------
    kind : str
        ``"M_vs_T"`` or ``"M_vs_H"``.
    fixed_value : float
        Mean field (Oe) of an M vs T run, mean temperature (K) of an M vs H run.
    start, stop : int
        The run is ``slice(start, stop)`` of the data set's points.
    """

    kind: str
    fixed_value: float
    start: int
    stop: int

    @property
    def indices(self):
        """``slice(start, stop)``."""
        return slice(self.start, self.stop)

    @property
    def n_points(self):
        return self.stop - self.start

    @property
    def label(self):
        """A short description, e.g. ``M vs T at H = 10 kOe`` or ``M vs H at T = 4.5 K``."""
        if self.kind == "M_vs_T":
            return f"M vs T at H = {self.fixed_value / 1e3:.4g} kOe"
        return f"M vs H at T = {self.fixed_value:.4g} K"

    def to_dict(self):
        unit = "Oe" if self.kind == "M_vs_T" else "K"
        return {"kind": self.kind, "fixed_value": self.fixed_value, "fixed_unit": unit,
                "start": self.start, "stop": self.stop, "label": self.label}


@dataclass(frozen=True)
class MagnetizationData:
    """Measured points in measurement order, and their runs.

    Build with :func:`make_dataset` (checks everything) or read with :func:`read_data`.

    Attributes
    ----------
    temperature_K, field_Oe, magnetization_emu_per_g : numpy.ndarray
        1-D, one entry per point.
    sigma_emu_per_g : numpy.ndarray or None
        Standard errors of ``M`` (> 0), or None when the data carry none.
    runs : tuple of Run
        Consecutive runs covering all points.
    source : str
        Where the data came from (a file name or a description).
    notes : tuple of str
        Provenance: CSV comment lines, or the MPMS columns and mass used.
    """

    temperature_K: np.ndarray
    field_Oe: np.ndarray
    magnetization_emu_per_g: np.ndarray
    sigma_emu_per_g: np.ndarray | None
    runs: tuple
    source: str = "<data>"
    notes: tuple = ()

    @property
    def n_points(self):
        return int(self.temperature_K.size)

    def run_data(self, run):
        """The points of one run as a :class:`MagnetizationData` holding that single run."""
        s = run.indices
        sigma = None if self.sigma_emu_per_g is None else self.sigma_emu_per_g[s]
        return MagnetizationData(self.temperature_K[s], self.field_Oe[s], self.magnetization_emu_per_g[s],
                                 sigma, (Run(run.kind, run.fixed_value, 0, run.n_points),),
                                 f"{self.source} [{run.label}]")

    def runs_of_kind(self, kind):
        """The runs of one kind, ``"M_vs_T"`` or ``"M_vs_H"``."""
        if kind not in _RUN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(_RUN_KINDS)}, got {kind!r}")
        return tuple(r for r in self.runs if r.kind == kind)


def _within(x, ref, abs_tol, rel_tol):
    return abs(x - ref) <= abs_tol + rel_tol * abs(ref)


def group_runs(temperature_K, field_Oe, tolerance=GroupingTolerance(), row_names=None, source="<data>"):
    """Split points, in measurement order, into M vs T and M vs H runs (see the module docstring).

    Parameters
    ----------
    temperature_K, field_Oe : array_like
        1-D, same length.
    tolerance : GroupingTolerance, optional
    row_names : sequence of str, optional
        How to name each point in an error message (default ``row k``, counted from 1).
    source : str, optional
        File name for error messages.

    Returns
    -------
    tuple of Run

    Raises
    ------
    DataError
        If a point would form a run on its own.
    """
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    n = T.size
    tol = tolerance
    runs = []
    i = 0
    while i < n:
        j_H = i + 1
        while j_H < n and _within(H[j_H], H[i], tol.field_abs_Oe, tol.field_rel):
            j_H += 1
        j_T = i + 1
        while j_T < n and _within(T[j_T], T[i], tol.temperature_abs_K, tol.temperature_rel):
            j_T += 1
        stop = max(j_H, j_T)
        if stop - i < 2:
            name = row_names[i] if row_names is not None else f"row {i + 1}"
            why = "it is the last point" if i == n - 1 else "T and H both change at the next point"
            raise DataError(f"{source}: {name}: a run of a single point ({why}); every run needs >= 2 points "
                            "at fixed H (M vs T) or fixed T (M vs H)")
        if j_H >= j_T:
            runs.append(Run("M_vs_T", float(np.mean(H[i:stop])), i, stop))
        else:
            runs.append(Run("M_vs_H", float(np.mean(T[i:stop])), i, stop))
        i = stop
    return tuple(runs)


def _check_values(name, values, row_names, source, positive=False):
    bad = ~np.isfinite(values)
    if positive:
        bad |= ~(values > 0)
    if np.any(bad):
        k = int(np.argmax(bad))
        what = "must be > 0" if positive and np.isfinite(values[k]) else "must be finite (no NaN or inf)"
        raise DataError(f"{source}: {row_names[k]}, column {name}: {what}, got {float(values[k])!r}")


def make_dataset(temperature_K, field_Oe, magnetization_emu_per_g, sigma_emu_per_g=None, source="<data>",
                 tolerance=GroupingTolerance(), row_names=None, notes=(), runs=None):
    """Check measured points and group them into runs.

    Parameters
    ----------
    temperature_K, field_Oe, magnetization_emu_per_g : array_like
        1-D, same length (>= 2), finite; ``T > 0``.
    sigma_emu_per_g : array_like, optional
        Standard errors of ``M``, > 0.
    source : str, optional
        Name used in error messages and reports.
    tolerance : GroupingTolerance, optional
        Run grouping (see :func:`group_runs`).
    row_names : sequence of str, optional
        Names of the points in error messages (default ``row k``).
    notes : sequence of str, optional
        Free-form provenance (e.g. CSV comment lines).
    runs : sequence of Run, optional
        Known runs (consecutive, covering every point once); default: :func:`group_runs`.

    Returns
    -------
    MagnetizationData

    Raises
    ------
    DataError
        Naming the point and column at fault.
    """
    columns = {"T_K": temperature_K, "H_Oe": field_Oe, "M_emu_per_g": magnetization_emu_per_g}
    if sigma_emu_per_g is not None:
        columns[CSV_SIGMA] = sigma_emu_per_g
    arrays = {}
    for name, value in columns.items():
        try:
            arr = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise DataError(f"{source}: column {name}: expected numbers") from None
        if arr.ndim != 1:
            raise DataError(f"{source}: column {name}: expected a 1-D array, got shape {arr.shape}")
        arrays[name] = arr
    n = arrays["T_K"].size
    for name, arr in arrays.items():
        if arr.size != n:
            raise DataError(f"{source}: column {name}: has {arr.size} values, T_K has {n}")
    if n < 2:
        raise DataError(f"{source}: {n} data point{'s' if n != 1 else ''}; a fit needs at least a run of 2")
    names = list(row_names) if row_names is not None else [f"row {k + 1}" for k in range(n)]
    for name, arr in arrays.items():
        _check_values(name, arr, names, source, positive=name in ("T_K", CSV_SIGMA))
    if runs is None:
        runs = group_runs(arrays["T_K"], arrays["H_Oe"], tolerance, names, source)
    else:
        runs = tuple(runs)
        edges = [r.start for r in runs] + [runs[-1].stop if runs else 0]
        if (not runs or edges[0] != 0 or edges[-1] != n or any(r.stop != e for r, e in zip(runs, edges[1:]))
                or any(r.n_points < 2 or r.kind not in _RUN_KINDS for r in runs)):
            raise DataError(f"{source}: runs must be consecutive, of >= 2 points each, and cover all {n} points")
    for arr in arrays.values():
        arr.flags.writeable = False
    return MagnetizationData(arrays["T_K"], arrays["H_Oe"], arrays["M_emu_per_g"], arrays.get(CSV_SIGMA),
                             runs, source, tuple(notes))


def _row_name(k, lineno):
    """How messages name data row ``k`` (counted from 1), found on file line ``lineno``."""
    return f"row {k} (line {lineno})"


def _parse_row(source, row_name, cells):
    """The numbers of one data row.

    Parameters
    ----------
    source, row_name : str
        File and row, for error messages.
    cells : iterable of (str, str)
        ``(column as named in messages, text)`` of each cell, checked in this order.

    Returns
    -------
    list of float

    Raises
    ------
    DataError
        At the first cell that is empty or not a number.
    """
    numbers = []
    for column, text in cells:
        text = text.strip()
        if not text:
            raise DataError(f"{source}: {row_name}, column {column}: empty value")
        try:
            numbers.append(float(text))
        except ValueError:
            raise DataError(f"{source}: {row_name}, column {column}: expected a number, got {text!r}") from None
    return numbers


def read_csv(path, tolerance=GroupingTolerance()):
    """Read a CSV data file (columns ``T_K,H_Oe,M_emu_per_g[,sigma_emu_per_g]``).

    Parameters
    ----------
    path : str or os.PathLike
    tolerance : GroupingTolerance, optional
        Run grouping.

    Returns
    -------
    MagnetizationData

    Raises
    ------
    DataError
        A missing, unknown or repeated column, a row of the wrong length, a bad value or a
        single-point run, naming the row and column.
    OSError
        If the file cannot be read.
    """
    path = Path(path)
    source = str(path)
    text = path.read_text(encoding="utf-8-sig")
    header, rows, notes = None, [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            notes.append(stripped[1:].strip())
            continue
        fields = next(csv.reader([line]))
        if header is None:
            header = [f.strip() for f in fields]
            header_line = lineno
            continue
        rows.append((lineno, fields))
    if header is None:
        raise DataError(f"{source}: no header line; expected {','.join(CSV_COLUMNS)}[,{CSV_SIGMA}]")
    allowed = CSV_COLUMNS + (CSV_SIGMA,)
    for name in header:
        if name not in allowed:
            raise DataError(f"{source}: line {header_line}: unknown column {name!r}; expected "
                            f"{', '.join(allowed)}")
        if header.count(name) > 1:
            raise DataError(f"{source}: line {header_line}: column {name} appears twice")
    for name in CSV_COLUMNS:
        if name not in header:
            raise DataError(f"{source}: line {header_line}: missing column {name}")
    values = {name: [] for name in header}
    row_names = []
    for k, (lineno, fields) in enumerate(rows, start=1):
        row_name = _row_name(k, lineno)
        if len(fields) != len(header):
            raise DataError(f"{source}: {row_name}: {len(fields)} fields, the header has {len(header)}")
        for name, x in zip(header, _parse_row(source, row_name, zip(header, fields))):
            values[name].append(x)
        row_names.append(row_name)
    sigma = values.get(CSV_SIGMA)
    return make_dataset(values["T_K"], values["H_Oe"], values["M_emu_per_g"], sigma, source, tolerance,
                        row_names, notes)


def _pick(header, candidates, source, what):
    for name in candidates:
        if name in header:
            return name
    expected = ", ".join(repr(c) for c in candidates)
    raise DataError(f"{source}: [Data]: missing column {what}; expected one of {expected}")


def _sample_mass_g(mass_mg, mass_g):
    if (mass_mg is None) == (mass_g is None):
        raise ValueError("give the sample mass once, in mg (mass_mg) or in g (mass_g)")
    value, name = (mass_mg, "mass_mg") if mass_mg is not None else (mass_g, "mass_g")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value) * (1e-3 if mass_mg is not None else 1.0)


def read_mpms_dat(path, mass_mg=None, mass_g=None, moment_column=None, use_errors=True,
                  tolerance=GroupingTolerance()):
    """Read a Quantum Design MPMS ``.dat`` file and convert moments to emu/g.

    Parameters
    ----------
    path : str or os.PathLike
    mass_mg, mass_g : float
        The sample mass, exactly one of them (> 0).
    moment_column : str, optional
        The moment column to use (default: see the module docstring).
    use_errors : bool, optional
        Use the moment's error column as ``sigma`` when the file has it (default True).
    tolerance : GroupingTolerance, optional
        Run grouping.

    Returns
    -------
    MagnetizationData

    Raises
    ------
    DataError
        No ``[Data]`` section, a missing column, or a bad value (naming the row and column).
    ValueError
        A bad mass.
    """
    mass = _sample_mass_g(mass_mg, mass_g)
    path = Path(path)
    source = str(path)
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        start = next(k for k, line in enumerate(lines) if line.strip().lower() == "[data]")
    except StopIteration:
        raise DataError(f"{source}: no [Data] section (not a Quantum Design .dat file?)") from None
    body = [(k + 1, line) for k, line in enumerate(lines[start + 1:], start=start + 1) if line.strip()]
    if not body:
        raise DataError(f"{source}: [Data] section has no column line")
    header_line, header_text = body[0]
    header = [h.strip() for h in next(csv.reader([header_text]))]
    col_T = _pick(header, _MPMS_TEMPERATURE, source, "temperature")
    col_H = _pick(header, _MPMS_FIELD, source, "field")
    rows = [(lineno, next(csv.reader([text]))) for lineno, text in body[1:]]
    rows = [(lineno, f + [""] * (len(header) - len(f))) for lineno, f in rows]
    index = {name: header.index(name) for name in header}
    if moment_column is not None:
        if moment_column not in index:
            raise DataError(f"{source}: [Data]: missing column {moment_column!r}")
        col_M = moment_column
    else:
        present = [c for c in _MPMS_MOMENT if c in index]
        if not present:
            raise DataError(f"{source}: [Data]: missing column moment; expected one of "
                            + ", ".join(repr(c) for c in _MPMS_MOMENT))
        first = next(((lineno, f) for lineno, f in rows
                      if any(f[index[c]].strip() for c in (col_T, col_H, *present))), None)
        col_M = next((c for c in present if first is not None and first[1][index[c]].strip()), present[0])
    col_err = _MPMS_MOMENT.get(col_M)
    if not use_errors or col_err not in index:
        col_err = None
    columns = (col_T, col_H, col_M) if col_err is None else (col_T, col_H, col_M, col_err)
    values, names = tuple([] for _ in columns), []
    for lineno, f in rows:
        if not any(f[index[c]].strip() for c in (col_T, col_H, col_M)):
            continue  # a comment row
        row_name = _row_name(len(names) + 1, lineno)
        for column_values, x in zip(values, _parse_row(source, row_name, [(repr(c), f[index[c]]) for c in columns])):
            column_values.append(x)
        names.append(row_name)
    moment_emu_per_g = np.asarray(values[2], dtype=float) / mass
    sigma_emu_per_g = None if col_err is None else np.asarray(values[3], dtype=float) / mass
    notes = (f"MPMS file; moment column {col_M!r}" + (f", error column {col_err!r}" if col_err else "")
             + f"; sample mass {mass * 1e3:g} mg",)
    return make_dataset(values[0], values[1], moment_emu_per_g, sigma_emu_per_g, source, tolerance, names, notes)


def read_data(path, mass_mg=None, mass_g=None, moment_column=None, tolerance=GroupingTolerance()):
    """Read a data file by its suffix: ``.dat`` -> :func:`read_mpms_dat`, anything else -> :func:`read_csv`.

    A mass (or moment column) given for a CSV file is an error: CSV data are already per gram.
    """
    if Path(path).suffix.lower() == ".dat":
        return read_mpms_dat(path, mass_mg, mass_g, moment_column, tolerance=tolerance)
    if mass_mg is not None or mass_g is not None or moment_column is not None:
        raise ValueError(f"{path}: a CSV data file is already in emu/g; the sample mass and moment column "
                         "apply to MPMS .dat files only")
    return read_csv(path, tolerance)


def write_csv(path, data, comments=(), force=False):
    """Write a data set as CSV (with ``sigma_emu_per_g`` when present), atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; missing parent directories are created.
    data : MagnetizationData
    comments : sequence of str, optional
        Lines written first, each prefixed with ``# ``.
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: file exists; use force (--force) to replace it")  # before any work
    buf = io.StringIO()
    for line in comments:
        for part in str(line).splitlines() or [""]:
            buf.write(f"# {part}\n")
    columns = list(CSV_COLUMNS) + ([CSV_SIGMA] if data.sigma_emu_per_g is not None else [])
    buf.write(",".join(columns) + "\n")
    arrays = [data.temperature_K, data.field_Oe, data.magnetization_emu_per_g]
    if data.sigma_emu_per_g is not None:
        arrays.append(data.sigma_emu_per_g)
    for row in zip(*arrays):
        buf.write(",".join(repr(float(v)) for v in row) + "\n")
    return write_text_atomic(path, buf.getvalue(), force=force)
