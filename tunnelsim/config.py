"""Simulation configs: the TOML schema, its validation and a typed, frozen result.

A config describes one run: the tunnelling-system model, its parameter distribution
(Eq. 8 for the ATS), the optional Eq. 15 temperature dependence, how averages are taken,
the (temperature, field) grid and what to write. :func:`load_config` reads a file and
:func:`parse_config` a string; both return a :class:`SimulationConfig` or raise
:class:`ConfigError` with one line naming the file, the dotted key and what was expected::

    quickstart.toml: distribution.D_min_K: must be > 0, got -1.0

Every key is checked: unknown sections and keys are errors (so typos are caught), booleans
are not numbers, numbers must be finite (``D_max_K`` alone may be infinite), temperatures
are > 0 and fields >= 0. Fields given in oersted (``field_Oe``) are converted to tesla.

Values the computation cannot represent are refused here, naming the key: ``charge_area_A2``
outside :data:`CHARGE_AREA_RANGE_A2` (the phases ``~ (Q/e) S B`` and the cutoffs
``D0QS / charge_area_A2`` enter squared and cubed), ``delta_mu_K`` above
:data:`DELTA_MU_MAX_K` and ``T0_K`` outside :data:`T0_RANGE_K`; whether Eq. 15 is representable
over the grid is checked when the run starts (:mod:`tunnelsim.runner`). A grid axis given as
``{start, stop, num}`` whose points alone would not fit in half the available memory is
refused before it is built (``grid.temperature_K.num``).

The optional ``[dielectric]`` section (:class:`DielectricConfig`, parsed in
:mod:`tunnelsim.config_dielectric`) sets the measurement and the material of the dielectric
observables (:data:`tunnelsim.dielectric.ensemble.OBSERVABLES`, asked for in ``[output]
observables``), with an optional STM background ``[dielectric.stm]``
(:class:`DielectricSTMConfig`); its defaults are those of a multicomponent glass like BK7 or BAS
(:data:`DIELECTRIC_DEFAULTS`).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from . import hamiltonians, units
from .ensemble import AVERAGING_METHODS, ERROR_ESTIMATES
from .etm.analytic import ANALYTIC_NAMES
from .systems import SYSTEM_KINDS
from .config_dielectric import (DIELECTRIC_ANALYTIC_OUTPUTS, DIELECTRIC_DEFAULTS, DielectricConfig, DielectricSTMConfig,
                                parse_dielectric)
from .tomlschema import SchemaError, Section, describe, parse_toml, read_text

__all__ = [
    "ANALYTIC_OUTPUTS",
    "CHARGE_AREA_RANGE_A2",
    "DELTA_MU_MAX_K",
    "DIELECTRIC_ANALYTIC_OUTPUTS",
    "DIELECTRIC_DEFAULTS",
    "T0_RANGE_K",
    "AveragingConfig",
    "ConfigError",
    "DielectricConfig",
    "DielectricSTMConfig",
    "DistributionConfig",
    "GridConfig",
    "OutputConfig",
    "SimulationConfig",
    "SystemConfig",
    "TemperatureDependenceConfig",
    "load_config",
    "parse_config",
]

#: Analytic ETM magnetisations a run can add next to the exact ensemble result.
ANALYTIC_OUTPUTS = ANALYTIC_NAMES

#: Accepted ``(Q/e) S_Delta`` in square angstrom (physical values are 1 to 1e6).
CHARGE_AREA_RANGE_A2 = (1e-10, 1e10)
#: Largest accepted ``delta_mu_K`` of Eq. 15.
DELTA_MU_MAX_K = 1e30
#: Accepted reference temperatures ``T0_K`` of Eq. 15/16.
T0_RANGE_K = (1e-30, 1e30)
#: Memory one grid point takes while the axis is built and held (float objects and arrays).
_GRID_POINT_BYTES = 64

_SECTIONS = ("system", "distribution", "temperature_dependence", "averaging", "grid", "output", "dielectric")

#: distribution kind -> the system kind it describes
_DISTRIBUTION_SYSTEM = {
    "stm": "two_level",
    "standard": "three_level",
    "ats": "three_level",
    "four_well_ats": "four_well",
}


class ConfigError(SchemaError):
    """A simulation config is invalid; the message is one line naming file and key."""


@dataclass(frozen=True)
class SystemConfig:
    """``[system]``: the tunnelling-system model (see :func:`tunnelsim.systems.make_system`).

    Attributes
    ----------
    kind : str
        ``two_level``, ``three_level`` or ``four_well``.
    charge_area_A2 : float or None
        ``(Q/e) S_Delta`` in square angstrom (three_level, four_well).
    vertices : tuple of tuple of float or None
        Four-well geometry, shape (4, 3), in units where one default face has area 1.
    solver : str
        Spectrum solver of the three-level and four-well systems: ``fast`` (compiled kernels:
        the closed form of Eq. 6, the SIMD Jacobi solver; default) or ``eigh`` (reference).
    """

    kind: str
    charge_area_A2: float | None = None
    vertices: tuple | None = None
    solver: str = "fast"


@dataclass(frozen=True)
class DistributionConfig:
    """``[distribution]``: the parameter distribution and the density of systems.

    Attributes
    ----------
    kind : str
        ``stm``, ``standard``, ``ats`` or ``four_well_ats``.
    density_per_g : float
        Number of tunnelling systems per gram, > 0.
    parameters : mapping of str to float
        The keyword arguments of the distribution's constructor in
        :mod:`tunnelsim.distributions`, cutoffs in K (``D0QS`` products already divided by
        ``charge_area_A2``); optional amplitudes appear only when given.
    """

    kind: str
    density_per_g: float
    parameters: MappingProxyType


@dataclass(frozen=True)
class TemperatureDependenceConfig:
    """``[temperature_dependence]``: Eq. 15, ``N_tunn(T) = N0 exp(-delta_mu / k_B T)`` (``delta_mu_K``),
    or Eq. 16, ``N_tunn(T) = N0 (1 - Gamma exp(E0 / k_B T))`` (``gamma`` and ``E0_K``).

    Attributes
    ----------
    delta_mu_K : float or None
        ``Delta mu`` in K, >= 0 (Eq. 15).
    T0_K : float or None
        Reference temperature of the distribution's parameters; None keeps the library default.
    gamma, E0_K : float or None
        Eq. 16's ``Gamma`` and ``E0`` (K).
    """

    delta_mu_K: float | None
    T0_K: float | None = None
    gamma: float | None = None
    E0_K: float | None = None


@dataclass(frozen=True)
class AveragingConfig:
    """``[averaging]``: options of :class:`tunnelsim.ensemble.AveragingSettings`.

    Every attribute is None when the config leaves it out, so the library default applies.
    """

    method: str | None = None
    level: int | None = None
    nodes: MappingProxyType | None = None
    orientation_nodes: int | None = None
    sphere_degree: int | None = None
    samples: int | None = None
    seed: int | None = None
    error_estimate: bool | str | None = None

    def settings_kwargs(self):
        """The keyword arguments given, as a dict for ``AveragingSettings(**kwargs)``."""
        kwargs = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = dict(value) if name == "nodes" else value
        return kwargs


@dataclass(frozen=True)
class GridConfig:
    """``[grid]``: the temperatures and fields of the run.

    Attributes
    ----------
    temperature_K : tuple of float
        Temperatures in K, strictly increasing, > 0.
    field_T : tuple of float
        Fields ``B = mu0 H`` in tesla, strictly increasing, >= 0.
    field_input_unit : str
        ``"T"`` or ``"Oe"``: how the config gave the fields.
    """

    temperature_K: tuple
    field_T: tuple
    field_input_unit: str = "T"


@dataclass(frozen=True)
class OutputConfig:
    """``[output]``: what a run computes and where the result set goes.

    Attributes
    ----------
    observables : tuple of str
        Names from :data:`tunnelsim.ensemble.OBSERVABLES` (magnetic and thermal) and
        :data:`tunnelsim.dielectric.ensemble.OBSERVABLES` and
        :data:`tunnelsim.dielectric.echo_map.ECHO_OBSERVABLES` (dielectric).
    analytic : tuple of str
        Names from :data:`ANALYTIC_OUTPUTS`, written as ``magnetization_<name>`` when a magnetic or
        thermal observable is asked for; those of :data:`DIELECTRIC_ANALYTIC_OUTPUTS` also as
        ``<dielectric observable>_<name>``.
    path : pathlib.Path
        Result-set path, relative paths taken from the working directory at run time.
    plot : bool
        Whether to write a quick-look PNG next to the result set.
    """

    observables: tuple
    analytic: tuple
    path: Path
    plot: bool = True


@dataclass(frozen=True)
class SimulationConfig:
    """A validated simulation config.

    Attributes
    ----------
    title : str
    system : SystemConfig
    distribution : DistributionConfig
    temperature_dependence : TemperatureDependenceConfig or None
    averaging : AveragingConfig
    grid : GridConfig
    output : OutputConfig
    text : str
        The TOML text as read.
    sha256 : str
        Hex SHA-256 of ``text`` encoded as UTF-8.
    source : str
        Where the text came from (a file path or ``"<string>"``).
    dielectric : DielectricConfig or None
        ``[dielectric]``; the defaults when the section is missing and a dielectric observable is
        asked for, None when none is.
    """

    title: str
    system: SystemConfig
    distribution: DistributionConfig
    temperature_dependence: TemperatureDependenceConfig | None
    averaging: AveragingConfig
    grid: GridConfig
    output: OutputConfig
    text: str
    sha256: str
    source: str
    dielectric: DielectricConfig | None = None


def _parse_system(source, table):
    sec = Section(source, "system", table, ("kind", "charge_area_A2", "vertices", "solver"), ConfigError)
    kind = sec.string("kind", SYSTEM_KINDS)
    solver = sec.string("solver", ("fast", "eigh"), required=False, default="fast")
    if sec.has("solver") and kind == "two_level":
        sec.fail("solver", "not used by system kind 'two_level' (it always uses eigh)")
    if kind == "two_level":
        for key in ("charge_area_A2", "vertices"):
            if sec.has(key):
                sec.fail(key, "not used by system kind 'two_level' (no field coupling)")
        return SystemConfig(kind)
    charge_area_A2 = _in_range(sec, "charge_area_A2", sec.number("charge_area_A2", minimum=0.0),
                               CHARGE_AREA_RANGE_A2, "A^2")
    vertices = None
    if sec.has("vertices"):
        if kind != "four_well":
            sec.fail("vertices", f"only used by system kind 'four_well', not {kind!r}")
        vertices = _parse_vertices(sec, table["vertices"])
    return SystemConfig(kind, charge_area_A2, vertices, solver)


def _in_range(sec, key, value, bounds, unit):
    """``value`` if within ``bounds`` (inclusive), else a one-line error naming ``key``."""
    low, high = bounds
    if value is not None and not low <= value <= high:
        sec.fail(key, f"must be between {low:g} and {high:g} {unit} (values beyond cannot be represented in the "
                      f"computation), got {value!r}")
    return value


def _parse_vertices(sec, value):
    shape_msg = "must be 4 points of 3 numbers each, e.g. [[x, y, z], ...]"
    if not isinstance(value, list) or len(value) != 4:
        sec.fail("vertices", f"{shape_msg}, got {describe(value)}")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 3:
            sec.fail(f"vertices[{i}]", f"{shape_msg}, got {describe(row)}")
        rows.append(tuple(sec.check_number(f"vertices[{i}][{j}]", x) for j, x in enumerate(row)))
    try:
        hamiltonians.tetrahedron_faces(rows)
    except ValueError as exc:
        sec.fail("vertices", str(exc))
    return tuple(rows)


#: distribution kinds with amplitude P_bar: the asymmetry cutoff, then the tunnelling cutoffs (low, high)
_BOX_CUTOFF_KEYS = {
    "stm": ("delta_max_K", "delta0_min_K", "delta0_max_K"),
    "standard": ("D_max_K", "D0_min_K", "D0_max_K"),
}
_DIST_KEYS = {
    "stm": _BOX_CUTOFF_KEYS["stm"] + ("P_bar",),
    "standard": _BOX_CUTOFF_KEYS["standard"] + ("P_bar",),
    "ats": ("D_min_K", "D_max_K", "D0_min_K", "D0_max_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "P_star"),
}
_DIST_KEYS["four_well_ats"] = _DIST_KEYS["ats"]


def _parse_distribution(source, table, system):
    # the kind decides which keys are allowed, so it is checked first
    head = Section(source, "distribution", table, table, ConfigError)
    kind = head.string("kind", tuple(_DISTRIBUTION_SYSTEM))
    if _DISTRIBUTION_SYSTEM[kind] != system.kind:
        head.fail("kind", f"{kind!r} needs system.kind = {_DISTRIBUTION_SYSTEM[kind]!r}, got {system.kind!r}")
    sec = Section(source, "distribution", table, ("kind", "density_per_g") + _DIST_KEYS[kind], ConfigError)
    density = sec.number("density_per_g", minimum=0.0)
    if kind in _BOX_CUTOFF_KEYS:
        width, low, high = _BOX_CUTOFF_KEYS[kind]
        p = {key: sec.number(key, minimum=0.0) for key in (width, low, high)}
        sec.require_order(low, p[low], high, p[high])
        amplitude = "P_bar"
    else:
        p = {"D_min_K": sec.number("D_min_K", minimum=0.0)}
        p["D_max_K"] = sec.number("D_max_K", required=False, default=math.inf, minimum=0.0, allow_inf=True)
        sec.require_order("D_min_K", p["D_min_K"], "D_max_K", p["D_max_K"])
        p.update(_tunnelling_cutoffs(sec, system))
        amplitude = "P_star"
    value = sec.number(amplitude, required=False, minimum=0.0)
    if value is not None:
        p[amplitude] = value
    return DistributionConfig(kind, density, MappingProxyType(p))


def _tunnelling_cutoffs(sec, system):
    """``D0_min_K``/``D0_max_K``, given directly or as the seed's products with ``(Q/e) S``."""
    direct = [k for k in ("D0_min_K", "D0_max_K") if sec.has(k)]
    products = [k for k in ("D0QS_min_K_A2", "D0QS_max_K_A2") if sec.has(k)]
    if direct and products:
        sec.fail(products[0], "give either D0_min_K/D0_max_K or D0QS_min_K_A2/D0QS_max_K_A2, "
                              f"not both ({direct[0]} is set)")
    if products:
        low = sec.number("D0QS_min_K_A2", minimum=0.0)
        high = sec.number("D0QS_max_K_A2", minimum=0.0)
        sec.require_order("D0QS_min_K_A2", low, "D0QS_max_K_A2", high)
        return {"D0_min_K": low / system.charge_area_A2, "D0_max_K": high / system.charge_area_A2}
    if not direct:
        sec.fail("D0_min_K", "missing required key (or give D0QS_min_K_A2 and D0QS_max_K_A2)")
    low = sec.number("D0_min_K", minimum=0.0)
    high = sec.number("D0_max_K", minimum=0.0)
    sec.require_order("D0_min_K", low, "D0_max_K", high)
    return {"D0_min_K": low, "D0_max_K": high}


