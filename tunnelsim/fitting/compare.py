"""Fit several models of Eq. 17 to the same data and compare them: :func:`compare_models`.

Each model is fitted jointly to all runs (:func:`~tunnelsim.fitting.fit_magnetization`) from its
own automatic start (:func:`~tunnelsim.fitting.start.estimate_start`), or from the values the
caller gives (the rest estimated). The comparison reports per model the number of varied
parameters, chi^2, reduced chi^2, AIC and BIC (lmfit's, ``n ln(chi^2/n) + 2k`` and
``n ln(chi^2/n) + k ln n``), the AIC difference to the best model and the shared parameters side
by side; the model with the lowest AIC is the preferred one. All fits use the same points and
weights, so their chi^2, AIC and BIC are comparable. A model that does not converge is reported
with its reason instead of numbers.

A difference in AIC below 2 is conventionally not a preference (Burnham and Anderson); the text
report says so when the runner-up is that close.

With ``intervals=True`` each fit also gets profile-likelihood intervals
(:func:`~tunnelsim.fitting.fit_with_intervals`; off by default, as it multiplies the cost by the
refits); the rows then carry each compared parameter's 95 % interval.

Every model uses the same paramagnetic species (``species``, default Fe2+ and Fe3+;
:mod:`tunnelsim.ions`); the shared parameters are their densities ``n_<tag>_per_g`` and the
rest of :data:`COMPARED_PARAMETERS` (:func:`compared_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..ions import DEFAULT_SPECIES, density_parameter_name, density_parameter_names, describe_species
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .intervals import fit_with_intervals
from .least_squares import FitConvergenceError
from .models import MODELS, FitError, _species, model_parameter_names
from .result import _format_interval
from .start import check_determinable, fit_start

__all__ = ["AIC_INDISTINGUISHABLE", "COMPARED_PARAMETERS", "ComparisonRow", "ModelComparison", "compare_models",
           "compared_parameters", "format_comparison", "parse_model_list"]

_COMPARED_OTHERS = ("chi_L_emu_per_g_Oe", "n_ATS_per_g", "D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "delta_mu_K",
                    "charge_area_A2")


def compared_parameters(species=DEFAULT_SPECIES):
    """Parameters shown side by side, in this order, where a model has them: the species densities,
    then ``chi_L_emu_per_g_Oe``, ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``,
    ``delta_mu_K``, ``charge_area_A2``."""
    return density_parameter_names(species) + _COMPARED_OTHERS


#: :func:`compared_parameters` of the default species (Fe2+, Fe3+).
COMPARED_PARAMETERS = compared_parameters()
#: An AIC difference below this is not read as a preference.
AIC_INDISTINGUISHABLE = 2.0


@dataclass(frozen=True)
class ComparisonRow:
    """One model of a comparison.

    Attributes
    ----------
    model : str
    converged : bool
    reason : str or None
        Why there are no numbers (a fit that did not converge).
    n_varied : int or None
    chi2, chi2_reduced, aic, bic, delta_aic : float or None
        ``delta_aic`` is ``aic`` minus the lowest AIC of the converged fits.
    parameters : mapping of str to (float, float or None, bool)
        ``(value, standard error, flagged as poorly determined)`` of the :func:`compared_parameters`
        the model has.
    intervals : mapping of str to ProfileInterval
        The 95 % profile interval of each compared parameter that has one (empty without profiles).
    """

    model: str
    converged: bool
    reason: str | None
    n_varied: int | None
    chi2: float | None
    chi2_reduced: float | None
    aic: float | None
    bic: float | None
    delta_aic: float | None
    parameters: MappingProxyType
    intervals: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self):
        def num(x):
            return None if x is None or not np.isfinite(x) else float(x)

        return {"model": self.model, "converged": self.converged, "reason": self.reason, "n_varied": self.n_varied,
                "chi2": num(self.chi2), "chi2_reduced": num(self.chi2_reduced), "aic": num(self.aic),
                "bic": num(self.bic), "delta_aic": num(self.delta_aic),
                "parameters": {n: {"value": num(v), "stderr": num(e), "flagged": f, "ci95": self._ci95(n, num)}
                               for n, (v, e, f) in self.parameters.items()}}

    def _ci95(self, name, num):
        ci = self.intervals.get(name)
        return None if ci is None else [num(ci.low), num(ci.high)]


@dataclass(frozen=True)
class ModelComparison:
    """The outcome of :func:`compare_models`.

    Attributes
    ----------
    models : tuple of str
        In the order given.
    fits : mapping of str to FitResult
        The converged fits.
    failures : mapping of str to str
        The reason of each model that did not converge.
    starts : mapping of str to StartEstimate or None
        The estimated start of each model (None when every value was given).
    rows : tuple of ComparisonRow
        One per model, in the order given.
    preferred : str or None
        The converged model with the lowest AIC (None if none converged).
    n_points : int
    weighted : bool
    species : tuple of Species
        The paramagnetic species of every fit.
    """

    models: tuple
    fits: MappingProxyType
    failures: MappingProxyType
    starts: MappingProxyType
    rows: tuple
    preferred: str | None
    n_points: int
    weighted: bool
    species: tuple = DEFAULT_SPECIES

    def row(self, model):
        return next(r for r in self.rows if r.model == model)

    def to_dict(self):
        """The comparison table, the preferred model and each fit's :meth:`FitResult.to_dict` (JSON-ready)."""
        fits = {}
        for m in self.models:
            if m in self.fits:
                fits[m] = self.fits[m].to_dict()
            else:
                fits[m] = {"model": m, "converged": False, "message": self.failures[m]}
            if self.starts.get(m) is not None:
                fits[m]["start"] = self.starts[m].to_dict()
        return {"analysis": "model_comparison", "models": list(self.models), "preferred": self.preferred,
                "criterion": "lowest AIC (lmfit: n ln(chi2/n) + 2k); delta_aic is relative to it",
                "n_points": self.n_points,
                "weights": "1/sigma from the data" if self.weighted else "uniform (the data carry no sigma)",
                "table": [r.to_dict() for r in self.rows], "fits": fits,
                "species": [{"name": s.name, "g": s.g, "J": s.J, "parameter": density_parameter_name(s)}
                            for s in self.species]}


