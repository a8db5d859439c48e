"""Weighted least-squares fits of Eq. 17 to SQUID magnetisation data, with uncertainties.

Two models of ``M(T, H)`` in emu/g (Eq. 17, :mod:`tunnelsim.paramagnet`):

* ``"ll"`` -- Larmor-Langevin only: ``-chi_L H + M_Fe(H/T)`` (the parent article's Eq. 1),
  parameters ``n_Fe2_per_g``, ``n_Fe3_per_g``, ``chi_L_emu_per_g_Oe``;
* ``"etm"`` -- plus the intrinsic ATS term (corrected Eq. 10, orientation averaged, with the
  Eq. 15 temperature dependence when ``delta_mu_K`` is a parameter): the seed's Table 3
  parameters ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``, ``delta_mu_K``.

All runs are fitted jointly (:func:`fit_magnetization`): residuals ``(M_model - M)/sigma``
(unit weights when the data carry no ``sigma``), minimised by lmfit's ``least_squares``
(trust-region reflective, bounds kept) in two stages. First a variable projection (Golub and
Pereyra): the model is linear in the Fe concentrations, ``chi_L`` and the ATS weight ``A`` below,
so for each trial of the nonlinear parameters those are solved exactly by bounded linear least
squares. Then the joint fit of all parameters from that minimum (Jacobian: exact columns for the
linear parameters, forward differences for the others), which supplies the statistics and the
covariance. Standard errors come from the inverse of ``J^T J`` at the solution, multiplied by the
reduced chi^2 only when the data have no ``sigma`` (``stderr_scaled_by_reduced_chi2``). AIC and BIC
are lmfit's, ``n ln(chi^2/n) + 2k`` and ``n ln(chi^2/n) + k ln n``.

**Amplitude.** Only ``n_ATS P*`` enters Eq. 10; ``P*`` is a fixed setting (default ``1/(2 pi)``,
the seed's "in practice") and every result states it.

**Internal parameters.** ``etm`` requires ``D0QS_max > D0QS_min``. Internally the three
parameters of the ``D0`` distribution are

    A = n_ATS L,    c = sqrt(D0QS_min D0QS_max),    v = L^2,    L = ln(D0QS_max / D0QS_min) > 0,

so ``D0QS_max = D0QS_min exp(L)`` (a ratio ``> 1``), ``D0QS_min = c e^{-L/2}``,
``D0QS_max = c e^{L/2}``, ``n_ATS = A / L``. This follows the physics: ``dD0/D0`` integrated over
the distribution gives the weight ``n_ATS L``, and for a narrow distribution (Table 3 has
``L = 0.074``) every observable depends on ``A`` and ``c`` and on the width only at order ``L^2``,
so ``v`` enters about linearly and ``v -> 0`` (a single ``D0``) is a regular limit; ``v`` is kept
above ``(1e-6)^2``. ``D_min`` is fitted as ``ln D_min``: the weak-field ATS term depends on it
through ``ln(2T/D_min)`` (corrected Eq. 13). In the plain ``(n_ATS, D0QS_min, ratio)``
coordinates the 500-point, 8-parameter BK7 fit crawled along the valley for 10-70 s; with these
coordinates and the projection it takes about a second. The results are reported under the
seed's names, with the covariance propagated linearly (``cov_reported = J cov_internal J^T``,
``J`` by complex-step differentiation), so ``D0QS_max_K_A2`` carries its propagated standard error.
The internal values and errors are kept in :attr:`FitResult.internal`.

**Flags.** A varied parameter is flagged as poorly determined when its standard error is
missing, its relative standard error exceeds 1, its correlation with another exceeds 0.99 in
magnitude, or it ends at a bound; ``n_ATS_per_g``, ``D0QS_min_K_A2`` and ``D0QS_max_K_A2`` also
when ``v`` is within 3 standard errors of 0 (the width unresolved, ``n_ATS = A/L`` unbounded;
``A`` and ``c`` are then reported as ``n_ATS_ln_ratio_per_g`` and ``D0QS_geometric_mean_K_A2``).
Flags are reported, never hidden.

**Non-convergence.** A fit that stops without meeting its tolerances (evaluation budget spent,
non-finite chi^2) raises :class:`FitConvergenceError` instead of returning numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from . import __version__, etm
from .paramagnet import FE2, FE3, PARAMETER_NAMES, species_magnetization_emu_per_g, total_magnetization_emu_per_g
from .synth import DEFAULT_P_STAR, DEFAULT_T0_K, ParameterEntry
from .units import oe_to_tesla

__all__ = [
    "CORRELATION_LIMIT",
    "FitConvergenceError",
    "FitError",
    "FitResult",
    "MODELS",
    "ParameterEstimate",
    "REL_STDERR_LIMIT",
    "fit_magnetization",
    "model_magnetization_emu_per_g",
    "model_parameter_names",
    "write_json",
]

MODELS = ("ll", "etm")
_LL_NAMES = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")
#: Relative standard error above which a parameter is flagged.
REL_STDERR_LIMIT = 1.0
#: |correlation| above which both parameters are flagged.
CORRELATION_LIMIT = 0.99
#: Smallest ln(D0QS_max / D0QS_min) the fit may reach.
_MIN_LOG_RATIO = 1e-6
#: Relative step (in scaled internal units) of the forward differences of the Jacobian.
_FD_STEP = 1e-6
# internal names of the D0-distribution block
_A, _C, _V = "ats_weight_per_g", "D0QS_centre_K_A2", "D0QS_log_ratio_squared"
_LN_D_MIN = "ln_D_min_K"
_LINEAR = _LL_NAMES  # the model is linear in these


class FitError(ValueError):
    """A fit cannot be set up (bad model, parameter name, starting value or bound)."""


class FitConvergenceError(RuntimeError):
    """A fit stopped without converging; the message is one line."""


def model_parameter_names(model, eq15=True):
    """The reported parameter names of a model, in the seed's Table 3 order."""
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    names = _LL_NAMES if model == "ll" else PARAMETER_NAMES
    return tuple(n for n in names if eq15 or n != "delta_mu_K")