def _parse_temperature_dependence(source, table, system):
    sec = Section(source, "temperature_dependence", table, ("delta_mu_K", "gamma", "E0_K", "T0_K"), ConfigError)
    if system.kind == "two_level":
        raise ConfigError(
            f"{source}: temperature_dependence: Eq. 15 applies to ATS ensembles, not to two_level systems"
        )
    eq16 = "gamma" in table or "E0_K" in table
    if eq16 and "delta_mu_K" in table:
        raise ConfigError(f"{source}: temperature_dependence: give delta_mu_K (Eq. 15) or gamma and E0_K (Eq. 16), "
                          "not both")
    T0_K = _in_range(sec, "T0_K", sec.number("T0_K", required=False, minimum=0.0), T0_RANGE_K, "K")
    if eq16:
        return TemperatureDependenceConfig(
            delta_mu_K=None,
            T0_K=T0_K,
            gamma=sec.number("gamma"),
            E0_K=sec.number("E0_K"),
        )
    return TemperatureDependenceConfig(
        delta_mu_K=_in_range(sec, "delta_mu_K", sec.number("delta_mu_K", minimum=0.0, strict=False),
                             (0.0, DELTA_MU_MAX_K), "K"),
        T0_K=T0_K,
    )


def _parse_averaging(source, table, system):
    keys = ("method", "level", "nodes", "orientation_nodes", "sphere_degree", "samples", "seed", "error_estimate")
    sec = Section(source, "averaging", table, keys, ConfigError)
    nodes = sec.integer_table("nodes", 1)
    for key, kind in (("orientation_nodes", "three_level"), ("sphere_degree", "four_well")):
        if sec.has(key) and system.kind != kind:
            sec.fail(key, f"only used by system kind {kind!r}, not {system.kind!r}")
    return AveragingConfig(
        method=sec.string("method", AVERAGING_METHODS, required=False),
        level=sec.integer("level", 0),
        nodes=nodes,
        orientation_nodes=sec.integer("orientation_nodes", 1),
        sphere_degree=sec.integer("sphere_degree", 1),
        samples=sec.integer("samples", 2),
        seed=sec.integer("seed", 0),
        error_estimate=_error_estimate(sec),
    )


