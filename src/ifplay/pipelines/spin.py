"""`kind: spin`: SPIN data. For prompts with a real response, chosen = the real response and
rejected = the current model's own generation (made with its chat template, the same format it is
trained with). Writes a `train` split and a held-out `heldout` split, both `prompt/chosen/rejected`.
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ifplay.config import ModelSpec, Schema
from ifplay.errors import DataError
from ifplay.pipelines.base import PipelineOutput, answer_prompts
from ifplay.pipelines.resources import PipelineDeclaration


class SpinData(Schema):
    """Where real (prompt, response) pairs come from."""

    source: str = Field(
        "sharegpt",
        description="`sharegpt` (offline wheel) or a local file/folder or Hub id with `messages`.",
    )
    split: str = "train"
    limit: int | None = Field(None, ge=1)
    min_chars: int = Field(20, ge=1, description="Prompt length bounds (ShareGPT).")
    max_chars: int = Field(600, ge=1)
    max_response_chars: int = Field(1500, ge=1)
    heldout: int = Field(16, ge=0, description="Last N pairs kept aside for the reward margin.")


class SpinConfig(PipelineDeclaration):
    """A SPIN declaration (`pipelines/spin.yaml`)."""

    STAGES = (("sample",),)

    kind: Literal["spin"] = "spin"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    data: SpinData = SpinData()
    model: ModelSpec = ModelSpec(max_new_tokens=256)
    output_dir: str | None = None

    def step_models(self) -> dict[str, ModelSpec]:
        return {"sample": self.model}


def real_pairs(data: SpinData, base_dir: Path) -> tuple[list[dict[str, str]], int]:
    """(first-turn prompt/real-response pairs, number of prompts skipped for lacking a real reply)."""
    if data.source == "sharegpt":
        from ifplay.sharegpt import first_turns

        found = first_turns(
            data.min_chars,
            data.max_chars,
            max_response_chars=data.max_response_chars,
            limit=data.limit,
        )
        return [{"prompt": ex.prompt, "real": ex.response} for ex in found], 0
    from ifplay.data import load_rows

    ds = load_rows(data.source, data.split, data.limit, base_dir=base_dir)
    if "messages" not in ds.column_names:
        raise DataError(
            f"{data.source}: column 'messages' not found (columns: {', '.join(ds.column_names)})"
        )
    pairs, skipped = [], 0
    for messages in ds["messages"]:
        pair = first_exchange(messages or [])
        if pair is None:
            skipped += 1
        else:
            pairs.append(pair)
    return pairs, skipped


def first_exchange(messages: list[dict[str, Any]]) -> dict[str, str] | None:
    """The first user turn and the assistant turn right after it, or None when there is no reply."""
    for index, message in enumerate(messages):
        if message.get("role") == "user":
            reply = messages[index + 1] if index + 1 < len(messages) else None
            if reply and reply.get("role") == "assistant" and (reply.get("content") or "").strip():
                prompt = (message.get("content") or "").strip()
                return {"prompt": prompt, "real": reply["content"].strip()} if prompt else None
            return None
    return None


def spin_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """TRL conversational pairs: chosen = real response, rejected = generation; empty ones skipped."""
    from ifplay.pairs import assistant, user

    out, skipped = [], 0
    for row in rows:
        generated = (row.get("responses") or [""])[0].strip()
        if not generated:
            skipped += 1
            continue
        out.append(
            {
                "prompt": user(row["prompt"]),
                "chosen": assistant(row["real"]),
                "rejected": assistant(generated),
            }
        )
    return out, skipped


def run_spin(
    config: SpinConfig, base_dir: Path, limit: int | None = None, use_cache: bool = True
) -> PipelineOutput:
    """Generate with the current model and pair its answers against the real ones."""
    from ifplay.split_schemas import PREFERENCE_PAIR, dataset_from_rows

    pairs, no_reply = real_pairs(config.data, base_dir)
    if limit is not None:
        pairs = pairs[:limit]
    if not pairs:
        raise DataError(f"{config.data.source}: no prompt with a real response")
    rows = [{**pair, "pair_id": i, "drop": ""} for i, pair in enumerate(pairs)]
    spec = config.model.for_stage(1, config.seed)
    generated = answer_prompts(config, "spin", rows, spec, use_cache)
    generated.sort(key=lambda r: r["pair_id"])
    pairs_out, empty = spin_rows(generated)
    cut = max(0, len(pairs_out) - config.data.heldout)
    splits = {
        "train": dataset_from_rows(pairs_out[:cut], PREFERENCE_PAIR),
        "heldout": dataset_from_rows(pairs_out[cut:], PREFERENCE_PAIR),
    }
    stats = {
        "prompts": len(pairs),
        "skipped_no_real_response": no_reply,
        "skipped_empty_generation": empty,
        "train_pairs": cut,
        "heldout_pairs": len(pairs_out) - cut,
    }
    return PipelineOutput(splits=splits, stats=stats)
