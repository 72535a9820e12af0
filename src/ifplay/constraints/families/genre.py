"""Genre families with a checkable shape: a two-person dialogue script, a letter (content / genre).
Poems, stories and the like have no reliable code check and are left to LLM judges."""

import random
import re
from typing import Any

from ifplay.constraints.base import ConstraintFamily, quote_list
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import has_text, nonblank_lines

SPEAKER_PAIRS = (("Alex", "Sam"), ("Maya", "Leo"), ("Nora", "Ivan"), ("Lena", "Omar"))
RECIPIENTS = ("Ms. Rivera", "Mr. Okafor", "Dr. Lindqvist", "Professor Chen", "Aunt Rosa")
CLOSINGS = ("Sincerely", "Best regards", "Kind regards", "Warm wishes", "Yours truly")


def is_dialogue(response: str, speakers: list[str], turns: int) -> bool:
    """Every non-empty line is "<speaker>: <text>" for one of `speakers` (case and markdown emphasis
    around the name ignored); each speaker talks, and there are at least `turns` lines."""
    names = "|".join(re.escape(speaker) for speaker in speakers)
    pattern = r"[*_]*(" + names + r")[*_]*[ \t]*:[*_]*(.*)"
    lines = nonblank_lines(response)
    spoken = set()
    for line in lines:
        match = re.fullmatch(pattern, line, flags=re.I)
        if not match or not has_text(match.group(2)):
            return False
        spoken.add(match.group(1).casefold())
    return len(lines) >= turns and spoken == {speaker.casefold() for speaker in speakers}


def is_letter(response: str, recipient: str, closing: str) -> bool:
    """First line "Dear <recipient>", a body, and a closing line (`closing`, optional comma) among the
    last three lines; case and markdown emphasis are ignored."""
    lines = [line.strip("*_# \t").casefold() for line in nonblank_lines(response)]
    if len(lines) < 3 or not lines[0].startswith(f"dear {recipient}".casefold()):
        return False
    last = len(lines) - 1
    for index in range(max(2, last - 2), last + 1):
        if lines[index].rstrip(",").rstrip() == closing.casefold():
            return any(has_text(line) for line in lines[1:index])
    return False


def _sample_dialogue(rng: random.Random) -> dict[str, Any]:
    """Two speaker names and a minimum number of lines (at most 6, the smallest sentence limit)."""
    return {"speakers": list(rng.choice(SPEAKER_PAIRS)), "turns": rng.choice((4, 5, 6))}


def _describe_dialogue(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Placeholder values for the dialogue: both names and the number of lines."""
    first, second = kwargs["speakers"]
    return {
        "first": first,
        "second": second,
        "speakers": quote_list(kwargs["speakers"]),
        "turns": kwargs["turns"],
    }


FAMILIES = (
    ConstraintFamily(
        id="genre.dialogue",
        category="content",
        subcategory="genre",
        phrasings=(
            "Write the answer as a dialogue between {first} and {second}: every line starts with "
            "the speaker's name and a colon, with at least {turns} lines in total.",
            "Format the response as a script of at least {turns} lines spoken by {speakers}, "
            "each line beginning with '{first}:' or '{second}:'.",
            "Answer through a conversation in which {first} and {second} take turns ({turns} lines "
            "or more), writing each line as 'Name: words'.",
        ),
        checker=is_dialogue,
        sampler=_sample_dialogue,
        describe=_describe_dialogue,
        # Every line must be a spoken line: no room for titles, headers, lists or wrappers.
        conflicts=frozenset(
            {
                "format.json",
                "format.quoted",
                "format.title",
                "format.two_responses",
                "format.start_phrase",
                "format.sections",
                "format.headings",
                "format.bullets",
                "format.numbered_list",
                "format.divided_paragraphs",
            }
        ),
    ),
    ConstraintFamily(
        id="genre.letter",
        category="content",
        subcategory="genre",
        phrasings=(
            "Write your answer as a letter that begins with 'Dear {recipient}' and ends with the "
            "closing '{closing}' followed by a name.",
            "Format the reply as a letter to {recipient}: open with 'Dear {recipient}' and sign off "
            "with '{closing}'.",
            "Compose a letter addressed 'Dear {recipient}', closing with '{closing}' and your name.",
        ),
        checker=is_letter,
        sampler=choose(recipient=RECIPIENTS, closing=CLOSINGS),
        # The first and last lines are fixed, and "Dear" and the closing are English.
        conflicts=frozenset(
            {
                "format.json",
                "format.quoted",
                "format.two_responses",
                "format.start_phrase",
                "format.end_phrase",
                "format.postscript",
                "genre.dialogue",
                "language.response",
            }
        ),
    ),
)
