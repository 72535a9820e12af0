# attack: reads other processes' environment through /proc
# expect: error
import os


def evaluate(response):
    found = ""
    for pid in ("1", str(os.getppid()), "__HOST_PID__"):
        with open(f"/proc/{pid}/environ", "rb") as f:
            found += f.read().decode(errors="replace")
    return "TOKEN" in found
