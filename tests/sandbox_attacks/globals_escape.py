# attack: reaches the checker's module through object.__subclasses__ and patches it to fake a pass
# expect: failed
def evaluate(response):
    for cls in object.__subclasses__():
        for attr in vars(cls).values():
            checker = getattr(attr, "__globals__", None)
            if checker and "write_slot" in checker:
                checker["FAILED"] = checker["PASSED"]
                checker["SLOT"] = None
                checker["type"] = lambda obj: bool
                checker["write_slot"] = lambda *args, **kwargs: None
    return False
