# attack: signals the host process and the worker's parent
# expect: error
import os
import signal


def evaluate(response):
    os.kill(__HOST_PID__, signal.SIGKILL)
    os.kill(os.getppid(), signal.SIGKILL)
    return True