def model_magnetization_emu_per_g(model, temperature_K, field_Oe, parameters, P_star=DEFAULT_P_STAR,
                                  T0_K=DEFAULT_T0_K, species=(FE2, FE3)):
    """Eq. 17 for a model: ``"ll"`` (Larmor-Langevin only) or ``"etm"`` (full), emu/g."""
    if model == "etm":
        return total_magnetization_emu_per_g(temperature_K, field_Oe, parameters, P_star, T0_K, species)
    if model != "ll":
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    m = -parameters["chi_L_emu_per_g_Oe"] * H
    for key, s in zip(("n_Fe2_per_g", "n_Fe3_per_g"), species):
        m = m + species_magnetization_emu_per_g(parameters[key], s, H, T)
    return np.broadcast_to(m, np.broadcast_shapes(T.shape, H.shape)).copy()


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
    """The outcome of :func:`fit_magnetization` (see the module docstring).

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


# ------------------------------------------------------------------------------ the problem
def _as_entry(name, value):
    if isinstance(value, ParameterEntry):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise FitError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise FitError(f"{name}: must be finite, got {v!r}")
    return ParameterEntry(v)


class _Problem:
    """Internal parameterisation, residuals and Jacobian of one fit (see the module docstring)."""

    def __init__(self, data, model, start, fixed, P_star, T0_K, species):
        self.model, self.P_star, self.T0_K, self.species = model, float(P_star), float(T0_K), tuple(species)
        self.T, self.H, self.M = data.temperature_K, data.field_Oe, data.magnetization_emu_per_g
        self.weighted = data.sigma_emu_per_g is not None
        self.sigma = data.sigma_emu_per_g if self.weighted else np.ones_like(self.M)
        self.basis = {"n_Fe2_per_g": species_magnetization_emu_per_g(1.0, self.species[0], self.H, self.T),
                      "n_Fe3_per_g": species_magnetization_emu_per_g(1.0, self.species[1], self.H, self.T),
                      "chi_L_emu_per_g_Oe": -self.H}
        entries = self._entries(start, fixed)
        self.eq15 = model == "etm" and "delta_mu_K" in entries
        self.names = model_parameter_names(model, self.eq15)
        self._setup(entries)
        self._cache_key, self._cache = None, None

    # -------------------------------------------------------------------- set-up
    def _entries(self, start, fixed):
        allowed = model_parameter_names(self.model)
        entries = {}
        for name, value in (start or {}).items():
            if name not in PARAMETER_NAMES:
                raise FitError(f"unknown parameter {name!r}; expected one of {', '.join(PARAMETER_NAMES)}")
            if name in allowed:
                entries[name] = _as_entry(name, value)
        for name, value in (fixed or {}).items():
            if name not in allowed:
                raise FitError(f"cannot fix {name!r}: not a parameter of model {self.model!r} "
                               f"(expected one of {', '.join(allowed)})")
            entries[name] = ParameterEntry(_as_entry(name, value).value, vary=False)
        missing = [n for n in allowed if n not in entries and n not in _LL_NAMES and n != "delta_mu_K"]
        if missing:
            raise FitError(f"model etm needs a starting value for {missing[0]} (give a parameter file, "
                           f"--params INIT.toml, or --fix {missing[0]}=VALUE)")
        for name in ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2"):
            if name in entries and not entries[name].value > 0:
                raise FitError(f"{name}: must be > 0, got {entries[name].value!r}")
        for name in ("n_Fe2_per_g", "n_Fe3_per_g", "n_ATS_per_g"):
            if name in entries and entries[name].value < 0:
                raise FitError(f"{name}: must be >= 0, got {entries[name].value!r}")
        for name in ("n_ATS_per_g", "D0QS_min_K_A2", "D0QS_max_K_A2"):
            e = entries.get(name)
            if e is not None and (e.min is not None or e.max is not None):
                raise FitError(f"{name}: bounds are not supported for the D0-distribution parameters "
                               "(fitted as n_ATS ln(ratio), the geometric centre and ln(ratio)^2)")
        self._fill_linear_start(entries)
        return entries

    def _fill_linear_start(self, entries):
        """Missing Larmor-Langevin starting values: the weighted linear least squares of the LL model alone."""
        missing = [n for n in _LL_NAMES if n not in entries]
        if not missing:
            return
        from scipy.optimize import lsq_linear

        A = np.stack([self.basis[n] for n in _LL_NAMES], axis=1) / self.sigma[:, None]
        norms = np.linalg.norm(A, axis=0)
        norms[norms == 0] = 1.0
        lower = np.array([0.0, 0.0, -np.inf])
        sol = lsq_linear(A / norms, self.M / self.sigma, bounds=(lower, np.full(3, np.inf)))
        for k, name in enumerate(_LL_NAMES):
            if name not in entries:
                entries[name] = ParameterEntry(float(sol.x[k] / norms[k]))

    def _setup(self, entries):
        """Free internal variables, their scales and bounds, and the fixed values."""
        self.fixed = {}      # internal name -> value
        self.fixed_reported = {}  # D0-block reported name -> value
        free = {}            # internal name -> (start, lower, upper)
        default_bounds = {"n_Fe2_per_g": (0.0, np.inf), "n_Fe3_per_g": (0.0, np.inf),
                          "chi_L_emu_per_g_Oe": (-np.inf, np.inf), "D_min_K": (0.0, np.inf),
                          "delta_mu_K": (-np.inf, np.inf)}
        for name in ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "D_min_K", "delta_mu_K"):
            if name not in self.names:
                continue
            e = entries[name]
            if not e.vary:
                self.fixed[name] = e.value
                continue
            lo = e.min if e.min is not None else default_bounds[name][0]
            hi = e.max if e.max is not None else default_bounds[name][1]
            if not lo <= e.value <= hi:
                raise FitError(f"{name}: starting value {e.value!r} outside its bounds [{lo}, {hi}]")
            if name == "D_min_K":  # fitted as ln(D_min / 1 K)
                log = lambda v: math.log(v) if v > 0 else -np.inf  # noqa: E731
                free[_LN_D_MIN] = (math.log(e.value), log(lo), log(hi) if np.isfinite(hi) else np.inf)
            else:
                free[name] = (e.value, lo, hi)
        if self.model == "etm":
            N, a, b = (entries[n] for n in ("n_ATS_per_g", "D0QS_min_K_A2", "D0QS_max_K_A2"))
            if not b.value > a.value:
                raise FitError(f"D0QS_max_K_A2 ({b.value!r}) must exceed D0QS_min_K_A2 ({a.value!r})")
            L0 = math.log(b.value / a.value)
            for name, e in zip(("n_ATS_per_g", "D0QS_min_K_A2", "D0QS_max_K_A2"), (N, a, b)):
                if not e.vary:
                    self.fixed_reported[name] = e.value
            if a.vary or b.vary:
                free[_V] = (max(L0 * L0, _MIN_LOG_RATIO**2), _MIN_LOG_RATIO**2, np.inf)
            if a.vary and b.vary:
                free[_C] = (math.sqrt(a.value * b.value), 0.0, np.inf)
            if N.vary:
                free[_A] = (N.value * L0, 0.0, np.inf)
        self.free = tuple(free)
        self.start = np.array([free[n][0] for n in self.free], dtype=float)
        self.scale = np.array([self._scale(n, free[n][0]) for n in self.free], dtype=float)
        self.lower = np.array([free[n][1] for n in self.free]) / self.scale
        self.upper = np.array([free[n][2] for n in self.free]) / self.scale
        self.linear = [j for j, n in enumerate(self.free) if n in _LINEAR or n == _A]
        self.nonlinear = [j for j, n in enumerate(self.free) if j not in self.linear]

    def _scale(self, name, value):
        if name == _LN_D_MIN:
            return 1.0
        if value != 0:
            return abs(value)
        if name == "delta_mu_K":
            return self.T0_K
        # a linear parameter starting at 0: the amount that alone would explain the data's size
        col = self.basis.get(name)
        if col is None:
            return 1.0
        norm = np.linalg.norm(col / self.sigma)
        return float(np.linalg.norm(self.M / self.sigma) / norm) if norm > 0 else 1.0

    # -------------------------------------------------------------------- mappings
    def reported(self, x):
        """Reported parameters from scaled free variables ``x`` (works for complex ``x``)."""
        values = dict(self.fixed)
        values.update({n: xi * s for n, xi, s in zip(self.free, x, self.scale)})
        if _LN_D_MIN in values:
            values["D_min_K"] = np.exp(values[_LN_D_MIN])
        out = {n: values[n] for n in ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "D_min_K", "delta_mu_K")
               if n in self.names}
        if self.model == "etm":
            fr = self.fixed_reported
            if _V in values:
                L = np.sqrt(values[_V])
            else:  # both D0QS fixed
                L = math.log(fr["D0QS_max_K_A2"] / fr["D0QS_min_K_A2"])
            if "D0QS_min_K_A2" in fr:
                a = fr["D0QS_min_K_A2"]
                b = fr["D0QS_max_K_A2"] if "D0QS_max_K_A2" in fr else a * np.exp(L)
            elif "D0QS_max_K_A2" in fr:
                b = fr["D0QS_max_K_A2"]
                a = b * np.exp(-L)
            else:
                a, b = values[_C] * np.exp(-0.5 * L), values[_C] * np.exp(0.5 * L)
            out["n_ATS_per_g"] = fr["n_ATS_per_g"] if "n_ATS_per_g" in fr else values[_A] / L
            out["D0QS_min_K_A2"], out["D0QS_max_K_A2"] = a, b
            out["_log_ratio"] = L
        return out

    def derived(self, rep):
        """Derived quantities: ``n_Fe_total_per_g`` and, for ``etm``, ``n_ATS_P_star_per_g`` (the
        amplitude of Eq. 10), ``n_ATS_ln_ratio_per_g`` (``n_ATS ln(D0QS_max/D0QS_min)``, the ATS weight
        of the ``D0`` distribution) and ``D0QS_geometric_mean_K_A2``."""
        out = {"n_Fe_total_per_g": rep["n_Fe2_per_g"] + rep["n_Fe3_per_g"]}
        if self.model == "etm":
            out["n_ATS_P_star_per_g"] = rep["n_ATS_per_g"] * self.P_star
            out["n_ATS_ln_ratio_per_g"] = rep["n_ATS_per_g"] * rep["_log_ratio"]
            out["D0QS_geometric_mean_K_A2"] = np.sqrt(rep["D0QS_min_K_A2"] * rep["D0QS_max_K_A2"])
        return out

    def _etm_unit(self, rep):
        """Intrinsic magnetisation per unit ``n_ATS P*`` (emu/g per 1/g), Eq. 10 with Eq. 15."""
        D_min, a, b = rep["D_min_K"], rep["D0QS_min_K_A2"], rep["D0QS_max_K_A2"]
        if self.eq15:
            s = etm.scaled_parameters(self.T, D_min, a, b, rep["delta_mu_K"], self.T0_K)
            D_min, a, b = s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2
        return etm.magnetization_etm(self.T, oe_to_tesla(self.H), D_min, a, b, 1.0)

    def _linear_part(self, rep):
        return (rep["n_Fe2_per_g"] * self.basis["n_Fe2_per_g"] + rep["n_Fe3_per_g"] * self.basis["n_Fe3_per_g"]
                + rep["chi_L_emu_per_g_Oe"] * self.basis["chi_L_emu_per_g_Oe"])

    def _evaluate(self, x):
        """``(rep, etm_unit or None, model)`` at ``x``; cached for the Jacobian that follows."""
        key = x.tobytes()
        if key != self._cache_key:
            rep = self.reported(x)
            unit = self._etm_unit(rep) if self.model == "etm" else None
            model = self._linear_part(rep)
            if unit is not None:
                model = model + rep["n_ATS_per_g"] * self.P_star * unit
            self._cache_key, self._cache = key, (rep, unit, model)
        return self._cache

    def residual(self, x):
        try:
            _, _, model = self._evaluate(np.asarray(x, dtype=float))
        except ValueError:  # a trial point the model rejects: let the trust region shrink
            return np.full_like(self.M, np.nan)
        return (model - self.M) / self.sigma

    def _linear_columns(self, rep, unit):
        """Model columns of the free linear variables (scaled units), shape ``(n_points, n_linear)``."""
        cols = [self.basis[self.free[j]] * self.scale[j] if self.free[j] in _LINEAR
                else self.P_star * unit / rep["_log_ratio"] * self.scale[j] for j in self.linear]
        return np.stack(cols, axis=1)

    def projected_residual(self, x_template, y):
        """Variable projection: the nonlinear variables set to ``y``, the linear ones solved for.

        Returns ``(x, residual)``; NaN residuals if the model rejects ``y``.
        """
        from scipy.optimize import lsq_linear

        x = np.array(x_template, dtype=float)
        x[self.nonlinear] = y
        x[self.linear] = 0.0
        try:
            rep, unit, model0 = self._evaluate(x)
        except ValueError:
            return x, np.full_like(self.M, np.nan)
        A = self._linear_columns(rep, unit) / self.sigma[:, None]
        b = (self.M - model0) / self.sigma
        sol = lsq_linear(A, b, bounds=(self.lower[self.linear], self.upper[self.linear]), method="bvls")
        x[self.linear] = sol.x
        return x, A @ sol.x - b

    def jacobian(self, x):
        x = np.asarray(x, dtype=float)
        rep, unit, model = self._evaluate(x)
        J = np.empty((self.M.size, x.size))
        if self.linear:
            J[:, self.linear] = self._linear_columns(rep, unit)
        for j in self.nonlinear:
            J[:, j] = self._difference(x, j, rep, unit)
        return J / self.sigma[:, None]

    def _difference(self, x, j, rep, unit):
        """Forward difference of the intrinsic term along free variable ``j`` (away from a bound)."""
        base = rep["n_ATS_per_g"] * self.P_star * unit
        h = _FD_STEP * max(abs(x[j]), 1.0)
        for step in ((h, -h) if x[j] + h <= self.upper[j] else (-h, h)):
            if not self.lower[j] <= x[j] + step <= self.upper[j]:
                continue
            xs = x.copy()
            xs[j] += step
            try:
                r = self.reported(xs)
                return (r["n_ATS_per_g"] * self.P_star * self._etm_unit(r) - base) / step
            except ValueError:
                continue
        return np.zeros_like(base)

    def reported_jacobian(self, x):
        """``d (reported, derived) / d x`` by complex-step differentiation, shape ``(n_out, n_free)``.

        ``Im f(x + i h e_j) / h`` is exact to rounding for the analytic maps of :meth:`reported`
        and :meth:`derived`, with no subtraction (so it holds even as ``v -> 0``).
        """
        h = 1e-30
        names = list(self.names) + list(self.derived(self.reported(x)))
        J = np.zeros((len(names), x.size))
        for j in range(x.size):
            xc = x.astype(complex)
            xc[j] += 1j * h
            r = self.reported(xc)
            r.update(self.derived(r))
            J[:, j] = [np.imag(r[n]) / h for n in names]
        return J


# ---------------------------------------------------------------------------------- the fit
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


def fit_magnetization(data, model="etm", start=None, fixed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                      species=(FE2, FE3), max_nfev=None, tolerance=1e-10):
    """Joint weighted least-squares fit of Eq. 17 to all runs of a data set.

    Parameters
    ----------
    data : MagnetizationData
    model : {"etm", "ll"}
        Full Eq. 17 or Larmor-Langevin only.
    start : mapping, optional
        Starting values by the seed's names: numbers or
        :class:`tunnelsim.synth.ParameterEntry` (``vary = False`` fixes; ``min``/``max`` bound
        the Fe concentrations, ``chi_L``, ``D_min`` and ``delta_mu``). Names of the other model are
        ignored. Missing Larmor-Langevin values start from a linear least-squares fit of the LL
        model; ``etm`` needs ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``,
        and ``delta_mu_K`` is part of the model only when given.
    fixed : mapping, optional
        ``{name: value}`` held fixed (overrides ``start``).
    P_star : float, optional
        Fixed ``P*``; the fit determines ``n_ATS`` at this setting.
    T0_K : float, optional
        Reference temperature of Eq. 15.
    species : tuple of Species, optional
        Species of ``n_Fe2_per_g`` and ``n_Fe3_per_g``.
    max_nfev : int, optional
        Budget of residual evaluations over both stages (default: lmfit's ``2000 (k + 1)`` per stage);
        a fit that spends it raises :class:`FitConvergenceError`.
    tolerance : float, optional
        ``ftol``, ``xtol`` and ``gtol`` of ``scipy.optimize.least_squares``.

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        A bad model, name, starting value or bound.
    FitConvergenceError
        The fit did not converge.
    """
    import lmfit

    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if not (isinstance(P_star, (int, float)) and P_star > 0 and math.isfinite(P_star)):
        raise FitError(f"P_star must be a finite number > 0, got {P_star!r}")
    prob = _Problem(data, model, start, fixed, P_star, T0_K, species)
    x0 = prob.start / prob.scale
    first = prob.residual(x0)
    if not np.all(np.isfinite(first)):
        raise FitError("the model is not finite at the starting values; check them")
    if not prob.free:
        raise FitError("no parameter left to vary")
    nfev = 0
    if prob.nonlinear and prob.linear:
        x0, nfev = _projected_fit(prob, x0, max_nfev, tolerance)
    names = [f"p{k}" for k in range(len(prob.free))]
    params = lmfit.Parameters()
    for n, v, lo, hi in zip(names, x0, prob.lower, prob.upper):
        params.add(n, value=float(np.clip(v, lo, hi)), min=lo, max=hi)

    def residual(p):
        return prob.residual(np.array([p[n].value for n in names]))

    def jacobian(p):
        return prob.jacobian(np.array([p[n].value for n in names]))

    budget = None if max_nfev is None else max(1, max_nfev - nfev)
    minimizer = lmfit.Minimizer(residual, params, nan_policy="propagate", scale_covar=not prob.weighted,
                                max_nfev=budget)
    res = minimizer.minimize(method="least_squares", jac=jacobian, x_scale="jac", ftol=tolerance, xtol=tolerance,
                             gtol=tolerance)
    _check_converged(res, nfev)
    x = np.array([res.params[n].value for n in names])
    return _result(prob, res, x, nfev + res.nfev)


def _check_converged(res, previous_nfev=0):
    if not res.success or getattr(res, "aborted", False) or not np.isfinite(res.chisqr):
        message = " ".join(str(res.message).split())
        raise FitConvergenceError(f"fit did not converge ({message}; {previous_nfev + res.nfev} model evaluations)")


def _projected_fit(prob, x0, max_nfev, tolerance):
    """First stage: variable projection over the nonlinear variables (returns the full ``x`` and nfev).

    At each trial of the nonlinear variables (``D_min``, ``delta_mu``, the ``D0QS`` centre and
    width) the linear ones (Fe concentrations, ``chi_L``, the ATS weight) are solved exactly by
    bounded linear least squares (Golub & Pereyra). The joint fit that follows starts at this
    minimum and supplies the statistics and the covariance of all parameters.
    """
    import lmfit

    names = [f"q{k}" for k in range(len(prob.nonlinear))]
    params = lmfit.Parameters()
    for n, j in zip(names, prob.nonlinear):
        params.add(n, value=x0[j], min=prob.lower[j], max=prob.upper[j])

    def residual(p):
        return prob.projected_residual(x0, np.array([p[n].value for n in names]))[1]

    minimizer = lmfit.Minimizer(residual, params, nan_policy="propagate", max_nfev=max_nfev)
    res = minimizer.minimize(method="least_squares", x_scale="jac", diff_step=_FD_STEP, ftol=tolerance,
                             xtol=tolerance, gtol=tolerance)
    _check_converged(res)
    x, _ = prob.projected_residual(x0, np.array([res.params[n].value for n in names]))
    return x, res.nfev


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
                if n in flags and prob.model == "etm":
                    flags[n].append(why)
    parameters = {n: ParameterEstimate(float(values[i]), stderr[i], bool(varies[i]), tuple(flags[n]))
                  for i, n in enumerate(names)}
    derived = {n: ParameterEstimate(float(values[i]), stderr[i], bool(varies[i]))
               for i, n in enumerate(all_names) if i >= k}
    model = prob._evaluate(x)[2]
    internal = {n: (float(x[j] * prob.scale[j]), float(internal_err[j])) for j, n in enumerate(prob.free)}
    return FitResult(
        model=prob.model, parameters=MappingProxyType(parameters), derived=MappingProxyType(derived),
        correlation_names=tuple(names[i] for i in vi), correlation=corr, chi2=float(res.chisqr),
        chi2_reduced=float(res.redchi), aic=float(res.aic), bic=float(res.bic), n_points=int(res.ndata),
        n_varied=int(res.nvarys), stderr_scaled_by_reduced_chi2=not prob.weighted, P_star=prob.P_star,
        T0_K=prob.T0_K, eq15=prob.eq15, message=" ".join(str(res.message).split()), nfev=int(nfev),
        best_fit_emu_per_g=model, normalized_residuals=(model - prob.M) / prob.sigma, weighted=prob.weighted,
        species=prob.species, internal=MappingProxyType(internal))


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

    from ._atomic import write_text_atomic

    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    return write_text_atomic(path, text, force=force)
