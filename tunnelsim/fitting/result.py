"""What a fit returns: the reported parameters, statistics and correlations, as JSON and as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .. import __version__
from ..ions import DEFAULT_SPECIES, density_parameter_name, describe_species
from .models import model_magnetization_emu_per_g

__all__ = ["FitResult", "ParameterEstimate", "ProfileInterval", "write_json"]

#: Interval labels always present in the JSON of every parameter (null where not computed), so that the
#: schema does not depend on whether (or which) parameters were profiled.
_REPORTED_INTERVALS = ("ci68", "ci95")


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass(frozen=True)
class ProfileInterval:
    """A profile-likelihood confidence interval of one parameter at one level.

    Attributes
    ----------
    label : str
        ``"ci68"``, ``"ci95"``, ... (the level in per cent).
    level : float
        Confidence level, e.g. 0.6827 (``Delta chi^2 = 1``) or 0.95 (``Delta chi^2 = 3.84``).
    low, high : float
        The ends. An end the search could not close (``Delta chi^2`` stays below the threshold up to
        the search limit) is *open* and reported at the parameter's bound: 0 for a positive
        parameter, ``-inf``/``inf`` for an unbounded one, or a user bound; an end the refit budget did
        not close is open and reported at the farthest point refitted below the threshold (the
        interval reaches at least that far).
    low_open, high_open : bool
        Whether that end is open.
    """

    label: str
    level: float
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def bounds(self):
        """``(low, high)``."""
        return (self.low, self.high)


@dataclass(frozen=True)
class ParameterEstimate:
    """A reported parameter: value, standard error (None if fixed or unavailable), flags, and its
    profile-likelihood intervals (a tuple of :class:`ProfileInterval`, empty if not computed)."""

    value: float
    stderr: float | None
    vary: bool
    flags: tuple = ()
    intervals: tuple = ()

    def interval(self, label):
        """The :class:`ProfileInterval` with this label (``"ci68"``, ``"ci95"``), or None."""
        return next((ci for ci in self.intervals if ci.label == label), None)

    @property
    def ci68(self):
        """``(low, high)`` of the 68.27 % profile interval, or None if not computed."""
        ci = self.interval("ci68")
        return None if ci is None else ci.bounds()

    @property
    def ci95(self):
        """``(low, high)`` of the 95 % profile interval, or None if not computed."""
        ci = self.interval("ci95")
        return None if ci is None else ci.bounds()

    def to_dict(self):
        """JSON-ready: ``ci68`` and ``ci95`` are always present, ``[low, high]`` of the profile interval
        or null where it was not computed (any other level is added when computed); an infinite (open)
        end is null too, and ``intervals_open`` (only with intervals) says which ends are open."""
        out = {"value": _num(self.value), "stderr": _num(self.stderr), "vary": self.vary, "flags": list(self.flags)}
        out.update({label: None for label in _REPORTED_INTERVALS})
        for ci in self.intervals:
            out[ci.label] = [_num(ci.low), _num(ci.high)]
        if self.intervals:
            out["intervals_open"] = {ci.label: [ci.low_open, ci.high_open] for ci in self.intervals}
        return out


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`~tunnelsim.fitting.fit_magnetization` (see :mod:`tunnelsim.fitting`).

    Attributes
    ----------
    model : str
    parameters : mapping of str to ParameterEstimate
        Reported under the seed's names.
    derived : mapping of str to ParameterEstimate
        ``n_Fe_total_per_g`` (species Fe2+ and Fe3+ only) and, for ``etm``, ``n_ATS_P_star_per_g``
        (the amplitude that enters Eq. 10).
    correlation_names : tuple of str
    correlation : numpy.ndarray
        Correlation matrix of the varied reported parameters (NaN where unavailable).
    chi2, chi2_reduced, aic, bic : float
    n_points, n_varied : int
    stderr_scaled_by_reduced_chi2 : bool
    P_star, T0_K : float
    eq15 : bool
        Whether ``delta_mu_K`` (Eq. 15) is part of the model.
    message : str
    nfev : int
    best_fit_emu_per_g, normalized_residuals : numpy.ndarray
    weighted : bool
        Whether the data carried ``sigma``.
    species : tuple of Species
        The paramagnetic species; the density of each is the parameter ``n_<tag>_per_g``. The JSON
        lists them under ``settings.species`` with ``name``, ``g``, ``J`` and ``parameter``.
    internal : mapping
        The internal parameters' values and standard errors.
    profile : ProfileSummary or None
        Set by :func:`~tunnelsim.fitting.profile_intervals`: levels, thresholds, refits per
        parameter, the profile traces and any better fit a refit found; the intervals themselves
        are in each :class:`ParameterEstimate`.
    """

    model: str
    parameters: MappingProxyType
    derived: MappingProxyType
    correlation_names: tuple
    correlation: np.ndarray
    chi2: float
    chi2_reduced: float
    aic: float
    bic: float
    n_points: int
    n_varied: int
    stderr_scaled_by_reduced_chi2: bool
    P_star: float
    T0_K: float
    eq15: bool
    message: str
    nfev: int
    best_fit_emu_per_g: np.ndarray
    normalized_residuals: np.ndarray
    weighted: bool
    species: tuple = DEFAULT_SPECIES
    internal: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    profile: object = None
    eq10_prefactor: str = "corrected"

    def values(self):
        """``{name: value}`` of the reported parameters (for :func:`model_magnetization_emu_per_g`)."""
        return {name: p.value for name, p in self.parameters.items()}

    @property
    def flags(self):
        """``(name, reason)`` for every flagged parameter."""
        return tuple((name, reason) for name, p in self.parameters.items() for reason in p.flags)

    def evaluate(self, temperature_K, field_Oe):
        """The fitted model at other points (emu/g)."""
        return model_magnetization_emu_per_g(self.model, temperature_K, field_Oe, self.values(), self.P_star,
                                             self.T0_K, self.species, eq10_prefactor=self.eq10_prefactor)

    def _amplitude_statement(self):
        if self.model == "ll":
            return "no intrinsic term in this model"
        return f"only n_ATS P* enters the intrinsic term; n_ATS_per_g is reported with P* held at {self.P_star:.6g}"

    def _prefactor_statement(self):
        if self.model not in ("etm", "etm11"):
            return "not used (no Eq. 10 term in this model)"
        if self.eq10_prefactor == "corrected":
            return "corrected pi P* n_ATS / (2B) (consistent with Eq. 12 and the exact ensemble)"
        return "the seed's printed pi P* n_ATS / B (twice the corrected one: n_ATS is half the corrected value)"

    def to_dict(self):
        """A JSON-ready dictionary (no NaN: unavailable numbers are None)."""
        num = _num
        corr = [[num(x) for x in row] for row in np.asarray(self.correlation)]
        return {
            "model": self.model,
            "parameters": {n: p.to_dict() for n, p in self.parameters.items()},
            "derived": {n: {"value": num(p.value), "stderr": num(p.stderr)} for n, p in self.derived.items()},
            "chi2": num(self.chi2),
            "chi2_reduced": num(self.chi2_reduced),
            "aic": num(self.aic),
            "bic": num(self.bic),
            "n_points": self.n_points,
            "n_varied": self.n_varied,
            "correlation": {"names": list(self.correlation_names), "matrix": corr},
            "flags": [{"parameter": n, "reason": r} for n, r in self.flags],
            "settings": {
                "P_star": self.P_star,
                "T0_K": self.T0_K,
                "amplitude": self._amplitude_statement(),
                "eq10_prefactor": self._prefactor_statement(),
                "eq15_temperature_dependence": self.eq15,
                "temperature_dependence": self.temperature_law,
                "weights": "1/sigma from the data" if self.weighted else "uniform (the data carry no sigma)",
                "stderr_scaled_by_reduced_chi2": self.stderr_scaled_by_reduced_chi2,
                "information_criteria": "lmfit: aic = n ln(chi2/n) + 2k, bic = n ln(chi2/n) + k ln(n)",
                "species": [{"name": s.name, "g": s.g, "J": s.J, "parameter": density_parameter_name(s)}
                            for s in self.species],
            },
            "internal_parameters": {k: {"value": num(v[0]), "stderr": num(v[1])} for k, v in self.internal.items()},
            "converged": True,
            "message": self.message,
            "nfev": self.nfev,
            "profile_likelihood": None if self.profile is None else self.profile.to_dict(),
            "tunnelsim_version": __version__,
        }

    @property
    def temperature_law(self):
        """``"eq15"``, ``"eq16"`` or None: the temperature dependence of the intrinsic parameters."""
        if "gamma" in self.parameters:
            return "eq16"
        return "eq15" if self.eq15 else None

    def summary(self):
        """A plain-text report: values, standard errors, flags, statistics and correlations."""
        lines = [f"model {self.model}: {self.n_points} points, {self.n_varied} varied parameters"]
        if self.model != "ll":
            law = {"eq15": "Eq. 15 on (delta_mu_K)", "eq16": "Eq. 16 on (gamma, E0_K)",
                   None: "no temperature dependence (no delta_mu_K, gamma/E0_K)"}[self.temperature_law]
            lines.append(f"P* = {self.P_star:.6g} (fixed setting; only n_ATS P* enters), T0 = {self.T0_K:g} K, {law}")
            lines.append(f"Eq. 10 prefactor: {self._prefactor_statement()}")
        if tuple(self.species) != DEFAULT_SPECIES:
            lines.append(f"paramagnetic species: {describe_species(self.species)}")
        width = max(len(n) for n in list(self.parameters) + list(self.derived))
        labels = list(dict.fromkeys(ci.label for p in self.parameters.values() for ci in p.intervals))
        rows = []
        for group in (self.parameters, self.derived):
            for name, p in group.items():
                err = "fixed" if not p.vary else ("n/a" if p.stderr is None or not np.isfinite(p.stderr)
                                                  else f"+- {p.stderr:.4g}")
                with np.errstate(divide="ignore", over="ignore"):
                    rel = f" ({np.float64(p.stderr) / abs(p.value):.2%})" if p.vary and p.stderr and p.value else ""
                cis = [_format_interval(p.interval(label)) for label in labels]
                flag = f"  [poorly determined: {'; '.join(p.flags)}]" if p.flags else ""
                rows.append((name, f"{p.value:.6g} {err}{rel}", cis, flag))
        if labels:
            head = max(len(r[1]) for r in rows)
            cw = [max([len(label)] + [len(r[2][k]) for r in rows]) for k, label in enumerate(labels)]
            lines.append(f"  {'':<{width}}  {'value':<{head}}  "
                         + "  ".join(f"{label:<{w}}" for label, w in zip(labels, cw)).rstrip()
                         + "   (profile likelihood; ( or ) marks an open end)")
            lines += [f"  {n:<{width}}  {v:<{head}}  " + "  ".join(f"{c:<{w}}" for c, w in zip(cis, cw)) + flag
                      for n, v, cis, flag in rows]
        else:
            lines += [f"  {n:<{width}}  {v}{flag}" for n, v, _, flag in rows]
        lines.append(f"chi2 = {self.chi2:.6g}, reduced chi2 = {self.chi2_reduced:.6g}, AIC = {self.aic:.6g}, "
                     f"BIC = {self.bic:.6g}")
        lines.append("weights: " + ("1/sigma" if self.weighted else "uniform")
                     + ("; stderr scaled by sqrt(reduced chi2)" if self.stderr_scaled_by_reduced_chi2 else ""))
        if self.correlation_names:
            lines.append("correlations |r| > 0.5:")
            names = self.correlation_names
            pairs = [(names[i], names[j], self.correlation[i, j]) for i in range(len(names))
                     for j in range(i + 1, len(names)) if abs(self.correlation[i, j]) > 0.5]
            lines += [f"  {a} / {b}: {r:+.4f}" for a, b, r in pairs] or ["  none"]
        if self.profile is not None:
            lines += self.profile.summary_lines()
        return "\n".join(lines)


def _format_interval(ci):
    if ci is None:
        return "-"
    return f"{'(' if ci.low_open else '['}{ci.low:.4g}, {ci.high:.4g}{')' if ci.high_open else ']'}"


def write_json(path, document, force=False):
    """Write a JSON document atomically (temporary file, then rename); NaN is refused.

    Parameters
    ----------
    path : str or os.PathLike
    document : dict
    force : bool, optional
        Replace an existing file.

    Returns
    -------
    pathlib.Path
    """
    import json

    from .._atomic import write_text_atomic

    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    return write_text_atomic(path, text, force=force)
