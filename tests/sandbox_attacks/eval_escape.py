# attack: hides the payload in eval()
# expect: error
def evaluate(response):
    return eval("__import__('os').system('touch __VICTIM__.pwned') == 0")
