# attack: raises its own resource limits before a memory grab
# expect: error
# reason: blocked
import resource


def evaluate(response):
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return len(bytearray(2 * 1024**3)) > 0
