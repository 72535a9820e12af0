"""Load prompt datasets from local files or the Hub, and validate the columns a pipeline needs.

Local: a .json/.jsonl/.parquet/.csv file, a folder written by `save_to_disk`, or a folder of such files.
Anything else that looks like `org/name` is a Hub dataset id (honours HF_HUB_OFFLINE).
"""

from pathlib import Path
from typing import Any

from ifplay.errors import DataError, first_line

_FORMATS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


def load_rows(
    path: str, split: str = "train", limit: int | None = None, base_dir: Path | None = None
) -> Any:
    """Return a `datasets.Dataset` read from `path` (a relative path is tried from the cwd, then from `base_dir`)."""
    import datasets

    datasets.disable_progress_bars()
    local = Path(path).expanduser()
    if not local.exists() and base_dir is not None and (base_dir / local).exists():
        local = base_dir / local
    try:
        if local.is_file():
            builder = _FORMATS.get(local.suffix.lower())
            if builder is None:
                raise DataError(
                    f"{local}: unsupported file type (use .json, .jsonl, .parquet or .csv)"
                )
            if not local.read_bytes()[:4096].strip():
                raise DataError(f"{local}: dataset has no rows")
            ds = datasets.load_dataset(builder, data_files=str(local), split="train")
        elif local.is_dir():
            ds = _load_folder(local, split)
        elif path.startswith((".", "/", "~")) or local.suffix.lower() in _FORMATS:
            raise DataError(f"{path}: no such file or folder")
        else:
            ds = datasets.load_dataset(path, split=split)
    except DataError:
        raise
    except Exception as err:  # datasets raises many types; surface one line naming the source
        first = first_line(err)
        raise DataError(f"{path}: cannot load dataset ({first})") from None
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    return ds


def _load_folder(folder: Path, split: str) -> Any:
    import datasets

    if (folder / "dataset_info.json").is_file() or (folder / "dataset_dict.json").is_file():
        loaded = datasets.load_from_disk(str(folder))
        return loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
    for suffix, builder in _FORMATS.items():
        files = sorted(str(p) for p in folder.rglob(f"*{suffix}"))
        if files:
            return datasets.load_dataset(builder, data_files=files, split="train")
    raise DataError(f"{folder}: folder holds no dataset (save_to_disk folder or data files)")


def require_text_column(ds: Any, column: str, source: str) -> None:
    """Fail with a one-line error unless `column` exists and every row has non-empty text."""
    if len(ds) == 0:
        raise DataError(f"{source}: dataset has no rows")
    if column not in ds.column_names:
        raise DataError(
            f"{source}: column {column!r} not found (columns: {', '.join(ds.column_names)})"
        )
    for index, value in enumerate(ds[column]):
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{source}: row {index}: column {column!r} is empty or not text")
