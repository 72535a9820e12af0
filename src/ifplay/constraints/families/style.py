"""Style families that code can check exactly (general / style). Tone, formality and sentiment have no
deterministic check and are left to LLM judges."""

import re

from ifplay.constraints.base import ConstraintFamily
from ifplay.constraints.families.samplers import choose

# Contractions: n't, 're, 've, 'll, 'm, 'd after any word, and 's after words where it means "is"/"us"
# (a possessive 's is allowed). Straight and curly apostrophes both count.
CONTRACTION_PATTERN = (
    r"\b\w+['’](?:t|re|ve|ll|m|d)\b"
    r"|\b(?:it|that|let|there|here|what|who|he|she|where|how|when|why)['’]s\b"
)


def has_no_contractions(response: str) -> bool:
    """No contraction such as "don't", "we're", "I'll" or "it's"."""
    return re.search(CONTRACTION_PATTERN, response, flags=re.I) is None


FAMILIES = (
    ConstraintFamily(
        id="style.no_contractions",
        category="general",
        subcategory="style",
        phrasings=(
            "Write formally and do not use any contractions (write 'do not', not \"don't\").",
            'Avoid contractions such as "it\'s", "can\'t" or "we\'ll"; spell every form out.',
            "Use full forms only: no contractions anywhere in your answer.",
        ),
        checker=has_no_contractions,
        sampler=choose(),
    ),
)
