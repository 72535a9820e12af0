"""`kind: autoif`: verifiable-instruction data with code verifiers and execution feedback.

Two distilabel pipelines and two pure stages between them:

1. instructions: seeds (constraint library + optional seed file) -> evolution by the supervisor ->
   near-duplicate removal -> verifier synthesis -> cross-validation in the sandbox ->
   back-translation -> consistency check. Rows are marked with a `drop` reason, never removed.
2. prompts: verified instructions x real ShareGPT queries (optionally 2-3 compatible constraints),
   then decontamination against IFEval/FollowBench prompts.
3. responses: the model being trained samples K responses per prompt -> every response is scored by executing its
   verifiers in the sandbox.
4. splits: `sft` (TRL `messages`) and `dpo` (TRL `prompt/chosen/rejected`), plus `instructions`
   (every instruction with its fate) and per-stage counts.

Each distilabel pipeline caches its steps, and sampling is seeded per batch, so a killed run resumes
and ends with exactly the rows of an uninterrupted one.
"""

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ifplay.config import ModelSpec, Schema
from ifplay.errors import ConfigError
from ifplay.pipelines.base import PipelineOutput, pipeline_name, run_checkpointed
from ifplay.pipelines.resources import PipelineDeclaration, step_placement
from ifplay.steps.sandboxed import SandboxSettings

ROLE_DEFAULTS = {"temperature": 0.7, "top_p": 0.95}


class SeedsConfig(Schema):
    library: bool = Field(True, description="Use the constraint library's families as seeds.")
    per_family: int = Field(1, ge=1, description="Constraints sampled per library family.")
    families: list[str] | None = Field(None, description="Library family ids (default: all).")
    file: str | None = Field(None, description="Plain-text seed instructions, one per line.")


class EvolveConfig(Schema):
    rewrites: int = Field(100, ge=0, description="New constraints asked for per seed (K).")
    max_seeds: int | None = Field(None, ge=1, description="Evolve only this many seeds (sampled).")
    max_new_tokens: int | None = Field(None, ge=1, description="Default: the supervisor's.")


class DedupConfig(Schema):
    method: Literal["ngram", "embedding"] = "ngram"
    threshold: float = Field(0.6, gt=0, le=1)


class VerifiersConfig(SandboxSettings):
    """Verifier synthesis and cross-validation, plus the sandbox (workers, timeout_s, memory_mb)
    that runs verifiers in both the instruction and the response stages."""

    functions: int = Field(8, ge=1, description="Candidate functions per instruction (K).")
    max_new_tokens: int | None = Field(None, ge=1, description="Default: the supervisor's.")
    min_accuracy: float = Field(0.8, ge=0, le=1)
    min_functions: int = Field(1, ge=1)


class BackTranslationConfig(Schema):
    method: Literal["embedding", "none"] = "embedding"
    threshold: float = Field(0.4, ge=-1, le=1)
    max_new_tokens: int | None = Field(None, ge=1, description="Default: the supervisor's.")


class QueriesConfig(Schema):
    per_instruction: int = Field(16, ge=1)
    min_chars: int = Field(20, ge=1)
    max_chars: int = Field(300, ge=1)
    combine_share: float = Field(
        0.0, ge=0, le=1, description="Share of prompts with 2-3 constraints."
    )


class SplitsConfig(Schema):
    sft_min_pass_rate: float = Field(0.5, ge=0, le=1)
    chosen_min_pass_rate: float = Field(0.5, ge=0, le=1)
    rejected_max_pass_rate: float = Field(0.0, ge=0, le=1)
    pairs_per_side: int = Field(
        2, ge=1, description="Up to N chosen x N rejected pairs per prompt."
    )


class DecontaminationConfig(Schema):
    ifeval: bool = True
    followbench_dir: str | None = None
    ngram: int = Field(13, ge=3)


