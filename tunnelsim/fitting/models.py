"""The models of Eq. 17 a fit can use, their parameter names and their evaluation (emu/g).

``M(T, H) = -chi_L H + M_Fe(H/T) + M_intr(T, H)`` (Eq. 17) with the intrinsic term

* ``"ll"`` -- none (Larmor-Langevin only);
* ``"etm"`` -- the corrected Eq. 10, orientation averaged (:func:`tunnelsim.etm.magnetization_etm`);
* ``"etm11"`` -- Eq. 11 as a modified gap, the magnetisation the true derivative of its free energy
  (:func:`tunnelsim.etm.magnetization_etm_high_field`); needs the loop size ``charge_area_A2``;
* ``"exact"`` -- the exact three-level ATS ensemble (Eq. 6, 8; ``D_max`` infinite)
  (:class:`tunnelsim.fitting.exact_intrinsic.ExactIntrinsicModel`); needs ``charge_area_A2``.

The Langevin term sums over the paramagnetic species (default Fe2+ and Fe3+,
:data:`tunnelsim.ions.DEFAULT_SPECIES`; any others from :func:`tunnelsim.ions.parse_species`),
each with its density parameter ``n_<tag>_per_g``; every function here that names or evaluates
parameters takes ``species``. The total-iron parametrisation (``n_Fe_total_per_g``, ``x_Fe2``) is
defined only for exactly Fe2+ and Fe3+.

With ``delta_mu_K`` every intrinsic model follows Eq. 15: ``D_min ~ r``, ``D0QS ~ r^3`` and
``(Q/e) S ~ r^2`` with ``r = N(T)/N(T0)``. ``delta_mu_K >= 0`` in fits as in the ensemble
(``N_tunn`` grows with temperature, Eq. 15). With ``gamma`` and ``E0_K`` instead, ``r`` follows
Eq. 16, ``r = (1 - gamma exp(E0/T)) / (1 - gamma exp(E0/T0))`` (``gamma >= 0``; a trial point where
``1 - gamma exp(E0/T) <= 0`` at a data temperature or at ``T0`` is outside the model). The seed
reports that both laws give very similar fits (Section E); :func:`tunnelling_ratio` evaluates either.
"""

from __future__ import annotations

import math

import numpy as np

from ..ions import DEFAULT_SPECIES, check_species, density_parameter_names, describe_species, is_iron_pair
from ..paramagnet import parameter_names, species_magnetization_emu_per_g, total_magnetization_emu_per_g
from ..temperature_dependence import scale_parameters_by_ratio, tunnelling_number_ratio
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K, oe_to_tesla

__all__ = ["EQ16_NAMES", "FitError", "INTRINSIC_MODELS", "temperature_law", "tunnelling_ratio", "IRON_TOTAL_NAMES", "all_parameter_names", "check_iron_total",
           "iron_densities", "ll_parameter_names", "MODELS", "intrinsic_per_amplitude", "model_magnetization_emu_per_g",
           "model_parameter_names", "species_densities"]

MODELS = ("ll", "etm", "etm11", "exact")
#: Models with an intrinsic (ATS) term.
INTRINSIC_MODELS = ("etm", "etm11", "exact")
#: Models whose intrinsic term needs the loop size (Q/e) S_Delta by itself, not only the D0QS products.
LOOP_SIZE_MODELS = ("etm11", "exact")
#: The alternative iron parametrisation (the seed's Figs. 16-18): total iron and the Fe2+ fraction,
#: ``n_Fe2 = x n_Fe``, ``n_Fe3 = (1 - x) n_Fe``.
IRON_TOTAL_NAMES = ("n_Fe_total_per_g", "x_Fe2")
#: The parameters of Eq. 16, which replace ``delta_mu_K`` (Eq. 15) when given.
EQ16_NAMES = ("gamma", "E0_K")
_CHI_L = "chi_L_emu_per_g_Oe"


def ll_parameter_names(species=DEFAULT_SPECIES):
    """The Larmor-Langevin parameters: each species' density, then ``chi_L_emu_per_g_Oe`` (the model
    is linear in them)."""
    return density_parameter_names(species) + (_CHI_L,)


def _loop_size_names(species):
    """The parameters of the models that need the loop size (Table 3's with charge_area_A2 before delta_mu_K)."""
    return parameter_names(species)[:-1] + ("charge_area_A2", "delta_mu_K")


def all_parameter_names(species=DEFAULT_SPECIES):
    """Every parameter name a model may report for ``species`` (the total-iron names only for Fe2+ and Fe3+)."""
    return _loop_size_names(species) + EQ16_NAMES + (IRON_TOTAL_NAMES if is_iron_pair(species) else ())


