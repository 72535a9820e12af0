"""Query augmentation: compose real user queries with verified constraints into training prompts."""

import json
import random
from collections.abc import Sequence
from typing import Any

from ifplay.constraints import compatible, get_family


def compose_prompts(
    instructions: Sequence[dict[str, Any]],
    queries: Sequence[str],
    per_instruction: int,
    rng: random.Random,
    combine_share: float = 0.0,
    max_extra: int = 2,
) -> list[dict[str, Any]]:
    """`per_instruction` prompts per instruction row: "<query>\\n\\n<constraint(s)>".

    Instruction rows carry `instruction`, `origin`, `family_id` and `functions`. With probability
    `combine_share`, a library constraint is joined by 1..`max_extra` compatible library constraints;
    the prompt then carries one verifier group per constraint. A constraint about the request itself
    (e.g. "repeat the request first") is bound to the prompt's query.
    Output rows: prompt, query, instructions, verifiers (list of function lists), family_ids, drop.
    """
    library = [row for row in instructions if row["origin"] == "library"]
    rows = []
    for row in instructions:
        for query in rng.sample(list(queries), min(per_instruction, len(queries))):
            parts = [row]
            if row["origin"] == "library" and library and rng.random() < combine_share:
                parts += _compatible_extras(row, library, rng.randint(1, max_extra), rng)
            parts = [_bind_request(part, query) for part in parts]
            rows.append(
                {
                    "prompt": f"{query}\n\n" + " ".join(p["instruction"] for p in parts),
                    "query": query,
                    "instructions": [p["instruction"] for p in parts],
                    "verifiers": [list(p["functions"]) for p in parts],
                    "family_ids": [p["family_id"] for p in parts],
                    "drop": "",
                }
            )
    return rows


def _bind_request(row: dict[str, Any], query: str) -> dict[str, Any]:
    """A library constraint whose kwargs name a `request` is rebuilt around the prompt's own query."""
    kwargs = json.loads(row.get("kwargs_json") or "{}")
    if row["origin"] != "library" or "request" not in kwargs:
        return row
    constraint = get_family(row["family_id"]).build({**kwargs, "request": query})
    return {
        **row,
        "instruction": constraint.instruction,
        "functions": [constraint.verifier_source()],
    }


def _compatible_extras(
    row: dict[str, Any], library: Sequence[dict[str, Any]], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    candidates = [other for other in library if other["family_id"] != row["family_id"]]
    rng.shuffle(candidates)
    chosen: list[dict[str, Any]] = []
    for other in candidates:
        if len(chosen) == count:
            break
        if compatible([row["family_id"], *(c["family_id"] for c in chosen), other["family_id"]]):
            chosen.append(other)
    return chosen
