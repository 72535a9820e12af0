"""Response sampling: the policy model answers each prompt `num_generations` times.

`SampleResponses` is ifplay's own step (prompt in, `responses` out); `PlainTextGeneration` is
distilabel's `TextGeneration` (system prompt, grouped generations, token statistics) for `kind:
generate`. Both mark a batch whose engine call failed (`steps.base.MarksEngineFailures`).
"""

from typing import Any

from distilabel.steps.tasks import TextGeneration
from distilabel.typing import ChatType

from ifplay.steps.base import GenerativeStep, MarksEngineFailures


class SampleResponses(GenerativeStep):
    """Input columns: prompt. Output columns: responses (list of strings; a failed sample is "")."""

    @property
    def inputs(self) -> list[str]:
        return ["prompt"]

    @property
    def outputs(self) -> list[str]:
        return ["responses"]

    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002
        return [{"role": "user", "content": input["prompt"]}]

    def parse(self, row: dict[str, Any], generations: list[str | None]) -> dict[str, Any]:
        return {"responses": [g or "" for g in generations]}

    def empty(self) -> dict[str, Any]:
        return {"responses": []}


class PlainTextGeneration(MarksEngineFailures, TextGeneration):
    """distilabel's `TextGeneration`, whose failed batches carry `engine_failed`."""
