"""Paramagnetic ions of the Langevin term of Eq. 17: :class:`Species`, the table :data:`IONS`,
the parser :func:`parse_species` and the density parameter names.

A species enters Eq. 17 through its Landé ``g`` and total angular momentum ``J``
(:func:`tunnelsim.paramagnet.species_magnetization_emu_per_g`, a Brillouin function ``B_J``), and
a fit through one density parameter, ``n_<tag>_per_g`` (:func:`density_parameter_name`): the tag
is the name without its charge signs and any other non-alphanumeric character, so ``Fe2+`` gives
``n_Fe2_per_g`` and ``Gd3+`` gives ``n_Gd3_per_g``. The default, :data:`DEFAULT_SPECIES`
(Fe2+, Fe3+), gives the seed's ``n_Fe2_per_g`` and ``n_Fe3_per_g``.

**The table.** Each :class:`Ion` states the ground state its ``(g, J)`` come from:

* ``"spin-only"`` -- 3d ions in a solid, orbital moment quenched by the crystal field:
  ``L_eff = 0``, ``J = S``, ``g = 2`` (the free-electron value 2.0023 rounded to 2, as the seed
  does for iron). Fe2+ (3d6, S = 2), Fe3+ (3d5, S = 5/2), Mn2+ (3d5, S = 5/2), Cr3+ (3d3,
  S = 3/2), Ni2+ (3d8, S = 1), Cu2+ (3d9, S = 1/2) and high-spin Co2+ (3d7, S = 3/2). For the
  S-state ions (Fe3+, Mn2+; L = 0) this is the free-ion ground state too. Measured ``g`` are
  close to 2 for Cr3+ (1.98) and a little above it for Ni2+ (2.2-2.3) and Cu2+ (2.0-2.4,
  anisotropic); **Co2+** keeps a large unquenched orbital contribution in octahedral sites
  (effective moments 4.3-5.2 mu_B against the spin-only 3.87 mu_B; below ~30 K an effective
  spin 1/2 with ``g ~ 4.3``), so its spin-only entry is a lower bound on its moment: give
  ``Co2+:4.33:0.5`` (or the ``g`` and ``J`` of your own analysis) where that matters.
* ``"free-ion Hund's rule"`` -- 4f ions, whose 4f shell the crystal field barely touches: the
  Hund's-rule ``2S+1 L_J`` ground multiplet and Landé's
  ``g_J = 1 + [J(J+1) + S(S+1) - L(L+1)] / [2J(J+1)]``. Gd3+ (4f7, 8S7/2: L = 0, S = J = 7/2,
  g = 2), Er3+ (4f11, 4I15/2: L = 6, S = 3/2, J = 15/2, g = 6/5), Dy3+ (4f9, 6H15/2: L = 5,
  S = 5/2, J = 15/2, g = 4/3), Ce3+ (4f1, 2F5/2: L = 3, S = 1/2, J = 5/2, g = 6/7). At low
  temperature the crystal field splits the multiplet (for Er3+, Dy3+, Ce3+ by 10-100 K): the
  free-ion Brillouin form then holds only above that splitting.

Other ions, or other ``g`` and ``J``, are given explicitly as ``NAME:g:J``
(:func:`parse_species`). This module imports nothing beyond the standard library, so the
command line can list the table without loading numpy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

__all__ = [
    "DEFAULT_SPECIES",
    "FE2",
    "FE3",
    "IONS",
    "Ion",
    "Species",
    "check_species",
    "density_parameter_name",
    "describe_species",
    "density_parameter_names",
    "is_iron_pair",
    "lande_g",
    "lookup_ion",
    "make_species",
    "parse_species",
    "table_text",
]


@dataclass(frozen=True)
class Species:
    """A paramagnetic ion: name, Landé ``g`` and total angular momentum ``J``.

    Attributes
    ----------
    name : str
        Also sets the density parameter of a fit, ``n_<tag>_per_g`` (:func:`density_parameter_name`).
    g : float
        Landé factor (> 0).
    J : float
        Angular momentum quantum number (> 0; a multiple of 1/2 for an ion, which
        :func:`make_species` and :func:`parse_species` require).
    """

    name: str
    g: float
    J: float

    def __post_init__(self):
        for field_name in ("g", "J"):
            value = getattr(self, field_name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    and value > 0):
                raise ValueError(f"{field_name} of species {self.name!r} must be a finite number > 0, got {value!r}")


def lande_g(L, S, J):
    """Landé factor ``g_J = 1 + [J(J+1) + S(S+1) - L(L+1)] / [2J(J+1)]`` (exact for rational arguments).

    Parameters
    ----------
    L, S, J : int, float or fractions.Fraction
        Orbital, spin and total angular momentum quantum numbers (``J > 0``).
    """
    L, S, J = (Fraction(v) for v in (L, S, J))
    if not J > 0:
        raise ValueError(f"J must be > 0, got {J}")
    return 1 + (J * (J + 1) + S * (S + 1) - L * (L + 1)) / (2 * J * (J + 1))


@dataclass(frozen=True)
class Ion:
    """An entry of :data:`IONS`: the ground state its ``g`` and ``J`` come from.

    Attributes
    ----------
    name : str
        E.g. ``"Fe3+"``.
    configuration : str
        Open shell, e.g. ``"3d5"``.
    term : str
        Free-ion Hund's-rule ground term ``2S+1 L J``, e.g. ``"6S5/2"``.
    L, S, J : fractions.Fraction
        Quantum numbers of the state used: for ``"spin-only"`` the quenched ``L = 0`` and
        ``J = S``; for ``"free-ion Hund's rule"`` the free-ion ground multiplet.
    basis : str
        ``"spin-only"`` or ``"free-ion Hund's rule"``.
    note : str
        What the entry leaves out.
    """

    name: str
    configuration: str
    term: str
    L: Fraction
    S: Fraction
    J: Fraction
    basis: str
    note: str = ""

    @property
    def g(self):
        """Landé ``g_J`` of the state used (:func:`lande_g`), a Fraction."""
        return lande_g(self.L, self.S, self.J)

    @property
    def species(self):
        """The :class:`Species` ``(name, g, J)``."""
        return Species(self.name, float(self.g), float(self.J))


_SPIN_ONLY, _FREE_ION = "spin-only", "free-ion Hund's rule"


def _spin_only(name, configuration, term, S, note=""):
    S = Fraction(S)
    return Ion(name, configuration, term, Fraction(0), S, S, _SPIN_ONLY, note)


def _free_ion(name, configuration, term, L, S, J, note=""):
    return Ion(name, configuration, term, Fraction(L), Fraction(S), Fraction(J), _FREE_ION, note)


_CF = "crystal-field splitting of the multiplet ignored"
#: The paramagnetic ions known by name (see the module docstring), in this order.
IONS = MappingProxyType({ion.name: ion for ion in (
    _spin_only("Fe2+", "3d6", "5D4", "2", "orbital moment quenched"),
    _spin_only("Fe3+", "3d5", "6S5/2", "5/2", "S state: spin-only is the free-ion ground state"),
    _spin_only("Mn2+", "3d5", "6S5/2", "5/2", "S state: spin-only is the free-ion ground state"),
    _spin_only("Cr3+", "3d3", "4F3/2", "3/2", "orbital moment quenched (measured g about 1.98)"),
    _spin_only("Ni2+", "3d8", "3F4", "1", "orbital moment quenched (measured g 2.2-2.3)"),
    _spin_only("Cu2+", "3d9", "2D5/2", "1/2", "orbital moment quenched (measured g 2.0-2.4, anisotropic)"),
    _spin_only("Co2+", "3d7", "4F9/2", "3/2", "high spin; the unquenched orbital moment (effective spin 1/2, "
               "g about 4.3 at low T) is left out"),
    _free_ion("Gd3+", "4f7", "8S7/2", 0, "7/2", "7/2", "S state"),
    _free_ion("Er3+", "4f11", "4I15/2", 6, "3/2", "15/2", _CF),
    _free_ion("Dy3+", "4f9", "6H15/2", 5, "5/2", "15/2", _CF),
    _free_ion("Ce3+", "4f1", "2F5/2", 3, "1/2", "5/2", _CF),
)})

#: Spin-only Fe2+ (3d6, S = 2).
FE2 = IONS["Fe2+"].species
#: Spin-only Fe3+ (3d5, S = 5/2).
FE3 = IONS["Fe3+"].species
#: The species of the seed's Eq. 17: Fe2+ and Fe3+ (densities ``n_Fe2_per_g``, ``n_Fe3_per_g``).
DEFAULT_SPECIES = (FE2, FE3)
#: Density names the species may not take (they mean something else in Eq. 17).
_RESERVED_TAGS = ("ats", "fetotal")


def _tag(name):
    return re.sub(r"[^0-9A-Za-z]", "", str(name))


def density_parameter_name(species):
    """The density parameter of a species: ``n_<tag>_per_g`` (``Fe2+`` -> ``n_Fe2_per_g``).

    The tag is the name without ``+``/``-`` and any other non-alphanumeric character.

    Raises
    ------
    ValueError
        A name without a letter or digit, or one whose tag is reserved (``ATS``, ``Fe_total``).
    """
    name = species.name if isinstance(species, Species) else species
    tag = _tag(name)
    if not tag:
        raise ValueError(f"species name {name!r}: needs a letter or digit (the density is named n_<name>_per_g)")
    if tag.lower() in _RESERVED_TAGS:
        raise ValueError(f"species name {name!r}: n_{tag}_per_g is reserved for another Eq. 17 parameter; "
                         "choose another name")
    return f"n_{tag}_per_g"


def check_species(species):
    """A tuple of at least one :class:`Species` with distinct density names, or ValueError (one line)."""
    if isinstance(species, Species):
        species = (species,)
    try:
        species = tuple(species)
    except TypeError:
        raise ValueError(f"species must be a sequence of Species, got {species!r}") from None
    if not species:
        raise ValueError("species: give at least one paramagnetic species")
    seen = {}
    for s in species:
        if not isinstance(s, Species):
            raise ValueError(f"species must be Species, got {s!r}")
        name = density_parameter_name(s)
        if name in seen:
            raise ValueError(f"species {seen[name]!r} and {s.name!r} are listed twice (both have the density {name})")
        seen[name] = s.name
    return species


def density_parameter_names(species):
    """``n_<tag>_per_g`` of each species, in order (after :func:`check_species`)."""
    return tuple(density_parameter_name(s) for s in check_species(species))


def is_iron_pair(species):
    """Whether the species are exactly Fe2+ and Fe3+ (any order, any ``g``/``J``): the case the
    total-iron parametrisation (``n_Fe_total_per_g``, ``x_Fe2``) is defined for."""
    return sorted(density_parameter_names(species)) == ["n_Fe2_per_g", "n_Fe3_per_g"]


def _half_integer(value, what):
    """``value`` (number or text such as ``"3/2"``) as a positive multiple of 1/2 (float)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        j = Fraction(value.strip()) if isinstance(value, str) else Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"{what}: J must be a number, got {value!r}") from None
    if not (j > 0 and (2 * j).denominator == 1):
        raise ValueError(f"{what}: J must be a positive multiple of 1/2, got {value!r}")
    return float(j)


