"""`ifplay annotate push|pull`: human spot checks of preference pairs in Argilla."""

import argparse
import os
from pathlib import Path


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help="Argilla dataset name")
    parser.add_argument("--workspace", help="Argilla workspace (default: your first)")
    parser.add_argument("--api-url", help="Argilla server URL (default: $ARGILLA_API_URL)")
    parser.add_argument("--api-key", help="Argilla API key (default: $ARGILLA_API_KEY)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "annotate", help="spot-check preference pairs by hand in Argilla (push, then pull)"
    )
    verbs = parser.add_subparsers(dest="annotate_command", metavar="ACTION", required=True)

    push = verbs.add_parser(
        "push",
        help="send preference pairs to an Argilla dataset (layout: hub/argilla_settings.yaml)",
    )
    push.add_argument("data_dir", type=Path, help="an `ifplay generate` output or a loop run")
    _server_options(push)
    push.add_argument(
        "--sample", type=int, help="send N random pairs, spread evenly over iterations"
    )
    push.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    push.set_defaults(handler=run_push)

    pull = verbs.add_parser(
        "pull",
        help="read the submitted answers back, report agreement, optionally filter the pairs",
    )
    pull.add_argument("data_dir", type=Path, help="the folder the pairs were pushed from")
    _server_options(pull)
    pull.add_argument(
        "--filtered",
        type=Path,
        help="write the pair splits without the pairs humans rejected to this folder",
    )
    pull.add_argument(
        "--drop-ties", action="store_true", help="with --filtered, also drop pairs called a tie"
    )
    pull.add_argument("--force", action="store_true", help="replace an existing --filtered folder")
    pull.set_defaults(handler=run_pull)


def _client(args: argparse.Namespace):
    from ifplay.annotate import check_dataset_name, connect

    check_dataset_name(args.dataset)
    url = args.api_url or os.environ.get("ARGILLA_API_URL")
    key = args.api_key or os.environ.get("ARGILLA_API_KEY")
    return connect(url, key)


def run_push(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from collections import Counter

    from ifplay.annotate import collect_pairs, dataset_url, load_layout, push_pairs, sample_pairs
    from ifplay.errors import IfplayError

    if args.sample is not None and args.sample < 1:
        raise IfplayError(f"--sample: must be >= 1 (got {args.sample})")
    layout = load_layout()
    _, pairs = collect_pairs(args.data_dir, layout)
    chosen = sample_pairs(pairs, args.sample, args.seed)
    client = _client(args)
    dataset, created = push_pairs(client, args.dataset, args.workspace, chosen, layout)
    per_iteration = Counter(pair.iteration for pair in chosen)
    spread = ", ".join(
        f"iteration {k}: {n}" if k is not None else f"{n}"
        for k, n in sorted(per_iteration.items(), key=lambda kv: -1 if kv[0] is None else kv[0])
    )
    action = "created" if created else "updated"
    print(
        f"{action} Argilla dataset {args.dataset!r} in workspace {dataset.workspace.name!r}: "
        f"{len(chosen)} of {len(pairs)} pairs ({spread})"
    )
    print(dataset_url(client, dataset))
    return 0


def run_pull(args: argparse.Namespace) -> int:
    os.environ.setdefault("TQDM_DISABLE", "1")
    from ifplay.annotate import (
        agreement,
        check_rows_match,
        collect_pairs,
        filter_pairs,
        load_layout,
        pull_verdicts,
        rejected_pairs,
        write_answers,
    )
    from ifplay.errors import IfplayError
    from ifplay.outputs import check_output_free, staged_folder

    if args.drop_ties and args.filtered is None:
        raise IfplayError("--drop-ties: only applies with --filtered")
    found, pairs = collect_pairs(args.data_dir, load_layout())
    if args.filtered is not None:
        check_output_free(args.filtered, args.force)
    client = _client(args)
    rows, records = pull_verdicts(client, args.dataset, args.workspace)
    check_rows_match(rows, pairs, args.data_dir)
    summary = agreement(rows, records)
    answers = args.data_dir / "annotations" / args.dataset
    with staged_folder(answers, force=True) as folder:
        write_answers(folder, rows, summary)
    print(_describe(summary, answers))
    if args.filtered is not None:
        drop = rejected_pairs(rows, args.drop_ties)
        with staged_folder(args.filtered, force=args.force) as folder:
            kept = filter_pairs(found, args.data_dir, drop, folder, args.dataset)
        print(f"filtered: dropped {len(drop)} pairs, kept {sum(kept.values())} -> {args.filtered}")
    return 0


def _describe(summary: dict, folder: Path) -> str:
    """A short report: answers, verdicts, agreement overall and per iteration."""

    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    verdicts = ", ".join(f"{k} {v}" for k, v in summary["verdicts"].items())
    lines = [
        f"{summary['answers']} answers on {summary['pairs']} pairs ({verdicts}) -> {folder}",
        f"agreement with the pipeline: {percent(summary['agreement'])} "
        f"(excluding ties and both-bad: {percent(summary['decisive_agreement'])})",
    ]
    if len(summary["by_iteration"]) > 1:
        for key, rates in summary["by_iteration"].items():
            lines.append(
                f"  iteration {key}: {percent(rates['agreement'])} of {rates['answers']} answers"
            )
    return "\n".join(lines)
