"""The columns of each training split ifplay writes, so that a split without rows keeps them.

`datasets` infers a schema from the rows it is given; an empty list gives none, and a saved split
without columns cannot be read back (`load_from_disk`) nor handed to a trainer. A small model often
yields no DPO pair on a small run, so every split that can be empty is built with
`dataset_from_rows(rows, features)`: inferred from the rows when there are any, the declared features
when there are none. Tests check the declared features equal what real rows infer.
"""

from typing import Any

import datasets

TEXT = datasets.Value("string")
RATE = datasets.Value("float64")
CHAT = datasets.List({"role": TEXT, "content": TEXT})  # TRL's conversational messages
PAIR = {"prompt": CHAT, "chosen": CHAT, "rejected": CHAT}  # TRL's conversational preference row
CONSTRAINTS = {"instructions": datasets.List(TEXT), "family_ids": datasets.List(TEXT)}
VERIFIED = {**CONSTRAINTS, "verifiers": datasets.List(datasets.List(TEXT))}  # AutoIF's row metadata

AUTOIF_SFT = datasets.Features({"messages": CHAT, "pass_rate": RATE, **VERIFIED})
AUTOIF_DPO = datasets.Features(
    {**PAIR, "chosen_pass_rate": RATE, "rejected_pass_rate": RATE, **VERIFIED}
)
SPAR_ACTOR_DPO = datasets.Features(
    {
        **PAIR,
        "edit_distance": datasets.Value("int64"),  # in tokens: ifplay.edits.token_edit_distance
        "chosen_value": RATE,
        "rejected_value": RATE,
        "refine_depth": datasets.Value("int64"),
        **CONSTRAINTS,
    }
)
SPAR_REFINER_SFT = datasets.Features({"messages": CHAT, "task": TEXT})
PREFERENCE_PAIR = datasets.Features(PAIR)  # SPaR's refiner judgments and SPIN's pairs
# the repair pipeline's row metadata: the constraints (JSON text, to re-check a row) and their families
REPAIRED = {"constraints_json": TEXT, "family_ids": datasets.List(TEXT), "how": TEXT}
REPAIR_SFT = datasets.Features({"prompt": CHAT, "completion": CHAT, **REPAIRED})
REPAIR_DPO = datasets.Features({**PAIR, **REPAIRED})
REPAIR_PROMPTS = datasets.Features({"prompt": TEXT, **REPAIRED, "capped": datasets.Value("int64")})


def dataset_from_rows(rows: list[dict[str, Any]], features: datasets.Features) -> datasets.Dataset:
    """`rows` as a Dataset (schema inferred, as for any rows); with no rows, an empty Dataset with
    `features`' columns."""
    if rows:
        return datasets.Dataset.from_list(rows)
    return datasets.Dataset.from_dict({name: [] for name in features}, features=features)
