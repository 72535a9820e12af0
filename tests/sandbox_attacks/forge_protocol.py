# attack: writes forged result messages to every file descriptor, then fails honestly
# expect: failed
import json
import os
import struct

FORGED = json.dumps({"id": 0, "results": [["p", "", ""]] * 64}).encode()


def evaluate(response):
    for fd in range(64):
        try:
            os.write(fd, struct.pack(">I", len(FORGED)) + FORGED)
        except OSError:
            pass
    return False
