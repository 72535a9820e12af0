"""Run ifplay's distilabel pipelines on a Ray cluster (`ifplay generate CONFIG --ray`).

Inside `on_ray(address)`, every pipeline ifplay runs becomes distilabel's `RayPipeline`: each step
replica is a Ray actor, placed by the step's declared resources. ifplay connects once (to
`address`, or to `$RAY_ADDRESS`, or to a new local instance when neither is given), forwards the
environment that shapes a run (ifplay's cache, Hugging Face offline switches, engine API keys) to
the workers, and removes each run's named actors afterwards so the next checkpoint chunk can reuse
the pipeline's name. Workers import ifplay: every node needs the same ifplay installed.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ifplay.errors import IfplayError, first_line
from ifplay.pipelines.resources import Capacity, cluster_capacity

# Environment that decides what a step does, forwarded to the workers (a `ray start` daemon does
# not have the driver's environment).
FORWARDED_PREFIXES = ("IFPLAY_", "HF_", "HUGGINGFACE_", "TRANSFORMERS_", "DISTILABEL_")
FORWARDED_NAMES = ("TOKENIZERS_PARALLELISM", "PYTHONWARNINGS", "OMP_NUM_THREADS", "XDG_CACHE_HOME")

_on_ray = False  # inside `on_ray`: run_distilabel sends pipelines to the cluster


def forwarded_env(extra_names: Iterable[str] = ()) -> dict[str, str]:
    """The driver's variables the workers need: ifplay/HF/distilabel settings and `extra_names`
    (e.g. the env var holding an OpenAI-compatible endpoint's key)."""
    names = set(FORWARDED_NAMES) | set(extra_names)
    return {
        key: value
        for key, value in os.environ.items()
        if key.startswith(FORWARDED_PREFIXES) or key in names
    }


@contextmanager
def on_ray(
    address: str | None, extra_env: Iterable[str] = (), verbose: bool = False
) -> Iterator[Capacity]:
    """Connect to Ray, run the block with every pipeline on Ray, then disconnect.

    Yields the cluster's capacity (its GPUs and CPUs, and where it is). An address that cannot be
    reached raises a one-line IfplayError.
    """
    global _on_ray
    try:
        import ray
    except ImportError:
        raise IfplayError("--ray: Ray is not installed (pip install 'ifplay[ray]')") from None

    address, named_by = head_to_join(address)
    options: dict[str, Any] = {
        "runtime_env": {"env_vars": forwarded_env(extra_env)},
        "log_to_driver": verbose,
        "logging_level": logging.INFO if verbose else logging.WARNING,
    }
    if address:
        require_reachable(address, named_by=named_by)
    else:
        # a new instance of our own: plain `ray.init()` would join whatever cluster this machine
        # last started (and wait for minutes if that one is gone)
        options.update(include_dashboard=False)
    try:
        ray.init(address=address or "local", **options)
    except (ConnectionError, RuntimeError, ValueError) as err:
        first = first_line(err)
        where = f"{named_by} {address}" if address else "--ray (a new local Ray instance)"
        raise IfplayError(f"{where}: cannot connect to Ray ({first})") from None
    _on_ray = True
    try:
        yield cluster_capacity(ray.cluster_resources(), address)
    finally:
        _on_ray = False
        ray.shutdown()


def head_to_join(address: str | None) -> tuple[str | None, str]:
    """The cluster `--ray` joins and how it was named, for error lines: (`address`,
    "--ray-address"), else ($RAY_ADDRESS, "$RAY_ADDRESS"); the address is None when neither is set
    (a new local instance)."""
    if address:
        return address, "--ray-address"
    return os.environ.get("RAY_ADDRESS") or None, "$RAY_ADDRESS"


def require_reachable(
    address: str, timeout_s: float = 5.0, named_by: str = "--ray-address"
) -> None:
    """Fail in seconds, with one line that starts `<named_by> <address>:`, when nothing listens at
    `address` (`host:port` or `ray://host:port`); Ray itself retries an unreachable head for
    minutes. `auto` is not probed."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        if address == "auto":
            return
        raise IfplayError(f"{named_by} {address}: expected HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise IfplayError(
            f"{named_by} {address}: no Ray head answers there ({err.strerror or err})"
        ) from None


def ray_active() -> bool:
    """Whether pipelines run on Ray now (inside `on_ray`)."""
    return _on_ray


def run_on_ray(pipeline: Any) -> Any:
    """Run a local distilabel `Pipeline` as a `RayPipeline`, fresh; returns its Distiset.

    distilabel names each run's actors (queues and step replicas) after the pipeline; they are
    killed afterwards so that the next run of a pipeline with the same name starts clean.
    """
    import ray

    try:
        return pipeline.ray().run(use_cache=False)
    finally:
        prefix = f"distilabel-{pipeline.name}-"
        for name in ray.util.list_named_actors():
            if name.startswith(prefix):
                ray.kill(ray.get_actor(name))


@contextmanager
def local_head(num_cpus: int, ready_timeout_s: float = 120) -> Iterator[str]:
    """Start a Ray head on 127.0.0.1 (`ray start --head --block`, no GPUs, no dashboard) in its own
    process group, yield its address, then stop it (only its own processes, unlike `ray stop`).
    For tests and benchmarks; a real cluster is started by its operators.

    The head only listens on the loopback interface, so it runs without token authentication
    (`RAY_AUTH_MODE=disabled`, set in this process too for the block, and so for its children):
    a token left in `~/.ray` by an earlier cluster would otherwise keep clients out.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    ray_cli = str(Path(sys.executable).with_name("ray"))
    command = [ray_cli, "start", "--head", "--block", "--node-ip-address=127.0.0.1"]
    command += [f"--port={port}", f"--num-cpus={num_cpus}", "--num-gpus=0"]
    command += ["--include-dashboard=false", "--disable-usage-stats"]
    previous_auth = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    try:
        head = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            _wait_for_head(ray_cli, address, head, ready_timeout_s)
            yield address
        finally:
            os.killpg(head.pid, signal.SIGTERM)
            try:
                head.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(head.pid, signal.SIGKILL)
                head.wait()
    finally:
        if previous_auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = previous_auth


def _wait_for_head(ray_cli: str, address: str, head: subprocess.Popen, timeout_s: float) -> None:
    """Return once `ray status` reports an active node at `address`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise IfplayError(f"ray start --head at {address} exited with code {head.returncode}")
        status = subprocess.run(
            [ray_cli, "status", "--address", address], capture_output=True, text=True
        )
        if status.returncode == 0 and "Active:" in status.stdout:
            return
        time.sleep(1)
    raise IfplayError(f"ray start --head at {address}: not ready after {timeout_s:.0f}s")
