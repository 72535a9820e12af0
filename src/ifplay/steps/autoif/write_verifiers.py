"""Verifier synthesis: the supervisor writes `evaluate(response) -> bool` functions and test cases."""

import json
from typing import Any

from distilabel.typing import ChatType

from ifplay.parsing import verifier_reply
from ifplay.steps.base import GenerativeStep, is_active
from ifplay.steps.templating import render_template


class SynthesizeVerifiers(GenerativeStep):
    """Asks for `num_generations` candidate functions (each with test cases) per instruction.

    Library constraints already carry their reference checker and are not sent. Replies that are not
    a JSON object with a `def evaluate` function are counted in `verifier_unparseable` and dropped.

    Input columns: instruction, origin. Output columns: functions (candidate sources), cases_json
    (all test cases, JSON), verifier_replies, verifier_unparseable.
    """

    @property
    def inputs(self) -> list[str]:
        return ["instruction", "origin"]

    @property
    def outputs(self) -> list[str]:
        return ["functions", "cases_json", "verifier_replies", "verifier_unparseable"]

    def wants(self, row: dict[str, Any]) -> bool:
        return is_active(row) and row["origin"] != "library"

    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002
        content = render_template("verifiers", instruction=input["instruction"])
        return [{"role": "user", "content": content}]

    def parse(self, row: dict[str, Any], generations: list[str | None]) -> dict[str, Any]:
        functions: list[str] = []
        cases: list[dict[str, Any]] = []
        unparseable = 0
        for reply in generations:
            parsed = verifier_reply(reply)
            if parsed is None:
                unparseable += 1
                continue
            source, new_cases = parsed
            if source not in functions:
                functions.append(source)
            cases.extend(c for c in new_cases if c not in cases)
        return {
            "functions": functions,
            "cases_json": json.dumps(cases),
            "verifier_replies": len(generations),
            "verifier_unparseable": unparseable,
        }

    def empty(self) -> dict[str, Any]:
        return {"verifier_replies": 0, "verifier_unparseable": 0}
