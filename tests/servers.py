"""Real servers for the publishing and annotation tests, started on 127.0.0.1 only.

- olah serves git repos in Hub layout (read-only) under `<mirrors>/datasets/<org>/<name>`.
- Argilla 2.8: argilla-server with sqlite, Redis (Debian `redis-server`) and osmem-server as its
  OpenSearch.

Their pinned dependencies clash with ifplay's, so each lives in its own virtualenv. The Python that has
them is `$IFPLAY_OLAH_PYTHON` / `$IFPLAY_ARGILLA_PYTHON`, else `.venvs/olah` / `.venvs/argilla-server`
in the repo, else the running interpreter. `find_python` returns None when none has them (tests skip
with that reason); a server that is installed but does not start is an error, never a skip.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OLAH_INSTALL = "python -m venv .venvs/olah && .venvs/olah/bin/pip install olah==0.5.4"
ARGILLA_INSTALL = (
    "python -m venv .venvs/argilla-server && .venvs/argilla-server/bin/pip install "
    "argilla-server==2.8.0 'click<8.2' osmem-server==0.1.6; apt-get install redis-server"
)
ARGILLA_KEY = "argilla.apikey"


def find_python(env_var: str, venv: str, *modules: str) -> str | None:
    """The first Python (env var, repo venv, this interpreter) that imports all `modules`."""
    candidates = [os.environ.get(env_var), str(REPO_ROOT / ".venvs" / venv / "bin" / "python")]
    for candidate in [*candidates, sys.executable]:
        if not candidate or not Path(candidate).exists():
            continue
        probe = "; ".join(f"import {module}" for module in modules)
        done = subprocess.run([candidate, "-c", probe], capture_output=True, timeout=120)
        if done.returncode == 0:
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Processes:
    """Processes this test session started (each in its own process group), stopped in reverse."""

    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.started.append(
            subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def wait_http(
    url: str,
    headers: dict[str, str],
    seconds: float,
    processes: Processes,
    any_status: bool = False,
) -> bool:
    """Poll `url` until it answers 200 (any HTTP status with `any_status`); False on timeout or
    when a started process died."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if any(p.poll() is not None for p in processes.started):
            return False
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return True
        except urllib.error.HTTPError:
            if any_status:
                return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def _server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ARGILLA_"))}
    return {**env, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1", **extra}


@dataclass
class OlahServer:
    url: str
    mirrors: Path
    processes: Processes


def start_olah(python: str, workdir: Path) -> OlahServer:
    """olah in offline mode serving `workdir/mirrors`; never contacts any other host."""
    port = free_port()
    mirrors = workdir / "mirrors"
    (mirrors / "datasets").mkdir(parents=True)
    config = workdir / "olah.toml"
    config.write_text(
        "[basic]\n"
        f'host = "127.0.0.1"\nport = {port}\n'
        f'repos-path = "{workdir / "cache"}"\n'
        'hf-netloc = "127.0.0.1:9"\nhf-lfs-netloc = "127.0.0.1:9"\n'
        f'mirror-netloc = "127.0.0.1:{port}"\nmirror-lfs-netloc = "127.0.0.1:{port}"\n'
        f'mirrors-path = ["{mirrors}"]\nmetadata-cache-ttl = 0\n'
        "[accessibility]\noffline = true\n"
    )
    processes = Processes(workdir)
    argv = [python, "-m", "olah.server", "-c", str(config), "--log-path", str(workdir / "logs")]
    processes.start("olah", argv, _server_env(), workdir)
    url = f"http://127.0.0.1:{port}"
    # olah answers 401 for an unknown repo: any HTTP answer means it is up
    if not wait_http(f"{url}/api/datasets/none/none", {}, 60, processes, any_status=True):
        processes.stop()
        raise RuntimeError(f"olah did not start:\n{processes.tail('olah')}")
    return OlahServer(url, mirrors, processes)


@dataclass
class ArgillaServer:
    url: str
    api_key: str
    processes: Processes


def start_argilla(python: str, redis: str, workdir: Path) -> ArgillaServer:
    """argilla-server + Redis + osmem on free 127.0.0.1 ports, with the default owner user."""
    home = workdir / "home"
    home.mkdir(parents=True)
    os_port, redis_port, port = free_port(), free_port(), free_port()
    env = _server_env(
        ARGILLA_HOME_PATH=str(home),
        ARGILLA_DATABASE_URL=f"sqlite+aiosqlite:///{home / 'argilla.db'}",
        ARGILLA_SEARCH_ENGINE="opensearch",
        ARGILLA_ELASTICSEARCH=f"http://127.0.0.1:{os_port}",
        ARGILLA_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
    )
    binary = subprocess.run(
        [python, "-c", "import osmem_server; print(osmem_server.resolve_binary())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    processes = Processes(workdir)
    processes.start(
        "osmem",
        [binary, "-addr", f"127.0.0.1:{os_port}", "-no-stdin-watch", "-no-ja"],
        env,
        workdir,
    )
    redis_argv = [redis, "--bind", "127.0.0.1", "--port", str(redis_port), "--save", ""]
    processes.start("redis", [*redis_argv, "--appendonly", "no"], env, workdir)
    server = [python, "-m", "argilla_server"]
    for argv in (
        [*server, "database", "migrate"],
        [*server, "database", "users", "create_default", "--api-key", ARGILLA_KEY],
    ):
        done = subprocess.run(argv, env=env, cwd=workdir, capture_output=True, text=True)
        if done.returncode != 0:
            processes.stop()
            raise RuntimeError(f"{' '.join(argv[1:])} failed:\n{done.stderr[-2000:]}")
    start = [*server, "start", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    processes.start("argilla", start, env, workdir)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(f"{url}/api/v1/me", {"X-Argilla-Api-Key": ARGILLA_KEY}, 120, processes):
        logs = "\n".join(processes.tail(name) for name in ("argilla", "osmem", "redis"))
        processes.stop()
        raise RuntimeError(f"argilla-server did not start:\n{logs}")
    return ArgillaServer(url, ARGILLA_KEY, processes)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def commit_to_mirror(mirrors: Path, repo_id: str, folder: Path, delete_patterns: list[str]) -> str:
    """What a Hub commit of `upload_folder(folder, delete_patterns=...)` does, applied to the olah
    mirror's git repo: delete remote files matching the patterns, copy the folder, commit if
    anything changed. Returns the head commit."""
    import fnmatch

    repo = mirrors / "datasets" / repo_id
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for path in sorted(repo.rglob("*")):
        relative = path.relative_to(repo).as_posix()
        if path.is_file() and not relative.startswith(".git/"):
            if any(fnmatch.fnmatch(relative, pattern) for pattern in delete_patterns):
                path.unlink()
    shutil.copytree(folder, repo, dirs_exist_ok=True)
    git = ["git", "-C", str(repo), "-c", "user.name=ifplay-test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "add", "-A"], check=True)
    if subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True).stdout:
        subprocess.run([*git, "commit", "-q", "-m", "upload"], check=True)
    return subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