class AutoIFConfig(PipelineDeclaration):
    """An AutoIF declaration (`pipelines/autoif.yaml`, `pipelines/autoif-quick.yaml`)."""

    STAGES = (
        ("evolve", "synthesize", "crossval", "backtranslate", "check_backtranslation"),
        ("sample", "score"),
    )

    kind: Literal["autoif"] = "autoif"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    supervisor: ModelSpec = ModelSpec(**ROLE_DEFAULTS)
    model: ModelSpec = Field(
        ModelSpec(n=8, **ROLE_DEFAULTS),
        description="The model being trained: it answers the prompts.",
    )
    seeds: SeedsConfig = SeedsConfig()
    evolve: EvolveConfig = EvolveConfig()
    dedup: DedupConfig = DedupConfig()
    verifiers: VerifiersConfig = VerifiersConfig()
    backtranslation: BackTranslationConfig = BackTranslationConfig()
    queries: QueriesConfig = QueriesConfig()
    splits: SplitsConfig = SplitsConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    checkpoint_every: int = Field(64, ge=1, description="Prompts per resumable response chunk.")
    output_dir: str | None = None

    def step_models(self) -> dict[str, ModelSpec]:
        sup = self.supervisor
        return {"evolve": sup, "synthesize": sup, "backtranslate": sup, "sample": self.model}


def seed_rows(config: AutoIFConfig, base_dir: Path) -> list[dict[str, Any]]:
    """Instruction rows for the seeds: library constraints first (with their checker), then file
    seeds; `evolve` marks the seeds the supervisor rewrites (all, or `evolve.max_seeds` sampled)."""
    from ifplay.constraints import FAMILIES, get_family, load_seed_instructions

    rng = random.Random(config.seed)
    rows: list[dict[str, Any]] = []
    if config.seeds.library:
        ids = config.seeds.families or sorted(FAMILIES)
        for family_id in ids:
            if family_id not in FAMILIES:
                raise ConfigError(f"seeds.families: unknown constraint family {family_id!r}")
            for _ in range(config.seeds.per_family):
                constraint = get_family(family_id).build(rng=rng)
                rows.append(
                    _instruction_row(
                        constraint.instruction,
                        "library",
                        family_id=family_id,
                        kwargs_json=json.dumps(constraint.kwargs, sort_keys=True),
                        functions=[constraint.verifier_source()],
                    )
                )
    if config.seeds.file:
        path = Path(config.seeds.file)
        if not path.exists() and (base_dir / path).exists():
            path = base_dir / path
        rows += [_instruction_row(text, "seed") for text in load_seed_instructions(path)]
    if not rows:
        raise ConfigError("seeds: no seeds (enable seeds.library or give seeds.file)")
    chosen = range(len(rows))
    if config.evolve.max_seeds is not None and config.evolve.max_seeds < len(rows):
        chosen = rng.sample(range(len(rows)), config.evolve.max_seeds)
    for index in chosen:
        rows[index]["evolve"] = True
    return rows


def _instruction_row(
    instruction: str,
    origin: str,
    family_id: str = "",
    kwargs_json: str = "",
    functions: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "instruction": instruction,
        "origin": origin,
        "parent": "",
        "family_id": family_id,
        "kwargs_json": kwargs_json,
        "functions": functions or [],
        "cases_json": "[]",
        "drop": "",
        "evolve": False,
    }


