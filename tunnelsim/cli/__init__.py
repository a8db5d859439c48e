"""The ``tunnelsim`` command line: argument parsing only; every subcommand calls the library.

:mod:`~tunnelsim.cli.main` builds the parser and maps errors to exit codes; one module per
group of subcommands registers them: :mod:`~tunnelsim.cli.run` (``run``, ``info``, ``plot``),
:mod:`~tunnelsim.cli.validate` (``validate``), :mod:`~tunnelsim.cli.fit` (``synth``, ``fit``).
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
