"""Quantum Design ``.dat`` files (MPMS XL, MPMS3 DC and VSM, PPMS VSM) as the instruments write them.

A file has an optional ``[Header]`` section and a ``[Data]`` section whose first line names the
columns. What is accepted, and how:

* **Text.** UTF-8 or Latin-1 bytes (Windows instrument software writes the latter); comma, tab or
  semicolon separated, detected from the column line; trailing delimiters (a re-saved file's
  ``[Data]\\t``) and blank lines ignored. UTF-16 or binary files are refused.
* **Columns.** Temperature from ``Temperature (K)``, field from ``Magnetic Field (Oe)`` (MPMS3,
  PPMS) or ``Field (Oe)`` (MPMS XL). The moment is chosen **per row**, the first column of
  :data:`MOMENT_PREFERENCE` that holds a value in that row (a file may switch from VSM to DC
  mid-file); ``moment_columns`` overrides the order (one name, or several in order of preference).
  Each moment column has its error column; an empty or zero error (MPMS XL writes
  ``Long Scan Std Dev`` = 0 for single scans) means "no error given", see
  :mod:`tunnelsim.fitting.reading` for the error model that then applies.
* **Rows.** A row without temperature, field or any moment (an instrument status row, a comment
  row) is skipped and counted by reason; a cell that is not a number in a column that is used is an
  error naming the file, line and column. A last line cut short (no line end, fewer cells than the
  column line) is a truncated file.
* **Mass.** ``INFO,<m>,SAMPLE_MASS`` (MPMS3, PPMS: mg) or an ``INFO`` entry whose name states its
  unit (``MASS: Sample Mass (mg)``) gives the mass; MPMS XL's ``WEIGHT`` states no unit and is
  reported but not used. A mass given by the caller wins; when it differs from the header's by
  more than 1 % a warning says so. No mass at all is an error.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np

from ..textfile import read_text_file, text_lines
from .reading import DataError, ReadReport

__all__ = ["MOMENT_PREFERENCE", "QDFile", "read_qd_file", "sample_mass_g"]

TEMPERATURE_COLUMNS = ("Temperature (K)",)
FIELD_COLUMNS = ("Magnetic Field (Oe)", "Field (Oe)")
#: Moment columns in order of preference, each with its error column: DC free-centre fit (MPMS3),
#: DC fixed-centre fit, DC (older MPMS3 software), VSM (MPMS3, PPMS), MPMS XL long moment.
MOMENT_PREFERENCE = {
    "DC Moment Free Ctr (emu)": "DC Moment Err Free Ctr (emu)",
    "DC Moment Fixed Ctr (emu)": "DC Moment Err Fixed Ctr (emu)",
    "DC Moment (emu)": "DC Moment Err (emu)",
    "Moment (emu)": "M. Std. Err. (emu)",
    "Long Moment (emu)": "Long Scan Std Dev",
}
#: A header mass disagreeing with the caller's by more than this (relative) is warned about.
MASS_WARNING_REL = 0.01
_DELIMITERS = (",", "\t", ";")
_MASS_UNIT = {"mg": 1e-3, "g": 1.0}
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _is_section(line, name):
    return line.strip().strip(",\t;").strip().lower() == name


def _detect_delimiter(line):
    counts = {d: line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _split(text, delimiter):
    return next(csv.reader([text], delimiter=delimiter))


class QDFile:
    """The parsed text of a ``.dat`` file: header entries, column names and data lines.

    Parameters
    ----------
    path : str or os.PathLike

    Attributes
    ----------
    source, encoding, delimiter : str
    header : list of list of str
        The header lines split into cells (comment lines starting with ``;`` left out).
    columns : list of str
        Column names (trailing empty names dropped).
    rows : list of (int, list of str)
        File line number and cells of each non-blank data line.
    truncated_last : bool
        The last line has no line end.
    """

    def __init__(self, path):
        self.source = str(path)
        text, self.encoding = read_text_file(path, "data file", allow_latin1=True)
        lines = text_lines(text)
        try:
            start = next(k for k, line in enumerate(lines) if _is_section(line, "[data]"))
        except StopIteration:
            raise DataError(f"{self.source}: no [Data] section (not a Quantum Design .dat file?)") from None
        body = [(k + 1, line) for k, line in enumerate(lines[start + 1:], start=start + 1) if line.strip()]
        if not body:
            raise DataError(f"{self.source}: the [Data] section has no column line")
        self.columns_line, column_text = body[0]
        self.delimiter = _detect_delimiter(column_text)
        columns = [c.strip() for c in _split(column_text, self.delimiter)]
        while columns and not columns[-1]:
            columns.pop()
        for name in columns:
            if name and columns.count(name) > 1:
                raise DataError(f"{self.source}: line {self.columns_line}: column {name!r} appears twice")
        self.columns = columns
        self.rows = [(lineno, _split(line, self.delimiter)) for lineno, line in body[1:]]
        self.truncated_last = bool(text) and not text.endswith(("\n", "\r"))
        h0 = next((k for k, line in enumerate(lines[:start]) if _is_section(line, "[header]")), -1)
        self.header = [_split(line, self.delimiter if self.delimiter in line else ",")
                       for line in lines[h0 + 1:start] if line.strip() and not line.lstrip().startswith(";")]

    def header_value(self, key):
        """The cells after ``key`` on the first header line starting with it, or None."""
        for cells in self.header:
            if cells and cells[0].strip().upper() == key:
                return [c.strip() for c in cells[1:]]
        return None

    @property
    def instrument(self):
        """The writing application (``BYAPP`` line), e.g. ``MPMS3 1.1.5``, or None."""
        value = self.header_value("BYAPP")
        return " ".join(c for c in value if c) if value else None

    def info_entries(self):
        """``(name, value)`` of the ``INFO`` header lines: ``INFO,value,NAME`` (MPMS3, PPMS; the value may
        hold unquoted commas) or ``INFO,NAME,value`` (MPMS XL)."""
        entries = []
        for cells in self.header:
            cells = [c.strip() for c in cells]
            while cells and not cells[-1]:
                cells.pop()
            if len(cells) < 2 or cells[0].upper() != "INFO":
                continue
            if _KEY.match(cells[-1]) or len(cells) == 2:
                entries.append((cells[-1], ",".join(cells[1:-1]).strip()))
            elif _KEY.match(cells[1]):
                entries.append((cells[1], ",".join(cells[2:]).strip()))
            else:
                entries.append((cells[-1], ",".join(cells[1:-1]).strip()))
        return entries

    def header_mass(self):
        """``(mass in g or None, description)`` from the header; description None when it has none."""
        for name, value in self.info_entries():
            unit = None
            if name.upper() == "SAMPLE_MASS":
                unit = "mg"
            else:
                m = re.search(r"mass\b.*\((mg|g)\)", name, flags=re.IGNORECASE)
                unit = m.group(1).lower() if m else None
            if unit is None:
                continue
            description = f"INFO {name} = {value or '(empty)'} ({unit})"
            try:
                mass = float(value) * _MASS_UNIT[unit]
            except ValueError:
                return None, description + ", not a number"
            if not (math.isfinite(mass) and mass > 0):
                return None, description + ", not > 0"
            return mass, description
        weight = dict((n.upper(), v) for n, v in self.info_entries()).get("WEIGHT")
        if weight is None:
            cells = self.header_value("WEIGHT")
            weight = next((c for c in cells if c), None) if cells else None
        if weight:
            return None, f"WEIGHT = {weight} (unit not stated; not used)"
        return None, None


def sample_mass_g(mass_mg, mass_g):
    """The caller's sample mass in g (at most one of ``mass_mg``, ``mass_g``), or None."""
    if mass_mg is not None and mass_g is not None:
        raise ValueError("give the sample mass once, in mg (--mass-mg) or in g (--mass-g)")
    if mass_mg is None and mass_g is None:
        return None
    value, name = (mass_mg, "mass_mg") if mass_mg is not None else (mass_g, "mass_g")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value) * (1e-3 if mass_mg is not None else 1.0)


