"""Standard errors, correlations and flags of a converged fit, gathered into its :class:`FitResult`.

**Flags.** A varied parameter is flagged as poorly determined when its standard error is
missing, its relative standard error exceeds 1, its correlation with another exceeds 0.99 in
magnitude, or it ends at a bound; ``n_ATS_per_g``, ``D0QS_min_K_A2`` and ``D0QS_max_K_A2`` also
when ``v = L^2``, ``L = ln(D0QS_max / D0QS_min)``, is within 3 standard errors of 0 (the width
unresolved, ``n_ATS = A/L`` unbounded; ``A = n_ATS L`` and ``c = sqrt(D0QS_min D0QS_max)`` are then
reported as ``n_ATS_ln_ratio_per_g`` and ``D0QS_geometric_mean_K_A2``; the internal parameters are
described in :mod:`~tunnelsim.fitting.problem`). Flags are reported, never hidden.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from .models import INTRINSIC_MODELS
from .problem import _A, _C, _LN_D_MIN, _MIN_LOG_RATIO, _V
from .result import FitResult, ParameterEstimate

__all__ = ["CORRELATION_LIMIT", "REL_STDERR_LIMIT"]

#: Relative standard error above which a parameter is flagged.
REL_STDERR_LIMIT = 1.0
#: |correlation| above which both parameters are flagged.
CORRELATION_LIMIT = 0.99


def _flags(names, values, stderr, varies, corr, at_bound):
    flags = {n: [] for n in names}
    for i, n in enumerate(names):
        if not varies[i]:
            continue
        s = stderr[i]
        if s is None or not np.isfinite(s):
            flags[n].append("standard error unavailable")
        elif s > REL_STDERR_LIMIT * abs(values[i]):
            with np.errstate(divide="ignore", over="ignore"):
                rel = np.float64(s) / abs(values[i])
            flags[n].append(f"relative standard error {rel:.3g} > {REL_STDERR_LIMIT:g}")
        if at_bound.get(n):
            flags[n].append(at_bound[n])
    k = len(names)
    for i in range(k):
        for j in range(k):
            if i != j and np.isfinite(corr[i, j]) and abs(corr[i, j]) > CORRELATION_LIMIT:
                flags[names[i]].append(f"|correlation| with {names[j]} = {abs(corr[i, j]):.4f} > {CORRELATION_LIMIT:g}")
    return flags


def _result(prob, res, x, nfev):
    rep = prob.reported(x)
    derived_values = prob.derived(rep)
    names = prob.names
    k = len(names)
    all_names = list(names) + list(derived_values)
    values = np.array([float(rep[n]) for n in names] + [float(v) for v in derived_values.values()])
    Jr = prob.reported_jacobian(x)
    varies = np.any(Jr != 0, axis=1)
    covar = getattr(res, "covar", None)
    m = len(all_names)
    if covar is not None and np.all(np.isfinite(covar)) and np.all(np.diag(covar) >= 0):
        cov = Jr @ covar @ Jr.T
        stderr = [math.sqrt(cov[i, i]) if varies[i] and cov[i, i] >= 0 else None for i in range(m)]
        internal_err = np.sqrt(np.diag(covar)) * prob.scale
    else:
        cov = np.full((m, m), np.nan)
        stderr = [None] * m
        internal_err = np.full(len(prob.free), np.nan)
    vi = [i for i in range(k) if varies[i]]
    s = np.array([stderr[i] if stderr[i] else np.nan for i in vi])
    corr = cov[np.ix_(vi, vi)] / np.outer(s, s) if vi else np.zeros((0, 0))
    full_corr = np.full((k, k), np.nan)
    full_corr[np.ix_(vi, vi)] = corr
    at_bound = {}
    owners = {_A: ("n_ATS_per_g",), _C: ("D0QS_min_K_A2", "D0QS_max_K_A2"), _V: ("n_ATS_per_g", "D0QS_max_K_A2"),
              _LN_D_MIN: ("D_min_K",)}
    for j, n in enumerate(prob.free):
        for bound, word in ((prob.lower[j], "lower"), (prob.upper[j], "upper")):
            if np.isfinite(bound) and abs(x[j] - bound) <= 1e-6 * max(1.0, abs(bound)):
                what = "D0QS_max/D0QS_min at its lower bound" if n == _V else f"at its {word} bound"
                for target in owners.get(n, (n,)):
                    at_bound[target] = what
    flags = _flags(names, values[:k], stderr[:k], varies[:k], full_corr, at_bound)
    if _V in prob.free:
        j = prob.free.index(_V)
        v, sv = x[j] * prob.scale[j], internal_err[j]
        if np.isfinite(sv) and v - 3.0 * sv <= _MIN_LOG_RATIO**2:
            why = (f"D0 width unresolved: ln(D0QS_max/D0QS_min)^2 = {v:.3g} +- {sv:.2g} is consistent with 0 "
                   "within 3 stderr, where n_ATS is unbounded; n_ATS_ln_ratio_per_g and D0QS_geometric_mean_K_A2 "
                   "are the determined combinations")
            for n in ("n_ATS_per_g", "D0QS_min_K_A2", "D0QS_max_K_A2"):
                if n in flags and prob.model in INTRINSIC_MODELS:
                    flags[n].append(why)
    parameters = {n: ParameterEstimate(float(values[i]), stderr[i], bool(varies[i]), tuple(flags[n]))
                  for i, n in enumerate(names)}
    derived = {n: ParameterEstimate(float(values[i]), stderr[i], bool(varies[i]))
               for i, n in enumerate(all_names) if i >= k}
    model = prob._evaluate(x)[2]
    internal = {n: (float(x[j] * prob.scale[j]), float(internal_err[j])) for j, n in enumerate(prob.free)}
    # chi^2 in the data's units: (emu/g)^2 without sigma (the fit ran in units of prob.residual_unit)
    n, nvary = int(res.ndata), int(res.nvarys)
    chi2 = float(res.chisqr) * prob.residual_unit**2
    chi2_reduced = chi2 / (n - nvary) if n > nvary else float("nan")
    with np.errstate(divide="ignore"):
        log_term = n * math.log(chi2 / n) if chi2 > 0 else -math.inf
    aic, bic = log_term + 2 * nvary, log_term + nvary * math.log(n)
    return FitResult(
        model=prob.model, parameters=MappingProxyType(parameters), derived=MappingProxyType(derived),
        correlation_names=tuple(names[i] for i in vi), correlation=corr, chi2=chi2,
        chi2_reduced=chi2_reduced, aic=aic, bic=bic, n_points=n,
        n_varied=nvary, stderr_scaled_by_reduced_chi2=not prob.weighted, P_star=prob.P_star,
        T0_K=prob.T0_K, eq15=prob.eq15, message=" ".join(str(res.message).split()), nfev=int(nfev),
        best_fit_emu_per_g=model, normalized_residuals=(model - prob.M) / prob.sigma * prob.residual_unit, weighted=prob.weighted,
        species=prob.species, internal=MappingProxyType(internal), eq10_prefactor=prob.eq10_prefactor)
