"""Profile-likelihood confidence intervals of a fit's parameters.

The linearised standard errors of :func:`~tunnelsim.fitting.fit_magnetization` (the inverse of
``J^T J``) describe the chi^2 surface only where it is close to quadratic. For nearly degenerate
parameters (``n_ATS`` against the ``D0QS`` width, ``D_min`` through ``ln(2T/D_min)``) they can be
larger than the value itself and say nothing about where the data actually stop fitting.

The **profile** of a parameter ``theta`` is ``chi2_p(theta) = min chi^2`` over all the others with
``theta`` held fixed. Its interval at confidence level ``p`` is the set where
``Delta chi^2 = chi2_p(theta) - chi2_min`` stays below the ``p`` quantile of chi^2 with one degree
of freedom: 1.0 for 68.27 %, 3.84 for 95 % (Wilks; exact for a linear-Gaussian model, where it
equals ``value +- sqrt(threshold) stderr``). When the data carry no ``sigma`` the residuals have
unit weights and ``Delta chi^2`` is divided by the best fit's reduced chi^2.

**Search.** Each end is found from the estimate outwards: in ``ln theta`` for a positive
parameter, in ``theta`` for one that may change sign or reach 0 (``chi_L_emu_per_g_Oe``, ``delta_mu_K``,
``gamma``, ``E0_K``). The
first step is the standard error (``ln(1 + stderr/theta)``) where finite; the next ones extrapolate
``sqrt(Delta chi^2)``, which is linear in ``theta`` for a quadratic profile, to the highest threshold
not yet bracketed (growing 1.5x to 4x per step). A bracket is then narrowed by safeguarded secant
steps on ``sqrt(Delta chi^2)`` (bisection when the secant falls near an end) until ``Delta chi^2``
is within 2 % of the threshold; the reported end is the interpolated crossing of the last bracket.
All points serve every level (the 68 % and 95 % searches share brackets). Each refit fixes the
parameter (``fixed={name: theta}``) and refits all others with a loose tolerance (``1e-7``),
warm-started from the nearest point already refitted (the best fit first).

**Open ends.** The search stops at the parameter's bound (a user ``min``/``max``) or at a factor
``search_factor`` (default 1e3) from the estimate (``+- search_factor |value|`` for a signed
parameter). An end that does not close there is *open*: it is reported at the bound (0 for a
positive parameter, ``+-inf`` for an unbounded one, JSON null) and flagged. ``n_ATS_per_g``
upwards also stops where the ``D0`` width reaches its floor (``ln(D0QS_max/D0QS_min) ~ 1e-6``, a
single ``D0``): beyond it ``n_ATS = A/L`` is unbounded and the profile is flat.
An end the refit budget did not close (or where a refit failed) is open too: it is reported at the
farthest point refitted with ``Delta chi^2`` below the threshold, so the interval reaches at least
that far, and flagged.

**A better fit.** If a refit reaches a chi^2 lower than the best fit's by more than 0.01 (in
``Delta chi^2`` units) the fit was not at its minimum: the lowest such refit is kept in
``profile.better_fit``, the parameter is flagged, and :func:`fit_with_intervals` restarts from it.

Cost: at most ``max_refits_per_parameter`` refits per parameter (0 turns profiling off); the
counts and the time spent are recorded in ``FitResult.profile``. The default depends on the cost
of the model (:func:`default_max_refits`, :func:`default_refit_tolerance`): 16 refits at a
tolerance of 1e-7 for ``ll``, ``etm`` and ``etm11``; for ``exact``, whose refits take seconds each
(one model evaluation ~0.1-0.2 s on 456 points), 6 refits at 1e-4. Measured on the 456-point
exact BK7 set (``simulations/bk7_exact_params.toml``, fit from estimated starting values, 2 shared
cores under other load): 16 refits at 1e-7 spent up to 84 s on one refit; 8 at 1e-5 took 44
refits in 379 s; 6 at 1e-4 took 34 refits in 285-342 s, with the same interval ends within 1 %
(``ftol`` 1e-4 of chi^2/2 ~ 230 stops a refit within ~0.05 of its minimum, 1-5 % of the
thresholds). Each 95 % interval contained the true value. Over half the time goes to
``n_ATS_per_g`` and ``D0QS_max_K_A2`` when the fit sits at the single-``D0`` corner (the
``n_ATS`` profile is flat from the width floor down to the search limit); ``tunnelsim fit
--profile-refits N`` or ``names=`` trade intervals for time.

The search itself (one parameter's profile) lives in :mod:`tunnelsim.fitting._profile_search`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from ._profile_search import BETTER_FIT_DELTA, ONE_SIGMA_LEVEL, SIGNED_NAMES, _Profiler
from .models import FitError, ll_parameter_names
from .parameters import ParameterEntry
from .result import FitResult, _format_interval

__all__ = [
    "BETTER_FIT_DELTA",
    "DEFAULT_LEVELS",
    "COSTLY_MODEL_DEFAULTS",
    "DEFAULT_MAX_REFITS",
    "ONE_SIGMA_LEVEL",
    "ProfileSummary",
    "SIGNED_NAMES",
    "default_max_refits",
    "default_refit_tolerance",
    "fit_with_intervals",
    "profile_intervals",
]

#: Default confidence levels: 68.27 % and 95 %.
DEFAULT_LEVELS = (ONE_SIGMA_LEVEL, 0.95)
#: Default cap on the refits spent on one parameter.
DEFAULT_MAX_REFITS = 16
#: Default ftol/xtol/gtol of the profile refits.
DEFAULT_REFIT_TOLERANCE = 1e-7
#: Models whose refits are costly, with their default (max refits per parameter, refit tolerance).
COSTLY_MODEL_DEFAULTS = MappingProxyType({"exact": (6, 1e-4)})
#: Default search limit: this factor above and below the estimate.
DEFAULT_SEARCH_FACTOR = 1e3
#: Larmor-Langevin parameters of the default species (the model is linear in them); profiled only when
#: poorly determined. With other species: their densities and chi_L
#: (:func:`~tunnelsim.fitting.models.ll_parameter_names`).
LINEAR_NAMES = ll_parameter_names()
#: Relative standard error below which a linear parameter counts as well determined (not profiled).
WELL_DETERMINED_REL_STDERR = 0.1


@dataclass(frozen=True)
class ProfileSummary:
    """How the profile intervals of a fit were computed (``FitResult.profile``).

    Attributes
    ----------
    levels : tuple of (str, float, float)
        ``(label, level, Delta chi^2 threshold)`` per level.
    delta_chi2_scale : float
        ``Delta chi^2`` was multiplied by this: 1, or ``1 / chi2_reduced`` when the data carry no sigma.
    chi2_min : float
        The best fit's chi^2 the profiles are measured from.
    refits : mapping of str to int
        Refits spent on each profiled parameter.
    traces : mapping of str to tuple of (float, float)
        ``(theta, Delta chi^2)`` of every successful refit, sorted by ``theta`` (the best fit as ``(value, 0)``).
    better_fit : FitResult or None
        The lowest-chi^2 refit if one beat the best fit by more than ``BETTER_FIT_DELTA``.
    seconds : float
        Wall time spent on the profiles (with :func:`fit_with_intervals` restarts: on every profile
        pass and on the refits of the restarts).
    max_refits_per_parameter : int
    refit_tolerance, search_factor : float
    restarts : int
        How often :func:`fit_with_intervals` restarted the fit from a better refit.
    replaced_chi2 : tuple of float
        The chi^2 of each fit a restart replaced, in order.
    earlier_refits : int
        Refits spent on the profile passes the restarts discarded (counted in ``total_refits``).
    """

    levels: tuple
    delta_chi2_scale: float
    chi2_min: float
    refits: MappingProxyType
    traces: MappingProxyType
    better_fit: FitResult | None
    seconds: float
    max_refits_per_parameter: int
    refit_tolerance: float
    search_factor: float
    restarts: int = 0
    replaced_chi2: tuple = ()
    earlier_refits: int = 0

    @property
    def total_refits(self):
        """Every refit spent, those of discarded passes included."""
        return int(sum(self.refits.values())) + int(self.earlier_refits)

    def to_dict(self):
        def num(x):
            return None if not np.isfinite(x) else float(x)

        better = self.better_fit
        return {
            "method": "profile likelihood: Delta chi^2 = chi2(theta fixed, others refitted) - chi2_min "
                      "below the chi^2(1 dof) quantile of each level",
            "levels": [{"label": label, "level": level, "delta_chi2": t} for label, level, t in self.levels],
            "delta_chi2_scale": self.delta_chi2_scale,
            "chi2_min": self.chi2_min,
            "profiled": list(self.refits),
            "refits": dict(self.refits),
            "total_refits": self.total_refits,
            "seconds": self.seconds,
            "max_refits_per_parameter": self.max_refits_per_parameter,
            "refit_tolerance": self.refit_tolerance,
            "search_factor": self.search_factor,
            "restarts": self.restarts,
            "replaced_chi2": [float(c) for c in self.replaced_chi2],
            "earlier_refits": int(self.earlier_refits),
            "better_fit": None if better is None else {
                "chi2": better.chi2, "parameters": {n: num(p.value) for n, p in better.parameters.items()}},
            "traces": {n: [[num(x), num(d)] for x, d in tr] for n, tr in self.traces.items()},
        }

    def summary_lines(self):
        levels = ", ".join(f"{label} Delta chi2 = {t:.4g}" for label, _, t in self.levels)
        lines = [f"profile likelihood: {levels}"
                 + ("" if self.delta_chi2_scale == 1 else " (Delta chi2 scaled by 1/reduced chi2)")
                 + f"; {self.total_refits} refits in {self.seconds:.1f} s"
                 + (f", {self.restarts} restart(s)" if self.restarts else "")]
        if self.refits:
            lines.append("  refits: " + ", ".join(f"{n} {k}" for n, k in self.refits.items())
                         + f" (at most {self.max_refits_per_parameter} per parameter, tolerance "
                         f"{self.refit_tolerance:.0e})")
        for k, old in enumerate(self.replaced_chi2):
            new = self.replaced_chi2[k + 1] if k + 1 < len(self.replaced_chi2) else self.chi2_min
            lines.append(f"  restart {k + 1}: a profile refit reached a lower chi2 than the fit ({old:.8g}); the fit "
                         f"was restarted from it (chi2 = {new:.8g}) and profiled again")
        if self.better_fit is not None:
            lines.append(f"  a refit found chi2 = {self.better_fit.chi2:.8g} < {self.chi2_min:.8g}: "
                         "the fit was not at its minimum (profile.better_fit; fit_with_intervals restarts from it)")
        return lines


# ----------------------------------------------------------------------------- argument checks
def _interval_label(level):
    pct = 100.0 * level
    n = round(pct)
    if abs(pct - n) <= 0.3 and 0 < n < 100:
        return f"ci{n}"
    return "ci" + f"{pct:.2f}".rstrip("0").rstrip(".")


def _check_levels(levels):
    from scipy.stats import chi2

    try:
        levels = tuple(levels)
    except TypeError:
        raise FitError(f"levels must be a sequence of numbers in (0, 1), got {levels!r}") from None
    if not levels:
        raise FitError("levels must hold at least one confidence level in (0, 1)")
    out = []
    for level in levels:
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
            raise FitError(f"confidence levels must be numbers strictly between 0 and 1, got {level!r}")
        out.append((_interval_label(float(level)), float(level), float(chi2.ppf(level, 1))))
    labels = [o[0] for o in out]
    if len(set(labels)) != len(labels):
        raise FitError(f"confidence levels {levels!r} round to the same per cent label ({', '.join(labels)})")
    return tuple(sorted(out, key=lambda o: o[1]))


def _check_names(result, names):
    varied = [n for n, p in result.parameters.items() if p.vary]
    if names is None:
        linear = ll_parameter_names(result.species)
        chosen = []
        for n in varied:
            p = result.parameters[n]
            well = (p.stderr is not None and np.isfinite(p.stderr) and p.value != 0
                    and abs(p.stderr / p.value) < WELL_DETERMINED_REL_STDERR)
            if n not in linear or not well:
                chosen.append(n)
        return chosen
    if isinstance(names, str):
        names = [names]
    names = list(names)
    for n in names:
        if n not in result.parameters:
            raise FitError(f"cannot profile {n!r}: not a parameter of this {result.model} fit "
                           f"(expected one of {', '.join(result.parameters)})")
        if not result.parameters[n].vary:
            raise FitError(f"cannot profile {n!r}: it is fixed in this fit (varied: {', '.join(varied)})")
    return list(dict.fromkeys(names))


def _check_settings(max_refits, tolerance, search_factor):
    if isinstance(max_refits, bool) or not isinstance(max_refits, (int, np.integer)) or max_refits < 0:
        raise FitError(f"max_refits_per_parameter must be an integer >= 0, got {max_refits!r}")
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise FitError(f"refit_tolerance must be a number in (0, 1), got {tolerance!r}")
    if not (isinstance(search_factor, (int, float)) and 1 < search_factor < math.inf):
        raise FitError(f"search_factor must be a finite number > 1, got {search_factor!r}")


# ----------------------------------------------------------------------------- public functions
def default_max_refits(model):
    """The default cap on the refits per parameter for ``model``: :data:`DEFAULT_MAX_REFITS`, or
    fewer for the costly models of :data:`COSTLY_MODEL_DEFAULTS`."""
    return COSTLY_MODEL_DEFAULTS.get(model, (DEFAULT_MAX_REFITS, None))[0]


def default_refit_tolerance(model):
    """The default tolerance of the profile refits for ``model``: :data:`DEFAULT_REFIT_TOLERANCE`, or
    looser for the costly models of :data:`COSTLY_MODEL_DEFAULTS`."""
    return COSTLY_MODEL_DEFAULTS.get(model, (None, DEFAULT_REFIT_TOLERANCE))[1]


def profile_intervals(data, result, *, levels=DEFAULT_LEVELS, names=None, max_refits_per_parameter=None,
                      refit_tolerance=None, search_factor=DEFAULT_SEARCH_FACTOR, fit_function=None, progress=None,
                      **fit_kwargs):
    """Profile-likelihood confidence intervals of the varied parameters of a fit.

    Call it right after :func:`~tunnelsim.fitting.fit_magnetization` with the same data and keyword
    arguments (``model``, ``start``, ``fixed``, ``P_star``, ...); see the module docstring for the method.

    Parameters
    ----------
    data : MagnetizationData
        The data that were fitted.
    result : FitResult
        The best fit.
    levels : sequence of float, optional
        Confidence levels in (0, 1); default 68.27 % (``Delta chi^2 = 1``) and 95 % (3.84). Reported
        as ``ci68``, ``ci95`` (the level in per cent).
    names : sequence of str, optional
        Parameters to profile (varied reported names). Default: every varied parameter except the
        Larmor-Langevin ones (the species densities, ``n_Fe2_per_g`` and ``n_Fe3_per_g`` by default, and
        ``chi_L_emu_per_g_Oe``) with relative standard error below 0.1, for which the linearised error holds.
    max_refits_per_parameter : int, optional
        Cap on the refits per parameter (default :func:`default_max_refits` of the model: 16, fewer
        for ``exact``); 0 computes nothing and returns ``result``.
    refit_tolerance : float, optional
        ``tolerance`` of the profile refits (default :func:`default_refit_tolerance` of the model:
        1e-7, looser for ``exact``).
    search_factor : float, optional
        How far the search goes: ``value * factor**+-1`` for a positive parameter,
        ``value +- factor max(|value|, stderr)`` for a signed one (default 1e3).
    fit_function : callable, optional
        The fitter, called as ``fit_function(data, start=..., fixed=..., tolerance=..., **fit_kwargs)``
        (default :func:`~tunnelsim.fitting.fit_magnetization`).
    progress : callable, optional
        Called with one line of text as each parameter's profile ends (refits, seconds, intervals).
    **fit_kwargs
        The keyword arguments the best fit was made with (``model``, ``start``, ``fixed``, ``P_star``,
        ``T0_K``, ``species``, ``max_nfev``, ...). ``model``, ``P_star``, ``T0_K`` and ``species``
        default to the result's (so the refits keep the fit's species without passing them).
        ``tolerance`` is replaced by ``refit_tolerance``.

    Returns
    -------
    FitResult
        ``result`` with :class:`~tunnelsim.fitting.ProfileInterval` s in each profiled parameter
        (``ci68``, ``ci95``), profile flags appended to the parameters' flags, and ``profile``
        (:class:`ProfileSummary`: refits, traces, time, any better fit found).

    Raises
    ------
    FitError
        (a ``ValueError``) a level outside (0, 1), a name that is not a varied parameter of the fit,
        or a bad setting.
    """
    if not isinstance(result, FitResult):
        raise FitError(f"result must be the FitResult of the fit, got {type(result).__name__}")
    if max_refits_per_parameter is None:
        max_refits_per_parameter = default_max_refits(result.model)
    if refit_tolerance is None:
        refit_tolerance = default_refit_tolerance(result.model)
    levels = _check_levels(levels)
    names = _check_names(result, names)
    _check_settings(max_refits_per_parameter, refit_tolerance, search_factor)
    if max_refits_per_parameter == 0:
        return result
    if fit_function is None:
        from .least_squares import fit_magnetization as fit_function
    kw = dict(fit_kwargs)
    if "model" in kw and kw["model"] != result.model:
        raise FitError(f"model {kw['model']!r} differs from the fit's {result.model!r}")
    kw["model"] = result.model
    for key, value in (("P_star", result.P_star), ("T0_K", result.T0_K), ("species", result.species),
                       ("eq10_prefactor", result.eq10_prefactor)):
        kw.setdefault(key, value)
    if "x_Fe2" in result.parameters:  # total iron fixed: the refits keep it
        kw.setdefault("iron_total_per_g", result.parameters["n_Fe_total_per_g"].value)
    say = progress or (lambda line: None)
    clock = time.perf_counter()
    profiler = _Profiler(data, result, fit_function, kw, levels, int(max_refits_per_parameter), float(refit_tolerance),
                         float(search_factor))
    parameters = dict(result.parameters)
    refits, traces = {}, {}
    for name in names:
        tick = time.perf_counter()
        intervals, flags, spent, trace = profiler.profile(name)
        p = parameters[name]
        parameters[name] = replace(p, flags=tuple(p.flags) + flags, intervals=intervals)
        refits[name], traces[name] = spent, trace
        shown = ", ".join(f"{ci.label} {_format_interval(ci)}" for ci in intervals)
        say(f"profile: {name}: {spent} refits in {time.perf_counter() - tick:.1f} s: {shown}")
    better = None
    if profiler.better is not None:
        name, better = profiler.better
        theta = better.parameters[name].value
        p = parameters[name]
        parameters[name] = replace(p, flags=p.flags + (
            f"a refit with {name} fixed at {theta:.6g} reached chi2 = {better.chi2:.8g} < {result.chi2:.8g}: "
            "the fit was not at its minimum; restart from profile.better_fit",))
    summary = ProfileSummary(
        levels=levels, delta_chi2_scale=profiler.scale, chi2_min=result.chi2, refits=MappingProxyType(refits),
        traces=MappingProxyType(traces), better_fit=better, seconds=time.perf_counter() - clock,
        max_refits_per_parameter=int(max_refits_per_parameter), refit_tolerance=float(refit_tolerance),
        search_factor=float(search_factor))
    return replace(result, parameters=MappingProxyType(parameters), profile=summary)


def fit_with_intervals(data, model="etm", *, intervals=True, levels=DEFAULT_LEVELS, names=None,
                       max_refits_per_parameter=None, refit_tolerance=None, search_factor=DEFAULT_SEARCH_FACTOR,
                       max_restarts=1, progress=None, **fit_kwargs):
    """:func:`~tunnelsim.fitting.fit_magnetization`, then :func:`profile_intervals`.

    If a profile refit finds a lower chi^2 than the fit, the fit is restarted from that point and
    profiled again, at most ``max_restarts`` times (``profile.restarts`` counts them,
    ``profile.replaced_chi2`` keeps the chi^2 of the fits replaced, and ``profile.seconds`` and
    ``profile.total_refits`` include the passes discarded). A restart whose fit does not converge
    keeps the previous result (its better fit stays flagged).

    Parameters
    ----------
    data : MagnetizationData
    model : str, optional
    intervals : bool, optional
        False: the plain fit, no profiles.
    levels, names, max_refits_per_parameter, refit_tolerance, search_factor, progress
        As for :func:`profile_intervals` (``None`` for the model's defaults). ``progress`` is also
        called when the fit ends and when it restarts.
    max_restarts : int, optional
    **fit_kwargs
        Passed to :func:`~tunnelsim.fitting.fit_magnetization` (``start``, ``fixed``, ``P_star``,
        ``species``, ...); ``species=`` carries the paramagnetic species to the fit and its profiles.

    Returns
    -------
    FitResult
    """
    from .least_squares import FitConvergenceError, fit_magnetization

    # check the interval settings before spending time on the fit
    if max_refits_per_parameter is None:
        max_refits_per_parameter = default_max_refits(model)
    if refit_tolerance is None:
        refit_tolerance = default_refit_tolerance(model)
    _check_levels(levels)
    _check_settings(max_refits_per_parameter, refit_tolerance, search_factor)
    say = progress or (lambda line: None)
    clock = time.perf_counter()
    result = fit_magnetization(data, model, **fit_kwargs)
    if not intervals or max_refits_per_parameter == 0:
        return result
    say(f"fit: chi2 = {result.chi2:.8g} after {result.nfev} model evaluations in {time.perf_counter() - clock:.1f} s; "
        f"profiling (at most {max_refits_per_parameter} refits per parameter)")
    kw = dict(fit_kwargs, levels=levels, names=names, max_refits_per_parameter=max_refits_per_parameter,
              refit_tolerance=refit_tolerance, search_factor=search_factor, progress=progress)
    clock = time.perf_counter()
    out = profile_intervals(data, result, model=model, **kw)
    replaced, earlier = [], 0
    while out.profile is not None and out.profile.better_fit is not None and len(replaced) < max_restarts:
        say(f"restart: a profile refit reached chi2 = {out.profile.better_fit.chi2:.8g} < {result.chi2:.8g}; "
            "fitting again from it")
        start = _restart_values(fit_kwargs.get("start"), out.profile.better_fit)
        try:
            again = fit_magnetization(data, model, **dict(fit_kwargs, start=start))
        except FitConvergenceError as exc:
            say(f"restart: the fit from the better point did not converge ({exc}); keeping the first result")
            break
        replaced.append(result.chi2)
        earlier += out.profile.total_refits
        result = again
        say(f"restart: chi2 = {result.chi2:.8g}; profiling again")
        out = profile_intervals(data, result, model=model, **dict(kw, start=start))
    if out.profile is not None:
        out = replace(out, profile=replace(out.profile, restarts=len(replaced), replaced_chi2=tuple(replaced),
                                           earlier_refits=earlier, seconds=time.perf_counter() - clock))
    return out


def _restart_values(user_start, better):
    """Starting values at ``better``, keeping the user's bounds and vary settings."""
    start = dict(user_start or {})
    for n, p in better.parameters.items():
        entry = start.get(n)
        if not isinstance(entry, ParameterEntry):
            start[n] = float(p.value)
        elif entry.vary:
            lo = -math.inf if entry.min is None else entry.min
            hi = math.inf if entry.max is None else entry.max
            start[n] = replace(entry, value=float(min(max(p.value, lo), hi)))
    return start
