"""The ``shequ`` command line. ``cli`` is a click group; give it the container as ``obj``."""

from shequ.entrypoints.cli.main import EXIT_CODES, cli, exit_code_for

__all__ = ["EXIT_CODES", "cli", "exit_code_for"]
