"""What a training run produced: `TrainResult`, stored as `train_result.json` beside the weights.

`metrics` holds the last logged value of every per-step key TRL logs (`loss`, `grad_norm`,
`learning_rate`, and for DPO `rewards/chosen`, `rewards/rejected`, `rewards/margins`,
`rewards/accuracies`, `logps/*`, `logits/*`), then the run summary `Trainer.train()` returns
(`train_loss`, `train_runtime`, `train_samples_per_second`, ...). `log_history` is every log entry, in
order, for loss curves.
"""

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT_FILE = "train_result.json"


@dataclass(frozen=True)
class TrainResult:
    """One finished training: where the model is and what TRL logged while making it."""

    output_dir: Path
    method: str  # "sft" | "dpo"
    metrics: dict[str, float]
    log_history: list[dict[str, float]]
    steps: int
    seconds: float  # wall time of the whole run: loading, training and saving
    model: str  # the start model as loaded (resolved path or Hub id)
    ref_model: str | None  # explicit DPO reference; None = TRL's default (the start model)
    dataset: str  # data source (file, folder or dataset id)
    rows: int | None  # training rows (None when streamed)
    recipe: str  # recipe file
    config: dict[str, Any] = field(default_factory=dict)  # recipe values after overrides
    world_size: int = 1  # training processes (ranks under `accelerate launch`)

    def write(self, folder: Path) -> Path:
        """Write `train_result.json` into `folder` (the final folder or its staging copy)."""
        data = asdict(self)
        data["output_dir"] = str(self.output_dir)
        path = folder / RESULT_FILE
        path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, output_dir: str | Path) -> "TrainResult":
        """Read the result of a finished training from its output folder."""
        folder = Path(output_dir)
        data = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
        return cls(**{**data, "output_dir": folder})


def summarize(log_history: list[dict[str, Any]], train_metrics: dict[str, Any]) -> dict[str, float]:
    """Last logged value of every numeric key, then the train() summary (see module docstring)."""
    summary: dict[str, float] = {}
    for entry in log_history:
        summary.update({k: float(v) for k, v in entry.items() if _is_number(v)})
    summary.update({k: float(v) for k, v in train_metrics.items() if _is_number(v)})
    return summary


def numeric_history(log_history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Trainer log entries reduced to their numeric values (JSON-safe)."""
    return [{k: float(v) for k, v in entry.items() if _is_number(v)} for entry in log_history]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
