"""Punctuation families: no commas, a forbidden mark, every sentence trailing off with an ellipsis
(format / punctuation). Full-width and ideographic forms count as the same mark."""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import has_text, nonblank_lines

COMMAS = ",，、﹐﹑､"
# Forms of each forbidden mark that a reader would take for it.
MARK_VARIANTS = {"!": "!！﹗", ";": ";；﹔", "—": "—―", "&": "&＆﹠"}
ELLIPSES = ("...", "…")


def has_no_commas(response: str) -> bool:
    """No comma of any width or script."""
    return not any(comma in response for comma in COMMAS)


def avoids_mark(response: str, mark: str) -> bool:
    """The punctuation `mark` (in any of its variant forms) appears nowhere."""
    return not any(variant in response for variant in MARK_VARIANTS.get(mark, mark))


def ends_every_sentence_with_ellipsis(response: str) -> bool:
    """Every line ends with "..." or "…", and every sentence-ending run of . ! ? is an ellipsis.

    A run counts as sentence-ending when whitespace or the end follows it, so "3.5" and "a.m.x" are
    fine but "e.g. " is not.
    """
    lines = nonblank_lines(response)
    if not lines or not all(line.endswith(ELLIPSES) for line in lines):
        return False
    for run in re.findall(r"[.!?…。！？]+(?=\s|$)", response):
        if run not in ELLIPSES:
            return False
    return has_text(response)


FAMILIES = (
    ConstraintFamily(
        id="punctuation.no_commas",
        category="format",
        subcategory="punctuation",
        phrasings=(
            "Do not use any commas in your response.",
            "Your answer must not contain a single comma.",
            "Write without commas anywhere.",
        ),
        checker=has_no_commas,
        sampler=choose(),
    ),
    ConstraintFamily(
        id="punctuation.avoid_mark",
        category="format",
        subcategory="punctuation",
        phrasings=(
            "Do not use the character '{mark}' anywhere in your answer.",
            "Avoid the punctuation mark {mark} entirely.",
            "Your reply must not contain '{mark}'.",
        ),
        checker=avoids_mark,
        sampler=choose(mark=tuple(MARK_VARIANTS)),
    ),
    ConstraintFamily(
        id="punctuation.ellipsis_sentences",
        category="format",
        subcategory="punctuation",
        phrasings=(
            "End every sentence with an ellipsis (...) instead of a period.",
            "Each sentence and each line of your answer must trail off with '...'.",
            "Finish all of your sentences with three dots...",
        ),
        checker=ends_every_sentence_with_ellipsis,
        sampler=choose(),
        conflicts=frozenset(
            {
                "format.json",
                "format.quoted",
                "format.title",
                "format.sections",
                "format.headings",
                "format.two_responses",
                "format.divided_paragraphs",
                "format.numbered_list",
                "genre.letter",
                "sentences.questions",
            }
        ),
    ),
)
