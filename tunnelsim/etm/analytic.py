"""The analytic ETM magnetisations on a (temperature, field) grid, as the simulation runner asks for them."""

from __future__ import annotations

import numpy as np

from .._checks import as_positive_array, as_real_array
from ..temperature_dependence import scale_parameters_by_ratio, scaled_parameters
from ..units import DEFAULT_T0_K
from .eq10 import magnetization_etm
from .eq11 import magnetization_etm_high_field, magnetization_etm_shortcut

__all__ = ["ANALYTIC_NAMES", "analytic_magnetization"]

ANALYTIC_NAMES = ("etm", "etm_high_field", "etm_shortcut")


def analytic_magnetization(name, temperature_K, field_T, *, D_min_K, D0_min_K, D0_max_K, charge_area_A2,
                           amplitude_per_g, delta_mu_K=None, T0_K=DEFAULT_T0_K, B_star_T=None,
                           tunnelling_ratio=None):
    """Analytic ETM magnetisation on a (temperature, field) grid, emu/g, shape ``(nT, nB)``.

    Parameters
    ----------
    name : {"etm", "etm_high_field", "etm_shortcut"}
        :func:`magnetization_etm` (Eq. 10, corrected, orientation averaged),
        :func:`magnetization_etm_high_field` (Eq. 11 modified gap) or
        :func:`magnetization_etm_shortcut` (Eq. 11 shortcut).
    temperature_K, field_T : array_like
        1-D axes (K > 0; T).
    D_min_K, D0_min_K, D0_max_K : float
        Cutoffs (K) at ``T0_K`` when ``delta_mu_K`` is given.
    charge_area_A2 : float
        ``(Q/e) S_Delta`` (Å^2).
    amplitude_per_g : float
        ``n_ATS P*`` per gram.
    delta_mu_K : float, optional
        Eq. 15 temperature dependence (parameters scaled from ``T0_K``).
    T0_K : float, optional
        Reference temperature of Eq. 15.
    tunnelling_ratio : array_like, optional
        ``N_tunn(T)/N_tunn(T0)`` at each temperature, from any law (Eq. 15 or Eq. 16); instead of
        ``delta_mu_K``.
    B_star_T : float, optional
        ``B*`` of the shortcut; default ``B_phi`` of the (scaled) ``(Q/e) S_Delta``.

    Returns
    -------
    numpy.ndarray
    """
    if name not in ANALYTIC_NAMES:
        raise ValueError(f"name must be one of {', '.join(ANALYTIC_NAMES)}, got {name!r}")
    T = np.atleast_1d(as_positive_array(temperature_K, "temperature_K"))
    B = np.atleast_1d(as_real_array(field_T, "field_T"))
    if T.ndim != 1 or B.ndim != 1:
        raise ValueError("temperature_K and field_T must be scalars or 1-D axes")
    D0_min = as_positive_array(D0_min_K, "D0_min_K")
    D0_max = as_positive_array(D0_max_K, "D0_max_K")
    qs = as_positive_array(charge_area_A2, "charge_area_A2")
    if tunnelling_ratio is not None:
        if delta_mu_K is not None:
            raise ValueError("give delta_mu_K or tunnelling_ratio, not both")
        ratio = np.broadcast_to(as_positive_array(tunnelling_ratio, "tunnelling_ratio"), T.shape)
        p = scale_parameters_by_ratio(ratio, D_min_K, D0_min * qs, D0_max * qs, qs)
    elif delta_mu_K is None:
        p = scale_parameters_by_ratio(np.ones_like(T), D_min_K, D0_min * qs, D0_max * qs, qs)
    else:
        p = scaled_parameters(T, D_min_K, D0_min * qs, D0_max * qs, delta_mu_K, T0_K, qs)
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731
    args = (col(T), B[None, :], col(p.D_min_K), col(p.D0QS_min_K_A2), col(p.D0QS_max_K_A2))
    if name == "etm":
        out = magnetization_etm(*args, amplitude_per_g)
    elif name == "etm_high_field":
        out = magnetization_etm_high_field(*args, col(p.charge_area_A2), amplitude_per_g)
    else:
        out = magnetization_etm_shortcut(*args, amplitude_per_g, B_star_T=B_star_T,
                                         charge_area_A2=col(p.charge_area_A2))
    return np.broadcast_to(out, (T.size, B.size)).copy()
