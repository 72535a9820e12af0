"""Small generated-data folders with the layout `ifplay generate` writes, built without any model.

`make_generated(folder)` saves AutoIF-like splits (`dpo`, `sft`, `instructions`, `responses`) through
the real `save_pipeline_output`; `make_loop(root, k)` lays out `iter-<k>/data` folders and a manifest.
"""

import json
import random
from pathlib import Path
from typing import Any


def pair_rows(count: int, tag: str = "", seed: int = 0, pad: int = 0) -> list[dict[str, Any]]:
    """`count` AutoIF-style DPO rows with distinct prompts and pass rates (`pad` extra characters
    in each chosen answer, to make large shards)."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(5))
        rows.append(
            {
                "prompt": [{"role": "user", "content": f"{tag}Task {index}: write about {words}."}],
                "chosen": [
                    {
                        "role": "assistant",
                        "content": f"A careful answer {index} on {words}." + "x" * pad,
                    }
                ],
                "rejected": [{"role": "assistant", "content": f"answer {index} ignoring rules"}],
                "chosen_pass_rate": round(0.5 + 0.5 * rng.random(), 3),
                "rejected_pass_rate": 0.0,
                "instructions": [f"Use at most {20 + index} words."],
                "family_ids": ["length_words"],
            }
        )
    return rows


def _splits(pairs: int, tag: str, seed: int, pad: int) -> dict[str, Any]:
    import datasets

    dpo = pair_rows(pairs, tag, seed, pad)
    sft = [
        {
            "messages": row["prompt"] + row["chosen"],
            "pass_rate": row["chosen_pass_rate"],
            "instructions": row["instructions"],
            "family_ids": row["family_ids"],
        }
        for row in dpo
    ]
    instructions = [
        {"instruction": "Use at most 20 words.", "origin": "library", "drop": ""},
        {"instruction": "Say it twice.", "origin": "evolved", "drop": "crossval"},
    ]
    responses = [
        {
            "prompt": row["prompt"][0]["content"],
            "responses": [row["chosen"][0]["content"], row["rejected"][0]["content"]],
            "pass_rates": [row["chosen_pass_rate"], 0.0],
        }
        for row in dpo
    ]
    return {
        "dpo": datasets.Dataset.from_list(dpo),
        "sft": datasets.Dataset.from_list(sft),
        "instructions": datasets.Dataset.from_list(instructions),
        "responses": datasets.Dataset.from_list(responses),
    }


def _stats(pairs: int) -> dict[str, Any]:
    return {
        "instructions": {"total": 2, "kept": 1, "dropped": {"crossval": 1}},
        "prompts": {"composed": pairs + 2, "decontaminated": 2, "references": 541, "kept": pairs},
        "responses": {"total": 2 * pairs, "mean_pass_rate": 0.41},
        "sft_rows": pairs,
        "dpo_pairs": pairs,
    }


def make_generated(
    folder: Path,
    pairs: int = 6,
    tag: str = "",
    seed: int = 0,
    with_pairs: bool = True,
    pad: int = 0,
) -> Path:
    """An AutoIF output folder (or, without pairs, a single-split `generate` output)."""
    from ifplay.outputs import save_pipeline_output
    from ifplay.pipelines import PipelineOutput
    from ifplay.pipelines.autoif import AutoIFConfig
    from ifplay.pipelines.generate import GenerateConfig

    if with_pairs:
        config: Any = AutoIFConfig(name="fixture", seed=seed)
        result = PipelineOutput(splits=_splits(pairs, tag, seed, pad), stats=_stats(pairs))
        config_file = Path("pipelines/autoif-quick.yaml")
    else:
        import datasets

        config = GenerateConfig(name="fixture", data={"path": "prompts.jsonl"})
        rows = [{"prompt": f"say {i}", "generation": f"{i}"} for i in range(pairs)]
        result = PipelineOutput(splits={"data": datasets.Dataset.from_list(rows)}, stats={})
        config_file = Path("pipelines/generate-example.yaml")
    save_pipeline_output(result, folder, config, config_file, 12.5, force=True)
    return folder


def make_loop(root: Path, iterations: int = 2, pairs: int = 6) -> Path:
    """A loop run folder: `manifest.json` and `iter-<k>/data` with different pairs per iteration."""
    root.mkdir(parents=True, exist_ok=True)
    for k in range(1, iterations + 1):
        make_generated(root / f"iter-{k}" / "data", pairs=pairs + k, tag=f"[it{k}] ", seed=k)
    manifest = {
        "name": root.name,
        "loop_file": "recipes/loops/autoif-cpu.yaml",
        "loop": {"name": root.name, "iterations": iterations},
        "stages": {},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return root
