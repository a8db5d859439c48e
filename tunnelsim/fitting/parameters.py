"""Parameter files (TOML): Eq. 17 parameter values, the runs to synthesise and the noise model.

The runs (:class:`RunSpec`, :func:`seed_runs`: the seed's BK7 runs) and the noise model
(:class:`NoiseModel`) a file states are used by :mod:`tunnelsim.fitting.synth`; the parameter
entries (:class:`ParameterEntry`: value, vary, bounds) by the fits.

A **parameter file** serves both ``tunnelsim synth`` (true values, runs, noise) and
``tunnelsim fit --params`` (starting values; ``[runs]`` and ``[noise]`` are then ignored)::

    title = "BK7 chip, the seed's Table 3"
    [parameters]                 # the seed's Table 3 names (tunnelsim.paramagnet.PARAMETER_NAMES)
    n_Fe2_per_g = 1.099e17       # a number, or a table {value = ..., vary = false, min = ..., max = ...}
    n_Fe3_per_g = 0.599e17       # one density n_<tag>_per_g per species of settings.species
    ...
    delta_mu_K = 0.319           # optional: Eq. 15 temperature dependence of D_min and D0QS
    charge_area_A2 = 30000.0     # (Q/e) S_Delta, for the models "etm11" and "exact"
    [settings]
    model = "etm"                # optional: the model synthetic data follow, "etm" (Eq. 10), "etm11" or "exact"
    P_star = 0.159               # optional, default 1/(2 pi); only n_ATS P* enters Eq. 10
    T0_K = 1.26                  # optional, reference temperature of Eq. 15
    species = ["Fe2+", "Fe3+"]   # optional (this default): the paramagnetic species, names of the
                                 # table tunnelsim.ions.IONS or {name = "X", g = 2.1, J = 1.5}
    [runs]                       # optional; defaults are the seed's runs (see seed_runs)
    M_vs_T_fields_Oe = [1000.0, 2500.0]
    M_vs_T_temperatures_K = {start = 2.0, stop = 300.0, num = 40, scale = "log"}   # or a list
    M_vs_H_temperatures_K = [2.0, 4.5]
    M_vs_H_fields_Oe = {start = 0.0, stop = 70000.0, num = 28, scale = "linear"}
    [noise]                      # optional; default relative = 1e-3, absolute_emu_per_g = 1e-7
    relative = 1e-3
    absolute_emu_per_g = 1e-7
    seed = 1

**Species.** ``settings.species`` lists the paramagnetic ions of the Langevin term
(:mod:`tunnelsim.ions`): table names (``"Gd3+"``) or inline tables ``{name, g, J}`` (``J`` a
positive multiple of 1/2, a number or a string such as ``"3/2"``; ``g > 0``). The density of each
is the parameter ``n_<tag>_per_g`` (``Gd3+`` -> ``n_Gd3_per_g``); a density of a species not
listed is an error naming it, and ``n_Fe_total_per_g``/``x_Fe2`` need exactly Fe2+ and Fe3+.
:func:`parse_parameter_file` and :func:`load_parameter_file` take ``species=`` to override the
file's list (the command line's ``--species``).

Errors are one line naming the file and the dotted key, as for simulation configs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..ions import DEFAULT_SPECIES, check_species, density_parameter_names, lookup_ion, make_species, table_text
from ..tomlschema import AXIS_SCALES, SchemaError, Section, describe, parse_toml, read_text
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .models import IRON_TOTAL_NAMES, MODELS, all_parameter_names

__all__ = [
    "NoiseModel",
    "ParameterEntry",
    "ParameterFile",
    "ParameterFileError",
    "RunSpec",
    "SEED_M_VS_H_TEMPERATURES_K",
    "SEED_M_VS_T_FIELDS_OE",
    "load_parameter_file",
    "parse_parameter_file",
    "seed_runs",
]

#: Fields of the seed's M vs T runs on the BK7 chip (Table 1, Fig. 8), Oe.
SEED_M_VS_T_FIELDS_OE = (1000.0, 2500.0, 5000.0, 10000.0, 20000.0, 30000.0, 40000.0, 50000.0, 65000.0)
#: Temperatures of the seed's M vs H runs (Table 2, Fig. 9), K.
SEED_M_VS_H_TEMPERATURES_K = (2.0, 4.5, 7.5, 10.0, 20.0)

_SECTIONS = ("parameters", "settings", "runs", "noise")
_ENTRY_KEYS = ("value", "vary", "min", "max")
_RUN_KEYS = ("M_vs_T_fields_Oe", "M_vs_T_temperatures_K", "M_vs_H_temperatures_K", "M_vs_H_fields_Oe")


class ParameterFileError(SchemaError):
    """A parameter file is invalid; the message is one line naming the file and key."""


@dataclass(frozen=True)
class RunSpec:
    """A run to synthesise: M vs T at a fixed field or M vs H at a fixed temperature.

    Attributes
    ----------
    kind : str
        ``"M_vs_T"`` or ``"M_vs_H"``.
    fixed_value : float
        The field (Oe) of an M vs T run, the temperature (K, > 0) of an M vs H run.
    axis : tuple of float
        The temperatures (K, > 0) or fields (Oe) measured, in order.
    """

    kind: str
    fixed_value: float
    axis: tuple

    def __post_init__(self):
        if self.kind not in ("M_vs_T", "M_vs_H"):
            raise ValueError(f"RunSpec.kind must be 'M_vs_T' or 'M_vs_H', got {self.kind!r}")
        axis = np.asarray(self.axis, dtype=float)
        if axis.ndim != 1 or axis.size < 2 or not np.all(np.isfinite(axis)):
            raise ValueError(f"RunSpec.axis must hold >= 2 finite values, got {self.axis!r}")
        temperatures = axis if self.kind == "M_vs_T" else np.array([self.fixed_value])
        if not np.all(temperatures > 0):
            raise ValueError("RunSpec temperatures must be > 0")

    def points(self):
        """``(temperature_K, field_Oe)`` arrays of the run's points."""
        axis = np.asarray(self.axis, dtype=float)
        fixed = np.full_like(axis, self.fixed_value)
        return (axis, fixed) if self.kind == "M_vs_T" else (fixed, axis)


