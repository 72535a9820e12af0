# attack: hangs while the module is being defined
# expect: timeout
# reason: defining
while True:
    pass


def evaluate(response):
    return True