def _number(text):
    """``"2.1"``, ``"6/7"``, ``"nan"`` -> float."""
    try:
        return float(text)
    except ValueError:
        return float(Fraction(text))


def make_species(name, g, J):
    """A :class:`Species` from explicit values, checked as :func:`parse_species` checks them.

    ``g`` a finite number > 0; ``J`` a positive multiple of 1/2 (a number or text such as ``"3/2"``).
    """
    name = str(name).strip()
    what = f"species {name!r}"
    density_parameter_name(name)
    try:
        if isinstance(g, bool):
            raise ValueError
        g_value = _number(g.strip()) if isinstance(g, str) else float(g)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ValueError(f"{what}: g must be a number, got {g!r}") from None
    if not (math.isfinite(g_value) and g_value > 0):
        raise ValueError(f"{what}: g must be a finite number > 0, got {g!r}")
    return Species(name, g_value, _half_integer(J, what))


def table_text():
    """The table's names, comma-separated, for help texts and error messages."""
    return ", ".join(IONS)


def lookup_ion(name):
    """The :class:`Ion` of a table name (case-insensitive; the tag, e.g. ``Gd3``, also works)."""
    text = str(name).strip()
    for key, ion in IONS.items():
        if text.lower() in (key.lower(), _tag(key).lower()):
            return ion
    raise ValueError(f"unknown species {text!r}; the table has {table_text()} (or give NAME:g:J)")


