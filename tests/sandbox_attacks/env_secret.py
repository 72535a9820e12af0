# attack: looks for a secret in the environment; passes only if it leaked
# expect: failed
import os


def evaluate(response):
    return any("TOKEN" in value for value in os.environ.values())
