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
parameter, in ``theta`` for one that may change sign (``chi_L_emu_per_g_Oe``, ``delta_mu_K``). The
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

**A better fit.** If a refit reaches a chi^2 lower than the best fit's by more than 0.01 (in
``Delta chi^2`` units) the fit was not at its minimum: the lowest such refit is kept in
``profile.better_fit``, the parameter is flagged, and :func:`fit_with_intervals` restarts from it.

Cost: at most ``max_refits_per_parameter`` refits per parameter (default 16; 0 turns profiling
off); the counts and the time spent are recorded in ``FitResult.profile``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from .models import FitError
from .parameters import ParameterEntry
from .result import FitResult, ProfileInterval

__all__ = [
    "DEFAULT_LEVELS",
    "DEFAULT_MAX_REFITS",
    "ONE_SIGMA_LEVEL",
    "ProfileSummary",
    "fit_with_intervals",
    "profile_intervals",
]

#: The confidence level of one standard deviation of a Gaussian, erf(1/sqrt 2) = 0.6827 (Delta chi^2 = 1).
ONE_SIGMA_LEVEL = math.erf(1.0 / math.sqrt(2.0))
#: Default confidence levels: 68.27 % and 95 %.
DEFAULT_LEVELS = (ONE_SIGMA_LEVEL, 0.95)
#: Default cap on the refits spent on one parameter.
DEFAULT_MAX_REFITS = 16
#: Default ftol/xtol/gtol of the profile refits.
DEFAULT_REFIT_TOLERANCE = 1e-7
#: Default search limit: this factor above and below the estimate.
DEFAULT_SEARCH_FACTOR = 1e3
#: Larmor-Langevin parameters (the model is linear in them); profiled only when poorly determined.
LINEAR_NAMES = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")
#: Relative standard error below which a linear parameter counts as well determined (not profiled).
WELL_DETERMINED_REL_STDERR = 0.1
#: Parameters that may take either sign (searched in theta, not ln theta).
SIGNED_NAMES = frozenset({"chi_L_emu_per_g_Oe", "delta_mu_K"})
#: A refit whose Delta chi^2 is below minus this found a better minimum.
BETTER_FIT_DELTA = 0.01
#: A refined crossing is accepted when |Delta chi^2 - threshold| <= this x threshold.
_THRESHOLD_RTOL = 0.02
#: ... or when the quadratic and linear interpolations of the crossing agree to this fraction of its distance.
_END_RTOL = 0.01
#: ... in a bracket this narrow in sqrt(Delta chi^2) (relative to sqrt(threshold)).
_NARROW = 0.35
#: A refit whose Delta chi^2 exceeds a point farther out by more than this (x max(1, Delta)) is redone
#: from its other neighbour: the profile is a minimum, so it cannot fall away from the estimate.
_MONOTONE_SLACK = 0.05
#: ln(D0QS_max/D0QS_min) at or below this: the D0 width is at the fit's floor (problem._MIN_LOG_RATIO = 1e-6).
_WIDTH_FLOOR = 1.5e-6
_D0_NAMES = ("n_ATS_per_g", "D0QS_min_K_A2", "D0QS_max_K_A2")


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
        Wall time spent on the profiles.
    max_refits_per_parameter : int
    refit_tolerance, search_factor : float
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

    @property
    def total_refits(self):
        return int(sum(self.refits.values()))

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
            lines.append("  refits: " + ", ".join(f"{n} {k}" for n, k in self.refits.items()))
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
        chosen = []
        for n in varied:
            p = result.parameters[n]
            well = (p.stderr is not None and np.isfinite(p.stderr) and p.value != 0
                    and abs(p.stderr / p.value) < WELL_DETERMINED_REL_STDERR)
            if n not in LINEAR_NAMES or not well:
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


# ----------------------------------------------------------------------------- the profile of one parameter
class _Point:
    """One refit: position ``d`` along the search (in u-space, >= 0), ``theta``, ``Delta chi^2``, the fit."""

    __slots__ = ("d", "theta", "delta", "fit")

    def __init__(self, d, theta, delta, fit):
        self.d, self.theta, self.delta, self.fit = d, theta, delta, fit

    @property
    def z(self):
        return math.sqrt(max(self.delta, 0.0))


