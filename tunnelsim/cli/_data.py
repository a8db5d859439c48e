"""Data-file options shared by ``fit``, ``compare`` and ``info``, and reading a data file from them.

``--mass-mg``/``--mass-g`` (instrument files; default the header's ``SAMPLE_MASS``),
``--moment-column NAME[,NAME...]`` (the moment column, or several in order of preference),
``--sigma-rel``/``--sigma-abs`` (the error model for points without an error), ``--no-file-errors``
(the model for every point), ``--keep-repeats`` (do not average repeated readings at one set
point), and for fits ``--P-star`` and ``--T0-K``. The library is imported inside the functions so
that building the parser stays cheap.
"""

from __future__ import annotations

import sys

from ._common import PROG

__all__ = ["add_data_options", "add_reader_options", "read_data_from_args"]


def add_reader_options(p):
    """How a data file is read: mass, moment column, error model, repeated readings."""
    mass = p.add_mutually_exclusive_group()
    mass.add_argument("--mass-mg", type=float, default=None,
                      help="sample mass in mg (instrument .dat files; default: the header's SAMPLE_MASS, with a "
                      "warning when they differ by more than 1 %%)")
    mass.add_argument("--mass-g", type=float, default=None, help="sample mass in g (instrument .dat files)")
    p.add_argument("--moment-column", metavar="NAME[,NAME...]", default=None,
                   help="moment column of a .dat file, or several in order of preference (default, per row: "
                   "DC Moment Free Ctr, DC Moment Fixed Ctr, DC Moment, Moment (VSM), Long Moment (MPMS XL))")
    p.add_argument("--sigma-rel", type=float, default=None,
                   help="error model for points the file gives no error for (empty or zero std dev): relative "
                   "error of M, e.g. 0.001; sigma = sqrt((rel M)^2 + abs^2)")
    p.add_argument("--sigma-abs", type=float, default=None,
                   help="error model: absolute error of the moment, in emu for .dat files (before the division "
                   "by the mass), in emu/g for CSV")
    p.add_argument("--no-file-errors", action="store_true",
                   help="ignore the file's errors and use the error model (--sigma-rel/--sigma-abs) for every point")
    p.add_argument("--keep-repeats", action="store_true",
                   help="keep repeated readings at one set point as separate points (default: average them, "
                   "with their scatter as the error)")


def add_data_options(p):
    """Reader options and the fit settings ``--P-star`` and ``--T0-K`` (``fit`` and ``compare``)."""
    add_reader_options(p)
    p.add_argument("--P-star", dest="P_star", type=float, default=None,
                   help="P* of Eq. 8 (default: the parameter file's, else 1/(2 pi))")
    p.add_argument("--T0-K", dest="T0_K", type=float, default=None, help="reference temperature of Eq. 15 (K)")


def _moment_columns(text):
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise ValueError(f"--moment-column: expected a column name, got {text!r}")
    return names[0] if len(names) == 1 else names


def read_data_from_args(args, quiet=False):
    """Read ``args.data`` with the reader options; reader warnings go to stderr (one line each).

    Returns
    -------
    tunnelsim.fitting.data.MagnetizationData
    """
    from ..fitting.data import ErrorModel, read_data

    model = None
    if args.sigma_rel is not None or args.sigma_abs is not None:
        model = ErrorModel(args.sigma_rel or 0.0, args.sigma_abs or 0.0, bool(args.no_file_errors))
    elif args.no_file_errors:
        raise ValueError("--no-file-errors needs an error model: give --sigma-rel and/or --sigma-abs")
    data = read_data(args.data, mass_mg=args.mass_mg, mass_g=args.mass_g,
                     moment_column=_moment_columns(args.moment_column), error_model=model,
                     repeats="keep" if args.keep_repeats else "average")
    if not quiet and data.reading is not None:
        for warning in data.reading.warnings:
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
    return data
