"""The exact side of every comparison: the gap mapping, exact spectra and exact 3LS ensembles.

Eq. 10 treats each ATS as a two-level system; the exact lower gap of Eq. 6 is, to leading order,
``E^2 = (2/3) D^2 + (4/3) D0^2 phi^2`` (:data:`GAP_A`, :data:`GAP_B`), so Eq. 10 describes the
exact ensemble with the mapped cutoffs of :func:`mapped_cutoffs` (see :mod:`tunnelsim.validation`).
The helpers here build the exact ensembles the parts compare with.
"""

from __future__ import annotations

import math

import numpy as np

from .. import hamiltonians, spectra
from ..distributions import ATSDistribution
from ..ensemble import AveragingSettings, Ensemble
from ..systems import ThreeLevelSystem

__all__ = [
    "GAP_A",
    "GAP_B",
    "ats_ensemble",
    "exact_averaging",
    "exact_cutoffs",
    "exact_gap_K",
    "mapped_cutoffs",
]

#: Exact 3LS cutoffs whose effective 2LS is Eq. 10's: D -> D sqrt(3/2), D0 -> D0 sqrt(3)/2.
_D_MAP = math.sqrt(1.5)
_D0_MAP = math.sqrt(3.0) / 2.0
#: Leading-order gap constants of Eq. 6: E^2 = (2/3) D^2 + (4/3) D0^2 phi^2.
GAP_A = 2.0 / 3.0
GAP_B = 4.0 / 3.0


def mapped_cutoffs(D_min_K, D0_min_K, D0_max_K, D_max_K=math.inf):
    """Exact-3LS cutoffs whose effective two-level gap reproduces Eq. 10's (module docstring).

    ``sqrt(2/3) D' = D`` and ``(2/sqrt(3)) D0' = D0``: returns
    ``dict(D_min_K=sqrt(3/2) D_min, D0_min_K=(sqrt(3)/2) D0_min, D0_max_K=(sqrt(3)/2) D0_max,
    D_max_K=sqrt(3/2) D_max)``.
    """
    return {"D_min_K": _D_MAP * D_min_K, "D0_min_K": _D0_MAP * D0_min_K, "D0_max_K": _D0_MAP * D0_max_K,
            "D_max_K": _D_MAP * D_max_K}


def exact_gap_K(D_K, alpha, D0_K, phi):
    """Lower gap ``E_1 - E_0`` of Eq. 6 (``numpy.linalg.eigh``), batched over broadcast arguments.

    Parameters
    ----------
    D_K : array_like
        ``D = sqrt(E1^2 + E2^2 + E3^2)`` (K, >= 0).
    alpha : array_like
        Polar angle of the asymmetries (:func:`~tunnelsim.hamiltonians.asymmetries_from_polar`).
    D0_K : array_like
        Tunnelling amplitude (K, > 0).
    phi : array_like
        Aharonov-Bohm phase of Eq. 7.

    Returns
    -------
    numpy.ndarray
    """
    D, alpha, D0, phi = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (D_K, alpha, D0_K, phi)))
    E = hamiltonians.asymmetries_from_polar(D, alpha)
    levels = spectra.solve(hamiltonians.three_level(E, D0, phi)).levels
    return levels[..., 1] - levels[..., 0]


def exact_averaging(orientation_nodes, phi_max, error_estimate=False):
    """Averaging of an exact 3LS ensemble: default nodes, ``max(8, ceil(1.2 phi_max))`` orientations.

    The orientation average of the exact ensemble is smooth in ``u``; with this count the
    doubling check of :func:`~tunnelsim.validation.check_high_field` changes the top-field value by < 1e-5.
    """
    n = orientation_nodes if orientation_nodes is not None else max(8, math.ceil(1.2 * phi_max))
    return AveragingSettings(error_estimate=error_estimate, orientation_nodes=int(n))


def ats_ensemble(material, charge_area_A2, D_min_K, D0_min_K, D0_max_K, D_max_K):
    """The exact 3LS ensemble: Eq. 8 with the given cutoffs (K), the material's ``P*`` and ``n_ATS``."""
    dist = ATSDistribution(D_min_K=D_min_K, D0_min_K=D0_min_K, D0_max_K=D0_max_K, D_max_K=D_max_K,
                           P_star=material.P_star)
    return Ensemble(ThreeLevelSystem(float(charge_area_A2)), dist, material.density_per_g)


def exact_cutoffs(material, charge_area_A2, mapped, D_max_K):
    """Cutoffs (K) of an exact ensemble: the material's as given, or mapped (:func:`mapped_cutoffs`).

    ``D0 = D0QS / ((Q/e) S_Delta)`` for the given ``charge_area_A2``; returns the keyword
    arguments of :func:`ats_ensemble` after ``charge_area_A2``.
    """
    D0_min, D0_max = material.D0_range_K(charge_area_A2)
    if mapped:
        return mapped_cutoffs(material.D_min_K, D0_min, D0_max, D_max_K)
    return {"D_min_K": material.D_min_K, "D0_min_K": D0_min, "D0_max_K": D0_max, "D_max_K": D_max_K}
