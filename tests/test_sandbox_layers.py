"""Each isolation layer on its own: what it stops, and that the probes get through without it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ifplay.sandbox import (
    IsolationPolicy,
    Sandbox,
    SandboxUnavailable,
    Status,
    describe_isolation,
)
from ifplay.sandbox import isolation as iso_module
from ifplay.sandbox.doctor import Listener

NO_LAYERS = {"namespaces": "none", "seccomp": False, "audit_hook": False, "rlimits": False}
HAS_BWRAP = bool(iso_module.bwrap_mode())
HAS_UNSHARE = iso_module.unshare_works()
HAS_SECCOMP = bool(iso_module.seccomp_library())

CONNECT = (
    "import socket\n"
    "def evaluate(response):\n"
    "    with socket.create_connection(('127.0.0.1', {port}), timeout=2) as s:\n"
    "        s.sendall(b'leaked')\n"
    "    return True\n"
)
READ = "def evaluate(response):\n    return 'TOKEN' in open({path!r}).read()\n"
WRITE = "def evaluate(response):\n    open({path!r}, 'w').write('changed')\n    return True\n"
FORK = (
    "import os\n"
    "def evaluate(response):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        os._exit(0)\n"
    "    os.waitpid(pid, 0)\n"
    "    return True\n"
)
SUBPROCESS = (
    "import subprocess\n"
    "def evaluate(response):\n"
    "    return subprocess.run(['true']).returncode == 0\n"
)
CTYPES = "import ctypes\ndef evaluate(response):\n    return ctypes.CDLL(None).getpid() > 0\n"
MEMORY = "def evaluate(response):\n    return len(bytearray(400 * 1024 * 1024)) > 0\n"
BIG_FILE = (
    "def evaluate(response):\n"
    "    with open('big.bin', 'wb') as f:\n"
    "        f.write(b'x' * (20 * 1024 * 1024))\n"
    "    return True\n"
)
MANY_FILES = (
    "def evaluate(response):\n"
    "    handles = [open(f'f{{i}}.txt', 'w') for i in range(200)]\n"
    "    return len(handles) == 200\n"
)
CPU = "def evaluate(response):\n    while True:\n        pass\n"
SLEEP = "import time\ndef evaluate(response):\n    time.sleep(30)\n    return True\n"
CLEAN_START = (
    "import os\n"
    "def evaluate(response):\n"
    "    env_ok = set(os.environ) <= {'LANG', 'PATH', 'HOME', 'PWD', 'LC_CTYPE'}\n"
    "    return env_ok and os.listdir('.') == [] and 'SECRET' not in str(os.environ)\n"
)


def policy(**layers: object) -> IsolationPolicy:
    return IsolationPolicy(**{**NO_LAYERS, **layers})  # type: ignore[arg-type]


def run_one(isolation: IsolationPolicy, source: str, **limits: float) -> object:
    with Sandbox(workers=1, isolation=isolation, **limits) as sandbox:  # type: ignore[arg-type]
        return sandbox.run(source, ["response"])[0]


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, Path]:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN-layer-test")
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    return {"secret": secret, "victim": victim}


def test_without_layers_the_probes_get_through(listener: Listener, planted) -> None:
    """The control: with every optional layer off, the probes succeed (so the tests can fail)."""
    with Sandbox(workers=1, timeout_s=5.0, isolation=policy()) as sandbox:
        results = sandbox.run_many(
            [
                (CONNECT.format(port=listener.port), ["r"]),
                (READ.format(path=str(planted["secret"])), ["r"]),
                (FORK, ["r"]),
                (MEMORY, ["r"]),
            ]
        )
    assert [r[0].status for r in results] == [Status.PASSED] * 4
    listener.close()
    assert listener.bytes == len(b"leaked")


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not usable here")
def test_bwrap_alone_hides_files_and_network(listener: Listener, planted) -> None:
    with Sandbox(workers=1, isolation=policy(namespaces="bwrap")) as sandbox:
        connect, read, write, usr = sandbox.run_many(
            [
                (CONNECT.format(port=listener.port), ["r"]),
                (READ.format(path=str(planted["secret"])), ["r"]),
                (WRITE.format(path=str(planted["victim"])), ["r"]),
                (WRITE.format(path="/usr/ifplay-sandbox-test"), ["r"]),
            ]
        )
        report = sandbox.isolation
    assert connect[0].status is Status.ERROR
    assert read[0].status is Status.ERROR and "FileNotFoundError" in read[0].reason
    assert write[0].status is Status.ERROR and "FileNotFoundError" in write[0].reason
    assert usr[0].status is Status.ERROR and "Read-only" in usr[0].reason
    listener.close()
    assert listener.connections == 0 and listener.bytes == 0
    assert planted["victim"].read_text() == "original"
    assert report.active("filesystem") and report.active("network namespace")
    assert report.active("pid/ipc/user namespaces")


@pytest.mark.skipif(not HAS_UNSHARE, reason="`unshare --net` does not work here")
def test_unshare_alone_cuts_the_network(listener: Listener) -> None:
    with Sandbox(workers=1, isolation=policy(namespaces="unshare")) as sandbox:
        (result,) = sandbox.run(CONNECT.format(port=listener.port), ["r"])
        report = sandbox.isolation
    assert result.status is Status.ERROR
    listener.close()
    assert listener.connections == 0 and listener.bytes == 0
    assert report.active("network namespace") and not report.active("filesystem")


@pytest.mark.skipif(not HAS_SECCOMP, reason="libseccomp is not installed")
def test_seccomp_alone_stops_sockets_forks_and_exec(listener: Listener) -> None:
    execve = "import os\ndef evaluate(response):\n    os.execv('/bin/true', ['true'])\n"
    with Sandbox(workers=1, isolation=policy(seccomp=True)) as sandbox:
        results = sandbox.run_many(
            [(CONNECT.format(port=listener.port), ["r"]), (FORK, ["r"]), (execve, ["r"])]
        )
        report = sandbox.isolation
    for (result,) in results:
        assert result.status is Status.ERROR
        assert "PermissionError" in result.reason
    listener.close()
    assert listener.connections == 0
    assert report.active("seccomp")


def test_audit_hook_alone_refuses_dangerous_operations(listener: Listener, planted) -> None:
    sources = [
        CONNECT.format(port=listener.port),
        READ.format(path=str(planted["secret"])),
        WRITE.format(path=str(planted["victim"])),
        SUBPROCESS,
        CTYPES,
        FORK,
    ]
    with Sandbox(workers=1, isolation=policy(audit_hook=True)) as sandbox:
        results = sandbox.run_many([(source, ["r"]) for source in sources])
    for (result,) in results:
        assert result.status is Status.ERROR, result
        assert "blocked by sandbox" in result.reason
    listener.close()
    assert listener.connections == 0
    assert planted["victim"].read_text() == "original"


def test_rlimits_alone_bound_memory_files_and_cpu() -> None:
    limited = policy(rlimits=True)
    with Sandbox(workers=1, memory_mb=256, isolation=limited) as sandbox:
        memory, big, many = sandbox.run_many(
            [(MEMORY, ["r"]), (BIG_FILE, ["r"]), (MANY_FILES, ["r"])]
        )
    assert memory[0].status is Status.KILLED and "memory limit" in memory[0].reason
    assert big[0].status is Status.ERROR and "File too large" in big[0].reason
    assert many[0].status is Status.ERROR and "Too many open files" in many[0].reason
    cpu = run_one(limited, CPU, timeout_s=30.0, cpu_s=1.0)
    assert cpu.status is Status.TIMEOUT and "CPU time" in cpu.reason


def test_wall_clock_timeout_needs_no_other_layer() -> None:
    with Sandbox(workers=1, timeout_s=0.5, isolation=policy()) as sandbox:
        slow, fast = sandbox.run_many([(SLEEP, ["r"]), (CLEAN_START, ["r"])])
    assert slow[0].status is Status.TIMEOUT
    assert fast[0].status is Status.PASSED


@pytest.mark.parametrize("namespaces", ["none", "auto"])
def test_environment_is_scrubbed_and_scratch_is_empty(namespaces: str) -> None:
    os.environ["IFPLAY_SANDBOX_SECRET"] = "x"
    try:
        result = run_one(IsolationPolicy(namespaces=namespaces), CLEAN_START)  # type: ignore[arg-type]
    finally:
        del os.environ["IFPLAY_SANDBOX_SECRET"]
    assert result.status is Status.PASSED, result


def test_explicit_layer_that_is_missing_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iso_module, "bwrap_mode", lambda: "")
    monkeypatch.setattr(iso_module, "unshare_works", lambda: False)
    monkeypatch.setattr(iso_module, "seccomp_library", lambda: "")
    with pytest.raises(SandboxUnavailable):
        iso_module.resolve(IsolationPolicy(namespaces="bwrap"))
    with pytest.raises(SandboxUnavailable):
        iso_module.resolve(IsolationPolicy(namespaces="unshare"))
    with pytest.raises(SandboxUnavailable):
        iso_module.resolve(IsolationPolicy(seccomp=True))
    fallback = iso_module.resolve(IsolationPolicy())
    assert fallback.namespaces == "none" and not fallback.seccomp and fallback.notes


@pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not usable here")
def test_default_report_uses_the_strongest_layers() -> None:
    report = describe_isolation()
    for name in ("filesystem", "network namespace", "audit hook", "rlimits"):
        assert report.active(name), str(report)
    assert report.active("seccomp") is HAS_SECCOMP
    assert "filesystem" in str(report)


def test_extra_read_paths_are_importable(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    (library / "wordtools.py").write_text("def count(text):\n    return len(text.split())\n")
    source = (
        "import wordtools\ndef evaluate(response):\n    return wordtools.count(response) == 2\n"
    )
    with Sandbox(workers=1) as sandbox:
        (without,) = sandbox.run(source, ["two words"])
    with Sandbox(workers=1, isolation=IsolationPolicy(extra_read_paths=(str(library),))) as sb:
        (with_path,) = sb.run(source, ["two words"])
    assert without.status is Status.ERROR and "wordtools" in without.reason
    assert with_path.status is Status.PASSED, with_path
