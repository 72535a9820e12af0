"""`ifplay train RECIPE`: run a TRL recipe in-process, with data, model and output filled in.

A killed or stopped run resumes from its newest checkpoint when rerun with the same arguments
(`ifplay.training.checkpoints`; the recipe's `save_steps` sets how often checkpoints are saved).

Run it under `accelerate launch ... -m ifplay.cli train ...` to train on several processes (DDP,
DeepSpeed ZeRO-3): every rank runs the recipe and the main one writes the model folder.
"""

import argparse
import os
from pathlib import Path

from ifplay.budget import add_stop_after_argument
from ifplay.packaged import declaration_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train with a TRL recipe (recipes/*.yaml, the file `trl sft|dpo --config` reads)",
    )
    parser.add_argument(
        "recipe", type=declaration_path, help="TRL recipe YAML (DPO/SPIN/SPaR actor, or SFT)"
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        help="folder with data.jsonl (or a .jsonl file, or a save_to_disk folder); "
        "replaces the recipe's datasets",
    )
    parser.add_argument(
        "--model", help="start model: smollm2-135m-instruct, a checkpoint folder or a Hub id"
    )
    parser.add_argument(
        "--ref-model", help="DPO reference model (default: the start model, as in TRL)"
    )
    parser.add_argument(
        "--output", type=Path, help="model folder (default: the recipe's output_dir)"
    )
    parser.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any recipe key, the value read as YAML (e.g. --set learning_rate=1.0e-6); "
        "repeatable",
    )
    add_stop_after_argument(parser, "a checkpoint of the steps done")
    parser.add_argument("--force", action="store_true", help="replace an existing output folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ifplay.budget import deadline_after
    from ifplay.errors import IfplayError
    from ifplay.training import run_recipe
    from ifplay.training.settings import parse_settings

    deadline = deadline_after(args.stop_after)
    overrides = parse_settings(args.settings)
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise IfplayError(f"--max-steps: must be >= 1 (got {args.max_steps})")
        overrides["max_steps"] = args.max_steps
    result = run_recipe(
        args.recipe,
        dataset_dir=args.dataset,
        model=args.model,
        ref_model=args.ref_model,
        output_dir=args.output,
        overrides=overrides,
        force=args.force,
        deadline=deadline,
    )
    if int(os.environ.get("RANK", "0")) != 0:  # under accelerate launch: the main rank reports
        return 0
    loss = result.metrics.get("train_loss", float("nan"))
    print(
        f"{result.method} {result.steps} steps, train_loss {loss:.4f} -> {result.output_dir} "
        f"({result.seconds:.1f}s)"
    )
    return 0
