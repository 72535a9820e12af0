"""`run_eval`: one lighteval run of ifplay's eval tasks on one model, written to one folder.

The self-play loop calls it after every iteration; `ifplay eval` is a thin wrapper around it.
"""

import platform
import shutil
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ifplay import __version__
from ifplay.config import ModelSpec
from ifplay.errors import DataError, IfplayError
from ifplay.evaluation.data import DATA_SOURCES, DataRequest, DataSourcePolicy
from ifplay.evaluation.engines import EVAL_BATCH_SIZE, build_eval_model
from ifplay.evaluation.judge import judging_with
from ifplay.evaluation.kept_answers import AnswerBook, keep_answers, keep_folder, model_fingerprint
from ifplay.evaluation.offline import prepare_offline
from ifplay.evaluation.registry import (
    SelectedTask,
    lighteval_task_string,
    registry_factory,
    select_tasks,
)
from ifplay.evaluation.responses import ResponseBook, replay_model
from ifplay.evaluation.results import details_filename, flatten_metrics, write_outputs
from ifplay.library_patches import installed_into_pipeline, keeps_grad_mode
from ifplay.models import resolve_model_path

DEFAULT_TASKS: tuple[str, ...] = ("ifeval", "sharegpt_ppl")
# Answers kept per group of this many batches: a kill loses at most one group's work.
ANSWER_GROUP_BATCHES = 4


