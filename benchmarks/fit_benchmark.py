"""Time one 8-parameter ETM fit (Eq. 17) of 500 synthetic points; not part of the test run.

Data: the seed's Table 3 (simulations/bk7_synthetic_params.toml) over the seed's runs (9 M vs T
runs of 40 points, 5 M vs H runs of 28 points), 0.1 % noise; the fit starts from every parameter
moved by +-20 %. Prints the wall time of each repeat, the model evaluations and the time of one
500-point evaluation of Eq. 17. Target: under 10 s per fit.

    python benchmarks/fit_benchmark.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from tunnelsim import fitting
from tunnelsim.fitting import parameters, synth
from tunnelsim.paramagnet import total_magnetization_emu_per_g

PARAMS = Path(__file__).resolve().parent.parent / "simulations" / "bk7_synthetic_params.toml"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits timed (different noise and start)")
    args = parser.parse_args(argv)
    pf = parameters.load_parameter_file(PARAMS)
    truth = pf.values()
    data = synth.synthesize(truth, pf.runs, pf.noise, seed=0)
    t0 = time.perf_counter()
    n_eval = 20
    for _ in range(n_eval):
        total_magnetization_emu_per_g(data.temperature_K, data.field_Oe, truth)
    eval_ms = (time.perf_counter() - t0) / n_eval * 1e3
    print(f"{data.n_points} points, {len(data.runs)} runs; one Eq. 17 evaluation: {eval_ms:.1f} ms")
    times = []
    for repeat in range(args.repeats):
        data = synth.synthesize(truth, pf.runs, pf.noise, seed=repeat)
        signs = np.random.default_rng(1000 + repeat).choice([-1.0, 1.0], size=len(truth))
        start = {k: v * (1.0 + 0.2 * s) for (k, v), s in zip(truth.items(), signs)}
        if start["D0QS_max_K_A2"] <= start["D0QS_min_K_A2"]:
            start["D0QS_max_K_A2"] = 1.2 * start["D0QS_min_K_A2"]
        t0 = time.perf_counter()
        result = fitting.fit_magnetization(data, "etm", start=start, P_star=pf.P_star, T0_K=pf.T0_K)
        elapsed = time.perf_counter() - t0
        times.append(elapsed)
        print(f"fit {repeat}: {elapsed:.2f} s, {result.nfev} model evaluations, {result.n_varied} parameters, "
              f"reduced chi2 {result.chi2_reduced:.3f}, {len(result.flags)} flags")
    print(f"median fit time: {statistics.median(times):.2f} s (target < 10 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
