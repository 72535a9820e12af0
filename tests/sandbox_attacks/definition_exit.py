# attack: kills its own process while the module is being defined
# expect: killed
# reason: defining
import os

os._exit(1)


def evaluate(response):
    return True
