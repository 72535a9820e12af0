"""`kind: generate`: prompts -> chat generation with one model -> dataset + jsonl.

The plain distilabel pipeline every method builds on: load prompts (local file or Hub id), generate
`model.n` responses per prompt with the configured engine, save a `datasets` folder and a jsonl with one
row per prompt (`generation`, or `generations` when n > 1, plus `output_tokens` and `model_name`).
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ifplay.config import DataSource, ModelSpec
from ifplay.pipelines.base import PipelineOutput, pipeline_name, run_checkpointed
from ifplay.pipelines.resources import PipelineDeclaration, step_placement


class GenerateConfig(PipelineDeclaration):
    """A plain generation pipeline declaration (`pipelines/generate-example.yaml`)."""

    STAGES = (("generate",),)

    kind: Literal["generate"] = "generate"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    data: DataSource
    model: ModelSpec = ModelSpec()
    system_prompt: str | None = None
    output_dir: str | None = Field(None, description="Default: runs/<name>.")

    def step_models(self) -> dict[str, ModelSpec]:
        return {"generate": self.model}


def run_generate(
    config: GenerateConfig, base_dir: Path, limit: int | None = None, use_cache: bool = True
) -> Any:
    """Run the pipeline; returns a `PipelineOutput` with one split, `data` (nothing is written here)."""
    import datasets
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from ifplay.cache import cache_dir
    from ifplay.data import load_rows, require_text_column
    from ifplay.models import build_llm
    from ifplay.steps.progress import ProgressBar
    from ifplay.steps.respond import PlainTextGeneration

    source = config.data
    ds = load_rows(source.path, source.split, limit or source.limit, base_dir=base_dir)
    require_text_column(ds, source.prompt_column, source.path)
    ds = ds.add_column("ifplay_row", list(range(len(ds))))
    batch = config.model.batch_size
    rows = ds.to_list()

    def build(chunk: list[dict[str, Any]]) -> Any:
        with Pipeline(
            name=f"ifplay-generate-{config.name}", cache_dir=cache_dir("distilabel")
        ) as pipe:
            load = LoadDataFromDicts(data=chunk, batch_size=batch)
            generate = PlainTextGeneration(
                llm=build_llm(config.model),
                system_prompt=config.system_prompt,
                num_generations=config.model.n,
                group_generations=True,
                input_batch_size=batch,
                input_mappings={"instruction": source.prompt_column},
                **step_placement(config, "generate"),
            )
            progress = ProgressBar(
                total=len(chunk), description=f"{config.name}: generating", input_batch_size=batch
            )
            load >> generate >> progress
        return pipe

    name = pipeline_name("generate", config.name, config.data_settings())
    done = run_checkpointed(name, rows, batch * 8, build, use_cache)
    dataset = _tidy(datasets.Dataset.from_list(done), config.model)
    return PipelineOutput(splits={"data": dataset}, stats={"rows": len(dataset)})


def _tidy(ds: Any, model: ModelSpec) -> Any:
    """Restore input order, keep token counts and the model's spec name, drop distilabel metadata."""
    from ifplay.steps.base import ENGINE_FAILED

    n = model.n
    ds = ds.sort("ifplay_row")

    def flatten(row: dict[str, Any]) -> dict[str, Any]:
        metadata = row.get("distilabel_metadata") or []
        entries = metadata if isinstance(metadata, list) else [metadata]
        stats = [v for m in entries for k, v in m.items() if k.startswith("statistics_") and v]
        tokens = _flat_tokens([s.get("output_tokens") for s in stats])
        out: dict[str, Any] = {"model_name": model.name, "output_tokens": tokens}
        if n == 1:
            out["generation"] = (row["generation"] or [""])[0]
            out["output_tokens"] = tokens[0] if tokens else 0
        return out

    ds = ds.map(flatten, remove_columns=["distilabel_metadata", "ifplay_row", ENGINE_FAILED])
    return ds if n == 1 else ds.rename_column("generation", "generations")


def _flat_tokens(tokens: list[Any]) -> list[int]:
    flat: list[int] = []
    for item in tokens:
        if isinstance(item, list):
            flat.extend(int(x) for x in item if x is not None)
        elif item is not None:
            flat.append(int(item))
    return flat