def seed_runs(n_temperatures=40, n_fields=28, temperature_range_K=(2.0, 300.0), field_range_Oe=(0.0, 70000.0),
              fields_Oe=SEED_M_VS_T_FIELDS_OE, temperatures_K=SEED_M_VS_H_TEMPERATURES_K):
    """The seed's runs on the BK7 chip (Section C): M vs T (2-300 K) at nine fields, M vs H (0-70 kOe) at five T.

    Temperatures are log-spaced, fields evenly spaced; the defaults give 9 x 40 + 5 x 28 = 500 points.

    Returns
    -------
    tuple of RunSpec
    """
    T_axis = tuple(np.geomspace(*temperature_range_K, n_temperatures))
    H_axis = tuple(np.linspace(*field_range_Oe, n_fields))
    return tuple([RunSpec("M_vs_T", float(H), T_axis) for H in fields_Oe]
                 + [RunSpec("M_vs_H", float(T), H_axis) for T in temperatures_K])


@dataclass(frozen=True)
class NoiseModel:
    """Gaussian noise ``sigma = sqrt((relative M)^2 + absolute^2)`` on each synthetic point.

    Attributes
    ----------
    relative : float
        Relative standard deviation (>= 0), e.g. 1e-3 for 0.1 %.
    absolute_emu_per_g : float
        Absolute floor (>= 0), emu/g (1e-7 emu/g is 1e-8 emu, an MPMS's sensitivity, on 0.1 g).
    """

    relative: float = 1e-3
    absolute_emu_per_g: float = 1e-7

    def __post_init__(self):
        for name in ("relative", "absolute_emu_per_g"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < math.inf):
                raise ValueError(f"noise.{name} must be a finite number >= 0, got {value!r}")

    @property
    def is_zero(self):
        return self.relative == 0 and self.absolute_emu_per_g == 0

    def sigma(self, magnetization_emu_per_g):
        """Standard deviation of each point (emu/g)."""
        m = np.asarray(magnetization_emu_per_g, dtype=float)
        return np.hypot(self.relative * m, self.absolute_emu_per_g)

    def describe(self):
        return (f"Gaussian, sigma = sqrt(({self.relative:g} M)^2 + ({self.absolute_emu_per_g:g} emu/g)^2)")


@dataclass(frozen=True)
class ParameterEntry:
    """One model parameter of a parameter file: its value and, for fits, whether it varies and its bounds."""

    value: float
    vary: bool = True
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class ParameterFile:
    """A validated parameter file (see the module docstring).

    Attributes
    ----------
    title : str
    parameters : mapping of str to ParameterEntry
        Only the names given in the file.
    P_star, T0_K : float
        Settings (defaults :data:`DEFAULT_P_STAR`, :data:`DEFAULT_T0_K`).
    runs : tuple of RunSpec
        ``[runs]``, or the seed's runs.
    noise : NoiseModel
    seed : int or None
    source, text : str
    model : str
        ``settings.model``: the Eq. 17 model synthetic data are made with (default ``"etm"``;
        ``"etm11"`` and ``"exact"`` need ``charge_area_A2``).
    species : tuple of Species
        ``settings.species`` (default Fe2+ and Fe3+), or the override given to the parser.
    """

    title: str
    parameters: MappingProxyType
    P_star: float
    T0_K: float
    runs: tuple
    noise: NoiseModel
    seed: int | None
    source: str
    text: str
    model: str = "etm"
    species: tuple = DEFAULT_SPECIES

    def values(self):
        """``{name: value}`` of the parameters given."""
        return {name: entry.value for name, entry in self.parameters.items()}