def temperature_law(names):
    """``"eq15"``, ``"eq16"`` or None: which temperature dependence a set of parameter names switches on.

    Raises
    ------
    FitError
        Both laws at once, or only one of ``gamma`` and ``E0_K``.
    """
    names = set(names)
    eq16 = [n for n in EQ16_NAMES if n in names]
    if eq16 and "delta_mu_K" in names:
        raise FitError("give either delta_mu_K (Eq. 15) or gamma and E0_K (Eq. 16), not both")
    if eq16 and len(eq16) != len(EQ16_NAMES):
        missing = next(n for n in EQ16_NAMES if n not in names)
        raise FitError(f"Eq. 16 needs both gamma and E0_K; {missing} is missing")
    return "eq16" if eq16 else ("eq15" if "delta_mu_K" in names else None)


def tunnelling_ratio(parameters, temperature_K, T0_K, derivatives=False):
    """``r = N_tunn(T)/N_tunn(T0)`` of Eq. 15 or Eq. 16 from a parameter mapping, or None (neither).

    Parameters
    ----------
    parameters : mapping
        With ``delta_mu_K`` (Eq. 15: ``r = exp(delta_mu (1/T0 - 1/T))``) or ``gamma`` and ``E0_K``
        (Eq. 16: ``r = (1 - gamma e^{E0/T}) / (1 - gamma e^{E0/T0})``); None values count as absent.
    temperature_K : numpy.ndarray
    T0_K : float
    derivatives : bool, optional
        Also return ``{name: d ln r / d name}`` (arrays like ``temperature_K``).

    Returns
    -------
    r : numpy.ndarray or None
    d_ln_r : dict (only with ``derivatives``)

    Raises
    ------
    ValueError
        Eq. 16 with ``1 - gamma exp(E0/T) <= 0`` at some ``T`` or at ``T0`` (no tunnelling units left),
        or ``gamma < 0``.
    """
    present = {n for n in ("delta_mu_K",) + EQ16_NAMES if parameters.get(n) is not None}
    law = temperature_law(present)
    T = np.asarray(temperature_K, dtype=float)
    if law is None:
        return (None, {}) if derivatives else None
    if law == "eq15":
        r = tunnelling_number_ratio(T, parameters["delta_mu_K"], T0_K)  # the ensemble's evaluation
        return (r, {"delta_mu_K": (T - T0_K) / (T * T0_K)}) if derivatives else r
    gamma, E0 = parameters["gamma"], parameters["E0_K"]
    if not gamma >= 0:
        raise ValueError(f"gamma must be >= 0 (Eq. 16), got {gamma!r}")
    if gamma == 0:  # N_tunn constant; exp(E0/T) may overflow but is multiplied by 0
        e, e0 = np.exp(np.minimum(E0 / T, 700.0)), math.exp(min(E0 / T0_K, 700.0))
        r = np.ones_like(T)
        return (r, {"gamma": -e + e0, "E0_K": np.zeros_like(T)}) if derivatives else r
    with np.errstate(over="ignore"):
        e, e0 = np.exp(E0 / T), np.exp(E0 / T0_K)
    num, den = 1.0 - gamma * e, 1.0 - gamma * e0
    if not (np.all(num > 0) and den > 0):
        raise ValueError("Eq. 16: 1 - gamma exp(E0/T) must stay > 0 at every temperature and at T0 "
                         f"(gamma = {gamma!r}, E0_K = {E0!r})")
    r = num / den
    if not derivatives:
        return r
    d_gamma = -e / num + e0 / den
    d_E0 = -gamma * e / (T * num) + gamma * e0 / (T0_K * den)
    return r, {"gamma": d_gamma, "E0_K": d_E0}


_LL_NAMES = ll_parameter_names(DEFAULT_SPECIES)
#: Every parameter name a model may report with the default species.
ALL_PARAMETER_NAMES = all_parameter_names(DEFAULT_SPECIES)


class FitError(ValueError):
    """A fit cannot be set up (bad model, parameter name, starting value or bound)."""


def _species(species):
    """:func:`tunnelsim.ions.check_species` raising :class:`FitError`."""
    try:
        return check_species(species)
    except ValueError as exc:
        raise FitError(str(exc)) from None


def check_iron_total(species, what="n_Fe_total_per_g / x_Fe2"):
    """Refuse the total-iron parametrisation unless the species are exactly Fe2+ and Fe3+ (FitError, one line)."""
    species = _species(species)
    if not is_iron_pair(species):
        raise FitError(f"{what}: the total-iron parametrisation needs exactly the species Fe2+ and Fe3+, got "
                       f"{describe_species(species)}")
    return species


def _check_model(model):
    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")


def unknown_parameter_message(name, species=DEFAULT_SPECIES):
    """The one-line message for a parameter name no model of ``species`` has (a density of a species not
    listed is named as such)."""
    species = _species(species)
    if name in IRON_TOTAL_NAMES:
        return (f"unknown parameter {name!r}: the total-iron parametrisation needs exactly the species Fe2+ and "
                f"Fe3+, got {describe_species(species)}")
    if name.startswith("n_") and name.endswith("_per_g"):
        return (f"unknown parameter {name!r}: not a density of the species {', '.join(s.name for s in species)} "
                f"(theirs: {', '.join(density_parameter_names(species))}); list its species in settings.species "
                "or --species")
    return f"unknown parameter {name!r}; expected one of {', '.join(all_parameter_names(species))}"


