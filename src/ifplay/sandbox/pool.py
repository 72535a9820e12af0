"""`Sandbox`: a pool of warm, isolated worker processes that run verification functions.

Each worker is one isolated process (see isolation.py) running `_worker.py`, owned by one thread of
this process. Work is cut into parts (one function x up to `max_batch` inputs) and parts into
requests: a request is what a worker runs in one fresh child process, either one part alone or
several parts whose functions may share a process (purity.py). Any idle worker takes the next
request, so `run_many` spreads functions over workers; results keep their order.

Failure handling, in order of how often it happens:
- a call raises, returns a non-bool, or is refused by the sandbox -> `error` for that call;
- a call overruns the wall-clock (or CPU) limit -> `timeout`; its process is killed, and the rest of
  the request runs in a fresh process;
- the process running the function dies (os._exit, memory limit, crash) -> `killed` for the call in
  flight (for every call of the function when it dies while being defined); the rest of the request
  runs in a fresh process;
- the worker itself dies or stops answering (it runs no generated code, so this takes an outside
  kill) -> `killed` for every call of the request it held; it is restarted for the next request.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .compile_check import check_source
from .isolation import (
    IsolationPolicy,
    IsolationReport,
    ResolvedIsolation,
    SandboxUnavailable,
    confirmed_report,
    launch_spec,
    probe_paths,
    resolve,
)
from .protocol import ProtocolError, encode, read_message, write_all
from .purity import is_shareable
from .results import CallResult, Status, from_wire

_START_TIMEOUT_S = 30.0
_STOP = object()


class SandboxError(RuntimeError):
    """The pool cannot serve: closed, or its workers cannot start."""


class _RequestFailed(Exception):
    """A whole request failed (worker died or cannot start); every call gets `status`."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class WorkerConfig:
    """Limits every worker applies to the processes that run generated code."""

    timeout_s: float
    memory_mb: int
    cpu_s: float
    fsize_mb: int = 8
    nofile: int = 64
    max_writes: int = 64

    def to_dict(self, iso: ResolvedIsolation, probe_paths: Sequence[str]) -> dict:
        """The config `_worker.py` reads from its argv (launch_spec adds `scratch`)."""
        return {
            "timeout_s": self.timeout_s,
            "memory_mb": self.memory_mb,
            "cpu_s": self.cpu_s,
            "fsize_mb": self.fsize_mb,
            "nofile": self.nofile,
            "max_writes": self.max_writes,
            "seccomp": iso.seccomp,
            "audit": iso.audit_hook,
            "rlimits": iso.rlimits,
            "read_roots": list(iso.read_roots) + ["/dev/null", "/dev/urandom", "/dev/zero"],
            "probe_paths": list(probe_paths),
            "import_paths": list(iso.import_paths),
        }


