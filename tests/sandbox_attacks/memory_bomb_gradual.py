# attack: memory grown step by step
# expect: killed
# reason: memory limit
def evaluate(response):
    hoard = []
    while True:
        hoard.append(bytearray(8 * 1024 * 1024))
