"""Isolation layers and how the worker command is built from them.

Layers, outermost first (see docs/sandbox.md):
- namespaces: ``bwrap`` (bubblewrap: own user/PID/network/IPC/UTS/mount namespaces, only the Python
  install mounted, read-only, private /tmp) or ``unshare`` (util-linux: own network/IPC/UTS
  namespaces only) or ``none``;
- seccomp (libseccomp through ctypes): the worker may not open sockets, exec, ptrace or mount; each
  child running generated code may in addition not fork or signal other processes;
- audit hook (PEP 578) in each child: refuses network, processes, ctypes, frame/GC introspection,
  reads outside the Python install and scratch dir, writes outside the scratch dir;
- rlimits in each child: address space, CPU seconds, file size, open files, processes, no core;
- always: scrubbed environment, empty scratch working directory, captured and capped stdout/stderr,
  per-call wall-clock timeout with the process killed and replaced.
"""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

NamespaceMode = Literal["auto", "bwrap", "unshare", "none"]
SANDBOX_UID = 65534  # "nobody" inside bwrap's user namespace
_MINIMAL_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}
_PROBE_TIMEOUT_S = 20


class SandboxUnavailable(RuntimeError):
    """An isolation layer that was asked for explicitly cannot be used on this machine."""


@dataclass(frozen=True)
class IsolationPolicy:
    """Which layers to use. `namespaces="auto"` takes bwrap, else unshare, else none;
    `seccomp=None` uses seccomp when libseccomp is found. `extra_read_paths` are directories the
    generated code may read and import from (they are mounted read-only and put on sys.path),
    e.g. a directory holding `langdetect`; by default only the standard library is importable."""

    namespaces: NamespaceMode = "auto"
    seccomp: bool | None = None
    audit_hook: bool = True
    rlimits: bool = True
    extra_read_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedIsolation:
    """The layers a pool will actually start its workers with."""

    namespaces: Literal["bwrap", "unshare", "none"]
    seccomp: bool
    audit_hook: bool
    rlimits: bool
    read_roots: tuple[str, ...]
    import_paths: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layer:
    """One row of an isolation report."""

    name: str
    active: bool
    detail: str


@dataclass
class IsolationReport:
    """Which layers are active; `str()` gives the table `python -m ifplay.sandbox --doctor` prints."""

    layers: list[Layer] = field(default_factory=list)

    def active(self, name: str) -> bool:
        """Whether the layer called `name` is active."""
        return any(layer.name == name and layer.active for layer in self.layers)

    def __str__(self) -> str:
        width = max((len(layer.name) for layer in self.layers), default=0)
        return "\n".join(
            f"{'on ' if layer.active else 'off'}  {layer.name:<{width}}  {layer.detail}"
            for layer in self.layers
        )


def python_executable() -> str:
    """The real interpreter binary (a venv's python resolved to its base install)."""
    return os.path.realpath(sys.executable)


@cache
def python_roots() -> tuple[str, ...]:
    """Directories the worker needs to run Python and import the standard library."""
    candidates = {
        sys.base_prefix,
        sys.base_exec_prefix,
        str(Path(python_executable()).parent.parent),
        sysconfig.get_config_var("LIBDIR") or sys.base_prefix,
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["platstdlib"],
    }
    return _outermost(os.path.realpath(p) for p in candidates if p and os.path.isdir(p))


def _outermost(paths) -> tuple[str, ...]:
    """`paths` without those nested inside another one of them, sorted."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(_contains(k, path) for k in kept):
            kept.append(path)
    return tuple(kept)


def worker_source() -> str:
    """The text of `_worker.py`, run with `python -c` inside the isolated process."""
    return _read_worker()


@cache
def _read_worker() -> str:
    return (Path(__file__).with_name("_worker.py")).read_text(encoding="utf-8")


def python_command() -> list[str]:
    """Interpreter flags for the worker: isolated mode, no site-packages, no bytecode writes."""
    return [python_executable(), "-I", "-S", "-B", "-X", "utf8"]


def bwrap_args(read_roots: tuple[str, ...], *, with_uid: bool = True) -> list[str]:
    """bubblewrap arguments: all namespaces, only /usr and the Python install (read-only)."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if with_uid:
        args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    args += ["--hostname", "ifplay-sandbox", "--clearenv"]
    for key, value in {**_MINIMAL_ENV, "HOME": "/tmp"}.items():
        args += ["--setenv", key, value]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for root in read_roots:
        if not root.startswith("/usr/"):
            args += ["--ro-bind", root, root]
    return [*args, "--chdir", "/tmp", "--"]