def _parse_entry(params, name):
    """``parameters.<name>``: a number, or a table ``{value, vary, min, max}``."""
    if not isinstance(params.raw(name, required=True), dict):
        return ParameterEntry(params.number(name))
    entry = params.child(name, _ENTRY_KEYS)
    number = entry.number("value")
    vary = entry.boolean("vary", default=True)
    low = entry.number("min", required=False)
    high = entry.number("max", required=False)
    if low is not None and high is not None:
        entry.require_order("min", low, entry.key("max"), high)
    if (low is not None and number < low) or (high is not None and number > high):
        entry.fail("value", f"must lie within [min, max], got {number!r}")
    return ParameterEntry(number, vary, low, high)


def _parse_species(settings):
    """``settings.species``: an array of table names or ``{name, g, J}`` tables (default Fe2+, Fe3+)."""
    value = settings.raw("species", required=False)
    if value is None:
        return DEFAULT_SPECIES
    if not isinstance(value, list) or not value:
        settings.fail("species", f"must be a non-empty array of ion names ({table_text()}) or tables "
                                 f"{{name, g, J}}, got {describe(value)}")
    out = []
    for i, item in enumerate(value):
        key = f"species[{i}]"
        if isinstance(item, str):
            try:
                out.append(lookup_ion(item).species)
            except ValueError as exc:
                settings.fail(key, str(exc))
        elif isinstance(item, dict):
            entry = Section(settings.source, settings.key(key), item, ("name", "g", "J"), settings.error,
                            settings.sort_expected)
            name = entry.string("name")
            g = entry.number("g", minimum=0.0)
            J = entry.raw("J", required=True)
            try:
                out.append(make_species(name, g, J))
            except ValueError as exc:
                entry.fail("J" if "J must" in str(exc) else "name", str(exc))
        else:
            settings.fail(key, f"must be an ion name ({table_text()}) or a table {{name, g, J}}, got {describe(item)}")
    try:
        return check_species(out)
    except ValueError as exc:
        settings.fail("species", str(exc))


def _check_parameter_names(top, species):
    """A density of a species not listed (or the total-iron names without Fe2+ and Fe3+): one line naming it."""
    table = top.raw("parameters", required=False)
    if not isinstance(table, dict):
        return
    allowed = all_parameter_names(species)
    listed = ", ".join(s.name for s in species)
    for name in table:
        if name in allowed:
            continue
        if name in IRON_TOTAL_NAMES:
            top.fail(f"parameters.{name}", f"unknown key: the total-iron parametrisation needs exactly the species "
                                           f"Fe2+ and Fe3+ (settings.species: {listed})")
        if name.startswith("n_") and name.endswith("_per_g") and name != "n_ATS_per_g":
            top.fail(f"parameters.{name}", f"unknown key: not a density of the species {listed} (settings.species; "
                                           f"theirs: {', '.join(density_parameter_names(species))}); list the "
                                           "species it belongs to there")


def _parse_parameters(top, species=DEFAULT_SPECIES):
    _check_parameter_names(top, species)
    params = top.child("parameters", all_parameter_names(species), required=True)
    entries = {name: _parse_entry(params, name) for name in params.table}
    for name in density_parameter_names(species) + ("n_ATS_per_g",):
        if name in entries and entries[name].value < 0:
            params.fail(name, f"must be >= 0, got {entries[name].value!r}")
    for name in ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2"):
        if name in entries and entries[name].value <= 0:
            params.fail(name, f"must be > 0, got {entries[name].value!r}")
    if "D0QS_min_K_A2" in entries and "D0QS_max_K_A2" in entries:
        lo, hi = entries["D0QS_min_K_A2"].value, entries["D0QS_max_K_A2"].value
        if not hi > lo:
            params.fail("D0QS_max_K_A2", f"must exceed D0QS_min_K_A2 = {lo!r} (D0_max > D0_min), got {hi!r}")
    return MappingProxyType(entries)


