"""Human spot checks of preference pairs in Argilla: push a sample, pull the verdicts back.

`collect_pairs(data_dir)` reads every pair split (`prompt`/`chosen`/`rejected`) of a generated folder or
loop run. `push_pairs` sends them as records laid out by `hub/argilla_settings.yaml`: the prompt and the
two responses in a fixed pseudo-random order per pair (which side is A is stored in hidden metadata),
plus method, iteration, edit distance in words and the automatic labels (pass rates, judge votes). `pull_verdicts`
turns submitted answers into verdicts against the pipeline (`agree`, `disagree`, `tie`, `both_bad`);
`agreement` summarises them and `filter_pairs` drops the pairs humans rejected.
"""

import fnmatch
import hashlib
import json
import logging
import random
import re
import shutil
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ifplay.config import Schema, load_config
from ifplay.datadir import GeneratedData, find_generated, pair_splits
from ifplay.edits import word_edit_distance
from ifplay.errors import DataError, IfplayError, first_line
from ifplay.hub import HUB_DIR

LAYOUT_FILE = HUB_DIR / "argilla_settings.yaml"
LABELS = ("a", "b", "tie", "both_bad")
VERDICTS = ("agree", "disagree", "tie", "both_bad")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
_METADATA_NAME = re.compile(r"^[a-z0-9_-]*[a-z0-9][a-z0-9_-]*$")


# -- the layout (hub/argilla_settings.yaml) -----------------------------------------------------


class FieldSpec(Schema):
    name: str
    title: str
    markdown: bool = False


class QuestionSpec(Schema):
    name: str
    kind: Literal["label", "text"]
    title: str
    labels: dict[str, str] | None = None
    required: bool = True


class MetadataSpec(Schema):
    name: str
    kind: Literal["terms", "integer", "float"]
    title: str
    visible_for_annotators: bool = True


class NumericColumns(Schema):
    patterns: list[str] = Field(default_factory=list)
    visible_for_annotators: bool = False


class Layout(Schema):
    """The Argilla dataset layout for preference pairs."""

    version: int = Field(ge=1)
    guidelines: str = Field(min_length=1)
    min_submitted: int = Field(1, ge=1)
    fields: list[FieldSpec]
    questions: list[QuestionSpec]
    metadata: list[MetadataSpec]
    numeric_columns: NumericColumns = NumericColumns()

    @model_validator(mode="after")
    def _fixed_names(self) -> "Layout":
        names = [f.name for f in self.fields]
        if names != ["prompt", "response_a", "response_b"]:
            raise ValueError("fields must be prompt, response_a, response_b (in that order)")
        questions = {q.name: q for q in self.questions}
        preference = questions.get("preference")
        if preference is None or preference.kind != "label":
            raise ValueError("questions: needs a label question named preference")
        if sorted(preference.labels or {}) != sorted(LABELS):
            raise ValueError(f"questions: preference labels must be {', '.join(LABELS)}")
        if "comment" not in questions or questions["comment"].kind != "text":
            raise ValueError("questions: needs a text question named comment")
        missing = {"method", "iteration", "edit_distance", "a_is", "source", "row"}
        missing -= {m.name for m in self.metadata}
        if missing:
            raise ValueError(f"metadata: missing {', '.join(sorted(missing))}")
        return self


def load_layout(path: Path = LAYOUT_FILE) -> Layout:
    """The layout file, validated (errors name the file and field)."""
    return load_config(path, Layout)


# -- pairs from the data ------------------------------------------------------------------------


@dataclass
class Pair:
    """One preference pair and where it came from."""

    source: str
    row: int
    method: str
    iteration: int | None
    prompt: str
    chosen: str
    rejected: str
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable record id: the pair's place and content."""
        key = json.dumps([self.source, self.row, self.prompt, self.chosen, self.rejected])
        return hashlib.sha256(key.encode()).hexdigest()[:24]

    @cached_property
    def edit_distance_words(self) -> int:
        """Levenshtein distance in words between chosen and rejected (computed on use), for every
        method; a split's own `edit_distance` column (SPaR's, in tokens) is not this number."""
        return word_edit_distance(self.chosen, self.rejected)

    @property
    def a_is(self) -> str:
        """Which side is shown as response A (fixed per pair, so re-pushing never flips it)."""
        return (
            "chosen" if hashlib.sha256(f"order:{self.id}".encode()).digest()[0] % 2 else "rejected"
        )


