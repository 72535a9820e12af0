"""`ifplay report RUN_DIR`: write report.md and PNG plots for a loop run."""

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write report.md and plots for a loop run folder")
    parser.add_argument("run_dir", type=Path, help="runs/<name>")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ifplay.report import write_report

    print(write_report(args.run_dir))
    return 0
