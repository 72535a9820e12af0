# attack: slow but finite code (3 s of sleeping, limit is 1 s)
# expect: timeout
import time


def evaluate(response):
    time.sleep(3)
    return True