def _error_estimate(sec):
    """``error_estimate``: a boolean, or ``"embedded"`` / ``"doubling"``."""
    if sec.has("error_estimate") and isinstance(sec.raw("error_estimate", False), str):
        return sec.string("error_estimate", ERROR_ESTIMATES)
    return sec.boolean("error_estimate")


def _parse_grid(source, table):
    sec = Section(source, "grid", table, ("temperature_K", "field_T", "field_Oe"), ConfigError)
    for key in ("temperature_K", "field_T", "field_Oe"):
        _check_axis_size(source, key, table.get(key))
    if not sec.has("temperature_K"):
        sec.fail("temperature_K", "missing required key")
    temperature_K = sec.axis("temperature_K", positive=True)
    given = [k for k in ("field_T", "field_Oe") if sec.has(k)]
    if len(given) != 1:
        key = given[1] if given else "field_T"
        sec.fail(key, "give exactly one of field_T or field_Oe")
    field = sec.axis(given[0], positive=False)
    if given[0] == "field_Oe":
        return GridConfig(temperature_K, tuple(float(b) for b in units.oe_to_tesla(field)), "Oe")
    return GridConfig(temperature_K, field, "T")


def _check_axis_size(source, key, value):
    """Refuse ``{start, stop, num}`` whose points alone would not fit in memory, before building them."""
    if not isinstance(value, dict):
        return
    num = value.get("num")
    if isinstance(num, bool) or not isinstance(num, int):
        return  # the axis parser reports it
    from .resources import MEMORY_FRACTION, available_memory_bytes, format_bytes

    available = available_memory_bytes()
    need = num * _GRID_POINT_BYTES
    if available is not None and need > MEMORY_FRACTION * available:
        raise ConfigError(f"{source}: grid.{key}.num: {num} points need an estimated {format_bytes(need)} of memory "
                          f"for the axis alone, more than {MEMORY_FRACTION:g} of the {format_bytes(available)} "
                          f"available")


