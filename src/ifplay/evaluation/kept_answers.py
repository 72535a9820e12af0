"""Answers kept across a killed or stopped eval: the rerun generates only what is missing.

`run_eval` wraps the lighteval model's `greedy_until` with `keep_answers`. The prompts of a call are
cut into groups at fixed places (`group_size` prompts, in the order lighteval gives them, which is
the same on every run); each group is generated in one call, and its answers are appended as one JSON
line to `answers.jsonl` in the keep folder, `.<output>.answers` beside the eval's output folder. A
rerun reads the groups that were finished and generates the others, exactly as an uninterrupted run
would have (the same groups, so the same batches: greedy answers come out the same). A group whose
line was cut short by the kill is generated again. The keep folder records a fingerprint of what was
being evaluated (model files, sampling, token caps, tasks, limit); a folder left by a different eval
is cleared with a warning. The keep folder is removed once the eval's results are written.

The vLLM server's answers do not depend on which requests run together (its model exposes
`answers_as_completed`): each is recorded as it arrives, and all prompts stay in flight at once.
Past the deadline, if any, `StoppedOnBudget` is raised after the next group (or answer) is kept:
every run makes progress, however short its budget.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ifplay.budget import StoppedOnBudget

ANSWERS_FILE = "answers.jsonl"
FINGERPRINT_FILE = "fingerprint.json"
PROGRESS_FILE = "progress.json"


def keep_folder(output_dir: Path) -> Path:
    """Where the answers of an unfinished eval into `output_dir` are kept."""
    return output_dir.parent / f".{output_dir.name}.answers"


def model_fingerprint(path: str) -> dict[str, Any]:
    """What identifies a checkpoint's weights: each file's name, size and modification time (a
    retrained model saved at the same path differs), or the name of a Hub model."""
    folder = Path(path)
    if not folder.is_dir():
        return {"name": path}
    return {
        file.name: [file.stat().st_size, int(file.stat().st_mtime)]
        for file in sorted(folder.iterdir())
        if file.is_file()
    }


def doc_key(doc: Any) -> str:
    """A prompt's identity within an eval: task, row id and a hash of the prompt text."""
    text = json.dumps([doc.task_name, str(doc.id), doc.query], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class AnswerBook:
    """The kept answers of one eval (see the module doc). `groups` maps a group's first key to the
    answers of its prompts, by key."""

    def __init__(self, folder: Path, fingerprint: dict[str, Any]) -> None:
        self.folder = folder
        digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
        record = folder / FINGERPRINT_FILE
        if record.is_file() and json.loads(record.read_text()).get("digest") != digest:
            print(
                f"warning: {folder}: answers of a different eval (model, settings or tasks "
                "changed): cleared",
                file=sys.stderr,
                flush=True,
            )
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"digest": digest, **fingerprint}, default=str) + "\n")
        self.answers: dict[str, dict[str, Any]] = {}
        self.total = 0
        path = folder / ANSWERS_FILE
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    group = json.loads(line)
                except ValueError:  # the line a kill cut short: that group is generated again
                    continue
                self.answers.update(zip(group["keys"], group["responses"], strict=True))

    def finished(self, keys: Sequence[str]) -> bool:
        return all(key in self.answers for key in keys)

    def add(self, keys: Sequence[str], responses: Sequence[Any]) -> None:
        """Append one finished group (one line, flushed to disk) and remember it."""
        from ifplay.evaluation.results import to_jsonable

        dumped = [to_jsonable(dataclasses.asdict(r)) for r in responses]
        line = json.dumps({"keys": list(keys), "responses": dumped}, ensure_ascii=False)
        with (self.folder / ANSWERS_FILE).open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.answers.update(zip(keys, dumped, strict=True))

    def response(self, key: str) -> Any:
        from lighteval.models.model_output import ModelResponse

        return ModelResponse(**self.answers[key])

    def write_progress(self, done: int) -> None:
        tmp = self.folder / f".{PROGRESS_FILE}.tmp"
        tmp.write_text(json.dumps({"prompts": done, "total": self.total}) + "\n")
        tmp.replace(self.folder / PROGRESS_FILE)


def keep_answers(
    model: Any, book: AnswerBook, group_size: int, deadline: float | None = None
) -> None:
    """Make `model.greedy_until` skip the answers `book` holds and record new ones as they finish.

    A model with `answers_as_completed(docs)` (the vLLM server's, whose requests are independent) has
    each answer recorded as it arrives; any other generates fixed groups of `group_size` prompts,
    longest prompts first, each recorded when done (see the module doc).
    """
    generate: Callable[[list[Any]], list[Any]] = model.greedy_until
    streamed = getattr(model, "answers_as_completed", None)

    def greedy_until(docs: list[Any]) -> list[Any]:
        keys = [doc_key(doc) for doc in docs]
        book.total += len(docs)
        done = sum(key in book.answers for key in keys)
        with progress_bar(len(docs), done) as bar:
            generate_missing(docs, keys, done, bar)
        return [book.response(key) for key in keys]

    def generate_missing(docs: list[Any], keys: list[str], done: int, bar: Any) -> None:

        def record(indices: list[int], responses: list[Any]) -> None:
            """Keep finished answers; past the deadline with answers still missing, stop."""
            nonlocal done
            book.add([keys[i] for i in indices], responses)
            done += len(indices)
            book.write_progress(done)
            bar.update(len(indices))
            if deadline is not None and time.time() >= deadline and done < book.total:
                raise StoppedOnBudget(
                    f"eval stopped on its time budget with {done}/{book.total} answers kept in "
                    f"{book.folder}: rerun the same command to continue"
                )

        if streamed is not None:
            todo = [i for i, key in enumerate(keys) if key not in book.answers]
            for position, response in streamed([docs[i] for i in todo]):
                record([todo[position]], [response])
        else:
            order = sorted(range(len(docs)), key=lambda i: (-len(str(docs[i].query)), keys[i]))
            for start in range(0, len(order), group_size):
                group = order[start : start + group_size]
                if not book.finished([keys[i] for i in group]):
                    record(group, generate([docs[i] for i in group]))

    model.greedy_until = greedy_until


def progress_bar(total: int, done: int) -> Any:
    """A progress bar with an ETA over an eval's answers (on a terminal only)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=done, desc="answers", unit="prompt", disable=not sys.stderr.isatty()
    )
