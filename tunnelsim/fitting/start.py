"""Starting values of a fit from the data alone: :func:`estimate_start`.

A joint fit of Eq. 17 (:func:`~tunnelsim.fitting.fit_magnetization`) needs a start in the
basin of the minimum for its nonlinear parameters; the linear ones (the Fe concentrations,
``chi_L`` and the amplitude ``n_ATS``) it solves for itself by variable projection. The
estimate works for every model of :data:`~tunnelsim.fitting.MODELS` by its reported parameter
names (:func:`~tunnelsim.fitting.model_parameter_names`) and evaluates models only through
:func:`~tunnelsim.fitting.model_magnetization_emu_per_g`:

1. **Linear parameters by projection.** The model is linear in the species densities
   ``n_<tag>_per_g`` (``n_Fe2_per_g``, ``n_Fe3_per_g`` by default; ``>= 0``; one column per species
   of ``species``), ``chi_L_emu_per_g_Oe`` and ``n_ATS_per_g`` (``>= 0``). At any trial of the nonlinear
   parameters these are solved exactly by bounded weighted linear least squares (weights
   ``1/sigma``, uniform without ``sigma``); the intrinsic column is the model evaluated with the
   Fe terms and ``chi_L`` at zero and ``n_ATS = 1``. For ``"ll"`` this is the whole estimate:
   the linear least-squares fit of the Larmor-Langevin model to all points. The amplitude is
   thus what the residual left by the Larmor-Langevin terms asks of the intrinsic term (it is
   carried by the low-temperature points, where that term is largest).
2. **Grid over the nonlinear parameters.** The projected chi^2 on a log grid of ``D_min``
   (:data:`D_MIN_GRID_K`, 3e-3 ... 0.3 K) times the geometric centre of the ``D0 (Q/e) S``
   range (:data:`D0QS_CENTRE_GRID_K_A2`, 1e4 ... 1e7 K A^2, a half decade apart), with
   ``D0QS_max / D0QS_min`` = :data:`D0QS_RATIO` (1.08, the width of the seed's Table 3) and
   ``delta_mu_K`` = :data:`DELTA_MU_START_K` (0.3 K) when Eq. 15 is on; then the centre is refined
   in steps of 10^(1/12) around the best point. Models with ``charge_area_A2`` run this grid
   on the ``"etm"`` model (their weak-field, small-loop limit), which is cheap.
3. **Loop size, by a multi-start** (models reporting ``charge_area_A2`` only). For each
   ``(Q/e) S`` of :data:`CHARGE_AREA_GRID_A2` (3e3 ... 1e5 A^2, six values) the centre is scanned
   again with the model itself (five values half a decade apart around the stage-2 centre). From
   the :data:`N_SHORT_FITS` best of these grid points a short fit (Nelder-Mead on the projected
   chi^2 over ``ln (Q/e) S`` and the ``ln`` centre, ``D_min``, ``delta_mu`` and the ratio held, at most
   :data:`SHORT_FIT_MAX_NFEV` model evaluations) refines the start, and the lowest chi^2 wins. The
   high-field data carry ``(Q/e) S`` and its chi^2 is not monotone in it (the AB oscillation),
   hence several starts. The short fits do not go through
   :func:`~tunnelsim.fitting.fit_magnetization`: its two stages and finite-difference Jacobians
   make a budget in evaluations neither short nor bounded in time for the costly models (an
   ``etm11`` evaluation takes 0.2-0.7 s on 456 points), while every evaluation here is one model
   call.

**Cost.** Stage 1 costs nothing measurable; stage 2 evaluates the intrinsic term 5 x 7 + 10 = 45
times (0.4 s for the ``etm`` model on the seed's 500 points, a third of the fit that follows);
stage 3 adds 6 x 5 evaluations of the model itself and at most :data:`N_SHORT_FITS` x
:data:`SHORT_FIT_MAX_NFEV` = 50 more. Measured on the 456-point exact-model BK7 set
(``simulations/bk7_exact_params.toml``): 13 s and 125 evaluations for ``exact``, landing at
``(Q/e) S`` = 29200 A^2 (truth 30000) with the ``D0QS`` products within 3 %, from where the fit
reaches the minimum a fit from the true values finds. :attr:`StartEstimate.n_evaluations` and
:attr:`StartEstimate.seconds` report what an estimate took.

Values given by the caller (``known``: starting values, e.g. from a parameter file; ``fixed``:
held in the fit) are held at their values throughout, and the others are estimated around them.
:func:`check_determinable` refuses data that cannot determine a model: every point at ``H = 0``
(where ``M = 0`` for every model), or fewer points at nonzero field than varied parameters.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..ions import DEFAULT_SPECIES, density_parameter_names
from ..paramagnet import species_magnetization_emu_per_g
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .models import (EQ16_NAMES, INTRINSIC_MODELS, MODELS, FitError, _species, ll_parameter_names,
                     model_magnetization_emu_per_g, model_parameter_names, temperature_law)

__all__ = [
    "fit_start",
    "CHARGE_AREA_GRID_A2",
    "D0QS_CENTRE_GRID_K_A2",
    "D0QS_RATIO",
    "DELTA_MU_START_K",
    "D_MIN_GRID_K",
    "N_SHORT_FITS",
    "SHORT_FIT_MAX_NFEV",
    "StartEstimate",
    "check_determinable",
    "estimate_start",
]

#: Log grid of ``D_min`` (K) of stage 2.
D_MIN_GRID_K = (3e-3, 1e-2, 3e-2, 0.1, 0.3)
#: Log grid of the geometric centre ``sqrt(D0QS_min D0QS_max)`` (K A^2) of stage 2, half a decade apart.
D0QS_CENTRE_GRID_K_A2 = tuple(float(x) for x in np.geomspace(1e4, 1e7, 7))
#: ``D0QS_max / D0QS_min`` of the start (the seed's Table 3 has 2.925e5 / 2.717e5 = 1.077).
D0QS_RATIO = 1.08
#: Starting ``delta_mu_K`` (Eq. 15) when the temperature dependence is on.
DELTA_MU_START_K = 0.3
#: Starting values of ``charge_area_A2`` (A^2) of the multi-start (stage 3).
CHARGE_AREA_GRID_A2 = tuple(float(x) for x in np.geomspace(3e3, 1e5, 6))
#: Budget of model evaluations of each short fit of stage 3.
SHORT_FIT_MAX_NFEV = 25
#: How many of the best ``(Q/e) S`` grid points start a short fit.
N_SHORT_FITS = 2

_AMPLITUDE = "n_ATS_per_g"
_D0QS = ("D0QS_min_K_A2", "D0QS_max_K_A2")
_QS = "charge_area_A2"
#: The nonlinear parameters the grids set.
_NONLINEAR = ("D_min_K",) + _D0QS + ("delta_mu_K", _QS)
_SURROGATE = "etm"


@dataclass(frozen=True)
class StartEstimate:
    """Starting values of one model, how each was obtained, and what the estimate cost.

    Attributes
    ----------
    model : str
    values : mapping of str to float
        Every reported parameter of the model (given ones included), for ``fit_magnetization(start=...)``.
    sources : mapping of str to str
        A short description of how each value was obtained.
    chi2 : float
        chi^2 of the model at ``values`` (weighted as the fit is).
    n_evaluations : int
        Model evaluations spent (short fits counted by their budget when they did not converge).
    seconds : float
        Wall-clock time of the estimate.
    notes : tuple of str
        Remarks on the data (e.g. no intrinsic signal found).
    """

    model: str
    values: MappingProxyType
    sources: MappingProxyType
    chi2: float
    n_evaluations: int
    seconds: float
    notes: tuple = field(default=())

    def lines(self, prefix="start"):
        """One line per parameter: ``start: NAME = VALUE (from ...)``."""
        return [f"{prefix}: {name} = {value:.6g} (from {self.sources[name]})" for name, value in self.values.items()]

    def to_dict(self):
        return {"model": self.model,
                "values": {n: float(v) for n, v in self.values.items()},
                "sources": dict(self.sources), "chi2": float(self.chi2) if math.isfinite(self.chi2) else None,
                "n_evaluations": self.n_evaluations, "seconds": self.seconds}


def check_determinable(data, model, n_varied):
    """Refuse data that cannot determine a model (raises :class:`FitError` with one line).

    Every point at zero field (``M = 0`` there for every model), fewer points at nonzero field
    than ``n_varied`` parameters, or fewer distinct ``(T, H)`` points than that (repeated readings
    kept as separate points determine nothing more than their mean).
    """
    H = np.asarray(data.field_Oe)
    nonzero = int(np.count_nonzero(H != 0.0))
    if nonzero == 0:
        raise FitError(f"{data.source}: every point is at H = 0, where M = 0 for every model: the data cannot "
                       f"determine the parameters of model {model} (measure at nonzero field)")
    if nonzero < n_varied:
        raise FitError(f"{data.source}: {nonzero} point{'s' if nonzero != 1 else ''} at nonzero field for "
                       f"{n_varied} varied parameters of model {model}: a fit needs at least as many points "
                       "as parameters")
    distinct = np.unique(np.stack([np.asarray(data.temperature_K), H])[:, H != 0.0], axis=1).shape[1]
    if distinct < n_varied:
        raise FitError(f"{data.source}: {distinct} distinct (T, H) point{'s' if distinct != 1 else ''} at nonzero "
                       f"field for {n_varied} varied parameters of model {model}: the data cannot determine them")


def _eq16_start(est, data, T0_K, given, known_source):
    """Turn an Eq. 15 start into an Eq. 16 one: ``E0 = delta_mu`` (the seed finds the two alike, Section E)
    and ``gamma`` such that Eq. 16's ``r`` equals Eq. 15's at the data temperature furthest from ``T0``."""
    values = dict(est.values)
    sources = dict(est.sources)
    dmu = values.pop("delta_mu_K")
    sources.pop("delta_mu_K")
    E0 = given.get("E0_K", max(dmu, DELTA_MU_START_K))
    T = np.asarray(data.temperature_K, dtype=float)
    T_ref = float(max(T.min(), T.max(), key=lambda t: abs(math.log(t / T0_K))))  # furthest from T0
    r = math.exp(dmu * (1.0 / T0_K - 1.0 / T_ref))
    a, b = math.exp(min(E0 / T_ref, 700.0)), math.exp(min(E0 / T0_K, 700.0))
    gamma = (1.0 - r) / (a - r * b) if a != r * b else 0.0
    gamma = gamma if 0.0 < gamma * max(a, b) < 1.0 else 0.0
    gamma = given.get("gamma", max(gamma, 1e-4 / max(a, b)))
    for name, value, how in (("gamma", gamma, f"Eq. 16's N(T)/N(T0) matched to the Eq. 15 start at T = {T_ref:.4g} K"),
                             ("E0_K", E0, f"the Eq. 15 start delta_mu_K = {dmu:.4g} K (Eq. 16 alike, Section E)")):
        values[name] = float(value)
        sources[name] = known_source if name in given else how
    return dataclasses.replace(est, values=MappingProxyType(values), sources=MappingProxyType(sources))


def fit_start(data, model, given=None, fixed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
              species=DEFAULT_SPECIES, eq15=None, known_source="given", fixed_source="held fixed", law=None):
    """The start of one fit: the values given, the rest estimated from the data.

    Parameters
    ----------
    data : MagnetizationData
    model : str
    given : mapping, optional
        ``{name: value or ParameterEntry}`` (a parameter file's entries); names the model lacks are
        ignored; an entry with ``vary = False`` is held fixed.
    fixed : mapping, optional
        ``{name: value}`` held fixed (``--fix``); names the model lacks are ignored.
    P_star, T0_K, species : optional
        Settings of the fit.
    eq15 : bool, optional
        ``delta_mu_K`` among the parameters; default: on unless ``given`` is non-empty and neither
        it nor ``fixed`` holds ``delta_mu_K`` (a parameter file switches Eq. 15 on by naming it).
        ``gamma`` or ``E0_K`` in ``given`` or ``fixed`` switch Eq. 16 on instead (their missing
        values estimated from the Eq. 15 start, :func:`_eq16_start`).
    law : {"eq15", "eq16", "none"}, optional
        The temperature dependence asked for (``--temperature-law``); overrides ``eq15``. Names in
        ``given`` or ``fixed`` of the other law are an error.
    known_source, fixed_source : str, optional
        How the estimate's printout describes the given and the held values.

    Returns
    -------
    start : dict
        The starting values for :func:`~tunnelsim.fitting.fit_magnetization` (given entries as given).
    estimate : StartEstimate or None
        None when ``given`` and ``fixed`` name every parameter (nothing estimated).

    Raises
    ------
    FitError
        Data that cannot determine the model (:func:`check_determinable`), a bad value.
    """
    species = _species(species)
    given, fixed = dict(given or {}), dict(fixed or {})
    named = temperature_law(list(given) + list(fixed)) if model in INTRINSIC_MODELS else None
    if law is not None:
        if law not in ("eq15", "eq16", "none"):
            raise FitError(f"temperature law must be eq15, eq16 or none, got {law!r}")
        if named is not None and named != law and model in INTRINSIC_MODELS:
            raise FitError(f"temperature law {law}: the parameters given name {named} "
                           f"({'delta_mu_K' if named == 'eq15' else 'gamma, E0_K'})")
        eq15 = law == "eq15"
        named = None if law == "none" else law
    elif eq15 is None:
        eq15 = not given or named == "eq15"
    eq16 = named == "eq16"
    eq15 = bool(eq15) and not eq16
    names = model_parameter_names(model, eq15, species=species, eq16=eq16)
    allowed = model_parameter_names(model, species=species) + (EQ16_NAMES if model in INTRINSIC_MODELS else ())
    ours = {n: v for n, v in given.items() if n in allowed}
    held = {n: getattr(v, "value", v) for n, v in fixed.items() if n in names}
    held.update({n: getattr(v, "value", v) for n, v in ours.items() if not getattr(v, "vary", True) and n not in held})
    check_determinable(data, model, len([n for n in names if n not in held]))
    if all(n in ours or n in held for n in names):
        return ours, None
    known = {n: getattr(v, "value", v) for n, v in ours.items() if n not in held and n not in EQ16_NAMES}
    est = estimate_start(data, model, known=known, fixed={n: v for n, v in held.items() if n not in EQ16_NAMES},
                         P_star=P_star, T0_K=T0_K, species=species, eq15=eq15 or eq16, known_source=known_source,
                         fixed_source=fixed_source)
    if eq16:
        est = _eq16_start(est, data, T0_K, {**{n: getattr(v, "value", v) for n, v in ours.items()}, **held},
                          known_source)
    start = {n: v for n, v in est.values.items() if n not in fixed}
    start.update(ours)  # given values win
    return start, est


def _numbers(mapping, what):
    out = {}
    for name, value in (mapping or {}).items():
        value = getattr(value, "value", value)  # a ParameterEntry
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise FitError(f"{what} {name}: expected a number, got {value!r}") from None
        if not math.isfinite(v):
            raise FitError(f"{what} {name}: must be finite, got {v!r}")
        out[name] = v
    return out


class _Projection:
    """Projected chi^2: the linear parameters solved exactly at given nonlinear ones."""

    def __init__(self, data, model, held, P_star, T0_K, species):
        self.model, self.P_star, self.T0_K, self.species = model, P_star, T0_K, _species(species)
        #: the Larmor-Langevin parameters: the species densities and chi_L
        self.ll_names = ll_parameter_names(self.species)
        self.T, self.H = np.asarray(data.temperature_K, float), np.asarray(data.field_Oe, float)
        self.M = np.asarray(data.magnetization_emu_per_g, float)
        self.sigma = (np.ones_like(self.M) if data.sigma_emu_per_g is None
                      else np.asarray(data.sigma_emu_per_g, float))
        self.held = held
        self.basis = {name: species_magnetization_emu_per_g(1.0, s, self.H, self.T)
                      for name, s in zip(density_parameter_names(self.species), self.species)}
        self.basis["chi_L_emu_per_g_Oe"] = -self.H
        self.evaluations = 0

    def unit(self, model, nonlinear):
        """The intrinsic term of ``model`` per unit ``n_ATS`` (None where the model rejects the values)."""
        params = dict.fromkeys(self.ll_names, 0.0)
        params[_AMPLITUDE] = 1.0
        params.update(nonlinear)
        self.evaluations += 1
        try:
            with np.errstate(all="ignore"):
                u = model_magnetization_emu_per_g(model, self.T, self.H, params, self.P_star, self.T0_K, self.species)
        except (ValueError, ArithmeticError):
            return None
        u = np.asarray(u, dtype=float)
        return u if np.all(np.isfinite(u)) else None

    def solve(self, unit=None):
        """``(chi2, {linear name: value})`` with the held linear values kept."""
        from scipy.optimize import lsq_linear

        columns = dict(self.basis)
        if unit is not None:
            columns[_AMPLITUDE] = unit
        target = self.M.copy()
        free = []
        for name, col in columns.items():
            if name in self.held:
                target = target - self.held[name] * col
            else:
                free.append(name)
        values = {n: self.held[n] for n in columns if n in self.held}
        if free:
            A = np.stack([columns[n] for n in free], axis=1) / self.sigma[:, None]
            norms = np.linalg.norm(A, axis=0)
            norms[norms == 0] = 1.0
            lower = np.array([-np.inf if n == "chi_L_emu_per_g_Oe" else 0.0 for n in free])
            sol = lsq_linear(A / norms, target / self.sigma, bounds=(lower, np.full(len(free), np.inf)),
                             method="bvls")
            x = sol.x / norms
            values.update({n: float(v) for n, v in zip(free, x)})
            r = (A / norms) @ sol.x - target / self.sigma
        else:
            r = -target / self.sigma
        return float(r @ r), values


def estimate_start(data, model="etm", known=None, fixed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                   species=DEFAULT_SPECIES, eq15=True, charge_area_grid_A2=CHARGE_AREA_GRID_A2,
                   n_short_fits=N_SHORT_FITS, short_fit_max_nfev=SHORT_FIT_MAX_NFEV, known_source="given",
                   fixed_source="held fixed"):
    """Starting values of every parameter of ``model`` from the data alone (see the module docstring).

    Parameters
    ----------
    data : MagnetizationData
    model : str
        One of :data:`~tunnelsim.fitting.MODELS`.
    known : mapping, optional
        ``{name: value}`` (numbers or ``ParameterEntry``) to start from as given; held during the
        estimate, varied by the fit. Names that are not parameters of ``model`` are ignored.
    fixed : mapping, optional
        ``{name: value}`` held fixed in the fit (override ``known``).
    P_star, T0_K : float, optional
        Settings of Eq. 10 and Eq. 15, as for the fit.
    species : sequence of Species, optional
        The paramagnetic species (default Fe2+, Fe3+): one density ``n_<tag>_per_g`` each, as
        :func:`~tunnelsim.fitting.model_parameter_names` names them.
    eq15 : bool, optional
        Estimate ``delta_mu_K`` (Eq. 15 on) unless given.
    charge_area_grid_A2 : sequence of float, optional
        Starting ``(Q/e) S`` values of the multi-start (models with ``charge_area_A2``).
    n_short_fits : int, optional
        How many of the best ``(Q/e) S`` grid points start a short fit (0: none).
    short_fit_max_nfev : int, optional
        Budget of each short fit of the multi-start.
    known_source, fixed_source : str, optional
        How :attr:`StartEstimate.sources` describes the values of ``known`` and ``fixed``.

    Returns
    -------
    StartEstimate

    Raises
    ------
    FitError
        A bad model or value, a parameter without an automatic start, or data that cannot
        determine the model (:func:`check_determinable`).
    """
    t0 = time.perf_counter()
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    species = _species(species)
    ll_names = ll_parameter_names(species)
    all_names = model_parameter_names(model, species=species)
    fixed = {n: v for n, v in _numbers(fixed, "fixed").items()}
    unknown = [n for n in fixed if n not in all_names]
    if unknown:
        raise FitError(f"cannot fix {unknown[0]!r}: not a parameter of model {model!r} "
                       f"(expected one of {', '.join(all_names)})")
    held = {n: v for n, v in _numbers(known, "start").items() if n in all_names}
    held.update(fixed)
    eq15 = bool(eq15) or "delta_mu_K" in held
    names = model_parameter_names(model, eq15, species=species)
    missing = [n for n in names if n not in ll_names + (_AMPLITUDE,) + _NONLINEAR and n not in held]
    if missing:
        raise FitError(f"model {model}: no automatic start for {missing[0]}; give it in a parameter file "
                       f"(--params INIT.toml) or with --fix {missing[0]}=VALUE")
    check_determinable(data, model, len([n for n in names if n not in fixed]))
    proj = _Projection(data, model, {n: v for n, v in held.items() if n in ll_names + (_AMPLITUDE,)}, P_star, T0_K,
                       species)
    sources = {n: (fixed_source if n in fixed else known_source) for n in held}
    notes = []
    if all(n in ll_names for n in names):
        chi2, values = proj.solve()
        how = f"weighted linear least squares of the Larmor-Langevin model, {data.n_points} points"
        sources.update({n: how for n in names if n not in held})
        best = (chi2, values)
    else:
        best = _intrinsic_start(model, names, held, proj, sources, notes,
                                tuple(charge_area_grid_A2), n_short_fits, short_fit_max_nfev)
    chi2, values = best
    ordered = {n: float(values[n]) for n in names}
    return StartEstimate(model, MappingProxyType(ordered), MappingProxyType({n: sources[n] for n in names}),
                         float(chi2), proj.evaluations, time.perf_counter() - t0, tuple(notes))


def _nonlinear(names, D_min, centre, delta_mu, qs, held):
    """The nonlinear values of ``names`` at a grid point, held values winning."""
    half = math.sqrt(D0QS_RATIO)
    out = {"D_min_K": D_min, "D0QS_min_K_A2": centre / half, "D0QS_max_K_A2": centre * half,
           "delta_mu_K": delta_mu, _QS: qs}
    a, b = held.get("D0QS_min_K_A2"), held.get("D0QS_max_K_A2")
    if a is not None and b is None:
        out["D0QS_max_K_A2"] = a * D0QS_RATIO
    if b is not None and a is None:
        out["D0QS_min_K_A2"] = b / D0QS_RATIO
    out.update({n: v for n, v in held.items() if n in out})
    return {n: out[n] for n in names if n in out and n in _NONLINEAR}


def _scan(proj, model, names, held, points):
    """Projected chi^2 over ``points`` (dicts of D_min, centre, delta_mu, qs); the best ``(chi2, values)``."""
    best = (np.inf, None)
    seen = set()
    for p in points:
        nl = _nonlinear(names, p["D_min"], p["centre"], p["delta_mu"], p["qs"], held)
        key = tuple(sorted(nl.items()))
        if key in seen:
            continue
        seen.add(key)
        unit = proj.unit(model, nl)
        if unit is None:
            continue
        chi2, lin = proj.solve(unit if _AMPLITUDE in names else None)
        if chi2 < best[0]:
            best = (chi2, {**lin, **nl})
    return best


def _intrinsic_start(model, names, held, proj, sources, notes, qs_grid, n_short_fits, short_fit_max_nfev):
    has_qs = _QS in names
    delta_mu = held.get("delta_mu_K", DELTA_MU_START_K)
    d_grid = (held["D_min_K"],) if "D_min_K" in held else D_MIN_GRID_K
    c_fixed = all(n in held for n in _D0QS) or any(n in held for n in _D0QS)
    c_grid = (1.0,) if c_fixed else D0QS_CENTRE_GRID_K_A2
    qs_grid = (held[_QS],) if _QS in held else qs_grid
    if not qs_grid:
        raise FitError("charge_area_grid_A2: expected at least one value")
    surrogate = model
    if has_qs and _SURROGATE in MODELS and _SURROGATE != model:
        etm_names = model_parameter_names(_SURROGATE, "delta_mu_K" in names)
        if set(etm_names) <= set(names):
            surrogate = etm_names
    grid_model = model if surrogate == model else _SURROGATE
    grid_names = names if surrogate == model else surrogate
    qs_mid = float(math.exp(np.mean(np.log(qs_grid))))

    def point(D, c, qs=qs_mid):
        return {"D_min": D, "centre": c, "delta_mu": delta_mu, "qs": qs}

    coarse = _scan(proj, grid_model, grid_names, held, [point(D, c) for D in d_grid for c in c_grid])
    if coarse[1] is None:
        raise FitError(f"model {model}: not finite at any point of the starting grid; give starting values "
                       "(--params INIT.toml)")
    D_best = coarse[1].get("D_min_K", d_grid[0])
    c_best = 1.0 if c_fixed else math.sqrt(coarse[1]["D0QS_min_K_A2"] * coarse[1]["D0QS_max_K_A2"])
    best = coarse
    if not c_fixed:
        fine = [point(D_best, c_best * 10.0 ** (k / 12.0)) for k in range(-5, 6) if k % 6]
        refined = _scan(proj, grid_model, grid_names, held, fine)
        if refined[0] < best[0]:
            best = refined
            c_best = math.sqrt(refined[1]["D0QS_min_K_A2"] * refined[1]["D0QS_max_K_A2"])
    n_grid = len(d_grid) * len(c_grid) + (0 if c_fixed else 10)
    on = f", {n_grid} points of the {grid_model} model" if grid_model != model else f", {n_grid} points"
    sources.update({n: "linear least squares with the intrinsic term, at the grid's best point"
                    for n in proj.ll_names if n not in held})
    if _AMPLITUDE not in held:
        sources[_AMPLITUDE] = "linear least squares: the intrinsic term's share of the LL residual"
    if "D_min_K" not in held:
        sources["D_min_K"] = (f"log grid {d_grid[0]:g}-{d_grid[-1]:g} K ({len(d_grid)} steps) x D0QS centre, "
                              f"least projected chi2{on}")
    for n in _D0QS:
        if n not in held:
            sources[n] = (f"the other bound as given, ratio {D0QS_RATIO:g}" if c_fixed else
                          f"log grid of the centre {c_grid[0]:.0e}-{c_grid[-1]:.0e} K A^2 ({len(c_grid)} steps, "
                          f"refined to 10^(1/12)), ratio {D0QS_RATIO:g}{on}")
    if "delta_mu_K" not in held:
        sources["delta_mu_K"] = f"default {DELTA_MU_START_K:g} K, a small positive value (Eq. 15 on)"
    if has_qs:
        best = _charge_area_starts(model, names, held, proj, sources, D_best, c_best, c_fixed, delta_mu, qs_grid,
                                   n_short_fits, short_fit_max_nfev)
    chi2, values = best
    if _AMPLITUDE in names and _AMPLITUDE not in held and not values[_AMPLITUDE] > 0:
        unit = proj.unit(model, {n: values[n] for n in names if n in _NONLINEAR})
        scale = (np.linalg.norm(proj.M / proj.sigma) / np.linalg.norm(unit / proj.sigma)
                 if unit is not None and np.any(unit != 0) else np.nan)
        values[_AMPLITUDE] = 1e-3 * float(scale) if np.isfinite(scale) and scale > 0 else 1.0
        sources[_AMPLITUDE] = "no intrinsic signal at the best grid point: 0.1 % of the data's size"
        notes.append("the data show no intrinsic term at the best grid point")
    return chi2, values


def _charge_area_starts(model, names, held, proj, sources, D_best, c_best, c_fixed, delta_mu, qs_grid,
                        n_short_fits, short_fit_max_nfev):
    """Stage 3: per ``(Q/e) S`` a centre scan with the model, then short fits; the lowest chi^2 wins."""
    candidates = []
    for qs in qs_grid:
        cs = (1.0,) if c_fixed else tuple(c_best * 10.0 ** (k / 2.0) for k in (-2, -1, 0, 1, 2))
        pts = [{"D_min": D_best, "centre": c, "delta_mu": delta_mu, "qs": qs} for c in cs]
        chi2, values = _scan(proj, model, names, held, pts)
        if values is not None:
            candidates.append((chi2, values, "grid"))
    if not candidates:
        raise FitError(f"model {model}: not finite at any starting (Q/e) S; give starting values (--params INIT.toml)")
    multi = _QS not in held
    n_fits = 0
    if multi:
        for chi2, values, _ in sorted(candidates, key=lambda c: c[0])[:max(int(n_short_fits), 0)]:
            n_fits += 1
            found = _short_fit(proj, model, names, held, values, c_fixed, delta_mu, short_fit_max_nfev)
            if found is not None:
                candidates.append((*found, "fit"))
    chi2, values, kind = min(candidates, key=lambda c: c[0])
    qs_how = (f"(Q/e) S on {len(qs_grid)} log steps {qs_grid[0]:.0e}-{qs_grid[-1]:.0e} A^2"
              if multi else "(Q/e) S as given")
    if kind == "fit":
        how = (f"best of {n_fits} short fits of (Q/e) S{'' if c_fixed else ' and the D0QS centre'} started at "
               f"the best points of {qs_how}")
    else:
        how = f"least-squares grid of the {model} model, {qs_how}, D0QS centre on 5 steps"
    for n in (_QS,) + (() if c_fixed else _D0QS):
        if n not in held:
            sources[n] = how
    for n in proj.ll_names + (_AMPLITUDE,):
        if n not in held:
            sources[n] = ("linear least squares at the best (Q/e) S start, "
                          + ("after its short fit" if kind == "fit" else "a grid point"))
    return chi2, dict(values)


def _short_fit(proj, model, names, held, values, c_fixed, delta_mu, max_evaluations):
    """A bounded local fit of ``ln (Q/e) S`` (and the ``ln`` D0QS centre) by Nelder-Mead on the projected chi^2.

    ``D_min``, ``delta_mu`` and the ``D0QS`` ratio are held; the linear parameters are solved at every
    trial. At most ``max_evaluations`` model evaluations; returns ``(chi2, values)`` of the best point.
    """
    from scipy.optimize import minimize

    if max_evaluations < 1:
        return None
    D = values.get("D_min_K", D_MIN_GRID_K[0])
    c0 = 1.0 if c_fixed else math.sqrt(values["D0QS_min_K_A2"] * values["D0QS_max_K_A2"])
    best = [np.inf, None]

    def chi2_at(x):
        qs = math.exp(x[0])
        c = 1.0 if c_fixed else math.exp(x[1])
        nl = _nonlinear(names, D, c, delta_mu, qs, held)
        unit = proj.unit(model, nl)
        if unit is None:
            return np.inf
        chi2, lin = proj.solve(unit)
        if chi2 < best[0]:
            best[:] = [chi2, {**lin, **nl}]
        return chi2

    x0 = [math.log(values[_QS])] + ([] if c_fixed else [math.log(c0)])
    steps = [0.35, 0.5][:len(x0)]  # factors 1.4 in (Q/e) S and 1.6 in the centre
    simplex = [x0] + [[xi + (s if i == j else 0.0) for i, xi in enumerate(x0)] for j, s in enumerate(steps)]
    minimize(chi2_at, x0, method="Nelder-Mead",
             options={"maxfev": int(max_evaluations), "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-8})
    return None if best[1] is None else (best[0], best[1])
