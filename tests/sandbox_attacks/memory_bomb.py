# attack: one huge allocation
# expect: killed
# reason: memory limit
def evaluate(response):
    padded = response * (10**10)
    return len(padded) > 0
