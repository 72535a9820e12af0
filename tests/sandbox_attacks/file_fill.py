# attack: fills the disk from the scratch directory
# expect: error
def evaluate(response):
    with open("big.bin", "wb") as f:
        for _ in range(1000):
            f.write(b"x" * (1024 * 1024))
    return True
