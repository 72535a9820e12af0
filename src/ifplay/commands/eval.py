"""`ifplay eval`: IFEval, FollowBench and the ShareGPT perplexity guard through lighteval, offline.

Examples:
    ifplay eval --model smollm2-135m-instruct --tasks ifeval --limit 20 --max-new-tokens 256
    ifplay eval --responses gpt4.jsonl --tasks ifeval          # score existing responses
    ifplay eval --tasks followbench --data followbench=DIR --judge-model JUDGE
"""

import argparse
from pathlib import Path

from ifplay.budget import add_stop_after_argument

DEFAULT_OUTPUT_ROOT = "eval-results"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model on IFEval / FollowBench / ShareGPT perplexity (lighteval, offline)",
        description="Evaluate a model with lighteval and write results.json plus per-sample details.",
    )
    parser.add_argument(
        "--model", default=None, help="model name or checkpoint folder (default: embedded)"
    )
    parser.add_argument(
        "--tasks",
        default=None,
        help="comma-separated: ifeval, followbench[:category], sharegpt_ppl "
        "(default: ifeval,sharegpt_ppl; with --responses: ifeval)",
    )
    parser.add_argument("--limit", type=int, default=None, help="at most N samples per task")
    parser.add_argument(
        "--engine",
        choices=["auto", "transformers", "vllm"],
        default="auto",
        help="auto (default): vllm when installed with a GPU, else transformers",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="output folder (default: eval-results/<model>)"
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="cap on generated tokens (default: each task's own)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="sequences generated concurrently (default: 32)",
    )
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16", "auto"], default=None)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--seed", type=int, default=None)
    judge = parser.add_mutually_exclusive_group()
    judge.add_argument(
        "--judge-model", default=None, help="LLM judge for FollowBench's judged categories"
    )
    judge.add_argument(
        "--judge-config", type=Path, default=None, help="YAML ModelSpec for the judge"
    )
    parser.add_argument(
        "--judge-engine", choices=["transformers", "llamacpp", "vllm", "openai"], default=None
    )
    parser.add_argument(
        "--responses", type=Path, default=None, help="JSONL (prompt, response) to score"
    )
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="TASK=PATH",
        help="local data for a task family, e.g. followbench=data/followbench (repeatable)",
    )
    parser.add_argument("--data-source", choices=["auto", "local", "hub"], default="auto")
    add_stop_after_argument(parser, "the answers generated so far")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ifplay.budget import deadline_after
    from ifplay.config import ModelSpec, load_config, validate_config
    from ifplay.embedded import EMBEDDED_MODEL
    from ifplay.errors import IfplayError
    from ifplay.evaluation import DEFAULT_TASKS, run_eval
    from ifplay.evaluation.engines import EVAL_BATCH_SIZE, auto_engine

    deadline = deadline_after(args.stop_after)
    engine = args.engine
    if engine == "auto":
        engine = "transformers" if args.responses else auto_engine()
    fields: dict[str, object] = {
        "name": args.model or EMBEDDED_MODEL,
        "engine": engine,
        "temperature": args.temperature,
        "batch_size": EVAL_BATCH_SIZE,
    }
    for key in ("batch_size", "dtype", "seed"):
        if getattr(args, key) is not None:
            fields[key] = getattr(args, key)
    model = validate_config(fields, ModelSpec, "--model")
    judge = None
    if args.judge_config is not None:
        judge = load_config(args.judge_config, ModelSpec)
    elif args.judge_model is not None:
        judge_fields = {"name": args.judge_model, "temperature": 0.0, "max_new_tokens": 512}
        if args.judge_engine:
            judge_fields["engine"] = args.judge_engine
        judge = validate_config(judge_fields, ModelSpec, "--judge-model")
    data: dict[str, Path] = {}
    for item in args.data:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise IfplayError(f"--data {item!r}: expected TASK=PATH")
        data[name.strip()] = Path(path)
    default = ("ifeval",) if args.responses else DEFAULT_TASKS  # replayed answers: generative only
    tasks = [t for t in (args.tasks.split(",") if args.tasks else default) if t.strip()]
    output = args.output or Path(DEFAULT_OUTPUT_ROOT) / _folder_name(
        "responses-" + args.responses.stem if args.responses else model.name
    )
    results = run_eval(
        model,
        tasks,
        output,
        limit=args.limit,
        judge=judge,
        max_new_tokens=args.max_new_tokens,
        responses=args.responses,
        data=data,
        data_source=args.data_source,
        deadline=deadline,
    )
    for key, value in results["metrics"].items():
        print(f"{key:<44}{value:.4f}")
    if judge is None and any(t.startswith("followbench") for t in tasks):
        print("note: no --judge-model given, so FollowBench scored only its rule-scored rows")
    timing = results["timing"]
    print(f"wrote {output / 'results.json'} ({timing['total_s']:.0f} s)")
    return 0


def _folder_name(name: str) -> str:
    """A folder name for a model name or path."""
    cleaned = Path(name.rstrip("/")).name or "model"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in cleaned)
