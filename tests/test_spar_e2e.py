"""SPaR end to end on the real embedded SmolLM2: `ifplay generate pipelines/spar-quick.yaml` writes
actor pairs and refiner data, and stats.json counts agree with the files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_autoif_e2e import _env, _rows


@pytest.mark.slow
def test_spar_quick_generates_pairs_and_refiner_data(
    tmp_path: Path, repo_root, embedded_checkpoint_dir
):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ifplay.cli",
            "generate",
            "pipelines/spar-quick.yaml",
            "--output",
            str(out),
        ],
        cwd=repo_root,
        env=_env(tmp_path / "cache", embedded_checkpoint_dir),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    stats = json.loads((out / "stats.json").read_text())
    run = json.loads((out / "run.json").read_text())
    splits = {
        name: _rows(out / name / "data.jsonl")
        for name in ("actor_dpo", "refiner_sft", "refiner_dpo")
    }
    assert {name: len(rows) for name, rows in splits.items()} == run["splits"]
    pairs = splits["actor_dpo"]
    assert pairs and stats["splits"]["actor_dpo"] == len(pairs) == stats["search"]["solved"]
    for pair in pairs:
        assert pair["chosen"][0]["content"] != pair["rejected"][0]["content"]
        assert pair["edit_distance"] > 0 and pair["chosen_value"] > 0.5
    assert stats["edit_distance"]["spar_pairs"]["pairs"] == len(pairs)
    sft = splits["refiner_sft"]
    assert sft and all(row["messages"][-1]["role"] == "assistant" for row in sft)
    assert sum(1 for r in sft if r["task"] == "refine") == stats["splits"]["refiner_sft_refine"] > 0
    roots = stats["roots"]
    assert roots["judged"] == stats["responses"]["total"] - stats["responses"]["empty"]
    assert roots["accepted"] + roots["rejected"] + roots["tie_dropped"] == roots["judged"]
    s = stats["search"]
    assert s["solved"] + s["exhausted"] + s["out_of_budget"] == roots["rejected"]
    assert s["engine_calls"] <= 1 + 2 * 2  # roots judged once, then refine + judge per level
