"""Larmor-Langevin paramagnetism and the full magnetisation model of Eq. 17.

``M(T, H) = -chi_L H + M_Fe(H/T) + M_intr(T, H)`` (Eq. 17), in emu/g with ``H`` in Oe
(``B = mu0 H``; 1e4 Oe is 1 T):

* Larmor: ``-chi_L H``, ``chi_L`` in emu g^-1 Oe^-1 (positive for a diamagnet);
* Langevin (the parent article's Eq. 1): ``sum_s n_s g_s mu_B J_s B_J(g_s mu_B J_s B / k_B T)``
  over the paramagnetic species, Brillouin function ``B_J``; spin-only Fe2+ (``g = 2``, ``J = 2``)
  and Fe3+ (``g = 2``, ``J = 5/2``) by default (:data:`DEFAULT_SPECIES`), any number of others
  from the table of :mod:`tunnelsim.ions` or explicit ``(g, J)``; the density of species ``s`` is
  the parameter ``n_<tag>_per_g`` (``Gd3+`` -> ``n_Gd3_per_g``, :func:`parameter_names`);
* intrinsic: the orientation-averaged, corrected Eq. 10 of :mod:`tunnelsim.etm`, with the
  Eq. 15 temperature dependence of the ETM parameters when ``delta_mu_K`` is given.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from fractions import Fraction

import numpy as np

from . import etm
from ._checks import as_positive_array, as_real_array, broadcast_batch
from .ions import DEFAULT_SPECIES, FE2, FE3, Species, check_species, density_parameter_names
from .units import (
    DEFAULT_P_STAR,
    DEFAULT_T0_K,
    MU_B_J_PER_T,
    MU_B_K_PER_T,
    j_per_t_to_emu,
    kelvin_per_tesla2_to_emu_per_oe,
    oe_to_tesla,
)

__all__ = [
    "DEFAULT_SPECIES",
    "FE2",
    "FE3",
    "PARAMETER_NAMES",
    "Species",
    "brillouin",
    "curie_constant_emu_K_per_g_Oe",
    "langevin",
    "larmor_emu_per_g",
    "parameter_names",
    "species_magnetization_emu_per_g",
    "total_magnetization_emu_per_g",
]

#: The Eq. 17 parameters after the species densities; ``delta_mu_K`` is optional.
_OTHER_NAMES = (
    "chi_L_emu_per_g_Oe",
    "n_ATS_per_g",
    "D_min_K",
    "D0QS_min_K_A2",
    "D0QS_max_K_A2",
    "delta_mu_K",
)
_OPTIONAL = ("delta_mu_K",)
#: Below this |y| the Langevin function is summed from its Taylor series.
_SERIES_LIMIT = 0.5
#: Beyond this |y|, L(y) = sign(y) (1 - 1/|y|) equals sign(y) to double precision.
_SATURATED = 1e300


@functools.lru_cache(maxsize=None)
def _langevin_series(n_terms=10):
    """Taylor coefficients of ``L(y) = coth y - 1/y = sum_n 2^(2n) B_2n y^(2n-1) / (2n)!`` (read-only).

    Bernoulli numbers from their recurrence in exact rational arithmetic
    (``scipy.special.bernoulli`` is only accurate to about 1e-12).
    """
    bernoulli = [Fraction(1)]
    for m in range(1, 2 * n_terms + 1):
        bernoulli.append(-sum(math.comb(m + 1, k) * bernoulli[k] for k in range(m)) / (m + 1))
    coeff = np.array([float(4**n * bernoulli[2 * n] / math.factorial(2 * n)) for n in range(1, n_terms + 1)])
    coeff.flags.writeable = False
    return coeff


def langevin(x):
    """Langevin function ``L(x) = coth x - 1/x``, vectorised and odd.

    Series for ``|x| < 0.5`` (``x/3 - x^3/45 + ...``, no cancellation), ``coth`` as ``1/tanh``
    above (no overflow at large ``|x|``; ``L -> sign(x)``).

    Parameters
    ----------
    x : array_like
        Real argument.

    Returns
    -------
    numpy.ndarray
    """
    x = as_real_array(x, "x")
    small = np.abs(x) < _SERIES_LIMIT
    xs = np.where(small, x, 0.0)
    series = xs * np.polynomial.polynomial.polyval(xs * xs, _langevin_series())
    # coth(y) = +-1 to double precision beyond |y| = 20; clipping |y| keeps 1/y normal
    xl = np.clip(np.where(small, 1.0, x), -_SATURATED, _SATURATED)
    return np.where(small, series, 1.0 / np.tanh(xl) - 1.0 / xl)


def brillouin(J, x):
    """Brillouin function ``B_J(x) = ((2J+1)/2J) coth((2J+1)x/2J) - (1/2J) coth(x/2J)``.

    Written as ``a L(a x) - b L(b x)`` with ``a = (2J+1)/(2J)``, ``b = 1/(2J)`` and the
    Langevin function ``L``: the ``1/x`` poles cancel exactly, so it is stable at small ``|x|``
    (``B_J -> (J+1) x / (3J)``) and at large ``|x|`` (``B_J -> sign(x)``), odd and vectorised.
    ``B_{1/2}(x) = tanh x``; ``B_J(x) -> L(x)`` as ``J -> inf``.

    Parameters
    ----------
    J : array_like
        Total angular momentum quantum number (> 0), broadcast against ``x``.
    x : array_like
        ``g mu_B J B / (k_B T)``.

    Returns
    -------
    numpy.ndarray
    """
    J = as_positive_array(J, "J")
    x = as_real_array(x, "x")
    a = (2.0 * J + 1.0) / (2.0 * J)
    b = 1.0 / (2.0 * J)
    x = np.clip(x, -_SATURATED, _SATURATED)  # B_J = +-1 exactly there; avoids overflow of a x
    return a * langevin(a * x) - b * langevin(b * x)


def _check_species(species):
    if not isinstance(species, Species):
        raise ValueError(f"species must be a Species, got {species!r}")
    return species


def species_magnetization_emu_per_g(n_per_g, species, field_Oe, temperature_K):
    """Langevin (Brillouin) magnetisation of one species, ``n g mu_B J B_J(g mu_B J B / k_B T)`` (emu/g).

    Parameters
    ----------
    n_per_g : array_like
        Ions per gram (>= 0).
    species : Species
    field_Oe : array_like
        ``H`` in Oe (``B = H / 1e4`` T); any sign.
    temperature_K : array_like
        Temperature (K, > 0).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the arguments.
    """
    s = _check_species(species)
    n = as_positive_array(n_per_g, "n_per_g", allow_zero=True)
    B = oe_to_tesla(as_real_array(field_Oe, "field_Oe"))
    T = as_positive_array(temperature_K, "temperature_K")
    x = s.g * MU_B_K_PER_T * s.J * B / T
    return j_per_t_to_emu(n * s.g * MU_B_J_PER_T * s.J * brillouin(s.J, x))


def larmor_emu_per_g(chi_L_emu_per_g_Oe, field_Oe):
    """Larmor (core diamagnetism) term ``-chi_L H`` of Eq. 17 (emu/g)."""
    return -as_real_array(chi_L_emu_per_g_Oe, "chi_L_emu_per_g_Oe") * as_real_array(field_Oe, "field_Oe")


def curie_constant_emu_K_per_g_Oe(n_per_g, species):
    """Curie constant ``C = n g^2 mu_B^2 J(J+1) / (3 k_B)`` in emu K g^-1 Oe^-1 (the ``C`` of Eqs. 14, 18).

    The weak-field limit of :func:`species_magnetization_emu_per_g` is ``C H / T``.
    """
    s = _check_species(species)
    n = as_positive_array(n_per_g, "n_per_g", allow_zero=True)
    return kelvin_per_tesla2_to_emu_per_oe(n * s.g**2 * MU_B_K_PER_T**2 * s.J * (s.J + 1.0) / 3.0)


def parameter_names(species=DEFAULT_SPECIES):
    """The Eq. 17 parameters for ``species``: their densities ``n_<tag>_per_g`` (in the species' order),
    then ``chi_L_emu_per_g_Oe``, ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2`` and
    the optional ``delta_mu_K``. The default species give :data:`PARAMETER_NAMES` (the seed's Table 3)."""
    return density_parameter_names(species) + _OTHER_NAMES


#: Names of the Eq. 17 parameters with the default species (the seed's Table 3); ``delta_mu_K`` is optional.
PARAMETER_NAMES = parameter_names(DEFAULT_SPECIES)


def _parameters(params, names):
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping of {', '.join(names)}, got {type(params).__name__}")
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"params: unknown parameter {unknown[0]!r}; expected {', '.join(names)}")
    missing = [k for k in names if k not in params and k not in _OPTIONAL]
    if missing:
        raise ValueError(f"params: missing parameter {missing[0]!r}")
    return params


def total_magnetization_emu_per_g(temperature_K, field_Oe, params, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                                  species=DEFAULT_SPECIES):
    """Eq. 17: ``M = -chi_L H + M_Fe(H/T) + M_intr(T, H)`` in emu/g.

    Parameters
    ----------
    temperature_K : array_like
        Temperatures (K, > 0).
    field_Oe : array_like
        Fields ``H`` (Oe), same shape as (or broadcastable with) ``temperature_K``.
    params : mapping
        The seed's Table 3 names (:func:`parameter_names`): the density ``n_<tag>_per_g`` of each
        species (``n_Fe2_per_g``, ``n_Fe3_per_g`` by default), ``chi_L_emu_per_g_Oe``, ``n_ATS_per_g``, ``D_min_K``,
        ``D0QS_min_K_A2``, ``D0QS_max_K_A2`` and optionally ``delta_mu_K`` (Eq. 15: ``D_min``
        and the ``D0QS`` products are then values at ``T0_K`` and scale as ``r`` and ``r^3``).
    P_star : float, optional
        ``P*`` of Eq. 8; only ``n_ATS P*`` enters (default ``1/(2 pi)``, the seed's "in practice").
    T0_K : float, optional
        Reference temperature of Eq. 15.
    species : sequence of Species, optional
        The paramagnetic species (at least one; default Fe2+ and Fe3+, spin-only); each one's
        density is the parameter named after it (:func:`tunnelsim.ions.density_parameter_name`).

    Returns
    -------
    numpy.ndarray
        Broadcast shape of ``temperature_K`` and ``field_Oe``.
    """
    species = check_species(species)
    p = _parameters(params, parameter_names(species))
    T = as_positive_array(temperature_K, "temperature_K")
    H = as_real_array(field_Oe, "field_Oe")
    shape = broadcast_batch(temperature_K=T.shape, field_Oe=H.shape)
    P = float(as_positive_array(P_star, "P_star"))
    m = larmor_emu_per_g(p["chi_L_emu_per_g_Oe"], H)
    for key, s in zip(density_parameter_names(species), species):
        m = m + species_magnetization_emu_per_g(as_positive_array(p[key], key, allow_zero=True), s, H, T)
    D_min, a1, a2 = p["D_min_K"], p["D0QS_min_K_A2"], p["D0QS_max_K_A2"]
    if p.get("delta_mu_K") is not None:
        scaled = etm.scaled_parameters(T, D_min, a1, a2, p["delta_mu_K"], T0_K)
        D_min, a1, a2 = scaled.D_min_K, scaled.D0QS_min_K_A2, scaled.D0QS_max_K_A2
    amplitude = as_positive_array(p["n_ATS_per_g"], "n_ATS_per_g", allow_zero=True) * P
    m = m + etm.magnetization_etm(T, oe_to_tesla(H), D_min, a1, a2, amplitude)
    return np.broadcast_to(m, shape).copy()
