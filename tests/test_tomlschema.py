"""The shared TOML machinery: parsed values, and one-line errors naming the source and the dotted key."""

import datetime
import math

import numpy as np
import pytest

from tunnelsim.config import ConfigError
from tunnelsim.fitting.parameters import ParameterFileError
from tunnelsim.tomlschema import SchemaError, Section, describe, parse_toml, read_text

SOURCE = "s.toml"


class CustomError(SchemaError):
    """Stands for a file format's own error class."""


def section(table, allowed=None, name="sec", **kwargs):
    return Section(SOURCE, name, table, tuple(table) if allowed is None else allowed, **kwargs)


def message_of(call):
    with pytest.raises(SchemaError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- describing and reading
@pytest.mark.parametrize(
    "value, expected",
    [pytest.param(True, "boolean true", id="bool"), pytest.param("x", "string 'x'", id="str"),
     pytest.param({"a": 1}, "a table", id="table"), pytest.param([1], "an array", id="array"),
     pytest.param(3, "3", id="int"), pytest.param(-1.5, "-1.5", id="float"),
     pytest.param(datetime.date(2020, 1, 2), "date datetime.date(2020, 1, 2)", id="date")],
)
def test_describe(value, expected):
    assert describe(value) == expected


def test_parse_toml_returns_the_document_and_names_the_bad_line():
    assert parse_toml('a = 1\n[b]\nc = "x"\n', SOURCE) == {"a": 1, "b": {"c": "x"}}
    with pytest.raises(CustomError) as info:
        parse_toml("a = 1\nb = \n", SOURCE, CustomError)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: invalid TOML: ") and "line 2" in message and "\n" not in message


def test_read_text_names_the_file_and_what_it_holds(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("title = 'ö'\n", encoding="utf-8")
    assert read_text(good, "config") == "title = 'ö'\n"
    missing = tmp_path / "none.toml"
    assert message_of(lambda: read_text(missing, "settings")).startswith(f"{missing}: cannot read settings: ")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"title = '\xff'")
    assert message_of(lambda: read_text(binary, "config")) == (
        f"{binary}: config is not UTF-8 text (byte 0xff on line 1); save it as UTF-8")
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbftitle = 'x'\n")
    assert read_text(bom, "config") == "title = 'x'\n"  # a UTF-8 byte-order mark is accepted
    utf16 = tmp_path / "u16.toml"
    utf16.write_bytes("title = 'x'\n".encode("utf-16"))
    assert message_of(lambda: read_text(utf16, "config")) == f"{utf16}: config is UTF-16 text; save it as UTF-8"
    nul = tmp_path / "nul.toml"
    nul.write_bytes(b"title\x00\x01\x02")
    assert "config is not a text file (it holds NUL bytes" in message_of(lambda: read_text(nul, "config"))


def test_file_formats_raise_their_own_subclasses():
    for error in (ConfigError, ParameterFileError):
        assert issubclass(error, SchemaError) and issubclass(error, ValueError)
    with pytest.raises(CustomError, match=r"^s\.toml: sec\.x: missing required key$"):
        section({}, (), error=CustomError).number("x")


# --------------------------------------------------------------------------- keys
def test_unknown_keys_and_sections_list_the_allowed_keys_sorted_or_as_given():
    assert message_of(lambda: section({"zz": 1}, ("b", "a"))) == (
        "s.toml: sec.zz: unknown key; expected one of a, b")
    assert message_of(lambda: section({"zz": {}}, ("b", "a"), sort_expected=False)) == (
        "s.toml: sec.zz: unknown section; expected one of b, a")
    assert message_of(lambda: section({"zz": 1}, ("a",), name="")) == "s.toml: zz: unknown key; expected one of a"


def test_missing_keys_and_defaults():
    sec = section({}, ("x",))
    assert not sec.has("x") and sec.raw("x", required=False) is None
    assert sec.number("x", required=False, default=2.5) == 2.5
    assert sec.string("x", required=False, default="d") == "d"
    assert sec.boolean("x", default=True) is True
    assert sec.integer("x", 0) is None and sec.table_of("x") is None and sec.integer_table("x", 1) is None
    assert message_of(lambda: sec.string("x")) == "s.toml: sec.x: missing required key"
    assert message_of(lambda: sec.integer("x", 0, required=True)) == "s.toml: sec.x: missing required key"


# --------------------------------------------------------------------------- typed getters
def test_values_of_the_typed_getters():
    sec = section({"s": "log", "n": 3, "f": 2.5, "inf": "inf", "b": False, "t": {"D": 4, "D0": 2}})
    assert sec.string("s", choices=("linear", "log")) == "log"
    n = sec.number("n")
    assert n == 3.0 and isinstance(n, float)
    assert sec.number("f", minimum=2.5, strict=False) == 2.5
    assert sec.number("inf", allow_inf=True) == math.inf
    assert sec.integer("n", 3) == 3
    assert sec.boolean("b") is False
    assert dict(sec.integer_table("t", 1)) == {"D": 4, "D0": 2}
    with pytest.raises(TypeError):
        sec.integer_table("t", 1)["D"] = 5  # read-only


@pytest.mark.parametrize(
    "value, kwargs, expected",
    [pytest.param(True, {}, "must be a number, got boolean true", id="bool"),
     pytest.param("1.0", {}, "must be a number, got string '1.0'", id="string"),
     pytest.param("x", {"allow_inf": True}, 'must be a number or "inf", got string \'x\'', id="string-inf"),
     pytest.param(math.nan, {}, "must be finite, got nan", id="nan"),
     pytest.param(math.inf, {}, "must be finite, got inf", id="inf"),
     pytest.param(-math.inf, {"allow_inf": True}, "must be finite, got -inf", id="minus-inf"),
     pytest.param(0.0, {"minimum": 0.0}, "must be > 0, got 0.0", id="strict"),
     pytest.param(-0.5, {"minimum": 0.0, "strict": False}, "must be >= 0, got -0.5", id="non-strict"),
     pytest.param([1.0], {}, "must be a number, got an array", id="array")],
)
def test_number_errors(value, kwargs, expected):
    assert message_of(lambda: section({"x": value}).number("x", **kwargs)) == f"s.toml: sec.x: {expected}"


@pytest.mark.parametrize(
    "call, expected",
    [pytest.param(lambda s: s.string("v", choices=("a", "b")), "sec.v: must be one of a, b, got 'c'", id="choice"),
     pytest.param(lambda s: s.string("n"), "sec.n: must be a string, got 1.5", id="string"),
     pytest.param(lambda s: s.check_string("l[0]", 3), "sec.l[0]: must be a string, got 3", id="string-item"),
     pytest.param(lambda s: s.integer("n", 0), "sec.n: must be an integer, got 1.5", id="float-integer"),
     pytest.param(lambda s: s.integer("b", 0), "sec.b: must be an integer, got boolean true", id="bool-integer"),
     pytest.param(lambda s: s.integer("i", 2), "sec.i: must be >= 2, got 1", id="small-integer"),
     pytest.param(lambda s: s.boolean("i"), "sec.i: must be a boolean (true or false), got 1", id="boolean"),
     pytest.param(lambda s: s.table_of("i"), "sec.i: must be a table, got 1", id="table"),
     pytest.param(lambda s: s.integer_table("t", 1), "sec.t.D: must be >= 1, got 0", id="integer-table"),
     pytest.param(lambda s: s.number_items("l", [1.0, "x"]), "sec.l[1]: must be a number, got string 'x'",
                  id="items"),
     pytest.param(lambda s: s.require_order("lo", 2.0, "hi", 1.0), "sec.lo: must be < hi = 1.0, got 2.0",
                  id="order")],
)
def test_getter_errors(call, expected):
    sec = section({"v": "c", "n": 1.5, "b": True, "i": 1, "t": {"D": 0}, "l": []})
    assert message_of(lambda: call(sec)) == f"s.toml: {expected}"


def test_number_items_are_floats_checked_each():
    sec = section({})
    assert sec.number_items("l", [1, 2.5, "inf"], minimum=0.0, allow_inf=True) == (1.0, 2.5, math.inf)
    assert message_of(lambda: sec.number_items("l", [1.0, 0.0], minimum=0.0)) == (
        "s.toml: sec.l[1]: must be > 0, got 0.0")


# --------------------------------------------------------------------------- sub-tables
def test_child_sections_carry_the_dotted_key_and_the_settings():
    top = Section(SOURCE, "", {"a": {"b": {"c": 1}}}, ("a",), CustomError, sort_expected=False)
    b = top.child("a", ("b",)).child("b", ("z", "c"))
    assert b.name == "a.b" and b.number("c") == 1.0
    typo = Section(SOURCE, "", {"a": {"b": {"x": 1}}}, ("a",), CustomError, sort_expected=False)
    with pytest.raises(CustomError, match=r"^s\.toml: a\.b\.x: unknown key; expected one of z, c$"):
        typo.child("a", ("b",)).child("b", ("z", "c"))
    assert top.child("missing", ("k",)).table == {}
    assert message_of(lambda: top.child("missing", ("k",), required=True)) == (
        "s.toml: missing: missing required section")


def test_child_that_is_not_a_table():
    top = Section(SOURCE, "", {"grid": 3, "sub": {"t": [1]}}, ("grid", "sub"))
    assert message_of(lambda: top.child("grid", ())) == "s.toml: grid: must be a table [grid], got 3"
    assert message_of(lambda: top.child("sub", ("t",)).child("t", ())) == "s.toml: sub.t: must be a table, got an array"


# --------------------------------------------------------------------------- axes
@pytest.mark.parametrize(
    "value, positive, expected",
    [pytest.param([1, 2.5, 4.0], True, (1.0, 2.5, 4.0), id="list"),
     pytest.param([0.0, 1.0], False, (0.0, 1.0), id="list-from-zero"),
     pytest.param({"start": 0.0, "stop": 1.0, "num": 3}, False, (0.0, 0.5, 1.0), id="linear"),
     pytest.param({"start": 1.0, "stop": 100.0, "num": 3, "scale": "log"}, True, (1.0, 10.0, 100.0), id="log")],
)
def test_axis_values(value, positive, expected):
    axis = section({"T": value}).axis("T", positive=positive)
    assert isinstance(axis, tuple)
    np.testing.assert_allclose(axis, expected, rtol=1e-15)


@pytest.mark.parametrize(
    "value, positive, expected",
    [pytest.param([], True, "sec.T: must not be empty", id="empty"),
     pytest.param([0.0, 1.0], True, "sec.T[0]: must be > 0, got 0.0", id="zero-temperature"),
     pytest.param([-1.0], False, "sec.T[0]: must be >= 0, got -1.0", id="negative-field"),
     pytest.param([2.0, 1.0], True, "sec.T: must be strictly increasing, got [2.0, 1.0]", id="decreasing"),
     pytest.param(3.0, True, "sec.T: must be an array of numbers or a table {start, stop, num, scale}, got 3.0",
                  id="scalar"),
     pytest.param({"start": 1.0, "stop": 2.0, "num": 3, "step": 1}, True,
                  "sec.T.step: unknown key; expected one of num, scale, start, stop", id="unknown-key"),
     pytest.param({"stop": 2.0, "num": 3}, True, "sec.T.start: missing required key", id="no-start"),
     pytest.param({"start": 1.0, "stop": 2.0, "num": 1}, True, "sec.T.num: must be >= 2, got 1", id="num"),
     pytest.param({"start": 3.0, "stop": 2.0, "num": 3}, True, "sec.T.start: must be < stop = 2.0, got 3.0",
                  id="start-above-stop"),
     pytest.param({"start": 1.0, "stop": 2.0, "num": 3, "scale": "cubic"}, True,
                  "sec.T.scale: must be one of linear, log, got 'cubic'", id="scale"),
     pytest.param({"start": 0.0, "stop": 2.0, "num": 3, "scale": "log"}, False,
                  "sec.T.start: must be > 0 for scale = 'log', got 0.0", id="log-from-zero")],
)
def test_axis_errors(value, positive, expected):
    assert message_of(lambda: section({"T": value}).axis("T", positive=positive)) == f"s.toml: {expected}"
