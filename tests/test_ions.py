"""Tests of the table of paramagnetic ions, the species parser and the density names (tunnelsim.ions)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from fractions import Fraction
from types import SimpleNamespace

import pytest

from tunnelsim import ions
from tunnelsim.cli._species import add_species_option, species_from_args, species_override

_L_LETTERS = "SPDFGHIKLMNOQ"  # spectroscopic letters, L = 0, 1, 2, ... (no J)


def hund_ground_state(configuration):
    """``(L, S, J)`` of a single open shell ``nl^k`` by Hund's rules, computed here from scratch:
    fill m_l = l, l-1, ..., -l with spin up, then spin down; J = |L - S| below half filling, L + S above."""
    shell, k = configuration[1], int(configuration[2:])
    l = "spdf".index(shell)
    m_values = list(range(l, -l - 1, -1))
    up = m_values[:min(k, 2 * l + 1)]
    down = m_values[:max(k - (2 * l + 1), 0)]
    S = Fraction(len(up) - len(down), 2)
    L = abs(sum(up) + sum(down))
    J = abs(L - S) if k < 2 * l + 1 else L + S
    return Fraction(L), S, J


def parse_term(term):
    """``"6S5/2"`` -> ``(L, S, J)``."""
    digits = 0
    while term[digits].isdigit():
        digits += 1
    multiplicity, letter, J = int(term[:digits]), term[digits], Fraction(term[digits + 1:])
    return Fraction(_L_LETTERS.index(letter)), Fraction(multiplicity - 1, 2), J


def g_lande(L, S, J):
    """Landé's formula, written out independently of ions.lande_g."""
    return Fraction(3, 2) + (S * (S + 1) - L * (L + 1)) / (2 * J * (J + 1))


ION_PARAMS = [pytest.param(ion, id=name) for name, ion in ions.IONS.items()]


@pytest.mark.parametrize("ion", ION_PARAMS)
def test_table_term_is_the_hund_ground_state(ion):
    """The free-ion term of every entry is the Hund's-rule ground state of its configuration (exact)."""
    assert parse_term(ion.term) == hund_ground_state(ion.configuration)


@pytest.mark.parametrize("ion", ION_PARAMS)
def test_table_g_is_lande_g_of_the_stated_state(ion):
    """g of the table = g_J(L, S, J) of the stated state (exact); spin-only: L = 0, J = S, g = 2;
    free ion: (L, S, J) the Hund's-rule ground state."""
    free_L, free_S, free_J = hund_ground_state(ion.configuration)
    if ion.basis == "spin-only":
        assert (ion.L, ion.S, ion.J) == (0, free_S, free_S)
        assert ion.g == 2
    else:
        assert ion.basis == "free-ion Hund's rule"
        assert (ion.L, ion.S, ion.J) == (free_L, free_S, free_J)
    assert ion.g == g_lande(ion.L, ion.S, ion.J) == ions.lande_g(ion.L, ion.S, ion.J)
    assert ion.species == ions.Species(ion.name, float(ion.g), float(ion.J))


@pytest.mark.parametrize("name, g, J", [
    pytest.param("Fe2+", 2, 2, id="Fe2"), pytest.param("Fe3+", 2, Fraction(5, 2), id="Fe3"),
    pytest.param("Mn2+", 2, Fraction(5, 2), id="Mn2"), pytest.param("Gd3+", 2, Fraction(7, 2), id="Gd3"),
    pytest.param("Cr3+", 2, Fraction(3, 2), id="Cr3"), pytest.param("Cu2+", 2, Fraction(1, 2), id="Cu2"),
    pytest.param("Ni2+", 2, 1, id="Ni2"), pytest.param("Co2+", 2, Fraction(3, 2), id="Co2"),
    pytest.param("Er3+", Fraction(6, 5), Fraction(15, 2), id="Er3"),
    pytest.param("Dy3+", Fraction(4, 3), Fraction(15, 2), id="Dy3"),
    pytest.param("Ce3+", Fraction(6, 7), Fraction(5, 2), id="Ce3"),
])
def test_table_values_as_stated_in_the_brief(name, g, J):
    ion = ions.IONS[name]
    assert (ion.g, ion.J) == (g, J)


def test_default_species_keep_the_seeds_names():
    assert ions.DEFAULT_SPECIES == (ions.Species("Fe2+", 2.0, 2.0), ions.Species("Fe3+", 2.0, 2.5))
    assert ions.density_parameter_names(ions.DEFAULT_SPECIES) == ("n_Fe2_per_g", "n_Fe3_per_g")
    assert ions.is_iron_pair(ions.DEFAULT_SPECIES) and ions.is_iron_pair((ions.FE3, ions.FE2))
    assert not ions.is_iron_pair((ions.FE3,)) and not ions.is_iron_pair(ions.parse_species("Fe2+,Fe3+,Gd3+"))