def parse_model_list(text):
    """``"ll,etm"`` -> ``("ll", "etm")``; raises :class:`FitError` (one line) on unknown or repeated names."""
    items = [m.strip() for m in str(text).split(",")]
    if not items or any(not m for m in items):
        raise FitError(f"--models: expected a comma-separated list of {', '.join(MODELS)}, got {text!r}")
    for m in items:
        if m not in MODELS:
            raise FitError(f"--models: unknown model {m!r}; expected a comma-separated list of {', '.join(MODELS)}")
    repeated = [m for k, m in enumerate(items) if m in items[:k]]
    if repeated:
        raise FitError(f"--models: {repeated[0]!r} is listed twice")
    return tuple(items)


def _for_model(mapping, model, species=DEFAULT_SPECIES):
    names = model_parameter_names(model, species=species)
    return {n: v for n, v in (mapping or {}).items() if n in names}


def compare_models(data, models=("ll", "etm"), start=None, fixed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                   species=DEFAULT_SPECIES, eq15=True, max_nfev=None, progress=None, intervals=False,
                   max_refits_per_parameter=None):
    """Fit each model to the same data and compare them by AIC.

    Parameters
    ----------
    data : MagnetizationData
    models : sequence of str
        Names from :data:`~tunnelsim.fitting.MODELS`, each once.
    start : mapping, optional
        Starting values (numbers or ``ParameterEntry``) by reported name; each model uses the names
        it has and estimates the others (:func:`~tunnelsim.fitting.start.estimate_start`).
    fixed : mapping, optional
        ``{name: value}`` held fixed in every model that has the name (each name must belong to at
        least one model).
    P_star, T0_K : float, optional
        Settings of every fit.
    species : sequence of Species, optional
        The paramagnetic species of every model (default Fe2+, Fe3+); ``start`` and ``fixed`` name
        their densities ``n_<tag>_per_g``.
    eq15 : bool, optional
        Eq. 15 (``delta_mu_K``) in the intrinsic models; with ``start`` given, on only if it
        holds ``delta_mu_K``.
    max_nfev : int, optional
        Budget of each fit.
    progress : callable, optional
        Called with a line of text as each model's start is found, its fit ends and (with intervals)
        each parameter's profile ends.
    intervals : bool, optional
        Profile-likelihood intervals of each fit (:func:`~tunnelsim.fitting.fit_with_intervals`);
        off by default (each profiled parameter costs up to ``max_refits_per_parameter`` refits).
    max_refits_per_parameter : int, optional
        Refit cap of the profiles (default: the library's for each model).

    Returns
    -------
    ModelComparison

    Raises
    ------
    FitError
        Bad model names, a fixed name no model has, or data that cannot determine one of the models.
    """
    models = parse_model_list(models if isinstance(models, str) else ",".join(models))
    species = _species(species)
    fixed = dict(fixed or {})
    start = dict(start or {})
    for name in fixed:
        if not any(name in model_parameter_names(m, species=species) for m in models):
            raise FitError(f"cannot fix {name!r}: not a parameter of any of the models {', '.join(models)}")
    if start:
        eq15 = "delta_mu_K" in start or "delta_mu_K" in fixed
    for m in models:  # refuse bad data before any fit
        names = model_parameter_names(m, eq15, species=species)
        check_determinable(data, m, len([n for n in names if n not in _for_model(fixed, m, species)]))
    say = progress or (lambda line: None)
    fits, failures, starts = {}, {}, {}
    for m in models:
        model_start, starts[m] = fit_start(data, m, start, _for_model(fixed, m, species), P_star, T0_K, species, eq15)
        if starts[m] is not None:
            for line in starts[m].lines(f"start ({m})"):
                say(line)
            say(f"{m}: start estimated in {starts[m].seconds:.2g} s ({starts[m].n_evaluations} model evaluations)")
        try:
            fits[m] = fit_with_intervals(data, m, intervals=intervals,
                                         max_refits_per_parameter=max_refits_per_parameter, start=model_start,
                                         fixed=_for_model(fixed, m, species), P_star=P_star, T0_K=T0_K, species=species,
                                         max_nfev=max_nfev, progress=lambda line, m=m: say(f"{m}: {line}"))
            say(f"{m}: converged, chi2 = {fits[m].chi2:.6g}")
        except FitConvergenceError as exc:
            failures[m] = str(exc)
            say(f"{m}: {exc}")
    rows, preferred = _rows(models, fits, failures, species)
    return ModelComparison(tuple(models), MappingProxyType(fits), MappingProxyType(failures),
                           MappingProxyType(starts), rows, preferred, data.n_points,
                           data.sigma_emu_per_g is not None, species)


