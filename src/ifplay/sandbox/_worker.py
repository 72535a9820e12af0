"""The sandbox worker: a fork server that runs untrusted ``evaluate`` functions in throwaway children.

This file is not imported by ifplay. ``ifplay.sandbox.pool`` starts it inside the isolated process as
``python -I -S -B -c <this source> <config json>``; it uses the standard library only.

Process layout inside one worker::

    zygote (this loop; never runs untrusted code)
      └── child, one per request: limits + seccomp + audit hook, then the generated code

The zygote reads a request from fd 0: one or more functions, each with its inputs (the parent puts
several functions in one request only when ifplay.sandbox.purity says they may share a process). It
forks a child that compiles each function once, in fresh globals, and calls it on each input; the
zygote watches the child with a wall-clock deadline per call (and per definition). The child reports
through a shared memory block (no syscall per call); the zygote distrusts what it finds there, kills
the child on overrun, and starts a fresh child for the calls left after a timeout or a crash.
Replies go to fd 1. Wire format: 4-byte big-endian length + UTF-8 JSON (see protocol.py).
"""

import json
import mmap
import os
import select
import shutil
import signal
import struct
import sys
import time

# Result codes shared with ifplay.sandbox.protocol (0 = slot not written yet).
PASSED, FAILED, ERROR, TIMEOUT, KILLED = 1, 2, 3, 4, 5
CODE_LETTERS = {PASSED: "p", FAILED: "f", ERROR: "e", TIMEOUT: "t", KILLED: "k"}

# Shared memory layout: progress, one entry per function (how defining it went), one slot per call.
# Progress is a step counter: 2*i while defining the function of call i, 2*i+1 while calling i.
PROGRESS = struct.Struct("<qq")  # step, its start (monotonic ns)
HEADER_SIZE = 64
FUNCTION = struct.Struct("<BH")  # definition state, reason length
FUNCTION_SIZE = 256
DEF_PENDING, DEF_OK, DEF_ERROR, DEF_KILLED = 0, 1, 2, 3
SLOT_SIZE = 512
SLOT = struct.Struct("<BHH")  # status, reason length, output length
REASON_MAX = 200
OUTPUT_MAX = SLOT_SIZE - SLOT.size - REASON_MAX

PRELOAD = (
    "re json string math collections itertools functools unicodedata datetime textwrap difflib "
    "statistics random operator typing enum dataclasses copy heapq bisect calendar decimal fractions "
    "base64 hashlib html io keyword numbers codecs locale shutil struct urllib.parse resource"
).split()

# Audit events refused inside a child (prefixes end with a dot).
BLOCKED_EVENTS = frozenset(
    """os.system os.exec os.posix_spawn os.spawn os.fork os.forkpty os.killpg subprocess.Popen
    pty.spawn sys._getframe sys._current_frames sys._current_exceptions sys.addaudithook
    sys.settrace sys.setprofile gc.get_objects gc.get_referrers gc.get_referents
    object.__getattr__ code.__new__ resource.setrlimit resource.prlimit builtins.breakpoint
    builtins.input signal.pthread_kill urllib.Request http.client.connect webbrowser.open
    os.chroot os.add_dll_directory mmap.__new__""".split()
)
BLOCKED_PREFIXES = ("socket.", "ctypes.", "cpython.", "_posixsubprocess.", "ftplib.", "smtplib.")
BLOCKED_IMPORTS = frozenset(
    "_posixsubprocess _ctypes ctypes multiprocessing _multiprocessing _socket socket ssl "
    "_xxsubinterpreters _testcapi _testinternalcapi _testbuffer".split()
)
# Events that change the file system: positions of path arguments and of dir_fd arguments.
MUTATING_EVENTS = {
    "os.remove": ((0,), (1,)),
    "os.rmdir": ((0,), (1,)),
    "os.mkdir": ((0,), (2,)),
    "os.rename": ((0, 1), (2, 3)),
    "os.link": ((0, 1), (2, 3)),
    "os.symlink": ((0, 1), (2,)),
    "os.chmod": ((0,), (2,)),
    "os.chown": ((0,), (3,)),
    "os.utime": ((0,), (3,)),
    "os.truncate": ((0,), ()),
    "os.setxattr": ((0,), ()),
    "os.removexattr": ((0,), ()),
    "os.chflags": ((0,), ()),
    "os.lchflags": ((0,), ()),
    "os.chdir": ((0,), ()),
    "shutil.rmtree": ((0,), (1,)),
    "shutil.copyfile": ((1,), ()),
    "shutil.copytree": ((1,), ()),
    "shutil.move": ((1,), ()),
    "tempfile.mkstemp": ((0,), ()),
    "tempfile.mkdtemp": ((0,), ()),
}
LISTING_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "glob.glob/2", "os.walk"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


