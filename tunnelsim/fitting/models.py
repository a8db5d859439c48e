"""The models of Eq. 17 a fit can use, their parameter names and their evaluation (emu/g).

``M(T, H) = -chi_L H + M_Fe(H/T) + M_intr(T, H)`` (Eq. 17) with the intrinsic term

* ``"ll"`` -- none (Larmor-Langevin only);
* ``"etm"`` -- the corrected Eq. 10, orientation averaged (:func:`tunnelsim.etm.magnetization_etm`);
* ``"etm11"`` -- Eq. 11 as a modified gap, the magnetisation the true derivative of its free energy
  (:func:`tunnelsim.etm.magnetization_etm_high_field`); needs the loop size ``charge_area_A2``;
* ``"exact"`` -- the exact three-level ATS ensemble (Eq. 6, 8; ``D_max`` infinite)
  (:class:`tunnelsim.fitting.exact_intrinsic.ExactIntrinsicModel`); needs ``charge_area_A2``.

With ``delta_mu_K`` every intrinsic model follows Eq. 15: ``D_min ~ r``, ``D0QS ~ r^3`` and
``(Q/e) S ~ r^2`` with ``r = N(T)/N(T0)``. ``delta_mu_K >= 0`` in fits as in the ensemble
(``N_tunn`` grows with temperature, Eq. 15).
"""

from __future__ import annotations

import numpy as np

from ..paramagnet import FE2, FE3, PARAMETER_NAMES, species_magnetization_emu_per_g, total_magnetization_emu_per_g
from ..temperature_dependence import scaled_parameters
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K, oe_to_tesla

__all__ = ["FitError", "INTRINSIC_MODELS", "IRON_TOTAL_NAMES", "iron_densities", "MODELS", "intrinsic_per_amplitude", "model_magnetization_emu_per_g",
           "model_parameter_names"]

MODELS = ("ll", "etm", "etm11", "exact")
#: Models with an intrinsic (ATS) term.
INTRINSIC_MODELS = ("etm", "etm11", "exact")
#: Models whose intrinsic term needs the loop size (Q/e) S_Delta by itself, not only the D0QS products.
LOOP_SIZE_MODELS = ("etm11", "exact")
_LL_NAMES = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")
#: The alternative iron parametrisation (the seed's Figs. 16-18): total iron and the Fe2+ fraction,
#: ``n_Fe2 = x n_Fe``, ``n_Fe3 = (1 - x) n_Fe``.
IRON_TOTAL_NAMES = ("n_Fe_total_per_g", "x_Fe2")
#: The parameters of the models that need the loop size (Table 3's with charge_area_A2 before delta_mu_K).
_LOOP_SIZE_NAMES = PARAMETER_NAMES[:-1] + ("charge_area_A2", "delta_mu_K")
#: Every parameter name a model may report.
ALL_PARAMETER_NAMES = _LOOP_SIZE_NAMES + IRON_TOTAL_NAMES


class FitError(ValueError):
    """A fit cannot be set up (bad model, parameter name, starting value or bound)."""


def _check_model(model):
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


def iron_densities(parameters):
    """``(n_Fe2_per_g, n_Fe3_per_g)`` from either parametrisation (species densities, or
    ``n_Fe_total_per_g`` and the Fe2+ fraction ``x_Fe2``)."""
    if "x_Fe2" in parameters:
        total, x = parameters["n_Fe_total_per_g"], parameters["x_Fe2"]
        return x * total, (1.0 - x) * total
    return parameters["n_Fe2_per_g"], parameters["n_Fe3_per_g"]


def model_parameter_names(model, eq15=True, iron_total=False):
    """The reported parameter names of a model, in the seed's Table 3 order (``charge_area_A2``
    before ``delta_mu_K`` for the models that need the loop size); with ``iron_total`` the two
    species densities are replaced by ``n_Fe_total_per_g`` and ``x_Fe2``."""
    _check_model(model)
    if iron_total:
        return IRON_TOTAL_NAMES + model_parameter_names(model, eq15)[2:]
    if model == "ll":
        names = _LL_NAMES
    elif model in LOOP_SIZE_MODELS:
        names = _LOOP_SIZE_NAMES
    else:
        names = PARAMETER_NAMES
    return tuple(n for n in names if eq15 or n != "delta_mu_K")


