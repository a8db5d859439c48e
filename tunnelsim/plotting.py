"""Quick-look plots of result sets (matplotlib, Agg canvas; nothing imported from the CLI).

:func:`plot_result` draws one observable of a result set: against temperature with one line
per field, or against field with one line per temperature when the grid has more fields than
temperatures. :func:`plot_map` draws a map of many temperatures and many fields: an image of the
(T, B) plane (log axes where an axis is log-spaced) beside a few labelled cuts at fixed field.
:func:`save_quicklook` writes the one that suits the grid (the map when both axes have more than
:data:`MAP_MIN_POINTS` points) to a PNG, :func:`save_figure` any figure to a file, atomically.
A result set is read for a quick look at most :data:`QUICKLOOK_MAX_POINTS` points per axis
(evenly strided, both ends kept), so plotting a streamed, larger-than-memory grid stays cheap.

Figures are made with :class:`matplotlib.figure.Figure` on an Agg canvas, never through
``pyplot``, so no global backend or figure registry is touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import units
from ._atomic import atomic_output

__all__ = [
    "MAP_MIN_POINTS",
    "QUICKLOOK_MAX_POINTS",
    "plot_error_map",
    "plot_map",
    "plot_result",
    "plot_spectrum",
    "plot_universality",
    "show",
    "save_figure",
    "save_quicklook",
]

_DEFAULT_OBSERVABLE = "magnetization"
#: A temperature axis spanning more than this ratio is drawn on a log scale.
_LOG_SPAN = 10.0
#: A grid with more than this many temperatures and fields is drawn as a map by :func:`save_quicklook`.
MAP_MIN_POINTS = 8
#: Points per axis read from a result set for a quick look.
QUICKLOOK_MAX_POINTS = 512
#: Number of cuts at fixed field drawn beside a map.
_MAP_CUTS = 4
#: Line styles of the contour levels of :func:`plot_error_map`, in level order.
_CONTOUR_STYLES = ("solid", "dashed", "dotted", "dashdot")


def _as_result(source):
    if isinstance(source, (str, os.PathLike)):
        from .results import read_result

        return read_result(source)
    for name in ("temperature_K", "field_T", "values", "errors", "units", "long_names"):
        if not hasattr(source, name):
            raise ValueError(f"source must be a result-set path or a result object; it has no {name!r}")
    return source



def _observable_arrays(result, observable):
    """``(name, T, B, value, error)`` of an observable of a result (default ``magnetization`` if present, else
    the first); ValueError naming the available ones for an unknown name."""
    if observable is None:
        observable = _DEFAULT_OBSERVABLE if _DEFAULT_OBSERVABLE in result.values else next(iter(result.values))
    if observable not in result.values:
        raise ValueError(f"observable {observable!r} not in the result; available: {', '.join(result.values)}")
    value = np.asarray(result.values[observable], dtype=float)
    error = np.asarray(result.errors.get(observable, np.full(value.shape, np.nan)), dtype=float)
    return (observable, np.asarray(result.temperature_K, dtype=float), np.asarray(result.field_T, dtype=float),
            value, error)

def _strided(n, max_points):
    """Indices of at most ``max_points`` of ``n`` points, evenly strided, first and last kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def _read_quicklook(path, observable, max_points=QUICKLOOK_MAX_POINTS):
    """A result-set view of one observable on at most ``max_points`` points per axis (read strided from HDF5)."""
    import h5py
    from types import SimpleNamespace

    from .results import read_result

    with h5py.File(path, "r") as h5file:
        T_all = h5file["temperature"][()] if "temperature" in h5file else None
        B_all = h5file["field"][()] if "field" in h5file else None
        small = T_all is None or B_all is None or (T_all.size <= max_points and B_all.size <= max_points)
    if small:
        return read_result(path)
    with h5py.File(path, "r") as h5file:
        names = [n for n, ds in h5file.items() if isinstance(ds, h5py.Dataset) and ds.shape == (T_all.size, B_all.size)
                 and n not in ("temperature", "field") and not n.endswith("_error")]
        if observable is None:
            observable = _DEFAULT_OBSERVABLE if _DEFAULT_OBSERVABLE in names else names[0]
        if observable not in names:
            raise ValueError(f"observable {observable!r} not in the result; available: {', '.join(names)}")
        it, ib = _strided(T_all.size, max_points), _strided(B_all.size, max_points)
        ds = h5file[observable]
        value = ds[it, :][:, ib]
        err_ds = h5file.get(observable + "_error")
        error = err_ds[it, :][:, ib] if err_ds is not None else np.full(value.shape, np.nan)

        def text(attr, default):
            v = attr if attr is not None else default
            return v.decode() if isinstance(v, bytes) else str(v)

        title = text(h5file.attrs.get("title"), "")
        return SimpleNamespace(
            temperature_K=T_all[it], field_T=B_all[ib], values={observable: value}, errors={observable: error},
            units={observable: text(ds.attrs.get("units"), "")},
            long_names={observable: text(ds.attrs.get("long_name"), observable)}, attrs={"title": title})


