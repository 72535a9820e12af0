"""Run untrusted, model-written verification code (`def evaluate(response) -> bool`) safely and fast.

    from ifplay.sandbox import Sandbox, check_source
    with Sandbox(workers=2, timeout_s=2.0, memory_mb=512) as sb:
        results = sb.run(source, responses)              # list[CallResult], in order
        batches = sb.run_many([(source, responses), ...])

Nothing else in ifplay executes generated code. See docs/sandbox.md for the layers and threat model;
`python -m ifplay.sandbox --doctor` shows which layers are active on this machine.
"""

from .compile_check import CompileCheck, check_source
from .isolation import IsolationPolicy, IsolationReport, SandboxUnavailable, describe_isolation
from .pool import Sandbox, SandboxError
from .results import CallResult, Status

__all__ = [
    "CallResult",
    "CompileCheck",
    "IsolationPolicy",
    "IsolationReport",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "Status",
    "check_source",
    "describe_isolation",
]
