# attack: walks up the stack to rewrite the checker's state
# expect: error
# reason: blocked
import sys


def evaluate(response):
    frame = sys._getframe(1)
    frame.f_globals["PASSED"] = 2
    return False
