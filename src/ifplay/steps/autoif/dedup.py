"""Near-duplicate removal over all instructions (word n-gram Jaccard or sentence embeddings)."""

import re
from typing import Any, Literal

from distilabel.steps import GlobalStep, StepInput
from distilabel.typing import StepOutput
from pydantic import Field

from ifplay.steps.base import DROP, is_active

_WORD = re.compile(r"[a-z0-9]+")


def word_ngrams(text: str, n: int = 2) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams of `text` (single words when it is shorter than n)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def duplicate_flags(
    texts: list[str], method: Literal["ngram", "embedding"], threshold: float
) -> list[bool]:
    """flags[i] is True when texts[i] is too similar to an earlier kept text."""
    flags: list[bool] = []
    if method == "embedding":
        from ifplay.embeddings import cosine_matrix

        sims = cosine_matrix(texts, texts)
        kept: list[int] = []
        for i in range(len(texts)):
            dup = any(sims[i][j] >= threshold for j in kept)
            flags.append(dup)
            if not dup:
                kept.append(i)
        return flags
    grams: list[set] = []
    for text in texts:
        mine = word_ngrams(text)
        dup = any(jaccard(mine, other) >= threshold for other in grams)
        flags.append(dup)
        if not dup:
            grams.append(mine)
    return flags


class DropNearDuplicates(GlobalStep):
    """Marks instructions too similar to an earlier one with `drop = "near-duplicate"`.

    Sees all rows at once; earlier rows win, so library seeds (loaded first) are kept over rewrites.
    Input columns: instruction, drop. Output columns: drop.
    """

    method: Literal["ngram", "embedding"] = "ngram"
    threshold: float = Field(0.6, gt=0, le=1)

    @property
    def inputs(self) -> list[str]:
        return ["instruction", DROP]

    @property
    def outputs(self) -> list[str]:
        return [DROP]

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        active = [i for i, row in enumerate(inputs) if is_active(row)]
        flags = duplicate_flags(
            [inputs[i]["instruction"] for i in active], self.method, self.threshold
        )
        rows: list[dict[str, Any]] = [dict(row) for row in inputs]
        for index, dup in zip(active, flags, strict=True):
            if dup:
                rows[index][DROP] = "near-duplicate"
        yield rows
