"""Fused sums with few nodes under a large orientation rule: orientation blocks on threads; not a test.

    python benchmarks/orientation_split.py

The quickstart ensemble with small node counts (``nodes = {D = 2, D_tail = 2, D0 = 1, alpha = 2}``)
and a planar rule of 256 orientations, and the four-well ensemble of ``simulations/four_well.toml``
with small node counts and a sphere rule of degree 61, each computed with the default embedded
error estimate (which needs no squares) at 64 temperatures and 4 fields: wall time, best of 5,
with the orientation split on (the default) and off (one block, as before), on every thread numba has.
Results in ``benchmarks/README.md``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numba
import numpy as np

from tunnelsim import config, ensemble, runner
from tunnelsim.kernels import thermal

ROOT = Path(__file__).resolve().parents[1]


def _case(name, nodes, **orientation):
    cfg = config.parse_config((ROOT / "simulations" / name).read_text(), name)
    ens = runner.build_ensemble(cfg)[0]
    settings = ensemble.AveragingSettings(nodes=nodes, error_estimate="embedded", **orientation)
    return ens, settings, list(dict.fromkeys(cfg.output.observables))


def _best(ens, settings, names, repeats=5):
    T, B = np.geomspace(1.0, 100.0, 64), np.array([0.5, 1.0, 3.0, 6.5])
    rule = ensemble.default_orientation_rule(ens.system, settings)
    ensemble.compute(ens, T[:2], B[:1], names, settings, rule)  # compile
    best, res = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        res = ensemble.compute(ens, T, B, names, settings, rule)
        best = min(best, time.perf_counter() - started)
    return best, res


def main():
    cases = [
        ("three-level, 256 orientations", _case("quickstart.toml", {"D": 2, "D_tail": 2, "D0": 1, "alpha": 2},
                                                 orientation_nodes=256)),
        ("four-well, sphere degree 61", _case("four_well.toml", {"D": 2, "D_tail": 2, "D0": 1, "direction": 2},
                                              sphere_degree=61)),
    ]
    blocks = thermal._orientation_blocks
    print(f"threads: {numba.get_num_threads()}")
    for label, (ens, settings, names) in cases:
        on, res_on = _best(ens, settings, names)
        thermal._orientation_blocks = lambda n, k, squares: 1
        try:
            off, res_off = _best(ens, settings, names)
        finally:
            thermal._orientation_blocks = blocks
        diff = max(float(np.max(np.abs(res_on.values[n] - res_off.values[n]) / np.max(np.abs(res_off.values[n]))))
                   for n in names)
        print(f"{label}: {res_on.info['n_parameter_nodes']} nodes x {res_on.info['n_orientations']} orientations; "
              f"split {on:.3f} s, one block {off:.3f} s ({off / on:.2f}x); values differ by {diff:.1e} relative")


if __name__ == "__main__":
    main()
