"""Tests of the analytic ETM (tunnelsim.etm): Eqs. 10-16 and 18 of the seed.

Cross-checks: scipy.integrate.quad of the corrected Eq. 10 as printed (in E), a direct 2-D
quadrature of the effective two-level ensemble, finite differences of the free energy, and
the weak-field, low-T and high-T limits.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import constants, integrate

from tunnelsim import etm
from tunnelsim.units import kelvin_per_tesla_to_emu, phase_field_scale_T, phase_per_tesla

def approx(expected, rel=None, abs=0.0):
    """``pytest.approx`` without its default absolute tolerance of 1e-12 (magnetisations here are ~1e-20)."""
    return pytest.approx(expected, rel=rel, abs=abs)


#: The seed's Table 3 (constant-H fits, BK7): D_min (K), D0_min (Q/e)S and D0_max (Q/e)S (K Å^2).
TABLE3 = {"D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5}
TABLE3_AMPLITUDE = 1.352e16 / (2.0 * math.pi)
#: (Q/e) S_Delta values (Å^2) of physics.md's planning estimates.
QS_SMALL, QS_LARGE = 30000.0, 66000.0
#: Parameter sets: Table 3, a wide D0 range with a large D_min, a tiny D_min.
PARAMETER_SETS = [
    pytest.param(TABLE3, id="table3"),
    pytest.param({"D_min_K": 0.5, "D0QS_min_K_A2": 1e3, "D0QS_max_K_A2": 1e5}, id="wide-D0"),
    pytest.param({"D_min_K": 1e-3, "D0QS_min_K_A2": 1e4, "D0QS_max_K_A2": 3e4}, id="small-Dmin"),
]


def _w(D0QS, field_T, u):
    return D0QS * float(phase_per_tesla(1.0)) * u * field_T


def quad_eq10_braces(T, B, u, D_min_K, D0QS_min_K_A2, D0QS_max_K_A2):
    """The braces of the corrected Eq. 10 by adaptive quad, directly in E."""
    Dm = D_min_K
    w1, w2 = _w(D0QS_min_K_A2, B, u), _w(D0QS_max_K_A2, B, u)
    Ec1, Ec2 = math.hypot(Dm, w1), math.hypot(Dm, w2)

    def first(E):
        return math.tanh(E / (2 * T)) * math.log((E - w1) * (E + w1) / Dm**2)

    def second(E):
        return math.tanh(E / (2 * T)) * math.log1p((w2 - w1) * (w2 + w1) / ((E - w2) * (E + w2)))

    kw = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 1000}
    # break points where the near-log singularity at E_c2 and tanh's scale sit
    scale = Dm**2 / (2 * Ec2)
    upper = 2 * Ec2 + 40 * T
    pts = sorted({min(Ec2 + scale * 10.0**k, upper * 0.999) for k in range(0, 12, 2)} | {min(2 * T, upper * 0.999)})
    pts = [p for p in pts if Ec2 < p < upper]
    a = integrate.quad(first, Ec1, Ec2, points=[Ec1 + Dm**2 / (2 * Ec1) * 10.0**k for k in range(0, 8, 2)
                                                  if Ec1 + Dm**2 / (2 * Ec1) * 10.0**k < Ec2] or None, **kw)[0]
    b = integrate.quad(second, Ec2, upper, points=pts or None, **kw)[0]
    c = integrate.quad(second, upper, np.inf, **kw)[0]
    return a + b + c


# ----------------------------------------------------------------------------------- Eq. 10
@pytest.mark.parametrize("params", PARAMETER_SETS)
@pytest.mark.parametrize("T", [pytest.param(T, id=f"T{T}") for T in (0.02, 1.0, 4.5, 60.0)])
def test_eq10_matches_quad(params, T):
    """Gauss-rule braces equal adaptive quad of the printed (corrected) integrals, rtol 1e-7."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for B in (1e-3, 0.3, 3.0, 9.0):
            for u in (1.0, 0.37, 0.02):
                expected = quad_eq10_braces(T, B, u, **params)
                got = float(etm.eq10_integrals_K(T, B, u=u, **params))
                assert got == approx(expected, rel=1e-7), (B, u)


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_eq10_is_the_effective_two_level_ensemble(params):
    """Eq. 10 with pi/(2B) equals a direct (ln D, ln D0) quadrature of the effective 2LS, rtol 1e-7.

    The brief's tolerance is 1e-5; both routes agree far better.
    """
    T = np.array([0.05, 0.05, 1.0, 4.5, 4.5, 50.0])[:, None]
    B = np.array([0.01, 1.0, 6.5])[None, :]
    for u in (1.0, 0.25):
        eq10 = etm.magnetization_eq10(T, B, amplitude_per_g=TABLE3_AMPLITUDE, u=u, **params)
        direct = etm.effective_two_level_magnetization(T, B, amplitude_per_g=TABLE3_AMPLITUDE, u=u, **params)
        np.testing.assert_allclose(eq10, direct, rtol=1e-7)


