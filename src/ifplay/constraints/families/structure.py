"""Markdown and data structure families: JSON, lists, sections, headings, highlights, dividers
(format / text_format)."""

import json
import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose
from ifplay.constraints.text import has_text

SECTION_SPLITTERS = ("Section", "Part", "Chapter", "Step")


def _reject_constant(name: str) -> None:
    """json.loads hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def is_json_only(response: str) -> bool:
    """The whole response is one JSON object or array, optionally inside a single ``` fence."""
    body = response.strip()
    fenced = re.fullmatch(r"```[ \t]*(?:json)?[ \t]*\n(.*)\n[ \t]*```", body, flags=re.S | re.I)
    if fenced:
        body = fenced.group(1).strip()
    if not body.startswith(("{", "[")):
        return False
    try:
        json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return True


def _bullet_items(response: str) -> list[str]:
    """Lines that are markdown bullets: "* " or "- " (any indent) followed by a letter or digit."""
    items = re.findall(r"^[ \t]*[*\-][ \t]+(.*)$", response, flags=re.M)
    return [item for item in items if has_text(item)]


def has_bullets(response: str, n: int) -> bool:
    """Exactly `n` markdown bullet points ("* item" or "- item"; nested ones count too)."""
    return len(_bullet_items(response)) == n


def has_numbered_list(response: str, n: int) -> bool:
    """Exactly `n` numbered items ("1." or "1)" at a line start), numbered 1 to n in order."""
    numbers = re.findall(r"^[ \t]*([0-9]+)[.)][ \t]+[^\s].*$", response, flags=re.M)
    return [int(number) for number in numbers] == list(range(1, n + 1))


def has_sections(response: str, splitter: str, n: int) -> bool:
    """Exactly `n` sections headed "<splitter> 1" .. "<splitter> n" in order, each with some text.

    A header starts a line (markdown #, >, emphasis marks or an opening quote before it are allowed);
    case is ignored.
    """
    pattern = r"^[ \t#>*_\"“]*" + re.escape(splitter) + r"[ \t]+([0-9]+)\b"
    headers = list(re.finditer(pattern, response, flags=re.M | re.I))
    if [int(header.group(1)) for header in headers] != list(range(1, n + 1)):
        return False
    ends = [header.start() for header in headers[1:]] + [len(response)]
    return all(
        has_text(response[header.end() : end]) for header, end in zip(headers, ends, strict=True)
    )


def count_highlights(response: str) -> int:
    """Markdown emphasis spans on one line: *text* or **text** (no space just inside the marks)."""
    pattern = r"(?<!\*)(\*\*|\*)(?![\s*])([^*\n]*?[^\s*])\1(?!\*)"
    return sum(1 for match in re.finditer(pattern, response) if has_text(match.group(2)))


def has_min_highlights(response: str, n: int) -> bool:
    """At least `n` highlighted spans (*text* or **text**)."""
    return count_highlights(response) >= n


def has_min_headings(response: str, n: int) -> bool:
    """At least `n` markdown headings: a line of 1-6 '#', a space, then text."""
    headings = re.findall(r"^[ \t]{0,3}#{1,6}[ \t]+(.*)$", response, flags=re.M)
    return sum(1 for heading in headings if has_text(heading)) >= n


def has_divided_paragraphs(response: str, n: int) -> bool:
    """Exactly `n` non-empty paragraphs separated by lines holding only the divider ***."""
    parts = re.split(r"^[^\S\n]*\*\*\*[^\S\n]*$", response, flags=re.M)
    return len(parts) == n and all(has_text(part) for part in parts)


FAMILIES = (
    ConstraintFamily(
        id="format.json",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Reply with valid JSON only: a single JSON object or array and nothing else.",
            "Your entire output must be one well-formed JSON object; add no text outside it.",
            "Format the whole answer as JSON (a markdown code fence around it is allowed).",
        ),
        checker=is_json_only,
        sampler=choose(),
        # Text layouts that cannot live inside a JSON-only answer.
        conflicts=frozenset(
            {
                "format.bullets",
                "format.numbered_list",
                "format.sections",
                "format.highlights",
                "format.headings",
                "format.divided_paragraphs",
                "format.title",
            }
        ),
    ),
    ConstraintFamily(
        id="format.bullets",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Include exactly {n} bullet points, each starting with '* ' or '- '.",
            "Your answer must contain {n} markdown bullet points, no more and no fewer.",
            "Present the key ideas as a markdown list of exactly {n} bullets.",
        ),
        checker=has_bullets,
        sampler=choose(n=(3, 4, 5, 6)),
    ),
    ConstraintFamily(
        id="format.numbered_list",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Include a numbered list with exactly {n} items, numbered 1. to {n}.",
            "Give your answer as {n} numbered points (1., 2., and so on).",
            "Structure the response as a numbered list of {n} items.",
        ),
        checker=has_numbered_list,
        sampler=choose(n=(3, 4, 5, 6)),
    ),
    ConstraintFamily(
        id="format.sections",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Split your answer into {n} sections, and start each one with '{splitter} X', "
            "where X is the section number.",
            "Organize the response in exactly {n} parts labeled {splitter} 1 to {splitter} {n}.",
            "Use {n} sections; begin section X with the header '{splitter} X'.",
        ),
        checker=has_sections,
        sampler=choose(splitter=SECTION_SPLITTERS, n=(2, 3, 4)),
    ),
    ConstraintFamily(
        id="format.highlights",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Highlight at least {n} parts of your answer with markdown, like *this part*.",
            "Use markdown emphasis (*like this*) on no fewer than {n} phrases.",
            "Mark at least {n} key passages as highlighted text, e.g. *key passage*.",
        ),
        checker=has_min_highlights,
        sampler=choose(n=(2, 3, 4)),
    ),
    ConstraintFamily(
        id="format.headings",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Use at least {n} markdown headings (lines starting with #).",
            "Structure the answer with {n} or more markdown headers such as '## Overview'.",
            "Include no fewer than {n} markdown section headings.",
        ),
        checker=has_min_headings,
        sampler=choose(n=(2, 3, 4)),
    ),
    ConstraintFamily(
        id="format.divided_paragraphs",
        category="format",
        subcategory="text_format",
        phrasings=(
            "Write exactly {n} paragraphs and separate them with the markdown divider ***.",
            "Your response needs {n} paragraphs; put a line containing only *** between them.",
            "Give {n} paragraphs divided from one another by *** on its own line.",
        ),
        checker=has_divided_paragraphs,
        sampler=choose(n=(2, 3, 4)),
    ),
)