def _choose_mass(qd, given_g, given_source, report):
    header_g, description = qd.header_mass()
    report.header_mass = description
    if given_g is not None:
        report.mass_g, report.mass_source = given_g, given_source
        if header_g is not None and abs(given_g - header_g) > MASS_WARNING_REL * header_g:
            report.warnings.append(f"{given_source} = {given_g * 1e3:g} mg differs from the header's "
                                   f"{header_g * 1e3:g} mg by {abs(given_g / header_g - 1) * 100:.3g} %; "
                                   f"using {given_source}")
        return given_g
    if header_g is None:
        said = f" (the header has {description})" if description else " (the header gives none)"
        raise DataError(f"{qd.source}: no sample mass{said}: give --mass-mg or --mass-g")
    report.mass_g, report.mass_source = header_g, "file header"
    return header_g


def _moment_order(qd, moment_columns):
    if moment_columns is None:
        order = [c for c in MOMENT_PREFERENCE if c in qd.columns]
        if not order:
            raise DataError(f"{qd.source}: line {qd.columns_line}: no moment column; expected one of "
                             + ", ".join(repr(c) for c in MOMENT_PREFERENCE))
        return order
    order = [moment_columns] if isinstance(moment_columns, str) else list(moment_columns)
    for name in order:
        if name not in qd.columns:
            raise DataError(f"{qd.source}: line {qd.columns_line}: no column {name!r} (moment column asked for)")
    return order


