"""Speed and memory of the exact spectra and ensembles, three ways side by side; not a test.

    python benchmarks/run.py [--quick] [--json OUT]

Workloads (see benchmarks/README.md):

(a) 1e6 random three-level instances (Eq. 6), levels and phase slopes;
(b) the BK7 map: exact 3LS ATS ensemble with the seed's Table 3 parameters on a 64 x 64
    (T, B) grid, 1.5-300 K by 0.01-7 T, magnetisation, plus its accuracy against a refined
    quadrature;
(c) the same for the tetrahedral four-well ensemble on 16 x 16 (the coarser quadrature of
    simulations/four_well.toml);
(d) one 8-parameter ETM fit (Eq. 17) of about 500 points, if tunnelsim.fitting exists.

Paths: "qutip loop" (one Qobj per instance; timed on a subsample and extrapolated, labelled so),
"numpy batched" (numpy.linalg.eigh on stacks and the numpy thermodynamics: the reference path)
and "project" (the default path: tunnelsim.kernels, ensemble.compute). Slow reference paths
are timed on a subset of the fields and extrapolated (labelled). Wall times are the best of
the repeats; peak memory is what tracemalloc saw during one run (numpy arrays; numba's small
per-thread scratch is not traced); ratios are wall(path) / wall(project).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only add overhead

import numpy as np  # noqa: E402

from tunnelsim import distributions, ensemble, hamiltonians, kernels, spectra, systems, thermo, units  # noqa: E402

# The seed's Table 3 (BK7, constant-H fits) with (Q/e) S_Delta = 30000 A^2 (simulations/quickstart.toml).
CHARGE_AREA_A2 = 30000.0
N_ATS_PER_G = 1.352e16
D_MIN_K = 2.671e-2
D0QS_MIN_K_A2, D0QS_MAX_K_A2 = 2.717e5, 2.925e5
# (b): the quadrature converged to 1e-4 (about 1e-5 against the refined reference)
B_NODES = {"D": 20, "D_tail": 8, "D0": 3, "alpha": 36}
B_ORIENTATIONS = 6


def measure(fn, repeats=1):
    """Run ``fn`` ``repeats`` times: (best wall s, peak traced bytes of the first run, last result)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    walls = [time.perf_counter() - t0]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    for _ in range(repeats - 1):
        t0 = time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - t0)
    return min(walls), peak, result


class Table:
    """Rows of one workload; printed and kept for the JSON report."""

    def __init__(self, title, unit):
        self.title, self.unit, self.rows = title, unit, []

    def add(self, path, count, wall_s, peak_bytes, note=""):
        self.rows.append({"path": path, "count": count, "wall_s": wall_s, "peak_MB": peak_bytes / 2**20,
                          "throughput_per_s": count / wall_s if wall_s > 0 else math.inf, "note": note})

    def show(self, reference="project"):
        base = next((r["wall_s"] for r in self.rows if r["path"] == reference), None)
        print(f"\n== {self.title}")
        print(f"{'path':<34}{'wall s':>10}{self.unit + '/s':>16}{'peak MB':>10}{'x project':>11}  note")
        for r in self.rows:
            ratio = r["wall_s"] / base if base else math.nan
            r["ratio_to_project"] = ratio
            print(f"{r['path']:<34}{r['wall_s']:>10.3f}{r['throughput_per_s']:>16.4g}{r['peak_MB']:>10.1f}"
                  f"{ratio:>11.2f}  {r['note']}")


def random_three_level(n, seed=0):
    rng = np.random.default_rng(seed)
    D0 = np.exp(rng.uniform(math.log(0.1), math.log(10.0), n))
    E = (D0 * np.exp(rng.uniform(math.log(1e-2), math.log(1e2), n)))[:, None] * rng.normal(size=(n, 3))
    E -= E.mean(axis=-1, keepdims=True)
    return E, D0, rng.uniform(-2.0 * math.pi, 2.0 * math.pi, n)


