"""Letter case families: all lowercase, all uppercase, how many words in capitals
(format / character_format). Case follows Unicode, so accented and non-Latin letters count."""

import re
import unicodedata

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import meets


def _is_titlecase_letter(char: str) -> bool:
    """Unicode titlecase letters such as "ǅ" are half upper, half lower: they fit neither case."""
    return unicodedata.category(char) == "Lt"


def is_all_lowercase(response: str) -> bool:
    """No uppercase (or titlecase) letter anywhere, and at least one lowercase letter."""
    return any(char.islower() for char in response) and not any(
        char.isupper() or _is_titlecase_letter(char) for char in response
    )


def is_all_uppercase(response: str) -> bool:
    """No lowercase (or titlecase) letter anywhere, and at least one uppercase letter."""
    return any(char.isupper() for char in response) and not any(
        char.islower() or _is_titlecase_letter(char) for char in response
    )


def count_capital_words(response: str) -> int:
    """Words of two or more letters written entirely in capitals ("NASA", "ÉTÉ"; not "I" or "A")."""
    return sum(1 for word in re.findall(r"[^\W\d_]{2,}", response) if word.isupper())


def has_capital_words(response: str, relation: str, n: int) -> bool:
    """The number of all-capital words is "at least" `n` or "fewer than" `n`."""
    return meets(count_capital_words(response), relation, n)


FAMILIES = (
    ConstraintFamily(
        id="case.lowercase",
        category="format",
        subcategory="character_format",
        phrasings=(
            "Write your entire response in lowercase letters; no capital letters at all.",
            "Use only lowercase letters throughout your answer.",
            "Do not use any uppercase letters anywhere in the reply.",
        ),
        checker=is_all_lowercase,
        sampler=choose(),
        conflicts=frozenset({"case.uppercase", "case.capital_words"}),
    ),
    ConstraintFamily(
        id="case.uppercase",
        category="format",
        subcategory="character_format",
        phrasings=(
            "Write your whole answer in capital letters only.",
            "Your entire response must be in uppercase; no lowercase letters.",
            "RESPOND USING ONLY UPPERCASE LETTERS.",
        ),
        checker=is_all_uppercase,
        sampler=choose(),
        conflicts=frozenset({"case.capital_words"}),
    ),
    ConstraintFamily(
        id="case.capital_words",
        category="format",
        subcategory="character_format",
        phrasings=(
            "Use {relation} {n} words written entirely in capital letters.",
            "The number of fully capitalized words (like WORD) must be {relation} {n}.",
            "Include {relation} {n} words in ALL CAPS.",
        ),
        checker=has_capital_words,
        sampler=choose(relation=("at least", "fewer than"), n=(2, 3, 4, 5)),
    ),
)