def _rows(models, fits, failures, species=DEFAULT_SPECIES):
    best = min(fits, key=lambda m: fits[m].aic) if fits else None
    rows = []
    for m in models:
        if m not in fits:
            rows.append(ComparisonRow(m, False, failures[m], None, None, None, None, None, None, MappingProxyType({})))
            continue
        r = fits[m]
        params = {n: (r.parameters[n].value, r.parameters[n].stderr, bool(r.parameters[n].flags))
                  for n in compared_parameters(species) if n in r.parameters}
        cis = {n: r.parameters[n].interval("ci95") for n in params if r.parameters[n].interval("ci95") is not None}
        rows.append(ComparisonRow(m, True, None, r.n_varied, r.chi2, r.chi2_reduced, r.aic, r.bic,
                                  r.aic - fits[best].aic, MappingProxyType(params), MappingProxyType(cis)))
    return tuple(rows), best


def _value(v, e, flagged, ci=None):
    mark = " *" if flagged else ""
    if v is None or not np.isfinite(v):
        return "n/a"
    interval = "" if ci is None else " " + _format_interval(ci)
    if e is None or not np.isfinite(e):
        return f"{v:.5g}{interval}{mark}"
    return f"{v:.5g} +- {e:.2g}{interval}{mark}"


def format_comparison(comparison):
    """A plain-text report: the statistics table, the parameters side by side and the preferred model."""
    c = comparison
    lines = [f"model comparison: {c.n_points} points, weights "
             + ("1/sigma" if c.weighted else "uniform (no sigma; reduced chi2 in emu^2/g^2)")]
    if tuple(c.species) != DEFAULT_SPECIES:
        lines.append(f"paramagnetic species: {describe_species(c.species)}")
    header = ("model", "n_varied", "chi2", "red. chi2", "AIC", "BIC", "dAIC")
    table = [header]
    for r in c.rows:
        if r.converged:
            table.append((r.model, str(r.n_varied), f"{r.chi2:.6g}", f"{r.chi2_reduced:.4g}", f"{r.aic:.6g}",
                          f"{r.bic:.6g}", f"{r.delta_aic:.4g}"))
        else:
            table.append((r.model, "-", "-", "-", "-", "-", "-"))
    widths = [max(len(row[k]) for row in table) for k in range(len(header))]
    for row in table:
        lines.append("  " + "  ".join(cell.ljust(w) if k == 0 else cell.rjust(w)
                                      for k, (cell, w) in enumerate(zip(row, widths))).rstrip())
    for r in c.rows:
        if not r.converged:
            lines.append(f"  {r.model}: not converged: {r.reason}")
    shown = [n for n in compared_parameters(c.species) if any(n in r.parameters for r in c.rows)]
    fitted = [r for r in c.rows if r.converged]
    if shown and fitted:
        with_ci = any(r.intervals for r in fitted)
        lines.append("parameters (value +- standard error" + (" [95 % profile interval]" if with_ci else "") + "):")
        cells = [["parameter"] + [r.model for r in fitted]]
        for n in shown:
            cells.append([n] + [_value(*r.parameters[n], r.intervals.get(n)) if n in r.parameters else "-"
                                for r in fitted])
        widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]))]
        for row in cells:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if any(f for r in fitted for (_, _, f) in r.parameters.values()):
            lines.append("  * poorly determined (the fit's flags give the reason)")
    if c.preferred is None:
        lines.append("no model converged")
    else:
        others = sorted((r.delta_aic, r.model) for r in fitted if r.model != c.preferred)
        text = f"AIC prefers {c.preferred}"
        if others:
            d, runner = others[0]
            text += f" (next: {runner}, delta AIC = {d:.4g}"
            text += "; below 2, not a clear preference)" if d < AIC_INDISTINGUISHABLE else ")"
        lines.append(text)
    return "\n".join(lines)