def test_printed_prefactor_is_twice_the_ensemble():
    """The seed's pi P* n / B times the braces is exactly twice the ensemble (rtol 1e-7)."""
    T, B, u = np.array([0.1, 4.5, 30.0]), np.array([0.5, 3.0, 6.0]), 0.8
    braces_K = etm.eq10_integrals_K(T, B, u=u, **TABLE3)
    printed = kelvin_per_tesla_to_emu(math.pi * TABLE3_AMPLITUDE * braces_K / B)
    ensemble = etm.effective_two_level_magnetization(T, B, amplitude_per_g=TABLE3_AMPLITUDE, u=u, **TABLE3)
    np.testing.assert_allclose(printed / ensemble, 2.0, rtol=1e-7)


def test_eq10_finite_D_max_deficit():
    """Cutting the ensemble at D_max removes pi A (p B)^2 (a2^2 - a1^2) / (2 B D_max) (rtol 1e-3).

    For D >= D_max >> D0 phi, T each system adds (D0 phi)^2 / (2 B D); ``p B = phi / ((Q/e) S)``.
    This is also the error of Eq. 10's D_max -> inf (4e-3 relative at 3 T, 4.5 K, D_max = 1e4 K).
    """
    T, B = 4.5, 3.0
    inf = etm.effective_two_level_magnetization(T, B, amplitude_per_g=1.0, **TABLE3)
    assert float(inf) == approx(float(etm.magnetization_eq10(T, B, amplitude_per_g=1.0, **TABLE3)), rel=1e-9)
    pB = float(phase_per_tesla(1.0)) * B
    a1, a2 = TABLE3["D0QS_min_K_A2"], TABLE3["D0QS_max_K_A2"]
    for D_max in (1e4, 1e6):
        cut = etm.effective_two_level_magnetization(T, B, amplitude_per_g=1.0, D_max_K=D_max, **TABLE3)
        estimate = kelvin_per_tesla_to_emu(math.pi * pB**2 * (a2**2 - a1**2) / (2 * B * D_max))
        assert float(inf - cut) == approx(float(estimate), rel=1e-3)


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_orientation_average_closed_kernel_matches_quad_over_u(params):
    """The closed-form orientation kernel equals quad over u of the one-orientation Eq. 10 (rtol 1e-8)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for T, B in ((0.02, 2.0), (4.5, 0.05), (4.5, 6.5), (300.0, 1.0)):
            avg = float(etm.magnetization_etm(T, B, amplitude_per_g=1.0, **params))
            q = integrate.quad(lambda u: float(etm.magnetization_eq10(T, B, amplitude_per_g=1.0, u=u, **params)),
                               0.0, 1.0, points=[1e-4, 1e-3, 1e-2, 0.1], epsabs=0.0, epsrel=1e-11, limit=400)[0]
            assert avg == approx(q, rel=1e-8), (T, B)


def test_eq10_odd_in_field_and_zero_at_zero():
    """M(-B) = -M(B) exactly, M(0) = 0 without a division by zero, M(u = 0) = 0."""
    B = np.array([-3.0, -0.1, 0.0, 0.1, 3.0])
    with np.errstate(all="raise"):
        m = etm.magnetization_etm(4.5, B, amplitude_per_g=1.0, **TABLE3)
        m_u0 = etm.magnetization_eq10(4.5, B, amplitude_per_g=1.0, u=0.0, **TABLE3)
    np.testing.assert_array_equal(m, -m[::-1])
    assert m[2] == 0.0 and m[3] > 0
    np.testing.assert_array_equal(m_u0, 0.0)


def test_table3_magnitude():
    """Table 3 at 4.5 K: M_intr rises, peaks and saturates at order 1e-4 emu/g (regression of scale)."""
    B = np.linspace(0.5, 6.5, 13)
    m = etm.magnetization_etm(4.5, B, amplitude_per_g=TABLE3_AMPLITUDE, **TABLE3)
    assert np.all(np.diff(m) > 0)
    assert 5e-5 < m[-1] < 5e-4


# ----------------------------------------------------------------------------------- Eq. 11
def test_eq11_reduces_to_eq10_at_small_field():
    """phi -> 0: both Eq. 11 forms tend to Eq. 10, deviations ~ phi^2 (< 1e-5 at phi = 1e-3)."""
    B = 1e-3 * float(phase_field_scale_T(QS_SMALL))
    for u in (1.0, 0.5):
        m10 = etm.magnetization_eq10(4.5, B, amplitude_per_g=1.0, u=u, **TABLE3)
        m11 = etm.magnetization_eq11(4.5, B, charge_area_A2=QS_SMALL, amplitude_per_g=1.0, u=u, **TABLE3)
        assert abs(m11 / m10 - 1) < 1e-5
    avg10 = etm.magnetization_etm(4.5, B, amplitude_per_g=1.0, **TABLE3)
    avg11 = etm.magnetization_etm_high_field(4.5, B, charge_area_A2=QS_SMALL, amplitude_per_g=1.0, **TABLE3)
    assert abs(avg11 / avg10 - 1) < 1e-5
    shortcut = etm.magnetization_etm_shortcut(4.5, B, charge_area_A2=QS_SMALL, amplitude_per_g=1.0, **TABLE3)
    assert abs(shortcut / avg10 - 1) < 1e-7


def _five_point_derivative(f, x, h):
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


@pytest.mark.parametrize("charge_area_A2", [pytest.param(None, id="eq10"), pytest.param(QS_SMALL, id="eq11-30000"),
                                            pytest.param(QS_LARGE, id="eq11-66000")])
@pytest.mark.parametrize("T", [pytest.param(T, id=f"T{T}") for T in (0.05, 4.5, 50.0)])
def test_magnetization_is_minus_free_energy_derivative(charge_area_A2, T):
    """M = -dF/dB: five-point finite difference of the ensemble free energy (h = 1e-3 B), rtol 1e-7.

    For Eq. 11 this checks the true derivative 2 phi phi' (1 - 2 phi^2/27), also where M < 0
    (66000 Å^2 at 4.5 T, phi^2 = 20).
    """
    for B in (0.02, 1.0, 4.5):
        for u in (1.0, 0.4):
            def F(b):
                return etm.free_energy_shift_K_per_g(T, b, amplitude_per_g=1.0, u=u, charge_area_A2=charge_area_A2,
                                                     **TABLE3)

            fd = float(kelvin_per_tesla_to_emu(-_five_point_derivative(F, B, 1e-3 * B)))
            if charge_area_A2 is None:
                m = float(etm.magnetization_eq10(T, B, amplitude_per_g=1.0, u=u, **TABLE3))
            else:
                m = float(etm.magnetization_eq11(T, B, charge_area_A2=charge_area_A2, amplitude_per_g=1.0, u=u,
                                                 **TABLE3))
            assert fd == approx(m, rel=1e-7), (B, u)


def test_eq11_one_orientation_changes_sign_at_phi_squared_27_over_2():
    """One orientation: M > 0 just below phi^2 = 13.5, < 0 just above, 0 beyond phi^2 = 27, for any T."""
    B_phi = float(phase_field_scale_T(QS_LARGE))
    B_zero = math.sqrt(13.5) * B_phi
    for T in (0.1, 4.5, 100.0):
        below, above = etm.magnetization_eq11(T, np.array([0.999, 1.001]) * B_zero, charge_area_A2=QS_LARGE,
                                              amplitude_per_g=1.0, **TABLE3)
        assert below > 0 > above
        beyond = etm.magnetization_eq11(T, 1.01 * math.sqrt(27) * B_phi, charge_area_A2=QS_LARGE,
                                        amplitude_per_g=1.0, **TABLE3)
        assert beyond == 0.0


def test_eq11_orientation_average_matches_quad_over_u():
    """Graded Gauss rule in u equals adaptive quad over u of the one-orientation Eq. 11 (rtol 1e-7)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for qs, T, B in ((QS_SMALL, 4.5, 4.0), (QS_LARGE, 4.5, 4.0), (QS_LARGE, 0.1, 6.5), (QS_SMALL, 50.0, 9.0)):
            avg = float(etm.magnetization_etm_high_field(T, B, charge_area_A2=qs, amplitude_per_g=1.0, **TABLE3))
            u_max = min(1.0, math.sqrt(27) * float(phase_field_scale_T(qs)) / B)
            pts = [u_max * x for x in (1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1 - 1e-6)]
            q = integrate.quad(lambda u: float(etm.magnetization_eq11(T, B, charge_area_A2=qs, amplitude_per_g=1.0,
                                                                      u=u, **TABLE3)),
                               0.0, u_max, points=pts, epsabs=0.0, epsrel=1e-10, limit=500)[0]
            assert avg == approx(q, rel=1e-7), (qs, T, B)


