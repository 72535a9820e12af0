"""Read what `ifplay generate` (or one loop iteration) wrote: its splits and its run records.

A generated folder holds `run.json`, `stats.json` and either one subfolder per split (`sft/`, `dpo/`,
...) or, for a single split, `data.jsonl` + `dataset/` at the top. A loop run folder holds one generated
folder per iteration at `iter-<k>/data`. `find_generated(path)` accepts either and returns one
`GeneratedData` per generated folder; unusable input raises a one-line `DataError`.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ifplay.errors import DataError, first_line

PAIR_COLUMNS = ("prompt", "chosen", "rejected")
_ITERATION = re.compile(r"^iter-(\d+)$")


def _is_split_folder(folder: Path) -> bool:
    return (folder / "dataset" / "dataset_info.json").is_file() or (folder / "data.jsonl").is_file()


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: invalid JSON (line {err.lineno})") from None
    return data if isinstance(data, dict) else {}


@dataclass
class GeneratedData:
    """One generated folder: split name -> split folder, plus `run.json` and `stats.json`."""

    root: Path
    splits: dict[str, Path]
    run: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    iteration: int | None = None

    @property
    def method(self) -> str:
        """The pipeline kind that made the data (`autoif`, `spar`, `spin`, ...), or `unknown`."""
        config = self.run.get("config") or {}
        return str(config.get("kind") or "unknown")

    def load(self, split: str) -> Any:
        """The split as a `datasets.Dataset` (the saved dataset folder, else its jsonl)."""
        import datasets

        datasets.disable_progress_bars()
        folder = self.splits[split]
        jsonl = folder / "data.jsonl"
        # a split without rows: older outputs saved no data file, so its dataset folder is unreadable
        empty = jsonl.is_file() and jsonl.stat().st_size == 0
        try:
            if (folder / "dataset" / "dataset_info.json").is_file():
                return datasets.load_from_disk(str(folder / "dataset"))
            if not empty:
                return datasets.Dataset.from_json(str(jsonl))
        except Exception as err:  # corrupt files surface as many error types
            if not empty:
                first = first_line(err)
                raise DataError(f"{folder}: cannot read split {split!r} ({first})") from None
        return datasets.Dataset.from_list([])

    def relative(self, base: Path, split: str) -> str:
        """The split folder relative to `base` (`.` when the split is at the top of `base`)."""
        return self.splits[split].resolve().relative_to(base.resolve()).as_posix()


def open_generated(path: Path) -> GeneratedData:
    """Read one generated folder; raises `DataError` if it is missing or holds no split."""
    if not path.exists():
        raise DataError(f"{path}: no such folder")
    if not path.is_dir():
        raise DataError(f"{path}: not a folder (give the folder `ifplay generate` wrote)")
    run = _read_json(path / "run.json")
    if _is_split_folder(path):
        names = list(run.get("splits") or {})
        splits = {names[0] if len(names) == 1 else "train": path}
    else:
        splits = {
            child.name: child
            for child in sorted(path.iterdir())
            if child.is_dir() and not child.name.startswith(".") and _is_split_folder(child)
        }
    if not splits:
        raise DataError(
            f"{path}: no dataset splits found (expected data.jsonl or dataset/ at the top or in "
            "one subfolder per split)"
        )
    match = _ITERATION.match(path.parent.name if path.name == "data" else path.name)
    return GeneratedData(
        root=path,
        splits=splits,
        run=run,
        stats=_read_json(path / "stats.json"),
        iteration=int(match.group(1)) if match else None,
    )


def find_generated(path: Path) -> list[GeneratedData]:
    """The generated folder at `path`, or every `iter-<k>/data` of a loop run folder (by k)."""
    if path.is_dir() and not _is_split_folder(path):
        iterations = sorted(
            (int(m.group(1)), child / "data")
            for child in path.iterdir()
            if (m := _ITERATION.match(child.name)) and (child / "data").is_dir()
        )
        if iterations:
            return [open_generated(folder) for _, folder in iterations]
    return [open_generated(path)]


def pair_splits(data: GeneratedData) -> list[str]:
    """Names of the splits whose rows are preference pairs (`prompt`, `chosen`, `rejected`)."""
    return [name for name in data.splits if _has_columns(data, name, PAIR_COLUMNS)]


def _has_columns(data: GeneratedData, split: str, columns: tuple[str, ...]) -> bool:
    folder = data.splits[split]
    info = folder / "dataset" / "dataset_info.json"
    if info.is_file():
        features = _read_json(info).get("features") or {}
        return all(column in features for column in columns)
    with (folder / "data.jsonl").open(encoding="utf-8") as handle:
        first = handle.readline().strip()
    if not first:
        return False
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        raise DataError(f"{folder / 'data.jsonl'}: line 1: invalid JSON") from None
    return isinstance(row, dict) and all(column in row for column in columns)
