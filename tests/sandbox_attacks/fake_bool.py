# attack: returns an object that pretends to be True
# expect: error
# reason: not bool
class Verdict(int):
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    __hash__ = int.__hash__


def evaluate(response):
    return Verdict(1)
