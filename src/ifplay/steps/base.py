"""`GenerativeStep`: the base of ifplay's LLM steps.

A distilabel `Task` that (1) only sends the rows it `wants` to the LLM (rows already dropped by an
earlier stage, or rows that need no LLM, pass through untouched with empty outputs), (2) asks for
`num_generations` samples per row in one batched engine call, and (3) hands all samples of a row to
`parse`, which returns the new columns. Rows are never removed here: stages mark a row with a `drop`
reason instead, so every stage's kept/dropped counts can be read off the final dataset.

When a batch's engine call raises (a dead server, a crash), distilabel catches it and fills that
batch's outputs with None. `MarksEngineFailures` also names the failed step in the row's
`engine_failed` column (None on every row that was answered), so a pipeline can tell a failure from
data and refuse to keep it (`pipelines.base.run_checkpointed`).
"""

from abc import abstractmethod
from typing import Any

from distilabel.steps import StepInput
from distilabel.steps.tasks import Task
from distilabel.typing import ChatType, StepOutput

DROP = "drop"
ENGINE_FAILED = "engine_failed"


class MarksEngineFailures:
    """Mixin for a distilabel `Task`: every output row carries `engine_failed`: None once answered,
    the step's name when its batch raised (earlier failures are kept)."""

    name: str

    def impute_step_outputs(self, step_output: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = super().impute_step_outputs(step_output)  # type: ignore[misc]
        for row in rows:
            row[ENGINE_FAILED] = row.get(ENGINE_FAILED) or self.name
            # distilabel's metadata here is a dict where answered rows may hold a list of them,
            # which Arrow refuses to mix: the chunk is refused anyway, so the metadata goes.
            if "distilabel_metadata" in row:
                row["distilabel_metadata"] = None
        return rows

    def process_applying_mappings(self, *args: list[dict[str, Any]]) -> StepOutput:
        for rows in super().process_applying_mappings(*args):  # type: ignore[misc]
            yield [{**row, ENGINE_FAILED: row.get(ENGINE_FAILED)} for row in rows]


def is_active(row: dict[str, Any]) -> bool:
    """True unless an earlier stage dropped the row."""
    return not row.get(DROP)


class GenerativeStep(MarksEngineFailures, Task):
    """Base for LLM-backed stages; subclasses define `format_input`, `parse` and the columns."""

    @abstractmethod
    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002 (distilabel's name)
        """The chat messages sent to the LLM for one row."""

    @abstractmethod
    def parse(self, row: dict[str, Any], generations: list[str | None]) -> dict[str, Any]:
        """New column values for one row, given its `num_generations` raw generations."""

    def empty(self) -> dict[str, Any]:
        """Column values for rows that are not sent to the LLM (default: all outputs None)."""
        return {column: None for column in self.get_outputs()}

    def wants(self, row: dict[str, Any]) -> bool:
        """Whether `row` goes to the LLM (default: every row not dropped yet)."""
        return is_active(row)

    def format_output(self, output: str | None, input: dict[str, Any] | None = None) -> dict:  # noqa: A002
        return {}  # unused: `process` calls `parse` with all generations of a row at once

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        chosen = [i for i, row in enumerate(inputs) if self.wants(row)]
        outputs: list[Any] = []
        if chosen:
            outputs = self.llm.generate_outputs(
                inputs=[self.format_input(inputs[i]) for i in chosen],
                num_generations=self.num_generations,
                **self.llm.get_generation_kwargs(),
            )
        by_row = dict(zip(chosen, outputs, strict=True))
        rows = []
        for index, row in enumerate(inputs):
            if index in by_row:
                new = self.parse(row, list(by_row[index].get("generations") or []))
            else:
                new = self.empty()
            rows.append({**row, **new})
        yield rows
