"""Where each eval task's data comes from: a file the user names, a copy installed locally, or the Hub.

`DataRequest` carries the user's choice for one task: an explicit path (`ifplay eval --data
ifeval=FILE`), and a source policy:

- `auto` (default): the explicit path, else the locally installed copy, else the Hub; the Hub is never
  tried when `HF_HUB_OFFLINE` is set. Local copies come first because they hold the same rows as the Hub
  dataset and make a score independent of the network.
- `local`: never the Hub.
- `hub`: always the Hub (the explicit path is still honoured).

Task modules in `evals/` call these helpers; every failure is a one-line `DataError` naming the task.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ifplay.errors import DataError
from ifplay.packaged import installed_file  # noqa: F401  (re-exported for evals/)

DataSourcePolicy = Literal["auto", "local", "hub"]
DATA_SOURCES: tuple[str, ...] = ("auto", "local", "hub")


@dataclass(frozen=True)
class DataRequest:
    """How one task should find its data."""

    task: str
    path: Path | None = None
    source: DataSourcePolicy = "auto"

    @property
    def hub_allowed(self) -> bool:
        return self.source != "local" and not hub_offline()

    @property
    def local_allowed(self) -> bool:
        return self.source != "hub"


def hub_offline() -> bool:
    """True when the user switched the Hub off (`HF_HUB_OFFLINE=1`)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def no_source_error(request: DataRequest, hint: str) -> DataError:
    """The error for 'nothing allowed by the policy could provide the data'."""
    why = "HF_HUB_OFFLINE is set" if hub_offline() else f"--data-source {request.source}"
    return DataError(f"{request.task}: no data available ({why}); {hint}")


def require_path(path: Path, task: str, kind: Literal["file", "folder"] = "file") -> Path:
    """`path` must exist as a file (or folder); the error names the task and the path."""
    ok = path.is_file() if kind == "file" else path.is_dir()
    if not ok:
        raise DataError(f"{task}: {path}: no such {kind}")
    return path


def read_jsonl(path: Path, task: str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of a JSONL file; bad JSON or a missing key is an error naming the file and line."""
    require_path(path, task)
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{task}: {path}:{number}: invalid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{task}: {path}:{number}: expected a JSON object")
            missing = [key for key in required if key not in row]
            if missing:
                raise DataError(f"{task}: {path}:{number}: missing key {missing[0]!r}")
            rows.append(row)
    if not rows:
        raise DataError(f"{task}: {path}: no rows")
    return rows


def read_json_list(path: Path, task: str, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows of a JSON file holding one list of objects; errors name the file and the row index."""
    require_path(path, task)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(f"{task}: {path}: invalid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, list) or not data:
        raise DataError(f"{task}: {path}: expected a non-empty JSON list")
    for index, row in enumerate(data):
        missing = [key for key in required if not isinstance(row, dict) or key not in row]
        if missing:
            raise DataError(f"{task}: {path}: row {index}: missing key {missing[0]!r}")
    return data
