"""Cross-validation by execution: keep test cases and functions that agree with each other."""

import json
from dataclasses import dataclass
from typing import Any

from distilabel.steps import StepInput
from distilabel.typing import StepOutput
from pydantic import Field

from ifplay.steps.base import DROP, is_active
from ifplay.steps.sandboxed import SandboxedStep


@dataclass(frozen=True)
class CrossValidation:
    """What survived for one instruction, and why the rest did not."""

    functions: list[str]
    cases: list[dict[str, Any]]
    not_compiling: int
    cases_without_agreement: int
    below_accuracy: int


def cross_validate(
    sandbox: Any, functions: list[str], cases: list[dict[str, Any]], min_accuracy: float
) -> CrossValidation:
    """Compile-check, run every function on every case, and filter both.

    A case is kept when at least one function returns its expected output; a function is kept when
    its accuracy on the kept cases is >= `min_accuracy` (errors and timeouts count as wrong).
    """
    from ifplay.sandbox import check_source
    from ifplay.verification import verdict_matrix

    compiled = [source for source in functions if check_source(source).ok]
    inputs = [case["input"] for case in cases]
    matrix = verdict_matrix(sandbox, compiled, inputs)
    kept_cases = [
        i for i, case in enumerate(cases) if any(row[i] is case["output"] for row in matrix)
    ]
    kept_functions = []
    for source, row in zip(compiled, matrix, strict=True):
        if kept_cases:
            right = sum(1 for i in kept_cases if row[i] is cases[i]["output"])
            if right / len(kept_cases) >= min_accuracy:
                kept_functions.append(source)
    return CrossValidation(
        functions=kept_functions,
        cases=[cases[i] for i in kept_cases],
        not_compiling=len(functions) - len(compiled),
        cases_without_agreement=len(cases) - len(kept_cases),
        below_accuracy=len(compiled) - len(kept_functions) if kept_cases else len(compiled),
    )


class CrossValidateVerifiers(SandboxedStep):
    """Runs candidate verifiers against their test cases in the sandbox; drops unverified instructions.

    Library constraints pass through with their reference checker.
    Input columns: functions, cases_json, origin. Output columns: functions and cases_json (kept
    ones), crossval_not_compiling, crossval_below_accuracy, drop.
    """

    min_accuracy: float = Field(0.8, ge=0, le=1)
    min_functions: int = Field(1, ge=1)

    @property
    def inputs(self) -> list[str]:
        return ["functions", "cases_json", "origin"]

    @property
    def outputs(self) -> list[str]:
        return [
            "functions",
            "cases_json",
            "crossval_not_compiling",
            "crossval_below_accuracy",
            DROP,
        ]

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        rows = []
        for row in inputs:
            row = {**row, "crossval_not_compiling": 0, "crossval_below_accuracy": 0}
            if is_active(row) and row["origin"] != "library":
                result = cross_validate(
                    self.sandbox, row["functions"], json.loads(row["cases_json"]), self.min_accuracy
                )
                row.update(
                    functions=result.functions,
                    cases_json=json.dumps(result.cases),
                    crossval_not_compiling=result.not_compiling,
                    crossval_below_accuracy=result.below_accuracy,
                )
                if len(result.functions) < self.min_functions:
                    parsed_any = row.get("verifier_replies", 0) > row.get("verifier_unparseable", 0)
                    row[DROP] = (
                        "verifiers failed cross-validation"
                        if parsed_any
                        else "no parseable verifier"
                    )
            rows.append(row)
        yield rows
