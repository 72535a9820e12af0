"""Sandbox pool behaviour: order, spreading, recovery after timeouts and deaths, concurrency."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from ifplay.sandbox import CallResult, Sandbox, SandboxError, Status

MODULO = "def evaluate(response):\n    return int(response) % {k} == 0\n"
BY_INPUT = (
    "import faulthandler, os, time\n"
    "def evaluate(response):\n"
    "    if response == 'slow':\n"
    "        time.sleep(30)\n"
    "    if response == 'die':\n"
    "        os._exit(9)\n"
    "    if response == 'segv':\n"
    "        faulthandler._read_null()\n"
    "    if response == 'boom':\n"
    "        raise KeyError(response)\n"
    "    return response == 'yes'\n"
)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, timeout_s=1.0, memory_mb=256, max_batch=8) as sb:
        yield sb


def test_run_many_keeps_order_across_workers(sandbox: Sandbox) -> None:
    jobs = [(MODULO.format(k=k), [str(i) for i in range(k * 7)]) for k in range(1, 12)]
    results = sandbox.run_many(jobs)
    for (_, inputs), k, got in zip(jobs, range(1, 12), results, strict=True):
        assert [r.value for r in got] == [int(x) % k == 0 for x in inputs]


def test_one_function_is_split_over_workers_in_order(sandbox: Sandbox) -> None:
    inputs = [str(i) for i in range(100)]
    results = sandbox.run(MODULO.format(k=3), inputs)
    assert [r.value for r in results] == [i % 3 == 0 for i in range(100)]


def test_timeout_and_deaths_affect_only_their_call(sandbox: Sandbox) -> None:
    inputs = ["yes", "slow", "no", "die", "yes", "segv", "boom", "yes"]
    results = sandbox.run(BY_INPUT, inputs)
    statuses = [r.status for r in results]
    assert statuses == [
        Status.PASSED,
        Status.TIMEOUT,
        Status.FAILED,
        Status.KILLED,
        Status.PASSED,
        Status.KILLED,
        Status.ERROR,
        Status.PASSED,
    ]
    assert "wall-clock" in results[1].reason
    assert "code 9" in results[3].reason
    assert "SIGSEGV" in results[5].reason
    assert results[6].reason.startswith("KeyError")


def test_compile_errors_are_reported_without_running(sandbox: Sandbox) -> None:
    (results,) = sandbox.run_many([("def evaluate(:\n", ["a", "b"])])
    assert [r.status for r in results] == [Status.ERROR, Status.ERROR]
    assert "syntax error" in results[0].reason


def test_empty_inputs_and_jobs(sandbox: Sandbox) -> None:
    assert sandbox.run(MODULO.format(k=2), []) == []
    assert sandbox.run_many([]) == []


def test_inputs_must_be_strings(sandbox: Sandbox) -> None:
    with pytest.raises(TypeError):
        sandbox.run(MODULO.format(k=2), [1, 2])  # type: ignore[list-item]


def test_concurrent_callers_get_their_own_results(sandbox: Sandbox) -> None:
    outcomes: dict[int, list[CallResult]] = {}

    def call(k: int) -> None:
        outcomes[k] = sandbox.run(MODULO.format(k=k), [str(i) for i in range(30)])

    threads = [threading.Thread(target=call, args=(k,)) for k in range(2, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, results in outcomes.items():
        assert [r.value for r in results] == [i % k == 0 for i in range(30)]


def test_worker_killed_from_outside_is_replaced() -> None:
    with Sandbox(workers=1, timeout_s=5.0) as sb:
        slow = "import time\ndef evaluate(response):\n    time.sleep(0.5)\n    return True\n"
        (pid,) = sb.worker_pids
        killer = threading.Timer(0.2, lambda: os.killpg(pid, signal.SIGKILL))
        killer.start()
        results = sb.run(slow, ["a", "b"])
        killer.join()
        assert [r.status for r in results] == [Status.KILLED, Status.KILLED]
        assert "worker died" in results[0].reason
        assert [r.value for r in sb.run(MODULO.format(k=2), ["2", "3"])] == [True, False]
        assert sb.worker_pids[0] not in (None, pid)


def test_closed_sandbox_refuses_work() -> None:
    sb = Sandbox(workers=1)
    pids = sb.worker_pids
    sb.close()
    assert sb.closed
    with pytest.raises(SandboxError):
        sb.run(MODULO.format(k=2), ["2"])
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        Sandbox(workers=0)
