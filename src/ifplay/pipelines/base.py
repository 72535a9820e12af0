"""What every pipeline kind shares: its result type and how a distilabel run becomes a dataset."""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ifplay.errors import IfplayError


@dataclass
class PipelineOutput:
    """What a pipeline run returns: named splits (each a `datasets.Dataset`) and per-stage counts.

    A single split is saved at the top of the output folder; several get one subfolder each.
    """

    splits: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


def pipeline_name(kind: str, name: str, *inputs: Any) -> str:
    """A distilabel pipeline name unique to this exact configuration and input data.

    distilabel keys its step cache by pipeline name and step settings but not by the rows a loader
    holds, so a changed config or input must never share a name with an older run; an identical
    rerun shares it and resumes from the cache.
    """
    text = json.dumps(inputs, sort_keys=True, default=str)
    return f"ifplay-{kind}-{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def run_distilabel(pipeline: Any, use_cache: bool) -> Any:
    """Run a distilabel pipeline with one leaf step and return the leaf's rows as a Dataset.

    distilabel caches every step, so rerunning after an interruption resumes where it stopped.
    """
    distiset = pipeline.run(use_cache=use_cache)
    if "default" not in distiset:
        raise IfplayError(
            f"pipeline {pipeline.name!r} produced no rows (rerun with -v to see distilabel's logs, "
            "and --no-cache to ignore a cached partial run)"
        )
    return distiset["default"]["train"]
