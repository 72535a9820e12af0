"""What one sandboxed call returns: a `Status` and a `CallResult`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Outcome of one `evaluate(response)` call."""

    PASSED = "passed"  # returned exactly True
    FAILED = "failed"  # returned exactly False
    ERROR = "error"  # raised, returned a non-bool, did not compile, or was blocked by the sandbox
    TIMEOUT = (
        "timeout"  # ran past the wall-clock (or CPU) limit; its process was killed and replaced
    )
    KILLED = "killed"  # its process died: os._exit, memory limit, crash, seccomp, worker death


@dataclass(frozen=True, slots=True)
class CallResult:
    """One call's outcome: `status`, a short `reason` (empty when it passed or failed), `value`
    (the bool for passed/failed, else None) and `output` (captured stdout+stderr, capped)."""

    status: Status
    reason: str = ""
    value: bool | None = None
    output: str = ""

    @property
    def ok(self) -> bool:
        """True when the function ran to completion and returned a bool."""
        return self.status in (Status.PASSED, Status.FAILED)


_BY_LETTER = {
    "p": Status.PASSED,
    "f": Status.FAILED,
    "e": Status.ERROR,
    "t": Status.TIMEOUT,
    "k": Status.KILLED,
}


_PLAIN = {
    "p": CallResult(Status.PASSED, "", True),
    "f": CallResult(Status.FAILED, "", False),
    "e": CallResult(Status.ERROR),
    "t": CallResult(Status.TIMEOUT),
    "k": CallResult(Status.KILLED),
}


def from_wire(item: object) -> CallResult:
    """A CallResult from one worker reply entry, `letter` or `[letter, reason, output]`; distrusts
    its shape. Results without texts are shared (CallResult is immutable)."""
    if isinstance(item, str) and item in _PLAIN:
        return _PLAIN[item]
    if not (isinstance(item, list) and len(item) == 3 and item[0] in _BY_LETTER):
        return CallResult(Status.KILLED, "malformed result from the sandbox worker")
    letter, reason, output = item
    status = _BY_LETTER[letter]
    value = True if status is Status.PASSED else False if status is Status.FAILED else None
    return CallResult(status, str(reason)[:300], value, str(output)[:1000])