@pytest.mark.parametrize("qs", [pytest.param(QS_SMALL, id="30000A2"), pytest.param(QS_LARGE, id="66000A2")])
def test_eq11_average_turns_negative(qs):
    """The orientation average turns negative above the one-orientation field sqrt(27/2) B_phi.

    Table 3 products at 4.5 K: near 10.5 T for (Q/e)S = 30000 Å^2 and 4.75 T for 66000 Å^2.
    """
    B_phi = float(phase_field_scale_T(qs))
    B0 = float(etm.high_field_sign_change_T(4.5, charge_area_A2=qs, **TABLE3)[0])
    assert math.sqrt(13.5) * B_phi < B0 < math.sqrt(27) * B_phi
    below, above = etm.magnetization_etm_high_field(4.5, np.array([0.999, 1.001]) * B0, charge_area_A2=qs,
                                                    amplitude_per_g=1.0, **TABLE3)
    assert below > 0 > above


def _linear_regime():
    """Parameters with D0 phi << D_min, T, so Eq. 10 is linear in B while phi is not small."""
    return {"D_min_K": 10.0, "D0QS_min_K_A2": 1e4, "D0QS_max_K_A2": 2e4}


@pytest.mark.parametrize("T", [pytest.param(10.0, id="T10"), pytest.param(100.0, id="T100")])
def test_eq11_small_phi_coefficient_is_2_over_45(T):
    """Orientation average of the true-derivative model: M11/M10 = 1 - (2/45)(B/B_phi)^2 + O(phi^4).

    (1 - 2 phi^2/27) per orientation, weighted by u^2 (M10 ~ u^2 in the linear regime):
    <u^4>/<u^2> = 3/5 gives 2/45. The coefficient is recovered to 1e-4 at B = 0.05 B_phi.
    """
    p = _linear_regime()
    B_phi = float(phase_field_scale_T(QS_SMALL))
    B = 0.05 * B_phi
    m11 = float(etm.magnetization_etm_high_field(T, B, charge_area_A2=QS_SMALL, amplitude_per_g=1.0, **p))
    m10 = float(etm.magnetization_etm(T, B, amplitude_per_g=1.0, **p))
    assert (1 - m11 / m10) / 0.05**2 == approx(2.0 / 45.0, rel=1e-4)


