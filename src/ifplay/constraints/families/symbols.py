"""Symbol families: a given symbol N times, N emoji (content / symbol)."""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose

SYMBOLS = ("→", "★", "✓", "§", "@", "#", "•", "~")
# Emoji: pictographs, emoticons, transport, supplemental symbols, miscellaneous symbols and dingbats;
# the skin-tone modifiers (U+1F3FB..U+1F3FF) are left out.
EMOJI_PATTERN = (
    "[\U0001f300-\U0001f3fa\U0001f400-\U0001f64f\U0001f680-\U0001f6ff"
    "\U0001f900-\U0001f9ff\U0001fa70-\U0001faff\u2600-\u27bf]"
)


def has_symbol_count(response: str, symbol: str, n: int) -> bool:
    """`symbol` appears at least `n` times."""
    return response.count(symbol) >= n


def count_emoji(response: str) -> int:
    """Emoji code points (see EMOJI_PATTERN); each part of a joined sequence, such as a family
    emoji, counts."""
    return len(re.findall(EMOJI_PATTERN, response))


def has_min_emoji(response: str, n: int) -> bool:
    """At least `n` emoji."""
    return count_emoji(response) >= n


FAMILIES = (
    ConstraintFamily(
        id="symbols.include",
        category="content",
        subcategory="symbol",
        phrasings=(
            "Use the symbol {symbol} at least {n} times in your answer.",
            "Your response must contain the character '{symbol}' no fewer than {n} times.",
            "Include {symbol} {n} or more times.",
        ),
        checker=has_symbol_count,
        sampler=choose(symbol=SYMBOLS, n=(2, 3, 4)),
        repeatable=True,
    ),
    ConstraintFamily(
        id="symbols.emoji",
        category="content",
        subcategory="symbol",
        phrasings=(
            "Include at least {n} emoji in your response.",
            "Decorate your answer with no fewer than {n} emoji.",
            "Use {n} or more emoji somewhere in the reply.",
        ),
        checker=has_min_emoji,
        sampler=choose(n=(2, 3, 4)),
    ),
)
