"""The internal parameterisation of a fit, with its residuals and Jacobians.

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
The internal values and errors are kept in :attr:`~tunnelsim.fitting.FitResult.internal`.

The model is linear in the species densities (``n_<tag>_per_g``, any number of species; the
Fe2+ fraction ``x_Fe2`` with the total iron fixed), ``chi_L`` and ``A``: the Jacobian has exact columns
for those and forward differences for the others, and :meth:`_Problem.projected_residual` solves
for them exactly (variable projection).
"""

from __future__ import annotations

import math

import numpy as np

from .. import etm
from ..ions import density_parameter_names
from ..paramagnet import species_magnetization_emu_per_g
from ..temperature_dependence import scale_parameters_by_ratio
from ..units import kelvin_per_tesla2_to_emu_per_oe, oe_to_tesla, phase_per_tesla
from .models import (
    EQ16_NAMES,
    INTRINSIC_MODELS,
    IRON_TOTAL_NAMES,
    FitError,
    _prefactor,
    _species,
    all_parameter_names,
    check_iron_total,
    intrinsic_per_amplitude,
    ll_parameter_names,
    model_parameter_names,
    temperature_law,
    tunnelling_ratio,
    unknown_parameter_message,
)
from .parameters import ParameterEntry

#: Smallest ln(D0QS_max / D0QS_min) the fit may reach.
_MIN_LOG_RATIO = 1e-6
#: Relative step (in scaled internal units) of the forward differences of the Jacobian.
_FD_STEP = 1e-6
# internal names of the D0-distribution block
_A, _C, _V = "ats_weight_per_g", "D0QS_centre_K_A2", "D0QS_log_ratio_squared"
_LN_D_MIN = "ln_D_min_K"
#: Default lower bound of ``D_min_K`` in the intrinsic models (K). Far below any SQUID temperature
#: (1 uK ~ 20 kHz), where M depends on D_min only through ln D_min (Eq. 13) and data cannot tell
#: 1e-6 K from 1e-13 K; the bound keeps a fit out of that flat valley, where Eq. 10/11's log-scale
#: integration rules (etm/_integrals) grow long and each evaluation slow. A parameter file's
#: ``min`` overrides it; a fit that ends there is flagged "at its lower bound".
D_MIN_FLOOR_K = 1e-6
_LN_QS = "ln_charge_area_A2"
#: G of Eq. 12 per unit n_ATS P* D0QS_min D0QS_max (2 sinh L): (pi/6) phi'(1 A^2)^2 in emu K / (g Oe) per K^2 A^4.
_G_FACTOR = math.pi / 6.0 * float(phase_per_tesla(1.0)) ** 2 * float(kelvin_per_tesla2_to_emu_per_oe(1.0))
#: Residual of every point where the model cannot be evaluated (variable projection stage).
_OUTSIDE_RESIDUAL = 1e8