def _string_list(sec, key, choices, default):
    value = sec.raw(key, required=False)
    if value is None:
        return default
    if not isinstance(value, list):
        sec.fail(key, f"must be an array of strings, got {describe(value)}")
    for i, item in enumerate(value):
        sec.check_string(f"{key}[{i}]", item, choices)
        if item in value[:i]:
            sec.fail(f"{key}[{i}]", f"{item!r} is listed twice")
    return tuple(value)


def _default_result_path(source, title):
    if not source.startswith("<"):
        stem = Path(source).stem
    else:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", title).strip("_.") or "result"
    return Path("results") / f"{stem}.h5"


def _parse_output(source, table, title, system, distribution):
    from .dielectric.echo_map import ECHO_OBSERVABLES
    from .dielectric.ensemble import OBSERVABLES as DIELECTRIC_OBSERVABLES
    from .ensemble import OBSERVABLES

    sec = Section(source, "output", table, ("observables", "analytic", "path", "plot"), ConfigError)
    observables = _string_list(sec, "observables", tuple(OBSERVABLES) + tuple(DIELECTRIC_OBSERVABLES)
                               + tuple(ECHO_OBSERVABLES), ("magnetization",))
    if not observables:
        sec.fail("observables", "must name at least one observable")
    analytic = _string_list(sec, "analytic", ANALYTIC_OUTPUTS, ())
    if analytic and distribution.kind != "ats":
        sec.fail("analytic", f"the analytic ETM describes the 3LS ATS ensemble (distribution.kind = 'ats'), "
                             f"not {distribution.kind!r}")
    if analytic and not any(name in OBSERVABLES for name in observables):
        # a dielectric-only run: only the analytic outputs with a dielectric form
        for i, name in enumerate(analytic):
            if name not in DIELECTRIC_ANALYTIC_OUTPUTS:
                sec.fail(f"analytic[{i}]", f"{name!r} is a magnetisation formula; with only dielectric observables "
                                           f"the analytic outputs are {', '.join(DIELECTRIC_ANALYTIC_OUTPUTS)}")
    path = sec.string("path", required=False)
    if path is not None and not path.strip():
        sec.fail("path", "must not be empty")
    path = _default_result_path(source, title) if path is None else Path(path)
    plot = sec.boolean("plot", default=True)
    return OutputConfig(observables, analytic, path, plot)


