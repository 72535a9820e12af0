"""Sentence families: asking questions, asking none, short sentences (content / sentence)."""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import sentence_list, word_list


def count_questions(response: str) -> int:
    """Question marks (ASCII or full-width); a run such as "?!?" or "??" counts once."""
    return len(re.findall(r"[?？][?？!！]*", response))


def has_min_questions(response: str, n: int) -> bool:
    """At least `n` questions."""
    return count_questions(response) >= n


def has_no_questions(response: str) -> bool:
    """No question mark at all."""
    return count_questions(response) == 0


def has_short_sentences(response: str, n: int) -> bool:
    """Every sentence has at most `n` words (and there is at least one sentence)."""
    sentences = sentence_list(response)
    return bool(sentences) and all(len(word_list(sentence)) <= n for sentence in sentences)


FAMILIES = (
    ConstraintFamily(
        id="sentences.questions",
        category="content",
        subcategory="sentence",
        phrasings=(
            "Ask at least {n} questions in your response.",
            "Your answer must include no fewer than {n} questions ending with a question mark.",
            "Pose {n} or more questions to the reader.",
        ),
        checker=has_min_questions,
        sampler=choose(n=(2, 3)),
        conflicts=frozenset({"sentences.no_questions"}),
    ),
    ConstraintFamily(
        id="sentences.no_questions",
        category="content",
        subcategory="sentence",
        phrasings=(
            "Do not ask any questions; your answer must contain no question marks.",
            "Write only statements, without a single question mark.",
            "Avoid questions entirely in your reply.",
        ),
        checker=has_no_questions,
        sampler=choose(),
    ),
    ConstraintFamily(
        id="sentences.max_words",
        category="content",
        subcategory="sentence",
        phrasings=(
            "Keep every sentence to at most {n} words.",
            "No sentence in your answer may be longer than {n} words.",
            "Write short sentences of {n} words or fewer each.",
        ),
        checker=has_short_sentences,
        sampler=choose(n=(20, 25, 30)),
    ),
)
