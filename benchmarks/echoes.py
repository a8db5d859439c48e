"""Speed, memory and accuracy of the two-pulse echo code (tunnelsim.dielectric.echoes); not a test.

    python benchmarks/echoes.py [--quick] [--json OUT] [--figure PNG]

Workloads (results in benchmarks/echoes.md):

(e1) ATS 3LS ensemble (Eq. 6 + Eq. 7, the seed's Table 3 scale: (Q/e) S = 30000 A^2, D0 = 9.4 K,
     D from D_min = 26.71 mK to 0.1 K), 10^4 quadrature nodes (50 in ln D x 200 in u) x 64 fields
     (0-50 mT), 1 GHz carrier, 10 mK, rotating-wave propagation (the compiled 3LS path), echo
     pathway; the same with the full signal; the quadrature error against nodes doubled in D and u;
     the numpy eigh path (echo_amplitude) on every 4th field, for speed and agreement.
(e2) STM 2LS ensemble, 10^4 nodes x 64 fields (no field coupling: propagated once).
(e3) the exact full-cos propagation (sixth-order Magnus + Floquet squaring) on an ensemble of small
     resonant rings (D0 = 20-30 mK, so the level spread is a few carrier quanta), 3 fields,
     extrapolated to 10^4 x 64; its distance to the RWA.
(e4) QuTiP mesolve (vern9, atol = rtol = 1e-12) on single systems of (e3), extrapolated, and its
     distance to the exact path.

Wall times are best of the repeats; peak memory is what tracemalloc saw in one run (numpy arrays).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only add overhead

import numpy as np  # noqa: E402
from scipy import constants  # noqa: E402

from run import measure  # noqa: E402  (benchmarks/run.py: best wall time and traced peak)
from tunnelsim import hamiltonians, units  # noqa: E402
from tunnelsim.dielectric import dipoles, echoes  # noqa: E402

FREQUENCY_HZ = 1e9
TEMPERATURE_K = 0.01
CHARGE_AREA_A2 = 30000.0
D0_K = 9.4  # middle of Table 3's D0 (Q/e) S range over 30000 A^2: 9.06-9.75 K
D_MIN_K = 2.671e-2  # Table 3
# pi/2 pulse for a 1 D transition dipole at a 20 MHz Rabi frequency; pi pulse; tau = 1 us
RABI_HZ = 20e6
SEQUENCE = echoes.EchoSequence(
    pulse1_s=0.25 / RABI_HZ, pulse2_s=0.5 / RABI_HZ, delay_s=1e-6, frequency_Hz=FREQUENCY_HZ,
    field_amplitude_V_per_m=float(echoes.field_for_rabi_frequency(RABI_HZ, 1.0)))


def ring_dipoles(u, beta):
    """Dipole operators along F parallel to B: F at polar cosine u to the loop normal, azimuth beta."""
    s = np.sqrt(1.0 - u**2)
    direction = np.stack([s * np.cos(beta), s * np.sin(beta), u], axis=-1)
    return dipoles.dipole_operator(dipoles.well_dipoles(dipoles.ring_positions(3), 1.0), direction)


def ats_quadrature(n_D, n_u, n_alpha=1, D_range_K=(D_MIN_K, 0.1)):
    """Product rule for P* dalpha dD/D du (D0 fixed): midpoint in ln D, u = cos(theta) and alpha.

    The resonance is narrow (relative width about the Rabi over the carrier frequency, 1e-2) in the
    gap, so it needs fine steps in ln D (the B = 0 resonance) and in u (at B > 0 every system with
    D << D0 phi u has the gap (2/sqrt 3) D0 phi u, so the resonant ones lie on a thin shell in u).
    The azimuth beta of the field in the loop plane is tied to alpha (beta = alpha + pi/4): a lattice
    rule on the (alpha, beta) torus. Weights are normalised to sum 1 over the window.
    """
    lnD = np.log(D_range_K[0]) + (np.arange(n_D) + 0.5) / n_D * np.log(D_range_K[1] / D_range_K[0])
    alpha = 2 * math.pi * (np.arange(n_alpha) + 0.5) / n_alpha
    u = (np.arange(n_u) + 0.5) / n_u
    gD, ga, gu = (a.ravel() for a in np.meshgrid(np.exp(lnD), alpha, u, indexing="ij"))
    params = {"E": hamiltonians.asymmetries_from_polar(gD, ga), "D0": np.full(gD.size, D0_K), "cos_theta": gu}
    return params, np.full(gD.size, 1.0 / gD.size), ring_dipoles(gu, ga + math.pi / 4)


def stm_quadrature(n_delta=50, n_delta0=50, n_u=4):
    """STM 2LS: Delta uniform on [0, 0.2] K, Delta0 log-uniform on [1e-3, 0.2] K, cos(theta) Gauss-Legendre."""
    delta = (np.arange(n_delta) + 0.5) / n_delta * 0.2
    lnd0 = np.log(1e-3) + (np.arange(n_delta0) + 0.5) / n_delta0 * np.log(200.0)
    x, wx = np.polynomial.legendre.leggauss(n_u)
    gd, gd0, gu = (a.ravel() for a in np.meshgrid(delta, np.exp(lnd0), x, indexing="ij"))
    gw = np.meshgrid(delta, lnd0, wx, indexing="ij")[2].ravel()
    return {"delta": gd, "delta0": gd0}, gw / gw.sum(), dipoles.two_level_dipole_operator(1.0, gu)


def small_rings(n, seed=11):
    """Small rings (D0 = 20-30 mK) whose lower gap at B = 0 lies within 5 % of the carrier quantum.

    Their levels lie within a few carrier quanta, so the exact path is affordable, and they are
    resonant, so the comparison with the RWA means something (far off resonance the RWA does not hold).
    """
    rng = np.random.default_rng(seed)
    quantum_K = constants.h * FREQUENCY_HZ / constants.k
    keep = {"E": [], "D0": [], "u": []}
    while len(keep["u"]) < n:
        D = rng.uniform(0.005, 0.12, 4 * n)
        E = hamiltonians.asymmetries_from_polar(D, rng.uniform(0, 2 * math.pi, 4 * n))
        D0 = rng.uniform(0.02, 0.03, 4 * n)
        levels = np.linalg.eigvalsh(hamiltonians.three_level(E, D0, 0.0))
        ok = np.abs((levels[:, 1] - levels[:, 0]) / quantum_K - 1.0) < 0.05
        keep["E"].extend(E[ok]), keep["D0"].extend(D0[ok]), keep["u"].extend(rng.uniform(0, 1, ok.sum()))
    u = np.array(keep["u"][:n])
    params = {"E": np.array(keep["E"][:n]), "D0": np.array(keep["D0"][:n]), "cos_theta": u}
    return params, np.full(n, 1.0 / n), ring_dipoles(u, rng.uniform(0, 2 * math.pi, n))


def qutip_echo(h, p, sequence):
    """Full-signal echo envelope of one system from QuTiP mesolve, one segment at a time."""
    import qutip

    scale = constants.k / constants.hbar * 1e-9  # rad/ns per K
    levels, vecs = np.linalg.eigh(h)
    pops = np.exp(-(levels - levels[0]) / TEMPERATURE_K)
    rho = qutip.Qobj(vecs @ np.diag(pops / pops.sum()) @ vecs.conj().T)
    h0 = qutip.Qobj(h * scale)
    drive = qutip.Qobj(-sequence.field_amplitude_V_per_m * units.DEBYE_C_M / constants.hbar * 1e-9 * p)
    omega = 2 * math.pi * sequence.frequency_Hz * 1e-9
    options = {"atol": 1e-12, "rtol": 1e-12, "nsteps": 10**8, "method": "vern9"}
    bounds = [0.0, sequence.pulse1_s, sequence.pulse2_start_s, sequence.pulse2_end_s, sequence.echo_time_s]
    for index in range(4):
        ham = h0 if index % 2 else qutip.QobjEvo([h0, [drive, lambda t: math.cos(omega * t)]])
        rho = qutip.mesolve(ham, rho, [bounds[index] * 1e9, bounds[index + 1] * 1e9], options=options).states[-1]
    r = vecs.conj().T @ rho.full() @ vecs
    pe = vecs.conj().T @ p @ vecs
    quanta = np.rint((levels - levels[0]) / (constants.h * sequence.frequency_Hz / constants.k))
    mask = quanta[:, None] - quanta[None, :] == 1
    return 2 * np.sum(np.where(mask, r * pe.T, 0.0)) * np.exp(1j * sequence.carrier_phase(sequence.echo_time_s))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument("--figure", metavar="PNG", help="plot |A(B)| of the 3LS and 2LS ensembles")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    report = {"machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "numpy": np.__version__}}
    n_fields = 16 if args.quick else 64
    fields = np.linspace(0.0, 0.05, n_fields)
    n_D, n_u = (25, 100) if args.quick else (50, 200)

    # (e1) 3LS ATS ensemble, RWA
    params, weights, p = ats_quadrature(n_D, n_u)
    n_sys = weights.size
    run = lambda pathway, prm=params, w=weights, pp=p: echoes.echo_amplitude_vs_field(  # noqa: E731
        "three_level", prm, w, pp, fields, SEQUENCE, TEMPERATURE_K, charge_area_A2=CHARGE_AREA_A2, pathway=pathway)
    wall, peak, a3 = measure(lambda: run("echo"), args.repeats)
    count = n_sys * n_fields
    print(f"(e1) 3LS RWA echo pathway: {n_sys} nodes x {n_fields} fields: {wall:.2f} s, "
          f"{wall / count * 1e6:.2f} us per system-field, {wall / n_fields:.3f} s per field, "
          f"peak {peak / 2**20:.1f} MiB")
    wall_all, peak_all, a3_all = measure(lambda: run("all"), 1)
    print(f"     full signal: {wall_all:.2f} s, peak {peak_all / 2**20:.1f} MiB")
    sub = slice(None, None, 4)
    refined = ats_quadrature(2 * n_D, 2 * n_u)
    a3_ref = echoes.echo_amplitude_vs_field("three_level", *refined[:2], refined[2], fields[sub], SEQUENCE,
                                            TEMPERATURE_K, charge_area_A2=CHARGE_AREA_A2)
    quad_err = float(np.abs(a3[sub] - a3_ref).max() / np.abs(a3_ref).max())
    variation = float(np.ptp(np.abs(a3)) / np.abs(a3).max())
    print(f"     |A| varies by {variation:.3f} of its maximum over 0-50 mT; against the refined rule (nodes "
          f"doubled in D and u, every 4th field) {quad_err:.2e} of max|A|; full signal vs echo pathway "
          f"{np.abs(a3_all - a3).max() / np.abs(a3).max():.2e}")
    # the numpy eigh path (echo_amplitude per chunk) on every 4th field: speed-up and agreement
    def numpy_path():
        out = []
        for b in fields[sub]:
            phi = units.ab_phase(b, params["cos_theta"], CHARGE_AREA_A2)
            h = hamiltonians.three_level(params["E"], params["D0"], phi)
            out.append(weights @ echoes.echo_amplitude(h, p, SEQUENCE, TEMPERATURE_K))
        return np.array(out)

    wall_np, _, a3_np = measure(numpy_path, 1)
    per_np = wall_np / (n_sys * fields[sub].size)
    numpy_dev = float(np.abs(a3[sub] - a3_np).max() / np.abs(a3_np).max())
    print(f"     numpy eigh path: {per_np * 1e6:.2f} us per system-field ({per_np * count / wall:.1f}x the compiled "
          f"path); compiled vs numpy {numpy_dev:.1e} of max|A|")
    report["e1"] = {"nodes": n_sys, "fields": n_fields, "wall_s": wall, "numpy_us_per_system_field": per_np * 1e6,
                    "compiled_vs_numpy_rel": numpy_dev, "us_per_system_field": wall / count * 1e6,
                    "peak_MiB": peak / 2**20, "wall_all_s": wall_all, "variation_rel": variation,
                    "quadrature_error_rel": quad_err, "field_T": fields.tolist(), "abs_A": np.abs(a3).tolist(),
                    "abs_A_full_signal": np.abs(a3_all).tolist()}

    # (e2) 2LS STM ensemble
    tls, w2, p2 = stm_quadrature(*((25, 25, 4) if args.quick else (50, 50, 4)))
    wall2, peak2, a2 = measure(lambda: echoes.echo_amplitude_vs_field("two_level", tls, w2, p2, fields, SEQUENCE,
                                                                      TEMPERATURE_K), args.repeats)
    spread2 = float(np.ptp(np.abs(a2)) / np.abs(a2).max())
    print(f"(e2) 2LS RWA: {w2.size} nodes x {n_fields} fields: {wall2:.3f} s "
          f"({wall2 / w2.size * 1e6:.2f} us per system, propagated once), peak {peak2 / 2**20:.1f} MiB; "
          f"|A| spread over B {spread2:.1e}")
    report["e2"] = {"nodes": w2.size, "wall_s": wall2, "us_per_system": wall2 / w2.size * 1e6,
                    "peak_MiB": peak2 / 2**20, "spread_rel": spread2, "abs_A": np.abs(a2).tolist()}

    # (e3) exact path on small rings
    n_small = 100 if args.quick else 400
    small_fields = np.array([0.0, 0.02, 0.05])
    rp, rw, rd = small_rings(n_small)
    exact = lambda: echoes.echo_amplitude_vs_field("three_level", rp, rw, rd, small_fields, SEQUENCE,  # noqa: E731
                                                   TEMPERATURE_K, charge_area_A2=CHARGE_AREA_A2, method="exact")
    wall3, peak3, ae = measure(exact, 1)
    ar = echoes.echo_amplitude_vs_field("three_level", rp, rw, rd, small_fields, SEQUENCE, TEMPERATURE_K,
                                        charge_area_A2=CHARGE_AREA_A2)
    spread_K = np.ptp(rp["E"], axis=-1) + 4 * rp["D0"]
    steps = 48 * math.ceil(spread_K.max() / (constants.h * FREQUENCY_HZ / constants.k))
    per3 = wall3 / (n_small * small_fields.size)
    rwa_dev = float(np.abs(ae - ar).max() / np.abs(ae).max())
    print(f"(e3) exact: {n_small} small rings x {small_fields.size} fields ({steps} steps per period): {wall3:.1f} s, "
          f"{per3 * 1e3:.2f} ms per system-field (1e4 x 64 extrapolated: {per3 * 6.4e5 / 3600:.1f} h), "
          f"peak {peak3 / 2**20:.1f} MiB; RWA differs by {rwa_dev:.2e} of max|A|")
    big_steps = 48 * math.ceil((3 * D0_K + 0.1) / (constants.h * FREQUENCY_HZ / constants.k))
    print(f"     the (e1) ensemble would need {big_steps} steps per period (about {big_steps / steps:.0f}x more)")
    report["e3"] = {"systems": n_small, "fields": small_fields.size, "steps_per_period": steps, "wall_s": wall3,
                    "ms_per_system_field": per3 * 1e3, "peak_MiB": peak3 / 2**20, "rwa_deviation_rel": rwa_dev,
                    "steps_per_period_e1_ensemble": big_steps}

    # (e4) QuTiP on single systems of (e3)
    n_q = 2 if args.quick else 5
    phi = units.ab_phase(0.02, rp["cos_theta"][:n_q], CHARGE_AREA_A2)
    hq = hamiltonians.three_level(rp["E"][:n_q], rp["D0"][:n_q], phi)
    qutip_echo(hq[0], rd[0], SEQUENCE)  # import and warm up
    wall4, _, aq = measure(lambda: [qutip_echo(hq[i], rd[i], SEQUENCE) for i in range(n_q)], 1)
    mine = echoes.echo_amplitude(hq, rd[:n_q], SEQUENCE, TEMPERATURE_K, method="exact", pathway="all")
    dev = float(np.abs(np.array(aq) - mine).max())
    print(f"(e4) QuTiP mesolve: {wall4 / n_q:.2f} s per system-field (1e4 x 64 extrapolated: "
          f"{wall4 / n_q * 6.4e5 / 86400:.1f} days); exact path differs by {dev:.1e} D "
          f"(|A| up to {np.abs(mine).max():.3f} D)")
    report["e4"] = {"systems": n_q, "s_per_system_field": wall4 / n_q, "max_abs_deviation_D": dev}

    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.plot(fields * 1e3, np.abs(a3) / np.abs(a3[0]), label="3LS ATS ensemble (echo pathway)")
        ax.plot(fields * 1e3, np.abs(a2) / np.abs(a2[0]), label="STM 2LS ensemble")
        ax.set_xlabel("B (mT)")
        ax.set_ylabel("|A(B)| / |A(0)|")
        ax.set_title(f"two-pulse echo, {FREQUENCY_HZ / 1e9:g} GHz, {TEMPERATURE_K * 1e3:g} mK, "
                     f"(Q/e)S = {CHARGE_AREA_A2:g} A$^2$", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)
        print(f"figure: {args.figure}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