def _prefactor(model, eq10_prefactor):
    """The factor of the Eq. 10 prefactor convention (Eq. 10 and Eq. 11 share it; none for exact)."""
    from ..etm import EQ10_PREFACTORS

    if eq10_prefactor not in EQ10_PREFACTORS:
        raise FitError(f"eq10_prefactor must be one of {', '.join(EQ10_PREFACTORS)}, got {eq10_prefactor!r}")
    return EQ10_PREFACTORS[eq10_prefactor] if model in ("etm", "etm11") else 1.0


def intrinsic_per_amplitude(model, temperature_K, field_Oe, parameters, T0_K=DEFAULT_T0_K, exact_model=None,
                            eq10_prefactor="corrected"):
    """The intrinsic term of Eq. 17 per unit amplitude ``n_ATS P*`` (emu/g per g^-1) at each point.

    Parameters
    ----------
    model : {"etm", "etm11", "exact"}
    temperature_K, field_Oe : array_like, shape (n,)
        The points (K, Oe).
    parameters : mapping
        ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``, ``charge_area_A2`` (etm11, exact) and
        optionally ``delta_mu_K`` (Eq. 15; None or absent: off).
    T0_K : float, optional
        Reference temperature of Eq. 15.
    exact_model : ExactIntrinsicModel, optional
        A prepared evaluator for these points (``"exact"``; made here when not given).
    eq10_prefactor : {"corrected", "seed"}, optional
        The Eq. 10 prefactor convention (:data:`tunnelsim.etm.EQ10_PREFACTORS`) of ``etm`` and ``etm11``.
    """
    factor = _prefactor(model, eq10_prefactor)
    if model not in INTRINSIC_MODELS:
        raise FitError(f"model {model!r} has no intrinsic term; expected one of {', '.join(INTRINSIC_MODELS)}")
    T = np.asarray(temperature_K, dtype=float)
    B = oe_to_tesla(np.asarray(field_Oe, dtype=float))
    if model == "exact":
        if exact_model is None:
            from .exact_intrinsic import ExactIntrinsicModel

            T1, B1 = np.broadcast_arrays(T, B)
            exact_model = ExactIntrinsicModel(T1.ravel(), B1.ravel(), P_star=1.0, T0_K=T0_K)
            return exact_model.unit(parameters).reshape(np.broadcast_shapes(T.shape, B.shape))
        return exact_model.unit(parameters) / exact_model.P_star
    from .. import etm

    D_min, a, b = parameters["D_min_K"], parameters["D0QS_min_K_A2"], parameters["D0QS_max_K_A2"]
    qs = parameters.get("charge_area_A2") if model == "etm11" else None
    if model == "etm11" and qs is None:
        raise FitError("model etm11 needs charge_area_A2 ((Q/e) S_Delta in A^2)")
    dmu = parameters.get("delta_mu_K")
    if dmu is not None:
        s = scaled_parameters(T, D_min, a, b, dmu, T0_K, charge_area_A2=qs)
        D_min, a, b, qs = s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2, s.charge_area_A2
    if model == "etm":
        return factor * etm.magnetization_etm(T, B, D_min, a, b, 1.0)
    return factor * etm.magnetization_etm_high_field(T, B, D_min, a, b, qs, 1.0)


def model_magnetization_emu_per_g(model, temperature_K, field_Oe, parameters, P_star=DEFAULT_P_STAR,
                                  T0_K=DEFAULT_T0_K, species=(FE2, FE3), eq10_prefactor="corrected"):
    """Eq. 17 for a model (:data:`MODELS`), emu/g; ``eq10_prefactor`` as :func:`intrinsic_per_amplitude`."""
    _check_model(model)
    if "x_Fe2" in parameters:
        n2, n3 = iron_densities(parameters)
        parameters = {k: v for k, v in parameters.items() if k not in IRON_TOTAL_NAMES}
        parameters.update(n_Fe2_per_g=n2, n_Fe3_per_g=n3)
    if model == "etm" and _prefactor(model, eq10_prefactor) == 1.0:
        return total_magnetization_emu_per_g(temperature_K, field_Oe, parameters, P_star, T0_K, species)
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    m = -parameters["chi_L_emu_per_g_Oe"] * H
    for key, s in zip(("n_Fe2_per_g", "n_Fe3_per_g"), species):
        m = m + species_magnetization_emu_per_g(parameters[key], s, H, T)
    shape = np.broadcast_shapes(T.shape, H.shape)
    if model != "ll":
        T1, H1 = np.broadcast_arrays(T, H)
        unit = intrinsic_per_amplitude(model, T1, H1, parameters, T0_K, eq10_prefactor=eq10_prefactor)
        m = m + parameters["n_ATS_per_g"] * P_star * unit
    return np.broadcast_to(m, shape).copy()
