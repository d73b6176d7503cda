"""Command-line entry point: ``fzanalysis <command> ...``.

Each command lives in the module that owns its concept; this file is only a
name -> module table.  A module listed here defines
``register_cli(subparsers) -> None``, which adds its sub-parser(s) and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "fzanalysis.catalog",   # catalog
    "fzanalysis.gazetteer",  # towns
    "fzanalysis.panel.cli",  # template, ingest, validate, withdraw
    "fzanalysis.demo",      # demo
    "fzanalysis.assessment",  # assess
    "fzanalysis.trend",     # project, backtest
    "fzanalysis.report.cli",  # report
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser from :data:`COMMAND_MODULES`."""
    from fzanalysis import __version__

    parser = argparse.ArgumentParser(
        prog="fzanalysis",
        description="从化区妇女发展规划（2021—2030年）监测评估工作台 / "
        "Monitoring workbench for the Conghua Women's Development Plan 2021-2030",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        register = getattr(module, "register_cli", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # the reader stopped early (``fzanalysis validate … | head``): not an error of ours;
        # stdout goes to devnull so that Python's flush at exit does not raise again
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command a pipe closed on


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