def _section(source, doc, name, required):
    """The table ``[name]`` (:func:`parse_config` has checked that every section is a table), or None."""
    if name not in doc and required:
        raise ConfigError(f"{source}: {name}: missing required section")
    return doc.get(name)


def parse_config(text, source="<string>"):
    """Parse and validate a simulation config from TOML text.

    Parameters
    ----------
    text : str
        The TOML document.
    source : str, optional
        Name used in error messages and for the default result path
        (``results/<stem of source>.h5``; for ``"<...>"`` sources a name made from the title).

    Returns
    -------
    SimulationConfig

    Raises
    ------
    ConfigError
        On invalid TOML (the message carries the line number) or any schema violation.
    """
    if not isinstance(text, str):
        raise ConfigError(f"{source}: config text must be a string, got {type(text).__name__}")
    doc = parse_toml(text, source, ConfigError)
    top = Section(source, "", doc, ("title",) + _SECTIONS, ConfigError)
    for name, value in doc.items():
        if name != "title" and not isinstance(value, dict):
            top.fail(name, f"must be a table [{name}], got {describe(value)}")
    title = top.string("title")
    if not title.strip():
        top.fail("title", "must not be empty")
    system = _parse_system(source, _section(source, doc, "system", True))
    distribution = _parse_distribution(source, _section(source, doc, "distribution", True), system)
    td_table = _section(source, doc, "temperature_dependence", False)
    td = None if td_table is None else _parse_temperature_dependence(source, td_table, system)
    averaging = _parse_averaging(source, _section(source, doc, "averaging", False) or {}, system)
    grid = _parse_grid(source, _section(source, doc, "grid", True))
    output = _parse_output(source, _section(source, doc, "output", False) or {}, title, system, distribution)
    dielectric = parse_dielectric(source, _section(source, doc, "dielectric", False),
                                  {"output": output, "system": system, "temperature_dependence": td,
                                   "distribution": distribution}, ConfigError)
    return SimulationConfig(
        title=title,
        system=system,
        distribution=distribution,
        temperature_dependence=td,
        averaging=averaging,
        grid=grid,
        output=output,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
        dielectric=dielectric,
    )


def load_config(path):
    """Read and validate a simulation config file.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 TOML file.

    Returns
    -------
    SimulationConfig

    Raises
    ------
    ConfigError
        If the file cannot be read, is not UTF-8, or is not a valid config.
    """
    return parse_config(read_text(path, "config", ConfigError), source=str(path))
