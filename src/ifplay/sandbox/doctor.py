"""Live check of a Sandbox: which layers are on, and whether real attacks are contained."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from dataclasses import dataclass

from .isolation import IsolationPolicy
from .pool import Sandbox
from .results import Status


@dataclass(frozen=True)
class Probe:
    """One attack the doctor runs: `source` has {secret}, {victim} and {port} placeholders."""

    name: str
    source: str


PROBES = (
    Probe(
        "network: connect to a listener on 127.0.0.1",
        "import socket\n"
        "def evaluate(r):\n"
        "    s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
        "    s.sendall(b'leak')\n"
        "    return True\n",
    ),
    Probe(
        "files: read a secret outside scratch",
        "def evaluate(r):\n    return 'TOKEN' in open({secret!r}).read()\n",
    ),
    Probe(
        "files: overwrite a file outside scratch",
        "def evaluate(r):\n    open({victim!r}, 'w').write('x')\n    return True\n",
    ),
    Probe(
        "processes: os.system",
        "import os\ndef evaluate(r):\n    return os.system('echo x > ' + {victim!r}) == 0\n",
    ),
    Probe(
        "processes: fork",
        "import os\ndef evaluate(r):\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    return True\n",
    ),
    Probe("time: endless loop", "def evaluate(r):\n    while True:\n        pass\n"),
    Probe("memory: 8 GB string", "def evaluate(r):\n    return len('x' * 8_000_000_000) > 0\n"),
)


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and bytes (to prove none arrive)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(0.5)
                try:
                    self.bytes += len(conn.recv(65536))
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def run_doctor(policy: IsolationPolicy | None = None) -> int:
    """Print the isolation report and the outcome of each probe; 0 when all were contained."""
    listener = Listener()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="ifplay-doctor-") as folder:
        secret = os.path.join(folder, "secret.txt")
        victim = os.path.join(folder, "victim.txt")
        for path in (secret, victim):
            with open(path, "w") as f:
                f.write("TOKEN-do-not-leak")
        with Sandbox(workers=1, timeout_s=1.0, memory_mb=256, isolation=policy) as sandbox:
            print(sandbox.isolation)
            print()
            for probe in PROBES:
                source = probe.source.format(secret=secret, victim=victim, port=listener.port)
                result = sandbox.run(source, ["probe"])[0]
                contained = result.status is not Status.PASSED
                failures += not contained
                verdict = "contained" if contained else "NOT CONTAINED"
                print(f"{verdict:<14} {probe.name:<42} {result.status.value}: {result.reason}")
        with open(victim) as f:
            untouched = f.read() == "TOKEN-do-not-leak"
    listener.close()
    leaked = listener.connections or listener.bytes
    print(
        f"{'contained' if not leaked else 'NOT CONTAINED':<14} {'listener received':<42} "
        f"{listener.connections} connections, {listener.bytes} bytes"
    )
    print(
        f"{'contained' if untouched else 'NOT CONTAINED':<14} {'victim file':<42} "
        f"{'unchanged' if untouched else 'changed'}"
    )
    return int(bool(failures or leaked or not untouched))
