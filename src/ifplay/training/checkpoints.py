"""Resumable training: TRL's own checkpoints, kept in the staging folder until training ends.

A training run writes into `.<model>.partial` beside its final folder (`ifplay.outputs`). With a
recipe that saves checkpoints (`save_strategy: steps`, `save_steps`, `save_total_limit`), TRL writes
`checkpoint-<step>` folders there: weights, optimizer, scheduler, RNG states and the trainer state
(which includes the data position). A rerun of the same run finds them and resumes from the newest
one that loads (`resume_point`), through `Trainer.train(resume_from_checkpoint=...)`; a damaged
checkpoint (a truncated or unreadable file) is removed with a one-line warning and the one before it
is used. A staging folder left by a different run (other recipe values, data or start model, told
by `run_fingerprint`) is cleared instead. Once training is done the checkpoints are removed and the
folder is renamed into place, so the final folder appears only when training is done.

Two callbacks ride along: `ProgressFile` writes `progress.json` (step, max_steps, seconds) into the
staging folder after every optimizer step, for `ifplay report` and the loop's manifest, and
`StopAtDeadline` saves a checkpoint and ends training once a time budget is spent.
"""

import hashlib
import json
import re
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ifplay.errors import first_line

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
FINGERPRINT_FILE = "resume.json"
PROGRESS_FILE = "progress.json"


def run_fingerprint(values: dict[str, Any], model: str, rows: Iterable[dict[str, Any]]) -> str:
    """A short hash of what makes two training runs the same run: the recipe values (output folder
    left out), the start model and the training rows."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in values.items() if k != "output_dir"}
    digest.update(json.dumps([settings, model], sort_keys=True, default=str).encode())
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def checkpoints(folder: Path) -> list[Path]:
    """`checkpoint-<step>` folders in `folder`, newest (highest step) first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and CHECKPOINT.match(p.name)]
    return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[1]), reverse=True)


def damage(checkpoint: Path) -> str | None:
    """Why `checkpoint` cannot be resumed from (a missing trainer state, a file that does not load
    in full), or None when every file in it reads back."""
    if not (checkpoint / "trainer_state.json").is_file():
        return "trainer_state.json is missing"
    for path in sorted(checkpoint.rglob("*")):
        if path.is_file() and (problem := _unreadable(path)):
            return f"{path.name}: {problem}"
    return None


def _unreadable(path: Path) -> str | None:
    """Why `path` does not load in full, by its kind (JSON, safetensors, torch pickle), or None."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".safetensors":
            from safetensors.torch import load_file

            load_file(str(path))
        elif path.suffix in (".pt", ".pth", ".bin"):
            import torch

            # written by this run's own trainer (optimizer, scheduler, RNG states): full unpickling
            torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # any failure to read back means the file is damaged
        return first_line(error) or type(error).__name__
    return None


def resume_point(staging: Path, fingerprint: str) -> Path | None:
    """The checkpoint to resume from in `staging` (None: start from step 0).

    A staging folder recorded for another fingerprint is emptied (a different run left it); a damaged
    checkpoint is removed with a warning on stderr and the next older one tried. Records `fingerprint`
    in the folder either way.
    """
    record = staging / FINGERPRINT_FILE
    if record.is_file() and json.loads(record.read_text()).get("fingerprint") != fingerprint:
        warn(f"{staging}: checkpoints of a different run (recipe, data or model changed): cleared")
        for child in staging.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    elif not record.is_file():
        for child in checkpoints(staging):  # no record: not ours to trust
            shutil.rmtree(child)
    staging.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
    for checkpoint in checkpoints(staging):
        problem = damage(checkpoint)
        if problem is None:
            return checkpoint
        warn(f"{checkpoint}: damaged ({problem}): removed, resuming from the one before")
        shutil.rmtree(checkpoint)
    return None


def finish_staging(staging: Path) -> None:
    """Remove the checkpoints and resume records from a staging folder whose training is done."""
    for checkpoint in checkpoints(staging):
        shutil.rmtree(checkpoint)
    for name in (FINGERPRINT_FILE, PROGRESS_FILE):
        (staging / name).unlink(missing_ok=True)


def read_progress(folder: Path, name: str = PROGRESS_FILE) -> dict[str, Any] | None:
    """A progress record (`progress.json` of a training run in progress: step, max_steps, seconds;
    or the file `name` in `folder`), or None when there is none."""
    path = folder / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def progress_callback(staging: Path) -> Any:
    """A `TrainerCallback` writing `staging/progress.json` after every optimizer step."""
    from transformers import TrainerCallback

    class ProgressFile(TrainerCallback):
        def __init__(self) -> None:
            self.started = time.time()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not state.is_world_process_zero:
                return
            record = {
                "step": state.global_step,
                "max_steps": state.max_steps,
                "seconds": round(time.time() - self.started, 1),
            }
            tmp = staging / f".{PROGRESS_FILE}.tmp"
            tmp.write_text(json.dumps(record) + "\n")
            tmp.replace(staging / PROGRESS_FILE)

    return ProgressFile()


def deadline_callback(deadline: float) -> Any:
    """A `TrainerCallback` that, at the first optimizer step ending after `deadline` (a
    `time.time()` value), saves a checkpoint and ends training."""
    from transformers import TrainerCallback

    class StopAtDeadline(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if time.time() >= deadline and state.global_step < state.max_steps:
                control.should_save = True
                control.should_training_stop = True

    return StopAtDeadline()
