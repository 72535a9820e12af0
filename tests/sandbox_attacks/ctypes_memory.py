# attack: reads and writes raw memory through ctypes
# expect: error
import ctypes


def evaluate(response):
    ctypes.memmove(id(True) + 24, id(False) + 24, 8)
    return ctypes.string_at(0, 8) != b""
