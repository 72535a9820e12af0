"""Run verifier functions over responses in the sandbox and read the verdicts.

The only bridge between ifplay's stages and `ifplay.sandbox`: generated code is never executed
anywhere else.
"""

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ifplay.cache import cache_dir
from ifplay.sandbox import IsolationPolicy, Sandbox, Status

# Third-party modules verifier code may import (the language family uses langdetect, which needs six).
VERIFIER_LIBRARIES = ("langdetect", "six")


def verifier_library_dir() -> Path:
    """A cache folder holding copies of VERIFIER_LIBRARIES, the only non-stdlib code the sandbox
    exposes (read-only) to generated verifiers; copied once from the installed packages."""
    target = cache_dir("sandbox-libs")
    for name in VERIFIER_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        if spec.submodule_search_locations:
            source = Path(list(spec.submodule_search_locations)[0])
            if not (target / name).is_dir():
                staging = target / f".{name}.partial"
                shutil.rmtree(staging, ignore_errors=True)
                shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__"))
                staging.rename(target / name)
        elif not (target / f"{name}.py").is_file():
            shutil.copyfile(spec.origin, target / f"{name}.py")
    return target


def open_sandbox(workers: int = 2, timeout_s: float = 2.0, memory_mb: int = 512) -> Sandbox:
    """The sandbox every ifplay stage uses for generated and library verifiers."""
    policy = IsolationPolicy(extra_read_paths=(str(verifier_library_dir()),))
    return Sandbox(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb, isolation=policy)


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
