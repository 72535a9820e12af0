# attack: hard process exit
# expect: killed
import os


def evaluate(response):
    os._exit(0)
