"""PNG figures of the validation parts (matplotlib on an Agg canvas, imported when drawing)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..plotting import agg_figure
from .high_field import CURVE_LABELS, HIGH_FIELD_CURVES
from .outputs import FIGURE_FILES, atomic_output, check_outputs
from .reference import GAP_A, GAP_B

__all__ = ["save_figures"]


def _figure(n_panels, width=5.2, height=4.2, max_columns=3):
    columns = min(n_panels, max_columns)
    rows = math.ceil(n_panels / columns)
    fig, axes = agg_figure(rows, columns, (width * columns, height * rows))
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    return fig, axes[:n_panels]


def _cell_edges(x, log):
    """Cell edges around grid points (geometric or arithmetic midpoints) for ``pcolormesh``."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] / 1.5, x[0] * 1.5]) if log else np.array([x[0] - 0.5, x[0] + 0.5])
    if log:
        mid = np.sqrt(x[:-1] * x[1:])
        return np.concatenate([[x[0] ** 2 / mid[0]], mid, [x[-1] ** 2 / mid[-1]]])
    mid = 0.5 * (x[:-1] + x[1:])
    return np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])


def _plot_gap(r):
    fig, (ax1, ax2) = _figure(2)
    s = np.linspace(0.0, r.box_sizes.max(), 50)
    for values, exact, label in ((r.a_by_box, GAP_A, "a"), (r.b_by_box, GAP_B, "b")):
        line, = ax1.plot(r.box_sizes, values / exact, "o", label=f"{label}(s) / {'2/3' if label == 'a' else '4/3'}")
        coef = np.polynomial.polynomial.polyfit(r.box_sizes, values, min(2, len(values) - 1))
        ax1.plot(s, np.polynomial.polynomial.polyval(s, coef) / exact, "-", color=line.get_color())
    ax1.axhline(1.0, color="k", lw=0.6)
    ax1.set_xlabel("box size s (D/D0 and phi up to s)")
    ax1.set_ylabel("fitted constant / expected")
    ax1.set_title(f"a = {r.a:.7f}, b = {r.b:.7f}")
    ax1.legend()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(r.residual_map.T)
    mesh = ax2.pcolormesh(_cell_edges(r.map_ratio, False), _cell_edges(r.map_phase, False), z, shading="flat",
                          cmap="viridis")
    ax2.contour(r.map_ratio, r.map_phase, r.residual_map.T, levels=[0.01, 0.05], colors=["w", "r"])
    fig.colorbar(mesh, ax=ax2, label="log10 |E_mapped/E_exact - 1| (max over alpha)")
    ax2.set_xlabel("D / D0")
    ax2.set_ylabel("AB phase phi (rad)")
    ax2.set_title("mapped gap residual (white 1 %, red 5 %)")
    return fig


def _plot_exact_map(r):
    n = r.D_max_over_D0_min.size
    fig, axes = _figure(n, width=4.2)
    from matplotlib.colors import SymLogNorm

    norm = SymLogNorm(linthresh=0.01, vmin=-3.0, vmax=3.0)
    log_B = r.field_T[-1] > 10.0 * r.field_T[0]
    B_edges, T_edges = _cell_edges(r.field_T, log_B), _cell_edges(r.temperature_K, True)
    for i, ax in enumerate(axes):
        mesh = ax.pcolormesh(B_edges, T_edges, r.relative_error[i], shading="flat", cmap="RdBu_r", norm=norm)
        if r.temperature_K.size > 1 and r.field_T.size > 1:
            ax.contour(r.field_T, r.temperature_K, np.abs(r.relative_error[i]), levels=list(r.tolerances),
                       colors=["k", "0.4"], linestyles=["-", "--"])
        ax.set_yscale("log")
        if log_B:
            ax.set_xscale("log")
        ax.set_xlabel("field B (T)")
        ax.set_ylabel("temperature T (K)")
        ax.set_title(f"M_Eq10/M_exact - 1, D_max/D0_min = {r.D_max_over_D0_min[i]:g}", fontsize=9)
    fig.colorbar(mesh, ax=axes, label="relative error (contours: 1 %, 5 %)")
    return fig


