"""Length families: words, sentences, paragraphs (format / length).

Sampled ranges are chosen so that any minimum is <= any maximum, and so that the line-based families
(lists, dialogue, sections) fit under the smallest sentence limit: any two compatible families can be
satisfied together. Three or more are best effort (e.g. 6 bullets + 6 numbered items > 6 sentences).
"""

import random
from typing import Any

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import paragraph_list, sentence_list, word_list

MIN_WORDS = (30, 50, 80, 100, 120)
MAX_WORDS = (120, 150, 200, 250, 300)
MIN_SENTENCES = (2, 3, 4, 5)
MAX_SENTENCES = (6, 8, 10, 12)
PARAGRAPHS = (2, 3, 4, 5)
FIRST_WORDS = ("Today", "Next", "Also", "Finally", "Overall", "Still", "Later", "Meanwhile")


def has_min_words(response: str, n: int) -> bool:
    """At least `n` words."""
    return len(word_list(response)) >= n


def has_max_words(response: str, n: int) -> bool:
    """At most `n` words (and at least one)."""
    return 0 < len(word_list(response)) <= n


def has_min_sentences(response: str, n: int) -> bool:
    """At least `n` sentences."""
    return len(sentence_list(response)) >= n


def has_max_sentences(response: str, n: int) -> bool:
    """At most `n` sentences (and at least one)."""
    return 0 < len(sentence_list(response)) <= n


def has_paragraphs(response: str, n: int) -> bool:
    """Exactly `n` paragraphs separated by blank lines."""
    return len(paragraph_list(response)) == n


def has_paragraph_first_word(response: str, n: int, nth: int, word: str) -> bool:
    """Exactly `n` paragraphs (blank-line separated), the `nth` (1-based) starting with `word`
    (case and leading punctuation or markdown marks ignored)."""
    paragraphs = paragraph_list(response)
    if len(paragraphs) != n or not 1 <= nth <= n:
        return False
    words = word_list(paragraphs[nth - 1])
    return bool(words) and words[0].lower() == word.lower()


def sample_paragraph_first_word(rng: random.Random) -> dict[str, Any]:
    """n paragraphs, which one (2..n: the first paragraph's opening is left to other families), a word."""
    n = rng.choice(PARAGRAPHS)
    return {"n": n, "nth": rng.randint(2, n), "word": rng.choice(FIRST_WORDS)}


FAMILIES = (
    ConstraintFamily(
        id="length.min_words",
        category="format",
        subcategory="length",
        phrasings=(
            "Your answer must be at least {n} words long.",
            "Write no fewer than {n} words.",
            "Make the response {n} words or longer.",
            "Use a minimum of {n} words in your reply.",
        ),
        checker=has_min_words,
        sampler=choose(n=MIN_WORDS),
    ),
    ConstraintFamily(
        id="length.max_words",
        category="format",
        subcategory="length",
        phrasings=(
            "Keep your answer to at most {n} words.",
            "Do not write more than {n} words.",
            "Your reply must stay within {n} words.",
            "Answer in {n} words or fewer.",
        ),
        checker=has_max_words,
        sampler=choose(n=MAX_WORDS),
    ),
    ConstraintFamily(
        id="length.min_sentences",
        category="format",
        subcategory="length",
        phrasings=(
            "Write at least {n} sentences.",
            "Your response should contain no fewer than {n} sentences.",
            "Use {n} or more sentences in your answer.",
        ),
        checker=has_min_sentences,
        sampler=choose(n=MIN_SENTENCES),
    ),
    ConstraintFamily(
        id="length.max_sentences",
        category="format",
        subcategory="length",
        phrasings=(
            "Answer in at most {n} sentences.",
            "Do not use more than {n} sentences.",
            "Limit your reply to {n} sentences or fewer.",
        ),
        checker=has_max_sentences,
        sampler=choose(n=MAX_SENTENCES),
    ),
    ConstraintFamily(
        id="length.paragraphs",
        category="format",
        subcategory="length",
        phrasings=(
            "Write exactly {n} paragraphs, separated from each other by a blank line.",
            "Your response must have {n} paragraphs, with an empty line between paragraphs.",
            "Organize the answer into exactly {n} paragraphs; put a blank line between them.",
        ),
        checker=has_paragraphs,
        sampler=choose(n=PARAGRAPHS),
        conflicts=frozenset({"format.divided_paragraphs", "format.json"}),
    ),
    ConstraintFamily(
        id="length.paragraph_first_word",
        category="format",
        subcategory="length",
        phrasings=(
            "Write exactly {n} paragraphs separated by blank lines, and begin paragraph number {nth} "
            "with the word '{word}'.",
            "Use {n} paragraphs with an empty line between them; the first word of paragraph {nth} "
            "must be '{word}'.",
            "Split your reply into {n} paragraphs (blank line between them) and open paragraph {nth} "
            "with '{word}'.",
        ),
        checker=has_paragraph_first_word,
        sampler=sample_paragraph_first_word,
        conflicts=frozenset(
            {
                "length.paragraphs",
                "format.divided_paragraphs",
                "format.json",
                "format.two_responses",
                "format.title",
                "format.sections",
                "format.bullets",
                "format.numbered_list",
                "genre.letter",
                "genre.dialogue",
                "language.response",
                "case.uppercase",
            }
        ),
    ),
)
