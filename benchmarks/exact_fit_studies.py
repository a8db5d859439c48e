"""Studies of exact-model fits (Eq. 17 with the exact three-level ATS ensemble); not a test.

Five studies, each writing a markdown section with its numbers:

* ``recovery``: ``simulations/bk7_exact_params.toml`` synthesized with noise seeds 0..N-1, each fitted
  with ``--model exact`` from the automatic start (``estimate_start``), then profile-likelihood
  intervals of every nonlinear parameter; per parameter, how often the truth is inside the 95 %
  interval; total n(Fe) and chi_L within 1 %, (Q/e) S within 10 % of the truth.
* ``etm``: the seed-0 exact data fitted with ``etm`` and ``etm11`` (``compare_models`` on
  ll, etm, etm11, exact): bias of each shared parameter, chi^2, AIC difference to exact, AIC's choice.
* ``eq10``: Eq. 10 data (``simulations/bk7_synthetic_params.toml``, seed 0) fitted with ``exact``:
  the (Q/e) S it finds (small-area limit, flagged, at a bound?) and chi^2 against the etm fit.
* ``table3``: the same data, the exact model started from Table 3 (and a few (Q/e) S): how far each
  Table 3 parameter moves.
* ``fourwell``: the four-well ensemble M(T, B) of ``tunnelsim run simulations/four_well.toml``
  fitted with the exact three-level model (Larmor-Langevin terms fixed at 0).

    python benchmarks/exact_fit_studies.py [--study NAME] [--draws N] [--first-seed K]
                                          [--no-intervals] [--out FILE.md] [--jsonl FILE]

Per-draw results of ``recovery`` are appended to ``--jsonl`` as they finish (so a long study can be
split over processes, ``--first-seed``, and reported with ``--report-only``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tunnelsim import fitting
from tunnelsim.fitting import parameters, synth
from tunnelsim.fitting.compare import compare_models
from tunnelsim.fitting.data import make_dataset
from tunnelsim.fitting.intervals import profile_intervals
from tunnelsim.fitting.start import estimate_start
from tunnelsim.units import DEFAULT_P_STAR

ROOT = Path(__file__).resolve().parent.parent
EXACT_PARAMS = ROOT / "simulations" / "bk7_exact_params.toml"
ETM_PARAMS = ROOT / "simulations" / "bk7_synthetic_params.toml"
FOUR_WELL = ROOT / "simulations" / "four_well.toml"
NONLINEAR = ("n_ATS_per_g", "D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2", "delta_mu_K")
LL = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe")
TABLE3 = LL + ("n_ATS_per_g", "D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "delta_mu_K")


def say(line):
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def g(x, digits=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def flags_of(result):
    return [f"{n}: {r}" for n, r in result.flags]


# ---------------------------------------------------------------------------------------------- 1
def recovery_draw(seed, intervals):
    pf = parameters.load_parameter_file(EXACT_PARAMS)
    truth = pf.values()
    data = synth.synthesize(truth, pf.runs, pf.noise, seed=seed, P_star=pf.P_star, T0_K=pf.T0_K, model="exact")
    kw = dict(P_star=pf.P_star, T0_K=pf.T0_K)
    t0 = time.perf_counter()
    est = estimate_start(data, "exact", **kw)
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = fitting.fit_magnetization(data, "exact", start=dict(est.values), **kw)
    t_fit = time.perf_counter() - t0
    t_prof, refits, restarted = 0.0, None, False
    if intervals:
        t0 = time.perf_counter()
        names = [n for n in NONLINEAR if n in res.parameters and res.parameters[n].vary]
        res = profile_intervals(data, res, names=names, model="exact", start=dict(est.values), **kw,
                                progress=lambda line: say(f"seed {seed}: {line}"))
        t_prof = time.perf_counter() - t0
        refits = res.profile.total_refits if hasattr(res.profile, "total_refits") else None
        restarted = res.profile.better_fit is not None
    out = {"seed": seed, "t_start": t_start, "t_fit": t_fit, "t_profile": t_prof, "refits": refits,
           "better_fit_found": restarted, "chi2": res.chi2, "chi2_reduced": res.chi2_reduced, "n": res.n_points,
           "start": {n: float(v) for n, v in est.values.items()}, "flags": flags_of(res), "params": {}}
    for n, p in res.parameters.items():
        ci = p.interval("ci95")
        out["params"][n] = {"value": p.value, "stderr": p.stderr, "truth": truth.get(n),
                            "ci95": None if ci is None else [ci.low, ci.high, ci.low_open, ci.high_open]}
    tot = res.derived.get("n_Fe_total_per_g")
    out["n_Fe_total"] = None if tot is None else tot.value
    out["n_Fe_total_truth"] = truth["n_Fe2_per_g"] + truth["n_Fe3_per_g"]
    return out


def recovery_report(rows, intervals):
    rows = sorted(rows, key=lambda r: r["seed"])
    n = len(rows)
    lines = [f"## 1. Recovery from exact-model data ({n} noise draws)", "",
             "`bk7_exact_params.toml` (456 points, 0.02 % noise), noise seeds "
             f"{', '.join(str(r['seed']) for r in rows)}; each fit from `estimate_start` (no given values), "
             + ("then (where the profile time is > 0) profile-likelihood 95 % intervals of every nonlinear parameter (`profile_intervals`, "
                "the library's refit cap and tolerance for `exact`)." if intervals else "no intervals."), ""]
    hdr = ["seed", "start s", "fit s", "profile s", "chi2/n", "n(Fe) tot /truth-1", "chi_L /truth-1",
           "(Q/e)S /truth-1", "flags"]
    body = []
    ok = {"nfe": 0, "chil": 0, "qs": 0}
    for r in rows:
        p = r["params"]
        e_fe = r["n_Fe_total"] / r["n_Fe_total_truth"] - 1
        e_cl = p["chi_L_emu_per_g_Oe"]["value"] / p["chi_L_emu_per_g_Oe"]["truth"] - 1
        e_qs = p["charge_area_A2"]["value"] / p["charge_area_A2"]["truth"] - 1
        ok["nfe"] += abs(e_fe) < 0.01
        ok["chil"] += abs(e_cl) < 0.01
        ok["qs"] += abs(e_qs) < 0.10
        body.append([r["seed"], f"{r['t_start']:.0f}", f"{r['t_fit']:.0f}", f"{r['t_profile']:.0f}",
                     f"{r['chi2'] / r['n']:.3f}", f"{e_fe:+.2e}", f"{e_cl:+.2e}", f"{e_qs:+.3f}",
                     len(r["flags"])])
    lines += [table(hdr, body), ""]
    lines += [f"Total n(Fe) within 1 %: **{ok['nfe']}/{n}**; chi_L within 1 %: **{ok['chil']}/{n}**; "
              f"(Q/e) S within 10 %: **{ok['qs']}/{n}**.", ""]
    # coverage
    hdr = ["parameter", "truth", "median fitted/truth", "rms (fitted/truth-1)", "median rel. stderr",
           "truth in 95 % profile CI", "truth within 1.96 stderr", "open ends", "95 % ends not closed"]
    body = []
    for name in rows[0]["params"]:
        vals = [r["params"][name] for r in rows]
        truth = vals[0]["truth"]
        if truth is None:
            continue
        ratio = np.array([v["value"] / truth for v in vals])
        rel = [v["stderr"] / abs(v["value"]) for v in vals if v["stderr"] is not None and v["value"]]
        cis = [v["ci95"] for v in vals if v["ci95"] is not None]
        inside = sum(1 for c in cis if c[0] <= truth <= c[1])
        opened = sum(1 for c in cis if c[2] or c[3])
        se_in = sum(1 for v in vals if v["stderr"] is not None and abs(v["value"] - truth) <= 1.96 * v["stderr"])
        unclosed = sum(1 for r in rows for f in r["flags"]
                       if f.startswith(f"{name}: 95 % interval") and ("not closed" in f or "open" in f))
        body.append([f"`{name}`", g(truth), f"{np.median(ratio):.4f}", f"{np.sqrt(np.mean((ratio - 1) ** 2)):.2e}",
                     f"{np.median(rel):.2e}" if rel else "-", f"{inside}/{len(cis)}" if cis else "not profiled",
                     f"{se_in}/{len(vals)}", opened if cis else "-", unclosed if cis else "-"])
    # the combinations the data determine when the D0 width is unresolved (no intervals: point values)
    for label, fn in (("n_ATS ln(D0QS_max/D0QS_min) (derived)",
                       lambda v: v["n_ATS_per_g"] * math.log(v["D0QS_max_K_A2"] / v["D0QS_min_K_A2"])),
                      ("sqrt(D0QS_min D0QS_max) (derived)", lambda v: math.sqrt(v["D0QS_min_K_A2"] * v["D0QS_max_K_A2"]))):
        tv = fn({k: rows[0]["params"][k]["truth"] for k in NONLINEAR})
        ratio = np.array([fn({k: r["params"][k]["value"] for k in NONLINEAR}) / tv for r in rows])
        body.append([label, g(tv), f"{np.median(ratio):.4f}", f"{np.sqrt(np.mean((ratio - 1) ** 2)):.2e}",
                     "-", "not profiled", "-", "-", "-"])
    lines += [table(hdr, body), "",
              "An end 'not closed' is one where the refit budget ran out before Delta chi^2 reached 3.84: the "
              "library reports it at the farthest point refitted (flagged, but `high_open`/`low_open` False), "
              "so that interval is too short on that side.", ""]
    n_prof = sum(1 for r in rows if r["t_profile"] > 0)
    if n_prof:
        target = math.ceil(0.9 * n_prof)
        lines += [f"Profiled draws: {n_prof} (seeds {[r['seed'] for r in rows if r['t_profile'] > 0]}); the others "
                  "were fitted without intervals (point checks only). "
                  f"Target: the truth inside the 95 % interval in >= 90 % of the draws (18 of 20; here >= {target} "
                  f"of {n_prof}). With {n_prof} draws a true 95 % coverage gives fewer than {target} with probability "
                  f"{_binom_tail(n_prof, target, 0.95):.2f}.", ""]
    common = ("|correlation|", "D0 width unresolved")
    counts = {}
    for r in rows:
        for f in r["flags"]:
            for c in common:
                if c in f:
                    counts[c] = counts.get(c, 0) + 1
    if counts:
        lines += ["Routine flags (counted over all draws and parameters): " +
                  ", ".join(f"'{c}' {k}x" for c, k in counts.items()) + ".", ""]
    kinds = {}
    for r in rows:
        for f in r["flags"]:
            if not any(c in f for c in common):
                key = re.sub(r"(?<![A-Za-z_])[-+]?\d[\d.]*(e[-+]?\d+)?", "#", f)
                kinds.setdefault(key, []).append(r["seed"])
    if kinds:
        lines += ["Other flags, by kind (# stands for the numbers), with the seeds that raised them:", ""]
        lines += [f"* {k} - seeds {sorted(set(v))}" for k, v in sorted(kinds.items())] + [""]
    better = [r["seed"] for r in rows if r.get("better_fit_found")]
    if better:
        lines += [f"A profile refit found a lower chi^2 than the fit (the fit was not at its minimum) for seeds "
                  f"{better}.", ""]
    t = np.array([[r["t_start"], r["t_fit"], r["t_profile"]] for r in rows])
    tp = t[t[:, 2] > 0, 2]
    lines += [f"Median time per draw: start {np.median(t[:, 0]):.0f} s, fit {np.median(t[:, 1]):.0f} s"
              + (f", profiles of 6 parameters {np.median(tp):.0f} s (max {tp.max():.0f} s)" if tp.size else "")
              + " (2 cores shared with other jobs).", ""]
    return "\n".join(lines)


def _binom_tail(n, k, p):
    """P(X < k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k))


