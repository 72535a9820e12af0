"""Tolerant parsers for LLM replies: a one-line instruction, a JSON object, a verifier with test cases.

Each returns None when the reply is unusable; callers count those and drop them, never crash.
"""

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|python|py)?\s*\n(.*?)```", re.DOTALL)
_PREFIX = re.compile(
    r"^\s*(?:[-*•]|\d+[.)]|(?:new\s+)?(?:constraint|instruction)\s*:)\s*", re.IGNORECASE
)


def one_line_instruction(
    reply: str | None, min_chars: int = 12, max_chars: int = 300
) -> str | None:
    """The first meaningful line of `reply`, without list markers, labels or wrapping quotes.

    Preamble lines that end with a colon ("Here is a new constraint:") are skipped.
    """
    if not reply:
        return None
    for line in reply.strip().splitlines():
        text = _PREFIX.sub("", line).strip().strip("\"'“”").strip()
        if text and not text.endswith(":"):
            return text if min_chars <= len(text) <= max_chars else None
    return None


def json_object(reply: str | None) -> dict[str, Any] | None:
    """The first JSON object in `reply` (inside a code fence or bare), or None."""
    if not reply:
        return None
    candidates = [m.group(1) for m in _FENCE.finditer(reply)] + [reply]
    decoder = json.JSONDecoder()
    for text in candidates:
        start = text.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                start = text.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = text.find("{", start + 1)
    return None


def verifier_reply(reply: str | None) -> tuple[str, list[dict[str, Any]]] | None:
    """(function source, test cases) from a reply shaped like `{"func": ..., "cases": [...]}`.

    Cases keep only `{"input": str, "output": bool}` entries; a reply without a `def evaluate`
    function is None.
    """
    obj = json_object(reply)
    if obj is None:
        return None
    source = obj.get("func") or obj.get("function") or obj.get("code")
    if not isinstance(source, str) or "def evaluate" not in source:
        return None
    cases = []
    for case in obj.get("cases") or []:
        if isinstance(case, dict) and isinstance(case.get("input"), str):
            expected = case.get("output")
            if isinstance(expected, bool):
                cases.append({"input": case["input"], "output": expected})
    return source.strip() + "\n", cases