class _Profiler:
    """Profiles of the parameters of one fit (state shared by all parameters)."""

    def __init__(self, data, result, fit, fit_kwargs, levels, max_refits, tolerance, search_factor):
        self.data, self.result, self.fit, self.kw = data, result, fit, fit_kwargs
        self.levels, self.max_refits, self.tolerance, self.factor = levels, max_refits, tolerance, search_factor
        self.user_start = dict(fit_kwargs.pop("start", None) or {})
        self.user_fixed = dict(fit_kwargs.pop("fixed", None) or {})
        fit_kwargs.pop("tolerance", None)
        self.scale = 1.0 if result.weighted else 1.0 / result.chi2_reduced
        if not result.weighted and result.chi2 > 0:
            # least_squares' gtol bounds the gradient of the unweighted residuals, whose size is the data's
            # (emu/g), not 1: make it relative to the RMS residual, or refits stop before the minimum
            self.tolerance = max(tolerance * min(1.0, math.sqrt(result.chi2 / result.n_points)), 1e-14)
        self.better = None

    # -- one refit
    def _start(self, name, theta, near):
        values = dict(near.values())
        values[name] = theta
        if all(n in values for n in _D0_NAMES) and name in _D0_NAMES:
            n_ats, a, b = (values[n] for n in _D0_NAMES)
            L = math.log(b / a) if b > a > 0 else _WIDTH_FLOOR
            if name == "D0QS_min_K_A2":
                values["D0QS_max_K_A2"] = theta * math.exp(L)
            elif name == "D0QS_max_K_A2":
                values["D0QS_min_K_A2"] = theta * math.exp(-L)
            elif theta > 0:  # n_ATS: keep the weight A = n_ATS L and the geometric centre
                c = math.sqrt(a * b)
                L2 = max(n_ats * L / theta, 2 * _WIDTH_FLOOR)
                values["D0QS_min_K_A2"], values["D0QS_max_K_A2"] = c * math.exp(-L2 / 2), c * math.exp(L2 / 2)
        start = dict(self.user_start)
        for n, p in self.result.parameters.items():
            if not p.vary or n == name:
                continue
            entry = self.user_start.get(n)
            v = values[n]
            if isinstance(entry, ParameterEntry):
                lo = -math.inf if entry.min is None else entry.min
                hi = math.inf if entry.max is None else entry.max
                start[n] = replace(entry, value=float(min(max(v, lo), hi)))
            else:
                start[n] = float(v)
        return start

    def refit(self, name, theta, near):
        """``(fit, Delta chi^2, calls)``, or ``(None, message, calls)`` if the refit failed.

        Warm-started from ``near``; if that fails (a neighbour can sit where the model is at the edge
        of its range), once more from the best fit.
        """
        fixed = dict(self.user_fixed)
        fixed[name] = float(theta)
        calls = 0
        for warm in (near, self.result) if near is not self.result else (near,):
            calls += 1
            try:
                fit = self.fit(self.data, start=self._start(name, theta, warm), fixed=fixed,
                               tolerance=self.tolerance, **self.kw)
                break
            except (ArithmeticError, ValueError, RuntimeError) as exc:  # FitError, FitConvergenceError, LinAlgError
                message = " ".join(str(exc).split()) or type(exc).__name__
        else:
            return None, message, calls
        delta = (fit.chi2 - self.result.chi2) * self.scale
        if delta < -BETTER_FIT_DELTA and (self.better is None or fit.chi2 < self.better[1].chi2):
            self.better = (name, fit)
        return fit, delta, calls

    # -- one parameter
    def profile(self, name):
        p = self.result.parameters[name]
        value, se = p.value, p.stderr
        se = se if se is not None and np.isfinite(se) and se > 0 else None
        entry = self.user_start.get(name)
        user_lo = entry.min if isinstance(entry, ParameterEntry) and entry.min is not None else None
        user_hi = entry.max if isinstance(entry, ParameterEntry) and entry.max is not None else None
        log = value > 0 and name not in SIGNED_NAMES and (user_lo is None or user_lo >= 0)
        budget = [self.max_refits]
        flags = []
        ends = {}  # (label, side) -> (theta, open)
        trace = [(value, 0.0)]
        for side in (-1, +1):
            bound = (user_lo if user_lo is not None else (0.0 if log or (name not in SIGNED_NAMES and value >= 0)
                                                          else -math.inf)) if side < 0 else \
                    (user_hi if user_hi is not None else math.inf)
            half = (budget[0] + 1) // 2 if side < 0 else budget[0]
            spent, results, why = self._side(name, value, se, log, side, bound, half, flags)
            budget[0] -= spent
            trace += [(q.theta, q.delta) for q in results]
            ends.update(why)
        refits = self.max_refits - budget[0]
        intervals = []
        for label, level, t in self.levels:
            (lo, lo_open), (hi, hi_open) = ends[(label, -1)], ends[(label, +1)]
            intervals.append(ProfileInterval(label, level, float(lo), float(hi), lo_open, hi_open))
        one = next((ci for ci in intervals if abs(ci.level - ONE_SIGMA_LEVEL) < 1e-3), None)
        if one is not None and p.stderr is not None and np.isfinite(p.stderr) and p.stderr > 0:
            lo_w, hi_w = value - one.low, one.high - value
            if not (0.5 * p.stderr <= lo_w <= 2 * p.stderr and 0.5 * p.stderr <= hi_w <= 2 * p.stderr):
                flags.append(f"linearised stderr {p.stderr:.3g} does not describe the profile: 68 % interval "
                             f"-{lo_w:.3g} / +{hi_w:.3g} around the value; quote the profile intervals")
        return tuple(intervals), tuple(flags), refits, tuple(sorted(trace))

    def _side(self, name, value, se, log, side, bound, budget, flags):
        """Search one side; returns (refits spent, points, {(label, side): (end, open)})."""
        word = "below" if side < 0 else "above"
        if log:
            u0 = math.log(value)
            limit_theta = value * self.factor ** side
            if side < 0 and bound > 0:
                limit_theta = max(limit_theta, bound)
            if side > 0:
                limit_theta = min(limit_theta, bound)
            to_theta = lambda d: math.exp(u0 + side * d)  # noqa: E731
            first = math.log1p(se / value) if se else math.log(2.0)
            first = min(max(first, 1e-9), math.log(4.0))
            d_limit = abs(math.log(limit_theta) - u0) if limit_theta > 0 else math.inf
        else:
            span = self.factor * max(abs(value), se or 0.0) or self.factor
            limit_theta = value + side * span
            limit_theta = max(limit_theta, bound) if side < 0 else min(limit_theta, bound)
            to_theta = lambda d: value + side * d  # noqa: E731
            first = se if se else max(0.5 * abs(value), 1e-12)
            d_limit = abs(limit_theta - value)
        open_end = bound  # an open end is reported at the bound: 0 / +-inf / the user's min or max
        best = _Point(0.0, value, 0.0, self.result)
        pts = [best]
        spent = 0
        reached_limit = None  # theta where the search stopped at its limit
        stop_reason = None
        thresholds = [t for _, _, t in self.levels]

        def evaluate(d):
            nonlocal spent
            theta = to_theta(d)
            inner = max((q for q in pts if q.d < d), key=lambda q: q.d)
            outer = min((q for q in pts if q.d > d), key=lambda q: q.d, default=None)
            near = inner if outer is None or d - inner.d <= outer.d - d else outer
            fit, delta, calls = self.refit(name, theta, near.fit)
            spent += calls
            if fit is not None and outer is not None and spent < budget and \
                    delta > outer.delta + _MONOTONE_SLACK * max(1.0, outer.delta):
                # above a point farther out: this refit is caught in another minimum; try the other neighbour
                other = outer if near is inner else inner
                fit2, delta2, calls = self.refit(name, theta, other.fit)
                spent += calls
                if fit2 is not None and delta2 < delta:
                    fit, delta = fit2, delta2
            if fit is None:
                return None, delta
            q = _Point(d, theta, delta, fit)
            pts.append(q)
            pts.sort(key=lambda q: q.d)
            return q, None

        # 1. step out until the highest threshold is bracketed, the limit reached or the budget spent
        d = min(first, d_limit)
        while spent < budget:
            if d_limit == 0:
                reached_limit = value
                break
            q, err = evaluate(d)
            if q is None:
                failed = to_theta(d)
                if d - pts[-1].d > 1e-3 * d and spent < budget:
                    d = 0.5 * (pts[-1].d + d)  # retry half way once
                    q, _ = evaluate(d)
                if q is None:
                    flags.append(f"profile refit failed at {name} = {failed:.4g} ({err})")
                    stop_reason = "failed"
                    break
            if name == "n_ATS_per_g" and side > 0 and _at_width_floor(q.fit):
                # n_ATS = A / L with L at its floor: the refit is held by the floor, not by the data, and
                # further up the profile is the flat L -> 0 limit
                pts.remove(q)
                reached_limit = q.theta
                flags.append(f"n_ATS_per_g at {q.theta:.4g} puts the D0 width at its floor (a single D0), "
                             "beyond which n_ATS = n_ATS_ln_ratio / ln(D0QS_max/D0QS_min) is unbounded")
                break
            if q.delta >= thresholds[-1]:
                break
            if d >= d_limit * (1 - 1e-12):
                reached_limit = q.theta
                break
            # extrapolate sqrt(Delta chi^2), linear in theta for a quadratic profile, to the top threshold
            dtheta = abs(q.theta - value)
            if q.z > 0.05 * math.sqrt(thresholds[-1]):
                target = value + side * 1.15 * dtheta * math.sqrt(thresholds[-1]) / q.z
                if log:
                    d_new = abs(math.log(target) - u0) if target > 0 else 4 * d
                else:
                    d_new = abs(target - value)
                d_new = min(max(d_new, 1.5 * d), 4 * d)
            else:
                d_new = 4 * d
            d = min(d_new, d_limit)
        else:
            stop_reason = "budget" if pts[-1].delta < thresholds[-1] else None

        # 2. per threshold: bracket, refine, interpolate
        ends = {}
        for label, level, t in self.levels:
            pct = f"{100 * level:.4g} %"

            def bracket():
                for a, b in zip(pts, pts[1:]):
                    if a.delta < t <= b.delta:
                        return a, b
                return None

            br = bracket()
            while br is not None:
                a, b = br
                lin, quad = _crossing(pts, a, b, math.sqrt(t))
                end_d = lin if quad is None else quad
                if (abs(b.delta - t) <= _THRESHOLD_RTOL * t or abs(a.delta - t) <= _THRESHOLD_RTOL * t
                        or (quad is not None and abs(quad - lin) <= _END_RTOL * lin
                            and b.z - a.z <= _NARROW * math.sqrt(t)) or spent >= budget):
                    break
                d_new = end_d if a.d + 0.1 * (b.d - a.d) <= end_d <= b.d - 0.1 * (b.d - a.d) else 0.5 * (a.d + b.d)
                q, err = evaluate(d_new)
                if q is None:
                    flags.append(f"profile refit failed at {name} = {to_theta(d_new):.4g} ({err})")
                    break
                br = bracket()
            if br is not None:
                ends[(label, side)] = (to_theta(end_d), False)
                continue
            below = [q for q in pts if q.delta < t]
            far = below[-1] if below else best
            if reached_limit is not None and far is pts[-1]:
                shown = "0" if open_end == 0 else f"{open_end:.4g}"
                flags.append(f"{pct} interval reaches the search limit {word} the value ({reached_limit:.4g}): "
                             f"open, reported as {shown}")
                ends[(label, side)] = (open_end, True)
            else:
                why = {"failed": "a refit failed", "budget": f"the refit budget ({self.max_refits}) was spent"}.get(
                    stop_reason, "the profile is not monotonic")
                flags.append(f"{pct} interval {word} the value not closed ({why}): reported at the farthest "
                             f"point with Delta chi2 < {t:.3g}, {far.theta:.4g}")
                ends[(label, side)] = (far.theta, False)
        return spent, [q for q in pts if q is not best], ends


