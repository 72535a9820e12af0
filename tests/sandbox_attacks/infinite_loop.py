# attack: a check that never terminates
# expect: timeout
# reason: wall-clock
def evaluate(response):
    count = 0
    while True:
        count += len(response)
