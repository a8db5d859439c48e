"""Total iron fixed by mass spectrometry, the Fe2+ fraction fitted: the seed's Figs. 16-18.

With the total iron ``n_MS(Fe)`` known (mass spectrometry), the Larmor-Langevin term of Eq. 17 has
one free iron parameter, the Fe2+ fraction ``x``: ``n(Fe2+) = x n_MS``, ``n(Fe3+) = (1 - x) n_MS``.
The seed re-plots its raw data after subtracting the Langevin contribution for ``x = 0, 0.2, ...,
1`` (Figs. 16, 17) and lets the ETM single out the ``x`` that the remainder is best described by
(Fig. 18: ``x = 0.63`` for BAS-w). :func:`iron_fraction_scan` does both on any data set:

* the remainder ``M - M_Langevin(x)`` of every point for each ``x`` of the scan (Langevin only, as
  in the seed's figures; the Larmor term and the intrinsic term stay in the remainder);
* for each ``x``, a fit of the remaining parameters of a model with the iron fixed
  (``fit_magnetization(..., iron_total_per_g=n_MS, fixed={"x_Fe2": x})``), whose chi^2 profiles ``x``;
* the fit with ``x`` free, whose value and standard error is the model's answer.

:func:`tunnelsim.fitting.figures.plot_iron_fraction_scan` draws the re-plot and the chi^2 profile.

Both are defined only for the species Fe2+ and Fe3+ (any ``g`` and ``J``, in either order); other
species (:mod:`tunnelsim.ions`) raise :class:`~tunnelsim.fitting.FitError` (a ``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ions import DEFAULT_SPECIES, density_parameter_name
from ..paramagnet import species_magnetization_emu_per_g
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .least_squares import FitConvergenceError, fit_magnetization
from .models import FitError, check_iron_total

__all__ = ["DEFAULT_FRACTIONS", "IronFractionScan", "iron_fraction_scan", "langevin_remainder"]

#: The seed's fractions in Figs. 16 and 17.
DEFAULT_FRACTIONS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _iron_species(species, what):
    """``(Fe2+, Fe3+)`` species of ``species`` by name; FitError unless they are exactly those two."""
    by_name = {density_parameter_name(s): s for s in check_iron_total(species, what)}
    return by_name["n_Fe2_per_g"], by_name["n_Fe3_per_g"]


def langevin_remainder(data, n_Fe_total_per_g, x_Fe2, species=DEFAULT_SPECIES):
    """``M - M_Langevin`` of every point with ``n(Fe2+) = x n_Fe`` and ``n(Fe3+) = (1 - x) n_Fe`` (emu/g).

    Parameters
    ----------
    data : MagnetizationData
    n_Fe_total_per_g : float
        Total iron (g^-1), > 0.
    x_Fe2 : float or array_like
        Fe2+ fraction(s) in [0, 1].
    species : sequence of Species, optional
        Fe2+ and Fe3+ (by name, any order; their ``g`` and ``J`` as given). Any other species:
        :class:`FitError`.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_points,)`` for a scalar ``x_Fe2``, else ``(n_x, n_points)``.
    """
    fe2, fe3 = _iron_species(species, "langevin_remainder")
    N = float(n_Fe_total_per_g)
    if not np.isfinite(N) or N <= 0:
        raise FitError(f"n_Fe_total_per_g: must be a finite number > 0, got {n_Fe_total_per_g!r}")
    x = np.asarray(x_Fe2, dtype=float)
    if not np.all(np.isfinite(x)) or np.any((x < 0) | (x > 1)):
        raise FitError(f"x_Fe2: every fraction must be in [0, 1], got {x_Fe2!r}")
    T, H, M = data.temperature_K, data.field_Oe, data.magnetization_emu_per_g
    b2 = species_magnetization_emu_per_g(N, fe2, H, T)
    b3 = species_magnetization_emu_per_g(N, fe3, H, T)
    return M - (np.multiply.outer(x, b2) + np.multiply.outer(1.0 - x, b3))


@dataclass(frozen=True)
class IronFractionScan:
    """The outcome of :func:`iron_fraction_scan`.

    Attributes
    ----------
    model : str
    n_Fe_total_per_g : float
    x_values : numpy.ndarray, shape (n_x,)
    remainder_emu_per_g : numpy.ndarray, shape (n_x, n_points)
        ``M - M_Langevin(x)`` per point.
    chi2 : numpy.ndarray, shape (n_x,)
        chi^2 of the fit at each fixed ``x`` (NaN where it did not converge).
    fits : tuple
        The :class:`~tunnelsim.fitting.FitResult` at each ``x`` (None where it did not converge).
    free_fit : FitResult or None
        The fit with ``x`` free.
    messages : tuple of str
        Why a fit is missing, per ``x`` ("" where none is).
    """

    model: str
    n_Fe_total_per_g: float
    x_values: np.ndarray
    remainder_emu_per_g: np.ndarray
    chi2: np.ndarray
    fits: tuple
    free_fit: object
    messages: tuple

    @property
    def best_x(self):
        """``(x, stderr)`` of the fit with ``x`` free, or the scan's minimum (stderr None) without it."""
        if self.free_fit is not None:
            p = self.free_fit.parameters["x_Fe2"]
            return p.value, p.stderr
        if np.all(np.isnan(self.chi2)):
            return None, None
        return float(self.x_values[int(np.nanargmin(self.chi2))]), None

    def to_dict(self):
        """JSON-serialisable summary (the fits by their ``to_dict``)."""
        x, err = self.best_x
        return {
            "analysis": "iron_fraction_scan",
            "model": self.model,
            "n_Fe_total_per_g": self.n_Fe_total_per_g,
            "x_values": self.x_values.tolist(),
            "chi2": [None if not np.isfinite(c) else float(c) for c in self.chi2],
            "best_x_Fe2": x,
            "best_x_Fe2_stderr": err,
            "messages": list(self.messages),
            "free_fit": None if self.free_fit is None else self.free_fit.to_dict(),
        }

    def summary(self):
        """A text table: chi^2 against ``x`` and the fitted ``x``."""
        lines = [f"iron fixed at n_Fe = {self.n_Fe_total_per_g:.4g} g^-1, model {self.model}: chi2 against x(Fe2+)"]
        finite = self.chi2[np.isfinite(self.chi2)]
        floor = finite.min() if finite.size else np.nan
        for x, c, m in zip(self.x_values, self.chi2, self.messages):
            lines.append(f"  x = {x:4.2f}   chi2 = {c:12.6g}   delta = {c - floor:10.4g}" if np.isfinite(c)
                         else f"  x = {x:4.2f}   no fit ({m})")
        x, err = self.best_x
        if x is not None:
            lines.append(f"  fitted x(Fe2+) = {x:.4g}" + ("" if err is None else f" +- {err:.2g}"))
        return "\n".join(lines)


