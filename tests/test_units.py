"""Tests of tunnelsim.units: CODATA constants, the Aharonov-Bohm phase of Eq. 7, conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import constants

from tunnelsim import units

HYPOTHESIS = settings(max_examples=100, deadline=None, derandomize=True)  # the same examples on every run
magnitudes = st.floats(1e-12, 1e12)
reals = st.floats(-1e12, 1e12)


def test_flux_quantum():
    """phi0 = h/e = 4.1357e5 T A^2 (5e-5 relative to the printed value; exact from CODATA)."""
    assert units.PHI0_T_A2 == pytest.approx(4.1357e5, rel=5e-5)
    assert units.PHI0_T_A2 == pytest.approx(constants.h / constants.e * 1e20, rel=1e-15)
    assert units.PHI0_T_M2 == pytest.approx(4.135667696e-15, rel=1e-9)


@pytest.mark.parametrize(
    "name, value, rel",
    [
        pytest.param("K_B_J_PER_K", 1.380649e-23, 1e-12, id="k_B"),
        pytest.param("MU_B_J_PER_T", 9.27401007e-24, 1e-8, id="mu_B"),
        pytest.param("MU_B_K_PER_T", 0.67171381, 1e-8, id="mu_B/k_B"),
        pytest.param("H_PLANCK_J_S", 6.62607015e-34, 1e-12, id="h"),
        pytest.param("E_CHARGE_C", 1.602176634e-19, 1e-12, id="e"),
        pytest.param("OE_PER_T", 1e4, 0, id="Oe/T"),
        pytest.param("EMU_PER_J_PER_T", 1e3, 0, id="emu/(J/T)"),
    ],
)
def test_constants(name, value, rel):
    """Constants equal their CODATA values (the exact SI ones to 1e-12, mu_B to 1e-8, which
    covers the 2018 and 2022 adjustments)."""
    assert getattr(units, name) == pytest.approx(value, rel=rel)


def test_physics_md_phase_check():
    """physics.md: D0 phi [K] = 1.51927e-5 * B[T] * cos(theta) * (D0 (Q/e) S)[K A^2] (rel 1e-5)."""
    B, cos_theta, D0, charge_area = 2.5, 0.6, 0.3, 2.717e5 / 0.3  # D0 (Q/e) S of Table 3
    D0_phi = D0 * units.ab_phase(B, cos_theta, charge_area)
    assert D0_phi == pytest.approx(1.51927e-5 * B * cos_theta * D0 * charge_area, rel=1e-5)
    assert units.phase_per_tesla(1.0) == pytest.approx(1.51927e-5, rel=1e-5)
    # one flux quantum through the loop is a phase of 2 pi
    assert units.ab_phase(1.0, 1.0, units.PHI0_T_A2) == pytest.approx(2 * math.pi, rel=1e-15)


@HYPOTHESIS
@given(charge_area=magnitudes, cos_theta=st.floats(-1.0, 1.0), field=reals)
def test_ab_phase_is_linear_eq7(charge_area, cos_theta, field):
    """phi = 2 pi (Q/e) S B cos(theta) / phi0 = B * phase_per_tesla (1e-14 relative)."""
    phi = units.ab_phase(field, cos_theta, charge_area)
    expected = 2 * math.pi * charge_area * field * cos_theta / units.PHI0_T_A2
    assert phi == pytest.approx(expected, rel=1e-14, abs=1e-300)
    assert phi == pytest.approx(field * units.phase_per_tesla(charge_area, cos_theta), rel=1e-14, abs=1e-300)


@HYPOTHESIS
@given(charge_area=magnitudes)
def test_phase_field_scale_inverts_phase_per_tesla(charge_area):
    """phase_field_scale_T(S) * phase_per_tesla(S) == 1 (2 ulp), so phi = u B / B_phi."""
    assert units.phase_field_scale_T(charge_area) * units.phase_per_tesla(charge_area) == pytest.approx(1.0, rel=5e-16)


def test_phase_functions_broadcast():
    u = np.linspace(0, 1, 5)
    S = np.array([1e3, 3e4])[:, None]
    assert units.phase_per_tesla(S, u).shape == (2, 5)
    assert units.ab_phase(np.array([1.0, 2.0, 3.0])[:, None, None], u, S).shape == (3, 2, 5)
    assert np.all(units.phase_per_tesla(S, 0.0) == 0.0)


@HYPOTHESIS
@given(value=reals)
def test_round_trips(value):
    """K <-> J, T <-> Oe and emu <-> J/T are inverse pairs (1 ulp)."""
    for forward, back in (
        (units.kelvin_to_joule, units.joule_to_kelvin),
        (units.tesla_to_oe, units.oe_to_tesla),
        (units.j_per_t_to_emu, units.emu_to_j_per_t),
    ):
        assert back(forward(value)) == pytest.approx(value, rel=2.3e-16, abs=1e-300)
        assert forward(back(value)) == pytest.approx(value, rel=2.3e-16, abs=1e-300)


@pytest.mark.parametrize(
    "func, argument, expected",
    [
        pytest.param(units.kelvin_to_joule, 1.0, 1.380649e-23, id="1K"),
        pytest.param(units.joule_to_kelvin, 1.380649e-23, 1.0, id="k_B-J"),
        pytest.param(units.tesla_to_oe, 6.5, 65e3, id="6.5T-65kOe"),
        pytest.param(units.oe_to_tesla, 500.0, 0.05, id="500Oe"),
        pytest.param(units.j_per_t_to_emu, 1.0, 1e3, id="1J/T"),
        pytest.param(units.emu_to_j_per_t, 1.0, 1e-3, id="1emu"),
        pytest.param(units.kelvin_per_tesla_to_emu, 1.0, 1.380649e-20, id="K/T-emu"),
        pytest.param(units.kelvin_per_tesla2_to_emu_per_oe, 1.0, 1.380649e-24, id="K/T2-emu/Oe"),
    ],
)
def test_conversion_values(func, argument, expected):
    """Each conversion against a hand value (1e-12 relative)."""
    assert func(argument) == pytest.approx(expected, rel=1e-12)


def test_magnetic_moment_conversions_are_consistent():
    """-dF/dB in K/T -> emu equals k_B x (J/T -> emu); chi per Oe is that per 1e4 Oe (1e-15)."""
    x = np.array([0.5, -2.0, 3e4])
    assert np.allclose(units.kelvin_per_tesla_to_emu(x), units.j_per_t_to_emu(units.kelvin_to_joule(x)), rtol=1e-15)
    dM_dB = units.kelvin_per_tesla2_to_emu_per_oe(x)
    assert np.allclose(dM_dB, units.kelvin_per_tesla_to_emu(x) / units.tesla_to_oe(1.0), rtol=1e-15)
    # a Bohr magneton is 9.274e-21 emu
    assert units.kelvin_per_tesla_to_emu(units.MU_B_K_PER_T) == pytest.approx(9.27401007e-21, rel=1e-8)
