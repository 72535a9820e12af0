# attack: reaches a secret file through a symlink made in the scratch directory
# expect: error
import os


def evaluate(response):
    os.symlink("__SECRET__", "notes.txt")
    with open("notes.txt") as f:
        return "TOKEN" in f.read()
