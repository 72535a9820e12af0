"""Pipeline declarations (`pipelines/*.yaml`): each `kind` maps to a schema and a runner.

`load_pipeline(path)` validates a declaration by its `kind`; `PIPELINES[kind].run(config, base_dir,
limit, use_cache)` builds and runs the distilabel pipeline(s) and returns a `PipelineOutput`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ifplay.config import read_yaml, validate_config
from ifplay.errors import ConfigError
from ifplay.pipelines.autoif import AutoIFConfig, run_autoif
from ifplay.pipelines.base import PipelineOutput
from ifplay.pipelines.generate import GenerateConfig, run_generate
from ifplay.pipelines.repair import RepairConfig, run_repair
from ifplay.pipelines.spar import SparConfig, run_spar
from ifplay.pipelines.spin import SpinConfig, run_spin


@dataclass(frozen=True)
class PipelineKind:
    """A declaration schema and the function that runs it."""

    schema: type[BaseModel]
    run: Callable[..., Any]


__all__ = ["PIPELINES", "PipelineKind", "PipelineOutput", "load_pipeline"]

PIPELINES: dict[str, PipelineKind] = {
    "autoif": PipelineKind(AutoIFConfig, run_autoif),
    "generate": PipelineKind(GenerateConfig, run_generate),
    "repair": PipelineKind(RepairConfig, run_repair),
    "spar": PipelineKind(SparConfig, run_spar),
    "spin": PipelineKind(SpinConfig, run_spin),
}


def load_pipeline(path: str | Path) -> Any:
    """Read `path` and validate it against the schema its `kind` names."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    kind = data.get("kind")
    if kind not in PIPELINES:
        known = ", ".join(sorted(PIPELINES))
        raise ConfigError(f"{path}: kind: must be one of {known} (got {kind!r})")
    return validate_config(data, PIPELINES[kind].schema, str(path))
