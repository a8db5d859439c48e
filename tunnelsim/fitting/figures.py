"""Figures of fits to SQUID data: data and model per run, residuals, the LL drift, the Curie test.

matplotlib figures on an Agg canvas (never ``pyplot``); each function takes optional axes and
returns ``(fig, axes)``. :func:`save_fit_plots` writes the set a ``tunnelsim fit --plots DIR``
produces, each file written to a temporary name and renamed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..ions import density_parameter_name
from ..plotting import agg_figure, save_figure
from .langevin import _apparent_name, langevin_modes

__all__ = [
    "plot_curie_test",
    "plot_iron_fraction_scan",
    "plot_fit",
    "plot_langevin_drift",
    "plot_residuals",
    "save_figure",
    "save_fit_plots",
]


def _figure(ncols, width=6.0):
    return agg_figure(1, ncols, (width * ncols, 4.6))


def _panels(data, axes):
    kinds = [k for k in ("M_vs_T", "M_vs_H") if data.runs_of_kind(k)]
    if axes is None:
        fig, axes = _figure(len(kinds))
    else:
        axes = list(np.atleast_1d(axes))
        if len(axes) != len(kinds):
            raise ValueError(f"axes: expected {len(kinds)} axes (one per run kind present), got {len(axes)}")
        fig = axes[0].figure
    return fig, dict(zip(kinds, axes))


def _colors(n):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(n, 1))]


def plot_fit(data, result, axes=None):
    """Data (points, error bars) and the fitted model (lines) for every run.

    Parameters
    ----------
    data : MagnetizationData
    result : FitResult or None
        Without a result only the data are drawn.
    axes : sequence of Axes, optional
        One per run kind present (M vs T, then M vs H).
    """
    fig, panels = _panels(data, axes)
    for kind, ax in panels.items():
        runs = data.runs_of_kind(kind)
        for run, color in zip(runs, _colors(len(runs))):
            s = run.indices
            x = data.temperature_K[s] if kind == "M_vs_T" else data.field_Oe[s] / 1e3
            err = None if data.sigma_emu_per_g is None else data.sigma_emu_per_g[s]
            ax.errorbar(x, data.magnetization_emu_per_g[s], yerr=err, fmt="o", ms=3, color=color,
                        label=run.label.split(" at ")[1])
            if result is not None:
                if kind == "M_vs_T":
                    T = np.geomspace(x.min(), x.max(), 200)
                    H = np.full_like(T, run.fixed_value)
                    xd = T
                else:
                    H = np.linspace(data.field_Oe[s].min(), data.field_Oe[s].max(), 200)
                    T = np.full_like(H, run.fixed_value)
                    xd = H / 1e3
                ax.plot(xd, result.evaluate(T, H), "-", color=color, lw=1)
        if kind == "M_vs_T":
            ax.set_xscale("log")
            ax.set_xlabel("T (K)")
        else:
            ax.set_xlabel("H (kOe)")
        ax.set_ylabel("M (emu/g)")
        ax.legend(fontsize="x-small", ncols=2)
        title = "M vs T at fixed H" if kind == "M_vs_T" else "M vs H at fixed T"
        ax.set_title(title + (f" — {result.model} fit" if result is not None else ""))
    return fig, list(panels.values())


def plot_residuals(data, result, axes=None):
    """Normalised residuals ``(M_model - M)/sigma`` of every run (``sigma = 1`` without errors)."""
    fig, panels = _panels(data, axes)
    for kind, ax in panels.items():
        runs = data.runs_of_kind(kind)
        for run, color in zip(runs, _colors(len(runs))):
            s = run.indices
            x = data.temperature_K[s] if kind == "M_vs_T" else data.field_Oe[s] / 1e3
            ax.plot(x, result.normalized_residuals[s], "o-", ms=3, lw=0.6, color=color,
                    label=run.label.split(" at ")[1])
        ax.axhline(0.0, color="k", lw=0.6)
        if kind == "M_vs_T":
            ax.set_xscale("log")
        ax.set_xlabel("T (K)" if kind == "M_vs_T" else "H (kOe)")
        ax.set_ylabel("(model - data)/sigma" if result.weighted else "model - data (emu/g)")
        ax.set_title(f"residuals, reduced chi2 = {result.chi2_reduced:.3g}")
        ax.legend(fontsize="x-small", ncols=2)
    return fig, list(panels.values())


def plot_langevin_drift(rows, axes=None):
    """Apparent LL concentrations per run against H (M vs T runs) and T (M vs H runs), as the seed's Fig. 7.

    One line per mode of the rows (:func:`tunnelsim.fitting.langevin.langevin_modes` of their species):
    ``n(Fe3+)`` for ``both`` and ``Fe3_only``, ``n(Fe2+)`` for ``Fe2_only``; with other species the
    density of the species a ``<tag>_only`` mode keeps, or of the first species for ``both``.
    """
    kinds = [k for k in ("M_vs_T", "M_vs_H") if any(r.run.kind == k for r in rows)]
    if axes is None:
        fig, axes = _figure(len(kinds))
    else:
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
    species = rows[0].species
    modes = langevin_modes(species)
    formats = iter(("s--", "^-", "v-", "D-", "x-", "+-", "*-", "p-"))
    styles = {}
    for mode, (text, _) in modes.items():
        name = _apparent_name(mode, species)
        s = next(sp for sp in species if density_parameter_name(sp) == name)
        fmt = "o-" if mode == "both" else next(formats, ".-")
        styles[mode] = (f"n({s.name}) [{'both' if mode == 'both' else text}]", name, fmt)
    for kind, ax in zip(kinds, axes):
        sel = [r for r in rows if r.run.kind == kind]
        x = np.array([r.run.fixed_value / 1e3 if kind == "M_vs_T" else r.run.fixed_value for r in sel])
        for mode in modes:
            if mode in sel[0].fits:
                label, name, fmt = styles[mode]
                ax.plot(x, [r.value(mode, name) / 1e17 for r in sel], fmt, label=label)
        ax.set_xlabel("H (kOe)" if kind == "M_vs_T" else "T (K)")
        ax.set_ylabel("apparent concentration (1e17 / g)")
        ax.set_title("LL-only fits of each " + ("M vs T run" if kind == "M_vs_T" else "M vs H run"))
        ax.legend(fontsize="small")
    return fig, axes


def plot_curie_test(curie, model=None, ax=None):
    """``T (chi - chi_L)`` against ``T`` (Eq. 18), with the model's ``C + G T I(T)`` and ``C`` if given.

    Parameters
    ----------
    curie : CurieTest
    model : (array, float), optional
        ``(product on curie.temperature_K, C)`` from :func:`tunnelsim.fitting.langevin.curie_product_model`.
    ax : Axes, optional
    """
    if ax is None:
        fig, (ax,) = _figure(1)
    else:
        fig = ax.figure
    ax.errorbar(curie.temperature_K, curie.product_emu_K_per_g_Oe, yerr=curie.sigma_emu_K_per_g_Oe, fmt="o", ms=3,
                label=f"data, H = {curie.field_Oe / 1e3:.4g} kOe")
    if model is not None:
        product, C = model
        ax.plot(curie.temperature_K, product, "-", label="Eq. 18: C + G T I(T)")
        ax.axhline(C, ls="--", color="gray", label="Curie constant C (a crystal)")
    ax.set_xscale("log")
    ax.set_xlabel("T (K)")
    ax.set_ylabel("T (chi - chi_L)  (emu K / g Oe)")
    ax.set_title(f"Curie test (Eq. 18), chi_L = {curie.chi_L_emu_per_g_Oe:.4g} emu/(g Oe)")
    ax.legend(fontsize="small")
    return fig, ax


def plot_iron_fraction_scan(data, scan, run=None, axes=None):
    """The seed's Figs. 16-18: ``M - M_Langevin(x)`` of one run for each Fe2+ fraction, with the model
    fitted at that ``x`` (lines), and chi^2 against ``x``.

    Parameters
    ----------
    data : MagnetizationData
    scan : tunnelsim.fitting.iron.IronFractionScan
    run : Run, optional
        Default: the M vs T run at the highest field, else the M vs H run at the lowest temperature.
    axes : sequence of two matplotlib.axes.Axes, optional

    Returns
    -------
    fig, axes
    """
    if axes is None:
        fig, axes = _figure(2)
    else:
        fig = axes[0].figure
    if run is None:
        by_T = data.runs_of_kind("M_vs_T")
        run = (max(by_T, key=lambda r: abs(r.fixed_value)) if by_T
               else min(data.runs_of_kind("M_vs_H"), key=lambda r: r.fixed_value))
    s = run.indices
    versus_T = run.kind == "M_vs_T"
    x_axis = 1.0 / data.temperature_K[s] if versus_T else data.field_Oe[s] / 1e3
    order = np.argsort(x_axis)
    ax = axes[0]
    for k, (x, color) in enumerate(zip(scan.x_values, _colors(len(scan.x_values)))):
        remainder = scan.remainder_emu_per_g[k, s]
        ax.plot(x_axis[order], remainder[order], "o", ms=3, color=color, label=f"x = {x:.2g}")
        fit = scan.fits[k]
        if fit is not None:
            model = fit.best_fit_emu_per_g[s] - (data.magnetization_emu_per_g[s] - remainder)
            ax.plot(x_axis[order], model[order], "-", lw=0.8, color=color)
    ax.set_xlabel("1/T (1/K)" if versus_T else "H (kOe)")
    ax.set_ylabel("M - M_Langevin (emu/g)")
    ax.set_title(f"{run.label}: Langevin subtracted, n_Fe = {scan.n_Fe_total_per_g:.3g} g^-1")
    ax.legend(fontsize="x-small")
    ax = axes[1]
    ax.plot(scan.x_values, scan.chi2, "o-", color="C0")
    best, err = scan.best_x
    if best is not None:
        ax.axvline(best, color="C3", lw=0.8, label=f"fitted x = {best:.3g}" + ("" if err is None else f" +- {err:.2g}"))
        ax.legend(fontsize="small")
    ax.set_yscale("log")
    ax.set_xlabel("x = n(Fe2+)/n(Fe)")
    ax.set_ylabel(f"chi2 ({scan.model} fitted at each x)")
    return fig, axes


def save_fit_plots(directory, data, result=None, per_run_rows=None, curie=None, curie_model=None, iron_scan=None):
    """Write the fit figures into ``directory`` and return their paths.

    ``fit.png`` and ``residuals.png`` (with a result), ``langevin_per_run.png`` (with per-run rows),
    ``curie_test.png`` (with a :class:`tunnelsim.fitting.langevin.CurieTest`),
    ``iron_fraction_scan.png`` (with a :class:`tunnelsim.fitting.iron.IronFractionScan`).
    """
    directory = Path(directory)
    paths = []
    if result is not None:
        paths.append(save_figure(plot_fit(data, result)[0], directory / "fit.png"))
        paths.append(save_figure(plot_residuals(data, result)[0], directory / "residuals.png"))
    if per_run_rows:
        paths.append(save_figure(plot_langevin_drift(per_run_rows)[0], directory / "langevin_per_run.png"))
    if curie is not None:
        paths.append(save_figure(plot_curie_test(curie, curie_model)[0], directory / "curie_test.png"))
    if iron_scan is not None:
        paths.append(save_figure(plot_iron_fraction_scan(data, iron_scan)[0], directory / "iron_fraction_scan.png"))
    return paths
