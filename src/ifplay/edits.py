"""Token-level edit distance between two texts (how much a SPaR pair differs)."""

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words and single punctuation marks, in order."""
    return _TOKEN.findall(text)


def token_edit_distance(first: str, second: str) -> int:
    """Levenshtein distance over `tokens` (insertions, deletions and substitutions of tokens)."""
    a, b = tokens(first), tokens(second)
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, start=1):
        current = [i]
        for j, right in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]
