"""The ``run``, ``info`` and ``plot`` subcommands: argument parsing; the work is done by the library.

``tunnelsim run CONFIG [-o OUT] [--force] [--workers N | --scheduler ADDR]`` runs a simulation
config (:mod:`tunnelsim.runner`: output paths and memory checked first; on a terminal the estimated
memory and time are printed on stderr above the progress bar), ``tunnelsim info FILE`` summarises a result set
(:mod:`tunnelsim.results`), ``tunnelsim plot FILE [-o FIG]`` draws its quick-look figure
(:mod:`tunnelsim.plotting`). Heavy libraries are imported inside the handlers.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ._common import PROG
from ._data import add_reader_options, read_data_from_args

__all__ = ["register"]


def _cmd_run(args, argv):
    from tqdm import tqdm

    from ..config import load_config
    from ..runner import dask_executor, run_to_file

    cfg = load_config(args.config)
    command = shlex.join([PROG, *argv])

    show_progress = sys.stderr.isatty()

    def announce(estimate):
        # printed with the progress line, on a terminal (the result set records it in any case)
        if show_progress:
            print(f"{PROG}: {estimate.describe()}", file=sys.stderr, flush=True)

    with dask_executor(args.workers, args.scheduler) as executor, tqdm(
        total=0, file=sys.stderr, disable=not show_progress, unit="node", desc="averaging"
    ) as bar:
        out = run_to_file(cfg, out_path=args.output, force=args.force, command=command, progress=bar,
                          executor=executor, on_estimate=announce)
    print(f"result set: {out.result_path}")
    if out.plot_path is not None:
        print(f"plot: {out.plot_path}")
    return 0


def _add_run(subparsers):
    p = subparsers.add_parser(
        "run",
        help="run a simulation config (TOML) and write an HDF5 result set",
        description="Run a simulation config and write the HDF5 result set (and a quick-look PNG "
        "next to it when output.plot is true). A progress bar is shown on a terminal.",
    )
    p.add_argument("config", metavar="CONFIG", help="simulation config, TOML")
    p.add_argument("-o", "--output", metavar="OUT", type=Path, default=None,
                   help="result-set path (default: output.path of the config)")
    p.add_argument("--force", action="store_true", help="replace an existing result set")
    parallel = p.add_mutually_exclusive_group()
    parallel.add_argument("--workers", metavar="N", type=int, default=None,
                          help="run on a local dask.distributed cluster of N worker processes")
    parallel.add_argument("--scheduler", metavar="ADDRESS", default=None,
                          help="run on the dask.distributed scheduler at ADDRESS (e.g. tcp://host:8786)")
    p.set_defaults(handler=_cmd_run)


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(path):
    """A result set: named ``.h5``/``.hdf5``, or any file that starts with the HDF5 signature."""
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(8) == _HDF5_SIGNATURE
    except OSError:
        return False


def _cmd_info(args, argv):
    import json

    if _is_hdf5(args.file):
        if args.json:
            from ..results import summary_document

            print(json.dumps(summary_document(args.file), indent=2, default=str))
        else:
            from ..results import summary

            print(summary(args.file))
        return 0
    from ..fitting.describe import data_summary, format_data_summary

    args.data = Path(args.file)
    data = read_data_from_args(args, quiet=True)  # warnings are part of the summary
    if args.json:
        print(json.dumps(data_summary(data), indent=2))
    else:
        print(format_data_summary(data))
    return 0


def _add_info(subparsers):
    p = subparsers.add_parser(
        "info",
        help="summarise a result set or a data file",
        description="For an HDF5 result set: its title, dimensions, observables (units, min/max) and provenance. "
        "For a data file (CSV, Quantum Design .dat): what the reader made of it: points read and skipped (and "
        "why), runs (kind, fixed value, range, points), the moment and error columns used, the mass and where it "
        "came from. With --json, a JSON object on stdout.",
    )
    p.add_argument("file", metavar="FILE", help="HDF5 result set or data file")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    add_reader_options(p)
    p.set_defaults(handler=_cmd_info)


def _cmd_plot(args, argv):
    from ..plotting import save_quicklook

    source = Path(args.file)
    output = args.output if args.output is not None else source.with_suffix(".png")
    if output.resolve() == source.resolve():
        raise ValueError(f"{output}: the figure would overwrite the result set; give another -o")
    print(f"plot: {save_quicklook(source, output, observable=args.observable)}")
    return 0


def _add_plot(subparsers):
    p = subparsers.add_parser(
        "plot",
        help="quick-look plot of a result set",
        description="Plot an observable of a result set against temperature (one line per field) or, "
        "with more fields than temperatures, against field. An existing figure is replaced.",
    )
    p.add_argument("file", metavar="FILE", help="HDF5 result set")
    p.add_argument("-o", "--output", metavar="FIG", type=Path, default=None,
                   help="figure path; format from the suffix (default: FILE with suffix .png)")
    p.add_argument("--observable", metavar="NAME", default=None,
                   help="observable to plot (default: magnetization if present)")
    p.set_defaults(handler=_cmd_plot)


def register(subparsers):
    """Add the ``run``, ``info`` and ``plot`` subcommands to a ``tunnelsim`` subparsers object."""
    _add_run(subparsers)
    _add_info(subparsers)
    _add_plot(subparsers)
