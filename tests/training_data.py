"""Small hand-made training datasets for the training tests (TRL conversational format), the fast
batch settings they train with, and the check of a finished model folder."""

import json
from pathlib import Path

from ifplay.training import RESULT_FILE

# Small batches keep a tiny-model step to a second or two (the 49k-token vocabulary dominates).
FAST = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 1}
TOPICS = ["cats", "rain", "bread", "rivers", "chess", "maps", "tea", "bees"]


def pair_rows(n: int = 8) -> list[dict]:
    """DPO/SPIN pairs: chosen follows the instruction (all capitals), rejected does not."""
    rows = []
    for topic in TOPICS[:n]:
        rows.append(
            {
                "prompt": [
                    {"role": "user", "content": f"Write one sentence about {topic} in capitals."}
                ],
                "chosen": [{"role": "assistant", "content": f"{topic.upper()} ARE WORTH A LOOK."}],
                "rejected": [
                    {"role": "assistant", "content": f"Here is a sentence about {topic}."}
                ],
            }
        )
    return rows


def chat_rows(n: int = 8) -> list[dict]:
    """SFT rows: one user turn, one assistant turn, under `messages`."""
    return [
        {
            "messages": [
                {"role": "user", "content": f"Name {topic} in capitals."},
                {"role": "assistant", "content": topic.upper()},
            ]
        }
        for topic in TOPICS[:n]
    ]


def write_jsonl(folder: Path, rows: list[dict]) -> Path:
    """Write `rows` to `folder/data.jsonl` (the folder holds nothing else) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def assert_model_folder(folder: Path) -> None:
    """Weights, config, tokenizer with its chat template, and the result file; no staging left."""
    from transformers import AutoTokenizer

    assert (folder / "model.safetensors").is_file()
    assert (folder / "config.json").is_file()
    assert (folder / RESULT_FILE).is_file()
    assert AutoTokenizer.from_pretrained(folder).chat_template
    assert not [p for p in folder.parent.iterdir() if ".partial" in p.name]