def parse_species(text):
    """Species from a comma-separated list: table names and explicit ``NAME:g:J`` entries.

    ``"Fe2+,Fe3+"`` (the default), ``"Gd3+"``, ``"Fe3+,X:2.1:1.5"``, ``"Co2+:4.33:1/2"``.

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of Species
        In the order given.

    Raises
    ------
    ValueError
        One line: an unknown name (with the table's names), a bad ``g`` (must be > 0) or ``J``
        (a positive multiple of 1/2), an empty list or item, or a species listed twice.
    """
    items = [item.strip() for item in str(text).split(",")]
    if not any(items) or not all(items):
        raise ValueError(f"species: expected a comma-separated list of {table_text()} or NAME:g:J, got {text!r}")
    out = []
    for item in items:
        parts = [p.strip() for p in item.split(":")]
        if len(parts) == 1:
            out.append(lookup_ion(parts[0]).species)
        elif len(parts) == 3 and parts[0]:
            out.append(make_species(*parts))
        else:
            raise ValueError(f"species: expected a table name or NAME:g:J, got {item!r}")
    return check_species(out)


def describe_species(species):
    """``"Gd3+ (g = 2, J = 7/2)"``, comma-separated."""
    return ", ".join(f"{s.name} (g = {s.g:g}, J = {Fraction(s.J).limit_denominator(1000)})" for s in species)