def _parse_axis(runs, key, positive):
    """A run axis: an array or ``{start, stop, num, scale}``, in measurement order (may fall, may be empty)."""
    value = runs.raw(key, required=True)
    minimum = 0.0 if positive else None
    if isinstance(value, list):
        return runs.number_items(key, value, minimum)
    if not isinstance(value, dict):
        runs.fail(key, f"must be an array of numbers or a table {{start, stop, num, scale}}, got {describe(value)}")
    sub = runs.child(key, ("start", "stop", "num", "scale"))
    for name in ("start", "stop", "num"):
        sub.raw(name, required=True)
    start = sub.number("start", minimum=minimum)
    stop = sub.number("stop", minimum=minimum)
    num = sub.raw("num", required=True)
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        sub.fail("num", f"must be an integer >= 2, got {describe(num)}")
    scale = sub.table.get("scale", "linear")
    if scale not in AXIS_SCALES:
        sub.fail("scale", f"must be 'linear' or 'log', got {describe(scale)}")
    if scale == "log" and not (start > 0 and stop > 0):
        sub.fail("scale", "'log' needs start and stop > 0")
    axis = np.geomspace(start, stop, num) if scale == "log" else np.linspace(start, stop, num)
    return tuple(float(x) for x in axis)


def _parse_runs(top):
    runs_table = top.child("runs", _RUN_KEYS)
    default = {"M_vs_T_fields_Oe": SEED_M_VS_T_FIELDS_OE, "M_vs_H_temperatures_K": SEED_M_VS_H_TEMPERATURES_K}
    base = seed_runs()
    default["M_vs_T_temperatures_K"] = base[0].axis
    default["M_vs_H_fields_Oe"] = base[-1].axis
    axes = {}
    for key in _RUN_KEYS:
        positive = key.endswith("temperatures_K")
        axes[key] = _parse_axis(runs_table, key, positive) if runs_table.has(key) else default[key]
    for key in ("M_vs_T_temperatures_K", "M_vs_H_fields_Oe"):
        if len(axes[key]) < 2:
            runs_table.fail(key, "a run needs at least 2 points")
    runs = [RunSpec("M_vs_T", H, axes["M_vs_T_temperatures_K"]) for H in axes["M_vs_T_fields_Oe"]]
    runs += [RunSpec("M_vs_H", T, axes["M_vs_H_fields_Oe"]) for T in axes["M_vs_H_temperatures_K"]]
    if not runs:
        top.fail("runs", "no runs: M_vs_T_fields_Oe and M_vs_H_temperatures_K are both empty")
    return tuple(runs)


def parse_parameter_file(text, source="<string>", species=None):
    """Validate the TOML text of a parameter file.

    Parameters
    ----------
    text : str
    source : str, optional
        Names the file in messages.
    species : sequence of Species, optional
        Overrides ``settings.species`` (which is still validated): the parameters are then checked
        against these species' densities.

    Returns
    -------
    ParameterFile

    Raises
    ------
    ParameterFileError
        One line naming the source and the dotted key.
    """
    doc = parse_toml(text, source, ParameterFileError)
    top = Section(source, "", doc, ("title",) + _SECTIONS, ParameterFileError, sort_expected=False)
    title = top.string("title", required=False, default=Path(source).stem)
    settings = top.child("settings", ("P_star", "T0_K", "model", "species"))
    file_species = _parse_species(settings)
    try:
        species = file_species if species is None else check_species(species)
    except ValueError as exc:
        raise ParameterFileError(f"{source}: species: {exc}") from None
    parameters = _parse_parameters(top, species)
    model = settings.string("model", tuple(m for m in MODELS if m != "ll"), required=False, default="etm")
    P_star = settings.number("P_star", required=False, default=DEFAULT_P_STAR, minimum=0.0)
    T0_K = settings.number("T0_K", required=False, default=DEFAULT_T0_K, minimum=0.0)
    runs = _parse_runs(top)
    noise_table = top.child("noise", ("relative", "absolute_emu_per_g", "seed"))
    defaults = NoiseModel()
    noise = NoiseModel(
        noise_table.number("relative", required=False, default=defaults.relative, minimum=0.0, strict=False),
        noise_table.number("absolute_emu_per_g", required=False, default=defaults.absolute_emu_per_g, minimum=0.0,
                           strict=False))
    seed = noise_table.raw("seed", required=False)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        noise_table.fail("seed", f"must be an integer >= 0, got {describe(seed)}")
    return ParameterFile(title, parameters, P_star, T0_K, runs, noise, seed, source, text, model, species)


def load_parameter_file(path, species=None):
    """Read and validate a parameter file (see :func:`parse_parameter_file`; ``species`` overrides the file's)."""
    path = Path(path)
    return parse_parameter_file(read_text(path, "parameter file"), source=str(path), species=species)