def qutip_levels_and_slopes(H, dH):
    import qutip

    levels = np.empty(H.shape[:2][:1] + (H.shape[-1],))
    slopes = np.empty_like(levels)
    for i in range(H.shape[0]):
        vals, vecs = qutip.Qobj(H[i]).eigenstates()
        d = qutip.Qobj(dH[i])
        levels[i] = vals
        slopes[i] = [qutip.expect(d, v) for v in vecs]
    return levels, slopes


# --------------------------------------------------------------------------- (a)
def workload_a(args, report):
    n = 200_000 if args.quick else 1_000_000
    n_qutip = 500 if args.quick else 2000
    E, D0, phi = random_three_level(n)
    table = Table(f"(a) {n:.0e} random 3LS instances, levels and slopes", "instances")

    sub = slice(0, n_qutip)
    H, dH = hamiltonians.three_level(E[sub], D0[sub], phi[sub]), hamiltonians.three_level_derivatives(E[sub], D0[sub], phi[sub])[0]
    qutip_levels_and_slopes(H[:2], dH[:2])  # import and warm up outside the timing
    wall, peak, _ = measure(lambda: qutip_levels_and_slopes(H, dH))
    table.add("qutip loop", n, wall * n / n_qutip, peak, f"timed on {n_qutip}, extrapolated")

    def numpy_path():
        Hn = hamiltonians.three_level(E, D0, phi)
        return spectra.solve(Hn, hamiltonians.three_level_derivatives(E, D0, phi)[0])

    wall, peak, ref = measure(numpy_path, 1 if n > 500_000 else 2)
    table.add("numpy batched eigh", n, wall, peak)
    wall, peak, fast = measure(lambda: kernels.three_level_spectrum(E, D0, phi, couplings=False), args.repeats)
    table.add("project", n, wall, peak, "kernels.three_level_spectrum(couplings=False)")
    wall, peak, _ = measure(lambda: kernels.three_level_spectrum(E, D0, phi), args.repeats)
    table.add("project, with couplings+curvature", n, wall, peak, "eigenvectors too")
    table.show()
    level_err = float(np.max(np.abs(fast.levels - ref.levels).max(axis=-1) / np.abs(ref.levels).max(axis=-1)))
    slope_err = float(np.max(np.abs(fast.slopes - ref.slopes).max(axis=-1) / D0))
    print(f"accuracy vs eigh: levels {level_err:.2e} of max |level|, slopes {slope_err:.2e} of D0")
    report["a"] = {"rows": table.rows, "max_level_error_rel": level_err, "max_slope_error_rel_D0": slope_err}


# --------------------------------------------------------------------------- ensembles
def energy_scale_K(distribution, charge_area_A2, T, B):
    """The ensemble's largest resolved energy: max(T, D0_max, D0_max phi_max) (as ensemble.compute)."""
    phi_max = float(units.phase_per_tesla(charge_area_A2)) * float(np.max(B))
    return max(float(np.max(T)), distribution.D0_max_K * max(1.0, phi_max))


def reference_sums(system, nodes, rule_nodes, rule_weights, T, fields, chunk=2000):
    """Batched numpy path: reference spectra (eigh) and numpy thermodynamics, summed like the ensemble."""
    out = np.zeros((T.size, len(fields)))
    for j, B in enumerate(fields):
        for start in range(0, len(nodes), chunk):
            params = {k: np.asarray(v)[start:start + chunk] for k, v in nodes.params.items()}
            sp = system.spectrum(params, B, rule_nodes)
            th = thermo.thermodynamics(dataclass_without_couplings(sp), T, method="numpy")
            per_node = np.tensordot(th.magnetization, rule_weights, axes=([1], [0]))
            out[:, j] += (per_node * nodes.weights[start:start + chunk, None]).sum(axis=0)
    return out


def dataclass_without_couplings(sp):
    return spectra.Spectrum(levels=sp.levels, slopes=sp.slopes)


def qutip_ensemble_sample(system, nodes, rule_nodes, T, B, n_sample, builder):
    """Per-instance QuTiP eigenstates and thermal M at every temperature, for ``n_sample`` instances."""
    import qutip

    rng = np.random.default_rng(0)
    picks = rng.choice(len(nodes), size=n_sample)
    qutip.Qobj(np.eye(2)).eigenstates()  # warm up
    for i in picks:
        for u in rule_nodes[:1]:
            h, dh = builder(nodes, i, u, B)
            vals, vecs = qutip.Qobj(h).eigenstates()
            slopes = np.array([qutip.expect(qutip.Qobj(dh), v) for v in vecs])
            w = np.exp(-(vals - vals[0])[None, :] / T[:, None])
            _ = -(w @ slopes) / w.sum(axis=1)