def test_eq11_substitution_only_coefficient_is_1_over_45():
    """Substituting phi^2 -> phi^2(1 - phi^2/27) into Eq. 10's gap (keeping 1/B) gives 1/45, not 1/54."""
    p = _linear_regime()
    T, B_phi = 10.0, float(phase_field_scale_T(QS_SMALL))
    B = 0.05 * B_phi

    def substituted(u):
        B_eff = B * math.sqrt(1 - (u * B / B_phi) ** 2 / 27)
        return float(etm.magnetization_eq10(T, B_eff, amplitude_per_g=1.0, u=u, **p)) * B_eff / B

    m_sub = integrate.quad(substituted, 0.0, 1.0, epsabs=0.0, epsrel=1e-12)[0]
    m10 = float(etm.magnetization_etm(T, B, amplitude_per_g=1.0, **p))
    assert (1 - m_sub / m10) / 0.05**2 == approx(1.0 / 45.0, rel=1e-4)


def test_shortcut_with_B_phi_disagrees_and_rescaled_B_star_agrees():
    """The seed's 1/54 with B* = B_phi misses the 2/45 of the orientation-averaged model.

    At B = 0.2 B_phi the relative difference is (2/45 - 1/54)(0.2)^2 = 1.0e-3; with
    B* = B_phi sqrt(45/108) it drops to O(phi^4) (< 2e-5).
    """
    p = _linear_regime()
    B_phi = float(phase_field_scale_T(QS_SMALL))
    B = 0.2 * B_phi
    model = float(etm.magnetization_etm_high_field(10.0, B, charge_area_A2=QS_SMALL, amplitude_per_g=1.0, **p))
    seed = float(etm.magnetization_etm_shortcut(10.0, B, amplitude_per_g=1.0, charge_area_A2=QS_SMALL, **p))
    rescaled = float(etm.magnetization_etm_shortcut(10.0, B, amplitude_per_g=1.0,
                                                    B_star_T=B_phi * math.sqrt(45 / 108), **p))
    assert seed / model - 1 == approx((2 / 45 - 1 / 54) * 0.2**2, rel=0.05)
    assert abs(rescaled / model - 1) < 2e-5