def _log_spaced(x):
    """True for a positive axis of at least three points with (nearly) constant ratios and a span over a decade."""
    x = np.asarray(x, dtype=float)
    if x.size < 3 or np.any(x <= 0) or x[-1] / x[0] <= _LOG_SPAN:
        return False
    steps = np.diff(np.log(x))
    return bool(np.allclose(steps, steps.mean(), rtol=1e-3))


def _axes(ax):
    """``(fig, ax)``: the given axes and their figure, or a new figure on an Agg canvas."""
    if ax is None:
        return _new_axes()
    return ax.figure, ax


def _new_axes():
    fig, axes = agg_figure(1, 1, (6.4, 4.8))
    return fig, axes[0]


def agg_figure(rows, columns, figsize):
    """A new figure on its own Agg canvas (no pyplot state, safe in threads and scripts).

    Parameters
    ----------
    rows, columns : int
        Grid of subplots.
    figsize : tuple of float
        Width and height in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : list of matplotlib.axes.Axes
        ``rows * columns`` axes, row by row.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, columns, k + 1) for k in range(rows * columns)]


def _field_label(field_T):
    kOe = float(units.tesla_to_oe(field_T)) / 1e3
    return f"B = {field_T:.4g} T ({kOe:.4g} kOe)"


def plot_result(source, observable=None, ax=None):
    """Plot one observable of a result set against temperature or field.

    Against temperature (one line per field; log axis when the temperatures span more
    than a decade) unless the grid has more fields than temperatures, then against field
    (one line per temperature). An error band is drawn where error estimates exist.

    Parameters
    ----------
    source : str, os.PathLike or result object
        A result-set path, a :class:`tunnelsim.results.ResultSet` or an
        :class:`tunnelsim.ensemble.EnsembleResult`.
    observable : str, optional
        Name of the observable (default ``magnetization`` if present, else the first).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new Agg figure is made when omitted.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    """
    result = _as_result(source)
    observable, T, B, value, error = _observable_arrays(result, observable)
    if ax is None:
        fig, ax = _new_axes()
    else:
        fig = ax.figure

    versus_field = B.size > T.size
    if versus_field:
        x, curves, labels = B, [(value[i], error[i]) for i in range(T.size)], [f"T = {t:.4g} K" for t in T]
        ax.set_xlabel("field B (T)")
        if _log_spaced(B):
            ax.set_xscale("log")
    else:
        x, curves, labels = T, [(value[:, j], error[:, j]) for j in range(B.size)], [_field_label(b) for b in B]
        ax.set_xlabel("temperature T (K)")
        if T.min() > 0 and T.max() / T.min() > _LOG_SPAN:
            ax.set_xscale("log")
    for (y, err), label in zip(curves, labels):
        (line,) = ax.plot(x, y, marker="." if x.size < 30 else None, label=label)
        if np.any(np.isfinite(err)):
            ax.fill_between(x, y - err, y + err, color=line.get_color(), alpha=0.25, linewidth=0)
    long_name = result.long_names.get(observable, observable)
    ax.set_ylabel(f"{long_name} ({result.units.get(observable, '')})")
    title = getattr(result, "attrs", {}).get("title", "")
    if title:
        ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", ncols=1 if len(curves) <= 8 else 2)
    return fig, ax


def plot_map(source, observable=None, fig=None, n_cuts=_MAP_CUTS):
    """A map of one observable over the (T, B) plane with a few labelled cuts at fixed field.

    Left: the observable as an image (``pcolormesh``; field across, temperature up; an axis is
    logarithmic where its points are log-spaced) with a colour bar and the cut fields marked.
    Right: the observable against temperature at ``n_cuts`` fields spread over the grid, with
    error bands where estimates exist.

    Parameters
    ----------
    source : str, os.PathLike or result object
        As for :func:`plot_result` (a path is read strided, :data:`QUICKLOOK_MAX_POINTS`).
    observable : str, optional
        As for :func:`plot_result`.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw on; a new Agg figure is made when omitted.
    n_cuts : int
        Number of cuts (fields) drawn, at most the number of fields.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : tuple of matplotlib.axes.Axes
        The map and the cuts.
    """
    result = _read_quicklook(source, observable) if isinstance(source, (str, os.PathLike)) else _as_result(source)
    observable, T, B, value, error = _observable_arrays(result, observable)
    if fig is None:
        fig, (ax_map, ax_cut) = agg_figure(1, 2, (11.0, 4.6))
    else:
        ax_map, ax_cut = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    unit = result.units.get(observable, "")
    long_name = result.long_names.get(observable, observable)
    mesh = ax_map.pcolormesh(B, T, value, shading="nearest", cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=ax_map, label=f"{observable} ({unit})")
    if _log_spaced(T):
        ax_map.set_yscale("log")
    if _log_spaced(B):
        ax_map.set_xscale("log")
    ax_map.set_xlabel("field B (T)")
    ax_map.set_ylabel("temperature T (K)")
    cuts = np.unique(np.round(np.linspace(0, B.size - 1, min(n_cuts, B.size))).astype(int))
    for k, j in enumerate(cuts):
        color = f"C{k}"
        ax_map.axvline(B[j], color=color, linestyle="--", linewidth=1.0)
        (line,) = ax_cut.plot(T, value[:, j], color=color, label=_field_label(float(B[j])))
        if np.any(np.isfinite(error[:, j])):
            ax_cut.fill_between(T, value[:, j] - error[:, j], value[:, j] + error[:, j], color=color, alpha=0.25,
                                linewidth=0)
    if T.min() > 0 and T.max() / T.min() > _LOG_SPAN:
        ax_cut.set_xscale("log")
    ax_cut.set_xlabel("temperature T (K)")
    ax_cut.set_ylabel(f"{long_name} ({unit})")
    ax_cut.legend(fontsize="small", title=f"cuts ({B.size} fields in all)", title_fontsize="small")
    title = getattr(result, "attrs", {}).get("title", "")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig, (ax_map, ax_cut)


def save_quicklook(source, path, observable=None, dpi=120, format=None, metadata=None, atomic=True):
    """Plot a result set and write the figure to ``path``.

    A grid with more than :data:`MAP_MIN_POINTS` temperatures and fields is drawn as a map
    (:func:`plot_map`), a smaller one as lines (:func:`plot_result`). The figure is written under
    a temporary name next to ``path`` and moved into place, so a failure leaves no partial file.

    Parameters
    ----------
    source : str, os.PathLike or result object
        As for :func:`plot_result`.
    path : str or os.PathLike
        Image file, replaced if it exists; the format follows the suffix (``.png``, ``.pdf``,
        ``.svg`` ...); missing parent directories are created.
    observable : str, optional
        As for :func:`plot_result`.
    dpi : int
        Resolution of raster formats.
    format : str, optional
        Image format (default: from the suffix of ``path``).
    metadata : dict of str to str, optional
        Text entries stored in the image (PNG ``tEXt`` chunks), e.g. the run id.
    atomic : bool
        Write through a temporary file (default); False writes ``path`` directly (for a caller
        that already writes to a temporary file, :func:`tunnelsim._atomic.atomic_outputs`).

    Returns
    -------
    pathlib.Path
    """
    result = _read_quicklook(source, observable) if isinstance(source, (str, os.PathLike)) else _as_result(source)
    T, B = np.asarray(result.temperature_K), np.asarray(result.field_T)
    if T.size > MAP_MIN_POINTS and B.size > MAP_MIN_POINTS:
        fig, _ = plot_map(result, observable)
    else:
        fig, _ = plot_result(result, observable)
    return save_figure(fig, path, dpi=dpi, format=format, metadata=metadata, atomic=atomic)


def save_figure(fig, path, dpi=120, format=None, metadata=None, atomic=True):
    """Write a figure to ``path`` atomically (:func:`tunnelsim._atomic.atomic_output`).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        Image file, replaced if it exists; the format follows the suffix (``.png``, ``.pdf``,
        ``.svg`` ...; PNG without one); missing parent directories are created.
    dpi : int
        Resolution of raster formats.
    format : str, optional
        Image format (default: from the suffix).
    metadata : dict, optional
        Passed to :meth:`matplotlib.figure.Figure.savefig` (PNG text entries).
    atomic : bool
        False writes ``path`` directly (the caller handles atomicity).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fmt = format or path.suffix.lstrip(".").lower() or "png"
    if not atomic:
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
        return path
    with atomic_output(path, force=True) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=metadata)
    return path