def unshare_args() -> list[str]:
    """util-linux unshare arguments: own network, IPC and UTS namespaces."""
    args = ["unshare", "--net", "--ipc", "--uts"]
    if os.geteuid() != 0:
        args.append("--map-root-user")
    return [*args, "--"]


def _runs(argv: list[str]) -> bool:
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_MINIMAL_ENV,
            timeout=_PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@cache
def bwrap_mode() -> str:
    """'uid' when bwrap runs the interpreter as nobody in a user namespace, 'root' when it runs
    without a user namespace, '' when bubblewrap is missing or cannot create namespaces here."""
    if shutil.which("bwrap") is None:
        return ""
    probe = [*python_command(), "-c", "pass"]
    for with_uid in (True, False):
        if _runs([*bwrap_args(python_roots(), with_uid=with_uid), *probe]):
            return "uid" if with_uid else "root"
    return ""


@cache
def unshare_works() -> bool:
    """Whether `unshare --net` can start the interpreter here."""
    return shutil.which("unshare") is not None and _runs(
        [*unshare_args(), *python_command(), "-c", "pass"]
    )


@cache
def seccomp_library() -> str:
    """The libseccomp the worker will load, or '' when none is installed."""
    if ctypes.util.find_library("seccomp") is None:
        try:
            ctypes.CDLL("libseccomp.so.2")
        except OSError:
            return ""
    return "libseccomp.so.2"


def resolve(policy: IsolationPolicy) -> ResolvedIsolation:
    """The layers `policy` gets on this machine; raises SandboxUnavailable for a layer asked for
    explicitly (namespaces="bwrap"/"unshare", seccomp=True) that does not work here."""
    notes: list[str] = []
    mode = policy.namespaces
    if mode == "auto":
        mode = "bwrap" if bwrap_mode() else "unshare" if unshare_works() else "none"
        if mode != "bwrap":
            notes.append("bubblewrap is not usable here: files outside the sandbox stay visible")
        if mode == "none":
            notes.append("no network namespace: network is blocked by seccomp and the audit hook")
    elif mode == "bwrap" and not bwrap_mode():
        raise SandboxUnavailable("bubblewrap (bwrap) is missing or cannot create namespaces here")
    elif mode == "unshare" and not unshare_works():
        raise SandboxUnavailable("`unshare --net` does not work here")
    seccomp = policy.seccomp
    if seccomp is None:
        seccomp = bool(seccomp_library())
        if not seccomp:
            notes.append("libseccomp not found: no syscall filter")
    elif seccomp and not seccomp_library():
        raise SandboxUnavailable("libseccomp (libseccomp.so.2) is not installed")
    extra = tuple(os.path.realpath(p) for p in policy.extra_read_paths)
    roots = _outermost([*python_roots(), *extra])
    return ResolvedIsolation(
        mode, seccomp, policy.audit_hook, policy.rlimits, roots, extra, tuple(notes)
    )


def probe_paths(read_roots: tuple[str, ...]) -> list[str]:
    """Host paths a worker should not see (home, working dir, temp dir), for its hello report.
    A directory that holds the Python install is replaced by its other entries."""
    found: list[str] = []
    for base in {os.path.expanduser("~"), os.getcwd(), tempfile.gettempdir()} - {"/", "/tmp"}:
        base = os.path.realpath(base)
        if not any(_contains(base, root) for root in read_roots):
            found.append(base)
            continue
        try:
            entries = sorted(os.listdir(base))
        except OSError:
            continue
        others = [os.path.join(base, e) for e in entries]
        found += [p for p in others if not any(_contains(p, r) for r in read_roots)][:3]
    return sorted(found)


