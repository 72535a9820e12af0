"""Wall time per stage of a loop run (by default the quickstart: one AutoIF iteration on CPU).

    python benchmarks/loop_quickstart.py [--loop recipes/loops/quickstart.yaml] [--output DIR]

Runs (or resumes) the loop and writes its report exactly as `ifplay loop` does, then prints every
stage's wall time from the run's manifest, the time of one full iteration (generate + train + eval;
target on the embedded model: <= 60 min), and the eval metrics before and after. A resumed run reports the times recorded
when each stage actually ran.
"""

import argparse
import json
import time
from pathlib import Path

from ifplay.loop.runner import LoopRun
from ifplay.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", type=Path, default=Path("recipes/loops/quickstart.yaml"))
    parser.add_argument(
        "--output", type=Path, default=None, help="run folder (default: the loop's)"
    )
    args = parser.parse_args()

    started = time.time()
    root = LoopRun(args.loop, output=args.output).run()
    report = write_report(root)  # as `ifplay loop` does
    wall = time.time() - started
    stages = json.loads((root / "manifest.json").read_text())["stages"]

    print(f"\nloop {args.loop} -> {root} ({wall / 60:.1f} min in this process); report: {report}\n")
    print(f"{'stage':<20} {'minutes':>8} {'attempts':>8}")
    for key, stage in stages.items():
        print(f"{key:<20} {stage.get('seconds', 0) / 60:>8.1f} {stage.get('attempts', 1):>8}")
    iterations = sorted({key.split("/")[0] for key in stages if key != "iter-0/eval"})
    for name in iterations:
        seconds = sum(
            stages[f"{name}/{part}"].get("seconds", 0)
            for part in ("generate", "train", "eval")
            if f"{name}/{part}" in stages
        )
        print(f"{name}: generate + train + eval = {seconds / 60:.1f} min (target <= 60)")
    for key, stage in stages.items():
        if key.endswith("/eval"):
            metrics = stage.get("summary", {}).get("metrics", {})
            shown = ", ".join(f"{k.split('/')[-1]}={v:.4f}" for k, v in sorted(metrics.items()))
            print(f"{key}: {shown}")
    generate = {k: v for k, v in stages.items() if k.endswith("/generate")}
    for key, stage in generate.items():
        print(f"{key}: splits {stage.get('summary', {}).get('splits')}")


if __name__ == "__main__":
    main()
