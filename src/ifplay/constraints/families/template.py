"""Template families: title, fixed opening and closing, postscript, placeholders, quoting, two answers,
an answer from given options, repeating the request (format / template).

Sampled phrases and requests avoid commas, digits, question marks, '!', ';' and em dashes, so these
families combine with the punctuation and numeric families.
"""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import has_text, squash_spaces

START_PHRASES = (
    "Here is my answer.",
    "Let me explain.",
    "Short answer first.",
    "Good news.",
    "Here is the plan.",
)
END_PHRASES = (
    "That is all I have to say.",
    "I hope this helps.",
    "Thank you for reading.",
    "Let me know if anything is unclear.",
    "End of answer.",
)
POSTSCRIPT_MARKERS = ("P.S.", "P.P.S.")
ANSWER_OPTIONS = (
    ("My verdict is yes.", "My verdict is no.", "My verdict is uncertain."),
    ("I agree.", "I disagree.", "I cannot decide."),
    ("Definitely true.", "Definitely false.", "Hard to say."),
    ("Option A.", "Option B.", "Option C."),
)
REQUESTS = (
    "Describe how bread is made at home.",
    "Explain why the sky looks blue during the day.",
    "Write a short story about a lighthouse keeper.",
    "Give advice to someone starting to learn the guitar.",
    "Summarize the main causes of inflation.",
    "Compare cats and dogs as pets.",
)


def has_title(response: str) -> bool:
    """A title on one line wrapped in double angular brackets, such as <<A Quiet Harbor>>."""
    titles = re.findall(r"<<([^<>\n]*)>>", response)
    return any(has_text(title) for title in titles)


def has_two_responses(response: str) -> bool:
    """Exactly two different, non-empty answers separated by exactly six asterisks (******)."""
    parts = re.split(r"(?<!\*)\*{6}(?!\*)", response)
    if len(parts) != 2 or not all(has_text(part) for part in parts):
        return False
    return squash_spaces(parts[0]) != squash_spaces(parts[1])


def is_quoted(response: str) -> bool:
    """The whole response (outer whitespace aside) is wrapped in double quotes, straight or curly."""
    body = response.strip()
    if len(body) < 2 or (body[0], body[-1]) not in (('"', '"'), ("“", "”")):
        return False
    return has_text(body[1:-1])


def repeats_request(response: str, request: str) -> bool:
    """Starts with `request` word for word (whitespace runs aside), then gives an answer."""
    text, wanted = squash_spaces(response), squash_spaces(request)
    return bool(wanted) and text.startswith(wanted) and has_text(text[len(wanted) :])


def starts_with_phrase(response: str, phrase: str) -> bool:
    """Starts with `phrase` exactly (leading whitespace aside), then continues with more text."""
    text = response.lstrip()
    return text.startswith(phrase) and has_text(text[len(phrase) :])


def ends_with_phrase(response: str, phrase: str) -> bool:
    """Ends with `phrase` exactly (trailing whitespace aside), after some other text."""
    text = response.rstrip()
    return text.endswith(phrase) and has_text(text[: len(text) - len(phrase)])


def has_postscript(response: str, marker: str) -> bool:
    """A line starting with `marker` (case and markdown emphasis ignored) that holds text, after a body.

    The last such line is used; "P.P.S." does not count as "P.S.".
    """
    lines = response.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip().lstrip("*_ \t")
        if line[: len(marker)].upper() == marker.upper():
            body = "\n".join(lines[:index])
            return has_text(line[len(marker) :]) and has_text(body)
    return False


def count_placeholders(response: str) -> int:
    """Square-bracket placeholders on one line, such as [name]; markdown links [text](url) excluded."""
    found = re.findall(r"\[([^\[\]\n]*)\](?!\()", response)
    return sum(1 for inside in found if has_text(inside))


def has_min_placeholders(response: str, n: int) -> bool:
    """At least `n` placeholders in square brackets."""
    return count_placeholders(response) >= n


def has_one_option(response: str, options: list[str]) -> bool:
    """Exactly one of `options` occurs in the response, word for word (case included)."""
    return sum(option in response for option in options) == 1


