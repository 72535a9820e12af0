# attack: deletes a file outside the scratch directory
# expect: error
import os


def evaluate(response):
    os.remove("__VICTIM__")
    return True
