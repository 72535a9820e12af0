"""Number format families: no digits, at least N numbers, percentages (format / numeric_format).
Digits follow Unicode, so "٣", "３" and "²" are digits too."""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose

# A number: digits with optional thousands separators or a decimal part ("1,000", "3.5").
NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"


def has_no_digits(response: str) -> bool:
    """No digit character at all (numbers must be spelled out)."""
    return not any(char.isdigit() for char in response)


def has_min_numbers(response: str, n: int) -> bool:
    """At least `n` numbers written with digits ("1,000" and "3.5" are one number each)."""
    return len(re.findall(NUMBER_PATTERN, response)) >= n


def has_min_percentages(response: str, n: int) -> bool:
    """At least `n` percentages written as a number and a percent sign ("45%", "3.5 %")."""
    return len(re.findall(NUMBER_PATTERN + r"[ \u00a0]?[%％]", response)) >= n


FAMILIES = (
    ConstraintFamily(
        id="numeric.no_digits",
        category="format",
        subcategory="numeric_format",
        phrasings=(
            "Do not use any digits; spell out every number in words.",
            "Your answer must contain no numerals (0-9); write numbers as words.",
            "Avoid digit characters entirely in the response.",
        ),
        checker=has_no_digits,
        sampler=choose(),
        conflicts=frozenset(
            {
                "numeric.min_numbers",
                "numeric.percentages",
                "format.numbered_list",
                "format.sections",
            }
        ),
    ),
    ConstraintFamily(
        id="numeric.min_numbers",
        category="format",
        subcategory="numeric_format",
        phrasings=(
            "Include at least {n} numbers written in digits.",
            "Mention no fewer than {n} figures using numerals, such as 12 or 3.5.",
            "Back up your answer with {n} or more numbers written as digits.",
        ),
        checker=has_min_numbers,
        sampler=choose(n=(2, 3, 4, 5)),
    ),
    ConstraintFamily(
        id="numeric.percentages",
        category="format",
        subcategory="numeric_format",
        phrasings=(
            "Include at least {n} percentages written with a % sign, like 40%.",
            "State no fewer than {n} figures as percentages (for example 12.5%).",
            "Use {n} or more percentage values with the percent symbol.",
        ),
        checker=has_min_percentages,
        sampler=choose(n=(2, 3)),
    ),
)
