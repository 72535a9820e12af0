"""`ifplay loop LOOP.yaml`: run (or resume) generate -> train -> evaluate iterations, then report."""

import argparse
import os
from pathlib import Path

from ifplay.budget import add_stop_after_argument
from ifplay.packaged import declaration_path
from ifplay.run_target import RunTarget, add_target_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loop", help="run or resume a self-play loop (recipes/loops/*.yaml) and write its report"
    )
    parser.add_argument("loop_file", type=declaration_path, help="loop YAML")
    parser.add_argument("--output", type=Path, help="run folder (default: runs/<name>)")
    parser.add_argument("--force", action="store_true", help="redo finished stages too")
    add_target_arguments(parser)
    add_stop_after_argument(parser, "every finished stage and checkpoint")
    parser.add_argument("-v", "--verbose", action="store_true", help="show distilabel's logs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "INFO" if args.verbose else "WARNING")
    from ifplay.budget import StoppedOnBudget, deadline_after
    from ifplay.loop.runner import LoopRun
    from ifplay.report import write_report

    deadline = deadline_after(args.stop_after)
    loop = LoopRun(
        args.loop_file,
        force=args.force,
        output=args.output,
        target=RunTarget.from_args(args),
        deadline=deadline,
    )
    try:
        run_dir = loop.run()
    except StoppedOnBudget:
        write_report(loop.root)  # what is done so far, and what the rerun continues
        raise
    report = write_report(run_dir)
    print(f"loop finished: {run_dir}; report: {report}")
    return 0