# ---------------------------------------------------------------------------------------------- 2
def study_etm(intervals, max_nfev=None, models=("ll", "etm", "etm11", "exact")):
    pf = parameters.load_parameter_file(EXACT_PARAMS)
    truth = pf.values()
    data = synth.synthesize(truth, pf.runs, pf.noise, seed=0, P_star=pf.P_star, T0_K=pf.T0_K, model="exact")
    t0 = time.perf_counter()
    # every model starts from the truth (the names it has): no multi-start, and each model's best chance
    cmp = compare_models(data, tuple(models), start=dict(truth), P_star=pf.P_star, T0_K=pf.T0_K,
                         max_nfev=max_nfev, progress=say)
    elapsed = time.perf_counter() - t0
    fits = cmp.fits
    lines = ["## 2. Exact-model data (seed 0) fitted with Eq. 10 / Eq. 11", "",
             f"`compare_models` on {', '.join(models)}, every model started from the truth (the parameters it "
             f"has), budget max_nfev = {max_nfev}, {elapsed:.0f} s in all. "
             "Bias = fitted/true - 1 (truth of `bk7_exact_params.toml`).", ""]
    names = [n for n in TABLE3 + ("charge_area_A2",)]
    hdr = ["parameter", "truth"] + [m for m in models if m in fits]
    body = []
    for n in names:
        row = [f"`{n}`", g(truth[n])]
        for m in hdr[2:]:
            p = fits[m].parameters.get(n)
            row.append("-" if p is None else f"{p.value / truth[n] - 1:+.3f}")
        body.append(row)
    tot_t = truth["n_Fe2_per_g"] + truth["n_Fe3_per_g"]
    row = ["n(Fe) total (derived)", g(tot_t)]
    for m in hdr[2:]:
        d = fits[m].derived.get("n_Fe_total_per_g")
        row.append("-" if d is None else f"{d.value / tot_t - 1:+.4f}")
    body.append(row)
    lines += [table(hdr, body), ""]
    aic_ex = fits["exact"].aic if "exact" in fits else float("nan")
    hdr = ["model", "k", "chi2", "chi2/(n-k)", "AIC", "AIC - AIC(exact)", "BIC", "flags"]
    body = []
    for m in models:
        if m in fits:
            f = fits[m]
            body.append([m, f.n_varied, g(f.chi2, 6), g(f.chi2_reduced, 4), g(f.aic, 6), g(f.aic - aic_ex, 5),
                         g(f.bic, 6), len(f.flags)])
        else:
            body.append([m, "-", "did not converge: " + cmp.failures.get(m, "?"), "", "", "", "", ""])
    lines += [table(hdr, body), "", f"AIC prefers **{cmp.preferred}**.", ""]
    for m in fits:
        for fl in flags_of(fits[m]):
            lines.append(f"* {m}: {fl}")
    lines.append("")
    return "\n".join(lines), {m: fits[m].values() for m in fits}


