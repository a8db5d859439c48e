"""Larmor-Langevin-only analysis of SQUID runs (the seed's Tables 1, 2) and the Curie test (Eq. 18).

**Per-run LL fits.** The seed's Tables 1 and 2 fit each run alone with the Larmor-Langevin form
(Eq. 17 without the intrinsic term): once with both Fe3+ and Fe2+ allowed (the seed always finds
``n(Fe2+) = 0``), once with Fe2+ only. The apparent concentrations then drift with the run's H or T:
the intrinsic ATS term the LL form leaves out. :func:`per_run_langevin_fits` redoes this for any
data set, in three modes: ``both``, ``Fe3_only`` and ``Fe2_only``; :func:`format_langevin_tables`
prints it in the seed's layout (concentrations in 1e17 g^-1, ``chi_L`` in 1e-7 emu g^-1 Oe^-1).

**The seed's consistency.** :func:`langevin_drift` synthesises noiseless runs from a parameter set
(e.g. Table 3) and applies the same per-run analysis, so Table 1 can be set beside what Table 3
implies; :func:`amplitude_for_apparent_density` solves for the ``P*`` (hence ``n_ATS P*``) at which
one run's apparent concentration equals a target (Table 1's 1.888e17 g^-1 at 1 kOe). The apparent
values depend on how the points are weighted (``weighting``): ``"sigma"`` uses the noise model's
standard errors (relative noise weights the small high-temperature moments heavily), ``"uniform"``
weights every point alike.

**Curie test (Eq. 18).** From a weak-field M vs T run, ``T (chi - chi_L) = C + G T I(T)`` with
``chi = M/H`` and the seed's sign convention (its ``chi_L`` "taken with its negative sign"); with
our ``M = -chi_L H + ...`` that is ``T (M/H + chi_L)``. A paramagnetic crystal gives the constant
``C``; the ATS add ``G T I(T)``, ``I(T) = int_{D_min}^inf dE/E^2 tanh(E/2T)``, rising as
``C + (G/D_min) T`` for ``T << D_min`` and logarithmically above (:mod:`tunnelsim.etm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import etm
from ..paramagnet import FE2, FE3, curie_constant_emu_K_per_g_Oe, total_magnetization_emu_per_g
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .data import Run, make_dataset
from .least_squares import FitConvergenceError, fit_magnetization
from .models import iron_densities
from .parameters import NoiseModel, RunSpec, seed_runs

__all__ = [
    "curie_analysis",
    "per_run_document",
    "CurieTest",
    "LANGEVIN_MODES",
    "RunLangevinFits",
    "amplitude_for_apparent_density",
    "apparent_density",
    "curie_product_model",
    "curie_test",
    "format_langevin_tables",
    "langevin_drift",
    "per_run_langevin_fits",
]

#: mode -> (description, the concentration fixed at 0)
LANGEVIN_MODES = {
    "both": ("Fe3+ and Fe2+ allowed", None),
    "Fe3_only": ("Fe3+ only", "n_Fe2_per_g"),
    "Fe2_only": ("Fe2+ only", "n_Fe3_per_g"),
}
_N_UNIT, _CHI_UNIT = 1e17, 1e-7


@dataclass(frozen=True)
class RunLangevinFits:
    """LL-only fits of one run.

    Attributes
    ----------
    run : Run
    fits : dict
        mode -> :class:`tunnelsim.fitting.FitResult`, or a string saying why there is none.
    """

    run: object
    fits: dict

    def value(self, mode, name):
        """A fitted value, or NaN when the mode has no result."""
        fit = self.fits.get(mode)
        return fit.parameters[name].value if hasattr(fit, "parameters") else math.nan

    def to_dict(self):
        out = {"run": self.run.to_dict(), "fits": {}}
        for mode, fit in self.fits.items():
            if hasattr(fit, "parameters"):
                out["fits"][mode] = {
                    "parameters": {n: p.to_dict() for n, p in fit.parameters.items()},
                    "chi2_reduced": fit.chi2_reduced, "n_points": fit.n_points}
            else:
                out["fits"][mode] = {"error": str(fit)}
        return out


def _check_modes(modes):
    for mode in modes:
        if mode not in LANGEVIN_MODES:
            raise ValueError(f"mode must be one of {', '.join(LANGEVIN_MODES)}, got {mode!r}")
    return tuple(modes)


def _fit_run(run_data, mode, species):
    zero = LANGEVIN_MODES[mode][1]
    fixed = {zero: 0.0} if zero else None
    n_free = 3 - (zero is not None)
    if run_data.n_points <= n_free:
        return f"{run_data.n_points} points for {n_free} parameters"
    try:
        return fit_magnetization(run_data, "ll", fixed=fixed, species=species)
    except FitConvergenceError as exc:
        return str(exc)


def per_run_langevin_fits(data, modes=tuple(LANGEVIN_MODES), species=(FE2, FE3)):
    """Fit every run of a data set alone with the Larmor-Langevin model (the seed's Tables 1, 2).

    Parameters
    ----------
    data : MagnetizationData
    modes : sequence of str, optional
        Keys of :data:`LANGEVIN_MODES`.
    species : tuple of Species, optional
        The species of ``n_Fe2_per_g`` and ``n_Fe3_per_g``.

    Returns
    -------
    tuple of RunLangevinFits
        One per run, in the data's order.
    """
    modes = _check_modes(modes)
    rows = []
    for run in data.runs:
        run_data = data.run_data(run)
        rows.append(RunLangevinFits(run, {mode: _fit_run(run_data, mode, species) for mode in modes}))
    return tuple(rows)


def format_langevin_tables(rows):
    """The per-run LL results as text, one table per run kind, in the seed's layout and units."""
    lines = []
    for kind, axis in (("M_vs_T", "Magnetic field (kOe)"), ("M_vs_H", "Temperature (K)")):
        sel = [r for r in rows if r.run.kind == kind]
        if not sel:
            continue
        modes = [m for m in LANGEVIN_MODES if m in sel[0].fits]
        heads = [f"{r.run.fixed_value / 1e3:.4g}" if kind == "M_vs_T" else f"{r.run.fixed_value:.4g}" for r in sel]
        title = "M vs T runs at fixed H (as the seed's Table 1)" if kind == "M_vs_T" else \
            "M vs H runs at fixed T (as the seed's Table 2)"
        table = [(axis, heads)]
        for mode in modes:
            label = LANGEVIN_MODES[mode][0]
            for name, unit, text in (("n_Fe3_per_g", _N_UNIT, "n(Fe3+) 1e17/g"),
                                     ("n_Fe2_per_g", _N_UNIT, "n(Fe2+) 1e17/g"),
                                     ("chi_L_emu_per_g_Oe", _CHI_UNIT, "chi_L 1e-7 emu/gOe")):
                if LANGEVIN_MODES[mode][1] == name:
                    continue
                table.append((f"{text} [{label}]", [f"{r.value(mode, name) / unit:.4f}" for r in sel]))
            table.append((f"reduced chi2 [{label}]",
                          [f"{r.fits[mode].chi2_reduced:.3g}" if hasattr(r.fits[mode], "chi2_reduced") else "n/a"
                           for r in sel]))
        width = max(len(t[0]) for t in table)
        cell = max(len(c) for t in table for c in t[1]) + 2
        lines.append(title)
        lines += [f"{name:<{width}}" + "".join(f"{c:>{cell}}" for c in cells) for name, cells in table]
        failed = [(r.run.label, m, f) for r in sel for m, f in r.fits.items() if not hasattr(f, "parameters")]
        lines += [f"  no result for {label} [{m}]: {f}" for label, m, f in failed]
        lines.append("")
    return "\n".join(lines).rstrip()


# ------------------------------------------------------------------------ the seed's consistency
def _run_data(parameters, run, P_star, T0_K, noise, weighting, species):
    T, H = run.points()
    M = total_magnetization_emu_per_g(T, H, dict(parameters), P_star=P_star, T0_K=T0_K, species=species)
    if weighting == "sigma":
        sigma = noise.sigma(M)
    elif weighting == "uniform":
        sigma = None
    else:
        raise ValueError(f"weighting must be 'sigma' or 'uniform', got {weighting!r}")
    return make_dataset(T, H, M, sigma, "synthetic run", runs=(Run(run.kind, run.fixed_value, 0, T.size),))


def apparent_density(parameters, run, P_star=DEFAULT_P_STAR, mode="Fe3_only", weighting="sigma",
                     noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=(FE2, FE3)):
    """LL-only fit of one noiseless synthetic run: ``(n_apparent_per_g, chi_L_emu_per_g_Oe)``.

    ``n_apparent`` is ``n(Fe3+)`` for modes ``Fe3_only`` and ``both``, ``n(Fe2+)`` for ``Fe2_only``.

    Parameters
    ----------
    parameters : mapping
        Eq. 17 parameters (the seed's Table 3 names).
    run : RunSpec
    P_star : float, optional
    mode : str, optional
    weighting : {"sigma", "uniform"}, optional
        Weights ``1/sigma`` from ``noise`` (no noise is added) or uniform weights.
    noise : NoiseModel, optional
    T0_K : float, optional
    species : tuple of Species, optional
    """
    mode = _check_modes([mode])[0]
    data = _run_data(parameters, run, P_star, T0_K, noise, weighting, species)
    fit = _fit_run(data, mode, species)
    if isinstance(fit, str):
        raise FitConvergenceError(f"{run!r}: {fit}")
    name = "n_Fe2_per_g" if mode == "Fe2_only" else "n_Fe3_per_g"
    return fit.parameters[name].value, fit.parameters["chi_L_emu_per_g_Oe"].value


def langevin_drift(parameters, runs=None, P_star=DEFAULT_P_STAR, mode="Fe3_only", weighting="sigma",
                   noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=(FE2, FE3)):
    """The apparent LL concentrations and ``chi_L`` per run implied by a parameter set (noiseless).

    Parameters
    ----------
    parameters : mapping
    runs : sequence of RunSpec, optional
        Default: the seed's M vs T runs (:func:`tunnelsim.parameters.seed_runs`, Table 1's fields).
    P_star, mode, weighting, noise, T0_K, species
        As :func:`apparent_density`.

    Returns
    -------
    list of dict
        ``{"kind", "fixed_value", "n_apparent_per_g", "chi_L_emu_per_g_Oe"}`` per run.
    """
    if runs is None:
        runs = [r for r in seed_runs() if r.kind == "M_vs_T"]
    out = []
    for run in runs:
        n, chi = apparent_density(parameters, run, P_star, mode, weighting, noise, T0_K, species)
        out.append({"kind": run.kind, "fixed_value": run.fixed_value, "n_apparent_per_g": n,
                    "chi_L_emu_per_g_Oe": chi})
    return out


def amplitude_for_apparent_density(target_per_g, parameters, run=None, mode="Fe3_only", weighting="sigma",
                                   noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=(FE2, FE3),
                                   P_star_bracket=(1e-3, 1e3), rtol=1e-8):
    """Solve for the ``P*`` at which a run's apparent LL concentration equals ``target_per_g``.

    Brent's method on ``ln P*`` within ``P_star_bracket``; ``n_ATS`` stays at the parameter set's value.

    Parameters
    ----------
    target_per_g : float
        E.g. Table 1's 1.888e17 g^-1 at 1 kOe.
    parameters : mapping
        With ``n_ATS_per_g``.
    run : RunSpec, optional
        Default: the seed's lowest-field M vs T run (1 kOe, 2-300 K).
    mode, weighting, noise, T0_K, species
        As :func:`apparent_density`.
    P_star_bracket : (float, float), optional
    rtol : float, optional
        Relative tolerance on ``P*``.

    Returns
    -------
    dict
        ``{"P_star", "n_ATS_P_star_per_g", "G_eq12_emu_K_per_g_Oe", "n_apparent_per_g",
        "chi_L_emu_per_g_Oe"}``. Weak-field data fix ``G`` of Eq. 12 (with ``D_min``), not ``n_ATS P*``
        at fixed cutoffs: any ``(n_ATS P*, D0QS_min, D0QS_max)`` with the same ``G`` gives the same
        apparent density, so ``G`` is the number to compare with a fit.

    Raises
    ------
    ValueError
        If no ``P*`` in the bracket reaches the target.
    """
    from scipy.optimize import brentq

    if run is None:
        run = min((r for r in seed_runs() if r.kind == "M_vs_T"), key=lambda r: abs(r.fixed_value))
    if not isinstance(run, RunSpec):
        raise ValueError("run must be a RunSpec")

    def gap(log_P):
        return apparent_density(parameters, run, math.exp(log_P), mode, weighting, noise, T0_K, species)[0] - \
            target_per_g

    lo, hi = (math.log(p) for p in P_star_bracket)
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo * g_hi > 0:
        raise ValueError(f"no P* in [{P_star_bracket[0]:g}, {P_star_bracket[1]:g}] gives an apparent density of "
                         f"{target_per_g:g} per g (range {g_lo + target_per_g:.4g} .. {g_hi + target_per_g:.4g})")
    log_P = brentq(gap, lo, hi, xtol=rtol, rtol=rtol)
    P = math.exp(log_P)
    n, chi = apparent_density(parameters, run, P, mode, weighting, noise, T0_K, species)
    G = etm.etm_G_emu_K_per_g_Oe(parameters["D0QS_min_K_A2"], parameters["D0QS_max_K_A2"],
                                 P * parameters["n_ATS_per_g"])
    return {"P_star": P, "n_ATS_P_star_per_g": P * parameters["n_ATS_per_g"], "G_eq12_emu_K_per_g_Oe": float(G),
            "n_apparent_per_g": n, "chi_L_emu_per_g_Oe": chi}


# ----------------------------------------------------------------------------------- Eq. 18
@dataclass(frozen=True)
class CurieTest:
    """``T (chi - chi_L)`` of Eq. 18 from one weak-field M vs T run.

    Attributes
    ----------
    field_Oe : float
    temperature_K, product_emu_K_per_g_Oe, sigma_emu_K_per_g_Oe : numpy.ndarray
        ``T (M/H + chi_L)`` and its standard error (None without ``sigma`` in the data).
    chi_L_emu_per_g_Oe : float
    """

    field_Oe: float
    temperature_K: np.ndarray
    product_emu_K_per_g_Oe: np.ndarray
    sigma_emu_K_per_g_Oe: np.ndarray | None
    chi_L_emu_per_g_Oe: float


def curie_test(data, chi_L_emu_per_g_Oe, run=None):
    """``T (chi - chi_L)`` vs ``T`` (Eq. 18) from a weak-field M vs T run.

    Parameters
    ----------
    data : MagnetizationData
    chi_L_emu_per_g_Oe : float
        The Larmor susceptibility (positive for a diamagnet, as in Eq. 17), e.g. from a fit.
    run : Run, optional
        Default: the M vs T run at the lowest nonzero ``|H|``.

    Returns
    -------
    CurieTest

    Raises
    ------
    ValueError
        If the data hold no M vs T run at nonzero field.
    """
    if run is None:
        candidates = [r for r in data.runs_of_kind("M_vs_T") if r.fixed_value != 0]
        if not candidates:
            raise ValueError(f"{data.source}: the Curie test (Eq. 18) needs an M vs T run at nonzero field")
        run = min(candidates, key=lambda r: abs(r.fixed_value))
    s = run.indices
    T, H, M = data.temperature_K[s], data.field_Oe[s], data.magnetization_emu_per_g[s]
    product = T * (M / H + chi_L_emu_per_g_Oe)
    sigma = None if data.sigma_emu_per_g is None else T * data.sigma_emu_per_g[s] / np.abs(H)
    order = np.argsort(T)
    return CurieTest(float(np.mean(H)), T[order], product[order], None if sigma is None else sigma[order],
                     float(chi_L_emu_per_g_Oe))


def curie_product_model(temperature_K, parameters, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K, species=(FE2, FE3)):
    """Eq. 18, ``C + G T I(T)``, and the Curie constant ``C`` alone (emu K g^-1 Oe^-1).

    ``C`` sums the species' Curie constants; ``G`` is Eq. 12's (orientation averaged, amplitude
    ``n_ATS P*``). With ``delta_mu_K`` the ETM parameters follow Eq. 15 at each ``T``. Without
    ``n_ATS_per_g`` (an LL-only parameter set) the product is ``C``.

    Returns
    -------
    (numpy.ndarray, float)
    """
    T = np.asarray(temperature_K, dtype=float)
    C = sum(float(curie_constant_emu_K_per_g_Oe(n, s)) for n, s in zip(iron_densities(parameters), species))
    if "n_ATS_per_g" not in parameters:
        return np.full_like(T, C), C
    D_min, a, b = parameters["D_min_K"], parameters["D0QS_min_K_A2"], parameters["D0QS_max_K_A2"]
    if parameters.get("delta_mu_K") is not None:
        sc = etm.scaled_parameters(T, D_min, a, b, parameters["delta_mu_K"], T0_K)
        D_min, a, b = sc.D_min_K, sc.D0QS_min_K_A2, sc.D0QS_max_K_A2
    G = etm.etm_G_emu_K_per_g_Oe(a, b, parameters["n_ATS_per_g"] * P_star)
    return etm.curie_product_eq18_emu_K_per_g_Oe(T, C, G, D_min), C


def curie_analysis(data, result, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K):
    """The Curie test of a joint fit, where the data allow it: ``(CurieTest, model)`` or ``(None, None)``.

    The test needs an M vs T run at a non-zero field (:func:`curie_test`); the model curve is
    :func:`curie_product_model` of the fitted parameters.

    Parameters
    ----------
    data : MagnetizationData
    result : tunnelsim.fitting.FitResult
        A joint fit (its ``chi_L_emu_per_g_Oe`` is subtracted).
    P_star, T0_K : float, optional
        The fit's settings.
    """
    if not any(r.fixed_value != 0 for r in data.runs_of_kind("M_vs_T")):
        return None, None
    curie = curie_test(data, result.parameters["chi_L_emu_per_g_Oe"].value)
    model = curie_product_model(curie.temperature_K, result.values(), P_star, T0_K, result.species)
    return curie, model


def per_run_document(rows):
    """The JSON document of :func:`per_run_langevin_fits` (the seed's Tables 1 and 2)."""
    return {"model": "ll", "analysis": "per_run", "runs": [r.to_dict() for r in rows]}
