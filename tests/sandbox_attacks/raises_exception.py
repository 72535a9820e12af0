# attack: raises while checking
# expect: error
# reason: ValueError
def evaluate(response):
    first = response.split()[0]
    return int(first) > 3
