"""Write results so that a failed or interrupted run leaves nothing half-written.

`staged_folder(final)` yields a hidden sibling folder to write into and renames it to `final` only when
the block succeeds; on error the staging folder is removed and `final` is untouched.
"""

import os
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


@contextmanager
def staged_folder(final: Path, force: bool = False) -> Iterator[Path]:
    """Yield a staging folder that becomes `final` atomically when the block exits cleanly."""
    check_output_free(final, force)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def save_dataset(ds: Any, folder: Path, jsonl_name: str = "data.jsonl") -> None:
    """Save `ds` both as a `datasets` folder (`folder/dataset`) and as `folder/<jsonl_name>`."""
    import datasets

    datasets.disable_progress_bars()
    ds.save_to_disk(str(folder / "dataset"))
    ds.to_json(str(folder / jsonl_name), lines=True, force_ascii=False)