def test_shortcut_turns_negative_at_sqrt54_B_star():
    """(1 - (B/B*)^2/54) vanishes at sqrt(54) B*."""
    B_star = 1.3
    m = etm.magnetization_etm_shortcut(4.5, np.array([0.999, 1.001]) * math.sqrt(54) * B_star, amplitude_per_g=1.0,
                                       B_star_T=B_star, **TABLE3)
    assert m[0] > 0 > m[1]


# ------------------------------------------------------------------------ Eqs. 12, 13, 14, 18
def test_high_temperature_constant():
    """c = 0.7905 (4 digits), and equals lim 2T I(T) - ln(2T/D_min) from the Gauss-rule I (1e-10)."""
    c = etm.high_temperature_constant()
    assert c == approx(0.7905, abs=5e-5)
    Dm, T = 1.0, 1e6
    limit = 2 * T * float(etm.tanh_integral_per_K(T, Dm)) - math.log(2 * T / Dm)
    assert limit == approx(c, abs=1e-10)


@pytest.mark.parametrize("x0", [pytest.param(x, id=f"x0={x:g}") for x in (1e-6, 1e-3, 0.3, 0.999, 1.0, 1.5, 7.0, 40.0)])
def test_tanh_integral_matches_quad(x0):
    """I(T) = int_{D_min}^inf tanh(E/2T)/E^2 dE against quad, rtol 1e-12."""
    Dm = 2.671e-2
    T = Dm / (2 * x0)
    kw = {"epsabs": 0.0, "epsrel": 1e-13, "limit": 200}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        if x0 < 1:
            q = integrate.quad(lambda s: math.tanh(s) / s**2, x0, 1.0, **kw)[0]
            q += integrate.quad(lambda s: math.tanh(s) / s**2, 1.0, np.inf, **kw)[0]
        else:
            q = integrate.quad(lambda s: math.tanh(s) / s**2, x0, np.inf, **kw)[0]
    assert float(etm.tanh_integral_per_K(T, Dm)) == approx(q / (2 * T), rel=1e-12)


def test_eq13_limits():
    """Low T: 1/D_min (rtol 1e-12 at T = D_min/60).

    High T: the corrected form's error shrinks with T (< 1e-5 at 1 K); the seed's 1/(2T) is off by > 50%, growing.
    """
    Dm = 2.671e-2
    assert float(etm.tanh_integral_per_K(Dm / 60, Dm)) == approx(
        float(etm.tanh_integral_low_temperature_limit_per_K(Dm)), rel=1e-12)
    T = np.array([1.0, 10.0, 100.0, 1000.0])
    exact = etm.tanh_integral_per_K(T, Dm)
    corrected = np.abs(etm.tanh_integral_high_temperature_limit_per_K(T, Dm) / exact - 1)
    seed = np.abs(etm.tanh_integral_high_temperature_seed_per_K(T) / exact - 1)
    assert np.all(np.diff(corrected) < 0) and corrected[0] < 1e-5
    assert np.all(seed > 0.5) and np.all(np.diff(seed) > 0)


