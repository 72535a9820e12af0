"""Verifier-guided repair: rewrite a failing answer so that it satisfies its constraints, by code.

A repair changes an answer only where a constraint demands it (lowercase it, drop its commas, add the
closing phrase, wrap it in quotes, trim it to a word limit...), so a repaired answer and the original
make a minimally different pair without needing a model stronger than the one being trained.

    repair_answer(answer, constraints, others=()) -> str | None

applies the repair of every constraint the answer fails, in a fixed order (trims, then text edits, then
layout, then additions, then case, then wrappers), and returns the result only when the reference
checker of **every** constraint passes on it; otherwise None (a family without a repair, or a repair
that did not work). `others` are other answers to the same prompt (two_responses joins two of them).
`finish_answer` cuts an answer that ran into the token cap back to its last complete sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ifplay.constraints.base import Constraint
from ifplay.constraints.families.style import CONTRACTION_PATTERN
from ifplay.constraints.text import SENTENCE_BREAK_PATTERN, has_text, sentence_list, word_list

Repair = Callable[..., str | None]

POSTSCRIPT_NOTES = (
    "I hope this is useful.",
    "Feel free to ask for more detail.",
    "Thank you for the question.",
)


CODE_FENCE = "```"


def finish_answer(answer: str) -> str:
    """`answer` up to the end of its last complete sentence (., !, ? or … before whitespace or the end,
    closing quotes and brackets kept) or of its last finished code block; a code block cut off
    mid-code is dropped from its opening fence. "" when nothing is complete."""
    if answer.count(CODE_FENCE) % 2:
        answer = answer[: answer.rfind(CODE_FENCE)]
    fences = [m.start() for m in re.finditer(re.escape(CODE_FENCE), answer)]
    blocks = list(zip(fences[::2], fences[1::2], strict=True))
    ends = [
        m.end()
        for m in re.finditer(r"[.!?…][\"'”’)\]*]*(?=\s|$)", answer)
        if not any(start < m.start() < close for start, close in blocks)
    ]
    ends += [close + len(CODE_FENCE) for _, close in blocks]  # a finished code block ends too
    return answer[: max(ends)].rstrip() if ends else ""


def _sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence of `text` (at each sentence break, and the end)."""
    ends = [match.start() for match in re.finditer(SENTENCE_BREAK_PATTERN, text) if match.start()]
    return [*ends, len(text)]