# ---------------------------------------------------------------------------------------------- 3, 4
def eq10_data():
    pf = parameters.load_parameter_file(ETM_PARAMS)
    truth = pf.values()
    data = synth.synthesize(truth, pf.runs, pf.noise, seed=0, P_star=pf.P_star, T0_K=pf.T0_K, model="etm")
    return pf, truth, data


def study_eq10(intervals):
    pf, truth, data = eq10_data()
    kw = dict(P_star=pf.P_star, T0_K=pf.T0_K)
    t0 = time.perf_counter()
    est_e = estimate_start(data, "etm", **kw)
    etm = fitting.fit_magnetization(data, "etm", start=dict(est_e.values), **kw)
    t_etm = time.perf_counter() - t0
    say(f"eq10: etm chi2 {etm.chi2:.6g} in {t_etm:.0f} s")
    t0 = time.perf_counter()
    est = estimate_start(data, "exact", **kw)
    t_est = time.perf_counter() - t0
    say(f"eq10: exact start (Q/e)S = {est.values['charge_area_A2']:.4g} in {t_est:.0f} s")
    t0 = time.perf_counter()
    ex = fitting.fit_magnetization(data, "exact", start=dict(est.values), **kw)
    t_fit = time.perf_counter() - t0
    say(f"eq10: exact chi2 {ex.chi2:.6g} (Q/e)S {ex.parameters['charge_area_A2'].value:.4g} in {t_fit:.0f} s")
    t_prof = 0.0
    if intervals:
        t0 = time.perf_counter()
        ex = profile_intervals(data, ex, names=["charge_area_A2"], model="exact", start=dict(est.values), **kw,
                               progress=say)
        t_prof = time.perf_counter() - t0
    qs = ex.parameters["charge_area_A2"]
    ci = qs.interval("ci95")
    lines = ["## 3. Eq. 10 data fitted with the exact model", "",
             "`bk7_synthetic_params.toml` (Table 3, Eq. 10 truth, 500 points, 0.1 % noise), seed 0; both fits "
             f"from `estimate_start`. etm: {t_etm:.0f} s (start + fit); exact: start {t_est:.0f} s, fit {t_fit:.0f} s"
             + (f", profile of (Q/e) S {t_prof:.0f} s." if intervals else "."), "",
             f"Start (Q/e) S from the multi-start: {g(est.values['charge_area_A2'])} A^2 "
             f"({est.sources.get('charge_area_A2', '')}).", ""]
    row_ci = "-" if ci is None else (f"[{g(ci.low)}, {g(ci.high)}]" + (" (open below)" if ci.low_open else "")
                                     + (" (open above)" if ci.high_open else ""))
    lines += [table(["quantity", "value"], [
        ["(Q/e) S fitted (A^2)", f"{g(qs.value)} +- {g(qs.stderr)}"],
        ["(Q/e) S 95 % profile interval", row_ci],
        ["D0_min, D0_max = D0QS/(Q/e)S (K)", f"{g(ex.parameters['D0QS_min_K_A2'].value / qs.value)}, "
                                             f"{g(ex.parameters['D0QS_max_K_A2'].value / qs.value)}"],
        ["flags on (Q/e) S", "; ".join(qs.flags) or "none"],
        ["chi2 exact / etm (n = %d)" % ex.n_points, f"{g(ex.chi2, 6)} / {g(etm.chi2, 6)}"],
        ["chi2/(n-k) exact / etm", f"{g(ex.chi2_reduced)} / {g(etm.chi2_reduced)}"],
        ["AIC exact - etm", g(ex.aic - etm.aic, 5)],
    ]), ""]
    hdr = ["parameter", "truth (Table 3)", "etm fit / truth", "exact fit / truth"]
    body = [[f"`{n}`", g(truth[n]), f"{etm.parameters[n].value / truth[n]:.4f}",
             f"{ex.parameters[n].value / truth[n]:.4f}"] for n in TABLE3]
    lines += [table(hdr, body), ""]
    other = [f for f in flags_of(ex) if not f.startswith("charge_area_A2")]
    if other:
        lines += ["Other flags of the exact fit:", ""] + [f"* {f}" for f in other] + [""]
    return "\n".join(lines), {"charge_area_A2": qs.value, "etm_chi2": etm.chi2, "exact_chi2": ex.chi2}


