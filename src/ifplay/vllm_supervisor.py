"""Keep a vLLM server tied to the ifplay process that started it (standard library only).

Run by the vLLM environment's own Python, not imported by ifplay:

    <vllm python> vllm_supervisor.py PARENT_PID -- COMMAND...

It starts COMMAND in a new process group (the vLLM API server and the engine-core process it
spawns), then ends that whole group when any of these happens: it receives SIGTERM or SIGINT, or
PARENT_PID is no longer its parent (ifplay exited or was killed, even with SIGKILL). It exits with
COMMAND's exit status when COMMAND ends by itself. So no server outlives the run that needed it.
"""

import os
import signal
import subprocess
import sys
import time

POLL_S = 0.5
GRACE_S = 10.0


def stop_group(child: subprocess.Popen) -> None:
    """SIGTERM the child's process group, wait up to GRACE_S for the leader, then SIGKILL the
    group (the leader may be gone while its engine-core process still runs)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        if sig == signal.SIGTERM:
            try:
                child.wait(timeout=GRACE_S)
            except subprocess.TimeoutExpired:
                pass


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: vllm_supervisor.py PARENT_PID -- COMMAND...", file=sys.stderr)
        return 2
    parent = int(argv[0])
    child = subprocess.Popen(argv[2:], start_new_session=True)

    def on_signal(signum: int, _frame: object) -> None:
        stop_group(child)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while True:
        code = child.poll()
        if code is not None:
            stop_group(child)
            return code
        if os.getppid() != parent:
            stop_group(child)
            return 1
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
