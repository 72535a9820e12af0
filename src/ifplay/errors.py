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
