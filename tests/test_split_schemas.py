"""Every training split keeps its columns when it has no rows: the declared schemas equal what real
rows infer, and an empty split saves and loads back (directly and through ifplay's reader)."""

from pathlib import Path

import datasets
import pytest

from ifplay import split_schemas
from ifplay.datadir import open_generated
from ifplay.outputs import save_dataset
from ifplay.pipelines.autoif import AutoIFConfig, build_splits
from ifplay.pipelines.spin import spin_rows


def _inferred(rows: list[dict]) -> datasets.Features:
    assert rows, "the builder gave no rows to infer from"
    return datasets.Dataset.from_list(rows).features


def test_autoif_schemas_match_built_rows():
    scored = {
        "prompt": "Describe rain in lowercase.",
        "responses": ["rain falls.", "Rain Falls.", "rain is wet."],
        "pass_rates": [1.0, 0.0, 0.5],
        "instructions": ["Answer in lowercase."],
        "family_ids": ["case.lowercase"],
        "verifiers": [["def evaluate(response):\n    return response == response.lower()\n"]],
    }
    sft, dpo = build_splits(AutoIFConfig(name="schema"), [scored])
    assert _inferred(sft) == split_schemas.AUTOIF_SFT
    assert _inferred(dpo) == split_schemas.AUTOIF_DPO


def test_preference_pair_schema_matches_spin_rows():
    pairs, _ = spin_rows([{"prompt": "Q", "real": "real answer", "responses": ["model answer"]}])
    assert _inferred(pairs) == split_schemas.PREFERENCE_PAIR


@pytest.mark.parametrize(
    "features",
    [split_schemas.AUTOIF_DPO, split_schemas.SPAR_ACTOR_DPO, split_schemas.PREFERENCE_PAIR],
    ids=["autoif-dpo", "spar-actor-dpo", "pair"],
)
def test_an_empty_split_saves_and_reads_back_with_its_columns(
    tmp_path: Path, features: datasets.Features
):
    empty = split_schemas.dataset_from_rows([], features)
    save_dataset(empty, tmp_path)
    loaded = datasets.load_from_disk(str(tmp_path / "dataset"))
    assert loaded.num_rows == 0 and loaded.features == features
    assert open_generated(tmp_path).load("train").features == features


def test_rows_keep_their_inferred_schema():
    rows = [{"prompt": [{"role": "user", "content": "Q"}], "extra": 3}]
    built = split_schemas.dataset_from_rows(rows, split_schemas.PREFERENCE_PAIR)
    assert built.column_names == ["prompt", "extra"] and built.num_rows == 1
