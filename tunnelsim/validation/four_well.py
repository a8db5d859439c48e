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

__all__ = ["FourWellResult", "compare_four_well", "four_well_verdict"]


@dataclass(frozen=True)
class FourWellResult:
    """Four-well (tetrahedral) ensemble against the matched 3LS ensemble.

    Attributes
    ----------
    temperature_K, field_T : numpy.ndarray
    magnetization_three_level, magnetization_four_well : numpy.ndarray, shape (nT, nB)
        emu/g.
    ratio : numpy.ndarray, shape (nT, nB)
        ``M_4w / M_3LS``.
    shape_ratio : numpy.ndarray, shape (nT, nB)
        Ratio of the curves normalised per field to their value at the lowest temperature.
    verdict : str
        :func:`four_well_verdict`.
    matching : str
        How the parameters were matched.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    magnetization_three_level: np.ndarray
    magnetization_four_well: np.ndarray
    ratio: np.ndarray
    shape_ratio: np.ndarray
    verdict: str
    matching: str


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
    m3 = compute(three, T, B, settings=exact_averaging(None, phi_max)).values["magnetization"]
    s4 = AveragingSettings(error_estimate=False, sphere_degree=int(settings.sphere_degree),
                           nodes=None if settings.nodes is None else dict(settings.nodes))
    m4 = compute(four, T, B, settings=s4).values["magnetization"]
    ratio = m4 / m3
    shape = (m4 / m4[:1]) / (m3 / m3[:1])
    matching = (f"same n_ATS = {material.density_per_g:.4g}/g, D_min = {material.D_min_K:g} K, "
                f"D_max = {D_max:g} K, D0 = {D0_min:.4g}..{D0_max:.4g} K, (Q/e) S = {qs:g} A^2 per loop/face; "
                f"P* = {material.P_star:.4g} (3LS, d alpha) and P*/2 (four-well, d Omega)")
    return FourWellResult(T, B, m3, m4, ratio, shape, four_well_verdict(ratio), matching)