@pytest.mark.parametrize("T", [pytest.param(T, id=f"T{T}") for T in (0.01, 1.0, 4.5, 100.0)])
def test_eq12_is_weak_field_limit_of_eq10(T):
    """M/H of the orientation-averaged Eq. 10 at B = 1e-5 T equals Eq. 12 (rtol 1e-4)."""
    B = 1e-5
    chi = float(etm.susceptibility_eq12_emu_per_g_Oe(T, amplitude_per_g=TABLE3_AMPLITUDE, **TABLE3))
    m = float(etm.magnetization_etm(T, B, amplitude_per_g=TABLE3_AMPLITUDE, **TABLE3))
    assert m / (B * 1e4) == approx(chi, rel=1e-4)


def test_eq12_G_against_printed_formula():
    """G = (2/3) pi^3 n P* (Q/e)^2 S^2 (D0max^2 - D0min^2)/phi0^2 in CGS, from scipy.constants (rtol 1e-12)."""
    phi0_T_m2 = constants.h / constants.e
    a1, a2 = 2.717e5 * 1e-20, 2.925e5 * 1e-20  # K m^2
    G_SI = 2 / 3 * math.pi**3 * TABLE3_AMPLITUDE * (a2**2 - a1**2) / phi0_T_m2**2 * constants.k  # J/T^2 K^-1... per g
    G_cgs = G_SI * 1e3 / 1e4  # J/T -> emu, per T -> per Oe
    got = float(etm.etm_G_emu_K_per_g_Oe(2.717e5, 2.925e5, TABLE3_AMPLITUDE))
    assert got == approx(G_cgs, rel=1e-12)


def test_eq14_and_eq18():
    """Eq. 18 = T (Eq. 14 + chi_L); T (chi - chi_L) -> C + (G/D_min) T at T << D_min (rtol 1e-9)."""
    C, G, chi_L, Dm = 3e-5, 2e-7, 4.2e-7, 0.05
    T = np.array([1e-3, 0.3, 4.5, 100.0])
    chi = etm.susceptibility_eq14_emu_per_g_Oe(T, chi_L, C, G, Dm)
    np.testing.assert_allclose(etm.curie_product_eq18_emu_K_per_g_Oe(T, C, G, Dm), T * (chi + chi_L), rtol=1e-12)
    T_low = Dm / 100
    assert float(etm.curie_product_eq18_emu_K_per_g_Oe(T_low, C, G, Dm)) == approx(C + G * T_low / Dm,
                                                                                           rel=1e-9)


# ------------------------------------------------------------------------------ Eqs. 15, 16
def test_eq15_scaling_exponents():
    """D_min ~ r, D0QS ~ r^3, (Q/e)S ~ r^2, hence D0 = D0QS/QS ~ r (rtol 1e-12); r(T0) = 1."""
    T = np.array([0.5, 1.26, 4.5, 300.0])
    s = etm.scaled_parameters(T, 0.02671, 2.717e5, 2.925e5, delta_mu_K=0.319, T0_K=1.26, charge_area_A2=3e4)
    r = np.exp(-0.319 / T + 0.319 / 1.26)
    np.testing.assert_allclose(s.ratio, r, rtol=1e-14)
    assert s.ratio[1] == approx(1.0, abs=1e-15)
    lnr = np.log(r[[0, 2, 3]])
    for value, base, power in ((s.D_min_K, 0.02671, 1), (s.D0QS_min_K_A2, 2.717e5, 3), (s.D0QS_max_K_A2, 2.925e5, 3),
                               (s.charge_area_A2, 3e4, 2), (s.D0QS_min_K_A2 / s.charge_area_A2, 2.717e5 / 3e4, 1)):
        np.testing.assert_allclose(np.log(value[[0, 2, 3]] / base) / lnr, power, rtol=1e-12)