def build_instruction_pipeline(config: AutoIFConfig, seeds: list[dict[str, Any]]) -> Any:
    """The distilabel pipeline of stage 1 (seeds -> verified instructions)."""
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from ifplay.cache import cache_dir
    from ifplay.models import build_llm
    from ifplay.steps.autoif.backtranslate import BackTranslate, CheckBackTranslation
    from ifplay.steps.autoif.crossval import CrossValidateVerifiers
    from ifplay.steps.autoif.dedup import DropNearDuplicates
    from ifplay.steps.autoif.evolve import EvolveInstructions, ExpandRewrites
    from ifplay.steps.autoif.write_verifiers import SynthesizeVerifiers

    sup = config.supervisor
    batch = sup.batch_size
    v = config.verifiers
    with Pipeline(
        name=f"ifplay-autoif-{config.name}-instructions", cache_dir=cache_dir("distilabel")
    ) as pipeline:
        load = LoadDataFromDicts(data=seeds, batch_size=batch)
        tail = load
        if config.evolve.rewrites > 0:
            evolve = EvolveInstructions(
                llm=build_llm(
                    sup.for_stage(config.evolve.rewrites, config.seed, config.evolve.max_new_tokens)
                ),
                num_generations=config.evolve.rewrites,
                input_batch_size=batch,
                **step_placement(config, "evolve"),
            )
            expand = ExpandRewrites(input_batch_size=batch)
            tail = tail >> evolve >> expand
        dedup = DropNearDuplicates(method=config.dedup.method, threshold=config.dedup.threshold)
        synthesize = SynthesizeVerifiers(
            llm=build_llm(sup.for_stage(v.functions, config.seed + 1, v.max_new_tokens)),
            num_generations=v.functions,
            input_batch_size=batch,
            **step_placement(config, "synthesize"),
        )
        crossval = CrossValidateVerifiers(
            min_accuracy=v.min_accuracy,
            min_functions=v.min_functions,
            **v.step_kwargs(),
            input_batch_size=batch,
            **step_placement(config, "crossval"),
        )
        backtranslate = BackTranslate(
            llm=build_llm(sup.for_stage(1, config.seed + 2, config.backtranslation.max_new_tokens)),
            num_generations=1,
            input_batch_size=batch,
            **step_placement(config, "backtranslate"),
        )
        check = CheckBackTranslation(
            method=config.backtranslation.method,
            threshold=config.backtranslation.threshold,
            input_batch_size=batch,
            **step_placement(config, "check_backtranslation"),
        )
        tail >> dedup >> synthesize >> crossval >> backtranslate >> check
    return pipeline


def build_response_pipeline(config: AutoIFConfig, prompts: list[dict[str, Any]]) -> Any:
    """The distilabel pipeline of stage 3 (prompts -> K scored responses each)."""
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from ifplay.cache import cache_dir
    from ifplay.models import build_llm
    from ifplay.steps.autoif.score_responses import ScoreResponses
    from ifplay.steps.progress import ProgressBar
    from ifplay.steps.respond import SampleResponses

    model = config.model
    batch = model.batch_size
    v = config.verifiers
    with Pipeline(
        name=f"ifplay-autoif-{config.name}-responses", cache_dir=cache_dir("distilabel")
    ) as pipeline:
        load = LoadDataFromDicts(data=prompts, batch_size=batch)
        sample = SampleResponses(
            llm=build_llm(model.for_stage(model.n, config.seed + 3)),
            num_generations=model.n,
            input_batch_size=batch,
            **step_placement(config, "sample"),
        )
        score = ScoreResponses(
            **v.step_kwargs(),
            input_batch_size=batch,
            **step_placement(config, "score"),
        )
        progress = ProgressBar(
            total=len(prompts), description=f"{config.name}: responses", input_batch_size=batch
        )
        load >> sample >> score >> progress
    return pipeline