def three_level_builder(charge_area):
    def build(nodes, i, u, B):
        rate = float(units.phase_per_tesla(charge_area, u))
        E, D0 = nodes.params["E"][i], nodes.params["D0"][i]
        return (hamiltonians.three_level(E, D0, rate * B),
                rate * hamiltonians.three_level_derivatives(E, D0, rate * B)[0])
    return build


def four_well_builder(charge_area):
    rate = float(units.phase_per_tesla(charge_area))

    def build(nodes, i, n, B):
        E, D0 = nodes.params["E"][i], nodes.params["D0"][i]
        return (hamiltonians.four_well(E, D0, rate * B * n),
                rate * hamiltonians.four_well_derivatives(E, D0, rate * B * n, n)[0])
    return build


def workload_b(args, report):
    nT = nB = 64
    T = np.geomspace(1.5, 300.0, nT)
    B = np.geomspace(0.01, 7.0, nB)
    dist = distributions.ATSDistribution(
        D_min_K=D_MIN_K, D0_min_K=D0QS_MIN_K_A2 / CHARGE_AREA_A2, D0_max_K=D0QS_MAX_K_A2 / CHARGE_AREA_A2
    )
    # converged to 1e-4: a quadrature coarser than the defaults (which reach about 1e-6 here),
    # checked below against a refined reference; every path uses the same nodes
    settings = ensemble.AveragingSettings(error_estimate=False, nodes=B_NODES, orientation_nodes=B_ORIENTATIONS)
    fast_system = systems.ThreeLevelSystem(CHARGE_AREA_A2)
    ens = ensemble.Ensemble(fast_system, dist, N_ATS_PER_G)
    nodes = dist.quadrature(nodes=B_NODES, energy_scale_K=energy_scale_K(dist, CHARGE_AREA_A2, T, B))
    rule = ensemble.default_orientation_rule(fast_system, settings)
    n_inst = len(nodes) * len(rule.weights) * nB
    table = Table(f"(b) BK7 map, exact 3LS ATS ensemble, {nT} x {nB} (T, B), magnetisation; "
                  f"{len(nodes)} nodes x {len(rule.weights)} orientations", "spectra")

    n_sample = 100 if args.quick else 400
    qutip_ensemble_sample(fast_system, nodes, rule.nodes, T, 3.0, 1, three_level_builder(CHARGE_AREA_A2))  # warm up
    wall, peak, _ = measure(lambda: qutip_ensemble_sample(
        fast_system, nodes, rule.nodes, T, 3.0, n_sample, three_level_builder(CHARGE_AREA_A2)))
    table.add("qutip loop", n_inst, wall * n_inst / n_sample, peak,
              f"{n_sample} instances x {nT} T timed, extrapolated")

    sub = B[:: 32 if args.quick else 16]
    eigh_system = systems.ThreeLevelSystem(CHARGE_AREA_A2, solver="eigh")
    wall, peak, ref_sub = measure(lambda: reference_sums(eigh_system, nodes, rule.nodes, rule.weights, T, sub))
    table.add("numpy batched eigh", n_inst, wall * nB / sub.size, peak, f"{sub.size} fields timed, extrapolated")

    def project():
        return ensemble.compute(ens, T, B, settings=settings)

    wall, peak, res = measure(project, args.repeats)
    table.add("project", n_inst, wall, peak, "ensemble.compute: SIMD closed form, fused sums")

    def fused():
        out = np.zeros((nT, nB))
        for j, field in enumerate(B):
            totals, _ = fast_system.thermal_sums(nodes.params, nodes.weights, field, rule.nodes, rule.weights, T,
                                                 ["magnetization"])
            out[:, j] = totals["magnetization"]
        return out

    wall_f, peak_f, fused_sum = measure(fused, args.repeats)
    table.add("project, fused sums only", n_inst, wall_f, peak_f, "ThreeLevelSystem.thermal_sums per field, no ensemble.compute")
    default_settings = ensemble.AveragingSettings(error_estimate=False)
    wall_d, peak_d, res_d = measure(lambda: ensemble.compute(ens, T, B, settings=default_settings))
    table.add("project, default quadrature", res_d.info["n_parameter_nodes"] * res_d.info["n_orientations"] * nB,
              wall_d, peak_d, "ensemble.compute with AveragingSettings() (about 1e-6)")
    table.show()

    to_emu = N_ATS_PER_G * float(units.kelvin_per_tesla_to_emu(1.0))
    M = res.values["magnetization"]
    cols = [int(np.argmin(np.abs(B - b))) for b in sub]
    agree_eigh = float(np.max(np.abs(ref_sub * to_emu - M[:, cols])) / np.max(np.abs(M)))
    agree_fused = float(np.max(np.abs(fused_sum * to_emu - M)) / np.max(np.abs(M)))
    # refined reference: every node count doubled and twice the orientations, on a subgrid
    step = 16 if args.quick else 8
    refined = ensemble.compute(ens, T[::step], B[::step], settings=ensemble.AveragingSettings(
        level=1, orientation_nodes=16, error_estimate=False))
    Mr = refined.values["magnetization"]
    def errors(values):
        sub = values[::step, ::step]
        return (float(np.max(np.abs(sub - Mr)) / np.max(np.abs(Mr))),
                float(np.max(np.abs(sub - Mr) / np.maximum(np.abs(Mr), 1e-3 * np.abs(Mr).max()))))

    quad_err, point_err = errors(M)
    default_err, default_point = errors(res_d.values["magnetization"])
    print(f"fast vs eigh on the timed fields: {agree_eigh:.1e} of max |M|; fused vs ensemble.compute: {agree_fused:.1e}")
    print(f"vs refined quadrature (level 1, 16 orientations) on {Mr.shape[0]} x {Mr.shape[1]}: "
          f"{quad_err:.1e} of max |M|, {point_err:.1e} pointwise (target 1e-4); default quadrature "
          f"{default_err:.1e}, {default_point:.1e}")
    report["b"] = {"rows": table.rows, "fast_vs_eigh": agree_eigh, "fused_vs_compute": agree_fused,
                   "vs_refined_max": quad_err, "vs_refined_pointwise": point_err,
                   "default_vs_refined_max": default_err, "default_vs_refined_pointwise": default_point,
                   "n_nodes": len(nodes), "n_orientations": len(rule.weights)}


