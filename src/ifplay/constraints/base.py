"""The data model: a ConstraintFamily (phrasings + kwargs sampler + reference checker) and a Constraint.

`FAMILIES` is filled once, when `ifplay.constraints.families` is imported (the package does that first),
by `register_families`, which checks the taxonomy and makes every conflict symmetric.
"""

from __future__ import annotations

import copy
import inspect
import random
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Categories and subcategories of the SPaR taxonomy. Situation and sentiment have no families: they
# cannot be checked by deterministic code, so they are left to LLM judges.
TAXONOMY: dict[str, tuple[str, ...]] = {
    "format": (
        "length",
        "text_format",
        "character_format",
        "template",
        "punctuation",
        "numeric_format",
    ),
    "content": ("keyword", "symbol", "sentence", "genre"),
    "general": ("language", "situation", "style", "sentiment"),
}

Checker = Callable[..., bool]
Sampler = Callable[[random.Random], dict[str, Any]]
Describer = Callable[[Mapping[str, Any]], dict[str, Any]]

FAMILIES: dict[str, ConstraintFamily] = {}


def quote_list(items: Iterable[Any]) -> str:
    """Render items as `"a"`, `"a" and "b"` or `"a", "b" and "c"` for an instruction."""
    quoted = [f'"{item}"' for item in items]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def describe_plain(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Placeholder values for phrasings: kwargs as they are, lists rendered with `quote_list`."""
    return {
        key: quote_list(value) if isinstance(value, list | tuple) else value
        for key, value in kwargs.items()
    }


def is_response(response: object) -> bool:
    """True when `response` is a string with something besides whitespace (else every check fails)."""
    return isinstance(response, str) and bool(response.strip())


@dataclass(frozen=True)
class ConstraintFamily:
    """One kind of verifiable constraint.

    `checker(response, **kwargs) -> bool` is a module-level pure function using only the stdlib (plus
    langdetect for the language family); `sampler(rng) -> kwargs` draws JSON-friendly kwargs (str, int,
    lists); `phrasings` are instruction templates whose `{placeholders}` are filled from
    `describe(kwargs)`. `conflicts` lists families that cannot be combined with this one; a family that
    is not `repeatable` also conflicts with itself.
    """

    id: str
    category: str
    subcategory: str
    phrasings: tuple[str, ...]
    checker: Checker
    sampler: Sampler
    conflicts: frozenset[str] = frozenset()
    repeatable: bool = False
    describe: Describer = describe_plain

    def __post_init__(self) -> None:
        if self.subcategory not in TAXONOMY.get(self.category, ()):
            raise ValueError(f"{self.id}: {self.category}/{self.subcategory} is not in TAXONOMY")
        if not self.phrasings:
            raise ValueError(f"{self.id}: needs at least one phrasing")
        if self.id in self.conflicts:
            raise ValueError(f"{self.id}: use repeatable=False instead of conflicting with itself")

    def sample_kwargs(self, rng: random.Random) -> dict[str, Any]:
        """Draw kwargs for the checker from `rng` (same seed, same kwargs)."""
        return self.sampler(rng)

    def placeholders(self, phrasing: str) -> set[str]:
        """The `{names}` used in one phrasing."""
        return {name for _, name, _, _ in string.Formatter().parse(phrasing) if name}

    def render(self, kwargs: Mapping[str, Any], phrasing: int = 0) -> str:
        """The instruction text: phrasing number `phrasing` filled with `describe(kwargs)`."""
        return self.phrasings[phrasing].format(**self.describe(kwargs))

    def build(
        self,
        kwargs: Mapping[str, Any] | None = None,
        *,
        rng: random.Random | None = None,
        phrasing: int | None = None,
    ) -> Constraint:
        """A Constraint of this family: kwargs given or sampled from `rng`; phrasing given, drawn, or 0."""
        if kwargs is None:
            if rng is None:
                raise ValueError(f"{self.id}: build needs kwargs or an rng to sample them")
            kwargs = self.sample_kwargs(rng)
        if phrasing is None:
            phrasing = rng.randrange(len(self.phrasings)) if rng is not None else 0
        return Constraint(self.id, dict(kwargs), self.render(kwargs, phrasing))


@dataclass(frozen=True)
class Constraint:
    """A family id, the checker's kwargs, and the instruction text a model is shown."""

    family_id: str
    kwargs: dict[str, Any] = field(hash=False)
    instruction: str

    def __post_init__(self) -> None:
        family = get_family(self.family_id)
        object.__setattr__(self, "kwargs", copy.deepcopy(dict(self.kwargs)))
        try:
            inspect.signature(family.checker).bind("", **self.kwargs)
            family.checker("A probe response.", **self.kwargs)  # bad values fail here, not later
        except Exception as error:  # any failure means the kwargs are unusable
            raise ValueError(f"{self.family_id}: bad kwargs {self.kwargs!r}: {error!r}") from None

    @property
    def family(self) -> ConstraintFamily:
        """The family this constraint belongs to."""
        return get_family(self.family_id)

    def check(self, response: str) -> bool:
        """True when `response` satisfies the constraint; blank or non-string responses never do."""
        if not is_response(response):
            return False
        return bool(self.family.checker(response, **self.kwargs))

    def verifier_source(self) -> str:
        """Standalone Python source defining `evaluate(response) -> bool`, equal to `check`."""
        from ifplay.constraints.source import build_verifier_source

        return build_verifier_source(self.family.checker, self.kwargs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict: family_id, kwargs, instruction."""
        return {
            "family_id": self.family_id,
            "kwargs": copy.deepcopy(self.kwargs),
            "instruction": self.instruction,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Constraint:
        """The inverse of `to_dict`; raises ValueError on an unknown family or bad kwargs."""
        try:
            return cls(data["family_id"], dict(data["kwargs"]), str(data["instruction"]))
        except KeyError as error:
            raise ValueError(f"constraint is missing {error}") from None


def get_family(family_id: str) -> ConstraintFamily:
    """The registered family with this id; ValueError naming the id when there is none."""
    try:
        return FAMILIES[family_id]
    except KeyError:
        raise ValueError(f"unknown constraint family {family_id!r}") from None


def register_families(families: Iterable[ConstraintFamily]) -> None:
    """Fill FAMILIES, making every conflict symmetric; ValueError on duplicates or unknown ids."""
    by_id: dict[str, ConstraintFamily] = {}
    for family in families:
        if family.id in by_id or family.id in FAMILIES:
            raise ValueError(f"constraint family {family.id!r} is registered twice")
        by_id[family.id] = family
    conflicts = {family_id: set(family.conflicts) for family_id, family in by_id.items()}
    for family_id, family in by_id.items():
        for other in family.conflicts:
            if other not in by_id:
                raise ValueError(f"{family_id}: conflicts with unknown family {other!r}")
            conflicts[other].add(family_id)
    for family_id in sorted(by_id):
        FAMILIES[family_id] = replace(by_id[family_id], conflicts=frozenset(conflicts[family_id]))
