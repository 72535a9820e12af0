# attack: fork bomb
# expect: error
# reason: blocked
import os


def evaluate(response):
    while True:
        os.fork()