@keeps_grad_mode
def run_eval(
    model: ModelSpec,
    tasks: list[str],
    output_dir: Path,
    limit: int | None = None,
    judge: ModelSpec | None = None,
    *,
    max_new_tokens: int | None = None,
    responses: Path | None = None,
    data: Mapping[str, Path] | None = None,
    data_source: DataSourcePolicy = "auto",
    deadline: float | None = None,
) -> dict[str, Any]:
    """Evaluate `model` on `tasks` with lighteval; write `output_dir/results.json` and return its content.

    Args:
        model: the model, its engine (`transformers` or `vllm`) and sampling. Sampling is used as
            given: temperature 0 is greedy decoding, the standard for IFEval (`ifplay eval` defaults
            to it); `model.max_new_tokens` is *not* used, see `max_new_tokens`.
        tasks: user task names: `ifeval`, `followbench` (or `followbench:<category>`, or
            `followbench:rules` for the rule-scored rows alone), `sharegpt_ppl`.
            Without a judge, `followbench` scores only its rule-based `example` category.
        output_dir: created (or updated) only once the run has succeeded.
        limit: at most this many samples per task (lighteval's `max_samples`: a fixed, seeded subset).
        judge: the LLM judge for FollowBench's rows without a rule (any ifplay engine).
        max_new_tokens: cap on generated tokens; None keeps each task's standard (IFEval: 1280).
        responses: score the responses in this JSONL file (`prompt`, `response`) instead of generating.
        data: local data per task family, e.g. `{"followbench": Path("data/followbench")}`.
        data_source: `auto` (local copy first, then the Hub), `local` or `hub` (see `evaluation.data`).
        deadline: a `time.time()` value; once it has passed, generation stops at the next kept
            group of answers and `StoppedOnBudget` is raised.

    Generated answers are kept as they finish (`ifplay.evaluation.kept_answers`): a rerun of a
    killed or stopped eval into the same `output_dir` generates only the missing ones.

    Returns:
        A JSON-ready dict (also `results.json`). Keys:
        - `metrics`: flat `{"<task>/<metric>": float}`. Stable names include
          `ifeval/prompt_level_strict_acc`, `ifeval/inst_level_strict_acc`,
          `ifeval/prompt_level_loose_acc`, `ifeval/inst_level_loose_acc`;
          `followbench/<category>/{hsr,ssr,csl,hsr_level1..5,ssr_level1..5}` (plus
          `judge_unparsed`, `judge_unparsed_count` where a judge scored) and their unweighted
          means over the categories that ran, `followbench/{hsr,ssr,csl,...}`;
          `sharegpt_ppl/{perplexity,nll_per_token,answer_tokens}`.
        - `stderr`: bootstrap standard errors under the same keys (where lighteval computes them).
        - `model` (name, path, engine, dtype, batch_size; or the responses file), `sampling` (temperature, top_p,
          seed, max_new_tokens per task), `judge` (its ModelSpec or null), `tasks`, `limit`,
          `samples` (per task), `data` (where each task's data came from), `lighteval_version`,
          `ifplay_version`, `date` (ISO 8601, UTC), `timing` (total_s, generation_s, scoring_s,
          generated_tokens, generation_tokens_per_s), `details` (per-task JSONL paths, relative).
    """
    started = time.perf_counter()
    _check_arguments(limit, max_new_tokens, data_source)
    selected = select_tasks(list(tasks), judge_available=judge is not None)
    data = dict(data or {})
    unknown = sorted(set(data) - {s.family for s in selected})
    if unknown:
        raise IfplayError(f"--data names {unknown[0]!r}, which is not among the selected tasks")
    book = ResponseBook(Path(responses)) if responses is not None else None
    if book is not None:
        _check_generative(selected)
    prepare_offline()
    datasets, sources = _load_datasets(selected, data, data_source)
    task_tokens = {
        s.key: max_new_tokens or s.config.generation_size for s in selected if s.generative
    }

    with tempfile.TemporaryDirectory(prefix="ifplay-eval-") as scratch:
        # lighteval caches answers per model *name*: a fresh cache per run never replays the answers
        # of an older checkpoint saved at the same path.
        cache = Path(scratch) / "sample-cache"
        if book is not None:
            lighteval_model = replay_model(book, _eval_rows(selected, datasets), cache)
        else:
            longest = max((t for t in task_tokens.values() if t), default=256)
            lighteval_model = build_eval_model(model, max_new_tokens, cache, longest)
            fingerprint = {
                "model": model_fingerprint(resolve_model_path(model.name)),
                "spec": model.model_dump(mode="json"),
                "tokens": task_tokens,
                "tasks": [s.key for s in selected],
                "limit": limit,
            }
            kept = AnswerBook(keep_folder(Path(output_dir)), fingerprint)
            group = ANSWER_GROUP_BATCHES * (model.batch_size or EVAL_BATCH_SIZE)
            keep_answers(lighteval_model, kept, group, deadline)
        eos_id = getattr(getattr(lighteval_model, "tokenizer", None), "eos_token_id", None)
        pipeline = _run_pipeline(
            lighteval_model, selected, datasets, limit, max_new_tokens, judge, Path(scratch)
        )
        details = _details(pipeline, selected, eos_id)
        metrics, stderr = flatten_metrics(
            pipeline.evaluation_tracker.metrics_logger.metric_aggregated,
            {s.config_name: s.key for s in selected},
            {s.config_name: s.family for s in selected},
        )
    import lighteval

    generated = sum(row["output_tokens"] for rows in details.values() for row in rows)
    generation_s = pipeline.generation_seconds
    results: dict[str, Any] = {
        "metrics": metrics,
        "stderr": stderr,
        "model": _model_record(model, book),
        "sampling": {
            "temperature": None if book else model.temperature,
            "top_p": None if book else model.top_p,
            "seed": None if book else model.seed,
            "max_new_tokens": None if book else task_tokens,
        },
        "judge": judge.model_dump() if judge is not None else None,
        "tasks": [s.key for s in selected],
        "limit": limit,
        "samples": {key: len(rows) for key, rows in details.items()},
        "data": sources,
        "lighteval_version": lighteval.__version__,
        "ifplay_version": __version__,
        "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "timing": {
            "total_s": round(time.perf_counter() - started, 3),
            "generation_s": round(generation_s, 3),
            "scoring_s": round(pipeline.evaluate_seconds - generation_s, 3),
            "generated_tokens": generated,
            "generation_tokens_per_s": round(generated / generation_s, 3) if generated else None,
        },
        "details": {key: details_filename(key) for key in details},
    }
    write_outputs(Path(output_dir), results, details)
    shutil.rmtree(keep_folder(Path(output_dir)), ignore_errors=True)
    return results


def _run_pipeline(
    lighteval_model: Any,
    selected: list[SelectedTask],
    datasets: dict[str, Any],
    limit: int | None,
    max_new_tokens: int | None,
    judge: ModelSpec | None,
    scratch: Path,
) -> Any:
    """Build lighteval's pipeline on ifplay's registry and evaluate; returns the (timed) pipeline."""
    from lighteval.logging.evaluation_tracker import EvaluationTracker
    from lighteval.pipeline import ParallelismManager, PipelineParameters

    tracker = EvaluationTracker(output_dir=str(scratch / "lighteval"), save_details=False)
    parameters = PipelineParameters(launcher_type=ParallelismManager.NONE, max_samples=limit)
    with installed_into_pipeline(registry_factory(selected, datasets, max_new_tokens)):
        pipeline = _timed_pipeline_class()(
            tasks=lighteval_task_string(selected),
            pipeline_parameters=parameters,
            evaluation_tracker=tracker,
            model=lighteval_model,
        )
    with judging_with(judge):
        pipeline.evaluate()
    return pipeline