def _crossing(pts, a, b, zt):
    """Where ``sqrt(Delta chi^2)`` crosses ``zt`` between points ``a`` and ``b`` (positions ``d``):
    ``(linear, quadratic)``, the second through ``a``, ``b`` and the nearest other point (None without one
    or when it has no root in the bracket). Both are exact for a quadratic profile."""
    lin = a.d + (zt - a.z) / (b.z - a.z) * (b.d - a.d)
    others = [q for q in pts if q is not a and q is not b]
    if not others:
        return lin, None
    c = min(others, key=lambda q: min(abs(q.d - a.d), abs(q.d - b.d)))
    width = b.d - a.d
    s = np.array([0.0, 1.0, (c.d - a.d) / width])
    coef = np.polyfit(s, np.array([a.z, b.z, c.z]) - zt, 2)
    roots = [r.real for r in np.roots(coef) if abs(r.imag) < 1e-12 and -1e-9 <= r.real <= 1 + 1e-9]
    if len(roots) != 1:
        return lin, None
    return lin, a.d + roots[0] * width


def _at_width_floor(fit):
    """Whether a fit's ``D0QS_max/D0QS_min`` is at the floor of the internal width ``L``."""
    p = fit.parameters
    if not all(n in p for n in _D0_NAMES):
        return False
    a, b = p["D0QS_min_K_A2"].value, p["D0QS_max_K_A2"].value
    return a > 0 and math.log(b / a) <= _WIDTH_FLOOR