def _contains(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


@dataclass(frozen=True)
class LaunchSpec:
    """How to start one worker: argv, environment, host working directory, scratch root inside."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    scratch: str


def launch_spec(iso: ResolvedIsolation, host_scratch: str, config: dict) -> LaunchSpec:
    """The command for one worker given its JSON-able `config`. `host_scratch` is an empty private
    host directory: the scratch root when there is no bwrap (bwrap gives a private tmpfs /tmp)."""
    bwrap = iso.namespaces == "bwrap"
    scratch = "/tmp" if bwrap else host_scratch
    tail = [*python_command(), "-c", worker_source(), json.dumps({**config, "scratch": scratch})]
    env = {**_MINIMAL_ENV, "HOME": host_scratch}
    if bwrap:
        prefix = bwrap_args(iso.read_roots, with_uid=bwrap_mode() == "uid")
    else:
        prefix = unshare_args() if iso.namespaces == "unshare" else []
    return LaunchSpec([*prefix, *tail], env, host_scratch, scratch)


def describe_isolation(policy: IsolationPolicy | None = None) -> IsolationReport:
    """Which layers a Sandbox with `policy` would use on this machine (probes; starts no pool).
    `Sandbox.isolation` gives the same report confirmed by a running worker."""
    iso = resolve(policy or IsolationPolicy())
    return static_report(iso)


def _rlimits_detail(active: bool) -> str:
    if not active:
        return "off"
    text = "address space, CPU, file size, open files, processes, core"
    if os.geteuid() == 0:
        text += " (RLIMIT_NPROC is not enforced for root's processes: seccomp stops forks)"
    return text


def static_report(iso: ResolvedIsolation) -> IsolationReport:
    """An IsolationReport for resolved layers, before any worker confirms them."""
    bwrap = iso.namespaces == "bwrap"
    ns = iso.namespaces != "none"
    layers = [
        Layer(
            "filesystem",
            bwrap,
            "only /usr and the Python install, read-only; private /tmp"
            if bwrap
            else "host file system visible (audit hook limits what code may open)",
        ),
        Layer(
            "network namespace",
            ns,
            f"via {iso.namespaces}: no interface but loopback" if ns else "not available",
        ),
        Layer(
            "pid/ipc/user namespaces",
            bwrap,
            f"via bwrap, runs as uid {SANDBOX_UID}, no capabilities" if bwrap else "not available",
        ),
        Layer(
            "seccomp",
            iso.seccomp,
            "no socket/exec/ptrace/mount; children: no fork/clone/kill" if iso.seccomp else "off",
        ),
        Layer(
            "audit hook",
            iso.audit_hook,
            "refuses network, processes, ctypes, introspection, outside reads/writes"
            if iso.audit_hook
            else "off",
        ),
        Layer("rlimits", iso.rlimits, _rlimits_detail(iso.rlimits)),
        Layer("scrubbed environment", True, "LANG, PATH, HOME only"),
        Layer("scratch directory", True, "empty and private per child process, removed after it"),
        Layer("output capture", True, "stdout/stderr captured per call and capped"),
        Layer("wall-clock timeout", True, "per call; the process is killed and replaced"),
    ]
    layers += [Layer("note", False, note) for note in iso.notes]
    return IsolationReport(layers)


def confirmed_report(iso: ResolvedIsolation, hello: dict) -> IsolationReport:
    """`static_report(iso)` corrected by what a started worker saw of itself (its hello)."""
    layers = {layer.name: layer for layer in static_report(iso).layers if layer.name != "note"}
    notes = [layer for layer in static_report(iso).layers if layer.name == "note"]
    facts, seen = hello.get("facts", {}), hello.get("layers", {})
    seccomp = seen.get("seccomp")
    if iso.seccomp or isinstance(seccomp, str):
        text = "installed" if seccomp is True else f"NOT installed: {seccomp}"
        layers["seccomp"] = Layer(
            "seccomp", seccomp is True, f"{layers['seccomp'].detail} ({text})"
        )
    interfaces = facts.get("interfaces")
    if interfaces is not None:
        old = layers["network namespace"]
        isolated = set(interfaces) <= {"lo"}
        detail = f"{old.detail} (worker sees interfaces: {', '.join(interfaces) or 'none'})"
        layers[old.name] = Layer(old.name, old.active and isolated, detail)
    visible = facts.get("visible", {})
    if visible:
        old = layers["filesystem"]
        shown = [path for path, there in visible.items() if there]
        detail = f"{old.detail} (host paths visible to the worker: {', '.join(shown) or 'none'})"
        layers[old.name] = Layer(old.name, old.active and not shown, detail)
    if "uid" in facts:
        old = layers["pid/ipc/user namespaces"]
        layers[old.name] = Layer(old.name, old.active, f"{old.detail} (worker uid {facts['uid']})")
    return IsolationReport([*layers.values(), *notes])
