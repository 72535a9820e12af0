# attack: subprocess deleting a file
# expect: error
import subprocess


def evaluate(response):
    subprocess.run(["rm", "-f", "__VICTIM__"], check=False)
    return True
