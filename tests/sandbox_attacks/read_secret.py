# attack: reads a secret file outside the scratch directory
# expect: error
def evaluate(response):
    with open("__SECRET__") as f:
        return "TOKEN" in f.read()
