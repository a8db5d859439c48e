"""Quick-look plots of result sets (matplotlib, Agg canvas; nothing imported from the CLI).

:func:`plot_result` draws one observable of a result set: against temperature with one line
per field, or against field with one line per temperature when the grid has more fields than
temperatures. :func:`save_quicklook` writes that figure to a PNG.

Figures are made with :class:`matplotlib.figure.Figure` on an Agg canvas, never through
``pyplot``, so no global backend or figure registry is touched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from . import units

__all__ = ["plot_result", "save_quicklook"]

_DEFAULT_OBSERVABLE = "magnetization"
#: A temperature axis spanning more than this ratio is drawn on a log scale.
_LOG_SPAN = 10.0


def _as_result(source):
    if isinstance(source, (str, os.PathLike)):
        from .results import read_result

        return read_result(source)
    for name in ("temperature_K", "field_T", "values", "errors", "units", "long_names"):
        if not hasattr(source, name):
            raise ValueError(f"source must be a result-set path or a result object; it has no {name!r}")
    return source


def _new_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


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
    if observable is None:
        observable = _DEFAULT_OBSERVABLE if _DEFAULT_OBSERVABLE in result.values else next(iter(result.values))
    if observable not in result.values:
        raise ValueError(f"observable {observable!r} not in the result; available: {', '.join(result.values)}")
    T = np.asarray(result.temperature_K, dtype=float)
    B = np.asarray(result.field_T, dtype=float)
    value = np.asarray(result.values[observable], dtype=float)
    error = np.asarray(result.errors.get(observable, np.full(value.shape, np.nan)), dtype=float)
    if ax is None:
        fig, ax = _new_axes()
    else:
        fig = ax.figure

    versus_field = B.size > T.size
    if versus_field:
        x, curves, labels = B, [(value[i], error[i]) for i in range(T.size)], [f"T = {t:.4g} K" for t in T]
        ax.set_xlabel("field B (T)")
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


def save_quicklook(source, path, observable=None, dpi=120):
    """Plot a result set with :func:`plot_result` and write the figure to ``path``.

    The figure is written under a temporary name next to ``path`` and moved into place, so a
    failure leaves no partial file.

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

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fig, _ = plot_result(source, observable)
    fmt = path.suffix.lstrip(".").lower() or "png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp_name, format=fmt, dpi=dpi)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
