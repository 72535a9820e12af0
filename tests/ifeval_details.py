"""Hand-made IFEval details files in the shape `ifplay eval` writes (for report and comparison tests)."""

import json
from pathlib import Path

TYPES = ["change_case:english_lowercase", "punctuation:no_comma"]


def write_details(path: Path, outcomes: list[bool]) -> Path:
    """One row per prompt `prompt i`: two instructions, the first followed when `outcomes[i]`."""
    rows = [
        {
            "prompt": f"prompt {i}",
            "response": "r",
            "metrics": {
                "prompt_level_strict_acc": int(ok),
                "inst_level_strict_acc": [ok, True],
                "prompt_level_loose_acc": int(ok),
                "inst_level_loose_acc": [ok, True],
            },
            "specific": {"instructions_id_list": TYPES},
        }
        for i, ok in enumerate(outcomes)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
