"""How far an unfinished loop stage got: read from the files its checkpoints leave.

A training stage's staging folder holds `progress.json` (steps) and an eval stage's keep folder
holds one (answers); both are updated as work is kept, so they say how much a rerun will not redo,
even after a SIGKILL. Generation keeps its chunks in the ifplay cache and has no count here.
"""

from pathlib import Path

from ifplay.evaluation.kept_answers import PROGRESS_FILE as ANSWERS_PROGRESS
from ifplay.evaluation.kept_answers import keep_folder
from ifplay.outputs import staging_path
from ifplay.training.checkpoints import read_progress


def stage_progress(root: Path, key: str) -> str | None:
    """ "train 140/400 steps" or "eval 320/541 prompts" for loop stage `key` (`iter-1/train`) of
    the run in `root`, or None when nothing of it is kept."""
    iteration, _, stage = key.partition("/")
    folder = root / iteration
    if stage in ("train", "train-refiner"):
        model = folder / ("model" if stage == "train" else "refiner")
        found = read_progress(staging_path(model))
        if found:
            return f"{stage} {found['step']}/{found['max_steps']} steps"
    if stage == "eval":
        found = read_progress(keep_folder(folder / "eval"), ANSWERS_PROGRESS)
        if found:
            return f"eval {found['prompts']}/{found['total']} prompts"
    return None
