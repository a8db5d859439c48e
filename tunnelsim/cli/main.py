"""Command line interface: argument parsing only; the work is done by the library.

``tunnelsim run CONFIG [-o OUT] [--force]``, ``tunnelsim info FILE``,
``tunnelsim plot FILE [-o FIG]``, ``tunnelsim compare DATA --models ll,etm``,
``tunnelsim --version`` (also ``python -m tunnelsim``).

Each subcommand is registered by one ``_add_<name>`` function listed in ``_SUBCOMMANDS``;
a handler gets the parsed arguments and returns the exit code. Bad input (an invalid
config, a missing or unreadable file, an existing output without ``--force``) is reported
as one line ``tunnelsim: error: ...`` on stderr with exit code 2. Ctrl-C (SIGINT) ends a command
with exit code 130, SIGTERM with 143, both the same way: :func:`main` installs a SIGTERM handler
for the duration of the command (restoring the previous one after) that raises
:class:`Terminated`, a :class:`KeyboardInterrupt`, so every writer removes its temporary file
and an existing output is left untouched. Heavy libraries (h5py,
matplotlib, QuTiP, the physics modules) are imported inside the handlers, so parsing
arguments and ``--version`` stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .. import __version__
from . import compare, fit, run, validate
from ._common import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED, PROG

__all__ = ["Terminated", "build_parser", "main"]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM during a command."""


def _raise_terminated(signum, frame):
    raise Terminated(f"signal {signum}")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises :class:`Terminated` while the block runs (main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_SUBCOMMANDS = (run.register, validate.register, fit.register, compare.register)


def build_parser():
    """The ``tunnelsim`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Quantum-mechanical simulation of tunnelling systems in glasses "
        "(Extended Tunnelling Model of glass paramagnetism).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
        print(f"{PROG}: error: a command is required (see {PROG} --help)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with _sigterm_as_interrupt():
            return args.handler(args, argv)
    except (ValueError, OSError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
