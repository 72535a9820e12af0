"""Time TRL DPO steps on CPU with the embedded SmolLM2-135M-Instruct through `ifplay.training`.

    python benchmarks/train_step.py --steps 3            # recipes/cpu/dpo.yaml as written (fp32)
    python benchmarks/train_step.py --steps 2 --bf16     # the same with TRL's bf16 default
    python benchmarks/train_step.py --steps 2 --fused    # TRL's fused LM head (CPU default: plain)

Pairs are synthetic (only their length matters for timing): a short instruction, and chosen/rejected
answers of --answer-chars characters (SmolLM2's median IFEval answer is ~1,000 characters). A step is one
optimizer step of the recipe: per_device_train_batch_size x gradient_accumulation_steps pairs.
Prints one JSON line: seconds per step (train_runtime / steps, model loading excluded) and totals.
"""

import argparse
import json
import tempfile
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "cpu" / "dpo.yaml"
WORDS = "the model writes a long answer about rivers maps bread and tea with many details".split()


def make_pairs(n: int, answer_chars: int) -> list[dict]:
    """n preference pairs with answers of about `answer_chars` characters."""
    rows = []
    for i in range(n):
        text = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(answer_chars // 5))[
            :answer_chars
        ]
        rows.append(
            {
                "prompt": [
                    {"role": "user", "content": f"Question {i}: describe a river in detail."}
                ],
                "chosen": [{"role": "assistant", "content": text.upper()}],
                "rejected": [{"role": "assistant", "content": text}],
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--bf16", action="store_true", help="train with bf16: true")
    parser.add_argument("--answer-chars", type=int, default=1000)
    parser.add_argument("--batch", type=int, help="per_device_train_batch_size (default: recipe)")
    parser.add_argument("--accum", type=int, help="gradient_accumulation_steps (default: recipe)")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument(
        "--fused", action="store_true", help="TRL's fused LM head, not ifplay's plain CPU path"
    )
    args = parser.parse_args()

    from ifplay.training import cpu_dpo, run_recipe

    if args.fused:
        cpu_dpo.plain_log_probs_fit = lambda training, peft: False

    overrides = {"max_steps": args.steps, "bf16": args.bf16, "disable_tqdm": True}
    if args.batch:
        overrides["per_device_train_batch_size"] = args.batch
    if args.accum:
        overrides["gradient_accumulation_steps"] = args.accum

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        rows = make_pairs(64, args.answer_chars)
        (data / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        result = run_recipe(
            RECIPE,
            dataset_dir=data,
            model=args.model,
            output_dir=Path(tmp) / "model",
            overrides=overrides,
        )
    runtime = result.metrics["train_runtime"]
    config = result.config
    print(
        json.dumps(
            {
                "bf16": args.bf16,
                "head": "fused" if args.fused else "plain",
                "steps": result.steps,
                "answer_chars": args.answer_chars,
                "pairs_per_step": config["per_device_train_batch_size"]
                * config["gradient_accumulation_steps"],
                "seconds_per_step": round(runtime / result.steps, 2),
                "train_runtime": round(runtime, 2),
                "total_seconds": result.seconds,
                "tokens_per_step": round(result.metrics.get("num_tokens", 0) / result.steps),
                "train_loss": round(result.metrics["train_loss"], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
