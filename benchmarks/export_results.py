"""Copy what a reported run's numbers rest on into benchmarks/results/<run>/, small enough for git.

    python benchmarks/export_results.py runs/repair                       # a loop run folder
    python benchmarks/export_results.py --name NAME --eval 0=DIR --eval 1=DIR --data 1=DIR --model 1=DIR

Per iteration k: `iter-k/ifeval.jsonl.gz` (prompt, response, the four metrics, instruction ids:
IFEval's details, rescorable with `ifplay eval --responses`), `iter-k/results.json` (the eval's
metrics and settings) and, for trained iterations, `iter-k/data/<split>.jsonl.gz` plus the data's
`stats.json` and `iter-k/train_result.json` (training settings and loss curve). No weights; absolute
paths in the JSON files are shortened to their last two parts. A loop run folder gives every iteration it has; otherwise each --eval and
--data names an iteration and a folder (an eval output folder, a generated data folder).
"""

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
KEEP = ("prompt", "response", "metrics", "specific", "output_tokens")


def export_eval(source: Path, target: Path) -> None:
    """IFEval details (selected columns, gzip) and results.json of one eval output folder."""
    target.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(x) for x in (source / "details" / "ifeval.jsonl").read_text().splitlines()]
    with gzip.open(target / "ifeval.jsonl.gz", "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({k: row[k] for k in KEEP if k in row}) + "\n")
    copy_json(source / "results.json", target / "results.json")


def scrub(value: Any) -> Any:
    """`value` with every absolute path shortened to `.../<last two parts>` (no machine paths)."""
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    if isinstance(value, str) and value.startswith("/") and "\n" not in value:
        return ".../" + "/".join(Path(value).parts[-2:])
    return value


def copy_json(source: Path, target: Path) -> None:
    """A JSON file, paths scrubbed."""
    target.write_text(json.dumps(scrub(json.loads(source.read_text())), indent=2) + "\n")


def export_train(source: Path, target: Path) -> None:
    """A trained model folder's train_result.json (settings and loss curve; no weights)."""
    target.mkdir(parents=True, exist_ok=True)
    copy_json(source / "train_result.json", target / "train_result.json")


def export_data(source: Path, target: Path) -> None:
    """Every split's data.jsonl (gzip) and stats.json of one generated data folder."""
    out = target / "data"
    out.mkdir(parents=True, exist_ok=True)
    for data in sorted(source.glob("*/data.jsonl")) or sorted(source.glob("data.jsonl")):
        split = data.parent.name if data.parent != source else "data"
        with gzip.open(out / f"{split}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(data.read_text())
    if (source / "stats.json").is_file():
        copy_json(source / "stats.json", out / "stats.json")


def pairs(items: list[str]) -> dict[int, Path]:
    """`K=DIR` items -> {K: DIR}."""
    out = {}
    for item in items:
        key, _, folder = item.partition("=")
        out[int(key)] = Path(folder)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="a loop run folder (runs/<name>)")
    parser.add_argument("--name", help="results folder name (default: the run folder's name)")
    parser.add_argument("--eval", action="append", default=[], metavar="K=DIR")
    parser.add_argument("--data", action="append", default=[], metavar="K=DIR")
    parser.add_argument("--model", action="append", default=[], metavar="K=DIR")
    args = parser.parse_args()
    evals, data, models = pairs(args.eval), pairs(args.data), pairs(args.model)
    if args.run_dir is not None:
        for folder in sorted(args.run_dir.glob("iter-*")):
            k = int(folder.name.removeprefix("iter-"))
            if (folder / "eval" / "details" / "ifeval.jsonl").is_file():
                evals.setdefault(k, folder / "eval")
            if (folder / "data").is_dir():
                data.setdefault(k, folder / "data")
            if (folder / "model" / "train_result.json").is_file():
                models.setdefault(k, folder / "model")
    name = args.name or (args.run_dir.name if args.run_dir else None)
    if not name:
        parser.error("give a loop run folder or --name")
    target = RESULTS / name
    for k, folder in sorted(evals.items()):
        export_eval(folder, target / f"iter-{k}")
    for k, folder in sorted(data.items()):
        export_data(folder, target / f"iter-{k}")
    for k, folder in sorted(models.items()):
        export_train(folder, target / f"iter-{k}")
    print(f"{target}: {sum(f.stat().st_size for f in target.rglob('*') if f.is_file())} bytes")


if __name__ == "__main__":
    main()
