"""Parameter files (TOML) and synthetic SQUID runs from the Eq. 17 model.

The seed gives fitted parameters (Tables 3, 4) but no raw data, so tests, notebooks and users
check the fitter on data made here: :func:`synthesize` evaluates Eq. 17
(:func:`tunnelsim.paramagnet.total_magnetization_emu_per_g`) on the points of a list of runs and
adds Gaussian noise of a stated model (:class:`NoiseModel`) from a seeded generator.

A **parameter file** serves both ``tunnelsim synth`` (true values, runs, noise) and
``tunnelsim fit --params`` (starting values; ``[runs]`` and ``[noise]`` are then ignored)::

    title = "BK7 chip, the seed's Table 3"
    [parameters]                 # the seed's Table 3 names (tunnelsim.paramagnet.PARAMETER_NAMES)
    n_Fe2_per_g = 1.099e17       # a number, or a table {value = ..., vary = false, min = ..., max = ...}
    ...
    delta_mu_K = 0.319           # optional: Eq. 15 temperature dependence of D_min and D0QS
    [settings]
    P_star = 0.159               # optional, default 1/(2 pi); only n_ATS P* enters Eq. 10
    T0_K = 1.26                  # optional, reference temperature of Eq. 15
    [runs]                       # optional; defaults are the seed's runs (see seed_runs)
    M_vs_T_fields_Oe = [1000.0, 2500.0]
    M_vs_T_temperatures_K = {start = 2.0, stop = 300.0, num = 40, scale = "log"}   # or a list
    M_vs_H_temperatures_K = [2.0, 4.5]
    M_vs_H_fields_Oe = {start = 0.0, stop = 70000.0, num = 28, scale = "linear"}
    [noise]                      # optional; default relative = 1e-3, absolute_emu_per_g = 1e-7
    relative = 1e-3
    absolute_emu_per_g = 1e-7
    seed = 1

Errors are one line naming the file and the dotted key, as for simulation configs.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .datasets import Run, make_dataset
from .paramagnet import FE2, FE3, PARAMETER_NAMES, total_magnetization_emu_per_g

__all__ = [
    "DEFAULT_P_STAR",
    "DEFAULT_T0_K",
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
    "synthesize",
    "synthesize_from_file",
]

#: The seed's "in practice P* is of order 1/2 pi" (Section B): the default setting of P* in Eq. 8.
DEFAULT_P_STAR = 1.0 / (2.0 * math.pi)
#: Reference temperature of Eq. 15 for the seed's fitted parameters (K).
DEFAULT_T0_K = 1.26
#: Fields of the seed's M vs T runs on the BK7 chip (Table 1, Fig. 8), Oe.
SEED_M_VS_T_FIELDS_OE = (1000.0, 2500.0, 5000.0, 10000.0, 20000.0, 30000.0, 40000.0, 50000.0, 65000.0)
#: Temperatures of the seed's M vs H runs (Table 2, Fig. 9), K.
SEED_M_VS_H_TEMPERATURES_K = (2.0, 4.5, 7.5, 10.0, 20.0)

_SECTIONS = ("parameters", "settings", "runs", "noise")
_ENTRY_KEYS = ("value", "vary", "min", "max")
_RUN_KEYS = ("M_vs_T_fields_Oe", "M_vs_T_temperatures_K", "M_vs_H_temperatures_K", "M_vs_H_fields_Oe")


class ParameterFileError(ValueError):
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

    def values(self):
        """``{name: value}`` of the parameters given."""
        return {name: entry.value for name, entry in self.parameters.items()}


def _describe(value):
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


class _Checker:
    def __init__(self, source):
        self.source = source

    def fail(self, key, message):
        raise ParameterFileError(f"{self.source}: {key}: {message}")

    def table(self, key, value, allowed):
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, got {_describe(value)}")
        for name, item in value.items():
            if name not in allowed:
                what = "section" if isinstance(item, dict) else "key"
                self.fail(f"{key}.{name}" if key else name, f"unknown {what}; expected one of {', '.join(allowed)}")
        return value

    def number(self, key, value, minimum=None, strict=True):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"must be a number, got {_describe(value)}")
        value = float(value)
        if not math.isfinite(value):
            self.fail(key, f"must be finite, got {value!r}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(key, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
        return value


def _parse_entry(chk, key, value):
    if isinstance(value, dict):
        chk.table(key, value, _ENTRY_KEYS)
        if "value" not in value:
            chk.fail(f"{key}.value", "missing required key")
        number = chk.number(f"{key}.value", value["value"])
        vary = value.get("vary", True)
        if not isinstance(vary, bool):
            chk.fail(f"{key}.vary", f"must be a boolean (true or false), got {_describe(vary)}")
        bounds = [chk.number(f"{key}.{b}", value[b]) if b in value else None for b in ("min", "max")]
        if bounds[0] is not None and bounds[1] is not None and not bounds[0] < bounds[1]:
            chk.fail(f"{key}.min", f"must be < {key}.max = {bounds[1]!r}, got {bounds[0]!r}")
        if (bounds[0] is not None and number < bounds[0]) or (bounds[1] is not None and number > bounds[1]):
            chk.fail(f"{key}.value", f"must lie within [min, max], got {number!r}")
        return ParameterEntry(number, vary, *bounds)
    return ParameterEntry(chk.number(key, value))


def _parse_parameters(chk, table):
    chk.table("parameters", table, PARAMETER_NAMES)
    entries = {name: _parse_entry(chk, f"parameters.{name}", value) for name, value in table.items()}
    for name in ("n_Fe2_per_g", "n_Fe3_per_g", "n_ATS_per_g"):
        if name in entries and entries[name].value < 0:
            chk.fail(f"parameters.{name}", f"must be >= 0, got {entries[name].value!r}")
    for name in ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2"):
        if name in entries and entries[name].value <= 0:
            chk.fail(f"parameters.{name}", f"must be > 0, got {entries[name].value!r}")
    if "D0QS_min_K_A2" in entries and "D0QS_max_K_A2" in entries:
        lo, hi = entries["D0QS_min_K_A2"].value, entries["D0QS_max_K_A2"].value
        if not hi > lo:
            chk.fail("parameters.D0QS_max_K_A2", f"must exceed D0QS_min_K_A2 = {lo!r} (D0_max > D0_min), got {hi!r}")
    return MappingProxyType(entries)


def _parse_axis(chk, key, value, positive):
    if isinstance(value, dict):
        chk.table(key, value, ("start", "stop", "num", "scale"))
        for name in ("start", "stop", "num"):
            if name not in value:
                chk.fail(f"{key}.{name}", "missing required key")
        start = chk.number(f"{key}.start", value["start"], 0.0 if positive else None, strict=True)
        stop = chk.number(f"{key}.stop", value["stop"], 0.0 if positive else None, strict=True)
        num = value["num"]
        if isinstance(num, bool) or not isinstance(num, int) or num < 2:
            chk.fail(f"{key}.num", f"must be an integer >= 2, got {_describe(num)}")
        scale = value.get("scale", "linear")
        if scale not in ("linear", "log"):
            chk.fail(f"{key}.scale", f"must be 'linear' or 'log', got {_describe(scale)}")
        if scale == "log" and not (start > 0 and stop > 0):
            chk.fail(f"{key}.scale", "'log' needs start and stop > 0")
        axis = np.geomspace(start, stop, num) if scale == "log" else np.linspace(start, stop, num)
        return tuple(float(x) for x in axis)
    if not isinstance(value, list):
        chk.fail(key, f"must be an array of numbers or a table {{start, stop, num, scale}}, got {_describe(value)}")
    return tuple(chk.number(f"{key}[{k}]", v, 0.0 if positive else None) for k, v in enumerate(value))


def _parse_runs(chk, table):
    chk.table("runs", table, _RUN_KEYS)
    default = {"M_vs_T_fields_Oe": SEED_M_VS_T_FIELDS_OE, "M_vs_H_temperatures_K": SEED_M_VS_H_TEMPERATURES_K}
    base = seed_runs()
    default["M_vs_T_temperatures_K"] = base[0].axis
    default["M_vs_H_fields_Oe"] = base[-1].axis
    axes = {}
    for key in _RUN_KEYS:
        positive = key.endswith("temperatures_K")
        axes[key] = _parse_axis(chk, f"runs.{key}", table[key], positive) if key in table else default[key]
    for key in ("M_vs_T_temperatures_K", "M_vs_H_fields_Oe"):
        if len(axes[key]) < 2:
            chk.fail(f"runs.{key}", "a run needs at least 2 points")
    runs = [RunSpec("M_vs_T", H, axes["M_vs_T_temperatures_K"]) for H in axes["M_vs_T_fields_Oe"]]
    runs += [RunSpec("M_vs_H", T, axes["M_vs_H_fields_Oe"]) for T in axes["M_vs_H_temperatures_K"]]
    if not runs:
        chk.fail("runs", "no runs: M_vs_T_fields_Oe and M_vs_H_temperatures_K are both empty")
    return tuple(runs)


def parse_parameter_file(text, source="<string>"):
    """Validate the TOML text of a parameter file.

    Returns
    -------
    ParameterFile

    Raises
    ------
    ParameterFileError
        One line naming the source and the dotted key.
    """
    chk = _Checker(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterFileError(f"{source}: invalid TOML: {exc}") from None
    chk.table("", doc, ("title",) + _SECTIONS)
    title = doc.get("title", Path(source).stem)
    if not isinstance(title, str):
        chk.fail("title", f"must be a string, got {_describe(title)}")
    if "parameters" not in doc:
        chk.fail("parameters", "missing required section")
    parameters = _parse_parameters(chk, doc["parameters"])
    settings = chk.table("settings", doc.get("settings", {}), ("P_star", "T0_K"))
    P_star = chk.number("settings.P_star", settings["P_star"], 0.0) if "P_star" in settings else DEFAULT_P_STAR
    T0_K = chk.number("settings.T0_K", settings["T0_K"], 0.0) if "T0_K" in settings else DEFAULT_T0_K
    runs = _parse_runs(chk, doc.get("runs", {}))
    noise_table = chk.table("noise", doc.get("noise", {}), ("relative", "absolute_emu_per_g", "seed"))
    defaults = NoiseModel()
    noise = NoiseModel(
        chk.number("noise.relative", noise_table["relative"], 0.0, strict=False)
        if "relative" in noise_table else defaults.relative,
        chk.number("noise.absolute_emu_per_g", noise_table["absolute_emu_per_g"], 0.0, strict=False)
        if "absolute_emu_per_g" in noise_table else defaults.absolute_emu_per_g)
    seed = noise_table.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        chk.fail("noise.seed", f"must be an integer >= 0, got {_describe(seed)}")
    return ParameterFile(title, parameters, P_star, T0_K, runs, noise, seed, source, text)


def load_parameter_file(path):
    """Read and validate a parameter file (see :func:`parse_parameter_file`)."""
    path = Path(path)
    return parse_parameter_file(path.read_text(encoding="utf-8"), source=str(path))


def synthesize(parameters, runs=None, noise=NoiseModel(), seed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
               species=(FE2, FE3), source="synthetic"):
    """Synthetic SQUID runs: Eq. 17 on the runs' points plus Gaussian noise.

    ``M_i = M_Eq17(T_i, H_i) + sigma_i z_i`` with ``sigma_i`` from :class:`NoiseModel` on the
    noiseless value and ``z_i`` standard normal from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    parameters : mapping
        The seed's Table 3 names (see :func:`tunnelsim.paramagnet.total_magnetization_emu_per_g`).
    runs : sequence of RunSpec, optional
        Default :func:`seed_runs`.
    noise : NoiseModel or None, optional
        None (or zero noise) gives noiseless data without a ``sigma`` column.
    seed : int or None, optional
        Seed of the noise generator.
    P_star, T0_K : float, optional
        Settings of Eq. 10 (amplitude ``n_ATS P*``) and Eq. 15.
    species : tuple of Species, optional
        The species of ``n_Fe2_per_g`` and ``n_Fe3_per_g``.
    source : str, optional
        Description stored with the data.

    Returns
    -------
    MagnetizationData
        With the given runs (not regrouped).
    """
    runs = seed_runs() if runs is None else tuple(runs)
    if not runs or not all(isinstance(r, RunSpec) for r in runs):
        raise ValueError("runs must be a non-empty sequence of RunSpec")
    points = [r.points() for r in runs]
    T = np.concatenate([p[0] for p in points])
    H = np.concatenate([p[1] for p in points])
    M = total_magnetization_emu_per_g(T, H, dict(parameters), P_star=P_star, T0_K=T0_K, species=species)
    sigma = None
    if noise is not None and not noise.is_zero:
        sigma = noise.sigma(M)
        if np.any(sigma <= 0):
            raise ValueError("noise: sigma = 0 where M = 0 (e.g. at H = 0); set noise.absolute_emu_per_g > 0")
        M = M + sigma * np.random.default_rng(seed).standard_normal(M.size)
    bounds = np.cumsum([0] + [len(r.axis) for r in runs])
    data_runs = tuple(Run(r.kind, float(r.fixed_value), int(a), int(b))
                      for r, a, b in zip(runs, bounds[:-1], bounds[1:]))
    return make_dataset(T, H, M, sigma, source, runs=data_runs)


def synthesize_from_file(parameter_file, seed=None):
    """Synthetic data for a :class:`ParameterFile`, and provenance lines for the CSV header.

    Parameters
    ----------
    parameter_file : ParameterFile
    seed : int, optional
        Overrides the file's ``noise.seed``; with neither, a fresh seed is drawn and recorded.

    Returns
    -------
    (MagnetizationData, list of str)
    """
    pf = parameter_file
    missing = [n for n in PARAMETER_NAMES if n not in pf.parameters and n != "delta_mu_K"]
    if missing:
        raise ParameterFileError(f"{pf.source}: parameters.{missing[0]}: missing; synthetic data need every "
                                 "Eq. 17 parameter (delta_mu_K is optional)")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if seed is None:
        seed = pf.seed if pf.seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
    data = synthesize(pf.values(), pf.runs, pf.noise, seed, pf.P_star, pf.T0_K, source=pf.source)
    n_T = sum(r.kind == "M_vs_T" for r in pf.runs)
    lines = [
        f"synthetic SQUID data from {pf.source}: {pf.title}",
        "model: Eq. 17 (Larmor + Langevin Fe2+/Fe3+ + corrected Eq. 10 ETM"
        + (", Eq. 15 temperature dependence)" if "delta_mu_K" in pf.parameters else ")"),
        "parameters: " + ", ".join(f"{k} = {v:.6g}" for k, v in pf.values().items()),
        f"settings: P_star = {pf.P_star:.10g}, T0_K = {pf.T0_K:g}",
        f"runs: {n_T} M vs T, {len(pf.runs) - n_T} M vs H, {data.n_points} points",
        f"noise: {pf.noise.describe()}, seed = {seed}",
    ]
    return data, lines
