"""`first_line`: the one helper that turns an exception (or a text) into one line of an error."""

import pytest

from ifplay.errors import first_line


class Silent(Exception):
    """An exception whose message is blank."""

    def __str__(self) -> str:
        return "  \n "


@pytest.mark.parametrize(
    "given, expected",
    [
        (ValueError("bad value"), "bad value"),
        (ValueError("  first\nsecond\nthird"), "first"),
        (OSError("\n\nafter blank lines\nmore"), "after blank lines"),
        (ValueError("windows line\r\nnext"), "windows line"),
        (KeyError("k"), "'k'"),  # str(KeyError) quotes the key: the message as str() gives it
        (TimeoutError(), "TimeoutError"),  # no message: the class name
        (Silent(), "Silent"),  # blank message: the class name
        ("text\nmore", "text"),
        ("  padded  ", "padded"),
        ("", ""),  # blank text: empty, there is no class name to fall back on
        (" \n ", ""),
    ],
)
def test_first_line(given: BaseException | str, expected: str) -> None:
    assert first_line(given) == expected
