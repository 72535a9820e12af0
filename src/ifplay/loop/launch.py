"""Train a loop stage through `accelerate launch` (DDP, DeepSpeed ZeRO-3): `ifplay train` per rank.

The launcher is a child process of the loop; its stderr passes through, and when it fails the cause
found there becomes the error. The main rank writes `train_result.json` into the model folder, as
in-process training does.
"""

import io
import re
import shlex
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

from ifplay.errors import IfplayError
from ifplay.loop.config import LaunchSpec, resolve_relative
from ifplay.training.settings import setting_options

ACCELERATE_LAUNCH = [sys.executable, "-m", "accelerate.commands.launch"]  # this environment's
KEPT_LINES = 200  # the launcher's last stderr lines, searched when it fails
IFPLAY_ERROR = re.compile(r"ifplay: error: (.*)")  # how `ifplay train` reports a user error
# a traceback's last line; torch prefixes a rank's traceback lines with `[rank<N>]: `
EXCEPTION = re.compile(r"(?:\[rank\d+\]: )?(\w[\w.]*(?:Error|Exception): .*)")
TAIL_LINES = 3  # stderr lines quoted when nothing above is found


def resolved_launch(launch: LaunchSpec | None, base: Path) -> LaunchSpec | None:
    """`launch` with its accelerate config found as `load_loop` checked it (relative to `base`)."""
    if launch is None:
        return None
    config = resolve_relative(launch.accelerate_config, base)
    return launch.model_copy(update={"accelerate_config": str(config)})


def launcher_text(launch: LaunchSpec) -> str:
    """`accelerate launch` with the options `launch` sets, as a shell would show it."""
    return shlex.join(["accelerate", "launch", *launch.options()])


def launch_command(
    launch: LaunchSpec,
    recipe_file: Path,
    dataset: Path,
    model: str,
    output: Path,
    overrides: dict[str, Any],
) -> list[str]:
    """The command that trains `model` on `dataset` into `output` on every rank of `launch`."""
    train = ["train", str(recipe_file), "--dataset", str(dataset), "--model", model]
    train += ["--output", str(output), "--force", *setting_options(overrides)]
    return [*ACCELERATE_LAUNCH, *launch.options(), "-m", "ifplay.cli", *train]


def run_passing_stderr(command: list[str], what: str) -> None:
    """Run `command`, copying its stderr through; a non-zero exit raises a one-line `IfplayError`
    naming `what` and the `failure_cause` found in stderr."""
    lines: deque[str] = deque(maxlen=KEPT_LINES)
    with subprocess.Popen(command, stderr=subprocess.PIPE) as process:
        assert process.stderr is not None
        # newline="": progress bars' carriage returns pass through untranslated
        for line in io.TextIOWrapper(process.stderr, errors="replace", newline=""):
            sys.stderr.write(line)
            if line.strip():
                lines.append(line.strip())
    if process.returncode != 0:
        cause = failure_cause(list(lines))
        raise IfplayError(f"{what}: exited with code {process.returncode}: {cause}")


def failure_cause(lines: list[str]) -> str:
    """What made a launch fail, from its stderr lines: the first ifplay error a rank reported, else
    the first exception a rank raised, else the last lines (the launcher's own report)."""
    for pattern in (IFPLAY_ERROR, EXCEPTION):
        for line in lines:
            if found := pattern.match(line):
                return found.group(1)
    return " | ".join(lines[-TAIL_LINES:])