class _Batch:
    """Counts the requests of one `run_many` call still in flight."""

    def __init__(self, requests: int) -> None:
        self._left = requests
        self._lock = threading.Lock()
        self._done = threading.Event()
        if requests == 0:
            self._done.set()

    def request_done(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self._done.set()

    def wait(self) -> None:
        self._done.wait()


@dataclass
class _Part:
    """One function and a slice of its inputs; results land in `out[offset:]`."""

    source: str
    inputs: list[str]
    out: list[CallResult | None]
    offset: int


@dataclass
class _Request:
    """What one worker runs in one child process: a non-shareable part alone, or several parts
    whose functions may share a process (see purity.py)."""

    parts: list[_Part]
    batch: _Batch = field(repr=False)

    @property
    def calls(self) -> int:
        return sum(len(part.inputs) for part in self.parts)

    def deliver(self, results: list[list[CallResult]]) -> None:
        for part, part_results in zip(self.parts, results, strict=True):
            part.out[part.offset : part.offset + len(part_results)] = part_results
        self.batch.request_done()

    def fail(self, status: Status, reason: str) -> None:
        self.deliver([[CallResult(status, reason[:300])] * len(p.inputs) for p in self.parts])


class _Worker:
    """One isolated worker process and the thread that owns it (started, fed, restarted)."""

    _ids = itertools.count()

    def __init__(
        self, tasks: queue.SimpleQueue, iso: ResolvedIsolation, cfg: WorkerConfig, probes: list
    ) -> None:
        self.tasks = tasks
        self.iso = iso
        self.cfg = cfg
        self.probes = probes
        self.proc: subprocess.Popen | None = None
        self.scratch: str | None = None
        self.stderr = None
        self.hello: dict = {}
        self.start_error = ""
        self.started = threading.Event()
        self.restarts = -1
        self.worker_seconds = 0.0
        self._request_ids = itertools.count()
        self.thread = threading.Thread(
            target=self._serve, name=f"ifplay-sandbox-{next(self._ids)}", daemon=True
        )
        self.thread.start()

    # -- the owning thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        """Start the process (from this thread: the kernel ties --die-with-parent to it), then
        serve requests until told to stop."""
        try:
            self._start()
        except (OSError, ProtocolError, SandboxUnavailable) as exc:
            self.start_error = str(exc)
        self.started.set()
        while True:
            task = self.tasks.get()
            if task is _STOP:
                break
            try:
                task.deliver(self._execute(task))
            except _RequestFailed as failure:
                task.fail(failure.status, failure.reason)
            except Exception as exc:  # keep the pool alive whatever happens; report per call
                self._kill()
                task.fail(Status.KILLED, f"sandbox internal error: {type(exc).__name__}: {exc}")
        self._stop()

    def _start(self) -> None:
        self.restarts += 1
        self.scratch = tempfile.mkdtemp(prefix="ifplay-sandbox-")
        spec = launch_spec(self.iso, self.scratch, self.cfg.to_dict(self.iso, self.probes))
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            spec.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=True,
            bufsize=0,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        try:
            hello = read_message(self.proc.stdout.fileno(), time.monotonic() + _START_TIMEOUT_S)
        except ProtocolError as exc:
            detail = self._kill()
            raise ProtocolError(f"worker did not start: {exc}; {detail}") from exc
        if not hello.get("hello"):
            self._kill()
            raise ProtocolError("worker sent no hello")
        seccomp = hello.get("layers", {}).get("seccomp")
        if self.iso.seccomp and seccomp is not True:
            self._kill()
            raise SandboxUnavailable(f"seccomp could not be installed: {seccomp}")
        self.hello = hello

    def _execute(self, task: _Request) -> list[list[CallResult]]:
        """Results per part of `task`; raises _RequestFailed when the worker fails."""
        if self.proc is None or self.proc.poll() is not None:
            self._kill()
            try:
                self._start()
            except (OSError, ProtocolError, SandboxUnavailable) as exc:
                raise _RequestFailed(Status.ERROR, f"sandbox unavailable: {exc}") from exc
        request_id = next(self._request_ids)
        message = encode({"id": request_id, **_deduplicated(task.parts)})
        # Worst case the worker needs: every definition and every call runs into the timeout.
        steps = task.calls + len(task.parts)
        deadline = time.monotonic() + (self.cfg.timeout_s + 0.5) * steps + 10.0
        try:
            write_all(self.proc.stdin.fileno(), message, deadline)
            reply = read_message(self.proc.stdout.fileno(), deadline)
            results = reply.get("results")
            shapes = [len(part.inputs) for part in task.parts]
            if (
                reply.get("id") != request_id
                or not isinstance(results, list)
                or [len(r) if isinstance(r, list) else -1 for r in results] != shapes
            ):
                raise ProtocolError("reply does not match the request")
        except ProtocolError as exc:
            detail = self._kill()
            reason = f"sandbox worker died ({exc}); restarted. {detail}".strip()
            raise _RequestFailed(Status.KILLED, reason) from exc
        self.worker_seconds += float(reply.get("seconds", 0.0))
        return [[from_wire(item) for item in part] for part in results]

    def _kill(self) -> str:
        """Kill the worker process tree; returns the tail of its stderr, for reasons."""
        detail = ""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None
        if self.stderr is not None:
            self.stderr.seek(0)
            lines = self.stderr.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
            detail = lines[-1] if lines else ""
            self.stderr.close()
            self.stderr = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
        return detail

    def _stop(self) -> None:
        """Close the request pipe (the worker exits on EOF), then make sure it is gone."""
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._kill()


def _deduplicated(parts: list[_Part]) -> dict:
    """Request body with each distinct input text sent once: {"texts": [...], "jobs": [{"src",
    "inputs": [index into texts, ...]}, ...]} (AutoIF checks the same responses with several
    functions)."""
    index: dict[str, int] = {}
    jobs = [
        {"src": part.source, "inputs": [index.setdefault(x, len(index)) for x in part.inputs]}
        for part in parts
    ]
    return {"texts": list(index), "jobs": jobs}


def _shutdown(tasks: queue.SimpleQueue, workers: list[_Worker]) -> None:
    for _ in workers:
        tasks.put(_STOP)
    for worker in workers:
        worker.thread.join(timeout=10)


class Sandbox:
    """A pool of `workers` isolated processes running `evaluate(response) -> bool` functions.

    `timeout_s` is the wall-clock limit per call (and for defining the function), `memory_mb` the
    address-space limit of the process running the code, `cpu_s` its CPU-seconds limit per call
    (default: timeout_s + 1). `isolation` picks the layers (default: the strongest available).
    `share_processes=False` gives every function a process of its own even when purity.py finds it
    may share one (slower; see docs/sandbox.md). Use as a context manager, or call `close()`."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 2.0,
        memory_mb: int = 512,
        *,
        cpu_s: float | None = None,
        isolation: IsolationPolicy | None = None,
        max_batch: int = 64,
        share_processes: bool = True,
    ) -> None:
        if workers < 1 or timeout_s <= 0 or memory_mb < 32 or max_batch < 1:
            raise ValueError("need workers >= 1, timeout_s > 0, memory_mb >= 32, max_batch >= 1")
        self._iso = resolve(isolation or IsolationPolicy())
        self._cfg = WorkerConfig(timeout_s, memory_mb, cpu_s if cpu_s else timeout_s + 1.0)
        self._max_batch = max_batch
        self._share = share_processes
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        probes = probe_paths(self._iso.read_roots)
        self._workers = [_Worker(self._tasks, self._iso, self._cfg, probes) for _ in range(workers)]
        self._finalizer = weakref.finalize(self, _shutdown, self._tasks, self._workers)
        for worker in self._workers:
            worker.started.wait()
        errors = [w.start_error for w in self._workers if w.start_error]
        if errors:
            self.close()
            raise SandboxError(f"sandbox workers did not start: {errors[0]}")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker; later calls raise SandboxError."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    @property
    def isolation(self) -> IsolationReport:
        """The layers in force, as confirmed by a running worker."""
        return confirmed_report(self._iso, self._workers[0].hello)

    @property
    def worker_pids(self) -> list[int | None]:
        """Host pids of the worker processes (None for one not running); for tests and tools."""
        return [w.proc.pid if w.proc is not None else None for w in self._workers]

    def run(self, source: str, inputs: Sequence[str]) -> list[CallResult]:
        """Results of `evaluate(x)` for each x in `inputs`, in order."""
        return self.run_many([(source, inputs)])[0]

    def run_many(self, jobs: Iterable[tuple[str, Sequence[str]]]) -> list[list[CallResult]]:
        """For each (source, inputs) job, the results of its calls, in order; jobs run in parallel."""
        if self.closed:
            raise SandboxError("the sandbox is closed")
        jobs = [(source, list(inputs)) for source, inputs in jobs]
        for _, inputs in jobs:
            if not all(isinstance(x, str) for x in inputs):
                raise TypeError("every input must be a str")
        outputs: list[list[CallResult | None]] = []
        parts: list[tuple[_Part, bool]] = []
        workers = len(self._workers)
        for source, inputs in jobs:
            check = check_source(source)
            if not check.ok:
                outputs.append([CallResult(Status.ERROR, check.reason)] * len(inputs))
                continue
            out: list[CallResult | None] = [None] * len(inputs)
            outputs.append(out)
            size = self._max_batch
            if len(jobs) < workers:  # few functions: split their inputs over the workers
                size = max(1, min(size, math.ceil(len(inputs) / workers)))
            shareable = self._share and is_shareable(source)
            for start in range(0, len(inputs), size):
                parts.append((_Part(source, inputs[start : start + size], out, start), shareable))
        groups = self._pack(parts)
        batch = _Batch(len(groups))
        for group in groups:
            self._tasks.put(_Request(group, batch))
        batch.wait()
        return outputs  # type: ignore[return-value]  # every slot is filled by now

    def _pack(self, parts: list[tuple[_Part, bool]]) -> list[list[_Part]]:
        """Parts grouped into requests: shareable parts packed together (about 3 requests per
        worker, at most `max_batch * 16` calls each), every other part alone."""
        total = sum(len(part.inputs) for part, shareable in parts if shareable)
        target = max(1, min(self._max_batch * 16, math.ceil(total / (3 * len(self._workers)))))
        groups: list[list[_Part]] = []
        packing: list[_Part] | None = None
        for part, shareable in parts:
            if not shareable:
                groups.append([part])
                continue
            if packing is None or sum(len(p.inputs) for p in packing) >= target:
                packing = []
                groups.append(packing)
            packing.append(part)
        return groups