def test_eq15_ratio_in_logs_from_1e_4_to_1e4_kelvin():
    """ln r = delta_mu (T - T0)/(T T0) exactly (mpmath-free check at rtol 1e-14); r under/overflows silently."""
    from tunnelsim import temperature_dependence as td

    T = np.geomspace(1e-4, 1e4, 17)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_r = td.log_tunnelling_number_ratio(T, 0.319, 1.26)
        r = td.tunnelling_number_ratio(T, 0.319, 1.26)
    expected = np.array([0.319 * (float(t) - 1.26) / (float(t) * 1.26) for t in T])
    np.testing.assert_allclose(log_r, expected, rtol=1e-14)
    assert log_r[0] == approx(-3189.75, rel=1e-5) and r[0] == 0.0  # exp(-3190): not representable
    np.testing.assert_allclose(r[log_r > -700], np.exp(expected[log_r > -700]), rtol=1e-13)
    assert td.tunnelling_number_ratio(1e-6, 1.0, 1e-4) == 0.0


def test_eq15_scaling_below_the_ratio_floor_is_the_small_r_limit():
    """At 1e-3 K (r = e^-480) the scaling neither raises nor returns zeros: r is taken at RATIO_FLOOR."""
    from tunnelsim import temperature_dependence as td

    s = etm.scaled_parameters(np.array([1e-4, 1e-3]), 0.0599, 0.887e5, 1.2e5, delta_mu_K=0.48, T0_K=1.26,
                              charge_area_A2=3e4)
    np.testing.assert_array_equal(s.ratio, td.RATIO_FLOOR)
    assert np.all(s.charge_area_A2 > 0) and np.all(s.D0QS_min_K_A2 > 0) and np.all(np.isfinite(s.D0QS_max_K_A2))


def test_eq15_range_check_names_the_limit():
    from tunnelsim import temperature_dependence as td

    td.check_ratio_range(np.geomspace(1e-4, 1e4, 9), 0.319, 1.26)  # seed values: fine everywhere
    with pytest.raises(ValueError, match=r"temperatures must stay <= 0.00116\d* K"):
        td.check_ratio_range(np.array([2.0, 300.0]), 0.48, 1e-3)


def test_eq16_ratio():
    """N/N0 = 1 - Gamma e^{E0/T}; with T0 the ratio is 1 at T0; N <= 0 is rejected naming gamma."""
    T = np.array([1.0, 1.26, 10.0])
    n = etm.tunnelling_number_ratio_activated(T, 0.01, 2.0)
    np.testing.assert_allclose(n, 1 - 0.01 * np.exp(2.0 / T), rtol=1e-15)
    r = etm.tunnelling_number_ratio_activated(T, 0.01, 2.0, T0_K=1.26)
    assert r[1] == approx(1.0, abs=1e-15)
    with pytest.raises(ValueError, match="gamma"):
        etm.tunnelling_number_ratio_activated(0.1, 0.5, 2.0)


# ------------------------------------------------------------------------- runner interface
def test_analytic_magnetization_grid():
    """(nT, nB) outer grid, zero at B = 0, the same values as the direct functions (rtol 1e-13)."""
    T, B = np.array([2.0, 4.5, 20.0]), np.array([0.0, 1.0, 5.0, 6.5])
    qs = QS_SMALL
    kw = dict(D_min_K=TABLE3["D_min_K"], D0_min_K=TABLE3["D0QS_min_K_A2"] / qs,
              D0_max_K=TABLE3["D0QS_max_K_A2"] / qs, charge_area_A2=qs, amplitude_per_g=TABLE3_AMPLITUDE)
    out = {name: etm.analytic_magnetization(name, T, B, **kw) for name in etm.ANALYTIC_NAMES}
    direct = etm.magnetization_etm(T[:, None], B[None, :], amplitude_per_g=TABLE3_AMPLITUDE, **TABLE3)
    high = etm.magnetization_etm_high_field(T[:, None], B[None, :], charge_area_A2=qs,
                                            amplitude_per_g=TABLE3_AMPLITUDE, **TABLE3)
    for name, value in out.items():
        assert value.shape == (3, 4)
        np.testing.assert_array_equal(value[:, 0], 0.0)
    np.testing.assert_allclose(out["etm"], direct, rtol=1e-13)
    np.testing.assert_allclose(out["etm_high_field"], high, rtol=1e-13)
    factor = 1 - (B / float(phase_field_scale_T(qs))) ** 2 / 54
    np.testing.assert_allclose(out["etm_shortcut"], direct * factor, rtol=1e-13)