def compose_and_decontaminate(
    config: AutoIFConfig, instructions: list[dict[str, Any]], limit: int | None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Stage 2: prompts from kept instructions x ShareGPT queries, minus benchmark overlaps."""
    from ifplay.decontam import NgramIndex, contaminated, followbench_prompts, ifeval_prompts
    from ifplay.queries import compose_prompts
    from ifplay.sharegpt import first_turns

    q = config.queries
    queries = [ex.prompt for ex in first_turns(q.min_chars, q.max_chars)]
    rng = random.Random(config.seed + 4)
    kept = [row for row in instructions if not row["drop"]]
    prompts = compose_prompts(kept, queries, q.per_instruction, rng, q.combine_share)
    if limit is not None:
        prompts = prompts[:limit]
    d = config.decontamination
    references = ifeval_prompts() if d.ifeval else []
    if d.followbench_dir:
        references += followbench_prompts(Path(d.followbench_dir))
    flags = contaminated([p["prompt"] for p in prompts], NgramIndex(references, d.ngram))
    clean = [p for p, bad in zip(prompts, flags, strict=True) if not bad]
    for index, row in enumerate(clean):
        row["prompt_id"] = index
    return clean, {
        "composed": len(prompts),
        "decontaminated": sum(flags),
        "references": len(references),
    }


def build_splits(config: AutoIFConfig, scored: list[dict[str, Any]]) -> tuple[list, list]:
    """Stage 4: SFT rows and DPO pairs from scored responses (see `ifplay.pairs`)."""
    from ifplay.pairs import dpo_rows, sft_rows

    s = config.splits
    sft, dpo = [], []
    for row in scored:
        meta = {
            "instructions": row["instructions"],
            "family_ids": row["family_ids"],
            "verifiers": row["verifiers"],
        }
        for item in sft_rows(
            row["prompt"], row["responses"], row["pass_rates"], s.sft_min_pass_rate
        ):
            sft.append({**item, **meta})
        pairs = dpo_rows(
            row["prompt"],
            row["responses"],
            row["pass_rates"],
            s.chosen_min_pass_rate,
            s.rejected_max_pass_rate,
            s.pairs_per_side,
        )
        dpo.extend({**pair, **meta} for pair in pairs)
    return sft, dpo


def run_autoif(
    config: AutoIFConfig, base_dir: Path, limit: int | None = None, use_cache: bool = True
) -> PipelineOutput:
    """Run all four stages; `limit` caps the number of prompts the model answers."""
    import datasets

    from ifplay.split_schemas import AUTOIF_DPO, AUTOIF_SFT, dataset_from_rows

    seeds = seed_rows(config, base_dir)
    name = pipeline_name("autoif-instructions", config.name, config.data_settings())
    # one chunk: near-duplicate removal needs every instruction at once
    instructions = run_checkpointed(
        name, seeds, len(seeds), lambda rows: build_instruction_pipeline(config, rows), use_cache
    )
    prompts, prompt_stats = compose_and_decontaminate(config, instructions, limit)
    if not prompts:
        raise ConfigError(f"{config.name}: no prompts left after query augmentation")
    name = pipeline_name("autoif-responses", config.name, config.data_settings())
    scored = run_checkpointed(
        name,
        prompts,
        config.checkpoint_every,
        lambda rows: build_response_pipeline(config, rows),
        use_cache,
    )
    scored.sort(key=lambda row: row["prompt_id"])
    sft, dpo = build_splits(config, scored)
    stats = _stats(instructions, prompt_stats, scored, sft, dpo)
    keep = ["prompt", "instructions", "family_ids", "verifiers", "responses", "pass_rates"]
    splits = {
        "sft": dataset_from_rows(sft, AUTOIF_SFT),
        "dpo": dataset_from_rows(dpo, AUTOIF_DPO),
        "instructions": datasets.Dataset.from_list([_public(row) for row in instructions]),
        "responses": datasets.Dataset.from_list([{k: r[k] for k in keep} for r in scored]),
    }
    return PipelineOutput(splits=splits, stats=stats)


def _public(row: dict[str, Any]) -> dict[str, Any]:
    from ifplay.steps.base import ENGINE_FAILED

    return {k: v for k, v in row.items() if k not in ("distilabel_metadata", ENGINE_FAILED)}


def _stats(
    instructions: list[dict[str, Any]],
    prompt_stats: dict[str, int],
    scored: list[dict[str, Any]],
    sft: list[dict[str, Any]],
    dpo: list[dict[str, Any]],
) -> dict[str, Any]:
    """Kept/dropped counts per stage, with reasons."""
    by_origin = Counter(row["origin"] for row in instructions)
    dropped = Counter(row["drop"] for row in instructions if row["drop"])
    rates = [rate for row in scored for rate in row["pass_rates"]]
    return {
        "instructions": {
            "total": len(instructions),
            "by_origin": dict(by_origin),
            "kept": sum(1 for row in instructions if not row["drop"]),
            "dropped": dict(dropped),
            "verifier_replies": sum(row.get("verifier_replies") or 0 for row in instructions),
            "verifier_unparseable": sum(
                row.get("verifier_unparseable") or 0 for row in instructions
            ),
            "functions_not_compiling": sum(
                row.get("crossval_not_compiling") or 0 for row in instructions
            ),
        },
        "prompts": {**prompt_stats, "kept": len(scored)},
        "responses": {
            "total": len(rates),
            "mean_pass_rate": round(sum(rates) / len(rates), 4) if rates else 0.0,
            "all_passed": sum(1 for r in rates if r == 1.0),
            "none_passed": sum(1 for r in rates if r == 0.0),
        },
        "sft_rows": len(sft),
        "dpo_pairs": len(dpo),
    }
