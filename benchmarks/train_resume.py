"""What resuming costs: SFT of the embedded SmolLM2-135M-Instruct on CPU, uninterrupted against
killed (SIGKILL right after a checkpoint) and rerun, through `ifplay.training.run_recipe`.

    python benchmarks/train_resume.py --steps 8 --save-steps 4 --kill-after 4 [--bf16]

Rows are synthetic chats (`benchmarks/train_step.make_pairs`' answers, ~`--answer-chars` long).
Prints one JSON line: wall seconds of the uninterrupted run, of the killed run and of the rerun,
seconds spent saving each checkpoint (from the trainer's step end to its `on_save`), the checkpoint
size, steps run by the rerun, and whether the logged losses equal the uninterrupted run's.
"""

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "cpu" / "sft.yaml"
sys.path.insert(0, str(ROOT / "benchmarks"))

KILLED = """
import os, signal, sys, time
from transformers import TrainerCallback
from ifplay.training import run_recipe

class KillAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == {kill}:
            os.kill(os.getpid(), signal.SIGKILL)

run_recipe({recipe!r}, dataset_dir={data!r}, output_dir={out!r}, overrides={overrides!r},
           callbacks=[KillAfterSave()])
"""


def save_timer() -> object:
    """A callback recording how long each checkpoint save took (`.seconds`) and steps run."""
    from transformers import TrainerCallback

    class SaveTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.steps = 0
            self.step_end = 0.0

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.steps += 1
            self.step_end = time.time()

        def on_save(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
            self.seconds.append(round(time.time() - self.step_end, 2))

    return SaveTimer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--save-steps", type=int, default=4)
    parser.add_argument("--kill-after", type=int, default=4)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--answer-chars", type=int, default=1000)
    parser.add_argument("--bf16", action="store_true")
    args = parser.parse_args()

    from train_step import make_pairs

    from ifplay.training import run_recipe

    overrides = {
        "max_steps": args.steps,
        "save_strategy": "steps",
        "save_steps": args.save_steps,
        "save_total_limit": 2,
        "bf16": args.bf16,
    }
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = folder / "data"
        data.mkdir()
        rows = [
            {"messages": [pair["prompt"][0], pair["chosen"][0]]}
            for pair in make_pairs(args.rows, args.answer_chars)
        ]
        (data / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

        timer = save_timer()
        started = time.time()
        whole = run_recipe(
            RECIPE,
            dataset_dir=data,
            output_dir=folder / "a",
            overrides=overrides,
            callbacks=[timer],
        )
        uninterrupted_s = time.time() - started

        out = folder / "b"
        script = KILLED.format(
            kill=args.kill_after,
            recipe=str(RECIPE),
            data=str(data),
            out=str(out),
            overrides=overrides,
        )
        started = time.time()
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        killed_s = time.time() - started
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
        checkpoint = out.parent / f".{out.name}.partial" / f"checkpoint-{args.kill_after}"
        size = sum(p.stat().st_size for p in checkpoint.iterdir())

        rerun = save_timer()
        started = time.time()
        resumed = run_recipe(
            RECIPE, dataset_dir=data, output_dir=out, overrides=overrides, callbacks=[rerun]
        )
        rerun_s = time.time() - started

    def losses(history: list[dict]) -> list[float]:
        return [round(e["loss"], 5) for e in history if "loss" in e]

    print(
        json.dumps(
            {
                "steps": args.steps,
                "save_steps": args.save_steps,
                "bf16": args.bf16,
                "uninterrupted_s": round(uninterrupted_s, 1),
                "killed_after_checkpoint_s": round(killed_s, 1),
                "rerun_s": round(rerun_s, 1),
                "rerun_steps": rerun.steps,
                "save_s": timer.seconds,
                "checkpoint_mb": round(size / 2**20),
                "same_losses": losses(whole.log_history) == losses(resumed.log_history),
            }
        )
    )


if __name__ == "__main__":
    main()
