# attack: explores the host's home and working directories
# expect: error
import os


def evaluate(response):
    names = os.listdir(os.path.expanduser("~")) + os.listdir("__VICTIM_DIR__")
    return len(names) > 0
