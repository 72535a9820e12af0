"""Pure text helpers shared by the checkers: words, sentences, paragraphs, whole-word counts.

Every function here takes plain strings and uses only `re`, so the verifier-source builder can copy it
verbatim into a standalone verifier.
"""

import re

# A word: letters or digits, with inner apostrophes or hyphens kept ("don't", "well-known", "3.5" is two).
WORD_PATTERN = r"[^\W_]+(?:['’\-][^\W_]+)*"
# Sentence boundaries: . ! ? … followed by whitespace, CJK stops (no space needed), or a line break.
SENTENCE_BREAK_PATTERN = r"(?<=[.!?…])\s+|(?<=[。！？])\s*|\n"


def has_text(text: str) -> bool:
    """True when `text` holds at least one letter or digit (any script)."""
    return re.search(r"[^\W_]", text) is not None


def word_list(text: str) -> list[str]:
    """The words of `text` (see WORD_PATTERN); a run of CJK characters counts as one word."""
    return re.findall(WORD_PATTERN, text)


def sentence_list(text: str) -> list[str]:
    """The sentences of `text`, stripped; pieces without a letter or digit are dropped.

    Lines always end a sentence, so each bullet or heading counts as one; abbreviations such as "e.g."
    followed by a space also end one (a deliberate, predictable simplification).
    """
    pieces = re.split(SENTENCE_BREAK_PATTERN, text)
    return [piece.strip() for piece in pieces if has_text(piece)]


def paragraph_list(text: str) -> list[str]:
    """Blocks of `text` separated by blank lines, stripped; blocks without a letter or digit are dropped."""
    blocks = re.split(r"\n[ \t\r\f\v]*\n", text)
    return [block.strip() for block in blocks if has_text(block)]


def count_whole_word(text: str, word: str) -> int:
    """How often `word` (or phrase) occurs in `text` as a whole word, ignoring case."""
    pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
    return len(re.findall(pattern, text, flags=re.IGNORECASE))


def meets(count: int, relation: str, n: int) -> bool:
    """`count` compared with `n` by "at least", "at most" or "fewer than"; KeyError for others."""
    return {"at least": count >= n, "at most": count <= n, "fewer than": count < n}[relation]


def squash_spaces(text: str) -> str:
    """`text` with every run of whitespace replaced by one space and the ends stripped."""
    return " ".join(text.split())


def nonblank_lines(text: str) -> list[str]:
    """The lines of `text` that hold something other than whitespace, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]
