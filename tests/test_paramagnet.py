"""Tests of the Larmor-Langevin paramagnet and the Eq. 17 model (tunnelsim.paramagnet)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import constants

from tunnelsim import etm, ions
from tunnelsim import paramagnet as pm

J_VALUES = [pytest.param(J, id=f"J{J:g}") for J in (0.5, 1.0, 1.5, 2.0, 2.5, 3.5, 7.5)]
#: The seed's Table 3 (BK7, constant-H fits).
TABLE3 = {
    "n_Fe2_per_g": 1.099e17,
    "n_Fe3_per_g": 0.599e17,
    "chi_L_emu_per_g_Oe": 4.227e-7,
    "n_ATS_per_g": 1.352e16,
    "D_min_K": 2.671e-2,
    "D0QS_min_K_A2": 2.717e5,
    "D0QS_max_K_A2": 2.925e5,
    "delta_mu_K": 0.319,
}
#: Bohr magneton in emu (erg/G), from scipy.constants, independent of tunnelsim.units.
MU_B_EMU = constants.physical_constants["Bohr magneton"][0] * 1e3


def approx(expected, rel=None, abs=0.0):
    """``pytest.approx`` without its default absolute tolerance of 1e-12."""
    return pytest.approx(expected, rel=rel, abs=abs)


def brillouin_direct(J, x):
    """The textbook coth form, for |x| away from 0."""
    a, b = (2 * J + 1) / (2 * J), 1 / (2 * J)
    return a / np.tanh(a * x) - b / np.tanh(b * x)


# ------------------------------------------------------------------------------- Brillouin
@given(st.floats(min_value=-700.0, max_value=700.0, allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_brillouin_half_is_tanh(x):
    """B_{1/2}(x) = tanh x to 4 ulp-scale relative error (rtol 1e-14, atol 1e-300)."""
    assert float(pm.brillouin(0.5, x)) == pytest.approx(math.tanh(x), rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("J", J_VALUES)
def test_brillouin_odd_and_matches_direct_form(J):
    """Odd exactly; equals the coth form where that is accurate (|x| in [0.3, 30], rtol 1e-12)."""
    x = np.concatenate([np.geomspace(1e-12, 1e3, 400), [0.5 * 2 * J / (2 * J + 1), 0.5 * 2 * J]])
    np.testing.assert_array_equal(pm.brillouin(J, -x), -pm.brillouin(J, x))
    mid = np.geomspace(0.3, 30.0, 50)
    np.testing.assert_allclose(pm.brillouin(J, mid), brillouin_direct(J, mid), rtol=1e-12)


@pytest.mark.parametrize("J", J_VALUES)
def test_brillouin_curie_limit(J):
    """B_J(x)/x -> (J+1)/(3J) as x -> 0 (rtol 1e-12 at x = 1e-7); Taylor polynomial at x = 1e-2 (rtol 1e-12).

    From the coth form: B_J = a L(ax) - b L(bx), L(y) = y/3 - y^3/45 + 2y^5/945 - ..., a = (2J+1)/2J, b = 1/2J.
    """
    assert float(pm.brillouin(J, 1e-7)) / 1e-7 == approx((J + 1) / (3 * J), rel=1e-12)
    a, b, x = (2 * J + 1) / (2 * J), 1 / (2 * J), 1e-2
    taylor = (a**2 - b**2) * x / 3 - (a**4 - b**4) * x**3 / 45 + 2 * (a**6 - b**6) * x**5 / 945
    assert float(pm.brillouin(J, x)) == approx(taylor, rel=1e-12)


@pytest.mark.parametrize("J", J_VALUES)
def test_brillouin_saturation_without_overflow(J):
    """B_J -> 1 exponentially (the 1/x terms of a L(ax) - b L(bx) cancel).

    With coth y = 1 + 2 sum_k e^{-2ky}: 1 - B_J = 2 sum_k (b e^{-2kbx} - a e^{-2kax}); checked at
    2bx = 12 (rtol 1e-8 on 1 - B_J ~ 1e-6), +-1 to 1e-15 from x = 1e3 up to 1e308, no warnings.
    """
    a, b = (2 * J + 1) / (2 * J), 1 / (2 * J)
    x = 12 / (2 * b)
    with np.errstate(all="raise"):
        big = pm.brillouin(J, np.array([x, 1e3, 1e6, 1e308, -1e308]))
    tail = 2 * sum(b * math.exp(-2 * k * b * x) - a * math.exp(-2 * k * a * x) for k in range(1, 6))
    assert 1 - big[0] == approx(tail, rel=1e-8)
    assert big[1] == approx(1.0, rel=1e-15)
    np.testing.assert_allclose(big[2:], [1.0, 1.0, -1.0], rtol=1e-15)


def test_brillouin_large_J_is_langevin():
    """B_J(x) -> L(x) as J -> inf (rtol 1e-5 at J = 1e5)."""
    x = np.linspace(0.01, 20, 50)
    np.testing.assert_allclose(pm.brillouin(1e5, x), pm.langevin(x), rtol=1e-5)


def test_langevin_limits():
    """L(x) = x/3 at small x (rtol 1e-12), 1 - 1/x at large x (rtol 1e-14), odd, continuous across 0.5."""
    assert float(pm.langevin(1e-6)) == approx(1e-6 / 3, rel=1e-12)
    assert float(pm.langevin(200.0)) == approx(1 - 1 / 200.0, rel=1e-14)
    x = np.array([0.3, 0.5 - 1e-9, 0.5, 0.5 + 1e-9, 0.7])  # series below 0.5, coth form above
    np.testing.assert_allclose(pm.langevin(x), 1 / np.tanh(x) - 1 / x, rtol=1e-13)
    np.testing.assert_array_equal(pm.langevin(-x), -pm.langevin(x))
    with np.errstate(all="raise"):
        assert float(pm.langevin(1e308)) == 1.0


# ------------------------------------------------------------------- species and constants
def test_species_are_spin_only_and_configurable():
    assert (pm.FE3.g, pm.FE3.J) == (2.0, 2.5)
    assert (pm.FE2.g, pm.FE2.J) == (2.0, 2.0)
    custom = dataclasses.replace(pm.FE2, g=2.2)
    assert custom.g == 2.2
    with pytest.raises(ValueError, match="J"):
        pm.Species("bad", 2.0, 0.0)
    with pytest.raises(ValueError, match="g"):
        pm.Species("bad", math.nan, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pm.FE3.J = 3.0


def test_curie_constant_ratio_fe2_fe3():
    """C(Fe3+)/C(Fe2+) per ion = (35/4)/6 = 35/24: the n(Fe2+)/n(Fe3+) of equal Curie constants (1e-14)."""
    ratio = pm.curie_constant_emu_K_per_g_Oe(1.0, pm.FE3) / pm.curie_constant_emu_K_per_g_Oe(1.0, pm.FE2)
    assert float(ratio) == approx(35 / 24, rel=1e-14)


@pytest.mark.parametrize("species", [pytest.param(pm.FE2, id="Fe2"), pytest.param(pm.FE3, id="Fe3")])
def test_species_weak_field_is_curie_law(species):
    """M T / H -> C at small H/T (rtol 1e-8 at H = 1 Oe, T = 300 K), C from scipy.constants independently."""
    n, H, T = 1e17, 1.0, 300.0
    m = float(pm.species_magnetization_emu_per_g(n, species, H, T))
    C = float(pm.curie_constant_emu_K_per_g_Oe(n, species))
    assert m * T / H == approx(C, rel=1e-8)
    mu_B, k_B = constants.physical_constants["Bohr magneton"][0], constants.k
    C_cgs = n * species.g**2 * mu_B**2 * species.J * (species.J + 1) / (3 * k_B) * 1e3 / 1e4
    assert C == approx(C_cgs, rel=1e-12)


@pytest.mark.parametrize("species", [pytest.param(pm.FE2, id="Fe2"), pytest.param(pm.FE3, id="Fe3")])
def test_species_saturation(species):
    """At H/T = 1e6 Oe/K, M = n g mu_B J (emu) to rtol 1e-5; odd in H."""
    n = 1.657e17
    m = pm.species_magnetization_emu_per_g(n, species, np.array([1e6, -1e6]), 1.0)
    assert m[0] == approx(n * species.g * MU_B_EMU * species.J, rel=1e-5)
    assert m[1] == -m[0]


def test_larmor():
    np.testing.assert_array_equal(pm.larmor_emu_per_g(4.227e-7, np.array([0.0, 1e4])), [0.0, -4.227e-3])


# ---------------------------------------------------------------------------------- Eq. 17
def test_total_is_sum_of_terms():
    """Eq. 17 equals -chi_L H + Fe2 + Fe3 + scaled orientation-averaged Eq. 10 (rtol 1e-13), shape kept."""
    T = np.array([[2.0, 4.5, 20.0], [300.0, 7.5, 10.0]])
    H = np.array([[1e3, 3e4, 6.5e4], [5e4, 0.0, 2.5e3]])
    got = pm.total_magnetization_emu_per_g(T, H, TABLE3)
    s = etm.scaled_parameters(T, TABLE3["D_min_K"], TABLE3["D0QS_min_K_A2"], TABLE3["D0QS_max_K_A2"],
                              TABLE3["delta_mu_K"], 1.26)
    expected = (-TABLE3["chi_L_emu_per_g_Oe"] * H
                + pm.species_magnetization_emu_per_g(TABLE3["n_Fe2_per_g"], pm.FE2, H, T)
                + pm.species_magnetization_emu_per_g(TABLE3["n_Fe3_per_g"], pm.FE3, H, T)
                + etm.magnetization_etm(T, H / 1e4, s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2,
                                        TABLE3["n_ATS_per_g"] / (2 * math.pi)))
    assert got.shape == T.shape
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert got[1, 1] == 0.0


def test_total_without_temperature_dependence_uses_parameters_as_given():
    """No delta_mu: the ETM parameters are not scaled (rtol 1e-13), and the result differs from the scaled one."""
    params = {k: v for k, v in TABLE3.items() if k != "delta_mu_K"}
    T, H = np.array([2.0, 20.0]), np.array([3e4, 3e4])
    got = pm.total_magnetization_emu_per_g(T, H, params)
    intr = etm.magnetization_etm(T, 3.0, params["D_min_K"], params["D0QS_min_K_A2"], params["D0QS_max_K_A2"],
                                 params["n_ATS_per_g"] / (2 * math.pi))
    rest = pm.total_magnetization_emu_per_g(T, H, {**params, "n_ATS_per_g": 0.0})
    np.testing.assert_allclose(got - rest, intr, rtol=1e-9)
    assert not np.allclose(got, pm.total_magnetization_emu_per_g(T, H, TABLE3), rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("T", [pytest.param(T, id=f"T{T}") for T in (2.0, 4.5, 50.0)])
def test_total_weak_field_is_eq14(T):
    """M/H at H = 0.05 Oe equals Eq. 14, -chi_L + C/T + G I(T), with C summed over Fe2+ and Fe3+ (rtol 1e-6)."""
    params = {k: v for k, v in TABLE3.items() if k != "delta_mu_K"}
    H = 0.05
    chi = float(pm.total_magnetization_emu_per_g(T, H, params)) / H
    C = sum(float(pm.curie_constant_emu_K_per_g_Oe(params[k], s))
            for k, s in (("n_Fe2_per_g", pm.FE2), ("n_Fe3_per_g", pm.FE3)))
    G = float(etm.etm_G_emu_K_per_g_Oe(params["D0QS_min_K_A2"], params["D0QS_max_K_A2"],
                                       params["n_ATS_per_g"] / (2 * math.pi)))
    expected = float(etm.susceptibility_eq14_emu_per_g_Oe(T, params["chi_L_emu_per_g_Oe"], C, G, params["D_min_K"]))
    assert chi == approx(expected, rel=1e-6)


def test_total_species_and_P_star_are_configurable():
    """Densities follow the species' names, not their order (rtol 1e-14); a species' own g and J are used;
    only n_ATS P* enters."""
    T, H = np.array([2.0]), np.array([5e4])
    swapped = pm.total_magnetization_emu_per_g(T, H, TABLE3, species=(pm.FE3, pm.FE2))
    np.testing.assert_allclose(swapped, pm.total_magnetization_emu_per_g(T, H, TABLE3), rtol=1e-14)
    fe2_g22 = dataclasses.replace(pm.FE2, g=2.2)
    custom = pm.total_magnetization_emu_per_g(T, H, TABLE3, species=(fe2_g22, pm.FE3))
    delta = (pm.species_magnetization_emu_per_g(TABLE3["n_Fe2_per_g"], fe2_g22, H, T)
             - pm.species_magnetization_emu_per_g(TABLE3["n_Fe2_per_g"], pm.FE2, H, T))
    np.testing.assert_allclose(custom - pm.total_magnetization_emu_per_g(T, H, TABLE3), delta, rtol=1e-9)
    a = pm.total_magnetization_emu_per_g(T, H, TABLE3, P_star=0.1)
    b = pm.total_magnetization_emu_per_g(T, H, {**TABLE3, "n_ATS_per_g": TABLE3["n_ATS_per_g"] / 2}, P_star=0.2)
    np.testing.assert_allclose(a, b, rtol=1e-14)


@pytest.mark.parametrize(
    "params, name",
    [
        pytest.param({k: v for k, v in TABLE3.items() if k != "D_min_K"}, "D_min_K", id="missing"),
        pytest.param({**TABLE3, "n_Fe4_per_g": 1.0}, "n_Fe4_per_g", id="unknown"),
        pytest.param({**TABLE3, "D_min_K": math.nan}, "D_min_K", id="nan"),
        pytest.param({**TABLE3, "D_min_K": 0.0}, "D_min_K", id="Dmin-zero"),
        pytest.param({**TABLE3, "D0QS_min_K_A2": 3e5}, "D0QS_max_K_A2", id="D0QS-order"),
        pytest.param({**TABLE3, "n_Fe3_per_g": -1.0}, "n_Fe3_per_g", id="negative-n"),
        pytest.param({**TABLE3, "chi_L_emu_per_g_Oe": math.inf}, "chi_L_emu_per_g_Oe", id="inf-chi"),
    ],
)
def test_total_bad_parameters(params, name):
    with pytest.raises(ValueError, match=name):
        pm.total_magnetization_emu_per_g(4.5, 1e4, params)


@pytest.mark.parametrize(
    "T, H, name",
    [
        pytest.param(0.0, 1e4, "temperature_K", id="T-zero"),
        pytest.param(-2.0, 1e4, "temperature_K", id="T-negative"),
        pytest.param(math.nan, 1e4, "temperature_K", id="T-nan"),
        pytest.param(2.0, math.nan, "field_Oe", id="H-nan"),
        pytest.param(np.ones(3), np.ones(4), "temperature_K", id="shapes"),
    ],
)
def test_total_bad_axes(T, H, name):
    with pytest.raises(ValueError, match=name):
        pm.total_magnetization_emu_per_g(T, H, TABLE3)


def test_bad_function_arguments():
    with pytest.raises(ValueError, match="J"):
        pm.brillouin(0.0, 1.0)
    with pytest.raises(ValueError, match="x"):
        pm.brillouin(1.0, math.nan)
    with pytest.raises(ValueError, match="species"):
        pm.species_magnetization_emu_per_g(1.0, "Fe3+", 1.0, 1.0)
    with pytest.raises(ValueError, match="params"):
        pm.total_magnetization_emu_per_g(4.5, 1e4, [1, 2])


# ------------------------------------------------------------------- the table of ions (tunnelsim.ions)
TABLE_IONS = [pytest.param(ion.species, id=name) for name, ion in ions.IONS.items()]


@pytest.mark.parametrize("species", TABLE_IONS)
def test_table_ion_weak_field_is_its_curie_constant(species):
    """Each table ion at H/T -> 0 (H = 1 Oe, T = 300 K): M T / H = C = n g^2 mu_B^2 J(J+1) / (3 k_B), C from
    scipy.constants in CGS (rtol 1e-6; the B_J series error here is ~ (g mu_B J B / k_B T)^2 ~ 1e-11)."""
    n, H, T = 3.0e17, 1.0, 300.0
    m = float(pm.species_magnetization_emu_per_g(n, species, H, T))
    mu_B_erg_per_G, k_B_erg_per_K = MU_B_EMU, constants.k * 1e7
    C_cgs = n * species.g**2 * mu_B_erg_per_G**2 * species.J * (species.J + 1) / (3 * k_B_erg_per_K)
    assert m * T / H == approx(C_cgs, rel=1e-6)
    assert float(pm.curie_constant_emu_K_per_g_Oe(n, species)) == approx(C_cgs, rel=1e-6)


@pytest.mark.parametrize("species", TABLE_IONS)
def test_table_ion_saturates_at_n_g_J_mu_B(species):
    """Each table ion at H/T = 1e6 Oe/K (x = g mu_B J B / k_B T >= 29): M = n g J mu_B (rtol 1e-5), odd in H."""
    n = 2.0e17
    m = pm.species_magnetization_emu_per_g(n, species, np.array([1e6, -1e6]), 1.0)
    assert m[0] == approx(n * species.g * species.J * MU_B_EMU, rel=1e-5)
    assert m[1] == -m[0]


def test_total_with_other_species_sums_their_langevin_terms():
    """Eq. 17 with (Gd3+, Cr3+, Fe3+): densities named after them, each species' term added (rtol 1e-13)."""
    gd, cr = ions.IONS["Gd3+"].species, ions.IONS["Cr3+"].species
    species = (gd, cr, pm.FE3)
    params = {k: v for k, v in TABLE3.items() if k != "n_Fe2_per_g"}
    params.update(n_Gd3_per_g=2e16, n_Cr3_per_g=5e16)
    assert pm.parameter_names(species)[:3] == ("n_Gd3_per_g", "n_Cr3_per_g", "n_Fe3_per_g")
    T, H = np.array([2.0, 20.0, 100.0]), np.array([5e4, 1e3, 3e4])
    got = pm.total_magnetization_emu_per_g(T, H, params, species=species)
    no_langevin = pm.total_magnetization_emu_per_g(T, H, {**TABLE3, "n_Fe2_per_g": 0.0, "n_Fe3_per_g": 0.0})
    expected = no_langevin + sum(pm.species_magnetization_emu_per_g(params[k], s, H, T)
                                 for k, s in (("n_Gd3_per_g", gd), ("n_Cr3_per_g", cr), ("n_Fe3_per_g", pm.FE3)))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    with pytest.raises(ValueError, match="unknown parameter 'n_Fe2_per_g'"):
        pm.total_magnetization_emu_per_g(T, H, {**params, "n_Fe2_per_g": 1.0}, species=species)
    with pytest.raises(ValueError, match="missing parameter 'n_Gd3_per_g'"):
        pm.total_magnetization_emu_per_g(T, H, {k: v for k, v in TABLE3.items() if not k.startswith("n_Fe")},
                                         species=(gd,))
    with pytest.raises(ValueError, match="at least one"):
        pm.total_magnetization_emu_per_g(T, H, TABLE3, species=())


def test_default_parameter_names_are_the_seeds():
    assert pm.PARAMETER_NAMES == pm.parameter_names() == (
        "n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "n_ATS_per_g", "D_min_K", "D0QS_min_K_A2",
        "D0QS_max_K_A2", "delta_mu_K")
    assert pm.FE2 is ions.FE2 and pm.Species is ions.Species
