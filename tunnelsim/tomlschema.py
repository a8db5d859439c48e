"""Reading TOML input files key by key, with one-line errors naming the file and the key.

Simulation configs (:mod:`tunnelsim.config`), parameter files (:mod:`tunnelsim.fitting.synth`) and
validation settings (:mod:`tunnelsim.validation`) are TOML documents checked the same way:
:func:`read_text` and :func:`parse_toml` turn a file into nested dicts, and a :class:`Section`
wraps one table of it. A section rejects unknown keys on construction, its typed getters check
one value each (booleans are not numbers, numbers are finite unless ``inf`` is allowed), and
every failure is one line naming the source, the dotted key and what was expected::

    quickstart.toml: distribution.D_min_K: must be > 0, got -1.0

Each file format raises its own subclass of :class:`SchemaError`, given as ``error``.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .textfile import decode_text

__all__ = ["AXIS_SCALES", "SchemaError", "Section", "describe", "parse_toml", "read_text"]

#: Spacings of an axis given as ``{start, stop, num, scale}``.
AXIS_SCALES = ("linear", "log")
_AXIS_KEYS = ("start", "stop", "num", "scale")
_INF_WORDS = ("inf", "+inf", "infinity")


class SchemaError(ValueError):
    """An input file is invalid; the message is one line naming the file and the key."""


def describe(value):
    """A TOML-flavoured description of a value for error messages.

    Parameters
    ----------
    value : object
        A value as :mod:`tomllib` returns it.

    Returns
    -------
    str
        ``boolean true``, ``string 'x'``, ``a table``, ``an array``, the repr of a number, or
        the type name and repr of anything else (TOML dates and times).
    """
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, (int, float)):
        return repr(value)
    return f"{type(value).__name__} {value!r}"


def read_text(path, what, error=SchemaError):
    """The text of an input file: UTF-8, a byte-order mark allowed (:func:`tunnelsim.textfile.decode_text`).

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file holds, for the messages (``"config"``, ``"settings"``).
    error : type
        The :class:`SchemaError` subclass to raise.

    Returns
    -------
    str

    Raises
    ------
    SchemaError
        ``error``, if the file cannot be read or is not UTF-8 text (UTF-16, binary, Latin-1).
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{source}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return decode_text(data, source, what)[0]
    except ValueError as exc:
        raise error(str(exc)) from None