FAMILIES = (
    ConstraintFamily(
        id="format.title",
        category="format",
        subcategory="template",
        phrasings=(
            "Give your answer a title wrapped in double angular brackets, like <<my title>>.",
            "Include a title written between << and >>.",
            "Add a title enclosed in double angle brackets, for example <<A New Day>>.",
        ),
        checker=has_title,
        sampler=choose(),
    ),
    ConstraintFamily(
        id="format.two_responses",
        category="format",
        subcategory="template",
        phrasings=(
            "Give two different answers, separated by six asterisks: ******.",
            "Write two distinct responses and put ****** (six asterisks) between them.",
            "Provide two alternative replies separated only by the marker ******.",
        ),
        checker=has_two_responses,
        sampler=choose(),
        conflicts=frozenset(
            {
                "format.json",
                "format.quoted",
                "format.divided_paragraphs",
                "format.sections",
                "format.numbered_list",
                "format.bullets",
                "length.paragraphs",
                "genre.letter",
                "genre.dialogue",
            }
        ),
    ),
    ConstraintFamily(
        id="format.quoted",
        category="format",
        subcategory="template",
        phrasings=(
            "Wrap your entire response in double quotation marks.",
            'Put the whole answer inside double quotes, like "this".',
            "Enclose everything you write between a pair of double quotes.",
        ),
        checker=is_quoted,
        sampler=choose(),
        # Everything that fixes how the response starts or ends, or wraps all of it, and line-start
        # formats whose first line the opening quote would break.
        conflicts=frozenset(
            {
                "format.json",
                "format.bullets",
                "format.numbered_list",
                "format.headings",
                "format.two_responses",
                "format.repeat_request",
                "format.start_phrase",
                "format.end_phrase",
            }
        ),
    ),
    ConstraintFamily(
        id="format.repeat_request",
        category="format",
        subcategory="template",
        phrasings=(
            "First repeat this request word for word: {request} Then give your answer. "
            "Do not write anything before the repeated request.",
            "Begin by copying the following request exactly as written: {request} "
            "After that, answer it.",
            "Restate the request '{request}' verbatim as the very first thing, then respond to it.",
        ),
        checker=repeats_request,
        sampler=choose(request=REQUESTS),
        conflicts=frozenset(
            {
                "format.json",
                "format.start_phrase",
                "case.lowercase",
                "case.uppercase",
                "genre.letter",
                "genre.dialogue",
                "language.response",
                "punctuation.ellipsis_sentences",
            }
        ),
    ),
    ConstraintFamily(
        id="format.start_phrase",
        category="format",
        subcategory="template",
        phrasings=(
            "Begin your response with the exact phrase '{phrase}'",
            "The first words of your answer must be: {phrase}",
            "Open your reply with '{phrase}' and continue from there.",
        ),
        checker=starts_with_phrase,
        sampler=choose(phrase=START_PHRASES),
        conflicts=frozenset(
            {
                "format.json",
                "case.lowercase",
                "case.uppercase",
                "genre.letter",
                "genre.dialogue",
                "language.response",
                "punctuation.ellipsis_sentences",
            }
        ),
    ),
    ConstraintFamily(
        id="format.end_phrase",
        category="format",
        subcategory="template",
        phrasings=(
            "Finish your response with the exact phrase '{phrase}' and write nothing after it.",
            "The last words of your answer must be: {phrase}",
            "End with '{phrase}' with no other words following it.",
        ),
        checker=ends_with_phrase,
        sampler=choose(phrase=END_PHRASES),
        conflicts=frozenset(
            {
                "format.json",
                "format.quoted",
                "format.postscript",
                "case.lowercase",
                "case.uppercase",
                "genre.letter",
                "language.response",
                "punctuation.ellipsis_sentences",
            }
        ),
    ),
    ConstraintFamily(
        id="format.postscript",
        category="format",
        subcategory="template",
        phrasings=(
            "At the end of your response, add a postscript starting with {marker}",
            "Close with a postscript that begins with '{marker}'.",
            "After your main answer, include a short note starting with {marker}",
        ),
        checker=has_postscript,
        sampler=choose(marker=POSTSCRIPT_MARKERS),
        conflicts=frozenset({"format.json", "format.quoted", "genre.dialogue"}),
    ),
    ConstraintFamily(
        id="format.answer_choice",
        category="format",
        subcategory="template",
        phrasings=(
            "Your answer must contain exactly one of these options, word for word: {options}",
            "Pick one of the following replies and include it exactly as written: {options}",
            "Give your verdict using exactly one of these phrases: {options}",
        ),
        checker=has_one_option,
        sampler=choose(options=[list(options) for options in ANSWER_OPTIONS]),
        conflicts=frozenset(
            {
                "format.json",
                "format.two_responses",
                "case.lowercase",
                "case.uppercase",
                "language.response",
            }
        ),
    ),
    ConstraintFamily(
        id="format.placeholders",
        category="format",
        subcategory="template",
        phrasings=(
            "Include at least {n} placeholders in square brackets, such as [address].",
            "Leave no fewer than {n} fill-in-the-blank spots written like [name].",
            "Use {n} or more bracketed placeholders, for example [date].",
        ),
        checker=has_min_placeholders,
        sampler=choose(n=(2, 3, 4)),
    ),
)
