"""The ``compare`` subcommand: argument parsing; the work is done by :mod:`tunnelsim.fitting.compare`.

``tunnelsim compare DATA --models ll,etm[,etm11,exact] [-o OUT.json] [--plots DIR]
[--params INIT.toml] [--fix NAME=VALUE ...] [--mass-mg M | --mass-g M] [--P-star P] [--T0-K T]
[--intervals] [--profile-refits N] [--force]`` fits each model to the same data (each from its
own estimated start unless ``--params`` gives values), prints the statistics and the shared
parameters side by side and the model AIC prefers (with ``--intervals`` also each fit's
profile-likelihood intervals, off by default as it multiplies the cost of every fit), writes one
residual figure per model into ``--plots`` and the comparison with every fit as JSON. Outputs are
checked before any fit. Exit 0 when at least one model converged, 1 when none did, 2 on bad input
(one line).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ._common import EXIT_NOT_CONVERGED, PROG
from ._data import add_data_options, read_data_from_args
from ._species import add_species_option, species_from_args, species_override
from .fit import add_interval_options

__all__ = ["register"]


def _cmd_compare(args, argv):
    from .. import __version__
    from ..fitting import write_json
    from ..fitting.compare import compare_models, format_comparison, parse_model_list
    from ..fitting.parameters import load_parameter_file
    from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
    from .fit import _parse_fix, check_outputs, check_profile_refits, data_document, data_line, warn_reduced_chi2

    check_outputs(args.output, args.plots, args.force)
    models = parse_model_list(args.models)
    fixed = _parse_fix(args.fix)
    if args.max_nfev is not None and args.max_nfev < 1:
        raise ValueError(f"--max-nfev must be >= 1, got {args.max_nfev}")
    check_profile_refits(args.profile_refits)
    data = read_data_from_args(args)
    pf = load_parameter_file(args.params, species=species_override(args)) if args.params else None
    species = species_from_args(args, pf)
    P_star = args.P_star if args.P_star is not None else (pf.P_star if pf else DEFAULT_P_STAR)
    T0_K = args.T0_K if args.T0_K is not None else (pf.T0_K if pf else DEFAULT_T0_K)
    print(data_line(data), flush=True)
    print(f"data: {data.source}: {data.n_points} points in {len(data.runs)} runs", flush=True)
    comparison = compare_models(data, models, start=dict(pf.parameters) if pf else None, fixed=fixed,
                                P_star=P_star, T0_K=T0_K, max_nfev=args.max_nfev,
                                progress=lambda line: print(line, flush=True), intervals=args.intervals,
                                max_refits_per_parameter=args.profile_refits, species=species)
    print(format_comparison(comparison))
    warnings = []
    if comparison.preferred in comparison.fits:  # a poor best model says so (one line); the others are worse
        warnings = warn_reduced_chi2(comparison.fits[comparison.preferred],
                                     label=f"best model {comparison.preferred}: ")
    if args.output is not None:
        document = comparison.to_dict()
        document["warnings"] = warnings
        document.update({"data": data_document(data),
                         "settings": {"P_star": P_star, "T0_K": T0_K},
                         "command": shlex.join([PROG, *argv]), "tunnelsim_version": __version__})
        print(f"result: {write_json(args.output, document, force=args.force)}")
    if args.plots is not None and comparison.fits:
        from ..fitting.figures import plot_residuals, save_figure

        for m, result in comparison.fits.items():
            fig, axes = plot_residuals(data, result)
            fig.suptitle(f"{m}: normalised residuals per run")
            print(f"plot: {save_figure(fig, args.plots / f'residuals_{m}.png')}")
    return 0 if comparison.fits else EXIT_NOT_CONVERGED


def register(subparsers):
    """Add the ``compare`` subcommand to a ``tunnelsim`` subparsers object."""
    p = subparsers.add_parser(
        "compare",
        help="fit several models to the same data and compare them (AIC, BIC)",
        description="Fit each model of Eq. 17 jointly to all runs of DATA, each from its own starting values "
        "estimated from the data (--params gives values instead; the rest are estimated), and compare them: "
        "n_varied, chi2, reduced chi2, AIC, BIC, delta AIC to the best, and the shared parameters side by side. "
        "The model with the lowest AIC is preferred. A model that does not converge is reported with its "
        "reason. Exit 0 if at least one model converged, 1 if none did, 2 on bad input.",
    )
    p.add_argument("data", metavar="DATA", type=Path, help="CSV (T_K,H_Oe,M_emu_per_g[,sigma_emu_per_g]) or "
                   "Quantum Design .dat (MPMS XL, MPMS3, PPMS VSM; mass from the header or --mass-mg)")
    p.add_argument("--models", metavar="LIST", default="ll,etm",
                   help="comma-separated models among ll, etm, etm11, exact (default ll,etm)")
    p.add_argument("-o", "--output", metavar="OUT", type=Path, default=None,
                   help="write the comparison and every fit as JSON")
    p.add_argument("--plots", metavar="DIR", type=Path, default=None,
                   help="write one residual figure per model (residuals_MODEL.png) into DIR")
    p.add_argument("--params", metavar="INIT", type=Path, default=None,
                   help="parameter file with starting values shared by the models (names a model lacks are "
                   "ignored for it; delta_mu_K in the file switches Eq. 15 on)")
    p.add_argument("--fix", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                   help="hold parameters fixed in every model that has them")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    add_data_options(p)
    add_species_option(p)
    p.add_argument("--max-nfev", type=int, default=None, help="budget of model evaluations of each fit")
    add_interval_options(p, default_on=False)
    p.set_defaults(handler=_cmd_compare)
