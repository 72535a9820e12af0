# attack: finite but far too much computation
# expect: timeout
def evaluate(response):
    total = 0
    for i in range(10**10):
        total += i % 7
    return total > 0
