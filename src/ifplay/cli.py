"""The `ifplay` command line: thin verbs over the engine.

Each verb lives in `ifplay/commands/<verb>.py` and exposes `register(subparsers)`, which adds its parser
and sets `handler=<function(args) -> int>`. Verbs are discovered automatically; heavy imports happen
inside handlers so `ifplay --help` stays fast. User errors (`IfplayError`) print one line on stderr and
exit with their code (2 for bad input); nothing else is printed. Work stopped on its time budget
(`--stop-after`) says so in one line and exits 75, so a script can rerun it to continue.
"""

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

import ifplay.commands
from ifplay import __version__
from ifplay.budget import StoppedOnBudget
from ifplay.errors import IfplayError


def build_parser() -> argparse.ArgumentParser:
    """The full parser with every discovered verb."""
    parser = argparse.ArgumentParser(
        prog="ifplay",
        description="Self-play data, training and evaluation for instruction following "
        "(AutoIF, SPaR, SPIN).",
    )
    parser.add_argument("--version", action="version", version=f"ifplay {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_info in sorted(pkgutil.iter_modules(ifplay.commands.__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"ifplay.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    # Library noise in the processes ifplay starts (distilabel steps, evals, training); distilabel's
    # pydantic warning is filtered wherever ifplay is imported (`ifplay/__init__.py`).
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning,ignore::DeprecationWarning")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except IfplayError as err:
        print(f"ifplay: error: {err}", file=sys.stderr)
        return err.exit_code
    except StoppedOnBudget as stop:
        print(f"ifplay: stopped: {stop}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("ifplay: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
