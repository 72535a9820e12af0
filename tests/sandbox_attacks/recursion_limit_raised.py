# attack: lifts the recursion limit, then recurses through C calls until the C stack overflows
# expect: killed
# reason: SIGSEGV
import sys

sys.setrecursionlimit(10**7)


def nest(depth):
    return nest.__call__(depth + 1)


def evaluate(response):
    return nest(0) > len(response)
