# attack: returns a non-bool truthy value
# expect: error
# reason: returned str
def evaluate(response):
    return "yes" if response else "no"
