"""Turn scored responses into training rows: SFT `messages` and DPO `prompt/chosen/rejected`.

Both are TRL's conversational format, so `trl sft` and `trl dpo` take them as they are.
"""

from collections.abc import Sequence
from typing import Any


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def sft_rows(
    prompt: str, responses: Sequence[str], rates: Sequence[float], min_pass_rate: float
) -> list[dict[str, Any]]:
    """One `messages` row per distinct non-empty response whose pass rate >= `min_pass_rate`."""
    rows, seen = [], set()
    for response, rate in zip(responses, rates, strict=True):
        if rate >= min_pass_rate and response.strip() and response not in seen:
            seen.add(response)
            rows.append({"messages": user(prompt) + assistant(response), "pass_rate": rate})
    return rows


def dpo_rows(
    prompt: str,
    responses: Sequence[str],
    rates: Sequence[float],
    chosen_min: float,
    rejected_max: float = 0.0,
    per_side: int = 2,
) -> list[dict[str, Any]]:
    """Up to `per_side` x `per_side` pairs: chosen pass rate >= `chosen_min`, rejected <= `rejected_max`.

    The best-passing distinct responses are chosen; distinct failing ones are rejected.
    """
    scored = sorted(
        {r: rate for r, rate in zip(responses, rates, strict=True) if r.strip()}.items(),
        key=lambda item: -item[1],
    )
    chosen = [(r, rate) for r, rate in scored if rate >= chosen_min][:per_side]
    rejected = [(r, rate) for r, rate in scored if rate <= rejected_max][:per_side]
    return [
        {
            "prompt": user(prompt),
            "chosen": assistant(good),
            "rejected": assistant(bad),
            "chosen_pass_rate": good_rate,
            "rejected_pass_rate": bad_rate,
        }
        for good, good_rate in chosen
        for bad, bad_rate in rejected
    ]