def iron_densities(parameters):
    """``(n_Fe2_per_g, n_Fe3_per_g)`` from either parametrisation (species densities, or
    ``n_Fe_total_per_g`` and the Fe2+ fraction ``x_Fe2``)."""
    if "x_Fe2" in parameters:
        total, x = parameters["n_Fe_total_per_g"], parameters["x_Fe2"]
        return x * total, (1.0 - x) * total
    return parameters["n_Fe2_per_g"], parameters["n_Fe3_per_g"]


def species_densities(parameters, species=DEFAULT_SPECIES):
    """The density of each species, in order: ``parameters[n_<tag>_per_g]``, or for Fe2+ and Fe3+ also
    from ``n_Fe_total_per_g`` and ``x_Fe2`` (:func:`iron_densities`)."""
    species = _species(species)
    names = density_parameter_names(species)
    if "x_Fe2" in parameters:
        check_iron_total(species, "x_Fe2")
        n2, n3 = iron_densities(parameters)
        return tuple(n2 if name == "n_Fe2_per_g" else n3 for name in names)
    return tuple(parameters[name] for name in names)


def model_parameter_names(model, eq15=True, iron_total=False, species=DEFAULT_SPECIES, eq16=False):
    """The reported parameter names of a model, in the seed's Table 3 order (``charge_area_A2``
    before ``delta_mu_K`` for the models that need the loop size).

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    eq15 : bool, optional
        Include ``delta_mu_K`` (intrinsic models).
    iron_total : bool, optional
        Replace the two iron densities by ``n_Fe_total_per_g`` and ``x_Fe2`` (only for the species
        Fe2+ and Fe3+; :class:`FitError` otherwise).
    species : sequence of Species, optional
        The paramagnetic species (default Fe2+, Fe3+); their densities ``n_<tag>_per_g`` come first,
        in the species' order.
    eq16 : bool, optional
        Eq. 16 instead of Eq. 15: ``gamma`` and ``E0_K`` in place of ``delta_mu_K`` (intrinsic models).
    """
    _check_model(model)
    species = _species(species)
    if iron_total:
        check_iron_total(species)
        return IRON_TOTAL_NAMES + model_parameter_names(model, eq15, species=species, eq16=eq16)[len(species):]
    if eq16 and model != "ll":
        names = model_parameter_names(model, True, species=species)
        return names[:-1] + EQ16_NAMES
    if model == "ll":
        names = ll_parameter_names(species)
    elif model in LOOP_SIZE_MODELS:
        names = _loop_size_names(species)
    else:
        names = parameter_names(species)
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
        optionally ``delta_mu_K`` (Eq. 15) or ``gamma`` and ``E0_K`` (Eq. 16) (None or absent: off).
    T0_K : float, optional
        Reference temperature of Eqs. 15 and 16.
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
    r = tunnelling_ratio(parameters, T, T0_K)
    if r is not None:
        s = scale_parameters_by_ratio(r, D_min, a, b, charge_area_A2=qs)
        D_min, a, b, qs = s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2, s.charge_area_A2
    if model == "etm":
        return factor * etm.magnetization_etm(T, B, D_min, a, b, 1.0)
    return factor * etm.magnetization_etm_high_field(T, B, D_min, a, b, qs, 1.0)


def model_magnetization_emu_per_g(model, temperature_K, field_Oe, parameters, P_star=DEFAULT_P_STAR,
                                  T0_K=DEFAULT_T0_K, species=DEFAULT_SPECIES, eq10_prefactor="corrected"):
    """Eq. 17 for a model (:data:`MODELS`), emu/g.

    ``parameters`` by :func:`model_parameter_names` of ``species`` (default Fe2+, Fe3+; for those also
    ``n_Fe_total_per_g`` and ``x_Fe2``); ``eq10_prefactor`` as :func:`intrinsic_per_amplitude`.
    """
    _check_model(model)
    species = _species(species)
    if "x_Fe2" in parameters:
        densities = species_densities(parameters, species)
        parameters = {k: v for k, v in parameters.items() if k not in IRON_TOTAL_NAMES}
        parameters.update(zip(density_parameter_names(species), densities))
    if model == "etm" and _prefactor(model, eq10_prefactor) == 1.0 and not any(n in parameters for n in EQ16_NAMES):
        return total_magnetization_emu_per_g(temperature_K, field_Oe, parameters, P_star, T0_K, species)
    T = np.asarray(temperature_K, dtype=float)
    H = np.asarray(field_Oe, dtype=float)
    m = -parameters["chi_L_emu_per_g_Oe"] * H
    for key, s in zip(density_parameter_names(species), species):
        m = m + species_magnetization_emu_per_g(parameters[key], s, H, T)
    shape = np.broadcast_shapes(T.shape, H.shape)
    if model != "ll":
        T1, H1 = np.broadcast_arrays(T, H)
        unit = intrinsic_per_amplitude(model, T1, H1, parameters, T0_K, eq10_prefactor=eq10_prefactor)
        m = m + parameters["n_ATS_per_g"] * P_star * unit
    return np.broadcast_to(m, shape).copy()
