"""`run_in_fresh_process`: result, exceptions and a dying child, in a real spawned process."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def _sleep_forever(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    while True:
        time.sleep(1)


PARENT = """
import sys
from ifplay.fresh_process import run_in_fresh_process
from test_fresh_process import _sleep_forever
run_in_fresh_process(_sleep_forever, sys.argv[1])
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_child_dies_when_its_parent_is_killed(tmp_path) -> None:
    """SIGKILL of the caller alone (not its process group) ends the fresh process too."""
    pid_file = tmp_path / "child.pid"
    tests, python_path = str(Path(__file__).parent), os.environ.get("PYTHONPATH")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(pid_file)],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests, python_path]))},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not pid_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        child = int(pid_file.read_text())
        assert _alive(child)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the fresh process outlived its killed parent"
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone when the test passed
            os.killpg(parent.pid, signal.SIGKILL)
