"""Small hand-made training datasets for the training tests (TRL conversational format)."""

import json
from pathlib import Path

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
