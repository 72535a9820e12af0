"""`ifplay generate CONFIG`: run a pipeline declaration and save its dataset."""

import argparse
import json
import os
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate", help="run a pipeline declaration (pipelines/*.yaml) and save the dataset"
    )
    parser.add_argument("config", type=Path, help="pipeline YAML")
    parser.add_argument(
        "--output",
        type=Path,
        help="output folder (default: the config's output_dir or runs/<name>)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N input rows")
    parser.add_argument("--model", help="override the generation model name")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.add_argument("--no-cache", action="store_true", help="ignore distilabel's cached steps")
    parser.add_argument("-v", "--verbose", action="store_true", help="show distilabel's logs")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "INFO" if args.verbose else "WARNING")
    from ifplay import __version__
    from ifplay.errors import IfplayError
    from ifplay.outputs import check_output_free, save_dataset, staged_folder
    from ifplay.pipelines import PIPELINES, load_pipeline

    if args.limit is not None and args.limit < 1:
        raise IfplayError(f"--limit: must be >= 1 (got {args.limit})")
    config = load_pipeline(args.config)
    if args.model:
        config.model.name = args.model
    output = args.output or Path(config.output_dir or Path("runs") / config.name)
    check_output_free(output, args.force)
    started = time.time()
    dataset = PIPELINES[config.kind].run(
        config, base_dir=args.config.parent, limit=args.limit, use_cache=not args.no_cache
    )
    elapsed = time.time() - started
    with staged_folder(output, force=args.force) as folder:
        save_dataset(dataset, folder)
        record = {
            "ifplay_version": __version__,
            "config_file": str(args.config),
            "config": config.model_dump(mode="json"),
            "rows": len(dataset),
            "seconds": round(elapsed, 2),
        }
        (folder / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{len(dataset)} rows -> {output}/data.jsonl and {output}/dataset ({elapsed:.1f}s)")
    return 0
