"""`SandboxedStep`: a distilabel Step that owns a sandbox pool for the life of its worker process."""

from typing import Any

from distilabel.steps import Step
from pydantic import Field, PrivateAttr

from ifplay.config import Schema


class SandboxSettings(Schema):
    """YAML settings of the verifier sandbox a stage uses (`step_kwargs()` feeds a SandboxedStep)."""

    workers: int = Field(2, ge=1, description="Sandbox worker processes.")
    timeout_s: float = Field(2.0, gt=0, description="Wall-clock limit per verifier call.")
    memory_mb: int = Field(512, ge=64)

    def step_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a `SandboxedStep` subclass."""
        return {
            "sandbox_workers": self.workers,
            "sandbox_timeout_s": self.timeout_s,
            "sandbox_memory_mb": self.memory_mb,
        }


class SandboxedStep(Step):
    """Starts the verifier sandbox (`ifplay.verification.open_sandbox`) on load and closes it on unload; subclasses use `self.sandbox`."""

    sandbox_workers: int = Field(2, ge=1)
    sandbox_timeout_s: float = Field(2.0, gt=0)
    sandbox_memory_mb: int = Field(512, ge=64)

    _sandbox: Any = PrivateAttr(None)

    def load(self) -> None:
        from ifplay.verification import open_sandbox

        super().load()
        self._sandbox = open_sandbox(
            self.sandbox_workers, self.sandbox_timeout_s, self.sandbox_memory_mb
        )
        self._sandbox.__enter__()

    def unload(self) -> None:
        if self._sandbox is not None:
            self._sandbox.__exit__(None, None, None)
            self._sandbox = None
        super().unload()

    @property
    def sandbox(self) -> Any:
        return self._sandbox
