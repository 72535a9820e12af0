# attack: a helper thread tries to write outside the scratch dir while the check waits for it
# expect: error
# reason: blocked
import threading
import time


def _later():
    for _ in range(5):
        try:
            with open("__VICTIM__", "w") as f:
                f.write("from a thread")
        except OSError:
            pass
        time.sleep(0.01)


def evaluate(response):
    worker = threading.Thread(target=_later, daemon=True)
    worker.start()
    worker.join(timeout=0.5)
    return True
