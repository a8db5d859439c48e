"""Part e: the tetrahedral four-well ensemble against the matched 3LS ensemble."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import units
from ..distributions import FourWellATSDistribution
from ..ensemble import AveragingSettings, Ensemble, compute
from ..systems import FourWellSystem
from .curves import grid_axis
from .reference import ats_ensemble, exact_averaging
from .settings import FourWellSettings, Material

__all__ = ["FourWellResult", "ThreeLevelRefit", "compare_four_well", "four_well_verdict", "refit_three_level"]

#: Absolute error assumed per point of the four-well M(T, B) when the exact 3LS model is fitted to it,
#: as a fraction of max|M| (the quadrature of the four-well ensemble is good to about this).
REFIT_SIGMA_FRACTION = 1e-3


@dataclass(frozen=True)
class ThreeLevelRefit:
    """The exact three-level ATS model (``--model exact``) fitted to the four-well M(T, B).

    Attributes
    ----------
    parameters : dict of str to float
        Fitted ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``, ``charge_area_A2``.
    moved : dict of str to float
        Each fitted parameter over the value the four-well ensemble was built with.
    max_residual : float
        ``max |M_fit - M_4w| / max |M_4w|``.
    chi2_reduced : float
        With a per-point error of :data:`REFIT_SIGMA_FRACTION` of ``max |M_4w|``.
    message : str
        One line: what absorbs the difference and how well the 3LS model describes the four-well data.
    """

    parameters: dict
    moved: dict
    max_residual: float
    chi2_reduced: float
    message: str


def refit_three_level(temperature_K, field_T, magnetization_emu_per_g, material):
    """Fit the exact 3LS ensemble (Eq. 6, 8; ``D_max`` infinite) to a four-well M(T, B) grid.

    Starts from the parameters the four-well ensemble was built with (``material``); the
    Larmor-Langevin terms are held at 0 (the grid holds the intrinsic term only). Returns
    :class:`ThreeLevelRefit`, or None when the fit does not converge.
    """
    from ..fitting import FitConvergenceError, fit_magnetization
    from ..fitting.data import make_dataset

    T, B = np.meshgrid(np.asarray(temperature_K, float), np.asarray(field_T, float), indexing="ij")
    M = np.asarray(magnetization_emu_per_g, float)
    scale = float(np.max(np.abs(M)))
    sigma = np.full(M.size, REFIT_SIGMA_FRACTION * scale)
    data = make_dataset(T.ravel(), units.tesla_to_oe(B.ravel()), M.ravel(), sigma, source="four-well ensemble")
    truth = {"n_ATS_per_g": material.density_per_g, "D_min_K": material.D_min_K,
             "D0QS_min_K_A2": material.D0QS_min_K_A2, "D0QS_max_K_A2": material.D0QS_max_K_A2,
             "charge_area_A2": material.charge_area_A2}
    try:
        fit = fit_magnetization(data, "exact", start=truth, P_star=material.P_star,
                                fixed={"n_Fe2_per_g": 0.0, "n_Fe3_per_g": 0.0, "chi_L_emu_per_g_Oe": 0.0})
    except FitConvergenceError:
        return None
    params = {n: fit.parameters[n].value for n in truth}
    moved = {n: params[n] / truth[n] for n in truth}
    worst = float(np.max(np.abs(fit.best_fit_emu_per_g - data.magnetization_emu_per_g)) / scale)
    biggest = max(moved, key=lambda n: abs(math.log(moved[n])))
    message = (f"the exact 3LS model refitted to it leaves residuals up to {worst:.1%} of max|M| "
               f"(reduced chi2 {fit.chi2_reduced:.3g} at {REFIT_SIGMA_FRACTION:.0e} of max|M| per point); "
               + ", ".join(f"{n} x{moved[n]:.3g}" for n in truth) + f"; mostly absorbed by {biggest}")
    return ThreeLevelRefit(params, moved, worst, float(fit.chi2_reduced), message)


@dataclass(frozen=True)
class FourWellResult:
    """Four-well (tetrahedral) ensemble against the matched 3LS ensemble.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    magnetization_three_level, magnetization_four_well : numpy.ndarray, shape (nT, nB)
        emu/g.
    magnetization_three_level_error, magnetization_four_well_error : numpy.ndarray, shape (nT, nB)
        Their quadrature error estimates (NaN: not estimated).
    ratio : numpy.ndarray, shape (nT, nB)
        ``M_4w / M_3LS``.
    shape_ratio : numpy.ndarray, shape (nT, nB)
        Ratio of the curves normalised per field to their value at the lowest temperature.
    verdict : str
        :func:`four_well_verdict` of the ratios, and what a refit of the exact 3LS model to the
        four-well curves absorbs (:func:`refit_three_level`).
    matching : str
        How the parameters were matched.
    refit : ThreeLevelRefit or None
        The exact 3LS model fitted to the four-well M(T, B) (None if it did not converge).
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    magnetization_three_level: np.ndarray
    magnetization_four_well: np.ndarray
    ratio: np.ndarray
    shape_ratio: np.ndarray
    verdict: str
    matching: str
    refit: ThreeLevelRefit | None = None
    magnetization_three_level_error: np.ndarray | None = None
    magnetization_four_well_error: np.ndarray | None = None


