"""Time and size the exact intrinsic term (Eq. 6, 8, 15, 17) as a fit objective; not part of the test run.

Data set: the seed's runs, 9 M-vs-T runs at H = 1, 2.5, 5, 10, 20, 30, 40, 50, 65 kOe with 32
temperatures log-spaced over 2-300 K, and M-vs-H runs at T = 2, 3, 4.5, 7.5, 10, 20 K with 28
fields up to 7 T (456 points). Parameters: the seed's Table 3 with (Q/e) S = 30000 A^2.

Prints, with Eq. 15 on and off: the node counts, the time of one ``unit`` and one
``unit_and_jacobian`` (median of repeats, after a warm-up call that compiles or loads the
kernels), the peak Python-heap memory of one call (tracemalloc) and the process's peak RSS,
and the accuracy against the rule with every node count doubled (relative to max |M|); then
a least-squares fit of synthetic intrinsic data with the analytic Jacobian.
The ``--ensemble`` option also compares a grid of points with :func:`tunnelsim.ensemble.compute`.

    python benchmarks/exact_intrinsic.py [--repeats N] [--ensemble]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc

import numba
import numpy as np

from tunnelsim.fitting.exact_intrinsic import ExactIntrinsicModel, ExactIntrinsicNodes

TABLE3 = {"D_min_K": 2.671e-2, "D0QS_min_K_A2": 2.717e5, "D0QS_max_K_A2": 2.925e5, "charge_area_A2": 30000.0}
DELTA_MU_K = 0.319


def seed_like_points():
    """``(T, B)`` of the seed's runs: 9 x 32 M-vs-T points and 6 x 28 M-vs-H points."""
    T, B = [], []
    for H_kOe in (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 65.0):
        T.append(np.geomspace(2.0, 300.0, 32))
        B.append(np.full(32, H_kOe * 0.1))
    for T_K in (2.0, 3.0, 4.5, 7.5, 10.0, 20.0):
        T.append(np.full(28, T_K))
        B.append(np.linspace(0.25, 7.0, 28))
    return np.concatenate(T), np.concatenate(B)