def message_text(value: Any, show_roles: bool = False) -> str:
    """A TRL conversational value (list of messages) or plain text, as readable text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return "" if value is None else str(value)
    parts = []
    for message in value:
        if isinstance(message, dict):
            content = str(message.get("content") or "")
            role = message.get("role", "")
            parts.append(f"**{role}:** {content}" if show_roles and role else content)
        else:
            parts.append(str(message))
    return "\n\n".join(parts)


def _number(value: Any) -> float | None:
    """A scalar number, or the mean of a list of numbers; None for anything else."""
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, bool | int | float) for v in value):
        return sum(float(v) for v in value) / len(value)
    return None


def _numbers(row: dict[str, Any], patterns: list[str]) -> dict[str, float]:
    """Columns matching `patterns` whose values are numbers (lists of numbers: their mean)."""
    out = {}
    for column, value in row.items():
        name = column.lower()
        # `edit_distance` is the fixed metadata in words; SPaR's column of that name is in tokens
        if name == "edit_distance" or not _METADATA_NAME.match(name):
            continue
        number = _number(value)
        if number is not None and any(fnmatch.fnmatch(name, p) for p in patterns):
            out[name] = round(number, 6)
    return out


def _pairs_of(data: GeneratedData, base: Path, split: str, patterns: list[str]) -> list[Pair]:
    pairs = []
    source = data.relative(base, split)
    for index, row in enumerate(data.load(split)):
        multi_turn = isinstance(row["prompt"], list) and len(row["prompt"]) > 1
        pairs.append(
            Pair(
                source=source,
                row=index,
                method=data.method,
                iteration=data.iteration,
                prompt=message_text(row["prompt"], show_roles=multi_turn),
                chosen=message_text(row["chosen"]),
                rejected=message_text(row["rejected"]),
                numbers=_numbers(row, patterns),
            )
        )
    return pairs


def collect_pairs(data_dir: Path, layout: Layout) -> tuple[list[GeneratedData], list[Pair]]:
    """Every pair of every pair split under `data_dir`; a `DataError` when there are none."""
    found = find_generated(data_dir)
    pairs: list[Pair] = []
    for data in found:
        for split in pair_splits(data):
            pairs += _pairs_of(data, data_dir, split, layout.numeric_columns.patterns)
    if not pairs:
        names = ", ".join(sorted({s for d in found for s in d.splits}))
        raise DataError(
            f"{data_dir}: no preference pairs (no split with columns prompt, chosen, rejected "
            f"and rows; splits: {names})"
        )
    return found, pairs


def sample_pairs(pairs: list[Pair], count: int | None, seed: int) -> list[Pair]:
    """`count` random pairs spread evenly over iterations (all pairs when `count` is None)."""
    if count is None or count >= len(pairs):
        return list(pairs)
    strata: dict[Any, list[Pair]] = defaultdict(list)
    for pair in pairs:
        strata[pair.iteration].append(pair)
    keys = sorted(strata, key=lambda k: -1 if k is None else k)
    quota = dict.fromkeys(keys, 0)
    left = count
    while left:
        open_keys = [k for k in keys if quota[k] < len(strata[k])]
        for key in open_keys[:left]:
            quota[key] += 1
        left -= min(left, len(open_keys))
    rng = random.Random(seed)
    chosen = [p for k in keys for p in rng.sample(strata[k], quota[k])]
    order = {id(p): i for i, p in enumerate(pairs)}
    return sorted(chosen, key=lambda p: order[id(p)])


# -- Argilla --------------------------------------------------------------------------------------


@contextmanager
def quiet_sdk() -> Iterator[None]:
    """Silence the SDK's warnings and info logs (lookups that find nothing warn)."""
    logger = logging.getLogger("argilla.sdk")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


