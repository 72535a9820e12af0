"""Run a torch-heavy function in a freshly spawned Python process and return its result.

distilabel runs its steps in *forked* worker processes. A process that has already run torch
(its OpenMP and intra-op thread pools are live) cannot fork safely: the forked worker dies or
hangs on its first matrix multiply, and distilabel then waits forever. So every stage that runs
torch in a process that may later run a distilabel pipeline (the loop's training and eval, the
embedded model's conversion, a benchmark's raw-engine baseline) goes through
`run_in_fresh_process`, which keeps the calling process free of torch threads.

The child is spawned (never forked), inherits the environment and the standard streams, and lives
in the caller's process group, so killing the caller's group kills it too.
"""

import multiprocessing
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
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(function, *args, **kwargs).result()
        except BrokenProcessPool as error:
            name = getattr(function, "__qualname__", repr(function))
            raise IfplayError(f"{name}: its process died before finishing ({error})") from None