def _error_column(qd, moment):
    """The error column of a moment column: :data:`MOMENT_PREFERENCE`'s, else the instruments' naming
    pattern (``Long Moment [w/o ABS] (emu)`` -> ``Long Scan Std Dev [w/o ABS]``, ``X Moment (emu)`` ->
    ``X Moment Err (emu)``), or None."""
    candidates = [MOMENT_PREFERENCE.get(moment), moment.replace(" (emu)", "").replace("Moment", "Scan Std Dev"),
                  moment.replace("Moment", "Moment Err")]
    return next((c for c in candidates if c and c in qd.columns), None)


def _pick(qd, candidates, what):
    for name in candidates:
        if name in qd.columns:
            return name
    raise DataError(f"{qd.source}: line {qd.columns_line}: no {what} column; expected one of "
                     + ", ".join(repr(c) for c in candidates))


def _number(qd, lineno, column, text):
    try:
        return float(text)
    except ValueError:
        cut = " (the file is truncated)" if qd.truncated_last and qd.rows and lineno == qd.rows[-1][0] else ""
        raise DataError(f"{qd.source}: line {lineno}, column {column!r}: expected a number, got {text!r}{cut}") from None


def read_qd_file(path, mass_mg=None, mass_g=None, moment_columns=None, use_file_errors=True):
    """Read the points of a Quantum Design ``.dat`` file (module docstring), moments still in emu.

    Parameters
    ----------
    path : str or os.PathLike
    mass_mg, mass_g : float, optional
        The sample mass (at most one); default: the header's.
    moment_columns : str or sequence of str, optional
        The moment column, or several in order of preference (default :data:`MOMENT_PREFERENCE`).
    use_file_errors : bool, optional
        Read the moment's error column (default True).

    Returns
    -------
    T_K, H_Oe, moment_emu, sigma_emu : numpy.ndarray
        One entry per point read; ``sigma_emu`` NaN where the file gives no error.
    names : list of str
        ``row k (line n)`` of each point.
    report : ReadReport
        With the mass chosen (``report.mass_g``).

    Raises
    ------
    DataError
        One line naming the file (and line and column where it applies).
    ValueError
        A bad mass argument.
    """
    given = sample_mass_g(mass_mg, mass_g)
    qd = QDFile(path)
    report = ReadReport(qd.source, "quantum-design-dat", qd.instrument, qd.encoding, qd.delimiter)
    _choose_mass(qd, given, "--mass-mg" if mass_mg is not None else "--mass-g", report)
    col_T = _pick(qd, TEMPERATURE_COLUMNS, "temperature")
    col_H = _pick(qd, FIELD_COLUMNS, "field")
    order = _moment_order(qd, moment_columns)
    index = {name: k for k, name in enumerate(qd.columns)}
    moment_idx = [(name, index[name], index.get(_error_column(qd, name)) if use_file_errors else None)
                  for name in order]
    T, H, M, S, names = [], [], [], [], []
    ncol = len(qd.columns)
    for k, (lineno, cells) in enumerate(qd.rows):
        if len(cells) < ncol:
            if k == len(qd.rows) - 1 and qd.truncated_last:
                raise DataError(f"{qd.source}: line {lineno}: {len(cells)} cells, the column line has {ncol}: "
                                 "the file is truncated")
            cells = cells + [""] * (ncol - len(cells))
        report.n_rows += 1
        t_text, h_text = cells[index[col_T]].strip(), cells[index[col_H]].strip()
        chosen = next(((name, cells[i].strip(), j) for name, i, j in moment_idx if cells[i].strip()), None)
        if chosen is None or not t_text or not h_text:
            if chosen is None and not t_text and not h_text:
                report.skip("comment or status row (no temperature, field or moment)", lineno)
            elif chosen is None:
                report.skip("no moment value", lineno)
            else:
                report.skip("no temperature or field value", lineno)
            continue
        name, m_text, j = chosen
        T.append(_number(qd, lineno, col_T, t_text))
        H.append(_number(qd, lineno, col_H, h_text))
        M.append(_number(qd, lineno, name, m_text))
        err = cells[j].strip() if j is not None else ""
        sigma = abs(_number(qd, lineno, qd.columns[j], err)) if err else math.nan
        S.append(sigma if sigma > 0 else math.nan)
        report.moment_columns[name] = report.moment_columns.get(name, 0) + 1
        if sigma > 0:
            err_name = qd.columns[j]
            report.error_columns[err_name] = report.error_columns.get(err_name, 0) + 1
        names.append(f"row {len(names) + 1} (line {lineno})")
    if use_file_errors:
        for name, _, j in moment_idx:
            if j is None and name in report.moment_columns:
                report.warnings.append(f"no error column found for {name!r}: its points carry no file errors")
    if not T:
        reasons = "; ".join(f"{len(v)} {r}" for r, v in report.skipped.items()) or "no data rows"
        raise DataError(f"{qd.source}: no point with temperature, field and moment ({reasons})")
    arrays = (np.asarray(x, dtype=float) for x in (T, H, M, S))
    return (*arrays, names, report)
