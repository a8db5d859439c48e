"""The ``synth`` and ``fit`` subcommands: argument parsing; the work is done by the library.

``tunnelsim synth PARAMS.toml -o DATA.csv [--seed N] [--force]`` writes synthetic SQUID runs
(:mod:`tunnelsim.fitting.synth`). ``tunnelsim fit DATA [--model {ll,etm,etm11,exact}]
[--params INIT.toml] [--fix NAME=VALUE ...] [-o FIT.json] [--plots DIR] [--per-run]
[--no-intervals] [--profile-refits N]`` fits Eq. 17 to all runs jointly (:mod:`tunnelsim.fitting`)
and computes profile-likelihood intervals (ci68, ci95) of the parameters
:func:`~tunnelsim.fitting.profile_intervals` chooses (:func:`~tunnelsim.fitting.fit_with_intervals`,
which restarts the fit when a profile refit finds a lower chi^2; the printout states the refits and
seconds spent and any restart), or, with ``--per-run``, fits each run alone with the
Larmor-Langevin model (:mod:`tunnelsim.fitting.langevin`). The JSON of a joint fit carries
``ci68``/``ci95`` for every parameter, null where not profiled. Starting values the parameter file does
not give are estimated from the data (:func:`tunnelsim.fitting.start.estimate_start`) and printed,
one ``start:`` line per parameter. Every output is checked before any fit: an existing ``-o`` file
without ``--force``, or ``--plots`` naming a regular file, exits with code 2 and writes nothing.
Library modules (numpy, scipy, lmfit, matplotlib) are imported inside the handlers. A fit that does
not converge prints one line and exits with code 1; bad input exits with code 2 (via
``tunnelsim.cli.main``); a fit with sigma whose reduced chi^2 exceeds
:data:`REDUCED_CHI2_WARNING` prints a one-line warning on stderr.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ._common import EXIT_NOT_CONVERGED, PROG
from ._data import add_data_options, read_data_from_args
from ._species import add_species_option, species_from_args, species_override

__all__ = ["REDUCED_CHI2_WARNING", "register"]

#: A fit to data with sigma whose reduced chi^2 exceeds this prints a warning.
REDUCED_CHI2_WARNING = 10.0


def _cmd_synth(args, argv):
    from .. import __version__
    from ..fitting.data import write_csv
    from ..fitting.parameters import load_parameter_file
    from ..fitting.synth import synthesize_from_file

    if args.output.exists() and not args.force:
        raise FileExistsError(f"{args.output}: file exists; use --force to replace it")
    pf = load_parameter_file(args.params, species=species_override(args))
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


def _check_parents(path):
    """The nearest existing ancestor of ``path`` (itself included) must be a directory."""
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"{parent}: not a directory")
            return


def check_outputs(output=None, plots=None, force=False):
    """Refuse unusable outputs before any work: ``-o`` an existing file without ``--force`` or a
    directory, ``--plots`` a regular file, or either below a regular file."""
    if output is not None:
        if output.is_dir():
            raise IsADirectoryError(f"{output}: is a directory; -o names the JSON file to write")
        if output.exists() and not force:
            raise FileExistsError(f"{output}: file exists; use --force to replace it")
        _check_parents(output.parent)
    if plots is not None:
        if plots.exists() and not plots.is_dir():
            raise NotADirectoryError(f"--plots {plots}: is a file, not a directory")
        _check_parents(plots)


def check_model(model):
    from ..fitting import MODELS

    if model not in MODELS:
        raise ValueError(f"--model: expected one of {', '.join(MODELS)}, got {model!r}")


def starting_values(data, model, pf, fixed, P_star, T0_K, params_path=None, prefix="start", species=None, law=None):
    """The start of a fit: the parameter file's entries, the rest estimated from the data
    (:func:`tunnelsim.fitting.start.fit_start`).

    Returns ``(start mapping for fit_magnetization, lines to print, StartEstimate or None)``;
    nothing is estimated (and no line printed) when the file and ``--fix`` give every parameter.
    """
    from ..fitting.start import fit_start
    from ..ions import DEFAULT_SPECIES

    start, estimate = fit_start(data, model, dict(pf.parameters) if pf else None, fixed, P_star, T0_K,
                                DEFAULT_SPECIES if species is None else species,
                                known_source=f"given in {params_path}" if params_path else "given", law=law)
    if estimate is None:
        return start, [], None
    lines = estimate.lines(prefix)
    lines.append(f"{prefix}: estimated in {estimate.seconds:.2g} s ({estimate.n_evaluations} model evaluations)")
    return start, lines, estimate


def _cmd_fit(args, argv):
    from .. import __version__
    from ..fitting import FitConvergenceError, fit_with_intervals, write_json
    from ..fitting.parameters import load_parameter_file
    from ..units import DEFAULT_P_STAR, DEFAULT_T0_K

    check_outputs(args.output, args.plots, args.force)
    check_model(args.model)
    fixed = _parse_fix(args.fix)
    if args.max_nfev is not None and args.max_nfev < 1:
        raise ValueError(f"--max-nfev must be >= 1, got {args.max_nfev}")
    check_profile_refits(args.profile_refits)
    iron = _iron_options(args)
    if args.per_run and (args.model != "ll" or fixed or args.params):
        raise ValueError("--per-run fits each run with the Larmor-Langevin model alone: use it with --model ll "
                         "and without --params or --fix")
    data = read_data_from_args(args)
    pf = load_parameter_file(args.params, species=species_override(args)) if args.params else None
    species = species_from_args(args, pf)
    if iron["total"] is not None:
        from ..fitting.models import check_iron_total

        check_iron_total(species, "--iron-total")
    P_star = args.P_star if args.P_star is not None else (pf.P_star if pf else DEFAULT_P_STAR)
    T0_K = args.T0_K if args.T0_K is not None else (pf.T0_K if pf else DEFAULT_T0_K)
    header = {"data": data_document(data), "command": shlex.join([PROG, *argv]), "tunnelsim_version": __version__}
    print(data_line(data), flush=True)
    if args.per_run:
        return _per_run(args, data, header, species)
    start, lines, estimate = starting_values(data, args.model, pf, fixed, P_star, T0_K, args.params,
                                             species=species, law=args.temperature_law)
    for line in lines:
        print(line, flush=True)
    scan = None
    try:
        if iron["fractions"] is not None:
            from ..fitting.iron import iron_fraction_scan

            scan = iron_fraction_scan(data, iron["total"], iron["fractions"], args.model, start=start or None,
                                      fixed=fixed, P_star=P_star, T0_K=T0_K, max_nfev=args.max_nfev,
                                      species=species)
            print(scan.summary(), flush=True)
            if scan.free_fit is not None:
                start = dict(scan.free_fit.values())
        result = fit_with_intervals(data, args.model, intervals=not args.no_intervals, names=profile_names(args),
                                    max_refits_per_parameter=args.profile_refits, start=start or None, fixed=fixed,
                                    P_star=P_star, T0_K=T0_K, max_nfev=args.max_nfev,
                                    eq10_prefactor=args.eq10_prefactor, iron_total_per_g=iron["total"], species=species,
                                    progress=lambda line: print(line, flush=True))
    except FitConvergenceError as exc:
        print(f"tunnelsim: {exc}", file=sys.stderr)
        return EXIT_NOT_CONVERGED
    print(f"data: {data.source}: {data.n_points} points in {len(data.runs)} runs")
    print(result.summary())
    warnings = warn_reduced_chi2(result)
    if args.output is not None:
        document = result.to_dict()
        document.update(header)
        document["warnings"] = warnings
        if estimate is not None:
            document["start"] = estimate.to_dict()
        if scan is not None:
            document["iron_fraction_scan"] = scan.to_dict()
        print(f"result: {write_json(args.output, document, force=args.force)}")
    if args.plots is not None:
        _fit_plots(args.plots, data, result, P_star, T0_K, scan)
    return 0


def _iron_options(args):
    """``--iron-total`` (g^-1) and ``--iron-fractions`` (the re-plot of the seed's Figs. 16-18)."""
    total = args.iron_total
    if total is not None and not (total > 0 and total < float("inf")):
        raise ValueError(f"--iron-total must be a finite number > 0 (per gram), got {total!r}")
    fractions = None
    if args.iron_fractions is not None:
        if total is None:
            raise ValueError("--iron-fractions needs --iron-total (the mass-spectrometry iron per gram)")
        try:
            fractions = [float(x) for x in args.iron_fractions.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--iron-fractions: expected numbers separated by commas, got {args.iron_fractions!r}") from None
        if not fractions or any(not 0.0 <= x <= 1.0 for x in fractions):
            raise ValueError(f"--iron-fractions: every fraction must be in [0, 1], got {args.iron_fractions!r}")
    return {"total": total, "fractions": fractions}


def profile_names(args):
    """``--profile NAME,...`` as a tuple (None: the library's default set)."""
    text = getattr(args, "profile", None)
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise ValueError(f"--profile: expected parameter names separated by commas, got {text!r}")
    return names


def check_profile_refits(n):
    if n is not None and n < 0:
        raise ValueError(f"--profile-refits must be >= 0, got {n}")


def warn_reduced_chi2(result, label=""):
    """One line on stderr when a fit to data with sigma has a reduced chi^2 above :data:`REDUCED_CHI2_WARNING`.

    Returns
    -------
    list of dict
        ``[{"flag": "reduced_chi2_high", "message": ...}]`` for the JSON, or ``[]``.
    """
    if result.weighted and result.chi2_reduced > REDUCED_CHI2_WARNING:
        message = (f"{label}reduced chi2 = {result.chi2_reduced:.4g} > {REDUCED_CHI2_WARNING:g}: the model does "
                   "not describe the data within their sigma (or sigma is underestimated)")
        print(f"{PROG}: warning: {message}", file=sys.stderr)
        return [{"flag": "reduced_chi2_high", "message": message}]
    return []


def data_document(data):
    """The data set's entry of a result JSON: source, points, runs and what the reader made of the file."""
    doc = {"source": data.source, "n_points": data.n_points, "runs": [r.to_dict() for r in data.runs]}
    if data.reading is not None:
        doc["reading"] = data.reading.to_dict()
    return doc


def data_line(data):
    """One line on how the data were read: points, mass, errors."""
    r = data.reading
    if r is None:
        return f"read: {data.source}: {data.n_points} points"
    mass = f"; mass {r.mass_g * 1e3:.6g} mg ({r.mass_source})" if r.mass_g is not None else ""
    skipped = f", {r.n_skipped} rows skipped" if r.n_skipped else ""
    return f"read: {data.source}: {data.n_points} points{skipped}{mass}; {r.errors.removeprefix('errors: ')}"


def _fit_plots(directory, data, result, P_star, T0_K, iron_scan=None):
    from ..fitting.figures import save_fit_plots
    from ..fitting.langevin import curie_analysis

    curie, model = curie_analysis(data, result, P_star, T0_K)
    for path in save_fit_plots(directory, data, result, curie=curie, curie_model=model, iron_scan=iron_scan):
        print(f"plot: {path}")


def _per_run(args, data, header, species):
    from ..fitting.figures import save_fit_plots
    from ..fitting import write_json
    from ..fitting.langevin import format_langevin_tables, per_run_document, per_run_langevin_fits

    rows = per_run_langevin_fits(data, species=species)
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
    add_species_option(p)
    p.set_defaults(handler=_cmd_synth)


def _add_fit(subparsers):
    p = subparsers.add_parser(
        "fit",
        help="fit Eq. 17 to SQUID data (CSV or MPMS .dat)",
        description="Joint weighted least-squares fit of all runs with Eq. 17: 'etm' (Larmor + Langevin + "
        "intrinsic ATS term, the seed's Table 3 parameters), 'etm11' and 'exact' (with the loop size "
        "charge_area_A2) or 'll' (Larmor-Langevin only). Starting values not given by --params are "
        "estimated from the data and printed ('start:' lines). Reports values, "
        "standard errors, correlations, reduced chi2, AIC/BIC and flags poorly determined parameters. "
        "P* is a fixed setting (only n_ATS P* enters). With --per-run (and --model ll) each run is fitted "
        "alone, as the seed's Tables 1 and 2. A fit that does not converge exits with code 1.",
    )
    p.add_argument("data", metavar="DATA", type=Path, help="CSV (T_K,H_Oe,M_emu_per_g[,sigma_emu_per_g]) or "
                   "Quantum Design .dat (MPMS XL, MPMS3, PPMS VSM; mass from the header or --mass-mg)")
    p.add_argument("--model", metavar="MODEL", default="etm",
                   help="ll (Larmor-Langevin only), etm (Eq. 10), etm11 (Eq. 11, needs charge_area_A2) or exact "
                   "(the exact ATS ensemble, needs charge_area_A2); default etm")
    p.add_argument("--params", metavar="INIT", type=Path, default=None,
                   help="parameter file with starting values; the values it gives win, the others are "
                   "estimated from the data (without --params every value is, with Eq. 15 on; with it, "
                   "delta_mu_K in the file switches Eq. 15 on)")
    p.add_argument("--fix", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                   help="hold parameters fixed (the seed's Table 3 names)")
    p.add_argument("-o", "--output", metavar="FIT", type=Path, default=None, help="write the result as JSON")
    p.add_argument("--plots", metavar="DIR", type=Path, default=None, help="write figures (PNG) into DIR")
    p.add_argument("--per-run", action="store_true", help="fit each run alone with the LL model (--model ll)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_data_options(p)
    add_species_option(p)
    p.add_argument("--temperature-law", choices=("eq15", "eq16", "none"), default=None,
                   help="temperature dependence of the intrinsic parameters: eq15 (delta_mu_K, N ~ exp(-dmu/T)), eq16 "
                   "(gamma, E0_K, N ~ 1 - gamma exp(E0/T)) or none; default: as the parameter file names them, "
                   "eq15 without a file")
    p.add_argument("--eq10-prefactor", choices=("corrected", "seed"), default="corrected",
                   help="Eq. 10 prefactor of the etm/etm11 models: corrected pi P* n/(2B) (default) or the seed's "
                   "printed pi P* n/B (n_ATS then comes out half as large); stated in the output")
    p.add_argument("--iron-total", metavar="N_PER_G", type=float, default=None,
                   help="total iron per gram held fixed (mass spectrometry): the fit reports n_Fe_total_per_g and "
                   "the Fe2+ fraction x_Fe2 instead of the two species densities")
    p.add_argument("--iron-fractions", metavar="X,X,...", default=None,
                   help="with --iron-total: the Langevin-subtracted re-plot and chi2 profile of the Fe2+ fraction "
                   "at these x (the seed's Figs. 16-18), e.g. 0,0.2,0.4,0.6,0.8,1")
    p.add_argument("--max-nfev", type=int, default=None, help="budget of model evaluations (of the fit and of "
                   "each profile refit)")
    add_interval_options(p, default_on=True)
    p.add_argument("--profile", metavar="NAME[,NAME...]", default=None,
                   help="parameters to profile (default: every varied parameter except well-determined "
                   "Larmor-Langevin ones, whose linearised errors hold; name chi_L_emu_per_g_Oe etc. to profile them too)")
    p.set_defaults(handler=_cmd_fit)


def add_interval_options(p, default_on):
    """``--no-intervals`` (``default_on``) or ``--intervals``, and ``--profile-refits N`` (the library is not
    imported here: building the parser stays cheap)."""
    if default_on:
        p.add_argument("--no-intervals", action="store_true",
                       help="skip the profile-likelihood intervals (ci68/ci95 are null in the JSON)")
    else:
        p.add_argument("--intervals", action="store_true",
                       help="profile-likelihood intervals (ci68, ci95) of every fit (costly: refits per parameter)")
    p.add_argument("--profile-refits", metavar="N", type=int, default=None,
                   help="refits per profiled parameter at most (default: the library's for the model, "
                   "tunnelsim.fitting.intervals.default_max_refits, fewer for the costly exact model; "
                   "0: no intervals); the printout states the cap, the refits and the seconds spent")


def register(subparsers):
    """Add the ``synth`` and ``fit`` subcommands to a ``tunnelsim`` subparsers object."""
    _add_synth(subparsers)
    _add_fit(subparsers)
