"""IFEval before and after, on the same prompts: paired bootstrap intervals and a per-type table.

    ifplay compare BEFORE AFTER [--json OUT]     (eval output folders or their details files)

Inputs are the per-sample IFEval details `ifplay eval` writes (JSONL; one row per prompt with
`prompt`, `metrics` holding the four IFEval metrics, `specific.instructions_id_list`). Only prompts
present in both files count, matched by prompt text.

- `paired_changes` -> for each metric: before, after, the change and its 95 % paired bootstrap interval.
  Prompts are resampled (with replacement) together for both runs, so the interval reflects the
  change on the same prompts; instruction-level metrics resample a prompt with all its instructions.
- `per_type_table` -> per instruction type: prompts carrying it, followed before and after (loose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ifplay.errors import DataError
from ifplay.evaluation.data import read_jsonl

PROMPT_METRICS = ("prompt_level_strict_acc", "prompt_level_loose_acc")
INSTRUCTION_METRICS = ("inst_level_strict_acc", "inst_level_loose_acc")
METRICS = (
    "prompt_level_strict_acc",
    "inst_level_strict_acc",
    "prompt_level_loose_acc",
    "inst_level_loose_acc",
)


@dataclass(frozen=True)
class Sample:
    """One IFEval prompt's outcome: per-instruction strict and loose results, and the types."""

    types: tuple[str, ...]
    strict: tuple[bool, ...]
    loose: tuple[bool, ...]


@dataclass(frozen=True)
class Change:
    """One metric before and after, the change, and its paired 95 % bootstrap interval."""

    metric: str
    before: float
    after: float
    change: float
    low: float
    high: float


@dataclass(frozen=True)
class TypeRow:
    """One instruction type: how many prompts carry it, and how many followed it before and after."""

    type: str
    prompts: int
    before: int
    after: int


def _flags(value: Any, count: int) -> tuple[bool, ...]:
    """Instruction-level results as booleans (a list per instruction, or one value for all)."""
    if isinstance(value, list | tuple):
        return tuple(bool(v) for v in value)
    return (bool(value),) * count


def details_file(path: Path) -> Path:
    """`path` itself, or the IFEval details inside an eval output folder."""
    return path / "details" / "ifeval.jsonl" if path.is_dir() else path


def load_samples(path: Path) -> dict[str, Sample]:
    """Per-prompt IFEval outcomes from a details JSONL file, keyed by prompt text."""
    samples = {}
    for row in read_jsonl(path, "IFEval details", required=("prompt", "metrics")):
        types = tuple((row.get("specific") or {}).get("instructions_id_list") or ())
        metrics = row["metrics"]
        if not isinstance(metrics, dict) or "inst_level_loose_acc" not in metrics:
            raise DataError(
                f"IFEval details: {path}: a row has no IFEval metrics (not an IFEval run?)"
            )
        samples[str(row["prompt"])] = Sample(
            types=types,
            strict=_flags(metrics["inst_level_strict_acc"], len(types)),
            loose=_flags(metrics["inst_level_loose_acc"], len(types)),
        )
    return samples


def _matrices(samples: Sequence[Sample]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per metric: per-prompt (numerator, denominator) arrays."""
    ones = np.ones(len(samples))
    strict_all = np.array([float(all(s.strict)) for s in samples])
    loose_all = np.array([float(all(s.loose)) for s in samples])
    counts = np.array([float(len(s.strict)) for s in samples])
    return {
        "prompt_level_strict_acc": (strict_all, ones),
        "prompt_level_loose_acc": (loose_all, ones),
        "inst_level_strict_acc": (np.array([float(sum(s.strict)) for s in samples]), counts),
        "inst_level_loose_acc": (np.array([float(sum(s.loose)) for s in samples]), counts),
    }


def paired_changes(
    before: dict[str, Sample], after: dict[str, Sample], resamples: int = 5000, seed: int = 0
) -> list[Change]:
    """Each IFEval metric before and after on the shared prompts, with a paired bootstrap 95 % CI.

    ValueError when the two runs share no prompt.
    """
    prompts = sorted(set(before) & set(after))
    if not prompts:
        raise ValueError("the two IFEval runs share no prompt")
    first = _matrices([before[p] for p in prompts])
    second = _matrices([after[p] for p in prompts])
    draws = np.random.default_rng(seed).integers(0, len(prompts), size=(resamples, len(prompts)))
    changes = []
    for metric in METRICS:
        (num_b, den), (num_a, _) = first[metric], second[metric]
        point_b, point_a = num_b.sum() / den.sum(), num_a.sum() / den.sum()
        boot = (num_a[draws].sum(1) - num_b[draws].sum(1)) / den[draws].sum(1)
        low, high = np.percentile(boot, [2.5, 97.5])
        changes.append(Change(metric, point_b, point_a, point_a - point_b, float(low), float(high)))
    return changes


def mean_of_four(changes: Sequence[Change]) -> float:
    """The change in the mean of the four metrics (the headline number)."""
    return sum(change.change for change in changes) / len(changes)


def per_type_table(before: dict[str, Sample], after: dict[str, Sample]) -> list[TypeRow]:
    """Per instruction type on the shared prompts: prompts, followed before, followed after (loose)."""
    totals: dict[str, list[int]] = {}
    for prompt in sorted(set(before) & set(after)):
        b, a = before[prompt], after[prompt]
        for index, kind in enumerate(b.types):
            row = totals.setdefault(kind, [0, 0, 0])
            row[0] += 1
            row[1] += b.loose[index]
            row[2] += a.loose[index]
    return [TypeRow(kind, *totals[kind]) for kind in sorted(totals)]


def markdown(changes: Sequence[Change], table: Sequence[TypeRow]) -> str:
    """Both tables as Markdown (percentages, one decimal)."""
    lines = ["| metric | before | after | change | 95 % CI |", "|---|---:|---:|---:|---|"]
    for c in changes:
        lines.append(
            f"| {c.metric} | {100 * c.before:.1f} | {100 * c.after:.1f} | {100 * c.change:+.1f} "
            f"| {100 * c.low:+.1f} .. {100 * c.high:+.1f} |"
        )
    lines += [
        "",
        "| instruction type | prompts | followed before | after |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r.type} | {r.prompts} | {r.before} | {r.after} |" for r in table]
    return "\n".join(lines)
