"""Benchmark: the dielectric (T, B) map of the ATS ensemble against the magnetisation map.

Same configuration as workload (b) of ``benchmarks/run.py`` (the seed's Table 3 BK7 products,
``(Q/e) S = 30000 A^2``, default quadrature, 8 orientations, ``error_estimate=False``), 64 x 64
on 1.5-300 K by 0.01-7 T; the dielectric map at ``f = 0`` (static) and at ``f = 1 kHz`` (the
relaxation master equation active). Also the (Q/e)S / D0 table of the characteristic field.

    python benchmarks/dielectric.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tunnelsim import distributions, ensemble, systems, units
from tunnelsim.dielectric.ensemble import permittivity_map
from tunnelsim.dielectric.response import DielectricSettings

CHARGE_AREA_A2 = 30000.0
N_ATS_PER_G = 1.352e16
D_MIN_K = 2.671e-2
D0QS_MIN_K_A2, D0QS_MAX_K_A2 = 2.717e5, 2.925e5


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 16 if args.quick else 64
    T = np.geomspace(1.5, 300.0, n)
    B = np.geomspace(0.01, 7.0, n)
    dist = distributions.ATSDistribution(D_min_K=D_MIN_K, D0_min_K=D0QS_MIN_K_A2 / CHARGE_AREA_A2,
                                         D0_max_K=D0QS_MAX_K_A2 / CHARGE_AREA_A2)
    avg = ensemble.AveragingSettings(error_estimate=False)
    ens = ensemble.Ensemble(systems.ThreeLevelSystem(CHARGE_AREA_A2), dist, N_ATS_PER_G)
    ensemble.compute(ens, T[:2], B[:2], settings=avg)  # warm up (numba)
    permittivity_map("three_level", dist, T[:2], B[:2], DielectricSettings(frequency_Hz=1e3),
                     density_per_g=N_ATS_PER_G, dipole_moment_D=1.0, charge_area_A2=CHARGE_AREA_A2, averaging=avg)
    t_mag, _ = timed(lambda: ensemble.compute(ens, T, B, settings=avg))
    print(f"magnetisation map {n}x{n}: {t_mag:.2f} s")
    for f in (0.0, 1e3):
        info = {}
        t_die, _ = timed(lambda: permittivity_map(
            "three_level", dist, T, B, DielectricSettings(frequency_Hz=f), density_per_g=N_ATS_PER_G,
            dipole_moment_D=1.0, charge_area_A2=CHARGE_AREA_A2, averaging=avg, info=info))
        print(f"dielectric map {n}x{n}, f = {f:g} Hz: {t_die:.2f} s = {t_die / t_mag:.1f} x magnetisation "
              f"({info['n_parameter_nodes']} nodes x {info['n_orientations']} orientations)")

    # characteristic field of the ATS permittivity at 10 mK vs (Q/e)S and D0
    print("\n| (Q/e)S (A^2) | D0 (K) | D0 (Q/e)S (K A^2) | B_c = phi0 k_BT/(2 pi D0 QS) (T) | B_1/2 (T) | single-system AB period phi0/QS (T) |")
    print("|---:|---:|---:|---:|---:|---:|")
    Tlow = np.array([0.01])
    Bgrid = np.geomspace(1e-6, 1.0, 37 if args.quick else 73)
    for qs in (3e4, 1e5):
        for d0 in (1.0, 9.4):
            dist = distributions.ATSDistribution(D_min_K=1e-3, D0_min_K=d0, D0_max_K=1.05 * d0, D_max_K=10.0 * d0)
            vals, _ = permittivity_map("three_level", dist, Tlow, np.concatenate([[0.0], Bgrid]), DielectricSettings(),
                                       density_per_g=1e16, dipole_moment_D=1.0, charge_area_A2=qs,
                                       averaging=ensemble.AveragingSettings(error_estimate=False))
            eps = vals["permittivity"][0]
            change = np.abs(eps[1:] - eps[0])
            half = Bgrid[np.argmax(change >= 0.5 * np.max(change))]
            b_c = float(units.phase_field_scale_T(qs)) * Tlow[0] / d0
            print(f"| {qs:g} | {d0:g} | {qs * d0:.3g} | {b_c:.3g} | {half:.3g} | {units.PHI0_T_A2 / qs:.3g} |")


if __name__ == "__main__":
    main()
