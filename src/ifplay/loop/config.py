"""The loop declaration (`recipes/loops/*.yaml`): start model, iterations, and per iteration the
pipeline, the training recipe and the eval tasks."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from ifplay.config import Schema, load_config
from ifplay.embedded import EMBEDDED_MODEL
from ifplay.errors import ConfigError


class EvalSpec(Schema):
    """Which benchmarks to run after each iteration (and on the start model when `baseline`)."""

    tasks: list[str] = Field(default_factory=lambda: ["ifeval"], min_length=1)
    limit: int | None = Field(None, ge=1, description="Prompts per task (None: all).")
    max_new_tokens: int | None = Field(
        None, ge=1, description="Cap on generated tokens (None: each task's standard, IFEval 1280)."
    )
    batch_size: int = Field(8, ge=1)
    baseline: bool = Field(True, description="Also evaluate the start model before iteration 1.")


class RefinerTrainingSpec(Schema):
    """SPaR: also train the refiner each iteration, on its own split, into a model kept apart."""

    split: str = Field("refiner_sft", description="Which split of the generated data trains it.")
    recipe: str = Field(description="TRL recipe YAML (SFT, or DPO on `refiner_dpo`).")
    train_overrides: dict[str, float | int | str | bool] = Field(default_factory=dict)


class IterationSpec(Schema):
    """What one iteration does; the same for every iteration."""

    pipeline: str = Field(description="Pipeline YAML; its policy becomes the current model.")
    split: str = Field("dpo", description="Which split of the generated data trains the model.")
    recipe: str = Field(description="TRL recipe YAML; the reference model is the current model.")
    mix_previous: bool = Field(
        False, description="Train on this iteration's data plus the previous iteration's (SPIN)."
    )
    train_overrides: dict[str, float | int | str | bool] = Field(default_factory=dict)
    generate_limit: int | None = Field(None, ge=1, description="Cap on prompts sent to the policy.")
    refiner: RefinerTrainingSpec | None = Field(
        None,
        description="Train the pipeline's refiner too (SPaR); the next iteration judges and refines "
        "with it. Its first iterate is the start model.",
    )


class LoopConfig(Schema):
    """A self-play loop: generate -> train -> evaluate, `iterations` times."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    model: str = Field(EMBEDDED_MODEL, min_length=1, description="Start model.")
    engine: Literal["transformers", "vllm"] = "transformers"
    iterations: int = Field(ge=1)
    iteration: IterationSpec
    eval: EvalSpec = EvalSpec()
    output_dir: str | None = Field(None, description="Default: runs/<name>.")


def load_loop(path: str | Path) -> LoopConfig:
    """Read a loop file and check, before any work, that everything it names exists and is valid."""
    from ifplay.errors import IfplayError
    from ifplay.evaluation.registry import select_tasks
    from ifplay.pipelines import load_pipeline
    from ifplay.training import load_recipe

    path = Path(path)
    config = load_config(path, LoopConfig)
    base = path.parent
    named = [("iteration.pipeline", config.iteration.pipeline)]
    named.append(("iteration.recipe", config.iteration.recipe))
    if config.iteration.refiner is not None:
        named.append(("iteration.refiner.recipe", config.iteration.refiner.recipe))
    for field_name, value in named:
        if resolve_relative(value, base) is None:
            raise ConfigError(f"{path}: {field_name}: no such file: {value}")
    pipeline = load_pipeline(resolve_relative(config.iteration.pipeline, base))
    load_recipe(resolve_relative(config.iteration.recipe, base))
    if config.iteration.refiner is not None:
        if "refiner" not in type(pipeline).model_fields:
            raise ConfigError(
                f"{path}: iteration.refiner: pipeline kind {pipeline.kind!r} has no refiner to train"
            )
        load_recipe(resolve_relative(config.iteration.refiner.recipe, base))
    try:
        select_tasks(config.eval.tasks, judge_available=False)
    except IfplayError as err:
        raise ConfigError(f"{path}: eval.tasks: {err}") from None
    _check_model(config.model, path)
    return config


def _check_model(name: str, source: Path) -> None:
    """Fail unless the start model's config can be read (local folder, cached or reachable Hub id)."""
    from transformers import AutoConfig

    from ifplay.models import resolve_model_path

    try:
        AutoConfig.from_pretrained(resolve_model_path(name))
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"{source}: model: {name!r} cannot be loaded ({first})") from None


def resolve_relative(value: str, base: Path) -> Path | None:
    """`value` as given if it exists, else relative to `base`; None when neither exists."""
    candidate = Path(value)
    if candidate.exists():
        return candidate
    if (base / candidate).exists():
        return base / candidate
    return None
