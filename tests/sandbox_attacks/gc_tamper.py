# attack: finds the checker's objects through the garbage collector
# expect: error
# reason: blocked
import gc


def evaluate(response):
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "inputs" in obj:
            obj["inputs"] = ["x"]
    return False
