# attack: unbounded recursion
# expect: error
# reason: RecursionError
def count_words(text, depth=0):
    return count_words(text, depth + 1)


def evaluate(response):
    return count_words(response) > 3
