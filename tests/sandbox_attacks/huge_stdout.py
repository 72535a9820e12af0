# attack: floods stdout and stderr (the call itself passes)
# expect: passed
import os
import sys


def evaluate(response):
    for _ in range(200):
        print("A" * 100_000)
        sys.stderr.write("B" * 100_000)
    os.write(1, b"C" * 100_000)
    return True
