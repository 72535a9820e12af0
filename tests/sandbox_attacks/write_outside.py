# attack: overwrites a file outside the scratch directory
# expect: error
def evaluate(response):
    with open("__VICTIM__", "w") as f:
        f.write("overwritten")
    return True