@pytest.mark.parametrize("name, expected", [
    pytest.param("Fe2+", "n_Fe2_per_g", id="Fe2"), pytest.param("Gd3+", "n_Gd3_per_g", id="Gd3"),
    pytest.param("Cl-", "n_Cl_per_g", id="minus"), pytest.param("X_1 (a)", "n_X1a_per_g", id="punctuation"),
])
def test_density_parameter_name(name, expected):
    assert ions.density_parameter_name(ions.Species(name, 2.0, 0.5)) == expected


@pytest.mark.parametrize("text, expected", [
    pytest.param("Fe2+,Fe3+", ions.DEFAULT_SPECIES, id="default"),
    pytest.param("Gd3+", (ions.IONS["Gd3+"].species,), id="one"),
    pytest.param(" gd3+ , Mn2 ", (ions.IONS["Gd3+"].species, ions.IONS["Mn2+"].species), id="case-and-tag"),
    pytest.param("X:2.1:1.5", (ions.Species("X", 2.1, 1.5),), id="explicit"),
    pytest.param("Y:6/7:5/2", (ions.Species("Y", 6 / 7, 2.5),), id="fractions"),
    pytest.param("Fe3+,Co2+:4.33:1/2", (ions.FE3, ions.Species("Co2+", 4.33, 0.5)), id="override-table"),
])
def test_parse_species(text, expected):
    assert ions.parse_species(text) == expected


@pytest.mark.parametrize("text, fragment", [
    pytest.param("Fe4+", "unknown species 'Fe4+'; the table has Fe2+, Fe3+, Mn2+", id="unknown"),
    pytest.param("Fe2+,Fe2+", "listed twice", id="duplicate"),
    pytest.param("Fe2+,Fe2:2:2", "listed twice", id="duplicate-tag"),
    pytest.param("X:2:1.3", "J must be a positive multiple of 1/2", id="J-not-half"),
    pytest.param("X:2:0", "J must be a positive multiple of 1/2", id="J-zero"),
    pytest.param("X:2:-0.5", "J must be a positive multiple of 1/2", id="J-negative"),
    pytest.param("X:2:a", "J must be a number", id="J-text"),
    pytest.param("X:0:1", "g must be a finite number > 0", id="g-zero"),
    pytest.param("X:nan:1", "g must be a finite number > 0", id="g-nan"),
    pytest.param("X:inf:1", "g must be a finite number > 0", id="g-inf"),
    pytest.param("X:2", "NAME:g:J", id="arity"),
    pytest.param(":2:1", "NAME:g:J", id="no-name"),
    pytest.param("", "comma-separated list", id="empty"),
    pytest.param("Fe2+,", "comma-separated list", id="empty-item"),
    pytest.param("ATS:2:1", "reserved", id="reserved"),
    pytest.param("+:2:1", "needs a letter or digit", id="no-tag"),
])
def test_parse_species_errors_are_one_line(text, fragment):
    with pytest.raises(ValueError) as info:
        ions.parse_species(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_unknown_name_lists_the_whole_table():
    with pytest.raises(ValueError) as info:
        ions.parse_species("Pr3+")
    assert all(name in str(info.value) for name in ions.IONS)


def test_check_species():
    assert ions.check_species(ions.FE3) == (ions.FE3,)
    with pytest.raises(ValueError, match="at least one"):
        ions.check_species(())
    with pytest.raises(ValueError, match="must be Species"):
        ions.check_species(("Fe3+",))


# ------------------------------------------------------------------------------ the CLI hook
def _parser():
    return add_species_option(argparse.ArgumentParser(prog="x"))


def test_cli_option_wins_over_the_parameter_file():
    pf = SimpleNamespace(species=(ions.FE3,))
    assert species_from_args(_parser().parse_args([])) == ions.DEFAULT_SPECIES
    assert species_from_args(_parser().parse_args([]), pf) == (ions.FE3,)
    args = _parser().parse_args(["--species", "Gd3+,Er3+"])
    assert species_from_args(args, pf) == (ions.IONS["Gd3+"].species, ions.IONS["Er3+"].species)
    assert species_override(_parser().parse_args([])) is None


def test_cli_bad_species_is_one_line_naming_the_option():
    with pytest.raises(ValueError, match=r"^--species: unknown species 'Xx'"):
        species_from_args(_parser().parse_args(["--species", "Xx"]))


def test_cli_help_lists_the_table():
    text = " ".join(_parser().format_help().split())
    assert all(name in text for name in ions.IONS) and "NAME:g:J" in text


def test_cli_hook_and_table_import_no_numpy():
    code = ("import sys, argparse; from tunnelsim.cli._species import add_species_option; "
            "add_species_option(argparse.ArgumentParser()); import tunnelsim.ions; "
            "assert 'numpy' not in sys.modules, 'numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
