# attack: imports the host package to reach its objects
# expect: error
# reason: ModuleNotFoundError
import ifplay.sandbox


def evaluate(response):
    return True
