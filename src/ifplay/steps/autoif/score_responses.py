"""Execution-feedback scoring: run every response through its prompt's verifiers in the sandbox."""

from distilabel.steps import StepInput
from distilabel.typing import StepOutput

from ifplay.steps.base import is_active
from ifplay.steps.sandboxed import SandboxedStep


class ScoreResponses(SandboxedStep):
    """Input columns: responses, verifiers (one list of function sources per constraint).
    Output columns: pass_rates (per response: share of functions passed, min over constraints).
    """

    @property
    def inputs(self) -> list[str]:
        return ["responses", "verifiers"]

    @property
    def outputs(self) -> list[str]:
        return ["pass_rates"]

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        from ifplay.verification import pass_rates

        rows = []
        for row in inputs:
            rates = (
                pass_rates(self.sandbox, row["verifiers"], row["responses"])
                if is_active(row)
                else []
            )
            rows.append({**row, "pass_rates": rates})
        yield rows