# ----------------------------------------------------------------------------- public functions
def profile_intervals(data, result, *, levels=DEFAULT_LEVELS, names=None, max_refits_per_parameter=DEFAULT_MAX_REFITS,
                      refit_tolerance=DEFAULT_REFIT_TOLERANCE, search_factor=DEFAULT_SEARCH_FACTOR, fit_function=None,
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
        Larmor-Langevin ones (``n_Fe2_per_g``, ``n_Fe3_per_g``, ``chi_L_emu_per_g_Oe``) with relative
        standard error below 0.1, for which the linearised error holds.
    max_refits_per_parameter : int, optional
        Cap on the refits per parameter (default 16); 0 computes nothing and returns ``result``.
    refit_tolerance : float, optional
        ``tolerance`` of the profile refits (default 1e-7).
    search_factor : float, optional
        How far the search goes: ``value * factor**+-1`` for a positive parameter,
        ``value +- factor max(|value|, stderr)`` for a signed one (default 1e3).
    fit_function : callable, optional
        The fitter, called as ``fit_function(data, start=..., fixed=..., tolerance=..., **fit_kwargs)``
        (default :func:`~tunnelsim.fitting.fit_magnetization`).
    **fit_kwargs
        The keyword arguments the best fit was made with (``model``, ``start``, ``fixed``, ``P_star``,
        ``T0_K``, ``species``, ``max_nfev``, ...). ``model``, ``P_star``, ``T0_K`` and ``species``
        default to the result's. ``tolerance`` is replaced by ``refit_tolerance``.

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
    for key, value in (("P_star", result.P_star), ("T0_K", result.T0_K), ("species", result.species)):
        kw.setdefault(key, value)
    clock = time.perf_counter()
    profiler = _Profiler(data, result, fit_function, kw, levels, int(max_refits_per_parameter), float(refit_tolerance),
                         float(search_factor))
    parameters = dict(result.parameters)
    refits, traces = {}, {}
    for name in names:
        intervals, flags, spent, trace = profiler.profile(name)
        p = parameters[name]
        parameters[name] = replace(p, flags=tuple(p.flags) + flags, intervals=intervals)
        refits[name], traces[name] = spent, trace
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
                       max_refits_per_parameter=DEFAULT_MAX_REFITS, refit_tolerance=DEFAULT_REFIT_TOLERANCE,
                       search_factor=DEFAULT_SEARCH_FACTOR, max_restarts=1, **fit_kwargs):
    """:func:`~tunnelsim.fitting.fit_magnetization`, then :func:`profile_intervals`.

    If a profile refit finds a lower chi^2 than the fit, the fit is restarted from that point and
    profiled again, at most ``max_restarts`` times (``profile.restarts`` counts them).

    Parameters
    ----------
    data : MagnetizationData
    model : str, optional
    intervals : bool, optional
        False: the plain fit, no profiles.
    levels, names, max_refits_per_parameter, refit_tolerance, search_factor
        As for :func:`profile_intervals`.
    max_restarts : int, optional
    **fit_kwargs
        Passed to :func:`~tunnelsim.fitting.fit_magnetization` (``start``, ``fixed``, ``P_star``, ...).

    Returns
    -------
    FitResult
    """
    from .least_squares import fit_magnetization

    # check the interval settings before spending time on the fit
    _check_levels(levels)
    _check_settings(max_refits_per_parameter, refit_tolerance, search_factor)
    result = fit_magnetization(data, model, **fit_kwargs)
    if not intervals:
        return result
    kw = dict(fit_kwargs, levels=levels, names=names, max_refits_per_parameter=max_refits_per_parameter,
              refit_tolerance=refit_tolerance, search_factor=search_factor)
    out = profile_intervals(data, result, model=model, **kw)
    restarts = 0
    while out.profile is not None and out.profile.better_fit is not None and restarts < max_restarts:
        restarts += 1
        start = _restart_values(fit_kwargs.get("start"), out.profile.better_fit)
        result = fit_magnetization(data, model, **dict(fit_kwargs, start=start))
        out = profile_intervals(data, result, model=model, **dict(kw, start=start))
    if restarts and out.profile is not None:
        out = replace(out, profile=replace(out.profile, restarts=restarts))
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