def four_well_verdict(ratio, close=0.05, same_shape=1.10):
    """One line on how close "the same physics" is, from the ratios ``M_4w / M_3LS``.

    * every ratio within ``close`` of 1: the same physics quantitatively;
    * same sign everywhere and ``max/min <= same_shape``: the same temperature and field
      dependence up to a constant factor (absorbed by the fitted ``n_ATS P*``);
    * same sign, larger spread: qualitatively alike (sign, order of magnitude), not in detail;
    * otherwise different.
    """
    r = np.asarray(ratio, dtype=float).ravel()
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("ratio has no finite values")
    lo, hi = float(r.min()), float(r.max())
    if np.all(np.abs(r - 1.0) <= close):
        return f"same physics quantitatively: M_4w/M_3LS within {close:.0%} of 1 ({lo:.3f} to {hi:.3f})"
    if lo > 0 and hi / lo <= same_shape:
        mean = math.exp(float(np.mean(np.log(r))))
        return (f"same T and B dependence within {hi / lo - 1:.1%}, amplitude x{mean:.2f} "
                f"(a constant absorbed by the fitted n_ATS P*)")
    if lo > 0:
        return (f"alike only qualitatively: same sign, M_4w/M_3LS runs from {lo:.2f} to {hi:.2f} "
                f"(T and B dependence differ by {hi / lo - 1:.0%}), so not the same physics in detail")
    return f"different: M_4w/M_3LS runs from {lo:.2f} to {hi:.2f} and changes sign"


def compare_four_well(material=Material(), settings=FourWellSettings()):
    """Part e: :class:`~tunnelsim.systems.FourWellSystem` + :class:`~tunnelsim.distributions.FourWellATSDistribution`
    against the 3LS ATS ensemble with matched parameters (:class:`FourWellSettings`).

    Returns
    -------
    FourWellResult
    """
    T = grid_axis(settings.temperature_K, "temperature_K")
    B = grid_axis(settings.field_T, "field_T")
    qs = material.charge_area_A2
    D0_min, D0_max = material.D0_range_K()
    D_max = float(settings.D_max_K)
    three = ats_ensemble(material, qs, material.D_min_K, D0_min, D0_max, D_max)
    dist4 = FourWellATSDistribution(D_min_K=material.D_min_K, D0_min_K=D0_min, D0_max_K=D0_max, D_max_K=D_max,
                                    P_star=material.P_star / 2.0)
    four = Ensemble(FourWellSystem(qs), dist4, material.density_per_g)
    phi_max = float(units.phase_per_tesla(qs)) * float(B.max())
    r3 = compute(three, T, B, settings=exact_averaging(None, phi_max, settings.error_estimate))
    s4 = AveragingSettings(error_estimate=settings.error_estimate, sphere_degree=int(settings.sphere_degree),
                           nodes=None if settings.nodes is None else dict(settings.nodes))
    r4 = compute(four, T, B, settings=s4)
    m3, m4 = r3.values["magnetization"], r4.values["magnetization"]
    ratio = m4 / m3
    shape = (m4 / m4[:1]) / (m3 / m3[:1])
    matching = (f"same n_ATS = {material.density_per_g:.4g}/g, D_min = {material.D_min_K:g} K, "
                f"D_max = {D_max:g} K, D0 = {D0_min:.4g}..{D0_max:.4g} K, (Q/e) S = {qs:g} A^2 per loop/face; "
                f"P* = {material.P_star:.4g} (3LS, d alpha) and P*/2 (four-well, d Omega)")
    refit = refit_three_level(T, B, m4, material)
    verdict = four_well_verdict(ratio) + ("; " + refit.message if refit is not None
                                          else "; the exact 3LS model refitted to it did not converge")
    return FourWellResult(T, B, m3, m4, ratio, shape, verdict, matching, refit,
                          r3.errors["magnetization"], r4.errors["magnetization"])
