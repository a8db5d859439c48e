"""The search behind :func:`tunnelsim.fitting.intervals.profile_intervals`: one parameter's profile.

:class:`_Profiler` holds what every parameter of one fit shares (the data, the best fit, the
fitter and its keyword arguments, the levels and the refit budget); :meth:`_Profiler.profile`
walks each side of one parameter outwards from the estimate, brackets every threshold, refines
the brackets and interpolates the crossings. The method (steps in ``ln theta`` or ``theta``,
extrapolation of ``sqrt(Delta chi^2)``, safeguarded secant refinement, open ends at the search
limit, the ``n_ATS`` width floor, refits redone from the other neighbour when caught in another
minimum, the better fit a refit may find) is described in :mod:`tunnelsim.fitting.intervals`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np

from .parameters import ParameterEntry
from .result import ProfileInterval

#: The confidence level of one standard deviation of a Gaussian, erf(1/sqrt 2) = 0.6827 (Delta chi^2 = 1).
ONE_SIGMA_LEVEL = math.erf(1.0 / math.sqrt(2.0))
#: Parameters that may take either sign (searched in theta, not ln theta).
SIGNED_NAMES = frozenset({"chi_L_emu_per_g_Oe", "delta_mu_K", "gamma", "E0_K"})
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
                with warnings.catch_warnings():  # trial points far out overflow; a refit that fails is reported
                    warnings.simplefilter("ignore", RuntimeWarning)
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
                ends[(label, side)] = (far.theta, True)  # open: the interval reaches at least this far
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
