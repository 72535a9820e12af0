"""`ifplay generate CONFIG`: run a pipeline declaration and save its dataset(s)."""

import argparse
import json
import os
import time
from pathlib import Path

from ifplay.budget import add_stop_after_argument
from ifplay.packaged import declaration_path
from ifplay.run_target import RunTarget, add_target_arguments, run_target


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="run a pipeline declaration (pipelines/*.yaml) and save the dataset"
    )
    parser.add_argument("config", type=declaration_path, help="pipeline YAML")
    parser.add_argument(
        "--output",
        type=Path,
        help="output folder (default: the config's output_dir or runs/<name>)",
    )
    parser.add_argument("--limit", type=int, help="cap the rows sent to the generating model")
    parser.add_argument(
        "--model", help="override the name of the model being trained (the declaration's `model`)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every chunk, ignoring checkpoints of earlier runs",
    )
    add_target_arguments(parser)
    add_stop_after_argument(parser, "the finished chunks (in the ifplay cache)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show distilabel's logs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "INFO" if args.verbose else "WARNING")
    from ifplay.budget import deadline_after, set_deadline
    from ifplay.config import with_model
    from ifplay.errors import IfplayError
    from ifplay.outputs import check_output_free, save_pipeline_output
    from ifplay.pipelines import PIPELINES, load_pipeline

    if args.limit is not None and args.limit < 1:
        raise IfplayError(f"--limit: must be >= 1 (got {args.limit})")
    config = load_pipeline(args.config)
    if args.model:
        config = with_model(config, name=args.model)
    output = args.output or Path(config.output_dir or Path("runs") / config.name)
    check_output_free(output, args.force)
    set_deadline(deadline_after(args.stop_after))
    started = time.time()
    with run_target(config, str(args.config), RunTarget.from_args(args)):
        result = PIPELINES[config.kind].run(
            config, base_dir=args.config.parent, limit=args.limit, use_cache=not args.no_cache
        )
    elapsed = time.time() - started
    save_pipeline_output(result, output, config, args.config, elapsed, args.force)
    sizes = ", ".join(f"{name}: {len(ds)} rows" for name, ds in result.splits.items())
    print(f"{sizes} -> {output} ({elapsed:.1f}s)")
    if len(result.splits) > 1:
        print(json.dumps(result.stats, indent=2))
    return 0
