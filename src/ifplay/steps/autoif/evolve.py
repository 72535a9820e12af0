"""Instruction evolution (self-instruct): the supervisor rewrites seed constraints into new ones."""

from typing import Any

from distilabel.steps import Step, StepInput
from distilabel.typing import ChatType, StepOutput

from ifplay.parsing import one_line_instruction
from ifplay.steps.base import GenerativeStep, is_active
from ifplay.steps.templating import render_template


class EvolveInstructions(GenerativeStep):
    """Asks for `num_generations` new single verifiable constraints per seed marked `evolve`.

    Input columns: instruction, evolve. Output columns: rewrites (distinct parsed one-line
    constraints; empty for seeds not evolved).
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "evolve"]

    @property
    def outputs(self) -> list[str]:
        return ["rewrites"]

    def wants(self, row: dict[str, Any]) -> bool:
        return is_active(row) and bool(row.get("evolve"))

    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002
        return [
            {"role": "user", "content": render_template("evolve", instruction=input["instruction"])}
        ]

    def parse(self, row: dict[str, Any], generations: list[str | None]) -> dict[str, Any]:
        seen = {row["instruction"].casefold()}
        rewrites = []
        for reply in generations:
            text = one_line_instruction(reply)
            if text and text.casefold() not in seen:
                seen.add(text.casefold())
                rewrites.append(text)
        return {"rewrites": rewrites}

    def empty(self) -> dict[str, Any]:
        return {"rewrites": []}


class ExpandRewrites(Step):
    """Emits every seed row unchanged plus one new `origin: evolved` row per rewrite.

    Input columns: instruction, rewrites, and the instruction-row columns. Output columns: the same
    instruction-row columns (rewrites removed); evolved rows get no verifiers yet.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "rewrites"]

    @property
    def outputs(self) -> list[str]:
        return ["instruction", "origin", "parent"]

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        rows = []
        for row in inputs:
            base = {k: v for k, v in row.items() if k != "rewrites"}
            rows.append(base)
            for text in row.get("rewrites") or []:
                rows.append(
                    {
                        **base,
                        "instruction": text,
                        "origin": "evolved",
                        "parent": row["instruction"],
                        "family_id": "",
                        "kwargs_json": "",
                        "functions": [],
                        "cases_json": "[]",
                        "drop": "",
                        "evolve": False,
                    }
                )
        yield rows