def _unweighted_unit(M):
    """Residual unit of a fit without sigma: 1e-3 of the rms of the data (1 if they are all zero)."""
    rms = float(np.sqrt(np.mean(np.square(M)))) if M.size else 0.0
    return 1e-3 * rms if rms > 0 and math.isfinite(rms) else 1.0


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

    def __init__(self, data, model, start, fixed, P_star, T0_K, species, iron_total_per_g=None,
                 eq10_prefactor="corrected"):
        self.model, self.P_star, self.T0_K, self.species = model, float(P_star), float(T0_K), _species(species)
        self.eq10_prefactor = eq10_prefactor
        self._prefactor = _prefactor(model, eq10_prefactor) if model in INTRINSIC_MODELS else 1.0
        self.T, self.H, self.M = data.temperature_K, data.field_Oe, data.magnetization_emu_per_g
        self.weighted = data.sigma_emu_per_g is not None
        # Without sigma the residuals are taken in units of 1e-3 of the data's rms (the termination tests of
        # least_squares are absolute in the residual); chi^2, AIC and BIC are reported in (emu/g)^2 as before.
        self.residual_unit = 1.0 if self.weighted else _unweighted_unit(self.M)
        self.sigma = data.sigma_emu_per_g if self.weighted else np.full_like(self.M, self.residual_unit)
        self.density_names = density_parameter_names(self.species)
        self.basis = {name: species_magnetization_emu_per_g(1.0, s, self.H, self.T)
                      for name, s in zip(self.density_names, self.species)}
        self.basis["chi_L_emu_per_g_Oe"] = -self.H
        self.iron_total = None
        self.ll_names = ll_parameter_names(self.species)
        self._linear_names = self.ll_names + ("x_Fe2",)  # the model is linear in these
        self._iron_offset = 0.0
        if iron_total_per_g is not None:
            self._set_iron_total(iron_total_per_g)
        entries = self._entries(start, fixed)
        self.law = temperature_law(entries) if model in INTRINSIC_MODELS else None
        self.eq15, self.eq16 = self.law == "eq15", self.law == "eq16"
        self.names = model_parameter_names(model, self.eq15, iron_total=self.iron_total is not None, eq16=self.eq16,
                                           species=self.species)
        self._setup(entries)
        self._cache_key, self._cache = None, None
        self._exact = None
        if model == "exact":
            from .exact_intrinsic import ExactIntrinsicModel

            self._exact = ExactIntrinsicModel(self.T, self.H * 1e-4, P_star=1.0, T0_K=self.T0_K)

    # -------------------------------------------------------------------- set-up
    def _set_iron_total(self, total):
        """Total iron fixed (mass spectrometry): the Fe2+ fraction ``x`` is the linear parameter,
        ``M_Fe = N b3 + x N (b2 - b3)`` (the seed's Figs. 16-18); only for the species Fe2+ and Fe3+."""
        check_iron_total(self.species, "iron_total_per_g")
        N = _as_entry("n_Fe_total_per_g", total).value
        if not N > 0:
            raise FitError(f"n_Fe_total_per_g: must be > 0, got {N!r}")
        self.iron_total = N
        self.ll_names = ("x_Fe2", "chi_L_emu_per_g_Oe")
        self.basis["x_Fe2"] = N * (self.basis["n_Fe2_per_g"] - self.basis["n_Fe3_per_g"])
        self._iron_offset = N * self.basis["n_Fe3_per_g"]

    def _iron_start(self, start):
        """With total iron fixed: ``x_Fe2`` from a start given as species densities."""
        start = dict(start or {})
        if self.iron_total is None:
            for name in IRON_TOTAL_NAMES:
                if name in start:
                    raise FitError(f"{name}: give the total iron as a setting (n_Fe_total_per_g / --iron-total) "
                                   "to fit the Fe2+ fraction")
            return start
        start.pop("n_Fe_total_per_g", None)
        n2, n3 = start.pop("n_Fe2_per_g", None), start.pop("n_Fe3_per_g", None)
        if "x_Fe2" not in start and n2 is not None and n3 is not None:
            n2 = n2.value if isinstance(n2, ParameterEntry) else float(n2)
            n3 = n3.value if isinstance(n3, ParameterEntry) else float(n3)
            if n2 + n3 > 0:
                start["x_Fe2"] = min(max(n2 / (n2 + n3), 0.0), 1.0)
        return start

    def _entries(self, start, fixed):
        allowed = model_parameter_names(self.model, iron_total=self.iron_total is not None, species=self.species)
        if self.model in INTRINSIC_MODELS:
            allowed = allowed + EQ16_NAMES
        known = all_parameter_names(self.species)
        start = self._iron_start(start)
        entries = {}
        for name, value in (start or {}).items():
            if name not in known:
                raise FitError(unknown_parameter_message(name, self.species))
            if name in allowed:
                entries[name] = _as_entry(name, value)
        for name, value in (fixed or {}).items():
            if name not in allowed:
                raise FitError(f"cannot fix {name!r}: not a parameter of model {self.model!r} "
                               f"(expected one of {', '.join(allowed)})")
            entries[name] = ParameterEntry(_as_entry(name, value).value, vary=False)
        if self.iron_total is not None:
            entries["n_Fe_total_per_g"] = ParameterEntry(self.iron_total, vary=False)
            if "x_Fe2" in entries and not 0.0 <= entries["x_Fe2"].value <= 1.0:
                raise FitError(f"x_Fe2: must be in [0, 1], got {entries['x_Fe2'].value!r}")
        missing = [n for n in allowed if n not in entries and n not in self.ll_names
                   and n not in ("delta_mu_K",) + EQ16_NAMES]
        if missing:
            raise FitError(f"model {self.model} needs a starting value for {missing[0]} (give a parameter file, "
                           f"--params INIT.toml, or --fix {missing[0]}=VALUE)")
        for name in ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2"):
            if name in entries and not entries[name].value > 0:
                raise FitError(f"{name}: must be > 0, got {entries[name].value!r}")
        for name in self.density_names + ("n_ATS_per_g", "delta_mu_K", "gamma"):
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
        missing = [n for n in self.ll_names if n not in entries]
        if not missing:
            return
        from scipy.optimize import lsq_linear

        A = np.stack([self.basis[n] for n in self.ll_names], axis=1) / self.sigma[:, None]
        norms = np.linalg.norm(A, axis=0)
        norms[norms == 0] = 1.0
        bounds = {"x_Fe2": (0.0, 1.0), "chi_L_emu_per_g_Oe": (-np.inf, np.inf)}
        bounds.update(dict.fromkeys(self.density_names, (0.0, np.inf)))
        lower = np.array([bounds[n][0] for n in self.ll_names]) * norms
        upper = np.array([bounds[n][1] for n in self.ll_names]) * norms
        sol = lsq_linear(A / norms, (self.M - self._iron_offset) / self.sigma, bounds=(lower, upper))
        for k, name in enumerate(self.ll_names):
            if name not in entries:
                entries[name] = ParameterEntry(float(sol.x[k] / norms[k]))

    def _setup(self, entries):
        """Free internal variables, their scales and bounds, and the fixed values."""
        self.fixed = {}      # internal name -> value
        self.fixed_reported = {}  # D0-block reported name -> value
        free = {}            # internal name -> (start, lower, upper)
        default_bounds = {"x_Fe2": (0.0, 1.0), "n_Fe_total_per_g": (0.0, np.inf),
                          "chi_L_emu_per_g_Oe": (-np.inf, np.inf), "D_min_K": (D_MIN_FLOOR_K, np.inf),
                          "charge_area_A2": (0.0, np.inf), "delta_mu_K": (0.0, np.inf), "gamma": (0.0, np.inf),
                          "E0_K": (-np.inf, np.inf)}
        default_bounds.update(dict.fromkeys(self.density_names, (0.0, np.inf)))
        for name in self._direct_names():
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
            elif name == "charge_area_A2":  # fitted as ln((Q/e) S / 1 A^2)
                log = lambda v: math.log(v) if v > 0 else -np.inf  # noqa: E731
                free[_LN_QS] = (math.log(e.value), log(lo), log(hi) if np.isfinite(hi) else np.inf)
            else:
                free[name] = (e.value, lo, hi)
        if self.model in INTRINSIC_MODELS:
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
        self.linear = [j for j, n in enumerate(self.free) if n in self._linear_names or n == _A]
        self.nonlinear = [j for j, n in enumerate(self.free) if j not in self.linear]

    def _direct_names(self):
        """The reported names that are internal variables themselves (or their logarithms), in order."""
        return self.density_names + ("n_Fe_total_per_g", "x_Fe2", "chi_L_emu_per_g_Oe", "D_min_K", "charge_area_A2",
                                     "delta_mu_K") + EQ16_NAMES

    def _scale(self, name, value):
        if name in (_LN_D_MIN, _LN_QS):
            return 1.0
        if value != 0:
            return abs(value)
        if name in ("delta_mu_K", "E0_K"):
            return self.T0_K
        if name == "gamma":
            return 1e-3
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
        if _LN_QS in values:
            values["charge_area_A2"] = np.exp(values[_LN_QS])
        out = {n: values[n] for n in self._direct_names() if n in self.names}
        if self.model in INTRINSIC_MODELS:
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
        """Derived quantities: ``n_Fe_total_per_g`` for the species Fe2+ and Fe3+ (or, with the total
        iron fixed, the two species densities; nothing for other species) and, for the intrinsic
        models, ``n_ATS_P_star_per_g`` (the amplitude of Eq. 10),
        ``n_ATS_ln_ratio_per_g`` (``n_ATS ln(D0QS_max/D0QS_min)``, the ATS weight of the ``D0``
        distribution), ``D0QS_geometric_mean_K_A2`` and ``G_eq12_emu_K_per_g_Oe`` (``G`` of Eq. 12, the
        weak-field combination the data fix; :func:`tunnelsim.etm.etm_G_emu_K_per_g_Oe`)."""
        if self.iron_total is not None:
            out = {"n_Fe2_per_g": rep["x_Fe2"] * self.iron_total, "n_Fe3_per_g": (1.0 - rep["x_Fe2"]) * self.iron_total}
        elif set(self.density_names) == {"n_Fe2_per_g", "n_Fe3_per_g"}:
            out = {"n_Fe_total_per_g": rep["n_Fe2_per_g"] + rep["n_Fe3_per_g"]}
        else:
            out = {}
        if self.model in INTRINSIC_MODELS:
            out["n_ATS_P_star_per_g"] = rep["n_ATS_per_g"] * self.P_star
            out["n_ATS_ln_ratio_per_g"] = rep["n_ATS_per_g"] * rep["_log_ratio"]
            out["D0QS_geometric_mean_K_A2"] = np.sqrt(rep["D0QS_min_K_A2"] * rep["D0QS_max_K_A2"])
            # G of Eq. 12 (what weak-field data fix): (pi/6) n_ATS P* phi'^2 (D0QS_max^2 - D0QS_min^2), written
            # as n_ATS D0QS_min D0QS_max 2 sinh(L) so that it stays finite as the width L -> 0 at fixed n_ATS L
            out["G_eq12_emu_K_per_g_Oe"] = (_G_FACTOR * self.P_star * rep["n_ATS_per_g"] * rep["D0QS_min_K_A2"]
                                             * rep["D0QS_max_K_A2"] * 2.0 * np.sinh(rep["_log_ratio"]))
        return out

    def _intrinsic_params(self, rep):
        return {n: rep[n] for n in ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2", "delta_mu_K")
                + EQ16_NAMES if n in rep}

    def _etm_unit(self, rep):
        """Intrinsic magnetisation per unit ``n_ATS P*`` (emu/g per 1/g) of the model, with Eq. 15 or 16."""
        if self.model == "etm":  # Eq. 10
            D_min, a, b = rep["D_min_K"], rep["D0QS_min_K_A2"], rep["D0QS_max_K_A2"]
            if self.law is not None:
                s = scale_parameters_by_ratio(tunnelling_ratio(rep, self.T, self.T0_K), D_min, a, b)
                D_min, a, b = s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2
            unit = etm.magnetization_etm(self.T, oe_to_tesla(self.H), D_min, a, b, 1.0)
            return unit if self._prefactor == 1.0 else self._prefactor * unit
        return intrinsic_per_amplitude(self.model, self.T, self.H, self._intrinsic_params(rep), self.T0_K,
                                       exact_model=self._exact, eq10_prefactor=self.eq10_prefactor)

    def _linear_part(self, rep):
        total = self._iron_offset
        for name in self.ll_names:
            total = total + rep[name] * self.basis[name]
        return total

    def _evaluate(self, x):
        """``(rep, intrinsic unit or None, model)`` at ``x``; cached for the Jacobian that follows.

        For ``exact`` the derivatives of the unit with respect to its parameters come from the same
        quadrature sums at almost no extra cost, so they are computed and cached with it.
        """
        key = x.tobytes()
        if key != self._cache_key:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # trial points far out
                self._fill_cache(x, key)
        return self._cache

    def _fill_cache(self, x, key):
        """Evaluate the model at ``x`` into the cache."""
        rep = self.reported(x)
        unit = None
        self._unit_jacobian = None
        if self.model == "exact":
            params = self._intrinsic_params(rep)
            unit, self._unit_jacobian = self._exact.unit_and_jacobian(params)
            self._theta_names = self._exact.theta_names(params)
        elif self.model in INTRINSIC_MODELS:
            unit = self._etm_unit(rep)
        model = self._linear_part(rep)
        if unit is not None:
            model = model + rep["n_ATS_per_g"] * self.P_star * unit
        self._cache_key, self._cache = key, (rep, unit, model)

    def residual(self, x):
        try:
            _, _, model = self._evaluate(np.asarray(x, dtype=float))
        except (ValueError, OverflowError):  # a trial point the model rejects: let the trust region shrink
            return np.full_like(self.M, np.nan)
        return (model - self.M) / self.sigma

    def _linear_columns(self, rep, unit):
        """Model columns of the free linear variables (scaled units), shape ``(n_points, n_linear)``."""
        cols = [self.basis[self.free[j]] * self.scale[j] if self.free[j] in self._linear_names
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
        except (ValueError, OverflowError):  # outside the model's domain: a large finite residual turns the optimiser back
            return x, np.full_like(self.M, _OUTSIDE_RESIDUAL)
        if not np.all(np.isfinite(model0)):
            return x, np.full_like(self.M, _OUTSIDE_RESIDUAL)
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
        if self.model == "exact" and self.nonlinear:
            J[:, self.nonlinear] = self._exact_columns(x, rep, unit)
        else:
            for j in self.nonlinear:
                J[:, j] = self._difference(x, j, rep, unit)
        return J / self.sigma[:, None]

    def _exact_columns(self, x, rep, unit):
        """Columns of the nonlinear variables for ``exact``: the chain rule through the analytic
        derivatives of the unit (:meth:`ExactIntrinsicModel.unit_and_jacobian`) and the maps of
        :meth:`reported` (differentiated by complex step, exact to rounding)."""
        h = 1e-30
        log_names = {"ln_D_min_K": "D_min_K", "ln_D0QS_min_K_A2": "D0QS_min_K_A2",
                     "ln_D0QS_max_K_A2": "D0QS_max_K_A2", "ln_charge_area_A2": "charge_area_A2"}
        cols = []
        for j in self.nonlinear:
            xc = x.astype(complex)
            xc[j] += 1j * h
            r = self.reported(xc)
            dtheta = np.array([np.imag(np.log(r[log_names[n]])) / h if n in log_names else np.imag(r[n]) / h
                               for n in self._theta_names])
            d_amplitude = np.imag(r["n_ATS_per_g"]) / h
            cols.append(self.P_star * (d_amplitude * unit + rep["n_ATS_per_g"] * (self._unit_jacobian @ dtheta)))
        return np.stack(cols, axis=1)

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
                column = (r["n_ATS_per_g"] * self.P_star * self._etm_unit(r) - base) / step
            except (ValueError, OverflowError):
                continue
            if np.all(np.isfinite(column)):
                return column
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