def connect(api_url: str | None, api_key: str | None) -> Any:
    """An `argilla.Argilla` client; unreachable servers and bad keys are one-line errors."""
    if not api_url:
        raise IfplayError("no Argilla server: pass --api-url or set ARGILLA_API_URL")
    if not api_key:
        raise IfplayError("no Argilla API key: pass --api-key or set ARGILLA_API_KEY")
    try:
        import argilla as rg
    except ImportError:
        raise IfplayError(
            "the Argilla SDK is not installed: pip install 'ifplay[argilla]'"
        ) from None
    import httpx
    from argilla._exceptions import ArgillaCredentialsError

    try:
        with quiet_sdk():
            return rg.Argilla(api_url=api_url, api_key=api_key, timeout=30, retries=1)
    except ArgillaCredentialsError:
        raise IfplayError(f"Argilla at {api_url} rejected the API key") from None
    except (httpx.HTTPError, OSError) as err:
        raise IfplayError(f"cannot reach Argilla at {api_url} ({first_line(err)})") from None
    except Exception as err:
        raise IfplayError(f"Argilla at {api_url}: {first_line(err)}") from None


def check_dataset_name(name: str) -> None:
    if not _NAME.match(name):
        raise IfplayError(f"--dataset: {name!r} is not a valid name (letters, digits, _ and -)")


def _workspace(client: Any, name: str | None) -> Any:
    with quiet_sdk():
        if name:
            workspace = client.workspaces(name)
            if workspace is None:
                raise IfplayError(f"Argilla workspace {name!r} not found")
            return workspace
        workspaces = list(client.workspaces)
    if not workspaces:
        raise IfplayError("no Argilla workspace: create one or pass --workspace")
    return workspaces[0]


def build_settings(layout: Layout, numeric: list[str]) -> Any:
    """`argilla.Settings` for the layout, plus one float property per numeric column."""
    import argilla as rg

    kinds = {
        "terms": rg.TermsMetadataProperty,
        "integer": rg.IntegerMetadataProperty,
        "float": rg.FloatMetadataProperty,
    }
    metadata = [
        kinds[m.kind](name=m.name, title=m.title, visible_for_annotators=m.visible_for_annotators)
        for m in layout.metadata
    ]
    fixed = {m.name for m in layout.metadata}
    visible = layout.numeric_columns.visible_for_annotators
    metadata += [
        rg.FloatMetadataProperty(name=name, title=name, visible_for_annotators=visible)
        for name in numeric
        if name not in fixed
    ]
    questions = [
        rg.LabelQuestion(name=q.name, title=q.title, labels=q.labels, required=q.required)
        if q.kind == "label"
        else rg.TextQuestion(name=q.name, title=q.title, required=q.required)
        for q in layout.questions
    ]
    return rg.Settings(
        guidelines=layout.guidelines,
        fields=[
            rg.TextField(name=f.name, title=f.title, use_markdown=f.markdown) for f in layout.fields
        ],
        questions=questions,
        metadata=metadata,
        distribution=rg.TaskDistribution(min_submitted=layout.min_submitted),
    )


def to_record(pair: Pair, metadata_names: set[str]) -> Any:
    """The Argilla record for a pair; only metadata the dataset declares is sent."""
    import argilla as rg

    a, b = (pair.chosen, pair.rejected) if pair.a_is == "chosen" else (pair.rejected, pair.chosen)
    metadata: dict[str, Any] = {
        "method": pair.method,
        "iteration": pair.iteration,
        "edit_distance": pair.edit_distance_words,
        "a_is": pair.a_is,
        "source": pair.source,
        "row": pair.row,
        **pair.numbers,
    }
    kept = {k: v for k, v in metadata.items() if v is not None and k in metadata_names}
    fields = {"prompt": pair.prompt, "response_a": a, "response_b": b}
    return rg.Record(id=pair.id, fields=fields, metadata=kept)