def plot_spectrum(phi, levels, gap_etm=None, ax=None, label_etm="ETM gap"):
    """Levels of one tunnelling system against the Aharonov-Bohm phase (Eq. 6, 7).

    Parameters
    ----------
    phi : array_like, shape (n_phi,)
        Phase ``phi`` (rad).
    levels : array_like, shape (n_phi, n_levels)
        Exact levels in K (e.g. :func:`tunnelsim.spectra.solve` of a batch over ``phi``).
    gap_etm : array_like, shape (n_phi,), optional
        An approximate lower gap in K, drawn dashed above the ground level (the ETM's
        ``E = sqrt(D^2 + D0^2 phi^2)`` with the mapped constants of physics.md section 2).
    ax : matplotlib.axes.Axes, optional
    label_etm : str
        Legend label of ``gap_etm``.

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    phi = np.asarray(phi, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if levels.ndim != 2 or levels.shape[0] != phi.size:
        raise ValueError(f"levels must have shape (len(phi), n_levels), got {levels.shape} for {phi.size} phases")
    fig, ax = _axes(ax)
    for n in range(levels.shape[1]):
        ax.plot(phi, levels[:, n], color="C0", label="exact levels" if n == 0 else None)
    if gap_etm is not None:
        gap_etm = np.asarray(gap_etm, dtype=float)
        if gap_etm.shape != phi.shape:
            raise ValueError(f"gap_etm must have the shape of phi {phi.shape}, got {gap_etm.shape}")
        ax.plot(phi, levels[:, 0] + gap_etm, color="C3", linestyle="--", label=label_etm)
    ax.set_xlabel(r"Aharonov-Bohm phase $\varphi$ (rad)")
    ax.set_ylabel("energy $E / k_B$ (K)")
    ax.legend()
    return fig, ax


def plot_universality(source, observable=None, subtract_larmor_emu_per_g_Oe=0.0, ax=None):
    """The seed's universality test: ``M - M_L`` against ``H / T`` for every field (Figs. 14, 15).

    A paramagnet of free moments gives one curve for all fields; the intrinsic (ETM) term
    does not scale with ``H / T``, so the curves fan out.

    Parameters
    ----------
    source : path or result object
        A result set with ``magnetization`` (or ``observable``) in emu/g.
    observable : str, optional
        Which magnetisation to draw (default ``magnetization``).
    subtract_larmor_emu_per_g_Oe : float
        ``chi_L``: ``M_L = -chi_L H`` is subtracted (the value is added back).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    res = _as_result(source)
    name = observable or _DEFAULT_OBSERVABLE
    if name not in res.values:
        raise ValueError(f"observable {name!r} is not in the result set; it has {sorted(res.values)}")
    fig, ax = _axes(ax)
    T = np.asarray(res.temperature_K, dtype=float)
    H_Oe = units.tesla_to_oe(np.asarray(res.field_T, dtype=float))
    for j, h in enumerate(H_Oe):
        if h == 0:
            continue
        m = np.asarray(res.values[name])[:, j] + subtract_larmor_emu_per_g_Oe * h
        ax.plot(h / 1e3 / T, m, marker=".", label=_field_label(float(res.field_T[j])))
    ax.set_xlabel("H / T (kOe/K)")
    ax.set_ylabel(r"$M - M_L$ (emu/g)")
    ax.legend(fontsize="small")
    return fig, ax


