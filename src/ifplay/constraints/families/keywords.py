"""Keyword families: words to include, words to avoid, a word's frequency, a letter's frequency
(content / keyword). Words match whole and ignore case; plurals and other forms do not match."""

import random
import unicodedata
from collections.abc import Mapping
from typing import Any

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose_some
from ifplay.constraints.text import count_whole_word, meets

# Words to use. Words to avoid come from a separate pool, so include and exclude never clash, and none
# of them appears in the template families' fixed phrases and requests.
INCLUDE_WORDS = (
    "balance", "bridge", "candle", "compass", "garden", "harvest", "journey", "lantern",
    "mirror", "orbit", "meadow", "river", "signal", "thunder", "velvet", "window",
)  # fmt: skip
EXCLUDE_WORDS = (
    "actually", "basically", "literally", "really", "very", "simply", "obviously", "stuff",
    "thing", "things", "nice", "amazing",
)  # fmt: skip
COMMON_LETTERS = "abcdeilmnorstu"
RARE_LETTERS = "jqxz"


def includes_keywords(response: str, keywords: list[str]) -> bool:
    """Every keyword occurs at least once as a whole word (case ignored)."""
    return all(count_whole_word(response, keyword) > 0 for keyword in keywords)


def excludes_keywords(response: str, keywords: list[str]) -> bool:
    """No keyword occurs as a whole word (case ignored)."""
    return not any(count_whole_word(response, keyword) > 0 for keyword in keywords)


def has_keyword_frequency(response: str, keyword: str, relation: str, n: int) -> bool:
    """`keyword` occurs as a whole word "at least" `n` times or "at most" `n` times."""
    return meets(count_whole_word(response, keyword), relation, n)


def count_letter(response: str, letter: str) -> int:
    """How often `letter` occurs, ignoring case and accents ("É" counts as "e")."""
    decomposed = unicodedata.normalize("NFKD", response.casefold())
    return decomposed.count(letter.casefold())


def has_letter_frequency(response: str, letter: str, relation: str, n: int) -> bool:
    """The letter occurs "at least" `n` times or "fewer than" `n` times."""
    return meets(count_letter(response, letter), relation, n)


def _times(n: int) -> str:
    """ "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _describe_frequency(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Placeholder values for keywords.frequency: the kwargs plus `times` ("twice")."""
    return {**kwargs, "times": _times(kwargs["n"])}


def _sample_frequency(rng: random.Random) -> dict[str, Any]:
    """A keyword with either "at least" 2-4 or "at most" 1-2 occurrences."""
    keyword = rng.choice(INCLUDE_WORDS)
    if rng.random() < 0.5:
        return {"keyword": keyword, "relation": "at least", "n": rng.choice((2, 3, 4))}
    return {"keyword": keyword, "relation": "at most", "n": rng.choice((1, 2))}


def _sample_letter(rng: random.Random) -> dict[str, Any]:
    """A common letter "at least" 8-20 times, or a rare letter "fewer than" 2-4 times."""
    if rng.random() < 0.5:
        return {
            "letter": rng.choice(COMMON_LETTERS),
            "relation": "at least",
            "n": rng.choice((8, 12, 16, 20)),
        }
    return {
        "letter": rng.choice(RARE_LETTERS),
        "relation": "fewer than",
        "n": rng.choice((2, 3, 4)),
    }


FAMILIES = (
    ConstraintFamily(
        id="keywords.include",
        category="content",
        subcategory="keyword",
        phrasings=(
            "Include these keywords in your response: {keywords}.",
            "Make sure each of the following appears somewhere in your answer: {keywords}.",
            "Your reply must mention {keywords}.",
        ),
        checker=includes_keywords,
        sampler=choose_some("keywords", INCLUDE_WORDS, sizes=(1, 2, 3)),
        repeatable=True,
    ),
    ConstraintFamily(
        id="keywords.exclude",
        category="content",
        subcategory="keyword",
        phrasings=(
            "Do not use any of these words in your response: {keywords}.",
            "Avoid the following words completely: {keywords}.",
            "Your answer must not contain {keywords}.",
        ),
        checker=excludes_keywords,
        sampler=choose_some("keywords", EXCLUDE_WORDS, sizes=(1, 2, 3)),
        repeatable=True,
    ),
    ConstraintFamily(
        id="keywords.frequency",
        category="content",
        subcategory="keyword",
        phrasings=(
            'Use the word "{keyword}" {relation} {times}.',
            'The word "{keyword}" should appear {relation} {times} in your answer.',
            'Mention "{keyword}" {relation} {times}.',
        ),
        checker=has_keyword_frequency,
        sampler=_sample_frequency,
        describe=_describe_frequency,
    ),
    ConstraintFamily(
        id="keywords.letter_frequency",
        category="content",
        subcategory="keyword",
        phrasings=(
            "The letter '{letter}' should appear {relation} {n} times in your response.",
            "Use the letter {letter} {relation} {n} times.",
            "Write so that the letter '{letter}' occurs {relation} {n} times.",
        ),
        checker=has_letter_frequency,
        sampler=_sample_letter,
    ),
)
