"""Time budgets: `--stop-after 2h30m` on `ifplay train`, `eval` and `loop`.

`parse_duration` reads the flag; `deadline_after` turns it into a `time.time()` deadline; work that
reaches its deadline finishes its current checkpoint interval and raises `StoppedOnBudget`, which the
command line reports in one line with exit code 75 (EX_TEMPFAIL): "stopped, rerun to continue", told
apart from a failure (exit 1 or 2).

Training and evaluation take the deadline as an argument (they run in their own processes); code
that checkpoints deep inside a pipeline (generation chunks) asks `check_deadline`, which reads the
process's deadline set by `set_deadline`.
"""

import argparse
import re
import time

from ifplay.errors import IfplayError

DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class StoppedOnBudget(Exception):
    """Work stopped cleanly because its time budget was spent; rerunning the same command continues
    it. The message says what is done."""

    exit_code = 75


def add_stop_after_argument(parser: argparse.ArgumentParser, kept: str) -> None:
    """Add `--stop-after DURATION` to a command whose finished work (`kept`) survives a stop."""
    parser.add_argument(
        "--stop-after",
        metavar="DURATION",
        help=f"time budget (90m, 2h, 1h30m): once it is spent, keep {kept} and stop (exit 75); "
        "rerun the same command to continue",
    )


def parse_duration(text: str, flag: str = "--stop-after") -> float:
    """Seconds in a duration such as `90m`, `2h`, `1h30m`, `45s` or a plain number of seconds.

    A malformed or zero duration raises `IfplayError` naming `flag`.
    """
    value = text.strip().lower()
    if value.replace(".", "", 1).isdigit():
        seconds = float(value)
    else:
        match = DURATION.match(value)
        if not value or match is None:
            raise IfplayError(f"{flag}: {text!r} is not a duration (examples: 90m, 2h, 1h30m, 45s)")
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = float(hours * 3600 + minutes * 60 + secs)
    if seconds <= 0:
        raise IfplayError(f"{flag}: must be longer than zero (got {text!r})")
    return seconds


def deadline_after(text: str | None, flag: str = "--stop-after") -> float | None:
    """The `time.time()` at which a budget given as `text` runs out (None: no budget)."""
    return None if text is None else time.time() + parse_duration(text, flag)


_process_deadline: float | None = None


def set_deadline(deadline: float | None) -> None:
    """Set (or clear, with None) this process's deadline, read by `check_deadline`."""
    global _process_deadline
    _process_deadline = deadline


def check_deadline(done: str) -> None:
    """Raise `StoppedOnBudget` saying `done` (what is finished and kept) once this process's
    deadline has passed; do nothing without one."""
    if _process_deadline is not None and time.time() >= _process_deadline:
        raise StoppedOnBudget(f"{done}: rerun the same command to continue")
