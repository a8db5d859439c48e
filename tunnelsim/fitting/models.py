"""The two models of Eq. 17 a fit can use, their parameter names and their evaluation (emu/g)."""

from __future__ import annotations

import numpy as np

from ..paramagnet import FE2, FE3, PARAMETER_NAMES, species_magnetization_emu_per_g, total_magnetization_emu_per_g
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K

__all__ = ["FitError", "MODELS", "model_magnetization_emu_per_g", "model_parameter_names"]

MODELS = ("ll", "etm")
_LL_NAMES = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")


class FitError(ValueError):
    """A fit cannot be set up (bad model, parameter name, starting value or bound)."""


def model_parameter_names(model, eq15=True):
    """The reported parameter names of a model, in the seed's Table 3 order."""
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    names = _LL_NAMES if model == "ll" else PARAMETER_NAMES
    return tuple(n for n in names if eq15 or n != "delta_mu_K")


def model_magnetization_emu_per_g(model, temperature_K, field_Oe, parameters, P_star=DEFAULT_P_STAR,
                                  T0_K=DEFAULT_T0_K, species=(FE2, FE3)):
    """Eq. 17 for a model: ``"ll"`` (Larmor-Langevin only) or ``"etm"`` (full), emu/g."""
    if model == "etm":
        return total_magnetization_emu_per_g(temperature_K, field_Oe, parameters, P_star, T0_K, species)
    if model != "ll":
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    m = -parameters["chi_L_emu_per_g_Oe"] * H
    for key, s in zip(("n_Fe2_per_g", "n_Fe3_per_g"), species):
        m = m + species_magnetization_emu_per_g(parameters[key], s, H, T)
    return np.broadcast_to(m, np.broadcast_shapes(T.shape, H.shape)).copy()
