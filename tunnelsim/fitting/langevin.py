"""Larmor-Langevin-only analysis of SQUID runs (the seed's Tables 1, 2) and the Curie test (Eq. 18).

**Per-run LL fits.** The seed's Tables 1 and 2 fit each run alone with the Larmor-Langevin form
(Eq. 17 without the intrinsic term): once with both Fe3+ and Fe2+ allowed (the seed always finds
``n(Fe2+) = 0``), once with Fe2+ only. The apparent concentrations then drift with the run's H or T:
the intrinsic ATS term the LL form leaves out. :func:`per_run_langevin_fits` redoes this for any
data set, in three modes: ``both``, ``Fe3_only`` and ``Fe2_only``; :func:`format_langevin_tables`
prints it in the seed's layout (concentrations in 1e17 g^-1, ``chi_L`` in 1e-7 emu g^-1 Oe^-1).
With other paramagnetic species (``species``, :mod:`tunnelsim.ions`) the modes are
:func:`langevin_modes` of them: ``both`` lets every species vary, and with two or more species
``<tag>_only`` (``Gd3_only`` for Gd3+, the tag of its density ``n_Gd3_per_g``) keeps that species
alone, the others fixed at 0. For Fe2+ and Fe3+ that gives the seed's three modes; any other mode
is refused with the list of those available.

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
from ..ions import DEFAULT_SPECIES, density_parameter_name, is_iron_pair
from ..paramagnet import curie_constant_emu_K_per_g_Oe, total_magnetization_emu_per_g
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .data import Run, make_dataset
from .least_squares import FitConvergenceError, fit_magnetization
from .models import _species, species_densities
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
    "langevin_modes",
    "per_run_langevin_fits",
]

#: mode -> (description, the concentration fixed at 0) of the default species Fe2+ and Fe3+
#: (:func:`langevin_modes` gives those of any species).
LANGEVIN_MODES = {
    "both": ("Fe3+ and Fe2+ allowed", None),
    "Fe3_only": ("Fe3+ only", "n_Fe2_per_g"),
    "Fe2_only": ("Fe2+ only", "n_Fe3_per_g"),
}
_N_UNIT, _CHI_UNIT = 1e17, 1e-7


def _display_order(species):
    """The species in table order: Fe3+ before Fe2+ for iron (the seed's tables), else as given."""
    species = _species(species)
    if is_iron_pair(species):
        return tuple(sorted(species, key=lambda s: density_parameter_name(s) != "n_Fe3_per_g"))
    return species


def langevin_modes(species=DEFAULT_SPECIES):
    """The per-run modes for ``species``: ``{mode: (description, densities fixed at 0)}``.

    ``both`` varies every species; with two or more species ``<tag>_only`` keeps one species (its
    density ``n_<tag>_per_g``), the others fixed at 0. For Fe2+ and Fe3+ these are
    :data:`LANGEVIN_MODES`: ``both``, ``Fe3_only``, ``Fe2_only``.
    """
    order = _display_order(species)
    names = [density_parameter_name(s) for s in order]
    if is_iron_pair(order):
        return {mode: (text, () if zero is None else (zero,)) for mode, (text, zero) in LANGEVIN_MODES.items()}
    what = " and ".join(s.name for s in order)
    modes = {"both": (f"{what} allowed" if len(order) > 1 else f"{what}", ())}
    if len(order) > 1:
        for s, name in zip(order, names):
            modes[f"{name[2:-6]}_only"] = (f"{s.name} only", tuple(n for n in names if n != name))
    return modes


@dataclass(frozen=True)
class RunLangevinFits:
    """LL-only fits of one run.

    Attributes
    ----------
    run : Run
    fits : dict
        mode -> :class:`tunnelsim.fitting.FitResult`, or a string saying why there is none.
    species : tuple of Species
        The paramagnetic species of the fits.
    """

    run: object
    fits: dict
    species: tuple = DEFAULT_SPECIES

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


def _check_modes(modes, species=DEFAULT_SPECIES):
    available = langevin_modes(species)
    for mode in modes:
        if mode not in available:
            for_species = "" if is_iron_pair(species) else f" for species {', '.join(s.name for s in species)}"
            raise ValueError(f"mode must be one of {', '.join(available)}{for_species}, got {mode!r}")
    return tuple(modes)


def _default_mode(species):
    """``Fe3_only`` for iron (the seed's Table 1), else the first species alone (``both`` for one species)."""
    return next(iter(langevin_modes(species))) if len(species) == 1 else list(langevin_modes(species))[1]


def _fit_run(run_data, mode, species):
    zero = langevin_modes(species)[mode][1]
    fixed = dict.fromkeys(zero, 0.0) if zero else None
    n_free = len(species) + 1 - len(zero)
    if run_data.n_points <= n_free:
        return f"{run_data.n_points} points for {n_free} parameters"
    try:
        return fit_magnetization(run_data, "ll", fixed=fixed, species=species)
    except FitConvergenceError as exc:
        return str(exc)


def per_run_langevin_fits(data, modes=None, species=DEFAULT_SPECIES):
    """Fit every run of a data set alone with the Larmor-Langevin model (the seed's Tables 1, 2).

    Parameters
    ----------
    data : MagnetizationData
    modes : sequence of str, optional
        Keys of :func:`langevin_modes` of ``species`` (default all of them; for Fe2+ and Fe3+ the
        seed's ``both``, ``Fe3_only``, ``Fe2_only``).
    species : sequence of Species, optional
        The paramagnetic species (default Fe2+, Fe3+).

    Returns
    -------
    tuple of RunLangevinFits
        One per run, in the data's order.
    """
    species = _species(species)
    modes = _check_modes(tuple(langevin_modes(species)) if modes is None else modes, species)
    rows = []
    for run in data.runs:
        run_data = data.run_data(run)
        rows.append(RunLangevinFits(run, {mode: _fit_run(run_data, mode, species) for mode in modes}, species))
    return tuple(rows)


def format_langevin_tables(rows):
    """The per-run LL results as text, one table per run kind, in the seed's layout and units."""
    lines = []
    for kind, axis in (("M_vs_T", "Magnetic field (kOe)"), ("M_vs_H", "Temperature (K)")):
        sel = [r for r in rows if r.run.kind == kind]
        if not sel:
            continue
        available = langevin_modes(sel[0].species)
        modes = [m for m in available if m in sel[0].fits]
        rows_of = [(density_parameter_name(s), _N_UNIT, f"n({s.name}) 1e17/g") for s in _display_order(sel[0].species)]
        rows_of.append(("chi_L_emu_per_g_Oe", _CHI_UNIT, "chi_L 1e-7 emu/gOe"))
        heads = [f"{r.run.fixed_value / 1e3:.4g}" if kind == "M_vs_T" else f"{r.run.fixed_value:.4g}" for r in sel]
        title = "M vs T runs at fixed H (as the seed's Table 1)" if kind == "M_vs_T" else \
            "M vs H runs at fixed T (as the seed's Table 2)"
        table = [(axis, heads)]
        for mode in modes:
            label = available[mode][0]
            for name, unit, text in rows_of:
                if name in available[mode][1]:
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


def _apparent_name(mode, species):
    """The density a mode reports: the first species it varies, Fe3+ before Fe2+."""
    zero = langevin_modes(species)[mode][1]
    return next(n for n in map(density_parameter_name, _display_order(species)) if n not in zero)


def apparent_density(parameters, run, P_star=DEFAULT_P_STAR, mode=None, weighting="sigma",
                     noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=DEFAULT_SPECIES):
    """LL-only fit of one noiseless synthetic run: ``(n_apparent_per_g, chi_L_emu_per_g_Oe)``.

    ``n_apparent`` is ``n(Fe3+)`` for modes ``Fe3_only`` and ``both``, ``n(Fe2+)`` for ``Fe2_only``;
    with other species, that of the species a ``<tag>_only`` mode keeps, or of the first species
    for ``both``.

    Parameters
    ----------
    parameters : mapping
        Eq. 17 parameters (the seed's Table 3 names).
    run : RunSpec
    P_star : float, optional
    mode : str, optional
        A key of :func:`langevin_modes` of ``species``; default ``Fe3_only`` for Fe2+ and Fe3+, else
        the first species alone (``both`` for a single species).
    weighting : {"sigma", "uniform"}, optional
        Weights ``1/sigma`` from ``noise`` (no noise is added) or uniform weights.
    noise : NoiseModel, optional
    T0_K : float, optional
    species : sequence of Species, optional
        The paramagnetic species (default Fe2+, Fe3+), of the parameters and of the fits.
    """
    species = _species(species)
    mode = _check_modes([_default_mode(species) if mode is None else mode], species)[0]
    data = _run_data(parameters, run, P_star, T0_K, noise, weighting, species)
    fit = _fit_run(data, mode, species)
    if isinstance(fit, str):
        raise FitConvergenceError(f"{run!r}: {fit}")
    name = _apparent_name(mode, species)
    return fit.parameters[name].value, fit.parameters["chi_L_emu_per_g_Oe"].value


def langevin_drift(parameters, runs=None, P_star=DEFAULT_P_STAR, mode=None, weighting="sigma",
                   noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=DEFAULT_SPECIES):
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


def amplitude_for_apparent_density(target_per_g, parameters, run=None, mode=None, weighting="sigma",
                                   noise=NoiseModel(), T0_K=DEFAULT_T0_K, species=DEFAULT_SPECIES,
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


def curie_product_model(temperature_K, parameters, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                        species=DEFAULT_SPECIES):
    """Eq. 18, ``C + G T I(T)``, and the Curie constant ``C`` alone (emu K g^-1 Oe^-1).

    ``C`` sums the species' Curie constants; ``G`` is Eq. 12's (orientation averaged, amplitude
    ``n_ATS P*``). With ``delta_mu_K`` the ETM parameters follow Eq. 15 at each ``T``. Without
    ``n_ATS_per_g`` (an LL-only parameter set) the product is ``C``.

    Returns
    -------
    (numpy.ndarray, float)
    """
    T = np.asarray(temperature_K, dtype=float)
    species = _species(species)
    C = sum(float(curie_constant_emu_K_per_g_Oe(n, s)) for n, s in zip(species_densities(parameters, species), species))
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
    """The JSON document of :func:`per_run_langevin_fits` (the seed's Tables 1 and 2), with the species."""
    species = rows[0].species if rows else DEFAULT_SPECIES
    return {"model": "ll", "analysis": "per_run", "runs": [r.to_dict() for r in rows],
            "species": [{"name": s.name, "g": s.g, "J": s.J, "parameter": density_parameter_name(s)}
                        for s in species]}
