"""One Levenshtein distance over sequences, counted in tokens (SPaR's pairs) or words (Argilla)."""

import pytest

from ifplay.edits import levenshtein, token_edit_distance, tokens, word_edit_distance


@pytest.mark.parametrize(
    "first, second, distance",
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        (["a", "b", "c"], ["a", "x", "c", "d"], 2),
        ((1, 2, 3), (3, 2, 1), 2),
    ],
)
def test_levenshtein(first, second, distance) -> None:
    assert levenshtein(first, second) == distance == levenshtein(second, first)


@pytest.mark.parametrize(
    "first, second, in_tokens, in_words",
    [
        ("The cat sat.", "The cat sat.", 0, 0),
        ("The cat sat.", "The dog sat!", 2, 2),  # tokens: cat/dog, ./! ; words: cat/dog, sat./sat!
        ("", "two words", 2, 2),
        ("a b c", "a x c d", 2, 2),
        ("Yes, sure.", "Yes sure", 2, 2),  # tokens: drop , and . ; words: Yes,/Yes and sure./sure
        ("r", "r, then more.", 4, 3),  # tokens: , then more . ; words: r,/r then more.
    ],
)
def test_units(first: str, second: str, in_tokens: int, in_words: int) -> None:
    assert token_edit_distance(first, second) == in_tokens
    assert word_edit_distance(first, second) == in_words


def test_tokens_split_punctuation_off_words() -> None:
    assert tokens("Hi, it's 5pm!") == ["Hi", ",", "it", "'", "s", "5pm", "!"]
