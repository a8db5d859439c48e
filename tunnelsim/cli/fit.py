"""The ``synth`` and ``fit`` subcommands: argument parsing; the work is done by the library.

``tunnelsim synth PARAMS.toml -o DATA.csv [--seed N] [--force]`` writes synthetic SQUID runs
(:mod:`tunnelsim.fitting.synth`). ``tunnelsim fit DATA [--model {etm,ll}] [--params INIT.toml]
[--fix NAME=VALUE ...] [-o FIT.json] [--plots DIR] [--per-run]`` fits Eq. 17 to all runs
jointly (:mod:`tunnelsim.fitting`) or, with ``--per-run``, fits each run alone with the
Larmor-Langevin model (:mod:`tunnelsim.fitting.langevin`). Library modules (numpy, scipy, lmfit,
matplotlib) are imported inside the handlers. A fit that does not converge prints one line and
exits with code 1; bad input exits with code 2 (via ``tunnelsim.cli.main``).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ._common import EXIT_NOT_CONVERGED, PROG

__all__ = ["register"]



def _cmd_synth(args, argv):
    from .. import __version__
    from ..fitting.data import write_csv
    from ..fitting.parameters import load_parameter_file
    from ..fitting.synth import synthesize_from_file

    if args.output.exists() and not args.force:
        raise FileExistsError(f"{args.output}: file exists; use --force to replace it")
    pf = load_parameter_file(args.params)
    data, lines = synthesize_from_file(pf, seed=args.seed)
    lines.append(f"written by tunnelsim {__version__}: {shlex.join([PROG, *argv])}")
    write_csv(args.output, data, comments=lines, force=args.force)
    print(f"data: {args.output} ({data.n_points} points in {len(data.runs)} runs)")
    print(lines[-2])
    return 0


def _parse_fix(items):
    fixed = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--fix: expected NAME=VALUE, got {item!r}")
        try:
            fixed[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--fix {name.strip()}: expected a number, got {value!r}") from None
    return fixed


def _cmd_fit(args, argv):
    from .. import __version__
    from ..fitting.data import read_data
    from ..fitting import FitConvergenceError, fit_magnetization, write_json
    from ..fitting.parameters import load_parameter_file
    from ..units import DEFAULT_P_STAR, DEFAULT_T0_K

    if args.output is not None and args.output.exists() and not args.force:
        raise FileExistsError(f"{args.output}: file exists; use --force to replace it")
    fixed = _parse_fix(args.fix)
    if args.max_nfev is not None and args.max_nfev < 1:
        raise ValueError(f"--max-nfev must be >= 1, got {args.max_nfev}")
    if args.per_run and (args.model != "ll" or fixed or args.params):
        raise ValueError("--per-run fits each run with the Larmor-Langevin model alone: use it with --model ll "
                         "and without --params or --fix")
    data = read_data(args.data, mass_mg=args.mass_mg, mass_g=args.mass_g, moment_column=args.moment_column)
    pf = load_parameter_file(args.params) if args.params else None
    P_star = args.P_star if args.P_star is not None else (pf.P_star if pf else DEFAULT_P_STAR)
    T0_K = args.T0_K if args.T0_K is not None else (pf.T0_K if pf else DEFAULT_T0_K)
    header = {"data": {"source": data.source, "n_points": data.n_points, "runs": [r.to_dict() for r in data.runs]},
              "command": shlex.join([PROG, *argv]), "tunnelsim_version": __version__}
    if args.per_run:
        return _per_run(args, data, header)
    try:
        result = fit_magnetization(data, args.model, start=dict(pf.parameters) if pf else None, fixed=fixed,
                                   P_star=P_star, T0_K=T0_K, max_nfev=args.max_nfev)
    except FitConvergenceError as exc:
        print(f"tunnelsim: {exc}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    print(f"data: {data.source}: {data.n_points} points in {len(data.runs)} runs")
    print(result.summary())
    if args.output is not None:
        document = result.to_dict()
        document.update(header)
        print(f"result: {write_json(args.output, document, force=args.force)}")
    if args.plots is not None:
        _fit_plots(args.plots, data, result, P_star, T0_K)
    return 0


def _fit_plots(directory, data, result, P_star, T0_K):
    from ..fitting.figures import save_fit_plots
    from ..fitting.langevin import curie_analysis

    curie, model = curie_analysis(data, result, P_star, T0_K)
    for path in save_fit_plots(directory, data, result, curie=curie, curie_model=model):
        print(f"plot: {path}")


def _per_run(args, data, header):
    from ..fitting.figures import save_fit_plots
    from ..fitting import write_json
    from ..fitting.langevin import format_langevin_tables, per_run_document, per_run_langevin_fits

    rows = per_run_langevin_fits(data)
    print(f"data: {data.source}: {data.n_points} points in {len(data.runs)} runs")
    print("Larmor-Langevin-only fit of each run (Eq. 17 without the intrinsic term)")
    print(format_langevin_tables(rows))
    if args.output is not None:
        document = per_run_document(rows)
        document.update(header)
        print(f"result: {write_json(args.output, document, force=args.force)}")
    if args.plots is not None:
        for path in save_fit_plots(args.plots, data, per_run_rows=rows):
            print(f"plot: {path}")
    return 0


def _add_synth(subparsers):
    p = subparsers.add_parser(
        "synth",
        help="synthesise SQUID runs (CSV) from an Eq. 17 parameter file",
        description="Evaluate Eq. 17 (Larmor + Langevin + ETM) on the runs of a parameter file (default: the "
        "seed's M vs T runs at 1-65 kOe and M vs H runs at 2-20 K), add Gaussian noise "
        "sigma = sqrt((relative M)^2 + absolute^2) from a seeded generator, and write CSV "
        "(T_K,H_Oe,M_emu_per_g,sigma_emu_per_g; provenance in '#' lines).",
    )
    p.add_argument("params", metavar="PARAMS", type=Path, help="parameter file, TOML ([parameters], [settings], "
                   "[runs], [noise])")
    p.add_argument("-o", "--output", metavar="DATA", type=Path, required=True, help="CSV file to write")
    p.add_argument("--seed", type=int, default=None, help="noise seed (default: noise.seed of the file, "
                   "else a fresh one, recorded in the CSV)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(handler=_cmd_synth)


def _add_fit(subparsers):
    p = subparsers.add_parser(
        "fit",
        help="fit Eq. 17 to SQUID data (CSV or MPMS .dat)",
        description="Joint weighted least-squares fit of all runs with Eq. 17: 'etm' (Larmor + Langevin + "
        "intrinsic ATS term, the seed's Table 3 parameters) or 'll' (Larmor-Langevin only). Reports values, "
        "standard errors, correlations, reduced chi2, AIC/BIC and flags poorly determined parameters. "
        "P* is a fixed setting (only n_ATS P* enters). With --per-run (and --model ll) each run is fitted "
        "alone, as the seed's Tables 1 and 2. A fit that does not converge exits with code 1.",
    )
    p.add_argument("data", metavar="DATA", type=Path, help="CSV (T_K,H_Oe,M_emu_per_g[,sigma_emu_per_g]) or "
                   "Quantum Design MPMS .dat (needs --mass-mg or --mass-g)")
    p.add_argument("--model", choices=("etm", "ll"), default="etm", help="model (default etm)")
    p.add_argument("--params", metavar="INIT", type=Path, default=None,
                   help="parameter file with starting values (required names for etm: n_ATS_per_g, D_min_K, "
                   "D0QS_min_K_A2, D0QS_max_K_A2; delta_mu_K switches on Eq. 15)")
    p.add_argument("--fix", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                   help="hold parameters fixed (the seed's Table 3 names)")
    p.add_argument("-o", "--output", metavar="FIT", type=Path, default=None, help="write the result as JSON")
    p.add_argument("--plots", metavar="DIR", type=Path, default=None, help="write figures (PNG) into DIR")
    p.add_argument("--per-run", action="store_true", help="fit each run alone with the LL model (--model ll)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    mass = p.add_mutually_exclusive_group()
    mass.add_argument("--mass-mg", type=float, default=None, help="sample mass in mg (MPMS .dat files)")
    mass.add_argument("--mass-g", type=float, default=None, help="sample mass in g (MPMS .dat files)")
    p.add_argument("--moment-column", metavar="NAME", default=None, help="MPMS moment column to use")
    p.add_argument("--P-star", dest="P_star", type=float, default=None,
                   help="P* of Eq. 8 (default: the parameter file's, else 1/(2 pi))")
    p.add_argument("--T0-K", dest="T0_K", type=float, default=None, help="reference temperature of Eq. 15 (K)")
    p.add_argument("--max-nfev", type=int, default=None, help="budget of model evaluations")
    p.set_defaults(handler=_cmd_fit)


def register(subparsers):
    """Add the ``synth`` and ``fit`` subcommands to a ``tunnelsim`` subparsers object."""
    _add_synth(subparsers)
    _add_fit(subparsers)
