"""SPaR's constraint-rich prompts: a real ShareGPT query plus a main constraint drawn from the
taxonomy (category, then subcategory, then a library family) and 1-3 compatible extra constraints.
Math and code queries are skipped (their answers are judged on correctness, not on following).

Every constraint comes from ifplay's library, so each prompt carries one code verifier per
constraint for hybrid judging. Situation and sentiment have no library family (no code check
exists for them), so they are never drawn.
"""

import random
import re
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from ifplay.config import Schema

_CODE_OR_MATH = re.compile(
    r"```|\bdef |\bimport |\bclass |#include|</?\w+>|\bselect\b.+\bfrom\b|"
    r"\b(?:code|coding|python|javascript|typescript|java|c\+\+|c#|sql|html|css|php|rust|golang|"
    r"bash|regex|script|function|program|programming|compile|debug|algorithm|api|json|"
    r"calculate|compute|solve|equation|integral|derivative|probability|theorem|prove|"
    r"arithmetic|math|mathematics|formula)\b|\d+\s*[-+*/^=<>]\s*\d+",
    re.IGNORECASE,
)


def is_math_or_code(query: str) -> bool:
    """A cheap keyword test for programming and math queries."""
    return bool(_CODE_OR_MATH.search(query))


class PromptSettings(Schema):
    """Where SPaR's prompts come from and which constraints they get."""

    count: int = Field(200, ge=1, description="Prompts to build.")
    min_chars: int = Field(20, ge=1, description="ShareGPT query length bounds.")
    max_chars: int = Field(300, ge=1)
    categories: list[str] = Field(
        default_factory=lambda: ["format", "content", "general"],
        min_length=1,
        description="Taxonomy categories the main constraint is drawn from (uniformly).",
    )
    subcategories: list[str] | None = Field(
        None, description="Restrict the main constraint to these subcategories (default: all)."
    )
    extras_min: int = Field(1, ge=0, description="Compatible extra constraints per prompt.")
    extras_max: int = Field(3, ge=0)
    skip_math_code: bool = True


def main_constraint(rng: random.Random, settings: PromptSettings) -> Any:
    """A constraint from a category, then a subcategory with library families, drawn uniformly."""
    from ifplay.constraints import FAMILIES, sample_constraint

    by_category: dict[str, list[str]] = {}
    for family in FAMILIES.values():
        if family.category in settings.categories and (
            settings.subcategories is None or family.subcategory in settings.subcategories
        ):
            by_category.setdefault(family.category, [])
            if family.subcategory not in by_category[family.category]:
                by_category[family.category].append(family.subcategory)
    if not by_category:
        raise ValueError("prompts: no library family matches categories/subcategories")
    category = rng.choice(sorted(by_category))
    subcategory = rng.choice(sorted(by_category[category]))
    return sample_constraint(rng, category=category, subcategory=subcategory)


def _for_query(constraint: Any, query: str) -> Any:
    """A constraint about the request itself ("repeat the request") is rebuilt around `query`."""
    if "request" not in constraint.kwargs:
        return constraint
    return constraint.family.build({**constraint.kwargs, "request": query})


def constrained_prompt(rng: random.Random, query: str, settings: PromptSettings) -> dict[str, Any]:
    """One prompt row: query + main constraint + compatible extras, with their verifiers.

    Output row: prompt, query, instructions, family_ids, subcategories, verifiers (one function
    list per constraint), drop.
    """
    from ifplay.constraints import sample_compatible

    main = main_constraint(rng, settings)
    extras: list[Any] = []
    wanted = rng.randint(settings.extras_min, max(settings.extras_min, settings.extras_max))
    for count in range(wanted, 0, -1):  # fewer when the library cannot supply that many
        try:
            extras = sample_compatible(rng, count, base=[main])
            break
        except ValueError:
            continue
    constraints = [_for_query(c, query) for c in [main, *extras]]
    return {
        "prompt": f"{query}\n\n" + " ".join(c.instruction for c in constraints),
        "query": query,
        "instructions": [c.instruction for c in constraints],
        "family_ids": [c.family_id for c in constraints],
        "subcategories": [c.family.subcategory for c in constraints],
        "verifiers": [[c.verifier_source()] for c in constraints],
        "drop": "",
    }


def build_prompts(
    settings: PromptSettings, seed: int, queries: Sequence[str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """`settings.count` prompt rows from ShareGPT (or `queries`), and how many were skipped."""
    if queries is None:
        from ifplay.sharegpt import first_turns

        queries = [ex.prompt for ex in first_turns(settings.min_chars, settings.max_chars)]
    rng = random.Random(seed)
    order = list(queries)
    rng.shuffle(order)
    rows: list[dict[str, Any]] = []
    skipped = seen = 0
    for query in order:
        if len(rows) == settings.count:
            break
        seen += 1
        if settings.skip_math_code and is_math_or_code(query):
            skipped += 1
            continue
        rows.append(constrained_prompt(rng, query, settings))
    for index, row in enumerate(rows):
        row["prompt_id"] = index
    return rows, {"queries_seen": seen, "skipped_math_code": skipped, "built": len(rows)}