def study_table3(areas, max_nfev=None):
    pf, truth, data = eq10_data()
    kw = dict(P_star=pf.P_star, T0_K=pf.T0_K)
    lines = ["## 4. Table 3 as the starting point of the exact model (Eq. 10 data, seed 0)", "",
             "Each fit starts from the Table 3 values (the data's truth) with the given (Q/e) S; "
             "ratio = fitted / Table 3. This is the size of the model error: how far the exact ensemble "
             "must move Table 3's numbers to describe data that Eq. 10 made"
             + (f" (budget max_nfev = {max_nfev})." if max_nfev else "."), ""]
    fits = {}
    for a in areas:
        start = dict(truth, charge_area_A2=float(a))
        t0 = time.perf_counter()
        try:
            r = fitting.fit_magnetization(data, "exact", start=start, max_nfev=max_nfev, **kw)
        except Exception as exc:  # report, keep going
            say(f"table3: (Q/e)S start {a}: {type(exc).__name__}: {exc}")
            fits[a] = (None, str(exc), time.perf_counter() - t0)
            continue
        fits[a] = (r, None, time.perf_counter() - t0)
        chi_start = _chi2_at(data, start, pf)
        say(f"table3: start (Q/e)S {a}: chi2 at start {chi_start:.6g}, fitted {r.chi2:.6g}, "
            f"(Q/e)S -> {r.parameters['charge_area_A2'].value:.4g} in {fits[a][2]:.0f} s")
        fits[a] = (r, chi_start, fits[a][2])
    hdr = ["parameter", "Table 3"] + [f"start (Q/e)S = {g(a)}" for a in areas]
    body = []
    for n in TABLE3 + ("charge_area_A2",):
        row = [f"`{n}`", g(truth.get(n)) if n in truth else "-"]
        for a in areas:
            r = fits[a][0]
            if r is None:
                row.append("failed")
            elif n == "charge_area_A2":
                row.append(f"{g(r.parameters[n].value)} A^2")
            else:
                row.append(f"{r.parameters[n].value / truth[n]:.4f}")
        body.append(row)
    row_c0, row_c, row_t, row_f = ["chi2 at the start", ""], ["chi2 fitted", ""], ["fit time s", ""], ["flags", ""]
    for a in areas:
        r, c0, t = fits[a]
        row_c0.append(g(c0, 6) if isinstance(c0, float) else "-")
        row_c.append("-" if r is None else g(r.chi2, 6))
        row_t.append(f"{t:.0f}")
        row_f.append("-" if r is None else _condensed_flags(r))
    body += [row_c0, row_c, row_t, row_f]
    lines += [table(hdr, body), ""]
    return "\n".join(lines)


