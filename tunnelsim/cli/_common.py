"""Names shared by the subcommand modules: the program name and the exit codes."""

PROG = "tunnelsim"
#: exit code for bad input (as argparse uses for usage errors)
EXIT_BAD_INPUT = 2
#: exit code of a fit that does not converge
EXIT_NOT_CONVERGED = 1
#: exit code after Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130
#: exit code after SIGTERM (128 + SIGTERM)
EXIT_TERMINATED = 143