def longest_prefix_that_fits(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest prefix of `text` ending at a sentence end for which `fits(prefix)`; None if none."""
    for end in reversed(_sentence_ends(text)):
        prefix = text[:end].rstrip()
        if has_text(prefix) and fits(prefix):
            return prefix
    return None


def _max_words(text: str, n: int) -> str | None:
    return longest_prefix_that_fits(text, lambda prefix: len(word_list(prefix)) <= n)


def _max_sentences(text: str, n: int) -> str | None:
    return longest_prefix_that_fits(text, lambda prefix: len(sentence_list(prefix)) <= n)


def _no_commas(text: str) -> str | None:
    if CODE_FENCE in text:  # commas in code are syntax: removing them breaks the code
        return None
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    return re.sub(r"\s*[,，]\s*", " ", text)


def _avoid_mark(text: str, mark: str) -> str | None:
    if CODE_FENCE in text:  # as in _no_commas: a mark in code is syntax
        return None
    replacement = "." if mark in "!?;" else ""
    return text.replace(mark, replacement)


def _no_questions(text: str) -> str:
    return text.replace("?", ".").replace("？", "。")


_EXPANSIONS = {
    "can't": "cannot",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
}
_SUFFIXES = {
    "n't": " not",
    "'re": " are",
    "'ve": " have",
    "'ll": " will",
    "'m": " am",
    "'d": " would",
}


def _expand(match: re.Match[str]) -> str:
    word = match.group(0)
    plain = word.replace("’", "'")
    lower = plain.lower()
    if lower in _EXPANSIONS:
        full = _EXPANSIONS[lower]
    elif lower.endswith("'s"):
        full = plain[:-2] + " is"
    else:
        suffix = next((s for s in _SUFFIXES if lower.endswith(s)), None)
        if suffix is None:
            return word
        full = plain[: -len(suffix)] + _SUFFIXES[suffix]
    if word[:1].isupper():
        full = full[:1].upper() + full[1:]
    return full.upper() if word.isupper() and len(word) > 3 else full


def _no_contractions(text: str) -> str:
    return re.sub(CONTRACTION_PATTERN, _expand, text, flags=re.I)


def _paragraphs(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n[ \t\r\f\v]*\n", text) if has_text(block)]


def _regroup(text: str, n: int) -> list[str] | None:
    """The paragraphs of `text` merged (the last ones, joined by a line break) or split (the longest,
    at a middle sentence break) until there are exactly `n`; None when there are too few sentences."""
    blocks = _paragraphs(text)
    while len(blocks) > n:
        blocks[-2:] = [blocks[-2] + "\n" + blocks[-1]]
    while len(blocks) < n:
        index = max(range(len(blocks)), key=lambda i: len(_sentence_ends(blocks[i])), default=None)
        if index is None:
            return None
        ends = _sentence_ends(blocks[index])[:-1]
        if not ends:
            return None
        cut = ends[len(ends) // 2]
        head, tail = blocks[index][:cut].strip(), blocks[index][cut:].strip()
        if not (has_text(head) and has_text(tail)):
            return None
        blocks[index : index + 1] = [head, tail]
    return blocks


def _paragraph_count(text: str, n: int) -> str | None:
    blocks = _regroup(text, n)
    return "\n\n".join(blocks) if blocks else None


def _divided_paragraphs(text: str, n: int) -> str | None:
    blocks = _regroup(re.sub(r"^[^\S\n]*\*\*\*[^\S\n]*$", "", text, flags=re.M), n)
    return "\n\n***\n\n".join(blocks) if blocks else None


_BULLET = re.compile(r"^[ \t]*(?:[*\-•]|[0-9]+[.)])[ \t]+")


def _bullets(text: str, n: int) -> str | None:
    """Keep the first `n` bullet lines (dropping later ones), or turn sentences into `n` bullets."""
    lines = text.splitlines()
    bullet_rows = [i for i, line in enumerate(lines) if re.match(r"^[ \t]*[*\-][ \t]+\S", line)]
    if len(bullet_rows) >= n:
        drop = set(bullet_rows[n:])
        return "\n".join(line for i, line in enumerate(lines) if i not in drop).strip()
    sentences = [_BULLET.sub("", sentence) for sentence in sentence_list(text)]
    sentences = [s.strip("*-• ") for s in sentences if len(word_list(s)) >= 2]
    if len(sentences) < n:
        return None
    intro = sentences[: len(sentences) - n][:1]
    items = [f"* {sentence}" for sentence in sentences[len(sentences) - n :]]
    return "\n\n".join([*intro, "\n".join(items)]) if intro else "\n".join(items)


def _highlights(text: str, n: int) -> str | None:
    """Wrap the first `n` plain sentences (no markdown marks inside) in *...*."""
    candidates = [s for s in sentence_list(text) if "*" not in s and not _BULLET.match(s)]
    candidates = [s for s in candidates if not s.startswith(("#", ">", "|"))]
    if len(candidates) < n:
        return None
    for sentence in candidates[:n]:
        text = text.replace(sentence, f"*{sentence}*", 1)
    return text


def _paragraph_first_word(text: str, n: int, nth: int, word: str) -> str | None:
    blocks = _regroup(text, n)
    if not blocks or not 1 <= nth <= n:
        return None
    block = blocks[nth - 1]
    blocks[nth - 1] = f"{word.capitalize()} {block[:1].lower()}{block[1:]}"
    return "\n\n".join(blocks)


def _answer_choice(text: str, options: list[str]) -> str:
    return f"{text.rstrip()}\n\n{options[len(text) % len(options)]}"


def _title(text: str) -> str:
    first = next(iter(_paragraphs(text)), text)
    words = word_list(first)[:6]
    title = " ".join(words).title() if words else "Answer"
    return f"<<{title}>>\n\n{text.lstrip()}"


def _capital_words(text: str, relation: str, n: int) -> str | None:
    """ "fewer than n": lowercase every all-capital word; "at least n": capitalise the first n long words."""
    if relation == "fewer than":
        return re.sub(
            r"\b[^\W\d_]{2,}\b",
            lambda m: m.group(0).lower() if m.group(0).isupper() else m.group(0),
            text,
        )
    chosen: list[str] = []
    for word in re.findall(r"\b[^\W\d_]{4,}\b", text):
        if word.lower() not in chosen:
            chosen.append(word.lower())
        if len(chosen) == n:
            break
    for word in chosen:
        text = re.sub(rf"\b{re.escape(word)}\b", word.upper(), text, flags=re.I)
    return text


def _postscript(text: str, marker: str) -> str:
    note = POSTSCRIPT_NOTES[len(text) % len(POSTSCRIPT_NOTES)]
    return f"{text.rstrip()}\n\n{marker} {note}"


def _json(text: str) -> str:
    return json.dumps({"answer": text.strip()}, ensure_ascii=False, indent=2)


def _quoted(text: str) -> str:
    return '"' + text.strip().strip('"“”') + '"'


# family id -> (order, repair). Lower orders run first: trims, text edits, layout, additions, case,
# wrappers. A family missing here has no repair: only answers that already pass it are kept.
REPAIRS: dict[str, tuple[int, Repair]] = {
    "length.max_words": (0, _max_words),
    "length.max_sentences": (0, _max_sentences),
    "punctuation.avoid_mark": (1, _avoid_mark),
    "punctuation.no_commas": (1, _no_commas),
    "sentences.no_questions": (1, _no_questions),
    "style.no_contractions": (1, _no_contractions),
    "length.paragraphs": (2, _paragraph_count),
    "format.divided_paragraphs": (2, _divided_paragraphs),
    "format.bullets": (2, _bullets),
    "format.highlights": (2, _highlights),
    "length.paragraph_first_word": (2, _paragraph_first_word),
    "format.title": (3, _title),
    "format.postscript": (3, _postscript),
    "format.answer_choice": (3, _answer_choice),
    "format.end_phrase": (3, lambda text, phrase: f"{text.rstrip()}\n\n{phrase}"),
    "format.start_phrase": (3, lambda text, phrase: f"{phrase} {text.lstrip()}"),
    "format.repeat_request": (3, lambda text, request: f"{request}\n\n{text.lstrip()}"),
    "case.capital_words": (4, _capital_words),
    "case.lowercase": (4, lambda text: text.lower()),
    "case.uppercase": (4, lambda text: text.upper()),
    "format.quoted": (5, _quoted),
    "format.json": (5, _json),
}


def repairable(family_id: str) -> bool:
    """True when the family has a repair (two_responses counts: it joins two answers)."""
    return family_id in REPAIRS or family_id == "format.two_responses"


def repair_answer(
    answer: str, constraints: Sequence[Constraint], others: Sequence[str] = ()
) -> str | None:
    """`answer` rewritten to satisfy every constraint, or None (see the module docstring).

    An answer that already passes every constraint is returned unchanged.
    """
    if all(constraint.check(answer) for constraint in constraints):
        return answer
    text = answer.strip()
    failing = [c for c in constraints if not c.check(text)]
    for constraint in sorted(failing, key=lambda c: REPAIRS.get(c.family_id, (9, None))[0]):
        text = _apply(text, constraint, others)
        if text is None:
            return None
    if all(constraint.check(text) for constraint in constraints):
        return text
    return None


def _apply(text: str, constraint: Constraint, others: Sequence[str]) -> str | None:
    """One constraint's repair on `text` (skipped when `text` already passes it)."""
    if constraint.check(text):
        return text
    if constraint.family_id == "format.two_responses":
        second = next((o.strip() for o in others if has_text(o) and o.strip() != text), None)
        return f"{text}\n\n******\n\n{second}" if second else None
    if constraint.family_id not in REPAIRS:
        return None
    kwargs: dict[str, Any] = dict(constraint.kwargs)
    return REPAIRS[constraint.family_id][1](text, **kwargs)
