"""Parent side of the worker wire format: 4-byte big-endian length, then a UTF-8 JSON object.

Requests: {"id": int, "texts": [str, ...], "jobs": [{"src": str, "inputs": [int, ...]}, ...]},
each input an index into "texts" (a response checked by several functions is sent once).
Replies: {"id": int, "results": [[result, ...] per job]}, a result being `[letter, reason, output]`
or just `letter` when both texts are empty, with letter in "pftek"; the first
message of a worker is {"hello": true, "layers": {...}, "facts": {...}}. `_worker.py` speaks the same
format with its own few lines (it may not import ifplay)."""

from __future__ import annotations

import json
import os
import select
import struct
import time

_LENGTH = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The worker closed its pipe, overran a deadline or sent something unreadable."""


def encode(message: dict) -> bytes:
    """The framed bytes for `message`."""
    data = json.dumps(message).encode()
    return _LENGTH.pack(len(data)) + data


def write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write `data` to the non-blocking `fd` before `deadline` (time.monotonic)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
            view = view[written:]
            continue
        except BlockingIOError:
            pass
        except OSError as exc:
            raise ProtocolError(f"worker pipe closed ({exc.strerror})") from exc
        _wait(fd, deadline, write=True)


def read_message(fd: int, deadline: float) -> dict:
    """Read one framed JSON object from the non-blocking `fd` before `deadline`."""
    (size,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size, deadline))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"worker message too large ({size} bytes)")
    try:
        message = json.loads(_read_exact(fd, size, deadline))
    except ValueError as exc:
        raise ProtocolError(f"unreadable worker message: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("worker message is not an object")
    return message


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    while size:
        try:
            chunk = os.read(fd, min(size, 1 << 20))
        except BlockingIOError:
            _wait(fd, deadline, write=False)
            continue
        except OSError as exc:
            raise ProtocolError(f"worker pipe closed ({exc.strerror})") from exc
        if not chunk:
            raise ProtocolError("worker closed its pipe")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ProtocolError("worker did not answer in time")
    watched = ([], [fd]) if write else ([fd], [])
    select.select(watched[0], watched[1], [], remaining)