def parse_toml(text, source, error=SchemaError):
    """Parse a TOML document; a syntax error becomes one line naming the source and the line.

    Parameters
    ----------
    text : str
    source : str
        Name used in the message.
    error : type
        The :class:`SchemaError` subclass to raise.

    Returns
    -------
    dict
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: invalid TOML: {exc}") from None


class Section:
    """One TOML table being validated: typed getters that raise one-line errors.

    Parameters
    ----------
    source : str
        File name (or a description such as ``"<string>"``) that starts every message.
    name : str
        Dotted key of the table (``""`` for the document itself).
    table : dict
        The table as parsed.
    allowed : collection of str
        Keys the table may hold; any other is an ``unknown key`` (``unknown section`` for a
        table value) error listing them.
    error : type
        The :class:`SchemaError` subclass to raise.
    sort_expected : bool
        List the allowed keys sorted (default) or in the order given; sections made from
        this one inherit the choice.

    Getters take keys relative to the section; messages carry the dotted key. A getter with
    ``required=False`` returns its ``default`` for a missing key.
    """

    def __init__(self, source, name, table, allowed, error=SchemaError, sort_expected=True):
        self.source = source
        self.name = name
        self.table = table
        self.error = error
        self.sort_expected = sort_expected
        expected = ", ".join(sorted(allowed) if sort_expected else allowed)
        for key, value in table.items():
            if key not in allowed:
                what = "section" if isinstance(value, dict) else "key"
                self.fail(key, f"unknown {what}; expected one of {expected}")

    def key(self, key):
        """The dotted key of ``key`` in this section."""
        return f"{self.name}.{key}" if self.name else key

    def fail(self, key, message):
        """Raise ``error`` with ``"<source>: <dotted key>: <message>"``."""
        raise self.error(f"{self.source}: {self.key(key)}: {message}")

    def has(self, key):
        """Whether the table holds ``key``."""
        return key in self.table

    def raw(self, key, required):
        """The value as parsed, or None when missing (an error if ``required``)."""
        if key not in self.table:
            if required:
                self.fail(key, "missing required key")
            return None
        return self.table[key]

    def child(self, key, allowed, required=False):
        """The sub-table ``key`` as a :class:`Section` (an empty one when missing and not required)."""
        value = self.raw(key, required=False)
        if value is None:
            if required:
                self.fail(key, "missing required section")
            value = {}
        if not isinstance(value, dict):
            table = f" [{key}]" if not self.name else ""
            self.fail(key, f"must be a table{table}, got {describe(value)}")
        return Section(self.source, self.key(key), value, allowed, self.error, self.sort_expected)

    def string(self, key, choices=None, required=True, default=None):
        """A string (see :meth:`check_string`)."""
        value = self.raw(key, required)
        if value is None:
            return default
        return self.check_string(key, value, choices)

    def number(self, key, required=True, default=None, minimum=None, strict=True, allow_inf=False):
        """A number as float (see :meth:`check_number`)."""
        value = self.raw(key, required)
        if value is None:
            return default
        return self.check_number(key, value, minimum, strict, allow_inf)

    def integer(self, key, minimum, required=False):
        """An integer >= ``minimum``, or None when missing and not required."""
        value = self.raw(key, required)
        if value is None:
            return None
        return self.check_integer(key, value, minimum)

    def boolean(self, key, required=False, default=None):
        """A boolean (``true`` or ``false``; numbers are not booleans)."""
        value = self.raw(key, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"must be a boolean (true or false), got {describe(value)}")
        return value

    def table_of(self, key, required=False):
        """A table with any keys, as a dict, or None when missing and not required."""
        value = self.raw(key, required)
        if value is not None and not isinstance(value, dict):
            self.fail(key, f"must be a table, got {describe(value)}")
        return value

    def integer_table(self, key, minimum):
        """A table of integers >= ``minimum`` (such as node counts per axis), read-only, or None."""
        table = self.table_of(key)
        if table is None:
            return None
        return MappingProxyType({name: self.check_integer(f"{key}.{name}", n, minimum) for name, n in table.items()})

    def check_string(self, key, value, choices=None):
        """``value`` (found at ``key``) as a string, one of ``choices`` when given."""
        if not isinstance(value, str):
            self.fail(key, f"must be a string, got {describe(value)}")
        if choices is not None and value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def check_number(self, key, value, minimum=None, strict=True, allow_inf=False):
        """``value`` (found at ``key``) as a finite float, ``> minimum`` (``>=`` unless ``strict``).

        With ``allow_inf`` positive infinity, also spelled as the string ``"inf"``, is accepted.
        """
        if allow_inf and isinstance(value, str) and value.strip().lower() in _INF_WORDS:
            value = math.inf
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            expected = 'a number or "inf"' if allow_inf else "a number"
            self.fail(key, f"must be {expected}, got {describe(value)}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
            self.fail(key, f"must be finite, got {value!r}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(key, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
        return value

    def check_integer(self, key, value, minimum):
        """``value`` (found at ``key``) as an integer >= ``minimum`` (booleans and floats rejected)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"must be an integer, got {describe(value)}")
        if value < minimum:
            self.fail(key, f"must be >= {minimum}, got {value!r}")
        return value

    def number_items(self, key, values, minimum=None, strict=True, allow_inf=False):
        """The entries of the array ``values`` (found at ``key``) as a tuple of floats, each checked as
        ``key[i]`` by :meth:`check_number`."""
        return tuple(self.check_number(f"{key}[{i}]", x, minimum, strict, allow_inf) for i, x in enumerate(values))

    def require_order(self, low_key, low, high_key, high):
        """Fail at ``low_key`` unless ``low < high``."""
        if not low < high:
            self.fail(low_key, f"must be < {high_key} = {high!r}, got {low!r}")

    def axis(self, key, positive):
        """A grid axis: an array of numbers or a table ``{start, stop, num, scale}``.

        Parameters
        ----------
        key : str
        positive : bool
            Values must be > 0 (temperatures) rather than >= 0 (fields).

        Returns
        -------
        tuple of float
            Strictly increasing; a table gives ``num`` points from ``start`` to ``stop``, evenly
            spaced (``scale = "linear"``, the default) or geometrically (``"log"``).
        """
        value = self.raw(key, required=False)
        bound = {"minimum": 0.0, "strict": positive}
        if isinstance(value, list):
            if not value:
                self.fail(key, "must not be empty")
            axis = self.number_items(key, value, **bound)
            if any(b <= a for a, b in zip(axis, axis[1:])):
                self.fail(key, f"must be strictly increasing, got {list(axis)}")
            return axis
        if not isinstance(value, dict):
            self.fail(key, f"must be an array of numbers or a table {{start, stop, num, scale}}, got {describe(value)}")
        sub = self.child(key, _AXIS_KEYS)
        start = sub.number("start", **bound)
        stop = sub.number("stop", **bound)
        num = sub.integer("num", 2, required=True)
        scale = sub.string("scale", AXIS_SCALES, required=False, default="linear")
        sub.require_order("start", start, "stop", stop)
        if scale == "log":
            if start <= 0:
                sub.fail("start", f"must be > 0 for scale = 'log', got {start!r}")
            return tuple(float(x) for x in np.geomspace(start, stop, num))
        return tuple(float(x) for x in np.linspace(start, stop, num))
