"""Drawing constraints from the registry, and checking that constraints can be combined."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ifplay.constraints.base import FAMILIES, TAXONOMY, Constraint, get_family


def family_ids(category: str | None = None, subcategory: str | None = None) -> list[str]:
    """Sorted ids of the families in `category` and/or `subcategory` (all when both are None)."""
    if category is not None and category not in TAXONOMY:
        raise ValueError(
            f"unknown constraint category {category!r}; expected one of {sorted(TAXONOMY)}"
        )
    return sorted(
        family.id
        for family in FAMILIES.values()
        if category in (None, family.category) and subcategory in (None, family.subcategory)
    )


def sample_constraint(
    rng: random.Random,
    family_id: str | None = None,
    category: str | None = None,
    subcategory: str | None = None,
) -> Constraint:
    """One constraint: from `family_id`, or from a family drawn (uniformly) within the filters."""
    if family_id is None:
        candidates = family_ids(category, subcategory)
        if not candidates:
            raise ValueError(
                f"no constraint family in category={category!r} subcategory={subcategory!r}"
            )
        family_id = rng.choice(candidates)
    return get_family(family_id).build(rng=rng)


def _family_of(item: Constraint | str) -> str:
    """The family id of a Constraint, or the string itself."""
    return item if isinstance(item, str) else item.family_id


def conflicting(first: Constraint | str, second: Constraint | str) -> bool:
    """True when two constraints (or family ids) cannot be asked for together."""
    first_id, second_id = _family_of(first), _family_of(second)
    if first_id == second_id:
        return not get_family(first_id).repeatable
    return second_id in get_family(first_id).conflicts


def compatible(constraints: Iterable[Constraint | str]) -> bool:
    """True when no two of the constraints (or family ids) conflict."""
    items = list(constraints)
    return not any(
        conflicting(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))
    )


def sample_compatible(
    rng: random.Random,
    n: int,
    category: str | None = None,
    base: Sequence[Constraint] = (),
) -> list[Constraint]:
    """`n` constraints from distinct families (within `category`) compatible with each other and with
    `base`; ValueError when the registry cannot supply that many."""
    chosen: list[Constraint] = []
    candidates = family_ids(category)
    rng.shuffle(candidates)
    for family_id in candidates:
        if len(chosen) == n:
            break
        if all(not conflicting(family_id, other) for other in [*base, *chosen]):
            chosen.append(sample_constraint(rng, family_id))
    if len(chosen) < n:
        raise ValueError(f"only {len(chosen)} compatible constraint families for n={n}")
    return chosen
