"""Time exact-model fits (Eq. 17 with the exact ATS ensemble) of the 456-point exact BK7 set; not a test.

Data: simulations/bk7_exact_params.toml (Table 3 products, (Q/e) S = 30000 A^2, Eq. 15 on, the
seed's nine M vs T runs plus M vs H to 7 T at 2-20 K, 0.02 % noise), a new noise draw per repeat.
Each fit starts with every nonlinear parameter moved by +-20 % (the Larmor-Langevin ones and the
amplitude are solved by variable projection). Prints per fit the wall time, the model
evaluations, the recovered (Q/e) S and the peak memory (tracemalloc of Python allocations and
the process's maximum resident set). Target: <= 60 s per fit on 2 cores (stretch 15 s), < 1 GB.

    python benchmarks/exact_fit_benchmark.py [--repeats N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

from tunnelsim import fitting
from tunnelsim.fitting import parameters, synth

PARAMS = Path(__file__).resolve().parent.parent / "simulations" / "bk7_exact_params.toml"
_NONLINEAR = ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2", "delta_mu_K", "n_ATS_per_g")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits timed (different noise and start)")
    args = parser.parse_args(argv)
    pf = parameters.load_parameter_file(PARAMS)
    truth = pf.values()
    times = []
    for repeat in range(args.repeats):
        data = synth.synthesize(truth, pf.runs, pf.noise, seed=repeat, P_star=pf.P_star, T0_K=pf.T0_K, model="exact")
        rng = np.random.default_rng(2000 + repeat)
        start = {k: (v * (1.0 + 0.2 * rng.choice([-1.0, 1.0])) if k in _NONLINEAR else v) for k, v in truth.items()}
        if start["D0QS_max_K_A2"] <= start["D0QS_min_K_A2"]:
            start["D0QS_max_K_A2"] = 1.1 * start["D0QS_min_K_A2"]
        tracemalloc.start()
        t0 = time.perf_counter()
        result = fitting.fit_magnetization(data, "exact", start=start, P_star=pf.P_star, T0_K=pf.T0_K)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        times.append(elapsed)
        qs = result.parameters["charge_area_A2"]
        print(f"fit {repeat}: {elapsed:.2f} s, {result.nfev} model evaluations, {data.n_points} points, "
              f"reduced chi2 {result.chi2_reduced:.3f}, (Q/e)S = {qs.value:.0f} +- {qs.stderr:.0f} A^2 "
              f"(truth {truth['charge_area_A2']:.0f}), traced peak {peak / 2**20:.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"median fit time: {statistics.median(times):.2f} s (target <= 60 s, stretch 15 s); "
          f"max resident set {rss:.0f} MiB (target < 1024)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
