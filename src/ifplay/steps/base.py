"""`GenerativeStep`: the base of ifplay's LLM steps.

A distilabel `Task` that (1) only sends the rows it `wants` to the LLM (rows already dropped by an
earlier stage, or rows that need no LLM, pass through untouched with empty outputs), (2) asks for
`num_generations` samples per row in one batched engine call, and (3) hands all samples of a row to
`parse`, which returns the new columns. Rows are never removed here: stages mark a row with a `drop`
reason instead, so every stage's kept/dropped counts can be read off the final dataset.
"""

from abc import abstractmethod
from typing import Any

from distilabel.steps import StepInput
from distilabel.steps.tasks import Task
from distilabel.typing import ChatType, StepOutput

DROP = "drop"


def is_active(row: dict[str, Any]) -> bool:
    """True unless an earlier stage dropped the row."""
    return not row.get(DROP)


class GenerativeStep(Task):
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
