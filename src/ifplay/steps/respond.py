"""Response sampling: the policy model answers each prompt `num_generations` times."""

from typing import Any

from distilabel.typing import ChatType

from ifplay.steps.base import GenerativeStep


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
