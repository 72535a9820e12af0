"""Edit distance between two texts, in a stated unit.

One Levenshtein implementation (`levenshtein`, over any sequences) serves two units, and every place
that stores or shows a distance says which one:

- tokens (`token_edit_distance`: words and single punctuation marks): the `edit_distance` column of
  SPaR's `actor_dpo` pairs and the `edit_distance` figures of its stats.json;
- words (`word_edit_distance`: whitespace-separated words): the `edit_distance` metadata of pairs
  pushed to Argilla (`ifplay annotate`), for every method.
"""

import re
from collections.abc import Hashable, Sequence

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """Words and single punctuation marks, in order."""
    return _TOKEN.findall(text)


def levenshtein(first: Sequence[Hashable], second: Sequence[Hashable]) -> int:
    """Insertions, deletions and substitutions of items that turn one sequence into the other."""
    a, b = (first, second) if len(first) >= len(second) else (second, first)
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, start=1):
        current = [i]
        for j, right in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]


def token_edit_distance(first: str, second: str) -> int:
    """Levenshtein distance in tokens (`tokens`: words and single punctuation marks)."""
    return levenshtein(tokens(first), tokens(second))


def word_edit_distance(first: str, second: str) -> int:
    """Levenshtein distance in words (`str.split`: runs of non-whitespace, punctuation attached)."""
    return levenshtein(first.split(), second.split())