def test_analytic_magnetization_temperature_dependence():
    """With delta_mu the parameters are those of scaled_parameters at each T (rtol 1e-13)."""
    T, B = np.array([2.0, 10.0]), np.array([3.0])
    qs = QS_SMALL
    kw = dict(D_min_K=TABLE3["D_min_K"], D0_min_K=TABLE3["D0QS_min_K_A2"] / qs,
              D0_max_K=TABLE3["D0QS_max_K_A2"] / qs, charge_area_A2=qs, amplitude_per_g=1.0)
    got = etm.analytic_magnetization("etm", T, B, delta_mu_K=0.319, **kw)
    s = etm.scaled_parameters(T, delta_mu_K=0.319, **TABLE3)
    expected = etm.magnetization_etm(T, 3.0, s.D_min_K, s.D0QS_min_K_A2, s.D0QS_max_K_A2, 1.0)
    np.testing.assert_allclose(got[:, 0], expected, rtol=1e-13)
    assert not np.allclose(got, etm.analytic_magnetization("etm", T, B, **kw), rtol=1e-3, atol=0.0)


def test_analytic_magnetization_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        etm.analytic_magnetization("eq10", [1.0], [1.0], D_min_K=0.1, D0_min_K=1.0, D0_max_K=2.0,
                                   charge_area_A2=1e4, amplitude_per_g=1.0)


# ---------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "change, name",
    [
        pytest.param({"temperature_K": 0.0}, "temperature_K", id="T-zero"),
        pytest.param({"temperature_K": -1.0}, "temperature_K", id="T-negative"),
        pytest.param({"temperature_K": math.nan}, "temperature_K", id="T-nan"),
        pytest.param({"field_T": math.nan}, "field_T", id="B-nan"),
        pytest.param({"D_min_K": 0.0}, "D_min_K", id="Dmin-zero"),
        pytest.param({"D_min_K": -0.1}, "D_min_K", id="Dmin-negative"),
        pytest.param({"D0QS_min_K_A2": 3e5}, "D0QS_max_K_A2", id="D0QS-min-above-max"),
        pytest.param({"D0QS_min_K_A2": 2.925e5}, "D0QS_max_K_A2", id="D0QS-min-equal-max"),
        pytest.param({"D0QS_max_K_A2": math.nan}, "D0QS_max_K_A2", id="D0QS-max-nan"),
        pytest.param({"amplitude_per_g": -1.0}, "amplitude_per_g", id="amplitude-negative"),
    ],
)
def test_bad_arguments(change, name):
    """Each bad argument raises ValueError naming it, in every public magnetisation function."""
    base = {"temperature_K": 4.5, "field_T": 1.0, "amplitude_per_g": 1.0, **TABLE3}
    base.update(change)
    for func, extra in ((etm.magnetization_etm, {}), (etm.magnetization_eq10, {"u": 0.5}),
                        (etm.magnetization_etm_high_field, {"charge_area_A2": QS_SMALL})):
        with pytest.raises(ValueError, match=name):
            func(**base, **extra)


def test_bad_orientation_and_charge_area():
    with pytest.raises(ValueError, match="u must lie in"):
        etm.magnetization_eq10(4.5, 1.0, amplitude_per_g=1.0, u=1.5, **TABLE3)
    with pytest.raises(ValueError, match="charge_area_A2"):
        etm.magnetization_eq11(4.5, 1.0, charge_area_A2=0.0, amplitude_per_g=1.0, **TABLE3)
    with pytest.raises(ValueError, match="B_star_T"):
        etm.magnetization_etm_shortcut(4.5, 1.0, amplitude_per_g=1.0, **TABLE3)
    with pytest.raises(ValueError, match="D_min_K"):
        etm.tanh_integral_per_K(1.0, 0.0)
