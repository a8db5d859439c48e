"""SQUID magnetisation data sets: reading, checking, and grouping into runs.

A data set is a list of measured points ``(T, H, M[, sigma])`` in K, Oe and emu/g, in the
order they were measured. Two file formats are read:

* **CSV** (the project's format): a header line naming the columns ``T_K``, ``H_Oe``,
  ``M_emu_per_g`` and optionally ``sigma_emu_per_g`` (any order, no other columns), then one
  row per point. Lines starting with ``#`` are comments (``tunnelsim synth`` writes its
  provenance there); blank lines are skipped.
* **Quantum Design ``.dat``** (MPMS XL, MPMS3 DC and VSM, PPMS VSM): read by
  :mod:`tunnelsim.fitting.qd_dat` (delimiters, encodings, the per-row moment column, the header's
  sample mass, rows skipped and why; its docstring has the rules), moments divided by the mass.

Every reader then goes through :func:`finish_points`: values checked, repeated readings at one set
point averaged within each run (:func:`tunnelsim.fitting.reading.average_repeats`), points without
an error given one by the error model or the fit left unweighted
(:func:`~tunnelsim.fitting.reading.apply_error_model`), and runs grouped; the data set's
``reading`` (:class:`~tunnelsim.fitting.reading.ReadReport`) says what was done.

Bad data stop with one :class:`DataError` line naming the file, the row (data row, counted
from 1, and the file line) and the column: a missing column, an empty or non-numeric value,
NaN or infinity, ``T <= 0``, ``sigma <= 0``, or a run of a single point.

**Runs.** SQUID data come as runs: M vs T at fixed H and M vs H at fixed T. :func:`group_runs`
splits the points, in file order, into maximal consecutive segments over which either ``H``
(an M vs T run) or ``T`` (an M vs H run) stays within a tolerance of the segment's first point,
``|x - x_first| <= abs + rel |x_first|`` (defaults in :class:`GroupingTolerance`: 0.05 K + 1 %
for T, 5 Oe + 0.2 % for H). From each starting point the longer of the two possible segments is
taken (a tie, where T and H both stay fixed, is called M vs T). A segment is cut where its sweep
reverses by more than :data:`REVERSAL_FACTOR` tolerances (ZFC / cool-down / FC, the branches of a
hysteresis loop), and each run's sweep is named (``Run.branch``). A segment of one point (T and H
both change at the next point, or the last point alone) is an error: every point must belong to
a run of at least two.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic
from ..textfile import read_text_file, text_lines
from .qd_dat import read_qd_file
from .reading import (REPEAT_MODES, DataError, ErrorModel, ReadReport, RepeatTolerance, apply_error_model,
                      average_repeats, check_number)

__all__ = [
    "CSV_COLUMNS",
    "DataError",
    "ErrorModel",
    "GroupingTolerance",
    "MagnetizationData",
    "ReadReport",
    "RepeatTolerance",
    "Run",
    "finish_points",
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
            check_number("GroupingTolerance.", name, getattr(self, name))


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
    branch : str
        The sweep: ``warming`` / ``cooling`` (M vs T; ``ZFC``, ``FC cooling``, ``FC warming`` where
        consecutive runs at one field follow that protocol, see ``_branches``), ``H increasing`` / ``H decreasing`` (M vs H),
        or ``""`` when the swept quantity does not move.
    """

    kind: str
    fixed_value: float
    start: int
    stop: int
    branch: str = field(default="", compare=False)

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
        branch = f" ({self.branch})" if self.branch else ""
        if self.kind == "M_vs_T":
            return f"M vs T at H = {self.fixed_value / 1e3:.4g} kOe{branch}"
        return f"M vs H at T = {self.fixed_value:.4g} K{branch}"

    def to_dict(self):
        unit = "Oe" if self.kind == "M_vs_T" else "K"
        return {"kind": self.kind, "fixed_value": self.fixed_value, "fixed_unit": unit,
                "start": self.start, "stop": self.stop, "n_points": self.n_points, "branch": self.branch,
                "label": self.label}


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
        Provenance: CSV comment lines, or the instrument columns and mass used.
    reading : ReadReport or None
        What the reader made of the file (None for a data set built in memory).
    """

    temperature_K: np.ndarray
    field_Oe: np.ndarray
    magnetization_emu_per_g: np.ndarray
    sigma_emu_per_g: np.ndarray | None
    runs: tuple
    source: str = "<data>"
    notes: tuple = ()
    reading: object = field(default=None, compare=False, repr=False)

    @property
    def n_points(self):
        return int(self.temperature_K.size)

    def run_data(self, run):
        """The points of one run as a :class:`MagnetizationData` holding that single run."""
        s = run.indices
        sigma = None if self.sigma_emu_per_g is None else self.sigma_emu_per_g[s]
        return MagnetizationData(self.temperature_K[s], self.field_Oe[s], self.magnetization_emu_per_g[s],
                                 sigma, (Run(run.kind, run.fixed_value, 0, run.n_points, run.branch),),
                                 f"{self.source} [{run.label}]")

    def runs_of_kind(self, kind):
        """The runs of one kind, ``"M_vs_T"`` or ``"M_vs_H"``."""
        if kind not in _RUN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(_RUN_KINDS)}, got {kind!r}")
        return tuple(r for r in self.runs if r.kind == kind)


def _within(x, ref, abs_tol, rel_tol):
    return abs(x - ref) <= abs_tol + rel_tol * abs(ref)


#: A sweep reverses where the swept quantity falls back by more than this many run tolerances
#: (a temperature dip of a warming sweep, or field noise, is not a new run).
REVERSAL_FACTOR = 3.0


def _sweep_end(x, i, stop, abs_tol, rel_tol):
    """End (exclusive) of the monotonic sweep of ``x`` from ``i`` within ``[i, stop)``, and its direction.

    The sweep reverses where ``x`` falls back from its extreme by more than ``abs + rel |extreme|``;
    the extreme point ends the sweep. A reversal that would leave a single point is not a cut.
    Direction +1 (rising), -1 (falling) or 0 (``x`` stays within the tolerance of ``x[i]``).
    """
    direction, lo, hi, lo_k, hi_k = 0, x[i], x[i], i, i
    for k in range(i + 1, stop):
        if x[k] > hi:
            hi, hi_k = x[k], k
        if x[k] < lo:
            lo, lo_k = x[k], k
        if direction == 0:
            if hi - x[i] > abs_tol + rel_tol * abs(x[i]):
                direction = 1
            elif x[i] - lo > abs_tol + rel_tol * abs(x[i]):
                direction = -1
            else:
                continue
        ext, ext_k = (hi, hi_k) if direction > 0 else (lo, lo_k)
        if direction * (ext - x[k]) > abs_tol + rel_tol * abs(ext):
            return (ext_k + 1, direction) if stop - (ext_k + 1) >= 2 else (stop, direction)
    return stop, direction


def _branches(runs, T, tol):
    """Name each run's sweep; consecutive M vs T runs at one field follow the ZFC / FC protocol's names.

    A warming run is ``ZFC`` when the next run is at its field and is a cool-down or starts again
    from below (the lower half of this run's range); a run after one at its field is ``FC cooling``
    when it cools, ``FC warming`` when it warms from the lower half of the previous run's range (the
    sample was cooled in the field in between). Anything else is ``warming`` / ``cooling``.
    """
    def same_field(a, b):
        return a[0] == b[0] == "M_vs_T" and abs(a[1] - b[1]) <= tol.field_abs_Oe + tol.field_rel * abs(a[1])

    def restarts_below(prev, run):
        lo, hi = float(np.min(T[prev[2]:prev[3]])), float(np.max(T[prev[2]:prev[3]]))
        return T[run[2]] < lo + 0.5 * (hi - lo)

    def follows_in_field(prev, run):  # ``run`` continues the field-cooling protocol after ``prev``
        return same_field(prev, run) and (run[4] < 0 or (run[4] > 0 and restarts_below(prev, run)))

    named = []
    for k, (kind, value, start, stop, direction) in enumerate(runs):
        if kind == "M_vs_H":
            named.append(Run(kind, value, start, stop, {1: "H increasing", -1: "H decreasing"}.get(direction, "")))
            continue
        branch = {1: "warming", -1: "cooling"}.get(direction, "")
        prev = runs[k - 1] if k > 0 else None
        nxt = runs[k + 1] if k + 1 < len(runs) else None
        after = prev is not None and follows_in_field(prev, runs[k])
        if direction < 0 and (after or (nxt is not None and same_field(runs[k], nxt))):
            branch = "FC cooling"
        elif direction > 0 and after:
            branch = "FC warming"
        elif direction > 0 and nxt is not None and follows_in_field(runs[k], nxt):
            branch = "ZFC"
        named.append(Run(kind, value, start, stop, branch))
    return tuple(named)


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
            stop, direction = _sweep_end(T, i, stop, REVERSAL_FACTOR * tol.temperature_abs_K,
                                         REVERSAL_FACTOR * tol.temperature_rel)
            runs.append(("M_vs_T", float(np.mean(H[i:stop])), i, stop, direction))
        else:
            stop, direction = _sweep_end(H, i, stop, REVERSAL_FACTOR * tol.field_abs_Oe,
                                         REVERSAL_FACTOR * tol.field_rel)
            runs.append(("M_vs_H", float(np.mean(T[i:stop])), i, stop, direction))
        i = stop
    return _branches(runs, T, tol)


#: Largest magnitude accepted per column: far beyond any measurement, small enough that the model's
#: sums of squares stay finite.
VALUE_LIMITS = {"T_K": 1e6, "H_Oe": 1e9, "M_emu_per_g": 1e100, "sigma_emu_per_g": 1e100}


def _check_values(name, values, row_names, source, positive=False, limit=None):
    bad = ~np.isfinite(values)
    if positive:
        bad |= ~(values > 0)
    limit = VALUE_LIMITS.get(name, np.inf) if limit is None else limit
    with np.errstate(invalid="ignore"):
        bad |= np.abs(values) > limit
    if np.any(bad):
        k = int(np.argmax(bad))
        if not np.isfinite(values[k]):
            what = "must be finite (no NaN or inf)"
        elif positive and not values[k] > 0:
            what = "must be > 0"
        else:
            what = f"out of range (|value| <= {limit:g})"
        raise DataError(f"{source}: {row_names[k]}, column {name}: {what}, got {float(values[k])!r}")


def make_dataset(temperature_K, field_Oe, magnetization_emu_per_g, sigma_emu_per_g=None, source="<data>",
                 tolerance=GroupingTolerance(), row_names=None, notes=(), runs=None, reading=None):
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
    reading : ReadReport, optional
        What a reader made of the file.

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
                             runs, source, tuple(notes), reading)


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


def _repeats_sentence(mode, n_groups, n_readings, n_points):
    if mode == "keep":
        return "kept as separate points (repeats='keep')"
    if n_groups == 0:
        return "none (no consecutive readings at one set point)"
    return (f"{n_readings} readings at {n_groups} repeated set points averaged into one point each "
            f"({n_points} points)")


def finish_points(source, T, H, moment, sigma, names, report, *, unit="emu/g", mass_g=1.0,
                  column_names=None, tolerance=GroupingTolerance(), error_model=None, repeats="average",
                  repeat_tolerance=RepeatTolerance(), notes=()):
    """Turn a reader's points into a data set: checks, repeated readings, error model, mass, runs.

    Parameters
    ----------
    source : str
    T, H, moment, sigma : numpy.ndarray
        One entry per reading; ``moment`` and ``sigma`` in ``unit`` (``sigma`` NaN where none given).
    names : list of str
        Row names for messages.
    report : ReadReport
        Completed here (errors, repeats) and attached to the result.
    unit : str, optional
        Unit of ``moment`` (``emu`` for instrument files, ``emu/g`` for CSV).
    mass_g : float, optional
        Divides the moments (1 for data already per gram).
    column_names : dict, optional
        ``T``, ``H``, ``M`` -> the file's column names, for messages.
    tolerance : GroupingTolerance, optional
    error_model : ErrorModel, optional
    repeats : {"average", "keep"}, optional
    repeat_tolerance : RepeatTolerance, optional
    notes : sequence of str, optional

    Returns
    -------
    MagnetizationData
    """
    if repeats not in REPEAT_MODES:
        raise ValueError(f"repeats must be one of {', '.join(REPEAT_MODES)}, got {repeats!r}")
    cols = {"T": "T_K", "H": "H_Oe", "M": "M_emu_per_g", **(column_names or {})}
    T, H, moment, sigma = (np.asarray(x, dtype=float) for x in (T, H, moment, sigma))
    _check_values(cols["T"], T, names, source, positive=True, limit=VALUE_LIMITS["T_K"])
    _check_values(cols["H"], H, names, source, limit=VALUE_LIMITS["H_Oe"])
    _check_values(cols["M"], moment / mass_g, names, source, limit=VALUE_LIMITS["M_emu_per_g"])
    n_readings = T.size
    if repeats == "average":
        try:  # repeats are averaged within runs only
            breaks = [r.start for r in group_runs(T, H, tolerance, names, source)]
        except DataError:
            breaks = ()
        T, H, moment, sigma, names, n_groups, n_rep = average_repeats(T, H, moment, sigma, names, repeat_tolerance,
                                                                      breaks)
    else:
        n_groups = n_rep = 0
    report.repeats = _repeats_sentence(repeats, n_groups, n_rep, T.size)
    sigma, report.errors = apply_error_model(moment, sigma, error_model, unit, names)
    if n_groups and sigma is not None:
        report.errors += (f" (the {n_groups} averaged point{'s' if n_groups != 1 else ''}: the error of the mean "
                          "from the readings' errors and scatter, the scatter of readings without errors floored "
                          "by their pooled relative scatter)")
    if n_readings > 1 and T.size < 2:
        raise DataError(f"{source}: {n_readings} readings at a single set point (T = {T[0]:g} K, H = {H[0]:g} Oe): "
                        "a fit needs points at >= 2 set points")
    return make_dataset(T, H, moment / mass_g, None if sigma is None else sigma / mass_g, source, tolerance,
                        names, notes, reading=report)


def read_csv(path, tolerance=GroupingTolerance(), error_model=None, repeats="average"):
    """Read a CSV data file (columns ``T_K,H_Oe,M_emu_per_g[,sigma_emu_per_g]``).

    Parameters
    ----------
    path : str or os.PathLike
    tolerance : GroupingTolerance, optional
        Run grouping.
    error_model : ErrorModel, optional
        Errors for a file without ``sigma_emu_per_g`` (``absolute`` in emu/g).
    repeats : {"average", "keep"}, optional
        Consecutive readings at one set point (:mod:`tunnelsim.fitting.reading`).

    Returns
    -------
    MagnetizationData

    Raises
    ------
    DataError
        A file that is not UTF-8 text; a missing, unknown or repeated column, a row of the wrong
        length, a bad value or a single-point run, naming the row and column.
    OSError
        If the file cannot be read.
    """
    path = Path(path)
    source = str(path)
    try:
        text, encoding = read_text_file(path, "data file")
    except ValueError as exc:
        raise DataError(str(exc)) from None
    header, rows, notes = None, [], []
    for lineno, line in enumerate(text_lines(text), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            notes.append(stripped[1:].strip())
            continue
        fields = next(csv.reader([line]))
        while len(fields) > 1 and not fields[-1].strip():  # trailing delimiters of a spreadsheet export
            fields.pop()
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
    if len(row_names) < 2:
        raise DataError(f"{source}: {len(row_names)} data point{'s' if len(row_names) != 1 else ''}; "
                        "a fit needs at least a run of 2")
    report = ReadReport(source, "csv", None, encoding, ",", n_rows=len(rows))
    report.moment_columns = {"M_emu_per_g": len(rows)}
    sigma = values.get(CSV_SIGMA)
    if sigma is not None:
        _check_values(CSV_SIGMA, np.asarray(sigma, dtype=float), row_names, source, positive=True,
                      limit=VALUE_LIMITS[CSV_SIGMA])
        report.error_columns = {CSV_SIGMA: len(rows)}
    else:
        sigma = np.full(len(rows), np.nan)
    return finish_points(source, values["T_K"], values["H_Oe"], values["M_emu_per_g"], sigma, row_names, report,
                         tolerance=tolerance, error_model=error_model, repeats=repeats, notes=notes)


def read_mpms_dat(path, mass_mg=None, mass_g=None, moment_column=None, use_errors=True,
                  tolerance=GroupingTolerance(), error_model=None, repeats="average"):
    """Read a Quantum Design ``.dat`` file (MPMS XL, MPMS3, PPMS VSM) and convert moments to emu/g.

    Parameters
    ----------
    path : str or os.PathLike
    mass_mg, mass_g : float, optional
        The sample mass (at most one, > 0); default: the header's (:mod:`tunnelsim.fitting.qd_dat`).
    moment_column : str or sequence of str, optional
        The moment column, or several in order of preference (default: the per-row choice of
        :data:`tunnelsim.fitting.qd_dat.MOMENT_PREFERENCE`).
    use_errors : bool, optional
        Use the moment's error column where it gives an error > 0 (default True).
    tolerance : GroupingTolerance, optional
        Run grouping.
    error_model : ErrorModel, optional
        Errors (in emu) for points the file gives none for.
    repeats : {"average", "keep"}, optional
        Consecutive readings at one set point.

    Returns
    -------
    MagnetizationData
        With ``reading`` saying what was read and skipped.

    Raises
    ------
    DataError
        No ``[Data]`` section, a missing column, a bad value (naming the line and column), no mass.
    ValueError
        A bad mass.
    """
    T, H, M, S, names, report = read_qd_file(path, mass_mg, mass_g, moment_column, use_errors)
    columns = list(report.moment_columns)
    cols = {"T": "'Temperature (K)'", "H": "field", "M": repr(columns[0]) if len(columns) == 1 else "moment"}
    notes = (f"Quantum Design file; moment column {', '.join(repr(c) for c in columns)}; sample mass "
             f"{report.mass_g * 1e3:g} mg ({report.mass_source})",)
    return finish_points(report.source, T, H, M, S, names, report, unit="emu", mass_g=report.mass_g,
                         column_names=cols, tolerance=tolerance, error_model=error_model, repeats=repeats,
                         notes=notes)


def read_data(path, mass_mg=None, mass_g=None, moment_column=None, tolerance=GroupingTolerance(),
              error_model=None, repeats="average", use_file_errors=True):
    """Read a data file by its suffix: ``.dat`` -> :func:`read_mpms_dat`, anything else -> :func:`read_csv`.

    A mass (or moment column) given for a CSV file is an error: CSV data are already per gram.
    ``use_file_errors=False`` ignores the file's errors (then ``error_model`` gives them all).
    """
    if not use_file_errors and error_model is None:
        raise ValueError("ignoring the file's errors (--no-file-errors) needs an error model "
                         "(--sigma-rel and/or --sigma-abs)")
    if error_model is not None and not use_file_errors and not error_model.replace:
        error_model = ErrorModel(error_model.relative, error_model.absolute, True)
    if Path(path).suffix.lower() == ".dat":
        return read_mpms_dat(path, mass_mg, mass_g, moment_column, use_file_errors, tolerance, error_model, repeats)
    if mass_mg is not None or mass_g is not None or moment_column is not None:
        raise ValueError(f"{path}: a CSV data file is already in emu/g; the sample mass and moment column "
                         "apply to instrument .dat files only")
    return read_csv(path, tolerance, error_model, repeats)


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