def iron_fraction_scan(data, n_Fe_total_per_g, x_values=DEFAULT_FRACTIONS, model="etm", start=None, fixed=None,
                       P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K, species=DEFAULT_SPECIES, max_nfev=None):
    """The Langevin-subtracted re-plot and the chi^2 profile of the Fe2+ fraction (module docstring).

    Parameters
    ----------
    data : MagnetizationData
    n_Fe_total_per_g : float
        Total iron, e.g. the mass-spectrometry value (BK7: 1.657e17, Duran: 1.47e18, BAS-w: 7.13e18).
    x_values : sequence of float, optional
        The fractions of the re-plot (default the seed's 0, 0.2, ..., 1).
    model : str, optional
        The model fitted at each ``x`` (default ``"etm"``).
    start : mapping, optional
        Starting values of the model's other parameters (default: estimated from the data,
        :func:`tunnelsim.fitting.start.estimate_start`).
    fixed : mapping, optional
        Other parameters held fixed.
    P_star, T0_K, species, max_nfev
        As :func:`~tunnelsim.fitting.fit_magnetization`; ``species`` must be Fe2+ and Fe3+.

    Returns
    -------
    IronFractionScan
    """
    _iron_species(species, "iron_fraction_scan")
    x_values = np.asarray(x_values, dtype=float)
    if x_values.ndim != 1 or x_values.size == 0:
        raise FitError("x_values: give at least one fraction")
    remainder = langevin_remainder(data, n_Fe_total_per_g, x_values, species)
    fixed = dict(fixed or {})
    for name in ("n_Fe2_per_g", "n_Fe3_per_g", "n_Fe_total_per_g", "x_Fe2"):
        if name in fixed:
            raise FitError(f"cannot fix {name!r} in an iron-fraction scan (the scan sets the iron)")
    if start is None and model != "ll":
        from .start import estimate_start

        start = dict(estimate_start(data, model, fixed=fixed or None, P_star=P_star, T0_K=T0_K,
                                    species=species).values)
    kwargs = dict(P_star=P_star, T0_K=T0_K, species=species, max_nfev=max_nfev,
                  iron_total_per_g=float(n_Fe_total_per_g))
    fits, chi2, messages = [], [], []
    for x in x_values:
        try:
            fit = fit_magnetization(data, model, start=start, fixed={**fixed, "x_Fe2": float(x)}, **kwargs)
        except FitConvergenceError as exc:
            fits.append(None)
            chi2.append(np.nan)
            messages.append(str(exc))
            continue
        fits.append(fit)
        chi2.append(fit.chi2)
        messages.append("")
    # the fit with x free, from the estimated start and from the best point of the scan: the lower chi^2
    candidates = [dict(start or {})]
    if not np.all(np.isnan(chi2)):
        best = dict(fits[int(np.nanargmin(chi2))].values())
        best.pop("n_Fe_total_per_g", None)
        candidates.append(best)
    free_fit = None
    for candidate in candidates:
        try:
            fit = fit_magnetization(data, model, start=candidate, fixed=fixed, **kwargs)
        except FitConvergenceError:
            continue
        if free_fit is None or fit.chi2 < free_fit.chi2:
            free_fit = fit
    return IronFractionScan(model, float(n_Fe_total_per_g), x_values, remainder, np.array(chi2, dtype=float),
                            tuple(fits), free_fit, tuple(messages))