def timed(call, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fit_demo(model, n_ats_per_g=1.352e16, seed=0):
    """Fit synthetic intrinsic data (0.2 % noise + 1e-8 emu/g) from a start 20 % off.

    ``scipy.optimize.least_squares`` over ``theta`` with the analytic Jacobian; ``n_ATS`` by
    variable projection (the model is linear in it; the projected Jacobian drops the term
    with the derivative of the projection, which is exact at zero residual).
    """
    from scipy.optimize import least_squares

    truth = dict(TABLE3, delta_mu_K=DELTA_MU_K)
    clean = n_ats_per_g * model.unit(truth)
    rng = np.random.default_rng(seed)
    sigma = 2e-3 * np.abs(clean) + 1e-8
    data = clean + sigma * rng.normal(size=clean.size)

    # x = (ln D_min, ln c, ln L, ln QS, delta_mu): D0QS_min,max = c exp(-+L/2), ordered for any x
    def unpack(x):
        c, L = np.exp(x[1]), np.exp(x[2])
        return {"D_min_K": np.exp(x[0]), "D0QS_min_K_A2": c * np.exp(-0.5 * L), "D0QS_max_K_A2": c * np.exp(0.5 * L),
                "charge_area_A2": np.exp(x[3]), "delta_mu_K": x[4]}

    def chain(x, jac):  # columns d/d theta -> d/d x
        L = np.exp(x[2])
        out = jac.copy()
        out[:, 1] = jac[:, 1] + jac[:, 2]
        out[:, 2] = 0.5 * L * (jac[:, 2] - jac[:, 1])
        return out

    cache = {}

    def evaluate(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            unit, jac = model.unit_and_jacobian(unpack(x))
            a, wdat = unit / sigma, data / sigma
            amp = float(a @ wdat / (a @ a))
            cache[key] = (amp * a - wdat, amp * chain(x, jac) / sigma[:, None], amp)
        return cache[key]

    lo, hi = truth["D0QS_min_K_A2"], truth["D0QS_max_K_A2"]
    x_true = np.array([np.log(truth["D_min_K"]), 0.5 * np.log(lo * hi), np.log(np.log(hi / lo)),
                       np.log(truth["charge_area_A2"]), truth["delta_mu_K"]])
    x0 = x_true + np.array([0.2, 0.1, 0.3, 0.2, 0.06])
    t0 = time.perf_counter()
    res = least_squares(lambda x: evaluate(x)[0], x0, jac=lambda x: evaluate(x)[1], method="trf",
                        bounds=([-np.inf] * 4 + [0.0], [np.inf] * 5))
    elapsed = time.perf_counter() - t0
    fitted = unpack(res.x)
    print(f"fit of {model.n_points} synthetic points (5 nonlinear + n_ATS by projection): {elapsed:.1f} s, "
          f"{res.nfev} evaluations, {res.njev} Jacobians, chi2/point {2 * res.cost / model.n_points:.3f}")
    for name, value in fitted.items():
        print(f"    {name:15s} fitted {value:.5g}   truth {truth[name]:.5g}")
    amp = evaluate(res.x)[2]
    print(f"    {'n_ATS_per_g':15s} fitted {amp:.5g}   truth {n_ats_per_g:.5g}")
    # a narrow D0 range fixes n_ATS ln(D0QS_max/D0QS_min), not n_ATS and the width apart
    weight = amp * np.log(fitted["D0QS_max_K_A2"] / fitted["D0QS_min_K_A2"])
    print(f"    {'n_ATS ln(ratio)':15s} fitted {weight:.5g}   truth {n_ats_per_g * np.log(hi / lo):.5g}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    parser.add_argument("--ensemble", action="store_true", help="also compare with tunnelsim.ensemble.compute")
    args = parser.parse_args(argv)
    T, B = seed_like_points()
    nodes = ExactIntrinsicNodes()
    model = ExactIntrinsicModel(T, B, nodes=nodes)
    print(f"{model.n_points} points; numba threads {numba.get_num_threads()}")
    print(f"nodes: {nodes} -> {nodes.per_point} spectra per point, {nodes.per_point * model.n_points / 1e6:.1f} M per call")
    t0 = time.perf_counter()
    model.unit(dict(TABLE3, delta_mu_K=DELTA_MU_K))
    print(f"first call (compile or load cached kernels): {time.perf_counter() - t0:.2f} s")
    reference = ExactIntrinsicModel(T, B, nodes=nodes.scaled(2))
    for label, dmu in (("Eq. 15 on ", DELTA_MU_K), ("Eq. 15 off", None)):
        params = dict(TABLE3, delta_mu_K=dmu)
        t_unit = timed(lambda: model.unit(params), args.repeats)
        t_jac = timed(lambda: model.unit_and_jacobian(params), args.repeats)
        tracemalloc.start()
        value, jac = model.unit_and_jacobian(params)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ref = reference.unit(params)
        err = np.max(np.abs(value - ref)) / np.max(np.abs(ref))
        print(f"{label}: unit {t_unit * 1e3:.0f} ms, unit_and_jacobian {t_jac * 1e3:.0f} ms "
              f"({jac.shape[1]} columns); peak traced memory {peak / 2**20:.1f} MiB; "
              f"error vs doubled nodes {err:.1e} of max |M|; 60 calls {60 * t_jac:.1f} s")
    fit_demo(model)
    print(f"peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.ensemble:
        from tunnelsim.distributions import ATSDistribution
        from tunnelsim.ensemble import AveragingSettings, Ensemble, TemperatureDependence, compute
        from tunnelsim.systems import ThreeLevelSystem

        Tg, Bg = np.array([2.0, 4.5, 10.0, 30.0, 100.0, 300.0]), np.array([0.1, 1.0, 3.5, 5.0, 7.0])
        TT, BB = np.meshgrid(Tg, Bg, indexing="ij")
        for QS in (3000.0, 30000.0, 66000.0):
            params = dict(TABLE3, charge_area_A2=QS, delta_mu_K=DELTA_MU_K)
            ens = Ensemble(ThreeLevelSystem(charge_area_A2=QS),
                           ATSDistribution(D_min_K=params["D_min_K"], D0_min_K=params["D0QS_min_K_A2"] / QS,
                                           D0_max_K=params["D0QS_max_K_A2"] / QS),
                           density_per_g=1.0, temperature_dependence=TemperatureDependence(DELTA_MU_K, 1.26))
            t0 = time.perf_counter()
            ref = compute(ens, Tg, Bg, settings=AveragingSettings(level=1, error_estimate=False, orientation_nodes=48))
            elapsed = time.perf_counter() - t0
            ref = ref.values["magnetization"].ravel()
            value = ExactIntrinsicModel(TT.ravel(), BB.ravel()).unit(params)
            print(f"ensemble (level 1, 48 orientations, {elapsed:.1f} s) vs model, (Q/e)S = {QS:g} A^2: "
                  f"{np.max(np.abs(value - ref)) / np.max(np.abs(ref)):.1e} of max |M|")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
