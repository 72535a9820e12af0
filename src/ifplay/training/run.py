"""`run_recipe`: train one recipe in this process through TRL and write the model folder atomically.

Everything that can be checked is checked before any model is loaded: the recipe (keys, types, TRL's
own validation), the model names, the output folder, and the dataset columns. Training writes into a
hidden staging folder beside `output_dir` that is renamed into place only after the weights, the
tokenizer (with its chat template) and `train_result.json` are saved, so a killed run leaves no
half-written final folder.

Under `accelerate launch` (DDP, DeepSpeed ZeRO-3) every rank runs `run_recipe`: all of them train and
save (the trainer writes files from the main process only, after gathering sharded weights), while
only the main process checks, creates and renames the staging folder and writes `train_result.json`.
"""

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifplay.budget import StoppedOnBudget
from ifplay.errors import ConfigError
from ifplay.models import resolve_model_path
from ifplay.outputs import check_output_free, staged_folder, staging_path
from ifplay.training.checkpoints import (
    checkpoints,
    deadline_callback,
    finish_staging,
    progress_callback,
    resume_point,
    run_fingerprint,
)
from ifplay.training.dataset import DATASET_KEYS, load_train_data
from ifplay.training.recipe import load_recipe
from ifplay.training.result import TrainResult, numeric_history, summarize
from ifplay.training.trainer import build_trainer

if TYPE_CHECKING:
    from accelerate import PartialState


def run_recipe(
    recipe_path: str | Path,
    dataset_dir: str | Path | None = None,
    model: str | None = None,
    ref_model: str | None = None,
    output_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    force: bool = False,
    deadline: float | None = None,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train `recipe_path` (a `recipes/*.yaml` TRL recipe) and return what was trained where.

    dataset_dir: folder with `data.jsonl` (or a `.jsonl` file, or a `save_to_disk` folder); replaces
        the recipe's `datasets`/`dataset_name`.
    model: start model (`smollm2-135m-instruct`, a checkpoint folder or a Hub id); replaces the
        recipe's `model_name_or_path`, which is resolved the same way when `model` is None.
    ref_model: DPO reference model; None keeps TRL's default, a frozen copy of the start model.
    output_dir: final model folder; replaces the recipe's `output_dir`. Must not exist unless `force`.
    overrides: any other recipe keys (e.g. {"max_steps": 2, "learning_rate": 1e-6}), checked like
        the recipe itself.
    deadline: a `time.time()` value; at the first optimizer step ending after it, training saves a
        checkpoint and stops, and `StoppedOnBudget` is raised (rerun to continue).
    callbacks: extra `TrainerCallback`s for this run.

    A rerun of a killed or stopped run resumes from its newest sound checkpoint (see
    `ifplay.training.checkpoints`; the recipe sets how often they are saved).
    """
    started = time.time()
    extra = dict(overrides or {})
    if output_dir is not None:
        extra["output_dir"] = str(output_dir)
    if model is not None:
        extra["model_name_or_path"] = model
    recipe = load_recipe(recipe_path, extra)
    start_model = recipe.values.get("model_name_or_path")
    if not start_model:
        raise ConfigError(
            f"{recipe.path}: model_name_or_path: not set (set it in the recipe or pass --model)"
        )
    if not recipe.values.get("output_dir"):
        raise ConfigError(
            f"{recipe.path}: output_dir: not set (set it in the recipe or pass --output)"
        )
    if ref_model is not None and recipe.method != "dpo":
        raise ConfigError(f"{recipe.path}: a reference model only applies to DPO recipes")
    start_path = resolve_model_path(str(start_model))
    ref_path = resolve_model_path(ref_model) if ref_model is not None else None
    final = Path(recipe.values["output_dir"])
    check_output_free(final, force)  # read-only: every rank fails alike

    os.environ.update(recipe.env)  # as `trl` does with a config's `env` section
    args = recipe.parse()
    args.model.model_name_or_path = start_path
    data = load_train_data(recipe, args, Path(dataset_dir) if dataset_dir is not None else None)

    from accelerate import PartialState

    state = PartialState()  # set up by recipe.parse() (TrainingArguments), as the trainer uses it
    fingerprint = run_fingerprint(recipe.values, start_path, data.train)
    with rank_staged_folder(final, force, state, fingerprint) as (staging, resume):
        args.training.output_dir = str(staging)  # TRL's checkpoints land here, kept across reruns
        trainer = build_trainer(recipe.method, args, data, ref_path)
        trainer.add_callback(progress_callback(staging))
        if deadline is not None:
            trainer.add_callback(deadline_callback(deadline))
        for callback in callbacks or ():
            trainer.add_callback(callback)
        import torch

        with (
            torch.enable_grad()
        ):  # an eval earlier in the process may have turned grad off globally
            output = trainer.train(
                resume_from_checkpoint=args.training.resume_from_checkpoint or resume
            )
        if trainer.state.global_step < trainer.state.max_steps:
            raise StoppedOnBudget(
                f"train stopped on its time budget at step {trainer.state.global_step}"
                f"/{trainer.state.max_steps}; checkpoint kept in {staging}: rerun the same "
                "command to continue"
            )
        trainer.save_model(str(staging))
        history = trainer.state.log_history
        result = TrainResult(
            output_dir=final,
            method=recipe.method,
            metrics=summarize(history, output.metrics),
            log_history=numeric_history(history),
            steps=int(trainer.state.global_step),
            seconds=round(time.time() - started, 2),
            model=start_path,
            ref_model=ref_path,
            dataset=data.source,
            rows=data.rows,
            recipe=str(recipe.path),
            config=effective_config(recipe.values, start_path, final, dataset_dir is not None),
            world_size=state.num_processes,
        )
        if state.is_main_process:
            result.write(staging)
            finish_staging(staging)  # the model is saved: its checkpoints can go
    accelerator = trainer.accelerator
    del trainer  # with the accelerator's references, so the DDP wrapper goes before its group
    end_processes(accelerator)
    return result


def end_processes(accelerator: Any) -> None:
    """Free the accelerator's prepared (DDP-wrapped) models, then end the process group, after the
    last barrier: a DDP reducer freed after its gloo group is gone can hang in the group's
    destructor. One process: nothing to end."""
    accelerator.free_memory()
    accelerator.end_training()


@contextmanager
def rank_staged_folder(
    final: Path, force: bool, state: "PartialState", fingerprint: str
) -> Iterator[tuple[Path, str | None]]:
    """A resumable `staged_folder(final)` shared by every rank, and the checkpoint to resume from
    (None: from the start). The main process creates the folder and picks the checkpoint
    (`resume_point`) before the others enter the block, and renames it once all have left it."""
    if state.is_main_process:
        with staged_folder(final, force=force, resumable=True) as staging:
            resume = resume_point(staging, fingerprint)
            state.wait_for_everyone()  # the folder is ready: the other ranks may start
            yield staging, None if resume is None else str(resume)
            state.wait_for_everyone()  # every rank has saved: the folder may be renamed
    else:
        state.wait_for_everyone()
        staging = staging_path(final)
        found = checkpoints(staging)  # the main process has removed damaged ones
        yield staging, str(found[0]) if found else None
        state.wait_for_everyone()


def effective_config(
    values: dict[str, Any], model: str, output_dir: Path, data_replaced: bool
) -> dict[str, Any]:
    """The recipe values a run used: resolved model, final output, and no stale dataset keys."""
    config = {**values, "model_name_or_path": model, "output_dir": str(output_dir)}
    if data_replaced:  # the data came from dataset_dir, recorded as TrainResult.dataset
        for key in DATASET_KEYS:
            config.pop(key, None)
    return config
