"""The training data of a recipe: loaded the way TRL's scripts load it, and checked before training.

`load_train_data(recipe, args, dataset_dir)` returns a `TrainData` (train split, optional eval split, a
label naming the source). With `dataset_dir` (a folder holding `data.jsonl` such as one split of an
`ifplay generate` output, a `.jsonl` file, or a `save_to_disk` folder) that data replaces the recipe's
`datasets`/`dataset_name`. Columns are checked
per method: DPO (also SPIN, SPaR actor) needs `prompt`, `chosen`, `rejected` (TRL conversational format);
SFT needs `messages` (or TRL's other SFT formats: `prompt` + `completion`, or the text field).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifplay.errors import ConfigError, DataError, first_line
from ifplay.training.recipe import Method, Recipe, TrlArgs

JSONL_NAME = "data.jsonl"
DPO_COLUMNS = ("prompt", "chosen", "rejected")
SFT_FORMATS = (("messages",), ("prompt", "completion"))
# recipe keys that choose the data; `dataset_dir` replaces them all
DATASET_KEYS = ("datasets", "dataset_name", "dataset_config", "dataset_train_split")
_DISK_MARKERS = ("state.json", "dataset_dict.json")  # written by `save_to_disk`


@dataclass(frozen=True)
class TrainData:
    """What the trainer receives, plus where it came from (for errors and train_result.json)."""

    train: Any  # datasets.Dataset | IterableDataset
    eval: Any | None
    source: str

    @property
    def rows(self) -> int | None:
        """Number of training rows (None for a streamed dataset)."""
        try:
            return len(self.train)
        except TypeError:
            return None


def load_train_data(recipe: Recipe, args: TrlArgs, dataset_dir: Path | None = None) -> TrainData:
    """Load the splits `recipe` (parsed into `args`) trains and evaluates on; check their columns."""
    import datasets

    datasets.disable_progress_bars()
    if dataset_dir is not None:
        splits, source = _load_override(Path(dataset_dir), args)
        train_split, test_split = "train", "test"
    else:
        splits, source = _load_from_recipe(args, recipe.path)
        train_split, test_split = args.script.dataset_train_split, args.script.dataset_test_split
    train = _split(splits, train_split, source)
    evaluate = args.training.eval_strategy != "no"
    eval_data = _split(splits, test_split, source) if evaluate else None
    for part in (train, eval_data):
        if part is not None:
            check_columns(part, recipe.method, args, source)
    return TrainData(train, eval_data, source)


def check_columns(ds: Any, method: Method, args: TrlArgs, source: str) -> None:
    """DataError naming `source` and the first missing column (and empty datasets)."""
    columns = ds.column_names
    if columns is None:  # a streamed dataset whose features are unknown until read
        return
    found = ", ".join(columns) or "none"
    if method == "dpo":
        for column in DPO_COLUMNS:
            if column not in columns:
                raise DataError(
                    f"{source}: missing column {column!r} (DPO needs {', '.join(DPO_COLUMNS)}; "
                    f"found: {found})"
                )
    else:
        text_field = getattr(args.training, "dataset_text_field", "text")
        formats = (*SFT_FORMATS, (text_field,))
        if not any(all(c in columns for c in fmt) for fmt in formats):
            raise DataError(
                f"{source}: missing column 'messages' (SFT needs messages, or prompt + completion, "
                f"or {text_field}; found: {found})"
            )
    if hasattr(ds, "__len__") and len(ds) == 0:
        raise DataError(f"{source}: dataset has no rows")
    if method == "dpo" and hasattr(ds, "__getitem__"):
        _check_pair_format(ds[0], source)


def _check_pair_format(row: dict[str, Any], source: str) -> None:
    """Row 1's prompt/chosen/rejected must all be chats (lists of role/content) or all strings."""
    kinds = {column: _value_kind(row[column]) for column in DPO_COLUMNS}
    if len(set(kinds.values())) != 1 or "other" in kinds.values():
        described = ", ".join(f"{c} is {k}" for c, k in kinds.items())
        raise DataError(
            f"{source}: row 1: prompt, chosen and rejected must all be chat messages "
            f"(lists of role/content) or all strings ({described})"
        )


def _value_kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list) and all(
        isinstance(m, dict) and {"role", "content"} <= set(m) for m in value
    ):
        return "chat messages"
    return "other"


def _load_override(path: Path, args: TrlArgs) -> tuple[Any, str]:
    from datasets import DatasetDict, load_from_disk
    from trl import DatasetMixtureConfig, get_dataset
    from trl.scripts.utils import DatasetConfig

    jsonl = path / JSONL_NAME if path.is_dir() else path
    if jsonl.is_file() and jsonl.suffix in (".jsonl", ".json"):
        if not jsonl.read_bytes()[:4096].strip():
            raise DataError(f"{jsonl}: dataset has no rows")
        mixture = DatasetMixtureConfig(
            datasets=[DatasetConfig(path="json", data_files=str(jsonl))],
            test_split_size=args.data.test_split_size,
        )
        return _guarded(lambda: get_dataset(mixture), str(jsonl)), str(jsonl)
    if path.is_dir() and any((path / marker).is_file() for marker in _DISK_MARKERS):
        loaded = _guarded(lambda: load_from_disk(str(path)), str(path))
        if not isinstance(loaded, DatasetDict):
            test_size = args.data.test_split_size
            loaded = (
                loaded.train_test_split(test_size=test_size, seed=args.training.seed)
                if test_size
                else DatasetDict({"train": loaded})
            )
        return loaded, str(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    splits = sorted(p.name for p in path.iterdir() if (p / JSONL_NAME).is_file())
    if splits:  # a generated folder with one subfolder per split (e.g. AutoIF's sft/ and dpo/)
        raise DataError(
            f"{path}: holds the splits {', '.join(splits)}: pass one, e.g. {path / splits[0]}"
        )
    raise DataError(
        f"{path}: expected a {JSONL_NAME} file, a folder holding one, or a save_to_disk folder"
    )


def _load_from_recipe(args: TrlArgs, recipe_path: Path) -> tuple[Any, str]:
    from datasets import load_dataset
    from trl import get_dataset

    if args.data.datasets:
        first = args.data.datasets[0]
        source = str(first.data_files or first.path)
        if len(args.data.datasets) > 1:
            source += f" (+{len(args.data.datasets) - 1} more)"
        return _guarded(lambda: get_dataset(args.data), source), source
    name = args.script.dataset_name
    if name:
        return _guarded(
            lambda: load_dataset(
                name, name=args.script.dataset_config, streaming=args.script.dataset_streaming
            ),
            name,
        ), name
    raise ConfigError(
        f"{recipe_path}: datasets: no dataset (set `datasets` or `dataset_name`, or pass --dataset)"
    )


def _guarded(load: Any, source: str) -> Any:
    """Run a loader; its failures become one-line DataErrors naming `source`."""
    try:
        return load()
    except DataError:
        raise
    except Exception as err:  # datasets raises many types (FileNotFound, generation, schema errors)
        detail = first_line(err)
        cause = err.__cause__
        if cause is not None and str(cause).strip():
            detail += f" ({first_line(cause)})"
        raise DataError(f"{source}: cannot load the dataset: {detail}") from None


def _split(splits: Any, name: str, source: str) -> Any:
    if name not in splits:
        have = ", ".join(splits) or "none"
        raise DataError(
            f"{source}: no {name!r} split (found: {have}; set test_split_size for eval)"
        )
    return splits[name]
