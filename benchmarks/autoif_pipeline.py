"""Wall time per AutoIF stage, and the response stage's tokens/s against the raw engine.

    python benchmarks/autoif_pipeline.py [--config pipelines/autoif-quick.yaml] [--limit 32]

Stages: 1 instructions (evolve, dedup, verifiers, cross-validation, back-translation), 2 prompts
(query augmentation, decontamination), 3 responses (the model's samples + sandboxed scoring), 4 splits.
The raw engine then generates for exactly the stage-3 prompts with the same spec (load included on
both sides); the ratio is pipeline tokens/s over raw tokens/s (target >= 0.90).
"""

import argparse
import time
from pathlib import Path

from ifplay.models import build_llm, resolve_model_path
from ifplay.pipelines import load_pipeline
from ifplay.pipelines.autoif import (
    build_instruction_pipeline,
    build_response_pipeline,
    build_splits,
    compose_and_decontaminate,
    seed_rows,
)
from ifplay.pipelines.base import run_distilabel


def count_tokens(model: str, texts: list[str]) -> int:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(model))
    return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("pipelines/autoif-quick.yaml"))
    parser.add_argument("--limit", type=int, default=32, help="prompts the model answers")
    args = parser.parse_args()
    config = load_pipeline(args.config)
    times: dict[str, float] = {}

    start = time.perf_counter()
    seeds = seed_rows(config, args.config.parent)
    instructions = run_distilabel(build_instruction_pipeline(config, seeds)).to_list()
    times["1 instructions"] = time.perf_counter() - start

    start = time.perf_counter()
    prompts, _ = compose_and_decontaminate(config, instructions, args.limit)
    times["2 prompts"] = time.perf_counter() - start

    start = time.perf_counter()
    scored = run_distilabel(build_response_pipeline(config, prompts)).to_list()
    times["3 responses"] = time.perf_counter() - start

    start = time.perf_counter()
    sft, dpo = build_splits(config, scored)
    times["4 splits"] = time.perf_counter() - start

    policy = config.model.for_stage(config.model.n, config.seed + 3)
    pipeline_tokens = count_tokens(policy.name, [r for row in scored for r in row["responses"]])

    start = time.perf_counter()
    llm = build_llm(policy)
    llm.load()
    raw_texts: list[str] = []
    for i in range(0, len(prompts), policy.batch_size):
        batch = [
            [{"role": "user", "content": p["prompt"]}] for p in prompts[i : i + policy.batch_size]
        ]
        for out in llm.generate(batch, num_generations=policy.n, **llm.generation_kwargs):
            raw_texts.extend(out["generations"])
    raw_seconds = time.perf_counter() - start
    raw_tokens = count_tokens(policy.name, raw_texts)

    kept = sum(1 for row in instructions if not row["drop"])
    print(
        f"config={args.config} instructions={len(instructions)} kept={kept} prompts={len(prompts)}"
    )
    print(f"responses={sum(len(r['responses']) for r in scored)} sft={len(sft)} dpo={len(dpo)}")
    for stage, seconds in times.items():
        print(f"stage {stage:<14}: {seconds:7.1f}s")
    print(f"total           : {sum(times.values()):7.1f}s")
    pipe_rate = pipeline_tokens / times["3 responses"]
    raw_rate = raw_tokens / raw_seconds
    print(
        f"response stage  : {pipeline_tokens} tokens in {times['3 responses']:.1f}s = {pipe_rate:.1f} tok/s"
    )
    print(f"raw engine      : {raw_tokens} tokens in {raw_seconds:.1f}s = {raw_rate:.1f} tok/s")
    print(f"ratio pipeline/raw: {pipe_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
