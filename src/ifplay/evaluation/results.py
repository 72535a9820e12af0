"""Turn lighteval's aggregated scores and per-sample details into ifplay's flat, stable result files.

`flatten_metrics` maps lighteval's `{"ifplay_followbench_content|0": {"hsr": ...}}` onto flat keys
`"followbench/content/hsr"`; a family with several sub-tasks also gets the mean over them
(`"followbench/hsr"`). Standard errors (`*_stderr`) go to a parallel dict under the same keys.
`write_outputs` writes `results.json` and `details/<task>.jsonl` into a staging folder next to the
output folder and moves them in only when everything is written.
"""

import json
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
DETAILS_DIR = "details"


def flatten_metrics(
    aggregated: dict[str, dict[str, Any]], keys: dict[str, str], families: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    """(metrics, stderr) with flat keys; `keys` maps config names to key prefixes, `families` to families."""
    metrics: dict[str, float] = {}
    stderr: dict[str, float] = {}
    by_family: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for full_name, values in aggregated.items():
        config_name = full_name.split("|")[0]
        if config_name not in keys:  # lighteval's own "all" and ":_average" rows
            continue
        prefix = keys[config_name]
        for name, value in sorted(values.items()):
            if name.endswith("_stderr"):
                stderr[f"{prefix}/{name.removesuffix('_stderr')}"] = float(value)
                continue
            metrics[f"{prefix}/{name}"] = float(value)
            if prefix != families[config_name]:
                by_family[families[config_name]][name].append(float(value))
    for family, named in by_family.items():
        for name, values in named.items():
            metrics[f"{family}/{name}"] = sum(values) / len(values)
    return dict(sorted(metrics.items())), dict(sorted(stderr.items()))


def details_filename(key: str) -> str:
    """'followbench/content' -> 'details/followbench_content.jsonl' (relative to the output folder)."""
    return f"{DETAILS_DIR}/{key.replace('/', '_')}.jsonl"


def to_jsonable(value: Any) -> Any:
    """numpy scalars/arrays, tuples and sets -> plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


def write_outputs(
    output_dir: Path, results: dict[str, Any], details: dict[str, list[dict]]
) -> None:
    """Write results.json and the details files; the folder only changes once all are written."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        (staging / DETAILS_DIR).mkdir()
        for key, rows in details.items():
            with (staging / details_filename(key)).open("w", encoding="utf-8") as handle:
                for row in rows:
                    handle.write(json.dumps(to_jsonable(row), ensure_ascii=False) + "\n")
        (staging / RESULTS_FILE).write_text(
            json.dumps(to_jsonable(results), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        output_dir.mkdir(exist_ok=True)
        for key in details:
            target = output_dir / details_filename(key)
            target.parent.mkdir(exist_ok=True)
            (staging / details_filename(key)).replace(target)
        (staging / RESULTS_FILE).replace(output_dir / RESULTS_FILE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
