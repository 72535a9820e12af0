"""User-facing errors: one line that names the file, field or row at fault.

The CLI prints `str(error)` on stderr and exits with `exit_code`; no traceback is shown.
"""


class IfplayError(Exception):
    """A problem the user can fix (bad config, missing file, bad row). Message is one line."""

    exit_code: int = 2


class ConfigError(IfplayError):
    """A YAML declaration is malformed: the message is `<file>: <field path>: <problem>`."""


class DataError(IfplayError):
    """Input data is unusable: the message names the file and the row or column."""


def first_line(error: BaseException | str) -> str:
    """The first line of an exception's message (or of a text), for a one-line error.

    In: an exception, or text. Out: its message (`str(error)`) stripped of surrounding whitespace,
    up to the first line break, without the exception's type name. A message that is empty or only
    whitespace gives the exception's class name (`TimeoutError`), so the result is never empty for
    an exception; blank text gives "".
    """
    text = str(error).strip()
    if text:
        return text.splitlines()[0]
    return "" if isinstance(error, str) else type(error).__name__
