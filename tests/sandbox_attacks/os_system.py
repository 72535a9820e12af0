# attack: shell command through os.system
# expect: error
# reason: os.system
import os


def evaluate(response):
    os.system("echo pwned > __VICTIM__")
    return True
