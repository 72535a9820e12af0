"""Plain-text seed instructions: one per line, as AutoIF's seed_instruction.txt."""

from __future__ import annotations

from pathlib import Path

from ifplay.errors import DataError


def load_seed_instructions(path: str | Path) -> list[str]:
    """The instructions in `path` (UTF-8, one per line), stripped; blank lines and repeats dropped.

    Raises DataError naming the file when it is missing, unreadable, not UTF-8 or has no instruction.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: seed instruction file not found") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read seed instructions ({error.strerror})") from None
    instructions = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not instructions:
        raise DataError(f"{path}: no seed instructions (the file is empty)")
    return instructions
