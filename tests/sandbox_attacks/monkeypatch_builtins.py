# attack: monkeypatches builtins so a non-bool looks like a pass
# expect: error
# reason: not bool
import builtins


def evaluate(response):
    builtins.isinstance = lambda obj, cls: True
    builtins.type = lambda obj: bool
    builtins.bool = str
    return "True"
