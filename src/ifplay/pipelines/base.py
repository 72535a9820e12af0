"""What every pipeline kind shares: its result type and how a distilabel run becomes a dataset."""

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ifplay.errors import IfplayError
from ifplay.library_patches import brisk_polling


@dataclass
class PipelineOutput:
    """What a pipeline run returns: named splits (each a `datasets.Dataset`) and per-stage counts.

    A single split is saved at the top of the output folder; several get one subfolder each.
    """

    splits: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


def digest(*values: Any) -> str:
    """12 hex digits that change whenever `values` (as JSON) change."""
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def pipeline_name(kind: str, name: str, *settings: Any) -> str:
    """The checkpoint folder name of one configuration: `kind`, `name` and a digest of `settings`.

    A changed setting never shares a folder with an older run; the rows themselves key each chunk
    (`run_checkpointed`), so a run on the first N rows and a later run on all of them share the
    chunks they have in common.
    """
    return f"ifplay-{kind}-{name}-{digest(*settings)}"


def run_checkpointed(
    name: str,
    rows: list[dict[str, Any]],
    chunk_size: int,
    build: Callable[[list[dict[str, Any]]], Any],
    use_cache: bool = True,
    check: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run `build(chunk)` (a distilabel pipeline) over `rows` in fixed chunks, checkpointing each.

    Each finished chunk's output rows are written atomically to
    `<ifplay cache>/checkpoints/<name>/chunk-NNNNN-<digest of its input rows>.jsonl`; a rerun (after a
    crash or SIGKILL, or with more rows) reads the finished chunks back and computes only the rest.
    Chunk boundaries depend only on the rows,
    and seeded engines sample each batch from its prompts, so the result equals an uninterrupted run.
    (distilabel's own mid-pipeline recovery can hang after a SIGKILL, so each chunk runs fresh.)
    `use_cache=False` recomputes every chunk. A chunk with a row whose engine call failed is never
    saved (`refuse_engine_failures`); `check(chunk_rows)`, when given, runs next and raises to keep
    any other failed chunk out of the checkpoints. Once the process's time budget is
    spent (`ifplay.budget`), `StoppedOnBudget` is raised after the chunk in progress is saved.
    """
    from ifplay.budget import check_deadline
    from ifplay.cache import cache_dir

    folder = cache_dir("checkpoints", name)
    out: list[dict[str, Any]] = []
    for index, start in enumerate(range(0, len(rows), chunk_size)):
        chunk = rows[start : start + chunk_size]
        path = folder / f"chunk-{index:05d}-{digest(chunk)}.jsonl"
        if use_cache and path.is_file():
            out.extend(json.loads(line) for line in path.read_text().splitlines() if line)
            continue
        done = run_distilabel(build(chunk)).to_list()
        refuse_engine_failures(name, done)
        if check is not None:
            check(done)
        tmp = path.with_suffix(".partial")
        tmp.write_text("".join(json.dumps(row, default=str) + "\n" for row in done))
        os.replace(tmp, path)
        out.extend(done)
        if start + chunk_size < len(rows):
            chunks = -(-len(rows) // chunk_size)
            check_deadline(
                f"{name}: generation stopped on its time budget with {index + 1}/{chunks} chunks "
                f"kept in {folder}"
            )
    return out


def refuse_engine_failures(name: str, rows: list[dict[str, Any]]) -> None:
    """Raise a one-line `IfplayError` when any row's engine call failed (`steps.base.ENGINE_FAILED`
    names the step); the caller then keeps nothing of these rows."""
    from ifplay.steps.base import ENGINE_FAILED

    failed = [row[ENGINE_FAILED] for row in rows if row.get(ENGINE_FAILED)]
    if failed:
        raise IfplayError(
            f"{name}: the engine failed on {len(failed)} of {len(rows)} rows "
            f"(step {', '.join(sorted(set(failed)))}); nothing of this chunk was kept; "
            f"rerun with -v to see its errors"
        )


def answer_prompts(
    config: Any, kind: str, rows: list[dict[str, Any]], spec: Any, use_cache: bool = True
) -> list[dict[str, Any]]:
    """Every row's `prompt` answered `spec.n` times by the model `spec` (new column `responses`),
    through a one-step distilabel pipeline run in checkpointed chunks; rows keep their other columns.

    `config` is the pipeline declaration (its name, its data settings key the checkpoints, and its
    `sample` step's placement); `kind` names the pipeline kind.
    """
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from ifplay.cache import cache_dir
    from ifplay.models import build_llm
    from ifplay.pipelines.resources import step_placement
    from ifplay.steps.progress import ProgressBar
    from ifplay.steps.respond import SampleResponses

    batch = spec.batch_size

    def build(chunk: list[dict[str, Any]]) -> Any:
        with Pipeline(
            name=f"ifplay-{kind}-{config.name}", cache_dir=cache_dir("distilabel")
        ) as pipe:
            load = LoadDataFromDicts(data=chunk, batch_size=batch)
            sample = SampleResponses(
                llm=build_llm(spec),
                num_generations=spec.n,
                input_batch_size=batch,
                **step_placement(config, "sample"),
            )
            progress = ProgressBar(
                total=len(chunk), description=f"{config.name}: answering", input_batch_size=batch
            )
            load >> sample >> progress
        return pipe

    def answered(chunk: list[dict[str, Any]]) -> None:
        """A chunk without one non-empty answer is an engine that failed quietly, not data (a
        failed call is refused before this: `refuse_engine_failures`)."""
        if chunk and not any(text for row in chunk for text in row.get("responses") or []):
            raise IfplayError(
                f"{config.name}: every answer of {len(chunk)} prompts is empty: the engine failed "
                f"({spec.engine}, {spec.name}); rerun with -v to see its errors"
            )

    name = pipeline_name(kind, config.name, config.data_settings())
    return run_checkpointed(name, rows, batch * 8, build, use_cache, check=answered)


def run_distilabel(pipeline: Any) -> Any:
    """Run a distilabel pipeline with one leaf step, fresh (on Ray inside `on_ray`), and return the
    leaf's rows as a Dataset."""
    from ifplay.pipelines.ray_cluster import ray_active, run_on_ray

    brisk_polling()
    distiset = run_on_ray(pipeline) if ray_active() else pipeline.run(use_cache=False)
    if "default" not in distiset:
        raise IfplayError(
            f"pipeline {pipeline.name!r} produced no rows (rerun with -v to see distilabel's logs)"
        )
    return distiset["default"]["train"]