def plot_error_map(temperature_K, field_T, relative_error, ax=None, levels=(0.01, 0.05), title=None,
                   color_range=None):
    """Relative error of an approximation over the (T, B) plane, with contours at 1 % and 5 %.

    The contours are white lines, one line style per level, named in a legend (``"1 %"``,
    ``"5 %"``); levels outside the range of ``|relative_error|`` are left out. (Labels written
    on the lines would cut gaps into them, and on a log axis whole pieces went missing.)

    Parameters
    ----------
    temperature_K : array_like, shape (nT,)
    field_T : array_like, shape (nB,)
    relative_error : array_like, shape (nT, nB)
        ``(approximate - exact) / exact``; its absolute value is drawn on a log colour scale.
    ax : matplotlib.axes.Axes, optional
    levels : sequence of float
        Contour levels of ``|relative_error|`` (at most four).
    title : str, optional
    color_range : (float, float), optional
        ``(low, high) > 0`` of the log colour scale, e.g. shared by the panels of one figure
        (default: the smallest positive and the largest ``|relative_error|``).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    from matplotlib.colors import LogNorm

    T = np.asarray(temperature_K, dtype=float)
    B = np.asarray(field_T, dtype=float)
    err = np.abs(np.asarray(relative_error, dtype=float))
    if err.shape != (T.size, B.size):
        raise ValueError(f"relative_error must have shape (len(temperature_K), len(field_T)), got {err.shape}")
    fig, ax = _axes(ax)
    if color_range is None:
        floor = max(np.nanmin(err[err > 0]) if np.any(err > 0) else 1e-12, 1e-12)
        top = max(np.nanmax(err), floor * 10)
    else:
        floor, top = (float(v) for v in color_range)
        if not 0 < floor < top:
            raise ValueError(f"color_range must be (low, high) with 0 < low < high, got {color_range}")
    mesh = ax.pcolormesh(B, T, np.maximum(err, floor), norm=LogNorm(vmin=floor, vmax=top), shading="auto",
                         cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="|relative error|")
    levels = sorted(float(v) for v in levels)
    if len(levels) > len(_CONTOUR_STYLES):
        raise ValueError(f"levels: at most {len(_CONTOUR_STYLES)} contour levels, got {len(levels)}")
    shown = [v for v in levels if np.nanmin(err) < v < np.nanmax(err)]
    if T.size > 1 and B.size > 1 and shown:
        from matplotlib.lines import Line2D

        styles = _CONTOUR_STYLES[:len(shown)]
        ax.contour(B, T, err, levels=shown, colors="white", linewidths=1.3, linestyles=styles)
        handles = [Line2D([], [], color="white", linewidth=1.3, linestyle=style, label=f"{100 * v:g} %")
                   for v, style in zip(shown, styles)]
        legend = ax.legend(handles=handles, title="|error| =", fontsize="small", title_fontsize="small",
                           facecolor="0.3", edgecolor="0.3", framealpha=0.85, labelcolor="white", loc="lower right")
        legend.get_title().set_color("white")
    if T.max() / T.min() > _LOG_SPAN:
        ax.set_yscale("log")
    ax.set_xlabel("field B (T)")
    ax.set_ylabel("temperature T (K)")
    if title:
        ax.set_title(title)
    return fig, ax


def show(fig, dpi=80):
    """Display a figure made on an Agg canvas in a notebook, as a PNG image.

    The figures of this module never go through ``pyplot``, so Jupyter has no display hook
    for them; this renders one to PNG and returns an ``IPython.display.Image``.
    """
    import io

    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return Image(buf.getvalue())
