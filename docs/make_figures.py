"""Make the figure gallery of docs/gallery.md (and the opening figure of the README).

Usage::

    python docs/make_figures.py [--outdir DIR] [--quick]

Every number comes from the public tunnelsim API (config and runner, ensemble, etm, paramagnet,
synth, fitting, langevin_analysis, validation); the panels are drawn with
:mod:`tunnelsim.plotting` and :mod:`tunnelsim.fitting.figures` where they have a figure function, and
with plain matplotlib (``Figure`` on an Agg canvas, never ``pyplot``) otherwise. ``--quick``
uses coarse grids (about 15 s on a two-core machine, for the tests); the default grids
(under a minute) are the ones the committed PNGs were made with. One line per figure, with
the numbers a reader should see in it, goes to stdout.

Figures (file names in :data:`FIGURES`):

* ``overview.png``: M(T) of the exact three-level ATS ensemble (Eq. 6, 8) at several fields,
  and the exact spectrum of one ATS against the Aharonov-Bohm phase (Eq. 7) with the ETM gap.
* ``universality.png``: Eq. 17 with the seed's Table 3 parameters: the M(H) family, the
  universality test M - M_L against H/T, and the intrinsic part that breaks it.
* ``bk7_fit.png``: synthetic BK7-like runs and the joint Eq. 17 fit, with residuals.
* ``bk7_langevin_curie.png``: apparent Larmor-Langevin concentrations per run (the seed's
  Tables 1, 2) and the Curie test of Eq. 18.
* ``four_well_vs_three_level.png``: the tetrahedral four-well ensemble against the matched 3LS.
* ``etm_error_map.png``: Eq. 10 and Eq. 11 (true derivative) against the exact ensemble.
* ``dielectric_response.png``: Delta eps'/eps_r of the ATS (exact 3LS) plus an STM background against
  B at millikelvin temperatures (``simulations/dielectric_bk7.toml``), and the Aharonov-Bohm period of
  one orientation at high field.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
from matplotlib.lines import Line2D

from tunnelsim import (
    config,
    ensemble,
    etm,
    fitting,
    hamiltonians,
    paramagnet,
    plotting,
    runner,
    spectra,
    units,
    validation,
)
from tunnelsim._atomic import atomic_output
from tunnelsim.fitting import figures, langevin, parameters, synth

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTDIR = Path(__file__).resolve().parent / "figures"
QUICKSTART_CONFIG = REPO / "simulations" / "quickstart.toml"
DIELECTRIC_CONFIG = REPO / "simulations" / "dielectric_bk7.toml"
BK7_PARAMETERS = REPO / "simulations" / "bk7_synthetic_params.toml"

#: Figure file names, in the order they are made.
FIGURES = (
    "overview.png",
    "universality.png",
    "bk7_fit.png",
    "bk7_langevin_curie.png",
    "four_well_vs_three_level.png",
    "etm_error_map.png",
    "dielectric_response.png",
)
#: Raster resolution of every PNG (commit-sized files).
DPI = 110


@dataclass(frozen=True)
class GallerySettings:
    """Grids and node counts of the gallery.

    Attributes
    ----------
    overview_temperature_K : tuple of float
        Temperatures of the exact M(T) curves.
    overview_field_T : tuple of float
        Fields of the exact M(T) curves (B = mu0 H).
    error_estimate : bool
        Error bands on the exact M(T) (the default embedded estimate, about 1.2-1.5 times the cost).
    spectrum_phase_points : int
        Points of the spectrum against the AB phase.
    universality_temperature_K : tuple of float
        Temperatures of the M vs T runs of the universality test.
    family_field_points : int
        Points per M(H) curve (0 to 70 kOe).
    fit_runs : tuple of tunnelsim.parameters.RunSpec or None
        Runs of the synthetic BK7 data (None: the parameter file's, 500 points).
    four_well : tunnelsim.validation.FourWellSettings
    error_map_temperature_K, error_map_field_T : tuple of float
        Grid of the exact-vs-analytic error map.
    dielectric_field_T : tuple of float
        Fields of the permittivity against B (the shipped config's temperatures).
    dielectric_ab_field_T : tuple of float
        Fields of the single-orientation permittivity (Aharonov-Bohm period).
    """

    overview_temperature_K: tuple
    overview_field_T: tuple
    error_estimate: bool
    spectrum_phase_points: int
    universality_temperature_K: tuple
    family_field_points: int
    fit_runs: tuple | None
    four_well: validation.FourWellSettings
    error_map_temperature_K: tuple
    error_map_field_T: tuple
    dielectric_field_T: tuple
    dielectric_ab_field_T: tuple


def _floats(values):
    return tuple(float(v) for v in values)


def full_settings():
    """The grids the committed figures were made with (under a minute in all on two cores)."""
    return GallerySettings(
        overview_temperature_K=_floats(np.geomspace(1.0, 100.0, 25)),
        overview_field_T=(0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.5),
        error_estimate=True,
        spectrum_phase_points=401,
        universality_temperature_K=_floats(np.geomspace(2.0, 300.0, 40)),
        family_field_points=57,
        fit_runs=None,
        four_well=validation.FourWellSettings(temperature_K=_floats(np.geomspace(1.0, 30.0, 9)),
                                              field_T=(1.0, 3.0, 6.5), D_max_K=1.0e3, sphere_degree=7),
        error_map_temperature_K=_floats(np.geomspace(0.05, 30.0, 19)),
        error_map_field_T=_floats(np.linspace(0.1, 7.0, 24)),
        dielectric_field_T=_floats(np.geomspace(1e-4, 10.0, 26)),
        dielectric_ab_field_T=_floats(np.linspace(0.0, 30.0, 121)),
    )


def quick_settings():
    """Coarse grids: every figure in well under 20 s (the test suite runs this)."""
    return GallerySettings(
        overview_temperature_K=_floats(np.geomspace(1.0, 100.0, 8)),
        overview_field_T=(1.0, 3.0, 6.5),
        error_estimate=False,
        spectrum_phase_points=121,
        universality_temperature_K=_floats(np.geomspace(2.0, 300.0, 12)),
        family_field_points=15,
        fit_runs=parameters.seed_runs(n_temperatures=10, n_fields=8),
        four_well=validation.FourWellSettings(temperature_K=(2.0, 4.5, 10.0, 30.0), field_T=(1.0, 3.0), D_max_K=100.0,
                                              sphere_degree=5,
                                              nodes=MappingProxyType({"D": 10, "D0": 2, "direction": 6})),
        error_map_temperature_K=_floats(np.geomspace(0.05, 30.0, 6)),
        error_map_field_T=_floats(np.linspace(0.1, 7.0, 6)),
        dielectric_field_T=_floats(np.geomspace(1e-4, 10.0, 11)),
        dielectric_ab_field_T=_floats(np.linspace(0.0, 30.0, 61)),
    )


def _figure(ncols, nrows=1, width=5.0, height=4.0):
    """A constrained-layout figure on an Agg canvas and its axes, row by row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(nrows, ncols, k + 1) for k in range(nrows * ncols)]
    return fig, axes


# ============================================================================ (a) overview
def exact_magnetization_vs_temperature(cfg, settings):
    """M(T, B) of a simulation config (here the quickstart's exact 3LS ATS ensemble, Eq. 6 with Eq. 8)
    on the gallery grid: the config with its grid, error estimate and outputs replaced.

    Parameters
    ----------
    cfg : tunnelsim.config.SimulationConfig
    settings : GallerySettings

    Returns
    -------
    tunnelsim.ensemble.EnsembleResult
    """
    grid = dataclasses.replace(cfg.grid, temperature_K=settings.overview_temperature_K,
                               field_T=settings.overview_field_T)
    averaging = dataclasses.replace(cfg.averaging, error_estimate=settings.error_estimate)
    output = dataclasses.replace(cfg.output, observables=("magnetization",), analytic=())
    return runner.run(dataclasses.replace(cfg, grid=grid, averaging=averaging, output=output))


def figure_overview(settings):
    """Opening figure: exact M(T) at several fields, and one ATS spectrum against the AB phase.

    The spectrum is Eq. 6 for ``D0 = 9.40 K`` (the geometric centre of the quickstart's D0 range,
    Table 3's products over ``(Q/e) S_Delta = 30000 A^2``) and ``D = 0.2 D0``; the ETM gap is
    ``sqrt((2/3) D^2 + (4/3) D0^2 phi^2)``, i.e. Eq. 10's ``sqrt(D^2 + (D0 phi)^2)`` with the mapped
    constants (physics.md section 2). The top axis converts ``phi`` to ``B`` by Eq. 7 at ``u = 1``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    cfg = config.load_config(QUICKSTART_CONFIG)
    result = exact_magnetization_vs_temperature(cfg, settings)
    charge_area_A2 = cfg.system.charge_area_A2
    fig, (ax_m, ax_s) = _figure(2, width=5.9, height=4.3)
    plotting.plot_result(result, ax=ax_m)
    ax_m.set_title("exact 3LS ATS ensemble, BK7 Table 3 parameters", fontsize="medium")
    ax_m.set_ylabel("intrinsic magnetisation M (emu/g)")
    for line, field_T in zip(ax_m.get_lines(), result.field_T):
        line.set_label(f"{field_T:g} T ({units.tesla_to_oe(field_T) / 1e3:g} kOe)")
    ax_m.legend(fontsize="small", title="field B (H)", title_fontsize="small", loc="upper left",
                bbox_to_anchor=(1.01, 1.0))

    D0_K = math.sqrt(cfg.distribution.parameters["D0_min_K"] * cfg.distribution.parameters["D0_max_K"])
    D_K = 0.2 * D0_K
    phi = np.linspace(-2.0 * math.pi, 2.0 * math.pi, settings.spectrum_phase_points)
    levels = spectra.solve(hamiltonians.three_level(hamiltonians.asymmetries_from_polar(D_K, 0.3), D0_K, phi)).levels
    gap_etm_K = np.sqrt((2.0 / 3.0) * D_K**2 + (4.0 / 3.0) * (D0_K * phi) ** 2)
    plotting.plot_spectrum(phi, levels, gap_etm=gap_etm_K, ax=ax_s, label_etm="ETM gap (mapped constants)")
    ax_s.set_ylim(levels.min() - 0.8 * D0_K, levels.max() + 0.25 * D0_K)  # room for the legend below
    ax_s.set_title(f"one ATS (Eq. 6): D0 = {D0_K:.2f} K, D = 0.2 D0", fontsize="medium")
    ax_s.legend(fontsize="small", loc="lower center")
    B_phi = float(units.phase_field_scale_T(charge_area_A2))
    top = ax_s.secondary_xaxis("top", functions=(lambda p: p * B_phi, lambda b: b / B_phi))
    top.set_xlabel(f"B (T) at u = 1, (Q/e)S = {charge_area_A2:g} Å$^2$")

    M = result.values["magnetization"]
    j_low = int(np.argmin(result.temperature_K))
    k_peak = int(np.argmax(M[j_low]))
    summary = (f"lowest T = {result.temperature_K[j_low]:g} K: M largest at B = {result.field_T[k_peak]:g} T, "
               f"M({result.field_T[-1]:g} T)/M(peak) = {M[j_low, -1] / M[j_low, k_peak]:.3f}; "
               f"AB period of the spectrum 2 pi = {2 * math.pi * B_phi:.3g} T")
    return fig, summary


# ============================================================================ (b) universality
def eq17_result(temperature_K, field_Oe, parameters, P_star, T0_K, part="total"):
    """Eq. 17 on a (T, H) grid as an :class:`~tunnelsim.ensemble.EnsembleResult` (emu/g).

    ``part = "total"``: ``-chi_L H + M_Fe(H/T) + M_intr(T, H)``; ``part = "intrinsic"``: the
    ATS term alone (the total minus the Larmor and Langevin terms of Eq. 17).
    """
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    TT, HH = np.meshgrid(T, H, indexing="ij")
    total = paramagnet.total_magnetization_emu_per_g(TT, HH, parameters, P_star=P_star, T0_K=T0_K)
    if part == "total":
        value, name = total, "magnetisation per gram, Eq. 17"
    elif part == "intrinsic":
        larmor = paramagnet.larmor_emu_per_g(parameters["chi_L_emu_per_g_Oe"], HH)
        iron = (paramagnet.species_magnetization_emu_per_g(parameters["n_Fe2_per_g"], paramagnet.FE2, HH, TT)
                + paramagnet.species_magnetization_emu_per_g(parameters["n_Fe3_per_g"], paramagnet.FE3, HH, TT))
        value, name = total - larmor - iron, "intrinsic (ATS) magnetisation per gram, Eq. 17"
    else:
        raise ValueError(f"part must be 'total' or 'intrinsic', got {part!r}")
    return ensemble.EnsembleResult(
        temperature_K=T, field_T=units.oe_to_tesla(H), values={"magnetization": value},
        errors={"magnetization": np.full(value.shape, np.nan)}, units={"magnetization": "emu/g"},
        long_names={"magnetization": name},
    )


def figure_universality(settings):
    """The M(H) family and the universality test ``M - M_L`` against ``H/T`` (the seed's Figs. 14, 15).

    Eq. 17 with the seed's Table 3 parameters (``simulations/bk7_synthetic_params.toml``),
    ``P* = 1/(2 pi)``; the M vs T runs are at the seed's nine fields.

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    pf = parameters.load_parameter_file(BK7_PARAMETERS)
    truth = pf.values()
    fig, (ax_h, ax_u, ax_i) = _figure(3, width=4.6, height=4.2)
    family = eq17_result(parameters.SEED_M_VS_H_TEMPERATURES_K, np.linspace(0.0, 7.0e4, settings.family_field_points),
                         truth, pf.P_star, pf.T0_K)
    plotting.plot_result(family, ax=ax_h)
    ax_h.set_ylabel("M (emu/g)")
    ax_h.set_title("M(H) family at fixed T (Eq. 17)", fontsize="medium")
    secondary = ax_h.secondary_xaxis("top", functions=(lambda b: units.tesla_to_oe(b) / 1e3,
                                                       lambda h: units.oe_to_tesla(h * 1e3)))
    secondary.set_xlabel("H (kOe)")

    T = settings.universality_temperature_K
    H = np.asarray(parameters.SEED_M_VS_T_FIELDS_OE)
    total = eq17_result(T, H, truth, pf.P_star, pf.T0_K)
    plotting.plot_universality(total, subtract_larmor_emu_per_g_Oe=truth["chi_L_emu_per_g_Oe"], ax=ax_u)
    ax_u.set_title("universality test: M vs T runs (fields as right)", fontsize="medium")
    ax_u.get_legend().remove()

    intrinsic = eq17_result(T, H, truth, pf.P_star, pf.T0_K, part="intrinsic")
    plotting.plot_universality(intrinsic, ax=ax_i)
    ax_i.set_xscale("log")
    ax_i.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax_i.set_ylabel(r"$M_{intr} = M - M_L - M_{Fe}$ (emu/g)")
    ax_i.set_title("what breaks it: the ATS term", fontsize="medium")
    ax_i.legend(fontsize="x-small", ncols=1)

    m_intr = intrinsic.values["magnetization"]
    share = np.max(np.abs(m_intr) / np.abs(total.values["magnetization"] + truth["chi_L_emu_per_g_Oe"] * H))
    x = H[None, :] / 1e3 / np.asarray(T)[:, None]
    near = np.abs(np.log(x / 2.0)) < 0.15  # points with H/T close to 2 kOe/K, from several runs
    spread = np.ptp(m_intr[near]) / np.mean(np.abs(m_intr[near])) if np.count_nonzero(near) > 1 else math.nan
    summary = (f"largest intrinsic share of M - M_L = {share:.3g}; intrinsic M at H/T ~ 2 kOe/K spreads "
               f"by {spread:.2f} of its mean across runs")
    return fig, summary


# ============================================================================ (c) BK7 fit
def bk7_fit(settings):
    """Synthetic BK7-like data (Table 3, :mod:`tunnelsim.fitting.synth`) and their joint Eq. 17 fit.

    The fit starts from every Table 3 parameter moved by +-20 % (seeded), as in notebook 03.

    Returns
    -------
    pf : tunnelsim.parameters.ParameterFile
    data : tunnelsim.fitting.data.MagnetizationData
    result : tunnelsim.fitting.FitResult
    """
    pf = parameters.load_parameter_file(BK7_PARAMETERS)
    truth = pf.values()
    runs = pf.runs if settings.fit_runs is None else settings.fit_runs
    data = synth.synthesize(truth, runs, pf.noise, seed=pf.seed, P_star=pf.P_star, T0_K=pf.T0_K)
    signs = np.random.default_rng(7).choice([-1.0, 1.0], size=len(truth))
    start = {name: value * (1.0 + 0.2 * s) for (name, value), s in zip(truth.items(), signs)}
    if start["D0QS_max_K_A2"] <= start["D0QS_min_K_A2"]:
        start["D0QS_max_K_A2"] = 1.2 * start["D0QS_min_K_A2"]
    result = fitting.fit_magnetization(data, "etm", start=start, P_star=pf.P_star, T0_K=pf.T0_K)
    return pf, data, result


def figure_bk7_fit(pf, data, result):
    """Data and fitted model per run (top) and normalised residuals (bottom).

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    fig, axes = _figure(2, nrows=2, width=5.6, height=3.9)
    figures.plot_fit(data, result, axes=axes[:2])
    figures.plot_residuals(data, result, axes=axes[2:])
    for ax in axes[2:]:
        ax.get_legend().remove()
    low, high = axes[0].get_ylim()
    axes[0].set_ylim(low - 0.3 * (high - low), high)  # room for the legend below the 65 kOe run
    axes[0].legend(fontsize="x-small", ncols=3, loc="lower left")
    truth = pf.values()
    total = result.derived["n_Fe_total_per_g"]
    pulls = {name: (p.value - truth[name]) / p.stderr for name, p in result.parameters.items()
             if p.stderr and name in ("chi_L_emu_per_g_Oe", "delta_mu_K")}
    summary = (f"{data.n_points} points, reduced chi2 = {result.chi2_reduced:.3f}; n(Fe) total = "
               f"{total.value:.4g} +- {total.stderr:.2g} (truth {truth['n_Fe2_per_g'] + truth['n_Fe3_per_g']:.4g}); "
               + ", ".join(f"pull {k} = {v:+.2f}" for k, v in pulls.items()))
    return fig, summary


def figure_langevin_curie(pf, data, result):
    """Larmor-Langevin-only fits run by run (the seed's Tables 1, 2) and the Eq. 18 Curie test.

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    rows = langevin.per_run_langevin_fits(data)
    curie = langevin.curie_test(data, result.parameters["chi_L_emu_per_g_Oe"].value)
    model = langevin.curie_product_model(curie.temperature_K, result.values(), pf.P_star, pf.T0_K)
    fig, axes = _figure(3, width=4.7, height=4.2)
    figures.plot_langevin_drift(rows, axes=axes[:2])
    axes[0].legend(fontsize="small", loc="center right", bbox_to_anchor=(1.0, 0.33))
    figures.plot_curie_test(curie, model, ax=axes[2])
    axes[2].set_title(f"Curie test (Eq. 18), H = {curie.field_Oe / 1e3:g} kOe", fontsize="medium")
    axes[2].set_ylabel(r"$T(\chi - \chi_L)$ (emu K g$^{-1}$ Oe$^{-1}$)")
    for ax in axes[:2]:
        ax.title.set_fontsize("medium")
    n_fe3 = [r.value("Fe3_only", "n_Fe3_per_g") for r in rows if r.run.kind == "M_vs_T"]
    product, curie_C = model
    summary = (f"LL-only apparent n(Fe3+) over the M vs T runs {min(n_fe3):.4g} .. {max(n_fe3):.4g} /g; "
               f"Eq. 18 model T (chi - chi_L) / C = {product[0] / curie_C:.3f} at {curie.temperature_K[0]:g} K, "
               f"{product[-1] / curie_C:.3f} at {curie.temperature_K[-1]:g} K")
    return fig, summary


# ============================================================================ (d) four wells
def figure_four_well(settings):
    """Tetrahedral four-well ensemble against the matched 3LS ensemble (notebook 04, ``validate`` part e).

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    material = validation.Material()
    r = validation.compare_four_well(material, settings.four_well)
    fig, (ax_m, ax_r) = _figure(2, width=5.4, height=4.2)
    handles = []
    for k, B in enumerate(r.field_T):
        (line,) = ax_m.plot(r.temperature_K, r.magnetization_three_level[:, k], "o-", ms=4)
        ax_m.plot(r.temperature_K, r.magnetization_four_well[:, k], "s--", ms=4, color=line.get_color())
        ax_r.plot(r.temperature_K, r.ratio[:, k], "o-", ms=4, color=line.get_color(), label=f"B = {B:g} T")
        handles.append(Line2D([], [], color=line.get_color(), label=f"B = {B:g} T"))
    handles += [Line2D([], [], color="k", marker="o", ms=4, label="three-level (Eq. 6)"),
                Line2D([], [], color="k", marker="s", ms=4, ls="--", label="four-well (tetrahedron)")]
    for ax in (ax_m, ax_r):
        ax.set_xscale("log")
        ax.set_xlabel("temperature T (K)")
    ax_m.set_yscale("log")
    ax_m.set_ylabel("intrinsic magnetisation M (emu/g)")
    ax_m.set_title("matched ensembles (same n_ATS, D_min, D0, (Q/e)S)", fontsize="medium")
    ax_m.legend(handles=handles, fontsize="small", loc="lower left")
    ax_r.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax_r.set_ylim(0.0, max(1.1, 1.1 * float(np.nanmax(r.ratio))))
    ax_r.set_ylabel(r"$M_{4w} / M_{3LS}$")
    ax_r.set_title(f"ratio {np.nanmin(r.ratio):.2f} .. {np.nanmax(r.ratio):.2f}: "
                   "not 1, and changing with T", fontsize="medium")
    ax_r.legend(fontsize="small", loc="lower right")
    summary = f"M_4w/M_3LS from {np.nanmin(r.ratio):.3g} to {np.nanmax(r.ratio):.3g}; {r.verdict}"
    return fig, summary


# ============================================================================ (e) error map
def figure_error_map(settings):
    """Relative error of Eq. 10 and of Eq. 11 (true derivative) against the exact 3LS ensemble.

    The exact ensemble has the mapped cutoffs of :func:`tunnelsim.validation.mapped_cutoffs`
    (``D_max = inf``), so that its effective two-level gap is Eq. 10's: what remains is what
    the effective two-level reduction leaves out (``validate`` part b(ii)).

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    material = validation.Material()
    exact_map = validation.compare_eq10_exact(material, validation.ExactMapSettings(
        temperature_K=settings.error_map_temperature_K, field_T=settings.error_map_field_T,
        D_max_over_D0_min=(math.inf,)))
    T, B = exact_map.temperature_K, exact_map.field_T
    exact = exact_map.magnetization_exact[0]
    eq11 = etm.magnetization_etm_high_field(T[:, None], B[None, :], *material.eq10_args(), material.charge_area_A2,
                                            material.amplitude_per_g)
    errors = {"Eq. 10": exact_map.relative_error[0], "Eq. 11 (true derivative)": eq11 / exact - 1.0}
    magnitudes = np.abs(np.concatenate([e.ravel() for e in errors.values()]))
    color_range = (float(magnitudes[magnitudes > 0].min()), float(magnitudes.max()))
    fig, axes = _figure(2, width=5.4, height=4.5)
    for ax, (name, err) in zip(axes, errors.items()):
        plotting.plot_error_map(T, B, err, ax=ax, levels=(0.05, 0.2, 1.0), title=f"|{name} / exact - 1|",
                                color_range=color_range)
        ax.title.set_fontsize("medium")
    fig.suptitle(f"BK7 Table 3 ATS, (Q/e)S = {material.charge_area_A2:g} Å$^2$; exact 3LS ensemble with the "
                 "mapped cutoffs, D_max = inf", fontsize="medium")
    low_T = int(np.argmin(T))
    summary = ("lowest T: |Eq. 10/exact - 1| = " + ", ".join(f"{abs(e):.2g}" for e in errors["Eq. 10"][low_T, ::6])
               + f" at B = {', '.join(f'{b:.2g}' for b in B[::6])} T; Eq. 11: "
               + ", ".join(f"{abs(e):.2g}" for e in errors["Eq. 11 (true derivative)"][low_T, ::6]))
    return fig, summary


# ============================================================================ (f) dielectric response
def figure_dielectric(settings):
    """Delta eps'/eps_r against B: the shipped BK7 config, and one orientation up to 30 T.

    Left: ``simulations/dielectric_bk7.toml`` (exact 3LS ATS ensemble with the seed's Table 3 products,
    (Q/e) S = 30000 Å^2, plus an STM background) on the gallery's fields, as ``runner.run`` computes it,
    with the ETM's effective two-level prediction dashed. Right: the same ATS for one orientation, loop
    normal along B and the electric field in the loop plane, where the Aharonov-Bohm phase is
    ``B / B_phi`` and the response is periodic in B with period ``2 pi B_phi``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    summary : str
    """
    from tunnelsim import orientations
    from tunnelsim.dielectric.ensemble import permittivity_map

    cfg = config.load_config(DIELECTRIC_CONFIG)
    cfg = dataclasses.replace(cfg, grid=dataclasses.replace(cfg.grid, field_T=settings.dielectric_field_T))
    res = runner.run(cfg)
    T, B = res.temperature_K, res.field_T
    eps, err, eps_etm = res.values["permittivity"], res.errors["permittivity"], res.values["permittivity_etm"]

    ens, _, _ = runner.build_ensemble(cfg)
    one = dataclasses.replace(orientations.planar_rule(1), nodes=np.array([1.0]), weights=np.array([1.0]))
    B_ab = np.asarray(settings.dielectric_ab_field_T)
    T_ab = (0.1, 1.0)
    dsettings = dataclasses.replace(cfg.dielectric, field_direction="perpendicular").settings()
    ab, _ = permittivity_map("three_level", ens.distribution, T_ab, B_ab, dsettings,
                             density_per_g=ens.density_per_g, dipole_moment_D=cfg.dielectric.dipole_moment_D,
                             charge_area_A2=cfg.system.charge_area_A2, orientations=one,
                             averaging=ensemble.AveragingSettings(error_estimate=False), observables=("permittivity",))
    period_T = 2 * math.pi * float(units.phase_field_scale_T(cfg.system.charge_area_A2))

    fig, (ax_b, ax_ab) = _figure(2, width=5.4, height=4.2)
    for i, t in enumerate(T):
        (line,) = ax_b.plot(B, eps[i], "o-", ms=3, label=f"T = {1e3 * t:g} mK")
        ax_b.fill_between(B, eps[i] - err[i], eps[i] + err[i], color=line.get_color(), alpha=0.25, linewidth=0)
        ax_b.plot(B, eps_etm[i], "--", lw=1, color=line.get_color())
    ax_b.plot([], [], "k--", lw=1, label="ETM effective 2LS")
    ax_b.set_xscale("log")
    ax_b.set_xlabel("magnetic field B (T)")
    ax_b.set_ylabel(r"$\Delta\varepsilon'/\varepsilon_r$ (ATS + STM, static)")
    ax_b.set_title("BK7: exact 3LS ATS ensemble + STM background", fontsize="medium")
    ax_b.legend(fontsize="small", loc="lower left")
    for i, t in enumerate(T_ab):
        ax_ab.plot(B_ab, ab["permittivity"][i], label=f"T = {t:g} K")
    for k in (1, 2):
        if k * period_T <= B_ab.max():
            ax_ab.axvline(k * period_T, color="0.5", lw=0.8, ls=":")
    ax_ab.set_yscale("log")
    ax_ab.set_xlabel("magnetic field B (T)")
    ax_ab.set_ylabel(r"$\Delta\varepsilon'/\varepsilon_r$ (ATS, one orientation)")
    ax_ab.set_title(f"loop normal along B: period 2 pi B_phi = {period_T:.1f} T (dotted)", fontsize="medium")
    ax_ab.legend(fontsize="small", loc="upper center")

    k10 = int(np.argmin(np.abs(np.log(B / 0.1))))
    drops = [(eps[i, 0] - eps[i, k10]) / eps[i, 0] for i in (0, T.size - 1)]
    y = ab["permittivity"][0]
    interior = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] > y[2:])) + 1
    peaks = B_ab[interior]
    etm_error = float(np.max(np.abs(eps_etm / eps - 1.0)))
    summary = (f"Delta eps'/eps_r falls by {100 * drops[0]:.2g} % from {B[0]:g} T to {B[k10]:.2g} T at "
               f"{1e3 * T[0]:g} mK, by {100 * drops[1]:.2g} % at {1e3 * T[-1]:g} mK; ETM within {100 * etm_error:.2g} %; "
               f"one orientation: maxima at B = {', '.join(f'{b:.1f}' for b in peaks)} T (2 pi B_phi = {period_T:.1f} T)")
    return fig, summary