def workload_c(args, report):
    nT = nB = 16
    T = np.geomspace(1.5, 300.0, nT)
    B = np.geomspace(0.01, 7.0, nB)
    dist = distributions.FourWellATSDistribution(
        D_min_K=D_MIN_K, D0_min_K=D0QS_MIN_K_A2 / CHARGE_AREA_A2, D0_max_K=D0QS_MAX_K_A2 / CHARGE_AREA_A2
    )
    settings = ensemble.AveragingSettings(error_estimate=False, sphere_degree=5,
                                          nodes={"D": 12, "D_tail": 6, "D0": 3, "direction": 10})
    system = systems.FourWellSystem(CHARGE_AREA_A2)
    ens = ensemble.Ensemble(system, dist, N_ATS_PER_G)
    nodes = dist.quadrature(nodes=settings.nodes, energy_scale_K=energy_scale_K(dist, CHARGE_AREA_A2, T, B))
    rule = ensemble.default_orientation_rule(system, settings)
    n_inst = len(nodes) * len(rule.weights) * nB
    table = Table(f"(c) four-well ATS ensemble, {nT} x {nB}, magnetisation; {len(nodes)} nodes x "
                  f"{len(rule.weights)} directions (simulations/four_well.toml rules)", "spectra")
    n_sample = 50 if args.quick else 200
    qutip_ensemble_sample(system, nodes, rule.nodes, T, 3.0, 1, four_well_builder(CHARGE_AREA_A2))  # warm up
    wall, peak, _ = measure(lambda: qutip_ensemble_sample(
        system, nodes, rule.nodes, T, 3.0, n_sample, four_well_builder(CHARGE_AREA_A2)))
    table.add("qutip loop", n_inst, wall * n_inst / n_sample, peak, f"{n_sample} instances timed, extrapolated")
    sub = B[:: 8 if args.quick else 4]
    eigh_system = systems.FourWellSystem(CHARGE_AREA_A2, solver="eigh")
    wall, peak, ref_sub = measure(lambda: reference_sums(eigh_system, nodes, rule.nodes, rule.weights, T, sub))
    table.add("numpy batched eigh", n_inst, wall * nB / sub.size, peak, f"{sub.size} fields timed, extrapolated")
    wall, peak, res = measure(lambda: ensemble.compute(ens, T, B, settings=settings), args.repeats)
    table.add("project", n_inst, wall, peak, "ensemble.compute: SIMD Jacobi, fused sums, antipodal pairs folded")
    table.show()
    to_emu = N_ATS_PER_G * float(units.kelvin_per_tesla_to_emu(1.0))
    M = res.values["magnetization"]
    cols = [int(np.argmin(np.abs(B - b))) for b in sub]
    agree = float(np.max(np.abs(ref_sub * to_emu - M[:, cols])) / np.max(np.abs(M)))
    print(f"fast vs eigh on the timed fields: {agree:.1e} of max |M|")
    report["c"] = {"rows": table.rows, "fast_vs_eigh": agree, "n_nodes": len(nodes), "n_orientations": len(rule.weights)}


