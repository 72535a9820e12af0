# attack: sends the response to a listener on 127.0.0.1
# expect: error
import socket


def evaluate(response):
    with socket.create_connection(("127.0.0.1", __PORT__), timeout=2) as conn:
        conn.sendall(response.encode())
    return True
