# attack: forgets to return
# expect: error
# reason: returned NoneType
def evaluate(response):
    response.lower()
