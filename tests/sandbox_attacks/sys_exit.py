# attack: exits the interpreter through SystemExit
# expect: error
# reason: SystemExit
import sys


def evaluate(response):
    sys.exit(0)