# ============================================================================ driver
def save_png(fig, path, dpi=DPI, colors=256):
    """Write ``fig`` as a palette PNG of at most ``colors`` colours, atomically; returns the path.

    Line plots and colour maps need far fewer than 256 colours, so the palette image looks the
    same as matplotlib's RGBA output at about a third of the size (commit-sized files).
    """
    import io

    from PIL import Image

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE)
    with atomic_output(path, force=True) as tmp:
        palette.save(tmp, format="png", optimize=True)
        tmp.chmod(0o644)  # mkstemp makes the file private; a figure is for everyone
    return path


def make_figures(outdir, settings, log=print):
    """Make every figure of :data:`FIGURES` in ``outdir`` (created if missing).

    Parameters
    ----------
    outdir : str or os.PathLike
    settings : GallerySettings
    log : callable
        Called with one line per figure: its file name, time and summary numbers.

    Returns
    -------
    list of pathlib.Path
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    fit = {}

    def fit_figure(maker):
        def make():
            if not fit:
                fit["args"] = bk7_fit(settings)
            return maker(*fit["args"])
        return make

    makers = {
        "overview.png": lambda: figure_overview(settings),
        "universality.png": lambda: figure_universality(settings),
        "bk7_fit.png": fit_figure(figure_bk7_fit),
        "bk7_langevin_curie.png": fit_figure(figure_langevin_curie),
        "four_well_vs_three_level.png": lambda: figure_four_well(settings),
        "etm_error_map.png": lambda: figure_error_map(settings),
        "dielectric_response.png": lambda: figure_dielectric(settings),
    }
    written = []
    for name in FIGURES:
        start = time.perf_counter()
        fig, summary = makers[name]()
        path = save_png(fig, outdir / name)
        written.append(path)
        log(f"{name} ({time.perf_counter() - start:.1f} s): {summary}")
    return written


def main(argv=None):
    """Command line: ``python docs/make_figures.py [--outdir DIR] [--quick]``."""
    parser = argparse.ArgumentParser(description="Make the tunnelsim figure gallery (docs/gallery.md).")
    parser.add_argument("--outdir", type=Path, default=DEFAULT_OUTDIR,
                        help="directory for the PNGs (default: docs/figures next to this script)")
    parser.add_argument("--quick", action="store_true", help="coarse grids (about 15 s), for tests")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    make_figures(args.outdir, quick_settings() if args.quick else full_settings())
    print(f"{len(FIGURES)} figures in {args.outdir} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