def _find_dataset(client: Any, name: str, workspace: Any) -> Any:
    with quiet_sdk():
        return client.datasets(name, workspace=workspace)


def push_pairs(
    client: Any, name: str, workspace_name: str | None, pairs: list[Pair], layout: Layout
) -> tuple[Any, bool]:
    """Create (or reuse, if its layout matches) the dataset and upsert the pairs' records.

    Returns (dataset, created). Records are keyed by pair id, so pushing again updates in place and
    keeps the answers already given.
    """
    import argilla as rg

    workspace = _workspace(client, workspace_name)
    dataset = _find_dataset(client, name, workspace)
    created = dataset is None
    try:
        with quiet_sdk():
            if created:
                numeric = sorted({key for pair in pairs for key in pair.numbers})
                dataset = rg.Dataset(
                    name=name,
                    workspace=workspace,
                    settings=build_settings(layout, numeric),
                    client=client,
                )
                dataset.create()
            else:
                _check_layout(dataset, layout)
            names = {m.name for m in dataset.settings.metadata}
            dataset.records.log([to_record(pair, names) for pair in pairs])
    except IfplayError:
        raise
    except Exception as err:
        if created and dataset is not None:
            _delete_quietly(dataset)
        raise IfplayError(f"Argilla dataset {name!r}: push failed ({first_line(err)})") from None
    return dataset, created


def _check_layout(dataset: Any, layout: Layout) -> None:
    fields = [f.name for f in dataset.settings.fields]
    questions = sorted(q.name for q in dataset.settings.questions)
    if fields != [f.name for f in layout.fields] or questions != sorted(
        q.name for q in layout.questions
    ):
        raise IfplayError(
            f"Argilla dataset {dataset.name!r} exists with another layout; choose another --dataset"
        )


def _delete_quietly(dataset: Any) -> None:
    try:
        with quiet_sdk():
            dataset.delete()
    except Exception:  # best effort: the push error is what the user needs to see
        pass


def dataset_url(client: Any, dataset: Any) -> str:
    return f"{client.api_url.rstrip('/')}/dataset/{dataset.id}/annotation-mode"


# -- answers back ---------------------------------------------------------------------------------


def verdict(label: str, a_is: str) -> str:
    """A human label on the A/B screen -> verdict on the pipeline's choice."""
    if label in ("tie", "both_bad"):
        return label
    picked_a = label == "a"
    return "agree" if picked_a == (a_is == "chosen") else "disagree"


def pull_verdicts(
    client: Any, name: str, workspace_name: str | None
) -> tuple[list[dict[str, Any]], int]:
    """(one row per submitted answer: record id, source, row, iteration, method, user, label,
    verdict, comment; the number of records in the dataset)."""
    workspace = _workspace(client, workspace_name)
    dataset = _find_dataset(client, name, workspace)
    if dataset is None:
        raise IfplayError(f"Argilla dataset {name!r} not found in workspace {workspace.name!r}")
    with quiet_sdk():
        users = {str(user.id): user.username for user in client.users}
        records = list(dataset.records(with_responses=True, with_suggestions=False))
    rows = []
    for record in records:
        meta = record.metadata or {}
        if meta.get("a_is") not in ("chosen", "rejected") or "source" not in meta:
            raise DataError(f"Argilla dataset {name!r}: record {record.id} lacks ifplay metadata")
        answers: dict[str, dict[str, Any]] = defaultdict(dict)
        for response in record.responses:
            if str(getattr(response.status, "value", response.status)) == "submitted":
                answers[str(response.user_id)][response.question_name] = response.value
        for user_id, answer in sorted(answers.items()):
            label = answer.get("preference")
            if label not in LABELS:
                continue
            rows.append(
                {
                    "record_id": str(record.id),
                    "source": meta["source"],
                    "row": int(meta["row"]),
                    "iteration": meta.get("iteration"),
                    "method": meta.get("method"),
                    "user": users.get(user_id, user_id),
                    "label": label,
                    "a_is": meta["a_is"],
                    "verdict": verdict(label, meta["a_is"]),
                    "comment": answer.get("comment") or "",
                }
            )
    return rows, len(records)


