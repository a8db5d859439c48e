"""What a reader made of a data file, the error model for points without errors, and repeated readings.

Three steps between a file's rows and a :class:`~tunnelsim.fitting.data.MagnetizationData`:

* **Error model.** An instrument often gives no usable error (MPMS XL: ``Long Scan Std Dev`` = 0 on
  every row, one scan per point). A point without an error gets
  ``sigma = sqrt((rel M)^2 + abs^2)`` from :class:`ErrorModel` (``--sigma-rel``, ``--sigma-abs``);
  when some points still have none, the data set is fitted unweighted (every ``sigma`` dropped),
  and the report says so.
* **Repeated readings.** Consecutive points at one set point (T and H both within
  :class:`RepeatTolerance` of the group's first point: a relaxation series, or several readings per
  set point) are averaged by :func:`average_repeats`: mean T, H and M, and as the error of the mean
  ``sqrt(max(s^2 / n, mean(sigma^2) / n))`` with ``s`` the readings' sample standard deviation and
  ``sigma`` their own errors (the scatter alone where they have none). ``repeats="keep"`` keeps them.
* **Report.** :class:`ReadReport` records the file's format, encoding and delimiter, the rows read
  and skipped (by reason, with the first lines), the moment and error columns used (rows per column),
  the sample mass and where it came from, the error model, the averaging and any warnings;
  ``tunnelsim info DATA`` prints it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DataError", "ErrorModel", "ReadReport", "RepeatTolerance", "average_repeats", "REPEAT_MODES"]

#: What :func:`average_repeats` can do with repeated readings.
REPEAT_MODES = ("average", "keep")


class DataError(ValueError):
    """A data set is invalid; the message is one line naming the file, row and column."""


def check_number(owner, name, value, positive=False):
    """Raise ValueError ``{owner}{name} must be a finite number >= 0`` (``> 0`` with ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 \
            or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{owner}{name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True)
class ErrorModel:
    """``sigma = sqrt((relative M)^2 + absolute^2)`` for points the file gives no error for.

    Attributes
    ----------
    relative : float
        Relative error of the moment (``--sigma-rel``; 0.001 is 0.1 %).
    absolute : float
        Absolute error of the moment in the file's units (``--sigma-abs``): emu for an instrument
        ``.dat`` file (before the division by the mass), emu/g for CSV.
    replace : bool
        Use the model for every point, ignoring the file's errors (``--no-file-errors``).
    """

    relative: float = 0.0
    absolute: float = 0.0
    replace: bool = False

    def __post_init__(self):
        check_number("--sigma-", "rel", self.relative)
        check_number("--sigma-", "abs", self.absolute)
        if self.relative == 0 and self.absolute == 0:
            raise ValueError("error model: give --sigma-rel or --sigma-abs > 0")

    def sigma(self, moment):
        """The model's error of each moment (same units as ``moment``)."""
        m = np.asarray(moment, dtype=float)
        return np.sqrt((self.relative * m) ** 2 + self.absolute**2)

    def describe(self, unit):
        parts = []
        if self.relative:
            parts.append(f"{self.relative:g} |M|")
        if self.absolute:
            parts.append(f"{self.absolute:g} {unit}")
        scope = "every point (file errors ignored)" if self.replace else "points without an error in the file"
        return f"sigma = sqrt({' ^2 + '.join(parts)}^2) for {scope}" if len(parts) > 1 else \
            f"sigma = {parts[0]} for {scope}"


def apply_error_model(moment, sigma, model, unit, names=None):
    """Errors after the error model, and a sentence saying what was done.

    Parameters
    ----------
    moment : numpy.ndarray
        Moments (the file's unit).
    sigma : numpy.ndarray
        The file's errors, NaN where it gives none (empty, zero or no error column).
    model : ErrorModel or None
    unit : str
        The moment's unit, for the sentence.
    names : sequence of str, optional
        Row names, for the message when the model gives a zero error.

    Returns
    -------
    sigma : numpy.ndarray or None
        None when some point is still without an error (the fit is then unweighted).
    sentence : str

    Raises
    ------
    DataError
        The model gives ``sigma = 0`` at a point (``M = 0`` with a purely relative model).
    """
    sigma = np.asarray(sigma, dtype=float).copy()
    missing = ~(sigma > 0)
    n = sigma.size
    if model is not None:
        if model.replace:
            sigma = model.sigma(moment)
            missing = np.ones(n, dtype=bool)
        else:
            sigma[missing] = model.sigma(np.asarray(moment, dtype=float)[missing])
        zero = missing & ~(sigma > 0)
        if zero.any():
            k = int(np.argmax(zero))
            where = names[k] if names is not None else f"point {k + 1}"
            raise DataError(f"{where}: the error model gives sigma = 0 (M = 0 with --sigma-rel alone): "
                            "add --sigma-abs > 0")
        if model.replace:
            return sigma, "errors: " + model.describe(unit)
        if np.all(sigma > 0):
            given = n - int(missing.sum())
            return sigma, (f"errors: {given} of {n} points from the file; " + model.describe(unit))
        missing = ~(sigma > 0)
    if not missing.any():
        return sigma, f"errors: given for all {n} points"
    if missing.all():
        return None, ("errors: none given (no error column, or zero); the fit is unweighted "
                      "(give --sigma-rel/--sigma-abs for an error model)")
    return None, (f"errors: {int(missing.sum())} of {n} points have none (zero or empty), so none are used; "
                  "the fit is unweighted (give --sigma-rel/--sigma-abs to fill them in)")


@dataclass(frozen=True)
class RepeatTolerance:
    """When consecutive readings are one set point.

    Readings join a group while T and H both stay within ``abs + rel |x_first|`` of the group's
    first reading; a group of several readings counts as repeated readings only if it stands apart
    from its neighbours: the steps to the readings before and after it are at least
    ``separation`` times its largest internal step (steps measured in units of the tolerance).
    A continuous sweep (evenly spaced points) is thus never averaged, however dense.

    Attributes
    ----------
    temperature_abs_K, temperature_rel, field_abs_Oe, field_rel : float
        Defaults: 0.05 K + 0.5 % for T (an MPMS XL set point's readings scatter by ~0.5 %),
        2 Oe + 0.05 % for H.
    separation : float
        Default 3.
    """

    temperature_abs_K: float = 0.05
    temperature_rel: float = 5e-3
    field_abs_Oe: float = 2.0
    field_rel: float = 5e-4
    separation: float = 3.0

    def __post_init__(self):
        for name in ("temperature_abs_K", "temperature_rel", "field_abs_Oe", "field_rel", "separation"):
            check_number("RepeatTolerance.", name, getattr(self, name))

    def distance(self, T, H, k, i):
        """Distance from reading ``i`` to reading ``k`` in units of the tolerance at ``i``."""
        return max(abs(T[k] - T[i]) / (self.temperature_abs_K + self.temperature_rel * abs(T[i]) or np.inf),
                   abs(H[k] - H[i]) / (self.field_abs_Oe + self.field_rel * abs(H[i]) or np.inf))


def _groups(T, H, tol, breaks=()):
    """Start indices of the groups of consecutive repeated readings (and ``n`` at the end); a group
    never spans an index of ``breaks`` (the starts of runs)."""
    n = T.size
    breaks = set(int(b) for b in breaks)
    starts, i = [0], 0
    for k in range(1, n):
        if k in breaks or tol.distance(T, H, k, i) > 1.0:
            starts.append(k)
            i = k
    starts.append(n)
    out = [0]
    for a, b in zip(starts[:-1], starts[1:]):
        if b - a > 1:
            inner = max(tol.distance(T, H, k, k - 1) for k in range(a + 1, b))
            gaps = [tol.distance(T, H, a, a - 1)] if a > 0 else []
            gaps += [tol.distance(T, H, b, b - 1)] if b < n else []
            if gaps and min(gaps) < tol.separation * inner:
                out.extend(range(a + 1, b))  # a dense sweep, not repeated readings
        out.append(b)
    return np.asarray(sorted(set(out)))


def average_repeats(temperature_K, field_Oe, moment, sigma, names, tolerance=RepeatTolerance(), breaks=()):
    """Average consecutive repeated readings at one set point (see the module docstring).

    Parameters
    ----------
    temperature_K, field_Oe, moment, sigma : numpy.ndarray
        1-D, one entry per reading; ``sigma`` is NaN where a reading has no error.
    names : list of str
        Row names; an averaged point is named ``rows A - B (n readings)``.
    tolerance : RepeatTolerance, optional
    breaks : iterable of int, optional
        Reading indices where a group must not continue (the starts of runs: a ZFC and an FC reading
        at the top temperature are not one set point).

    Returns
    -------
    T, H, M, sigma : numpy.ndarray
        One entry per set point. An averaged point's error is
        ``sqrt(max(s^2 / n, mean(sigma^2) / n))`` over the readings that have one. Where none has,
        the scatter of two or three readings is itself too uncertain to weight a fit by (a sample
        standard deviation of 2 degrees of freedom is below a third of the true one 10 % of the
        time), so ``s`` is floored by the pooled relative scatter of all such groups,
        ``s_pool^2 = sum (n - 1) (s/M)^2 / sum (n - 1)`` times ``|M|``. NaN only for a single reading
        without an error, or identical readings without errors.
    names : list of str
    n_groups : int
        Points averaged from >= 2 readings.
    n_readings : int
        Readings that went into them.
    """
    T, H, M, S = (np.asarray(a, dtype=float) for a in (temperature_K, field_Oe, moment, sigma))
    starts = _groups(T, H, tolerance, breaks)
    sizes = np.diff(starts)
    if np.all(sizes == 1):
        return T, H, M, S, list(names), 0, 0
    idx = np.repeat(np.arange(sizes.size), sizes)
    T_m, H_m, M_m = (np.bincount(idx, weights=x) / sizes for x in (T, H, M))
    dev2 = np.bincount(idx, weights=(M - M_m[idx]) ** 2)
    scatter2 = np.where(sizes > 1, dev2 / np.maximum(sizes - 1, 1) / sizes, np.nan)
    has = S > 0
    n_has = np.bincount(idx, weights=has.astype(float))
    own2 = np.bincount(idx, weights=np.where(has, S, 0.0) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        own2 = np.where(n_has > 0, own2 / n_has / sizes, np.nan)
    bare = (sizes > 1) & (n_has == 0)  # groups whose readings carry no error: pool their relative scatter
    with np.errstate(invalid="ignore", divide="ignore"):
        rel2 = dev2 / (M_m**2)
    usable = bare & np.isfinite(rel2) & (M_m != 0)
    if usable.any():
        pooled_rel2 = float(np.sum(rel2[usable]) / np.sum(sizes[usable] - 1))
        scatter2 = np.where(bare, np.fmax(scatter2, pooled_rel2 * M_m**2 / sizes), scatter2)
    combined = np.fmax(scatter2, own2)
    sigma_m = np.where(sizes > 1, np.sqrt(combined), S[starts[:-1]])
    sigma_m = np.where(sigma_m > 0, sigma_m, np.nan)
    new_names = [names[a] if b - a == 1 else f"rows {names[a]} - {names[b - 1]} ({b - a} readings)"
                 for a, b in zip(starts[:-1], starts[1:])]
    many = sizes > 1
    return T_m, H_m, M_m, sigma_m, new_names, int(many.sum()), int(sizes[many].sum())


@dataclass
class ReadReport:
    """What a reader made of a file (printed by ``tunnelsim info DATA``; ``to_dict`` for ``--json``).

    Attributes
    ----------
    source : str
    file_format : str
        ``"csv"`` or ``"quantum-design-dat"``.
    instrument : str or None
        From the header (``BYAPP``), e.g. ``"MPMS3"``.
    encoding, delimiter : str
    n_rows : int
        Data rows in the file (comment rows included).
    skipped : dict
        Reason -> list of file line numbers of the rows skipped for it.
    moment_columns : dict
        Moment column -> number of points read from it.
    error_columns : dict
        Error column -> number of points whose error it gave (> 0).
    mass_g : float or None
        Sample mass used (None for CSV, already per gram).
    mass_source : str
    header_mass : str or None
        What the header says about the mass, verbatim with its key.
    errors : str
        How the errors were set (:func:`apply_error_model`'s sentence).
    repeats : str
        What was done with repeated readings.
    warnings : list of str
    """

    source: str
    file_format: str
    instrument: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    n_rows: int = 0
    skipped: dict = field(default_factory=dict)
    moment_columns: dict = field(default_factory=dict)
    error_columns: dict = field(default_factory=dict)
    mass_g: float | None = None
    mass_source: str = "not needed (data in emu/g)"
    header_mass: str | None = None
    errors: str = ""
    repeats: str = ""
    warnings: list = field(default_factory=list)

    def skip(self, reason, lineno):
        self.skipped.setdefault(reason, []).append(int(lineno))

    @property
    def n_skipped(self):
        return sum(len(v) for v in self.skipped.values())

    def to_dict(self):
        return {
            "source": self.source, "format": self.file_format, "instrument": self.instrument,
            "encoding": self.encoding, "delimiter": self.delimiter, "rows_in_file": self.n_rows,
            "skipped_rows": {reason: {"count": len(lines), "lines": lines[:20]}
                             for reason, lines in self.skipped.items()},
            "moment_column": (next(iter(self.moment_columns)) if len(self.moment_columns) == 1
                              else list(self.moment_columns) or None),
            "moment_columns": dict(self.moment_columns), "error_columns": dict(self.error_columns),
            "mass_g": self.mass_g, "mass_source": self.mass_source, "header_mass": self.header_mass,
            "errors": self.errors, "repeats": self.repeats, "warnings": list(self.warnings),
        }

    def lines(self):
        """The report as text lines."""
        delim = {",": "comma", "\t": "tab", ";": "semicolon"}.get(self.delimiter, repr(self.delimiter))
        out = [f"file: {self.source} ({self.file_format}"
               + (f", {self.instrument}" if self.instrument else "") + f", {self.encoding}, {delim}-separated)",
               f"rows: {self.n_rows} data rows, {self.n_skipped} skipped"]
        for reason, lines in self.skipped.items():
            shown = ", ".join(str(x) for x in lines[:5]) + (", ..." if len(lines) > 5 else "")
            out.append(f"  skipped {len(lines)}: {reason} (lines {shown})")
        if self.moment_columns:
            out.append("moment: " + "; ".join(f"{c!r} ({n} points)" for c, n in self.moment_columns.items()))
        if self.error_columns:
            out.append("error columns: " + "; ".join(f"{c!r} ({n} points)" for c, n in self.error_columns.items()))
        out.append(f"errors: {self.errors.removeprefix('errors: ')}" if self.errors else "errors: -")
        mass = f"{self.mass_g * 1e3:.6g} mg ({self.mass_source})" if self.mass_g is not None else self.mass_source
        out.append(f"mass: {mass}" + (f"; header: {self.header_mass}" if self.header_mass else ""))
        if self.repeats:
            out.append(f"repeats: {self.repeats}")
        out.extend(f"warning: {w}" for w in self.warnings)
        return out
