"""Run a torch-heavy function in a freshly spawned Python process and return its result.

distilabel runs its steps in *forked* worker processes. A process that has already run torch
(its OpenMP and intra-op thread pools are live) cannot fork safely: the forked worker dies or
hangs on its first matrix multiply, and distilabel then waits forever. So every stage that runs
torch in a process that may later run a distilabel pipeline (the loop's training and eval, the
embedded model's conversion, a benchmark's raw-engine baseline) goes through
`run_in_fresh_process`, which keeps the calling process free of torch threads.

The child is spawned (never forked), inherits the environment and the standard streams, and lives
in the caller's process group, so killing the caller's group kills it too. Killing the caller alone
(`kill PID`, SIGKILL, an OOM kill) also ends the child within about a second: otherwise it would run
on as an orphan, holding the CPU and writing into a stage folder that a rerun is redoing.
"""

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ifplay.errors import IfplayError

Result = TypeVar("Result")


def run_in_fresh_process(function: Callable[..., Result], /, *args: Any, **kwargs: Any) -> Result:
    """`function(*args, **kwargs)` in a new spawned process; returns its (picklable) result.

    `function` must be importable at module level. An exception raised in the child is re-raised
    here; a child that dies without one (killed, out of memory) raises `IfplayError`.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        try:
            return pool.submit(function, *args, **kwargs).result()
        except BrokenProcessPool as error:
            name = getattr(function, "__qualname__", repr(function))
            raise IfplayError(f"{name}: its process died before finishing ({error})") from None


def die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """In a child process: SIGKILL this process as soon as `parent_pid` is no longer its parent
    (the parent died and the child was re-parented). Watches from a daemon thread."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="ifplay-die-with-parent", daemon=True).start()
