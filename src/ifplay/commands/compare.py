"""`ifplay compare BEFORE AFTER`: two IFEval evals on the same prompts, with paired intervals."""

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="IFEval change between two evals: paired 95%% intervals and a per-type table",
    )
    parser.add_argument(
        "before", type=Path, help="an eval output folder or its details/ifeval.jsonl"
    )
    parser.add_argument("after", type=Path, help="the same, for the model after training")
    parser.add_argument("--json", type=Path, help="also write the tables as JSON to this file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ifplay.evaluation.paired import (
        details_file,
        load_samples,
        markdown,
        mean_of_four,
        paired_changes,
        per_type_table,
    )

    before = load_samples(details_file(args.before))
    after = load_samples(details_file(args.after))
    changes, table = paired_changes(before, after), per_type_table(before, after)
    print(markdown(changes, table))
    print(
        f"\nmean of four: {100 * mean_of_four(changes):+.1f} points on {len(set(before) & set(after))} prompts"
    )
    if args.json:
        payload = {"changes": [asdict(c) for c in changes], "types": [asdict(r) for r in table]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0