def _rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts = Counter(row["verdict"] for row in rows)
    decisive = counts["agree"] + counts["disagree"]
    return {
        "answers": len(rows),
        "pairs": len({row["record_id"] for row in rows}),
        "verdicts": {name: counts[name] for name in VERDICTS},
        "agreement": round(counts["agree"] / len(rows), 4) if rows else None,
        "decisive_agreement": round(counts["agree"] / decisive, 4) if decisive else None,
    }


def agreement(rows: list[dict[str, Any]], records: int) -> dict[str, Any]:
    """How often humans agree with the pipeline: overall, per iteration and per method.

    `agreement` = answers preferring the pipeline's chosen side / all answers; `decisive_agreement`
    leaves out ties and both-bad answers.
    """
    by_iteration: dict[str, list] = defaultdict(list)
    by_method: dict[str, list] = defaultdict(list)
    for row in rows:
        by_iteration[str(row["iteration"])].append(row)
        by_method[str(row["method"])].append(row)
    return {
        "records": records,
        **_rates(rows),
        "by_iteration": {key: _rates(value) for key, value in sorted(by_iteration.items())},
        "by_method": {key: _rates(value) for key, value in sorted(by_method.items())},
    }


def rejected_pairs(rows: list[dict[str, Any]], drop_ties: bool) -> set[tuple[str, int]]:
    """(source, row) of pairs most annotators rejected: preferred the other side or found both bad
    (and, with `drop_ties`, called a tie)."""
    votes: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for row in rows:
        votes[(row["source"], row["row"])][row["verdict"]] += 1
    out = set()
    for key, counts in votes.items():
        against = counts["disagree"] + counts["both_bad"] + (counts["tie"] if drop_ties else 0)
        support = counts["agree"] + (0 if drop_ties else counts["tie"])
        if against > support:
            out.add(key)
    return out


def check_rows_match(rows: list[dict[str, Any]], pairs: list[Pair], data_dir: Path) -> None:
    """Every answered record must be a pair of `data_dir` as it is now."""
    ids = {(pair.source, pair.row): pair.id for pair in pairs}
    for row in rows:
        if ids.get((row["source"], row["row"])) != row["record_id"]:
            raise DataError(
                f"{data_dir}: Argilla record {row['record_id']} ({row['source']} row {row['row']}) "
                "does not match this data (pushed from another folder, or the data changed)"
            )


def write_answers(folder: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    """`responses.jsonl` (one answer a line) and `agreement.json` into `folder`."""
    with (folder / "responses.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "agreement.json").write_text(json.dumps(summary, indent=2) + "\n")


def filter_pairs(
    found: list[GeneratedData],
    data_dir: Path,
    drop: set[tuple[str, int]],
    folder: Path,
    dataset_name: str,
) -> dict[str, int]:
    """Write every pair split minus the dropped rows into `folder` (same layout as `data_dir`,
    with each run's `run.json` and `stats.json`); returns rows kept per split folder."""
    from ifplay.outputs import save_dataset

    kept: dict[str, int] = {}
    for data in found:
        root_rel = data.root.resolve().relative_to(data_dir.resolve())
        target_root = folder / root_rel
        target_root.mkdir(parents=True, exist_ok=True)
        run = dict(data.run)
        run["splits"] = {}
        for split in pair_splits(data):
            source = data.relative(data_dir, split)
            ds = data.load(split)
            keep = [i for i in range(len(ds)) if (source, i) not in drop]
            filtered = ds.select(keep)
            target = folder / source
            target.mkdir(parents=True, exist_ok=True)
            save_dataset(filtered, target)
            kept[source] = len(filtered)
            run["splits"][split] = len(filtered)
        run["annotations"] = {"argilla_dataset": dataset_name, "source": str(data.root)}
        (target_root / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        if (data.root / "stats.json").is_file():
            shutil.copyfile(data.root / "stats.json", target_root / "stats.json")
    return kept