def workload_d(args, report):
    try:
        from tunnelsim import fitting
        from tunnelsim.fitting import parameters, synth
    except ImportError:
        print("\n== (d) skipped: tunnelsim.fitting is not available")
        report["d"] = {"skipped": "tunnelsim.fitting missing"}
        return
    from pathlib import Path

    params = Path(__file__).resolve().parent.parent / "simulations" / "bk7_synthetic_params.toml"
    pf = parameters.load_parameter_file(params)
    truth = pf.values()
    data = synth.synthesize(truth, pf.runs, pf.noise, seed=0)
    start = {k: v * (1.0 + 0.2 * s) for (k, v), s in zip(truth.items(), np.random.default_rng(1000).choice([-1.0, 1.0], len(truth)))}
    if start["D0QS_max_K_A2"] <= start["D0QS_min_K_A2"]:
        start["D0QS_max_K_A2"] = 1.2 * start["D0QS_min_K_A2"]
    wall, peak, result = measure(lambda: fitting.fit_magnetization(data, "etm", start=start, P_star=pf.P_star, T0_K=pf.T0_K))
    table = Table(f"(d) one {result.n_varied}-parameter ETM fit of {data.n_points} points (analytic Eq. 17)", "fits")
    table.add("project", 1, wall, peak, f"{result.nfev} model evaluations; no eigensolver involved")
    table.show()
    report["d"] = {"rows": table.rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (about a minute)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument("--only", default="abcd", help="workloads to run, e.g. 'ab'")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the project paths (best is kept)")
    args = parser.parse_args(argv)
    import numba

    t0 = time.perf_counter()
    kernels.three_level_spectrum(np.zeros((2, 3)), 1.0, 0.5)
    kernels.thermal_observable("magnetization", np.zeros((2, 3)), np.ones(2), slopes=np.zeros((2, 3)))
    kernels.three_level_sums(np.zeros((2, 3)), np.ones(2), np.ones(2), np.ones(1), np.ones(1), np.ones(1), np.ones(1), ["magnetization"])
    warm = time.perf_counter() - t0
    report = {
        "machine": {"python": sys.version.split()[0], "numpy": np.__version__, "numba": numba.__version__,
                    "cpus": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "platform": platform.platform(), "load_average": os.getloadavg()},
        "quick": args.quick,
        "kernel_warmup_s": warm,
    }
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}; "
          f"kernel compile / cache load {warm:.1f} s")
    for key, fn in (("a", workload_a), ("b", workload_b), ("c", workload_c), ("d", workload_d)):
        if key in args.only:
            fn(args, report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=float)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
