"""Command line interface: argument parsing only; the work is done by the library."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser():
    """The ``tunnelsim`` argument parser."""
    parser = argparse.ArgumentParser(prog="tunnelsim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tunnelsim {__version__}")
    return parser


def main(argv=None):
    """Entry point of the ``tunnelsim`` console script; returns the exit code."""
    parser = build_parser()
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
