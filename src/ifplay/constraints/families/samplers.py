"""Small sampler builders shared by the family modules."""

import random
from collections.abc import Sequence
from typing import Any

from ifplay.constraints.base import Sampler


def choose(**pools: Sequence[Any]) -> Sampler:
    """A sampler that draws each kwarg from its pool, in the order given: `choose(n=(1, 2))`."""

    def sample(rng: random.Random) -> dict[str, Any]:
        return {key: rng.choice(pool) for key, pool in pools.items()}

    return sample


def choose_some(key: str, pool: Sequence[str], sizes: Sequence[int]) -> Sampler:
    """A sampler drawing a list of distinct items from `pool` (its size drawn from `sizes`)."""

    def sample(rng: random.Random) -> dict[str, Any]:
        return {key: rng.sample(list(pool), rng.choice(sizes))}

    return sample
