"""Tests of tunnelsim.kernels: the fast paths against the reference eigh / numpy paths.

* 1e5 random three-level instances: levels, slopes, couplings, curvatures against
  ``spectra.solve`` (numpy eigh);
* a degenerate stress set (E = 0 and phi = 0 exactly, phi = 1e-8, D/D0 = 1e-8, both small,
  near-crossings at D >> D0, phi near pi, huge and tiny scales): levels and slopes against a
  50-digit reference (the characteristic polynomial solved with :mod:`decimal`, slopes by
  implicit differentiation), which stays exact where eigh's eigenvectors are ill-conditioned,
  and the thermal M, chi, C, F, U, S against the eigh + numpy path;
* the compiled thermal functions against the numpy reference (1e-12) for 1 to 4 levels;
* ensemble averages and the fused sums with ``solver="fast"`` against ``solver="eigh"``.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext, localcontext

import numba
import numpy as np
import pytest

from tunnelsim import distributions, ensemble, hamiltonians, kernels, spectra, systems, thermo, units
from tunnelsim.kernels import _common, thermal

FUNCTIONS = thermo.FUNCTION_NAMES


def _reference(E, D0, phi):
    H = hamiltonians.three_level(E, D0, phi)
    return spectra.solve(H, *hamiltonians.three_level_derivatives(E, D0, phi))


def _random_instances(rng, n, ratio_range=(1e-3, 1e3)):
    D0 = np.exp(rng.uniform(math.log(0.1), math.log(10.0), n))
    scale = D0 * np.exp(rng.uniform(*np.log(ratio_range), n))
    E = scale[:, None] * rng.normal(size=(n, 3))
    E -= E.mean(axis=-1, keepdims=True)
    phi = rng.uniform(-3.0 * math.pi, 3.0 * math.pi, n)
    return E, D0, phi


def _decimal_cos_sin(x):
    """``cos x`` and ``sin x`` of a Decimal by their Taylor series, to the context precision."""
    cos, sin, term, n = Decimal(0), Decimal(0), Decimal(1), 0
    while True:
        if n % 4 == 0:
            cos += term
        elif n % 4 == 1:
            sin += term
        elif n % 4 == 2:
            cos -= term
        else:
            sin -= term
        n += 1
        term = term * x / n
        if n > 10 and abs(term) < Decimal(10) ** (-getcontext().prec - 5):
            return cos, sin


def _decimal_levels_and_slopes(E, D0, phi, digits=50):
    """Levels and phase slopes of one instance with ``digits`` significant digits.

    The characteristic polynomial ``x^3 - p x - q`` (``x = lambda - mean E``) is formed from the
    float inputs taken as exact, each root is polished by Newton's method from the fast
    kernel's value (starts closer than 1e-10 of the scale are spread apart, so that the two roots
    of a nearly double pair are both found), and ``dlambda/dphi = q'/f'(lambda)``; NaN marks a
    degenerate root, whose slope depends on the basis.
    """
    start = np.sort(kernels.three_level_spectrum(E, D0, phi, couplings=False).levels)
    spread = 1e-10 * max(np.abs(start).max(), float(D0))
    for k in range(1, 3):
        if start[k] - start[k - 1] < spread:
            start[k - 1] -= spread
            start[k] += spread
    with localcontext() as ctx:
        ctx.prec = digits
        Ed = [Decimal(float(x)) for x in E]
        mean = sum(Ed) / 3
        e = [x - mean for x in Ed]
        d0 = Decimal(float(D0))
        c, s = _decimal_cos_sin(Decimal(float(phi)))
        p = 3 * d0 * d0 + sum(x * x for x in e) / 2
        q = 2 * d0**3 * c + e[0] * e[1] * e[2]
        dq = -2 * d0**3 * s
        levels, slopes = [], []
        for guess in start:
            x = Decimal(float(guess)) - mean
            for _ in range(200):
                f = x * x * x - p * x - q
                fp = 3 * x * x - p
                if fp == 0:
                    break
                step = f / fp
                x -= step
                if abs(step) <= p.sqrt() * Decimal(10) ** (-digits + 5):
                    break
            levels.append(float(x + mean))
            fp = 3 * x * x - p
            # a double root: Newton stalls at about half the working digits (1e-25 of p)
            degenerate = abs(fp) <= p * Decimal(10) ** -20
            slopes.append(math.nan if degenerate else float(dq / fp))
    return np.array(levels), np.array(slopes)


def _assert_thermal_close(fast, slow, ref, rtol, level_rtol=1e-15):
    """Every function of ``fast`` against ``slow`` (Thermodynamics) within ``rtol`` of its
    natural scale, computed from the reference spectrum ``ref``.

    Scales: ``max |level| / T + 1`` for ln Z, ``max |level| + T`` for F and U, 1 (k_B) for S,
    ``max |<n|dH|m>|`` (the size of dH, which sets the rounding of any eigensolver) for M and
    ``max |<n|dH|m>|^2 / T + max |curvature|`` for chi. C is compared relatively, plus the
    propagation ``2 sqrt(C) d + d^2`` of a level rounding ``d = level_rtol max |level| / T``
    and 1e-300 (subnormal values).
    """
    T = fast.temperature_K
    level = np.abs(ref.levels).max(axis=-1)[..., None]
    size = ref.coupling2.max(axis=(-2, -1))[..., None] if ref.coupling2 is not None else None
    scales = {
        "log_partition": level / T + 1.0,
        "free_energy_K": level + T,
        "internal_energy_K": level + T,
        "entropy": np.ones_like(level / T),
    }
    if size is not None:
        scales["magnetization"] = np.sqrt(size) + 0.0 * T
        scales["susceptibility"] = size / T + np.abs(ref.curvature).max(axis=-1)[..., None]
    for name in FUNCTIONS:
        a, b = getattr(fast, name), getattr(slow, name)
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        if name == "heat_capacity":
            d = level_rtol * level / T
            err = np.max(np.abs(a - b) - (rtol * np.abs(b) + 2.0 * np.sqrt(np.abs(b)) * d + d * d + 1e-300))
            assert err <= 0.0, f"heat_capacity: excess error {err:.3g}"
            continue
        err = np.max(np.abs(a - b) / scales[name])
        assert err <= rtol, f"{name}: relative error {err:.3g} > {rtol}"


def cluster_slope_sums(sp, ref, rel=1e-6):
    """Slopes of ``sp`` summed over each cluster of levels of ``ref`` closer than ``rel`` of the
    largest |level| (each level gets its cluster's sum): unlike single slopes, these do not depend
    on the basis chosen inside a degenerate subspace, and unlike the sum over all levels (Tr dH)
    they are not the same for every instance."""
    levels = ref.levels.reshape(-1, ref.levels.shape[-1])
    slopes = sp.slopes.reshape(levels.shape)
    out = np.empty_like(slopes)
    for i in range(levels.shape[0]):
        gaps = np.diff(levels[i]) > rel * np.abs(levels[i]).max()
        edges = np.concatenate([[0], np.nonzero(gaps)[0] + 1, [levels.shape[1]]])
        for a, b in zip(edges[:-1], edges[1:]):
            out[i, a:b] = slopes[i, a:b].sum()
    return out.reshape(sp.slopes.shape)


def _assert_paths_close(sp, ref, T, rtol):
    """Fast thermodynamics of ``sp`` against the numpy reference on the eigh spectrum ``ref``."""
    _assert_thermal_close(thermo.thermodynamics(sp, T), thermo.thermodynamics(ref, T, method="numpy"), ref, rtol)


# --------------------------------------------------------------------------- random instances
@pytest.fixture(scope="module")
def random_set():
    rng = np.random.default_rng(20261124)
    E, D0, phi = _random_instances(rng, 100_000)
    return E, D0, phi, kernels.three_level_spectrum(E, D0, phi), _reference(E, D0, phi)


def test_random_levels_and_derivatives_match_eigh(random_set):
    """1e5 random instances (D/D0 from 1e-3 to 1e3, phi over three AB periods): levels within
    1e-10 of the largest |level|; slopes, curvatures within 1e-9 D0; couplings within 1e-9 D0^2."""
    E, D0, phi, fast, ref = random_set
    level_err = np.abs(fast.levels - ref.levels).max(axis=-1) / np.abs(ref.levels).max(axis=-1)
    assert level_err.max() <= 1e-10
    assert np.all(np.diff(fast.levels, axis=-1) >= 0)
    assert (np.abs(fast.slopes - ref.slopes).max(axis=-1) / D0).max() <= 1e-9
    assert (np.abs(fast.curvature - ref.curvature).max(axis=-1) / D0).max() <= 1e-9
    assert (np.abs(fast.coupling2 - ref.coupling2).max(axis=(-2, -1)) / D0**2).max() <= 1e-9
    # exact identities: the slopes sum to Tr dH = 0, couplings are symmetric
    assert (np.abs(fast.slopes.sum(axis=-1)) / D0).max() <= 1e-13
    np.testing.assert_array_equal(fast.coupling2, np.swapaxes(fast.coupling2, -1, -2))


def test_random_thermal_functions_match_reference(random_set):
    """M, chi, C, F, U, S of 2e4 random instances at 0.01 to 1e3 K: fast spectrum and fast
    thermodynamics against eigh and numpy, within 1e-9 of their natural scales."""
    _, _, _, fast, ref = random_set
    part = slice(0, 20_000)
    pick = lambda sp: spectra.Spectrum(*(getattr(sp, f)[part] for f in ("levels", "slopes", "coupling2", "curvature")))  # noqa: E731
    _assert_paths_close(pick(fast), pick(ref), np.geomspace(0.01, 1e3, 9), 1e-9)


def test_outer_and_paired_layouts_and_rescaling_agree(random_set):
    """three_level_outer (N, K; SIMD blocks per phase) equals three_level_spectrum broadcast
    (per instance) to 1e-14 of each quantity's scale; a derivative factor rescales slopes by it
    and couplings and curvatures by its square (1e-15)."""
    E, D0, _, _, _ = random_set
    E, D0 = E[:500], D0[:500]
    phi = np.array([-4.0, -0.3, 0.0, 1e-9, 2.5, 7.0])
    rate = np.array([0.5, 2.0, 1.0, 3.0, -1.5, 0.25])
    outer = kernels.three_level_outer(E, D0, phi, rate)
    paired = kernels.three_level_spectrum(E[:, None, :], D0[:, None], phi, rate)
    unit = kernels.three_level_spectrum(E[:, None, :], D0[:, None], phi)
    level_scale = np.abs(paired.levels).max(axis=-1)[..., None]
    rate_scale = (D0[:, None] * np.abs(rate))[..., None]
    tolerances = {"levels": level_scale, "slopes": rate_scale, "curvature": rate_scale * np.abs(rate)[:, None],
                  "coupling2": (rate_scale**2)[..., None]}
    for name, scale in tolerances.items():
        assert np.all(np.abs(getattr(outer, name) - getattr(paired, name)) <= 1e-14 * scale), name
    scale = np.abs(unit.levels).max(axis=-1)
    np.testing.assert_allclose(outer.slopes, unit.slopes * rate[:, None], rtol=0, atol=1e-15 * scale.max())
    assert np.all(np.abs(outer.coupling2 - unit.coupling2 * (rate**2)[:, None, None]) <= 1e-14 * (rate_scale**2)[..., None])
    lean = kernels.three_level_outer(E, D0, phi, rate, couplings=False)
    assert lean.coupling2 is None and lean.curvature is None
    np.testing.assert_array_equal(lean.levels, outer.levels)
    np.testing.assert_array_equal(lean.slopes, outer.slopes)


def test_simd_levels_and_slopes_match_the_scalar_kernel_and_eigh(random_set):
    """The vectorised levels-and-slopes path (``couplings=False``) against the scalar per-instance
    kernel and against eigh on the 1e5 random instances, with per-instance and shared derivative
    factors, phases beyond the inline sin/cos range (math.sin fallback) and exact E = 0 rows
    (Fourier branch): levels within 1e-10 of max |level|, slopes within 1e-9 D0 of eigh, and
    within 1e-14 of the scalar kernel."""
    E, D0, phi, full, ref = random_set
    lean = kernels.three_level_spectrum(E, D0, phi, couplings=False)
    assert lean.coupling2 is None and lean.curvature is None
    scale = np.abs(ref.levels).max(axis=-1)
    assert (np.abs(lean.levels - ref.levels).max(axis=-1) / scale).max() <= 1e-10
    assert (np.abs(lean.slopes - ref.slopes).max(axis=-1) / D0).max() <= 1e-9
    assert (np.abs(lean.levels - full.levels).max(axis=-1) / scale).max() <= 1e-14
    assert (np.abs(lean.slopes - full.slopes).max(axis=-1) / D0).max() <= 1e-14
    # per-instance rates, huge phases and E = 0 rows mixed into one batch
    n = 3000
    rate = np.linspace(-2.0, 3.0, n)
    phi2 = phi[:n].copy()
    phi2[::7] = 2.0e5 + np.arange(phi2[::7].size)  # beyond the inline sin/cos range
    E2 = E[:n].copy()
    E2[::11] = 0.0
    lean = kernels.three_level_spectrum(E2, D0[:n], phi2, rate, couplings=False)
    full = kernels.three_level_spectrum(E2, D0[:n], phi2, rate)
    scale = np.abs(full.levels).max(axis=-1)
    assert (np.abs(lean.levels - full.levels).max(axis=-1) / scale).max() <= 1e-14
    assert (np.abs(lean.slopes - full.slopes).max(axis=-1) / (D0[:n] * (1.0 + np.abs(rate)))).max() <= 1e-12
    np.testing.assert_array_equal(lean.levels[::11], full.levels[::11])  # E = 0: the same branch


def test_inline_sincos_is_accurate_to_2_ulp():
    """The vectorisable sin/cos of the SIMD path: within 2 ulp of libm (or 2 ulp of 1 near the
    zeros of the other function) over its range, exact at 0, odd/even, and accurate in relative
    terms next to multiples of pi/2 (the reduction keeps the low bits)."""
    rng = np.random.default_rng(5)
    x = np.concatenate([
        rng.uniform(-_common._SINCOS_MAX, _common._SINCOS_MAX, 200_000),
        rng.uniform(-10.0, 10.0, 200_000),
        np.geomspace(1e-300, 1e-3, 1000),
        [k * math.pi / 2 for k in range(-40, 41)],
        [k * math.pi / 2 + d for k in (1, 2, 3, 4, 100, 1001) for d in (1e-7, -1e-9, 3e-12)],
    ])
    s = np.empty_like(x)
    c = np.empty_like(x)
    _common._sincos_array(x, s, c)
    ulp_s = np.spacing(np.maximum(np.abs(np.sin(x)), 1e-300))
    ulp_c = np.spacing(np.maximum(np.abs(np.cos(x)), 1e-300))
    assert np.max(np.abs(s - np.sin(x)) / ulp_s) <= 2.0
    assert np.max(np.abs(c - np.cos(x)) / ulp_c) <= 2.0
    s2 = np.empty_like(x)
    c2 = np.empty_like(x)
    _common._sincos_array(-x, s2, c2)
    np.testing.assert_array_equal(s2, -s)
    np.testing.assert_array_equal(c2, c)
    _common._sincos_array(np.zeros(1), s[:1], c[:1])
    assert s[0] == 0.0 and c[0] == 1.0


# --------------------------------------------------------------------------- degenerate stress set
def _polar(D, alpha):
    return hamiltonians.asymmetries_from_polar(D, alpha)


_D0 = 2.0
STRESS = {
    "E0_phi0": (np.zeros(3), 0.0),
    "E0_phi1e-8": (np.zeros(3), 1e-8),
    "E0_phi-1e-12": (np.zeros(3), -1e-12),
    "E0_phi_near_pi": (np.zeros(3), math.pi * (1.0 - 1e-10)),
    "E0_phi_2pi": (np.zeros(3), 2.0 * math.pi),
    "D1e-8_phi0": (_polar(1e-8 * _D0, 0.7), 0.0),
    "D1e-8_phi1e-8": (_polar(1e-8 * _D0, 0.7), 1e-8),
    "D1e-12_phi1e-3": (_polar(1e-12 * _D0, 2.0), 1e-3),
    "D1e-6_phi_near_pi": (_polar(1e-6 * _D0, 0.3), math.pi - 1e-7),
    "crossing_D1e4_alpha0": (_polar(1e4 * _D0, 0.0), 0.4),
    "crossing_D1e4_alpha1e-9": (_polar(1e4 * _D0, 1e-9), 0.4),
    "crossing_D1e4_alpha_pi3": (_polar(1e4 * _D0, math.pi / 3.0), 2.0),
    "crossing_D1e10_alpha0": (_polar(1e10 * _D0, 0.0), 0.4),
    "two_wells_equal_phi0": (np.array([1.0, 1.0, -2.0]) * 3.0, 0.0),
    "generic": (np.array([0.3, -1.1, 0.8]), 1.3),
}
STRESS_IDS = list(STRESS)


def _stress_arrays(scale=1.0):
    E = np.array([STRESS[k][0] for k in STRESS_IDS]) * scale
    phi = np.array([STRESS[k][1] for k in STRESS_IDS])
    D0 = np.full(len(STRESS_IDS), _D0 * scale)
    return E, D0, phi


@pytest.mark.parametrize("scale", [1.0, 1e-100, 1e100], ids=["unit", "tiny", "huge"])
def test_stress_levels_and_slopes_match_high_precision(scale):
    """Degenerate and near-degenerate instances at every overall scale: levels within 1e-14 of
    the largest |level| and slopes within 1e-12 D0 of the 50-digit reference. Where two levels
    are closer than rounding of the float inputs (1e-13 of the scale: at E = 0 the float phase
    2 pi splits the pair by 1e-16), the split of the slopes between them is a choice of basis,
    and their sum is compared."""
    E, D0, phi = _stress_arrays(scale)
    fast = kernels.three_level_spectrum(E, D0, phi, couplings=False)
    for i, name in enumerate(STRESS_IDS):
        ref_levels, ref_slopes = _decimal_levels_and_slopes(E[i], D0[i], phi[i])
        level_scale = np.abs(ref_levels).max()
        assert np.abs(fast.levels[i] - ref_levels).max() <= 1e-14 * level_scale, name
        if not np.all(np.isfinite(ref_slopes)):  # E = 0, phi = 0: see the next test
            continue
        ref = spectra.Spectrum(levels=ref_levels, slopes=ref_slopes)
        got = spectra.Spectrum(levels=ref_levels, slopes=fast.slopes[i])
        np.testing.assert_array_less(
            np.abs(cluster_slope_sums(got, ref, 1e-13) - cluster_slope_sums(ref, ref, 1e-13)), 1e-12 * D0[i] + 1e-300, err_msg=name
        )
        isolated = np.ones(3, bool)
        close = np.diff(ref_levels) <= 1e-13 * level_scale
        isolated[:-1] &= ~close
        isolated[1:] &= ~close
        assert np.all(np.abs(fast.slopes[i] - ref_slopes)[isolated] <= 1e-12 * D0[i]), name


@pytest.mark.parametrize("scale", [1.0, 1e-100, 1e100], ids=["unit", "tiny", "huge"])
def test_stress_set_on_the_simd_eigenvector_path(scale):
    """The outer layout runs couplings and curvatures on SIMD blocks and sends E = 0 and exactly
    degenerate pairs to the scalar kernel: every stress asymmetry at every stress phase agrees
    with the per-instance kernel (levels 1e-14, derivatives 1e-10 of their scales) and its
    thermal functions, M and chi included, with eigh + numpy (1e-9)."""
    E, D0, phi = _stress_arrays(scale)
    rate = np.linspace(0.5, 2.0, phi.size)
    outer = kernels.three_level_outer(E, D0, phi, rate)
    paired = kernels.three_level_spectrum(E[:, None, :], D0[:, None], phi, rate)
    level_scale = np.abs(paired.levels).max(axis=-1)[..., None]
    unit = (D0[:, None] * rate)[..., None]
    assert np.all(np.abs(outer.levels - paired.levels) <= 1e-14 * level_scale)
    assert np.all(np.abs(cluster_slope_sums(outer, paired) - cluster_slope_sums(paired, paired)) <= 1e-10 * unit)
    T = np.geomspace(1e-3, 1e3, 7) * scale
    _assert_thermal_close(thermo.thermodynamics(outer, T), thermo.thermodynamics(paired, T), paired, 1e-9)
    # eigh's levels carry rounding ~ eps |E|, which at D = 1e10 D0 is ~1e-6 D0: compare the rest
    ok = np.abs(E).max(axis=-1) <= 1e5 * D0
    sub = spectra.Spectrum(*(getattr(outer, f)[ok] for f in ("levels", "slopes", "coupling2", "curvature")))
    ref = _reference(E[ok][:, None, :], D0[ok][:, None], phi).rescaled(np.broadcast_to(rate, (int(ok.sum()), phi.size)))
    _assert_thermal_close(thermo.thermodynamics(sub, T), thermo.thermodynamics(ref, T, method="numpy"), ref, 1e-9)


def test_levels_ascend_at_exact_degeneracies_and_fused_magnetisation_uses_the_ground_level():
    """At E = 0 and phi = 2 pi k, tied levels are ordered by slope (the limit phi -> 0+); they
    must still be non-decreasing, and the fused magnetisation, which takes the first level as the
    ground level, must equal the reference down to T = 1e-20 D0."""
    phi = 2.0 * math.pi * np.arange(-13, 14)
    sp = kernels.three_level_spectrum(np.zeros((phi.size, 3)), 1.0, phi)
    assert np.all(np.diff(sp.levels, axis=-1) >= 0.0)
    T = np.array([1e-20, 1e-18, 1e-3, 1.0])
    params = {"E": np.zeros((1, 3)), "D0": np.ones(1)}
    u = phi / (2.0 * math.pi * 13.0)  # unit-area system: phi = u * rate * B with B below
    model = systems.ThreeLevelSystem(1.0)
    field = 13.0 * 2.0 * math.pi / float(units.phase_per_tesla(1.0))
    fused, _ = model.thermal_sums(params, np.ones(1), field, u, np.ones(u.size), T, ["magnetization"])
    spec = model.spectrum(params, field, u, couplings=False)
    ref = kernels.thermal_observable("magnetization", spec.levels[0], T, slopes=spec.slopes[0]).sum(axis=0)
    np.testing.assert_allclose(fused["magnetization"], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def test_exact_degeneracy_uses_the_limit_phi_to_zero_plus():
    """At E = 0, phi = 0 the levels are (-D0, -D0, 2 D0) and the slopes are the limit phi -> 0+,
    (-D0/sqrt 3, +D0/sqrt 3, 0), those of the basis diagonalising dH in the doublet (1e-15)."""
    sp = kernels.three_level_spectrum(np.zeros(3), _D0, 0.0)
    np.testing.assert_allclose(sp.levels, [-_D0, -_D0, 2 * _D0], rtol=0, atol=1e-15 * _D0)
    np.testing.assert_allclose(sp.slopes, [-_D0 / math.sqrt(3), _D0 / math.sqrt(3), 0.0], rtol=0, atol=1e-15 * _D0)
    # dH is diagonal in the Fourier basis: no off-diagonal couplings, curvature -level/9
    np.testing.assert_allclose(sp.coupling2, np.diag(sp.slopes**2), rtol=0, atol=1e-15 * _D0**2)
    np.testing.assert_allclose(sp.curvature, -sp.levels / 9.0, rtol=0, atol=1e-15 * _D0)
    # the same limit is approached continuously
    near = kernels.three_level_spectrum(np.zeros(3), _D0, 1e-9)
    np.testing.assert_allclose(near.slopes, sp.slopes, rtol=0, atol=1e-9 * _D0)


@pytest.mark.parametrize("scale", [1.0, 1e-100, 1e100], ids=["unit", "tiny", "huge"])
def test_stress_thermal_functions_match_eigh(scale):
    """M, chi, C, F, U, S of the stress set from T = 1e-3 to 1e3 (times the scale): fast path
    against eigh + numpy within 1e-9 of their natural scales. These sums are basis independent
    inside (near-)degenerate pairs, so eigh is an accurate reference for them."""
    E, D0, phi = _stress_arrays(scale)
    keep = [i for i, name in enumerate(STRESS_IDS) if "D1e10" not in name]  # eigh loses 1e-6 there
    E, D0, phi = E[keep], D0[keep], phi[keep]
    T = np.geomspace(1e-3, 1e3, 13) * scale
    _assert_paths_close(kernels.three_level_spectrum(E, D0, phi), _reference(E, D0, phi), T, 1e-9)


def test_far_crossing_susceptibility():
    """At D/D0 = 1e10 near a crossing (eigenvectors of any solver lose 10 digits there; the
    slopes, from implicit differentiation, stay exact: see the high-precision test):
    chi = dM/dphi within 1e-7 of its natural scale D0^2 / T, the accuracy the eigenvector-based
    couplings keep there (the true chi is 1e-10 of that scale)."""
    E, D0, phi0 = _polar(1e10 * _D0, 1e-11), _D0, 0.4
    T = np.array([0.5, 2.0, 10.0])

    def M(shift):
        return thermo.thermodynamics(kernels.three_level_spectrum(E, D0, phi0 + shift), T).magnetization

    h = 1e-3
    five = lambda f: (f(-2 * h) - 8 * f(-h) + 8 * f(h) - f(2 * h)) / (12 * h)  # noqa: E731
    chi = thermo.thermodynamics(kernels.three_level_spectrum(E, D0, phi0), T).susceptibility
    np.testing.assert_allclose(chi, five(M), rtol=0, atol=1e-7 * D0**2 / T.min())


# --------------------------------------------------------------------------- thermal kernels
@pytest.mark.parametrize("n_levels", [1, 2, 3, 4])
def test_compiled_thermal_functions_match_numpy(rng, n_levels):
    """Every function of the compiled path equals the numpy reference to 1e-12 of its natural
    scale (C to 1e-12 relative), for random spectra with degenerate levels, gaps from 1e-12 to
    1e3 K and temperatures from 1e-3 to 1e4 K."""
    n = 4000
    gaps = np.exp(rng.uniform(math.log(1e-12), math.log(1e3), (n, n_levels)))
    gaps[rng.random((n, n_levels)) < 0.1] = 0.0
    levels = np.cumsum(gaps, axis=-1) - 5.0 * rng.random((n, 1))
    levels = rng.permuted(levels, axis=-1)  # the ground level need not come first
    vecs = np.linalg.qr(rng.normal(size=(n, n_levels, n_levels)) + 1j * rng.normal(size=(n, n_levels, n_levels)))[0]
    dH = rng.normal(size=(n, n_levels, n_levels)) + 1j * rng.normal(size=(n, n_levels, n_levels))
    dH = dH + np.conj(np.swapaxes(dH, -1, -2))
    proj = np.conj(np.swapaxes(vecs, -1, -2)) @ dH @ vecs
    sp = spectra.Spectrum(
        levels=levels,
        slopes=np.real(np.diagonal(proj, axis1=-2, axis2=-1)).copy(),
        coupling2=np.abs(proj) ** 2,
        curvature=rng.normal(size=(n, n_levels)),
    )
    T = np.geomspace(1e-3, 1e4, 11)
    fast, slow = thermo.thermodynamics(sp, T), thermo.thermodynamics(sp, T, method="numpy")
    for name in FUNCTIONS:
        assert getattr(fast, name).shape == getattr(slow, name).shape == (n, T.size)
    _assert_thermal_close(fast, slow, sp, 1e-12, level_rtol=0.0)


def test_thermodynamics_without_derivatives_and_with_batches():
    """Missing slopes or couplings give None as in the reference; batch axes and broadcast
    derivative arrays are handled; as_dict reads every function."""
    levels = np.array([[[0.0, 1.0, 3.0]], [[2.0, 2.0, 2.5]]])  # (2, 1, 3)
    bare = thermo.thermodynamics(spectra.Spectrum(levels=levels), [1.0, 2.0])
    assert bare.magnetization is None and bare.susceptibility is None
    assert bare.heat_capacity.shape == (2, 1, 2)
    sp = spectra.Spectrum(levels=levels, slopes=np.array([0.5, -0.25, -0.25]))
    fast, slow = thermo.thermodynamics(sp, [1.0, 2.0]), thermo.thermodynamics(sp, [1.0, 2.0], method="numpy")
    assert fast.susceptibility is None
    np.testing.assert_allclose(fast.magnetization, slow.magnetization, rtol=1e-14)
    assert set(fast.as_dict()) == set(FUNCTIONS)
    with pytest.raises(ValueError, match="method"):
        thermo.thermodynamics(sp, 1.0, method="lapack")


def test_exponential_is_within_one_ulp_everywhere():
    """The kernels' exp(-x) is within 2.3e-16 relative of numpy's over 0..745 and within one
    subnormal step below, and exactly 0 beyond underflow."""
    x = np.concatenate([np.linspace(0.0, 800.0, 400_001), [0.0, 1e-300, 1e-20, 708.39, 745.13]])
    got, want = kernels.exp_neg(x), np.exp(-x)
    normal = want >= np.finfo(float).tiny
    assert np.max(np.abs(got[normal] / want[normal] - 1.0)) <= 2.3e-16
    assert np.max(np.abs(got[~normal] - want[~normal])) <= 5e-324
    assert kernels.exp_neg(0.0) == 1.0
    with pytest.raises(ValueError):
        kernels.exp_neg(-1.0)


def test_kubo_weight_is_accurate_on_both_sides_of_the_series_switch():
    """(1 - e^{-y}) / y of the susceptibility kernel, branch-free (series below 0.35): within
    5e-16 relative of -expm1(-y)/y from 1e-300 to 1e10, continuous at the switch, 1 at y = 0."""

    @numba.njit
    def weights(y, out):
        for i in range(y.size):
            out[i] = thermal._kubo_weight(y[i])

    y = np.concatenate([np.geomspace(1e-300, 1e10, 100_000), np.linspace(0.0, 2.0, 100_001),
                        [thermal._KUBO_SERIES_MAX, np.nextafter(thermal._KUBO_SERIES_MAX, 0.0), 745.0, 800.0]])
    got = np.empty_like(y)
    weights(y, got)
    safe = np.maximum(y, 1e-300)
    want = np.where(y == 0.0, 1.0, -np.expm1(-safe) / safe)
    assert np.max(np.abs(got / want - 1.0)) <= 5e-16
    assert got[y == 0.0].min() == 1.0


# --------------------------------------------------------------------------- systems and ensembles
def _small_ats():
    return distributions.ATSDistribution(D_min_K=0.05, D0_min_K=0.5, D0_max_K=2.0, D_max_K=50.0)


SMALL_SETTINGS = ensemble.AveragingSettings(
    error_estimate=False, nodes={"D": 8, "D0": 3, "alpha": 8}, orientation_nodes=4
)


def test_ensemble_is_the_same_with_either_solver():
    """An ATS ensemble (all four observables, 4 temperatures x 3 fields including B = 0) is the
    same with solver="fast" and solver="eigh" to 1e-10 relative."""
    T, B = [0.3, 1.0, 4.0, 20.0], [0.0, 0.7, 5.0]
    results = {}
    for solver in systems.SOLVERS:
        ens = ensemble.Ensemble(systems.ThreeLevelSystem(20000.0, solver=solver), _small_ats(), 1e16)
        results[solver] = ensemble.compute(ens, T, B, tuple(ensemble.OBSERVABLES), settings=SMALL_SETTINGS)
    for name in ensemble.OBSERVABLES:
        a, b = results["fast"].values[name], results["eigh"].values[name]
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max(), err_msg=name)


def test_fused_thermal_sums_match_the_reference_path():
    """ThreeLevelSystem.thermal_sums: the fused compiled pass equals the eigh + numpy sums of
    every function (1e-10 relative), totals and squares alike."""
    q = _small_ats().quadrature(nodes={"D": 6, "D0": 2, "alpha": 6})
    u, omega = np.array([0.1, 0.5, 0.9]), np.array([0.3, 0.4, 0.3])
    T = np.array([0.2, 1.0, 30.0])
    out = {}
    for solver in systems.SOLVERS:
        model = systems.ThreeLevelSystem(20000.0, solver=solver)
        out[solver] = model.thermal_sums(q.params, q.weights, 2.0, u, omega, T, FUNCTIONS)
    for part in (0, 1):
        for name in FUNCTIONS:
            a, b = out["fast"][part][name], out["eigh"][part][name]
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max(), err_msg=name)


def test_fused_simd_sums_match_the_reference_path():
    """Without the susceptibility the fused pass takes SIMD blocks of nodes: over several blocks
    (the last one partial), with exact E = 0 nodes (the scalar Fourier branch) among them, every
    other function equals the eigh + numpy sums to 1e-10, totals and squares alike."""
    rng = np.random.default_rng(17)
    n = 2600  # eight chunks of 325 nodes: a full block and a partial one in each
    E, D0, _ = _random_instances(rng, n)
    E[::13] = 0.0
    params = {"E": E, "D0": D0}
    w = rng.uniform(0.5, 1.5, n)
    u, omega = np.array([0.0, 0.3, 0.8, 1.0]), np.array([0.1, 0.4, 0.3, 0.2])
    T = np.array([0.05, 1.0, 30.0, 500.0])
    names = [f for f in FUNCTIONS if f != "susceptibility"]
    out = {solver: systems.ThreeLevelSystem(20000.0, solver=solver).thermal_sums(params, w, 1.3, u, omega, T, names)
           for solver in systems.SOLVERS}
    for part in (0, 1):
        for name in names:
            a, b = out["fast"][part][name], out["eigh"][part][name]
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * np.abs(b).max(), err_msg=name)


def test_system_solver_option_and_bad_input():
    """The solver is validated; both solvers give the same spectrum; bad kernel input raises
    ValueError naming the argument."""
    with pytest.raises(ValueError, match="solver"):
        systems.ThreeLevelSystem(100.0, solver="qr")
    with pytest.raises(ValueError, match="solver"):
        systems.make_system("three_level", 100.0, solver="qr")
    assert systems.make_system("three_level", 100.0, solver="eigh").solver == "eigh"
    params = {"E": _polar(np.array([0.1, 3.0]), np.array([0.2, 1.0])), "D0": np.array([1.0, 0.5])}
    u = np.array([0.0, 0.5, 1.0])
    fast = systems.ThreeLevelSystem(3000.0).spectrum(params, 1.5, u)
    ref = systems.ThreeLevelSystem(3000.0, solver="eigh").spectrum(params, 1.5, u)
    for name in ("levels", "slopes", "coupling2", "curvature"):
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="D0"):
        kernels.three_level_spectrum(np.zeros(3), 0.0, 0.1)
    with pytest.raises(ValueError, match="phi"):
        kernels.three_level_spectrum(np.zeros(3), 1.0, np.nan)
    with pytest.raises(ValueError, match="E"):
        kernels.three_level_spectrum(np.zeros(2), 1.0, 0.1)
    with pytest.raises(ValueError, match="broadcast"):
        kernels.three_level_spectrum(np.zeros((2, 3)), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="name"):
        kernels.thermal_observable("pressure", np.zeros((1, 2)), np.ones(1))
    with pytest.raises(ValueError, match="slopes"):
        kernels.thermal_observable("magnetization", np.zeros((1, 2)), np.ones(1))
    with pytest.raises(ValueError, match="observables"):
        systems.ThreeLevelSystem(100.0).thermal_sums(params, np.ones(2), 1.0, u, np.ones(3), [1.0], ["pressure"])


@pytest.mark.parametrize("observables", [("magnetization", "heat_capacity"), ("susceptibility", "entropy", "free_energy_K")])
def test_fused_sums_with_weight_matrices_equal_separate_single_weight_passes(observables):
    """three_level_sums with node weights (R, N) and orientation weights (Q, K): each node row with
    the first orientation row, then the first node row with each further orientation row, equal
    R + Q - 1 separate single-weight passes to 1e-14 relative; the first row (and the squares)
    bit for bit."""
    rng = np.random.default_rng(5)
    n = 1500  # several chunks, each with a partial SIMD block
    E, D0, _ = _random_instances(rng, n)
    W = rng.uniform(0.2, 1.5, (4, n))
    u = np.array([0.0, 0.2, 0.5, 0.8, 1.0])
    Omega = rng.uniform(0.1, 1.0, (3, u.size))
    rate = units.phase_per_tesla(20000.0, u)
    T = np.array([0.05, 1.0, 30.0, 500.0])
    totals, squares = kernels.three_level_sums(E, D0, W, rate * 1.7, rate, Omega, T, observables)
    single = [kernels.three_level_sums(E, D0, W[r], rate * 1.7, rate, Omega[0], T, observables) for r in range(4)]
    single += [kernels.three_level_sums(E, D0, W[0], rate * 1.7, rate, Omega[q], T, observables) for q in (1, 2)]
    for name in observables:
        assert totals[name].shape == (6, T.size)
        np.testing.assert_array_equal(totals[name][0], single[0][0][name])
        np.testing.assert_array_equal(squares[name], single[0][1][name])
        for row, (tot, _) in enumerate(single):
            np.testing.assert_allclose(totals[name][row], tot[name], rtol=1e-14, atol=1e-14 * np.abs(tot[name]).max(),
                                       err_msg=f"{name} row {row}")
    # one node row, several orientation rows; several node rows, one orientation row
    only_q = kernels.three_level_sums(E, D0, W[0], rate * 1.7, rate, Omega, T, observables)[0]
    only_r = kernels.three_level_sums(E, D0, W, rate * 1.7, rate, Omega[0], T, observables)[0]
    for name in observables:
        np.testing.assert_array_equal(only_q[name], totals[name][[0, 4, 5]])
        np.testing.assert_array_equal(only_r[name], totals[name][:4])
    with pytest.raises(ValueError, match="weights"):
        kernels.three_level_sums(E, D0, W[:, :-1], rate, rate, Omega[0], T, observables)
    with pytest.raises(ValueError, match="orientation_weights"):
        kernels.three_level_sums(E, D0, W, rate, rate, Omega[:, :-1], T, observables)


@pytest.mark.parametrize("observables", [("magnetization", "heat_capacity"), ("susceptibility", "entropy")])
def test_fused_sums_per_bin_equal_masked_single_weight_passes(observables):
    """With ``bins`` (A, N) the rows are followed by the per-bin sums of the main rule: each equals
    the single-weight pass with the main weights masked to the nodes in that bin (summed over the
    rows of ``bins`` that name it) to 1e-14 relative; the rows before are unchanged bit for bit."""
    rng = np.random.default_rng(11)
    n = 1300
    E, D0, _ = _random_instances(rng, n)
    W = rng.uniform(0.2, 1.5, (2, n))
    u = np.array([0.0, 0.3, 0.7, 1.0])
    Omega = rng.uniform(0.1, 1.0, (2, u.size))
    rate = units.phase_per_tesla(20000.0, u)
    T = np.array([0.05, 1.0, 30.0])
    bins = np.stack([rng.integers(0, 5, n), 5 + rng.integers(0, 3, n)])  # two "axes": bins 0-4 and 5-7
    plain = kernels.three_level_sums(E, D0, W, rate * 1.7, rate, Omega, T, observables)[0]
    totals = kernels.three_level_sums(E, D0, W, rate * 1.7, rate, Omega, T, observables, bins=bins)[0]
    for name in observables:
        assert totals[name].shape == (3 + 8, T.size)
        np.testing.assert_array_equal(totals[name][:3], plain[name])
        for b in range(8):
            masked = W[0] * np.any(bins == b, axis=0)
            alone = kernels.three_level_sums(E, D0, masked, rate * 1.7, rate, Omega[0], T, observables)[0][name]
            np.testing.assert_allclose(totals[name][3 + b], alone, rtol=1e-14, atol=1e-14 * np.abs(alone).max(),
                                       err_msg=f"{name} bin {b}")
        # every axis's bins add up to the main sum
        np.testing.assert_allclose(totals[name][3:8].sum(axis=0), plain[name][0], rtol=1e-13)
        np.testing.assert_allclose(totals[name][8:].sum(axis=0), plain[name][0], rtol=1e-13)
    with pytest.raises(ValueError, match="bins"):
        kernels.three_level_sums(E, D0, W, rate, rate, Omega, T, observables, bins=bins[:, :-1])
    with pytest.raises(ValueError, match="bins"):
        kernels.three_level_sums(E, D0, W, rate, rate, Omega, T, observables, bins=-bins)
