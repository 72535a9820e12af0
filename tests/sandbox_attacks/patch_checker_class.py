# attack: patches methods of the checker's classes found through object.__subclasses__
# expect: error
# reason: blocked
def evaluate(response):
    for cls in object.__subclasses__():
        if "take" in vars(cls):
            cls.take = lambda self: "forged"
        for attr in list(vars(cls).values()):
            if callable(attr) and hasattr(attr, "__code__"):
                attr.__code__ = (lambda *a, **k: True).__code__
    return False
