"""How one model answer fares against its constraints: does it loop, where does it end, which answer of
several is chosen and which rejected.

Leaf module (standard library and `ifplay.constraints` only), shared by the repair pipeline, the
benchmarks that build pairs from sampled answers, and anything that must judge answers without loading
distilabel or torch.
"""

import zlib
from typing import Any

LOOP_WINDOW = 400  # bytes of an answer judged at a time for a local loop
LOOP_WINDOW_RATIO = 0.36  # a window that zlib compresses below this share of its size loops


def repetitive(text: str, min_unique: float = 0.5) -> bool:
    """True for a degenerate answer, one that loops: under `min_unique` of its word trigrams (given at
    least 30) or of its last 8 sentences (given at least 6) are distinct, it compresses (zlib) to
    under a fifth of its size ("_j_j_j...", "err... err..."), or some `LOOP_WINDOW` bytes of it
    compress below `LOOP_WINDOW_RATIO` (a loop in one part: a list or code line repeated, "-f-v1
    -f-v1 ..."; varied prose stays above ~0.45)."""
    from ifplay.constraints.text import sentence_list, word_list

    words = [word.lower() for word in word_list(text)]
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    if len(trigrams) >= 30 and len(set(trigrams)) < min_unique * len(trigrams):
        return True
    last = sentence_list(text)[-8:]
    if len(last) >= 6 and len(set(last)) < min_unique * len(last):
        return True
    data = text.encode("utf-8")
    if len(data) >= 200 and len(zlib.compress(data)) < 0.2 * len(data):
        return True
    starts = range(0, len(data) - LOOP_WINDOW + 1, LOOP_WINDOW // 4)
    return any(
        len(zlib.compress(data[i : i + LOOP_WINDOW])) < LOOP_WINDOW_RATIO * LOOP_WINDOW
        for i in starts
    )


def finished_answers(answers: list[str], capped: list[bool]) -> list[str]:
    """Each answer stripped; a capped one cut back to its last complete sentence ("" if none)."""
    from ifplay.constraints.repair import finish_answer

    return [
        finish_answer(text) if cap else text.strip()
        for text, cap in zip(answers, capped, strict=True)
    ]


def choose_pair(
    constraints: list[dict[str, Any]], answers: list[str], capped: list[bool]
) -> dict[str, Any]:
    """The chosen answer (as written, else repaired), a rejected one, and how chosen was found.

    `capped[i]` says answer i ran into the token cap. A repetitive answer is never chosen (it can be
    rejected). Returns chosen/rejected (None when missing) and `how`: "as written", "repaired" or
    "dropped".
    """
    from ifplay.constraints import Constraint
    from ifplay.constraints.repair import repair_answer

    checks = [Constraint.from_dict(c) for c in constraints]
    passes = [
        bool(text.strip())
        and not cap
        and not repetitive(text)
        and all(c.check(text) for c in checks)
        for text, cap in zip(answers, capped, strict=True)
    ]
    rejected = next(
        (a for a, ok in zip(answers, passes, strict=True) if not ok and a.strip()), None
    )
    chosen = next((a for a, ok in zip(answers, passes, strict=True) if ok), None)
    if chosen is not None:
        return {"chosen": chosen, "rejected": rejected, "how": "as written"}
    finished = finished_answers(answers, capped)
    for index, text in enumerate(finished):
        others = finished[:index] + finished[index + 1 :]
        repaired = repair_answer(text, checks, others) if text else None
        if repaired is not None and not repetitive(repaired):
            return {"chosen": repaired, "rejected": rejected, "how": "repaired"}
    return {"chosen": None, "rejected": rejected, "how": "dropped"}
