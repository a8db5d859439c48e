"""Validation settings from TOML (``tunnelsim validate --config FILE``): changes to a preset.

The file has an optional ``title`` and the sections ``[material]``, ``[gap_fit]``,
``[eq10_effective]``, ``[eq10_exact]``, ``[weak_field]``, ``[high_field]``, ``[four_well]``
and ``[output]``; ``simulations/validation_full.toml`` documents every key. Errors are one
:class:`~tunnelsim.config.ConfigError` line naming the file and the dotted key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config import ConfigError
from ..tomlschema import Section, parse_toml, read_text
from .settings import full_settings

__all__ = ["load_settings"]


def _float_list(sec, key, minimum=0.0, allow_inf=False):
    value = sec.raw(key, required=False)
    if not isinstance(value, list) or not value:
        sec.fail(key, f"must be a non-empty array of numbers, got {value!r}")
    return sec.number_items(key, value, minimum=minimum, allow_inf=allow_inf)


def _fraction(sec, key):
    value = sec.number(key, minimum=0.0)
    if value >= 1.0:
        sec.fail(key, f"must be < 1, got {value!r}")
    return value


def _positive(sec, key):
    return sec.number(key, minimum=0.0)


def _axis_key(positive):
    return lambda sec, key: sec.axis(key, positive=positive)


def _integer_key(minimum):
    return lambda sec, key: sec.integer(key, minimum)


def _boolean(sec, key):
    return sec.boolean(key)


def _path(sec, key):
    return Path(sec.string(key))


#: TOML schema: section -> {key: parser(section, key)}; every key is optional (defaults: the base settings).
_SCHEMA = {
    "material": {
        "density_per_g": _positive,
        "P_star": _positive,
        "D_min_K": _positive,
        "D0QS_min_K_A2": _positive,
        "D0QS_max_K_A2": _positive,
        "charge_area_A2": _positive,
        "D_max_K": lambda s, k: s.number(k, minimum=0.0, allow_inf=True),
    },
    "gap_fit": {
        "box_sizes": _float_list,
        "points_per_axis": _integer_key(2),
        "alpha_nodes": _integer_key(1),
        "extrapolation_degree": _integer_key(0),
        "map_ratio_max": _positive,
        "map_phase_max": _positive,
        "map_points": _integer_key(3),
        "tolerance": _positive,
    },
    "eq10_effective": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "orientations": _float_list,
        "tolerance": _positive,
    },
    "eq10_exact": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "D_max_over_D0_min": lambda s, k: _float_list(s, k, minimum=1.0, allow_inf=True),
        "tolerances": _float_list,
        "orientation_nodes": _integer_key(1),
        "error_estimate": _boolean,
    },
    "weak_field": {
        "temperature_K": _axis_key(True),
        "eq13_temperature_K": _axis_key(True),
        "error_estimate": _boolean,
    },
    "high_field": {
        "temperature_K": _positive,
        "charge_area_A2": _float_list,
        "field_T": _axis_key(False),
        "reference_field_T": _positive,
        "departure": _fraction,
        "orientation_nodes": _integer_key(1),
        "orientation_check": _boolean,
    },
    "four_well": {
        "temperature_K": _axis_key(True),
        "field_T": _axis_key(True),
        "D_max_K": _positive,
        "sphere_degree": _integer_key(1),
        "nodes": lambda s, k: s.integer_table(k, 1),
        "error_estimate": _boolean,
    },
    "output": {
        "path": _path,
        "plots_dir": _path,
    },
}


def load_settings(path, base=None):
    """Read validation settings from TOML; keys left out keep the values of ``base``.

    The file has an optional ``title`` and the sections ``[material]``, ``[gap_fit]``,
    ``[eq10_effective]``, ``[eq10_exact]``, ``[weak_field]``, ``[high_field]``,
    ``[four_well]`` and ``[output]`` (``path``, ``plots_dir``); their keys are the attributes of
    :class:`~tunnelsim.validation.Material`, :class:`~tunnelsim.validation.GapFitSettings`, ...
    (``simulations/validation_full.toml`` documents each). Temperature and field axes are lists
    or ``{start, stop, num, scale}`` tables; ``inf`` is allowed where stated. Unknown sections
    or keys are errors.

    Parameters
    ----------
    path : str or os.PathLike
    base : ValidationSettings, optional
        Default :func:`~tunnelsim.validation.full_settings`.

    Returns
    -------
    ValidationSettings

    Raises
    ------
    ConfigError
        One line naming the file and the key.
    """
    base = full_settings() if base is None else base
    source = str(path)
    text = read_text(path, "settings", ConfigError)
    top = Section(source, "", parse_toml(text, source, ConfigError), ("title",) + tuple(_SCHEMA), ConfigError)
    changes = {"source": source, "text": text}
    if top.has("title"):
        changes["title"] = top.string("title")
    for name, schema in _SCHEMA.items():
        if not top.has(name):
            continue
        sec = top.child(name, tuple(schema))
        values = {key: parser(sec, key) for key, parser in schema.items() if sec.has(key)}
        if name == "output":
            changes.update({"output_path" if k == "path" else k: v for k, v in values.items()})
            continue
        try:
            changes[name] = dataclasses.replace(getattr(base, name), **values)
        except ValueError as exc:
            raise ConfigError(f"{source}: {name}: {exc}") from None
    return dataclasses.replace(base, **changes)
