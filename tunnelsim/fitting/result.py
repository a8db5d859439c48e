"""What a fit returns: the reported parameters, statistics and correlations, as JSON and as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .. import __version__
from ..paramagnet import FE2, FE3
from .models import model_magnetization_emu_per_g

__all__ = ["FitResult", "ParameterEstimate", "write_json"]


@dataclass(frozen=True)
class ParameterEstimate:
    """A reported parameter: value, standard error (None if fixed or unavailable), flags."""

    value: float
    stderr: float | None
    vary: bool
    flags: tuple = ()

    def to_dict(self):
        return {"value": self.value, "stderr": self.stderr, "vary": self.vary, "flags": list(self.flags)}


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`~tunnelsim.fitting.fit_magnetization` (see :mod:`tunnelsim.fitting`).

    Attributes
    ----------
    model : str
    parameters : mapping of str to ParameterEstimate
        Reported under the seed's names.
    derived : mapping of str to ParameterEstimate
        ``n_Fe_total_per_g`` and, for ``etm``, ``n_ATS_P_star_per_g`` (the amplitude that enters Eq. 10).
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
    internal : mapping
        The internal parameters' values and standard errors.
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
    species: tuple = (FE2, FE3)
    internal: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

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
                                             self.T0_K, self.species)

    def to_dict(self):
        """A JSON-ready dictionary (no NaN: unavailable numbers are None)."""
        def num(x):
            return None if x is None or not np.isfinite(x) else float(x)

        corr = [[num(x) for x in row] for row in np.asarray(self.correlation)]
        return {
            "model": self.model,
            "parameters": {n: {"value": num(p.value), "stderr": num(p.stderr), "vary": p.vary, "flags": list(p.flags)}
                           for n, p in self.parameters.items()},
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
                "amplitude": f"only n_ATS P* enters Eq. 10; n_ATS_per_g is reported with P* held at {self.P_star:.6g}"
                if self.model == "etm" else "no intrinsic term in this model",
                "eq15_temperature_dependence": self.eq15,
                "weights": "1/sigma from the data" if self.weighted else "uniform (the data carry no sigma)",
                "stderr_scaled_by_reduced_chi2": self.stderr_scaled_by_reduced_chi2,
                "information_criteria": "lmfit: aic = n ln(chi2/n) + 2k, bic = n ln(chi2/n) + k ln(n)",
                "species": [{"name": s.name, "g": s.g, "J": s.J} for s in self.species],
            },
            "internal_parameters": {k: {"value": num(v[0]), "stderr": num(v[1])} for k, v in self.internal.items()},
            "converged": True,
            "message": self.message,
            "nfev": self.nfev,
            "tunnelsim_version": __version__,
        }

    def summary(self):
        """A plain-text report: values, standard errors, flags, statistics and correlations."""
        lines = [f"model {self.model}: {self.n_points} points, {self.n_varied} varied parameters"]
        if self.model == "etm":
            lines.append(f"P* = {self.P_star:.6g} (fixed setting; only n_ATS P* enters Eq. 10), T0 = {self.T0_K:g} K, "
                         f"Eq. 15 {'on' if self.eq15 else 'off (no delta_mu_K)'}")
        width = max(len(n) for n in list(self.parameters) + list(self.derived))
        for group in (self.parameters, self.derived):
            for name, p in group.items():
                err = "fixed" if not p.vary else ("n/a" if p.stderr is None or not np.isfinite(p.stderr)
                                                  else f"+- {p.stderr:.4g}")
                with np.errstate(divide="ignore", over="ignore"):
                    rel = f" ({np.float64(p.stderr) / abs(p.value):.2%})" if p.vary and p.stderr and p.value else ""
                flag = f"  [poorly determined: {'; '.join(p.flags)}]" if p.flags else ""
                lines.append(f"  {name:<{width}}  {p.value:.6g} {err}{rel}{flag}")
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
        return "\n".join(lines)


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
