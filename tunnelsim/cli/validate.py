"""The ``tunnelsim validate`` subcommand: argument parsing only (the work is in :mod:`tunnelsim.validation`).

``tunnelsim validate [--quick] [--config FILE] [-o OUT.h5] [--plots DIR] [--force]`` prints the
validation table, writes the HDF5 report and the PNG figures. The library is imported inside
the handler, so registering the subcommand costs nothing at start-up.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ._common import PROG

__all__ = ["register"]


def _cmd_validate(args, argv):
    from .. import validation

    settings = validation.quick_settings() if args.quick else validation.full_settings()
    if args.config is not None:
        settings = validation.load_settings(args.config, base=settings)
    output = args.output if args.output is not None else settings.output_path
    if args.plots is not None:
        plots = args.plots
    elif settings.plots_dir is not None:
        plots = settings.plots_dir
    else:
        plots = output.with_name(f"{output.stem}_figures")
    if output.suffix.lower() == ".png" or (plots.exists() and not plots.is_dir()):
        raise ValueError(f"{output if output.suffix.lower() == '.png' else plots}: "
                         "-o takes the HDF5 report and --plots a directory")
    validation.check_outputs(output, plots, force=args.force)  # fail before the long computation
    log = (lambda line: print(line, file=sys.stderr)) if sys.stderr.isatty() else None
    report = validation.run_validation(settings, log=log)
    print(validation.format_report(report))
    written = validation.write_report(output, report, command=shlex.join([PROG, *argv]), force=args.force)
    figures = validation.save_figures(report, plots, force=args.force)
    print(f"report: {written}")
    print(f"figures: {plots} ({len(figures)} PNG)")
    return 0


def register(subparsers):
    """Add the ``validate`` subcommand to an :mod:`argparse` subparsers object."""
    p = subparsers.add_parser(
        "validate",
        help="check the analytic ETM formulas against exact spectra and ensembles",
        description="Validate the analytic ETM (Eqs. 10-13 of the seed) against exact three-level spectra "
        "and ensembles: (a) the effective-gap mapping, (b) Eq. 10 vs the effective two-level and the exact "
        "ensembles over (T, B), (c) Eq. 12/13 at weak field, (d) the high-field regime with both Eq. 11 "
        "forms, (e) the four-well ensemble vs the three-level one. Prints a table and writes an HDF5 "
        "report and PNG figures.",
    )
    p.add_argument("--quick", action="store_true",
                   help="coarse grids and reduced node counts (well under two minutes)")
    p.add_argument("--config", metavar="FILE", type=Path, default=None,
                   help="TOML settings, e.g. simulations/validation_full.toml (keys left out keep the "
                        "defaults of the full run, or of --quick)")
    p.add_argument("-o", "--output", metavar="OUT", type=Path, default=None,
                   help="HDF5 report (default: output.path of the settings, results/validation.h5 or "
                        "results/validation_quick.h5)")
    p.add_argument("--plots", metavar="DIR", type=Path, default=None,
                   help="directory for the PNG figures (default: OUT's stem + '_figures' next to OUT)")
    p.add_argument("--force", action="store_true", help="replace an existing report and figures")
    p.set_defaults(handler=_cmd_validate)
