"""`run_in_fresh_process`: result, exceptions and a dying child, in a real spawned process."""

import os
import signal

import pytest

from ifplay.errors import ConfigError, IfplayError
from ifplay.fresh_process import run_in_fresh_process


def _describe(value: int, *, scale: int = 1) -> dict[str, int]:
    import torch

    return {"pid": os.getpid(), "value": int(torch.tensor(value * scale).item())}


def _fail(message: str) -> None:
    raise ConfigError(message)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_returns_the_result_from_another_process() -> None:
    result = run_in_fresh_process(_describe, 7, scale=3)
    assert result["value"] == 21 and result["pid"] != os.getpid()


def test_reraises_the_childs_exception() -> None:
    with pytest.raises(ConfigError, match="recipe.yaml: beta: must be > 0"):
        run_in_fresh_process(_fail, "recipe.yaml: beta: must be > 0")


def test_a_killed_child_is_a_clear_error() -> None:
    with pytest.raises(IfplayError, match="_die: its process died before finishing"):
        run_in_fresh_process(_die)
