"""The loop declaration (`recipes/loops/*.yaml`): start model, iterations, and per iteration the
pipeline, the training recipe and the eval tasks."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ifplay.config import Schema, load_config, read_yaml, with_model
from ifplay.embedded import EMBEDDED_MODEL
from ifplay.errors import ConfigError, first_line
from ifplay.evaluation.engines import EVAL_BATCH_SIZE
from ifplay.packaged import declaration_path


class EvalSpec(Schema):
    """Which benchmarks to run after each iteration (and on the start model when `baseline`)."""

    tasks: list[str] = Field(default_factory=lambda: ["ifeval"], min_length=1)
    limit: int | None = Field(None, ge=1, description="Prompts per task (None: all).")
    max_new_tokens: int | None = Field(
        None, ge=1, description="Cap on generated tokens (None: each task's standard, IFEval 1280)."
    )
    batch_size: int = Field(EVAL_BATCH_SIZE, ge=1, description="Sequences generated together.")
    dtype: Literal["float32", "bfloat16", "float16", "auto"] = Field(
        "float32",
        description="Weights' dtype for eval generation; bfloat16 is ~1.5x faster on CPUs with "
        "native bf16 (avx512_bf16, AMX), with slightly different generations.",
    )
    baseline: bool = Field(True, description="Also evaluate the start model before iteration 1.")


class LaunchSpec(Schema):
    """Train through `accelerate launch` (DDP, DeepSpeed ZeRO-3) instead of in the loop's process."""

    accelerate_config: str = Field(
        description="accelerate config YAML (e.g. recipes/accelerate/ddp.yaml), relative to the "
        "loop file or the working directory."
    )
    num_processes: int | None = Field(None, ge=1, description="Overrides the config's.")
    mixed_precision: Literal["no", "fp16", "bf16"] | None = Field(
        None, description="Overrides the config's."
    )

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _unquoted_no(cls, value: object) -> object:
        """YAML reads an unquoted `no` as false."""
        return "no" if value is False else value

    def options(self) -> list[str]:
        """The `accelerate launch` options this spec sets."""
        options = ["--config_file", self.accelerate_config]
        if self.num_processes is not None:
            options += ["--num_processes", str(self.num_processes)]
        if self.mixed_precision is not None:
            options += ["--mixed_precision", self.mixed_precision]
        return options


class TrainingSpec(Schema):
    """How a loop trains a model: recipe overrides, and where the training runs."""

    train_overrides: dict[str, float | int | str | bool] = Field(default_factory=dict)
    launch: LaunchSpec | None = Field(None, description="None: train in a process of the loop.")


class RefinerTrainingSpec(TrainingSpec):
    """SPaR: also train the refiner each iteration, on its own split, into a model kept apart."""

    split: str = Field("refiner_sft", description="Which split of the generated data trains it.")
    recipe: str = Field(description="TRL recipe YAML (SFT, or DPO on `refiner_dpo`).")


class IterationSpec(TrainingSpec):
    """What one iteration does; the same for every iteration."""

    pipeline: str = Field(description="Pipeline YAML; its `model` becomes the current model.")
    split: str = Field("dpo", description="Which split of the generated data trains the model.")
    recipe: str = Field(description="TRL recipe YAML; the reference model is the current model.")
    mix_previous: bool = Field(
        False, description="Train on this iteration's data plus the previous iteration's (SPIN)."
    )
    generate_limit: int | None = Field(None, ge=1, description="Cap on prompts the model answers.")
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
    from ifplay.pipelines.resources import check_capacity, local_capacity
    from ifplay.training import load_recipe

    path = Path(path)
    config = load_config(path, LoopConfig)
    base = path.parent
    trainings: list[tuple[str, IterationSpec | RefinerTrainingSpec]] = [
        ("iteration", config.iteration)
    ]
    if config.iteration.refiner is not None:
        trainings.append(("iteration.refiner", config.iteration.refiner))
    launches = [
        (f"{name}.launch.accelerate_config", spec.launch.accelerate_config)
        for name, spec in trainings
        if spec.launch is not None
    ]
    named = [("iteration.pipeline", config.iteration.pipeline)]
    named += [(f"{name}.recipe", spec.recipe) for name, spec in trainings]
    for field_name, value in named + launches:
        if resolve_relative(value, base) is None:
            raise ConfigError(f"{path}: {field_name}: no such file: {value}")
    for field_name, value in launches:
        _check_accelerate_config(resolve_relative(value, base), f"{path}: {field_name}")
    pipeline_file = resolve_relative(config.iteration.pipeline, base)
    pipeline = load_pipeline(pipeline_file)
    load_recipe(resolve_relative(config.iteration.recipe, base))
    if config.iteration.refiner is not None:
        if "refiner" not in type(pipeline).model_fields:
            raise ConfigError(
                f"{path}: iteration.refiner: pipeline kind {pipeline.kind!r} has no refiner to train"
            )
        load_recipe(resolve_relative(config.iteration.refiner.recipe, base))
    pipeline = pipeline_as_run(config, pipeline, config.model, config.model)
    try:
        check_capacity(pipeline, str(pipeline_file), local_capacity(pipeline))
    except ConfigError as err:
        raise ConfigError(f"{path}: iteration.pipeline: {err}") from None
    try:
        select_tasks(config.eval.tasks, judge_available=False)
    except IfplayError as err:
        raise ConfigError(f"{path}: eval.tasks: {err}") from None
    _check_model(config.model, path)
    return config


def pipeline_as_run(loop: LoopConfig, pipeline: Any, model: str, refiner: str) -> Any:
    """A copy of the iteration's pipeline declaration as the loop runs it: `model` is the current
    model and, when the loop trains a refiner, `refiner` judges and refines; both on the loop's
    engine. `pipeline` itself is not changed."""
    run = with_model(pipeline, name=model, engine=loop.engine)
    if loop.iteration.refiner is not None:  # a refiner of its own, trained by the loop
        spec = run.refiner_spec().model_copy(update={"name": refiner, "engine": loop.engine})
        run = run.model_copy(update={"refiner": spec})
    return run


def _check_accelerate_config(file: Path, where: str) -> None:
    """Fail unless `file` parses as a YAML mapping, as `accelerate launch --config_file` needs."""
    try:
        settings = read_yaml(file)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    if not isinstance(settings, dict):
        kind = type(settings).__name__
        raise ConfigError(f"{where}: {file}: expected a mapping of accelerate settings, got {kind}")


def _check_model(name: str, source: Path) -> None:
    """Fail unless the start model's config can be read (local folder, cached or reachable Hub id)."""
    from transformers import AutoConfig

    from ifplay.models import resolve_model_path

    try:
        AutoConfig.from_pretrained(resolve_model_path(name))
    except Exception as err:
        first = first_line(err)
        raise ConfigError(f"{source}: model: {name!r} cannot be loaded ({first})") from None


def resolve_relative(value: str, base: Path) -> Path | None:
    """`value` as given if it exists, else relative to `base`, else the declaration ifplay ships
    under that name (`pipelines/...`, `recipes/...`); None when none exists."""
    path = declaration_path(value, beside=base)
    return path if path.exists() else None