def _plot_weak(r):
    fig, (ax1, ax2) = _figure(2)
    T = r.temperature_K
    ax1.plot(T, r.ratio_exact, "o-", label="exact / Eq. 12 (seed parameters)")
    ax1.plot(T, r.gap_prediction, "s--", label="(4/3) I(T, sqrt(2/3) D_min) / I(T, D_min)")
    ax1.plot(T, r.d0_factor, "^-", label="D0 factor (-> 4/3)")
    ax1.plot(T, r.ratio_exact_mapped, "v-", label="exact (mapped cutoffs) / Eq. 12")
    ax1.axhline(GAP_B, color="k", lw=0.6, ls=":")
    ax1.axhline(1.0, color="k", lw=0.6)
    ax1.set_xscale("log")
    ax1.set_xlabel("temperature T (K)")
    ax1.set_ylabel("susceptibility ratio (B = 0)")
    ax1.legend(fontsize=8)
    low, high, seed = r.relative_errors()
    T13 = r.eq13_temperature_K
    for values, label in ((low, "low-T 1/D_min"), (high, "high-T with log (corrected)"), (seed, "seed's 1/(2T)")):
        ax2.plot(T13, np.maximum(np.abs(values), 1e-16), "o-", label=label)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("temperature T (K)")
    ax2.set_ylabel("|limit / I(T) - 1|")
    ax2.set_title("Eq. 13 limits of I(T)")
    ax2.legend(fontsize=8)
    return fig


def _plot_high(r):
    n = r.charge_area_A2.size
    fig, axes = _figure(n, width=4.4)
    styles = {"exact": "k-", "exact_mapped": "k--", "eq10": "C0-", "eq11": "C1-", "shortcut": "C2-."}
    for i, ax in enumerate(axes):
        for c, name in enumerate(HIGH_FIELD_CURVES):
            ax.plot(r.field_T, r.magnetization[i, c], styles[name], label=CURVE_LABELS[name])
        ax.axhline(0.0, color="0.5", lw=0.6)
        ax.set_xlabel("field B (T)")
        ax.set_ylabel("M (emu/g)")
        ax.set_title(f"(Q/e)S = {r.charge_area_A2[i]:g} A^2, B_phi = {r.B_phi_T[i]:.3g} T, T = {r.temperature_K:g} K",
                     fontsize=9)
    axes[0].legend(fontsize=8)
    return fig


def _plot_four(r):
    fig, (ax1, ax2) = _figure(2)
    for k, B in enumerate(r.field_T):
        line, = ax1.plot(r.temperature_K, r.magnetization_three_level[:, k], "o-", label=f"3LS, B = {B:g} T")
        ax1.plot(r.temperature_K, r.magnetization_four_well[:, k], "s--", color=line.get_color(),
                 label=f"four-well, B = {B:g} T")
        ax2.plot(r.temperature_K, r.ratio[:, k], "o-", color=line.get_color(), label=f"B = {B:g} T")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("temperature T (K)")
    ax1.set_yscale("log")
    ax1.set_ylabel("M (emu/g)")
    ax1.legend(fontsize=8)
    ax2.set_ylabel("M_4w / M_3LS")
    ax2.legend(fontsize=8)
    return fig


_PLOTTERS = {"gap_fit": _plot_gap, "eq10_exact": _plot_exact_map, "weak_field": _plot_weak,
             "high_field": _plot_high, "four_well": _plot_four}


def save_figures(report, directory, force=False):
    """Write the PNG figures of the parts that were run (matplotlib, Agg canvas, atomic writes).

    Parameters
    ----------
    report : ValidationReport
    directory : str or os.PathLike
        Created if missing.
    force : bool
        Replace existing figures.

    Returns
    -------
    list of pathlib.Path
    """
    directory = Path(directory)
    check_outputs(None, directory, force=force)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for part, name in FIGURE_FILES.items():
        result = getattr(report, part)
        if result is None:
            continue
        fig = _PLOTTERS[part](result)
        target = directory / name
        with atomic_output(target, force) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        written.append(target)
    return written