def _check_arguments(limit: int | None, max_new_tokens: int | None, data_source: str) -> None:
    if limit is not None and limit < 1:
        raise IfplayError(f"--limit must be at least 1 (got {limit})")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise IfplayError(f"--max-new-tokens must be at least 1 (got {max_new_tokens})")
    if data_source not in DATA_SOURCES:
        raise IfplayError(f"--data-source must be one of {', '.join(DATA_SOURCES)}")


def _check_generative(selected: list[SelectedTask]) -> None:
    for task in selected:
        if not task.generative:
            raise DataError(f"--responses cannot score {task.key!r}: it needs the model itself")


def _load_datasets(
    selected: list[SelectedTask], data: dict[str, Path], source: DataSourcePolicy
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every task's data, loaded before any model: a bad path fails fast and writes nothing."""
    datasets: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for task in selected:
        path = data.get(task.family)
        request = DataRequest(task.family, Path(path) if path is not None else None, source)
        datasets[task.config_name], sources[task.key] = task.module.load_data(task.config, request)
    return datasets, sources


def _eval_rows(selected: list[SelectedTask], datasets: dict[str, Any]) -> dict[str, int]:
    """Rows of each task's evaluation split, keyed by lighteval's full task name."""
    return {
        f"{s.config_name}|0": sum(
            len(datasets[s.config_name][split]) for split in s.config.evaluation_splits
        )
        for s in selected
    }


def _model_record(model: ModelSpec, book: ResponseBook | None) -> dict[str, Any]:
    if book is not None:
        return {"responses": str(book.path), "matched_by_row": book.matched_by_row}
    return {
        "name": model.name,
        "path": resolve_model_path(model.name),
        "engine": model.engine,
        "dtype": model.dtype,
        "batch_size": model.batch_size,
    }


def _timed_pipeline_class() -> type:
    from lighteval.pipeline import Pipeline

    class TimedPipeline(Pipeline):
        """lighteval's pipeline, remembering how long generation and the whole evaluation took."""

        generation_seconds = 0.0
        evaluate_seconds = 0.0

        def _run_model(self) -> Any:
            started = time.perf_counter()
            outputs = super()._run_model()
            self.generation_seconds = time.perf_counter() - started
            return outputs

        def evaluate(self) -> None:
            started = time.perf_counter()
            super().evaluate()
            self.evaluate_seconds = time.perf_counter() - started

    return TimedPipeline


def generated_length(tokens: Any, eos_id: int | None) -> int:
    """Generated tokens up to and including the first EOS (padded batches repeat the pad/EOS id)."""
    ids = [int(t) for t in tokens]
    if eos_id is not None and eos_id in ids:
        return ids.index(eos_id) + 1
    return len(ids)


def _details(
    pipeline: Any, selected: list[SelectedTask], eos_id: int | None
) -> dict[str, list[dict[str, Any]]]:
    """Per-sample records: prompt, the exact model input, response, token counts and metric values.

    `output_tokens` counts generated tokens (0 for log-likelihood tasks, which generate nothing).
    """
    render = getattr(getattr(pipeline.model, "prompt_manager", None), "prepare_prompt", None)
    logged = pipeline.evaluation_tracker.details_logger.details
    details: dict[str, list[dict[str, Any]]] = {}
    for task in selected:
        generative = task.generative
        rows = []
        for detail in logged.get(f"{task.config_name}|0", []):
            doc, response = detail.doc, detail.model_response
            outputs = (response.output_tokens or []) if generative else []
            rows.append(
                {
                    "id": doc.id,
                    "prompt": doc.query,
                    "model_input": render(doc) if render else doc.query,
                    "response": (response.text or [""])[0],
                    "input_tokens": len(response.input_tokens or []),
                    "output_tokens": generated_length(outputs[0], eos_id) if outputs else 0,
                    "metrics": detail.metric,
                    "specific": doc.specific,
                }
            )
        details[task.key] = rows
    return details