ROUTINE = ("|correlation|", "D0 width unresolved")


def _condensed_flags(result):
    """The flags of a fit, the routine ones (correlations, unresolved D0 width) only counted."""
    fl = flags_of(result)
    routine = [f for f in fl if any(c in f for c in ROUTINE)]
    rest = [f for f in fl if not any(c in f for c in ROUTINE)]
    return "; ".join(rest + ([f"{len(routine)} routine (correlation / D0 width)"] if routine else [])) or "none"


def _chi2_at(data, values, pf):
    m = fitting.model_magnetization_emu_per_g("exact", data.temperature_K, data.field_Oe, values, pf.P_star, pf.T0_K)
    s = data.sigma_emu_per_g
    return float(np.sum(((data.magnetization_emu_per_g - m) / s) ** 2))


# ---------------------------------------------------------------------------------------------- 5
def study_fourwell(intervals, rel_sigma=1e-3):
    import tomllib

    from tunnelsim.results import read_result

    cfg = tomllib.loads(FOUR_WELL.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fw.h5"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tunnelsim", "run", str(FOUR_WELL), "-o", str(path)], check=True,
                       capture_output=True)
        t_run = time.perf_counter() - t0
        rs = read_result(path)
    T, B = np.meshgrid(rs.temperature_K, rs.field_T, indexing="ij")
    M = np.asarray(rs.values["magnetization"])
    err = np.asarray(rs.errors.get("magnetization", np.full_like(M, np.nan)))
    floor = rel_sigma * 1e-2 * float(np.max(np.abs(M)))
    sigma = np.sqrt((rel_sigma * np.abs(M)) ** 2 + floor ** 2)
    data = make_dataset(T.ravel(), (B * 1e4).ravel(), M.ravel(), sigma.ravel(), source="four_well.toml")
    err_ok = np.where(np.isfinite(err), np.abs(err), 0.0)
    sigma_q = np.sqrt(sigma ** 2 + err_ok ** 2)
    data_q = make_dataset(T.ravel(), (B * 1e4).ravel(), M.ravel(), sigma_q.ravel(), source="four_well.toml")
    fixed = {n: 0.0 for n in LL}
    kw = dict(P_star=DEFAULT_P_STAR)
    d = cfg["distribution"]
    config = {"n_ATS_per_g": d["density_per_g"], "D_min_K": d["D_min_K"], "D0QS_min_K_A2": d["D0QS_min_K_A2"],
              "D0QS_max_K_A2": d["D0QS_max_K_A2"], "charge_area_A2": cfg["system"]["charge_area_A2"]}
    t0 = time.perf_counter()
    est = estimate_start(data, "exact", fixed=fixed, eq15=False, **kw)
    t_est = time.perf_counter() - t0
    say(f"fourwell: start {dict(est.values)} in {t_est:.0f} s")
    runs = {}
    for label, start, dd in (("from estimate_start", dict(est.values), data),
                             ("from the config's values", dict(config), data),
                             ("from the config's values, sigma incl. quadrature error", dict(config), data_q)):
        start = {n: v for n, v in start.items() if n not in LL and n != "delta_mu_K"}
        t0 = time.perf_counter()
        try:
            r = fitting.fit_magnetization(dd, "exact", start=start, fixed=fixed, **kw)
        except Exception as exc:
            say(f"fourwell {label}: {type(exc).__name__}: {exc}")
            runs[label] = (None, str(exc), time.perf_counter() - t0)
            continue
        runs[label] = (r, None, time.perf_counter() - t0)
        say(f"fourwell {label}: chi2 {r.chi2:.6g} in {runs[label][2]:.0f} s")
    lines = ["## 5. Four-well ensemble fitted with the exact three-level model", "",
             f"`tunnelsim run simulations/four_well.toml` ({t_run:.0f} s): M(T, B) on {M.shape[0]} temperatures "
             f"({g(rs.temperature_K.min())}-{g(rs.temperature_K.max())} K) x {M.shape[1]} fields "
             f"({', '.join(g(b) for b in rs.field_T)} T), {M.size} points, intrinsic term only. "
             f"sigma = sqrt(({rel_sigma:g} |M|)^2 + ({g(floor)} emu/g)^2) (0.1 % of |M| plus a floor of 1e-5 of max|M|). "
             f"The result set's own quadrature error estimate: median {g(np.nanmedian(np.abs(err) / np.abs(M)))}, "
             f"max {g(np.nanmax(np.abs(err) / np.abs(M)))} of |M|. "
             "The third fit adds the result set's error estimate in quadrature to sigma. "
             "Fitted: n_ATS, D_min, D0QS_min, D0QS_max, (Q/e) S; n(Fe2+), n(Fe3+), chi_L fixed at 0, no Eq. 15. "
             f"estimate_start {t_est:.0f} s.", ""]
    hdr = ["parameter", "four-well config"] + [f"3LS fit {k} (ratio)" for k in runs]
    body = []
    for n, v in config.items():
        row = [f"`{n}`", g(v)]
        for k, (r, _, _) in runs.items():
            row.append("failed" if r is None else f"{g(r.parameters[n].value)} ({r.parameters[n].value / v:.3f})")
        body.append(row)
    for label, fn in (("D0 range (K) = D0QS/(Q/e)S", lambda p: f"{g(p['D0QS_min_K_A2'] / p['charge_area_A2'])}-"
                                                                 f"{g(p['D0QS_max_K_A2'] / p['charge_area_A2'])}"),):
        row = [label, fn(config)]
        for k, (r, _, _) in runs.items():
            row.append("-" if r is None else fn(r.values()))
        body.append(row)
    extra = [["chi2 / (n - k)"], ["chi2 / (n - k) with sigma 0.1 %"], ["max |residual| / |M|"], ["fit time s"],
             ["flags"]]
    for k, (r, msg, t) in runs.items():
        if r is None:
            for e in extra:
                e.append(msg if e is extra[0] else "-")
            continue
        resid = (M.ravel() - r.best_fit_emu_per_g) / np.abs(M.ravel())
        extra[0].append(g(r.chi2_reduced))
        extra[1].append(g(float(np.sum(((M.ravel() - r.best_fit_emu_per_g) / sigma.ravel()) ** 2)) / (M.size - r.n_varied)))
        extra[2].append(f"{np.max(np.abs(resid)):.2e}")
        extra[3].append(f"{t:.0f}")
        extra[4].append("; ".join(flags_of(r)) or "none")
    body += [[e[0], ""] + e[1:] for e in extra]
    lines += [table(hdr, body), ""]
    best = runs["from the config's values"][0]
    if best is not None:
        resid = ((M.ravel() - best.best_fit_emu_per_g) / np.abs(M.ravel())).reshape(M.shape)
        lines += ["Relative residual (M - fit)/|M| of the fit from the config's values (sigma 0.1 %), and the result set's error estimate / |M| in brackets, rows T, columns B:", "",
                  table(["T (K)"] + [f"{g(b)} T" for b in rs.field_T],
                        [[g(t)] + [f"{x:+.2e} ({e:.1e})" for x, e in zip(resid[i], err_ok[i] / np.abs(M[i]))]
                         for i, t in enumerate(rs.temperature_K)]), ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="all",
                    help="all, or a comma-separated list of recovery, etm, eq10, table3, fourwell")
    ap.add_argument("--draws", type=int, default=20, help="noise draws of the recovery study")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--no-intervals", action="store_true", help="skip the profile-likelihood intervals")
    ap.add_argument("--out", default=None, help="markdown report (default: print)")
    ap.add_argument("--jsonl", default=None, help="per-draw results of the recovery study (appended)")
    ap.add_argument("--report-only", action="store_true", help="recovery: report the --jsonl draws, fit nothing")
    ap.add_argument("--max-nfev", type=int, default=None, help="etm, table3: budget of each fit (default: the library's)")
    ap.add_argument("--models", default="ll,etm,etm11,exact", help="etm: the models compared")
    ap.add_argument("--areas", default=None, help="table3: comma-separated starting (Q/e) S in A^2")
    args = ap.parse_args(argv)
    intervals = not args.no_intervals
    chosen = set(args.study.split(","))
    if "all" in chosen:
        chosen = {"recovery", "etm", "eq10", "table3", "fourwell"}
    bad = chosen - {"recovery", "etm", "eq10", "table3", "fourwell"}
    if bad:
        ap.error(f"unknown study {sorted(bad)[0]!r}")
    parts = []
    clock = time.perf_counter()

    def flush():  # the report so far, so that a long run that is stopped keeps what it finished
        if args.out:
            Path(args.out).write_text("\n".join(parts) + "\n")

    if "recovery" in chosen:
        rows = []
        if args.jsonl and args.report_only:
            rows = [json.loads(x) for x in Path(args.jsonl).read_text().splitlines() if x.strip()]
        else:
            for seed in range(args.first_seed, args.first_seed + args.draws):
                r = recovery_draw(seed, intervals)
                say(f"recovery seed {seed}: chi2/n {r['chi2'] / r['n']:.3f}, (Q/e)S "
                    f"{r['params']['charge_area_A2']['value']:.5g}, times {r['t_start']:.0f}/{r['t_fit']:.0f}/"
                    f"{r['t_profile']:.0f} s")
                rows.append(r)
                if args.jsonl:
                    with open(args.jsonl, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
        if rows:
            parts.append(recovery_report(rows, intervals))
            flush()
    eq10_area = None
    if "eq10" in chosen:
        text, info = study_eq10(intervals)
        parts.append(text)
        flush()
        eq10_area = info["charge_area_A2"]
    if "table3" in chosen:
        if args.areas:
            areas = [float(a) for a in args.areas.split(",")]
        else:
            areas = ([eq10_area] if eq10_area else []) + [3000.0, 30000.0]
        parts.append(study_table3(areas, args.max_nfev))
        flush()
    if "etm" in chosen:
        parts.append(study_etm(intervals, args.max_nfev, args.models.split(","))[0])
        flush()
    if "fourwell" in chosen:
        parts.append(study_fourwell(intervals))
        flush()
    text = "\n".join(parts) + f"\n_Total wall time of this run: {time.perf_counter() - clock:.0f} s._\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
