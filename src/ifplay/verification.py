"""Run verifier functions over responses in the sandbox and read the verdicts.

The only bridge between ifplay's stages and `ifplay.sandbox`: generated code is never executed
anywhere else.
"""

from collections.abc import Sequence
from typing import Any

from ifplay.sandbox import Sandbox, Status


def verdict_matrix(
    sandbox: Sandbox, functions: Sequence[str], inputs: Sequence[str]
) -> list[list[bool | None]]:
    """`matrix[f][i]`: True/False when function f passed/failed input i, None on error or timeout."""
    if not functions or not inputs:
        return [[] for _ in functions]
    batches = sandbox.run_many([(source, list(inputs)) for source in functions])
    return [[_verdict(result) for result in results] for results in batches]


def _verdict(result: Any) -> bool | None:
    if result.status == Status.PASSED:
        return True
    if result.status == Status.FAILED:
        return False
    return None


def pass_rates(
    sandbox: Sandbox, verifier_groups: Sequence[Sequence[str]], responses: Sequence[str]
) -> list[float]:
    """Per response, the share of functions passed, taken as the minimum over constraint groups.

    Each group holds the functions of one constraint; a response follows a multi-constraint prompt
    only as well as it follows its weakest constraint. Errors and timeouts count as not passed.
    """
    if not responses:
        return []
    flat = [source for group in verifier_groups for source in group]
    matrix = verdict_matrix(sandbox, flat, responses)
    rates = [1.0] * len(responses)
    row = 0
    for group in verifier_groups:
        if not group:
            continue
        for index in range(len(responses)):
            passed = sum(1 for f in range(row, row + len(group)) if matrix[f][index] is True)
            rates[index] = min(rates[index], passed / len(group))
        row += len(group)
    return rates