# --------------------------------------------------------------------------------------------
# seccomp: compiled once in the zygote with libseccomp (via ctypes), installed in each child raw.


class Seccomp:
    """Builds the zygote's and the children's seccomp filters; `error` says why it is unavailable."""

    ALLOW = 0x7FFF0000
    ZYGOTE_DENY = (
        "socket socketpair execve execveat ptrace process_vm_readv process_vm_writev kcmp mount "
        "umount2 pivot_root chroot unshare setns bpf perf_event_open keyctl add_key request_key "
        "userfaultfd io_uring_setup io_uring_enter io_uring_register kexec_load kexec_file_load "
        "init_module finit_module delete_module reboot swapon swapoff acct quotactl syslog "
        "open_by_handle_at name_to_handle_at fanotify_init move_mount open_tree fsopen fsmount "
        "fspick mount_setattr iopl ioperm vhangup"
    ).split()
    CHILD_DENY = (
        "fork vfork kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_open "
        "pidfd_send_signal pidfd_getfd setpgid setsid"
    ).split()

    def __init__(self) -> None:
        self.error = ""
        self.child_prog = None
        try:
            import ctypes

            self.ctypes = ctypes
            self.lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
            if PRCTL is None:
                raise OSError("prctl is not reachable through ctypes")
        except (ImportError, OSError) as exc:
            self.error = f"libseccomp not loadable: {exc}"
            return
        lib = self.lib
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.restype = ctypes.c_int
        lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint32,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_void_p,
        ]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]

        class ArgCmp(ctypes.Structure):
            _fields_ = [
                ("arg", ctypes.c_uint),
                ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64),
            ]

        self.ArgCmp = ArgCmp

    @staticmethod
    def errno_action(err: int) -> int:
        """libseccomp's SCMP_ACT_ERRNO(err)."""
        return 0x00050000 | (err & 0xFFFF)

    def _context(self, deny: list, extra) -> int:
        """A libseccomp context that allows all but `deny` (EPERM); `extra(ctx)` adds more rules."""
        ctx = self.lib.seccomp_init(self.ALLOW)
        if not ctx:
            raise OSError("seccomp_init failed")
        for name in deny:
            self._rule(ctx, self.errno_action(1), name)
        extra(ctx)
        return ctx

    def _rule(self, ctx: int, action: int, name: str, cmps: tuple = ()) -> None:
        nr = self.lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:  # not a syscall on this architecture (e.g. fork on arm64)
            return
        arr = (self.ArgCmp * max(1, len(cmps)))(*cmps) if cmps else None
        rc = self.lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr)
        if rc < 0:
            raise OSError(-rc, f"seccomp_rule_add({name}) failed")

    def _child_extra(self, ctx: int) -> None:
        clone_thread = 0x00010000
        masked_eq = 7  # SCMP_CMP_MASKED_EQ: (arg & datum_a) == datum_b
        no_thread = self.ArgCmp(0, masked_eq, clone_thread, 0)
        self._rule(ctx, self.errno_action(1), "clone", (no_thread,))
        self._rule(ctx, self.errno_action(38), "clone3")  # ENOSYS: libc falls back to clone

    def install_zygote_filter(self) -> None:
        """Load the zygote filter (no sockets, exec, ptrace, mounts, namespaces, kernel keys...)."""
        ctx = self._context(self.ZYGOTE_DENY, lambda ctx: None)
        try:
            rc = self.lib.seccomp_load(ctx)
            if rc < 0:
                raise OSError(-rc, "seccomp_load failed")
        finally:
            self.lib.seccomp_release(ctx)

    def prepare_child_filter(self) -> None:
        """Compile the child filter (no new processes, no signals to others) to raw BPF once."""
        ctx = self._context(self.CHILD_DENY, self._child_extra)
        read_fd, write_fd = os.pipe()
        try:
            rc = self.lib.seccomp_export_bpf(ctx, write_fd)
            if rc < 0:
                raise OSError(-rc, "seccomp_export_bpf failed")
            os.close(write_fd)
            write_fd = -1
            chunks = []
            while True:
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
            self.lib.seccomp_release(ctx)
        code = b"".join(chunks)
        ctypes = self.ctypes

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        self._bpf = ctypes.create_string_buffer(code, len(code))
        self.child_prog = SockFprog(len(code) // 8, ctypes.addressof(self._bpf))

    def install_child_filter(self) -> None:
        """In a child: set no_new_privs and install the precompiled filter (two prctl calls)."""
        prctl = PRCTL
        if prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(self.ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
        if prctl(22, 2, self.ctypes.byref(self.child_prog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
            raise OSError(self.ctypes.get_errno(), "PR_SET_SECCOMP failed")


def load_prctl():
    """libc's prctl through ctypes, or None when ctypes is unavailable."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None


PRCTL = load_prctl()


def set_parent_death_signal() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (best effort)."""
    if PRCTL is not None:
        PRCTL(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


# --------------------------------------------------------------------------------------------
# The child: limits, filter, audit hook, then the untrusted function.


class Capture:
    """Stands in for sys.stdout/sys.stderr: counts everything, keeps the first `cap` characters."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list = []
        self.kept = 0

    def write(self, text) -> int:
        if type(text) is not str:
            raise TypeError("write() argument must be str")
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def take(self) -> str:
        """The text kept since the last take (and forget it)."""
        if not self.parts:
            return ""
        text = "".join(self.parts)
        self.parts = []
        self.kept = 0
        return text


def _realpath(path) -> str:
    return os.path.realpath(os.fsdecode(path))


def _inside(path: str, roots: tuple, strict: bool = False) -> bool:
    """Whether `path` is one of `roots` (unless `strict`) or lies below one."""
    return any(
        (path == root and not strict) or path.startswith(root.rstrip("/") + "/") for root in roots
    )


class AuditPolicy:
    """The audit hook installed in each child; the first refused event is kept in `violation`."""

    def __init__(self, scratch: str, read_roots: tuple, max_writes: int) -> None:
        """`read_roots` must already be real paths; `scratch` is made real here."""
        self.scratch = (_realpath(scratch),)
        self.read_roots = read_roots + self.scratch
        self.max_writes = max_writes
        self.writes = 0
        self.violation = ""
        self.busy = False

    def refuse(self, what: str):
        if not self.violation:
            self.violation = what
        raise PermissionError(f"blocked by sandbox: {what}")

    def path_ok(self, path, roots: tuple, strict: bool = False) -> bool:
        if path is None:
            path = "."
        if type(path) not in (str, bytes):  # fd numbers and PathLike objects are refused
            return False
        return _inside(_realpath(path), roots, strict)

    def __call__(self, event: str, args: tuple) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self.check(event, args)
        finally:
            self.busy = False

    def check(self, event: str, args: tuple) -> None:
        if event in BLOCKED_EVENTS or event.startswith(BLOCKED_PREFIXES):
            self.refuse(event)
        elif event == "object.__setattr__" or event == "object.__delattr__":
            self.check_setattr(args[0], args[1])
        elif event == "os.kill":
            if args[0] != os.getpid():
                self.refuse("os.kill of another process")
        elif event == "import":
            if args[0] in BLOCKED_IMPORTS:
                self.refuse(f"import {args[0]}")
        elif event == "open":
            self.check_open(*args[:3])
        elif event in MUTATING_EVENTS:
            paths, dir_fds = MUTATING_EVENTS[event]
            for i in dir_fds:
                if i < len(args) and args[i] not in (None, -1):
                    self.refuse(f"{event} with dir_fd")
            for i in paths:
                if i < len(args) and not self.path_ok(args[i], self.scratch, strict=True):
                    self.refuse(f"{event} outside the scratch directory")
        elif event in LISTING_EVENTS:
            if args and not self.path_ok(args[0], self.read_roots):
                self.refuse(f"{event} outside the sandbox")

    def check_setattr(self, target, name) -> None:
        """Generated code may change its own classes, not functions' code or library classes."""
        if name in ("__code__", "__defaults__", "__kwdefaults__", "__closure__", "__globals__"):
            self.refuse(f"setting {name}")
        if isinstance(target, type) and getattr(target, "__module__", "") != "__verifier__":
            self.refuse(f"changing the class {getattr(target, '__name__', '?')}")

    def check_open(self, path, mode, flags) -> None:
        if type(path) is int:  # an already open descriptor
            return
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writing:
            if not self.path_ok(path, self.scratch, strict=True):
                self.refuse("writing a file outside the scratch directory")
            self.writes += 1
            if self.writes > self.max_writes:
                self.refuse("too many files written")
        elif not self.path_ok(path, self.read_roots):
            self.refuse("reading a file outside the sandbox")
        elif not self.path_ok(path, self.scratch) and os.path.isdir(_realpath(path)):
            self.refuse("opening a directory outside the scratch directory")


def set_limits(cfg: dict, calls: int) -> None:
    """Resource limits for one child running `calls` calls."""
    import resource

    mb = 1024 * 1024
    limits = (
        (resource.RLIMIT_AS, cfg["memory_mb"] * mb),
        (resource.RLIMIT_FSIZE, cfg["fsize_mb"] * mb),
        (resource.RLIMIT_NOFILE, cfg["nofile"]),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_CORE, 0),
    )
    for which, value in limits:
        resource.setrlimit(which, (value, value))
    cpu = cpu_budget(cfg, calls)  # SIGXCPU at the soft limit, SIGKILL one second later
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def cpu_budget(cfg: dict, calls: int) -> int:
    """Whole CPU seconds a child running `calls` calls may use (RLIMIT_CPU soft limit)."""
    return int(cfg["cpu_s"] * calls + 1.999)


class Message:
    """One request as the child and the zygote see it: functions, their calls laid out flat, and
    the offsets of each part in the shared block."""

    def __init__(self, jobs: list) -> None:
        self.jobs = jobs
        self.owner: list = []  # call index -> function index
        self.first: list = [0]  # function index -> index of its first call (plus a final end)
        for k, job in enumerate(jobs):
            self.owner += [k] * len(job["inputs"])
            self.first.append(len(self.owner))
        self.calls = len(self.owner)
        self.slots_at = HEADER_SIZE + FUNCTION_SIZE * len(jobs)
        self.size = self.slots_at + SLOT_SIZE * max(self.calls, 1)

    def function_at(self, k: int) -> int:
        return HEADER_SIZE + k * FUNCTION_SIZE

    def slot_at(self, i: int) -> int:
        return self.slots_at + i * SLOT_SIZE


def child_main(cfg: dict, seccomp, audit, shm, msg: Message, start: int, scratch: str) -> None:
    """Run calls start.. of `msg` in this (forked) process; never returns. `audit` is the
    AuditPolicy to install (or None), `seccomp` the Seccomp (or None)."""
    code = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 1 << 16)
        os.chdir(scratch)
        if cfg["rlimits"]:
            set_limits(cfg, msg.calls - start)
        if seccomp is not None:
            seccomp.install_child_filter()
        capture = Capture(OUTPUT_MAX)
        sys.stdout = sys.stderr = capture
        if audit is not None:
            sys.addaudithook(audit)
    except BaseException as exc:  # never run the code without the layers asked for
        reason = f"sandbox setup failed: {exc!r}"
        for k in range(msg.owner[start], len(msg.jobs)):
            write_text(shm, msg.function_at(k), FUNCTION, FUNCTION_SIZE, DEF_ERROR, reason)
        os._exit(70)
    try:
        code = run_message(cfg, shm, msg, start, capture, audit)
    except MemoryError:
        code = 3
    finally:
        os._exit(code)


def write_text(
    shm,
    at: int,
    head,
    size: int,
    code: int,
    reason: str,
    output=None,
    _reason_max=REASON_MAX,
) -> None:
    """Store a (code, reason[, output]) record at `at`: `head` packs (code, len(reason)[,
    len(output)]) and the texts follow it; `size` bounds the record. Everything it uses is bound
    at definition time, so code that reaches this module's globals cannot change it."""
    body = at + head.size
    reason_b = reason.encode("utf-8", "replace")[:_reason_max] if reason else b""
    shm[body : body + len(reason_b)] = reason_b
    if output is None:  # a function record: code and reason only
        head.pack_into(shm, at, code, len(reason_b))
        return
    output_b = (
        output.encode("utf-8", "replace")[: size - head.size - _reason_max] if output else b""
    )
    shm[body + _reason_max : body + _reason_max + len(output_b)] = output_b
    head.pack_into(shm, at, code, len(reason_b), len(output_b))


def read_text(shm, at: int, head, size: int) -> tuple:
    """(code, reason, output) stored at `at` by write_text; lengths are clamped (distrusted)."""
    values = head.unpack_from(shm, at)
    if not any(values[1:]):
        return values[0], "", ""
    body = at + head.size
    reason_len = min(values[1], REASON_MAX)
    reason = bytes(shm[body : body + reason_len]).decode("utf-8", "replace")
    output = ""
    if len(values) == 3:
        out_at = body + REASON_MAX
        out_len = min(values[2], size - head.size - REASON_MAX)
        output = bytes(shm[out_at : out_at + out_len]).decode("utf-8", "replace")
    return values[0], reason, output


def describe_exception(exc: BaseException) -> str:
    """`Type: message`, robust against exceptions whose __str__ misbehaves."""
    try:
        name = type(exc).__name__
        name = name if type(name) is str else "Exception"
    except BaseException:
        name = "Exception"
    try:
        text = str(exc)
        text = text if type(text) is str else ""
    except BaseException:
        text = ""
    return f"{name}: {text[:REASON_MAX]}" if text else name


def type_name(value) -> str:
    try:
        name = type(value).__name__
        return name if type(name) is str else "object"
    except BaseException:
        return "object"


def run_message(cfg: dict, shm, msg: Message, start: int, capture: Capture, audit) -> int:
    """Define each function in fresh globals and call it on its inputs, from call `start` on;
    returns the exit code (3 after running out of memory, the process is then spent).

    Everything used after generated code starts running is bound to locals first, so code that
    monkeypatches builtins or this module's globals cannot change how results are judged."""
    import builtins

    type_, bool_, true, now_ns, sys_, range_ = type, bool, True, time.monotonic_ns, sys, range
    write, progress, take = write_text, PROGRESS.pack_into, capture.take
    slot_head, function_head = SLOT, FUNCTION
    passed, failed, error, killed = PASSED, FAILED, ERROR, KILLED
    def_ok, def_error, def_killed = DEF_OK, DEF_ERROR, DEF_KILLED
    describe, name_of, compile_, exec_ = describe_exception, type_name, compile, exec
    memory = f"memory limit ({cfg['memory_mb']} MB) exceeded"

    def record_definition(k: int, state: int, reason: str = "") -> None:
        write(shm, msg.function_at(k), function_head, FUNCTION_SIZE, state, reason)

    def violation() -> str:
        return f"blocked by sandbox: {audit.violation}" if audit and audit.violation else ""

    i = start
    while i < msg.calls:
        k = msg.owner[i]
        end = msg.first[k + 1]
        progress(shm, 0, 2 * i, now_ns())
        if audit is not None:
            audit.violation = ""
        namespace = {"__builtins__": builtins, "__name__": "__verifier__"}
        try:
            exec_(compile_(msg.jobs[k]["src"], "<verifier>", "exec"), namespace)
            function = namespace.get("evaluate")
            if not callable(function):
                raise TypeError("the code does not define a callable `evaluate`")
        except MemoryError:
            record_definition(k, def_killed, f"{memory} while defining evaluate")
            return 3
        except BaseException as exc:
            record_definition(k, def_error, violation() or f"while defining: {describe(exc)}")
            i = end
            continue
        if violation():
            record_definition(k, def_error, violation())
            i = end
            continue
        record_definition(k, def_ok)
        inputs, base = msg.jobs[k]["inputs"], msg.first[k]
        for call in range_(i, end):
            progress(shm, 0, 2 * call + 1, now_ns())
            if audit is not None:
                audit.violation = ""
            sys_.stdout = sys_.stderr = capture
            try:
                result = function(inputs[call - base])
                if violation():
                    status, reason = error, violation()
                elif type_(result) is bool_:
                    status, reason = (passed if result is true else failed), ""
                else:
                    status, reason = error, f"evaluate returned {name_of(result)}, not bool"
            except MemoryError:
                result = None
                write(shm, msg.slot_at(call), slot_head, SLOT_SIZE, killed, memory, take())
                return 3
            except BaseException as exc:
                result = None
                status, reason = error, violation() or describe(exc)
            write(shm, msg.slot_at(call), slot_head, SLOT_SIZE, status, reason, take())
        namespace.clear()  # free what this function built before the next one runs
        function = result = None
        i = end
    return 0


# --------------------------------------------------------------------------------------------
# The zygote: supervise children, answer the parent.


def supervise(pid: int, shm, timeout: float, steps: int) -> tuple:
    """Wait for a child; kill it when one step (defining a function, or one call) runs past
    `timeout` seconds. Returns (timed_out, wait_status, cpu_seconds_used)."""
    t0 = time.monotonic()
    hard_deadline = t0 + timeout * steps + 1.0  # holds even if the child forges its progress
    seen = None
    deadline = t0 + timeout
    pidfd = os.pidfd_open(pid)
    timed_out = False
    try:
        while True:
            wait = min(deadline, hard_deadline) - time.monotonic()
            if wait > 0 and select.select([pidfd], [], [], wait)[0]:
                break
            now = time.monotonic()
            index, start_ns = PROGRESS.unpack_from(shm, 0)
            if index != seen:
                seen = index
                deadline = min(max(start_ns / 1e9, t0), now) + timeout
                if deadline > now and hard_deadline > now:
                    continue
            if now >= deadline or now >= hard_deadline:
                os.kill(pid, signal.SIGKILL)
                timed_out = True
                break
    finally:
        os.close(pidfd)
    _, status, usage = os.wait4(pid, 0)
    try:
        os.killpg(pid, signal.SIGKILL)  # anything the child left behind in its own group
    except OSError:
        pass
    return timed_out, status, usage.ru_utime + usage.ru_stime


def describe_end(timed_out: bool, status: int, cpu_over: bool, cfg: dict) -> tuple:
    """(code, reason) for the call a child was running when it ended early; `cpu_over` tells
    whether the child had used up its CPU budget."""
    if timed_out:
        return TIMEOUT, f"exceeded the {cfg['timeout_s']:g} s wall-clock limit"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_over):
            return TIMEOUT, "exceeded the CPU time limit"
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return KILLED, f"process killed by {name}"
    return KILLED, f"process exited with code {os.waitstatus_to_exitcode(status)}"


class Zygote:
    """Serves requests from the parent: one or more functions, each with many inputs."""

    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.children = 0
        self.seccomp = None
        self.layers = {"audit": bool(cfg["audit"]), "rlimits": bool(cfg["rlimits"])}
        self.read_roots = tuple(_realpath(p) for p in cfg["read_roots"])
        if cfg["seccomp"]:
            sc = Seccomp()
            if not sc.error:
                try:
                    sc.prepare_child_filter()
                    sc.install_zygote_filter()
                    self.seccomp = sc
                except OSError as exc:
                    sc.error = f"seccomp filter not installed: {exc}"
            self.layers["seccomp"] = sc.error or True
        else:
            self.layers["seccomp"] = False

    def facts(self) -> dict:
        """What this process sees of its own isolation, for the hello message."""
        try:
            with open("/proc/self/net/dev") as f:
                interfaces = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
        except OSError:
            interfaces = None
        return {
            "pid": os.getpid(),
            "uid": os.getuid(),
            "interfaces": interfaces,
            "visible": {p: os.path.exists(p) for p in self.cfg.get("probe_paths", [])},
            "env": sorted(os.environ),
        }

    def run_message(self, jobs: list) -> list:
        """For each job {"src", "inputs"}: [[code letter, reason, output], ...], in order."""
        msg = Message(jobs)
        shm = mmap.mmap(-1, msg.size)
        results: list = []
        try:
            while len(results) < msg.calls:
                results.extend(self.run_child(msg, shm, len(results)))
        finally:
            shm.close()
        return [results[msg.first[k] : msg.first[k + 1]] for k in range(len(jobs))]

    def run_child(self, msg: Message, shm, start: int) -> list:
        """Run one child from call `start`; results for the calls it settled (at least one)."""
        cfg = self.cfg
        self.children += 1
        scratch = os.path.join(cfg["scratch"], f"run{self.children}")
        os.mkdir(scratch, 0o700)
        first_function = msg.owner[start]
        shm[: msg.slots_at] = bytes(msg.slots_at)  # earlier results are already collected
        shm[msg.slot_at(start) :] = bytes(msg.size - msg.slot_at(start))
        PROGRESS.pack_into(shm, 0, 2 * start, time.monotonic_ns())
        audit = None
        if cfg["audit"]:
            audit = AuditPolicy(scratch, self.read_roots, cfg["max_writes"])

        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                set_parent_death_signal()
                child_main(cfg, self.seccomp, audit, shm, msg, start, scratch)
            finally:
                os._exit(71)
        steps = msg.calls - start + len(msg.jobs) - first_function
        timed_out, status, cpu_used = supervise(pid, shm, cfg["timeout_s"], steps)
        cpu_over = cfg["rlimits"] and cpu_used >= cpu_budget(cfg, msg.calls - start)
        try:
            os.rmdir(scratch)  # the common case: nothing was written
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
        return self.settle(msg, shm, start, describe_end(timed_out, status, cpu_over, cfg))

    def settle(self, msg: Message, shm, start: int, end_of_child: tuple) -> list:
        """Results from call `start` up to where the child stopped (the call or definition in
        flight gets `end_of_child`, a (code, reason) pair)."""
        settled: list = []
        i = start
        while i < msg.calls:
            k = msg.owner[i]
            end = msg.first[k + 1]
            state, reason, _ = read_text(shm, msg.function_at(k), FUNCTION, FUNCTION_SIZE)
            if state in (DEF_ERROR, DEF_KILLED):
                settled += [["e" if state == DEF_ERROR else "k", reason, ""]] * (end - i)
                if state == DEF_KILLED:  # the child exits after running out of memory
                    break
                i = end
                continue
            if state != DEF_OK:  # the child ended while defining this function
                code, why = end_of_child
                settled += [[CODE_LETTERS[code], f"{why} (while defining evaluate)", ""]] * (
                    end - i
                )
                break
            status, reason, output = read_text(shm, msg.slot_at(i), SLOT, SLOT_SIZE)
            if status not in CODE_LETTERS:  # the child ended during this call
                code, why = end_of_child
                settled.append([CODE_LETTERS[code], why, ""])
                break
            letter = CODE_LETTERS[status]
            settled.append(letter if not (reason or output) else [letter, reason, output])
            i += 1
            if status == KILLED:  # the child exits after running out of memory
                break
        return settled


def read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def send(fd: int, message: dict) -> None:
    data = json.dumps(message).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(fd, data) :]


def main() -> None:
    cfg = json.loads(sys.argv[1])
    requests, replies = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    set_parent_death_signal()
    sys.path.extend(cfg.get("import_paths", []))
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    zygote = Zygote(cfg)
    send(replies, {"hello": True, "layers": zygote.layers, "facts": zygote.facts()})
    while True:
        try:
            (size,) = struct.unpack(">I", read_exact(requests, 4))
            request = json.loads(read_exact(requests, size))
        except EOFError:
            return
        started = time.perf_counter()
        texts = request["texts"]
        jobs = [
            {"src": j["src"], "inputs": [texts[i] for i in j["inputs"]]} for j in request["jobs"]
        ]
        results = zygote.run_message(jobs)
        elapsed = time.perf_counter() - started
        send(replies, {"id": request["id"], "results": results, "seconds": elapsed})


if __name__ == "__main__":
    main()
