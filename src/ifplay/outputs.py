"""Write results so that a failed or interrupted run leaves nothing half-written.

`staged_folder(final)` yields a hidden sibling folder to write into and renames it to `final` only when
the block succeeds; on error the staging folder is removed and `final` is untouched.
"""

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ifplay.errors import IfplayError


def check_output_free(final: Path, force: bool) -> None:
    """Refuse to overwrite an existing output unless `force`."""
    if final.exists() and not force:
        raise IfplayError(f"{final}: output already exists (use --force to replace it)")


def staging_path(final: Path) -> Path:
    """The hidden sibling that `staged_folder(final)` writes into.

    A fixed name, so a killed run's leftover is found and replaced by the next run.
    """
    return final.parent / f".{final.name}.partial"


@contextmanager
def staged_folder(final: Path, force: bool = False, resumable: bool = False) -> Iterator[Path]:
    """Yield a staging folder that becomes `final` atomically when the block exits cleanly.

    `resumable`: the staging folder holds work a rerun continues (training checkpoints): one found at
    entry is kept, and one left by an error or interruption too; otherwise both are removed.
    """
    check_output_free(final, force)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(final)
    if staging.exists() and not resumable:
        shutil.rmtree(staging)
    staging.mkdir(exist_ok=True)
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        if staging.exists() and not resumable:
            shutil.rmtree(staging, ignore_errors=True)


def save_dataset(ds: Any, folder: Path, jsonl_name: str = "data.jsonl") -> None:
    """Save `ds` both as a `datasets` folder (`folder/dataset`) and as `folder/<jsonl_name>`.

    A split without rows but with columns (see `ifplay.split_schemas`) is written as one empty
    shard: `datasets` otherwise writes no data file at all and `load_from_disk` cannot read the
    folder back.
    """
    import datasets

    datasets.disable_progress_bars()
    empty_with_columns = len(ds) == 0 and bool(ds.column_names)
    ds.save_to_disk(str(folder / "dataset"), num_shards=1 if empty_with_columns else None)
    ds.to_json(str(folder / jsonl_name), lines=True, force_ascii=False)


def save_pipeline_output(
    result: Any, output: Path, config: Any, config_file: Path, seconds: float, force: bool
) -> None:
    """Save a `PipelineOutput`: every split (top level when there is one, else one subfolder each),
    `run.json` (version, config, split sizes, seconds) and `stats.json` (per-stage counts)."""
    from ifplay import __version__

    with staged_folder(output, force=force) as folder:
        single = len(result.splits) == 1
        for name, dataset in result.splits.items():
            target = folder if single else folder / name
            target.mkdir(exist_ok=True)
            save_dataset(dataset, target)
        record = {
            "ifplay_version": __version__,
            "config_file": str(config_file),
            "config": config.model_dump(mode="json"),
            "splits": {name: len(ds) for name, ds in result.splits.items()},
            "seconds": round(seconds, 2),
        }
        (folder / "run.json").write_text(json.dumps(record, indent=2) + "\n")
        (folder / "stats.json").write_text(json.dumps(result.stats, indent=2) + "\n")
