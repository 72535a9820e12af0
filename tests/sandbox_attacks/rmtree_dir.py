# attack: deletes a whole directory tree
# expect: error
import shutil


def evaluate(response):
    shutil.rmtree("__VICTIM_DIR__")
    return True
