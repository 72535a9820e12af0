"""Response language (general / language), detected with langdetect seeded for determinism."""

from collections.abc import Mapping
from typing import Any

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose

LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "sv": "Swedish",
}
# English is not sampled: prompts are English already, so it would rarely constrain anything.
SAMPLED_LANGUAGES = ("fr", "de", "es", "it", "pt", "nl", "sv")


def is_in_language(response: str, language: str) -> bool:
    """langdetect's most likely language for the lowercased response is `language` (ISO 639-1).

    Lowercasing keeps all-caps text from being misread; text with no letters fails.
    """
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        candidates = detect_langs(response.lower())
    except LangDetectException:
        return False
    return bool(candidates) and candidates[0].lang == language


def _describe_language(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Placeholder values: the language's English name."""
    return {"language": LANGUAGE_NAMES.get(kwargs["language"], kwargs["language"])}


FAMILIES = (
    ConstraintFamily(
        id="language.response",
        category="general",
        subcategory="language",
        phrasings=(
            "Write your entire response in {language}; no other language is allowed.",
            "Answer only in {language}.",
            "Your reply must be written in {language}.",
        ),
        checker=is_in_language,
        sampler=choose(language=SAMPLED_LANGUAGES),
        describe=_describe_language,
        # Fixed English words (phrases, requests, keywords) would pull the text towards English.
        conflicts=frozenset({"keywords.include", "keywords.frequency"}),
    ),
)
