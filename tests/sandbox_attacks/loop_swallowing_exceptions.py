# attack: an endless loop that swallows every exception, KeyboardInterrupt and SystemExit included
# expect: timeout
import time


def evaluate(response):
    while True:
        try:
            time.sleep(10)
        except BaseException:
            pass
