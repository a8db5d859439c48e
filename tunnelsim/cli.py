"""Command line interface: argument parsing only; the work is done by the library.

``tunnelsim run CONFIG [-o OUT] [--force]``, ``tunnelsim info FILE``,
``tunnelsim plot FILE [-o FIG]``, ``tunnelsim --version`` (also ``python -m tunnelsim``).

Each subcommand is registered by one ``_add_<name>`` function listed in ``_SUBCOMMANDS``;
a handler gets the parsed arguments and returns the exit code. Bad input (an invalid
config, a missing or unreadable file, an existing output without ``--force``) is reported
as one line ``tunnelsim: error: ...`` on stderr with exit code 2. Heavy libraries (h5py,
matplotlib, QuTiP, the physics modules) are imported inside the handlers, so parsing
arguments and ``--version`` stay fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from . import __version__

__all__ = ["build_parser", "main"]

_PROG = "tunnelsim"
#: exit code for bad input (as argparse uses for usage errors)
_EXIT_BAD_INPUT = 2
#: exit code after Ctrl-C (128 + SIGINT)
_EXIT_INTERRUPTED = 130


def _cmd_run(args, argv):
    from tqdm import tqdm

    from .config import load_config
    from .runner import dask_executor, run_to_file

    cfg = load_config(args.config)
    command = shlex.join([_PROG, *argv])
    with dask_executor(args.workers, args.scheduler) as executor, tqdm(
        total=0, file=sys.stderr, disable=not sys.stderr.isatty(), unit="node", desc="averaging"
    ) as bar:
        out = run_to_file(cfg, out_path=args.output, force=args.force, command=command, progress=bar,
                          executor=executor)
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


def _cmd_info(args, argv):
    from .results import summary

    print(summary(args.file))
    return 0


def _add_info(subparsers):
    p = subparsers.add_parser(
        "info",
        help="summarise a result set",
        description="Print a result set's title, dimensions, observables (units, min/max) and provenance.",
    )
    p.add_argument("file", metavar="FILE", help="HDF5 result set")
    p.set_defaults(handler=_cmd_info)


def _cmd_plot(args, argv):
    from .plotting import save_quicklook

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


_SUBCOMMANDS = (_add_run, _add_info, _add_plot, __import__("tunnelsim._cli_validate", fromlist=["register"]).register,
                __import__("tunnelsim._cli_fit", fromlist=["register"]).register)


def build_parser():
    """The ``tunnelsim`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Quantum-mechanical simulation of tunnelling systems in glasses "
        "(Extended Tunnelling Model of glass paramagnetism).",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _SUBCOMMANDS:
        register(subparsers)
    return parser


def _one_line(exc):
    """A one-line message for an input error."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc) or type(exc).__name__
    return " ".join(message.split())


def main(argv=None):
    """Entry point of the ``tunnelsim`` console script; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{_PROG}: error: a command is required (see {_PROG} --help)", file=sys.stderr)
        return _EXIT_BAD_INPUT
    try:
        return args.handler(args, argv)
    except (ValueError, OSError) as exc:
        print(f"{_PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return _EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return _EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
