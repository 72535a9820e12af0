# attack: calls libc's system() through ctypes
# expect: error
import ctypes


def evaluate(response):
    libc = ctypes.CDLL(None)
    return libc.system(b"touch __VICTIM__.pwned") == 0
