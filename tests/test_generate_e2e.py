"""`ifplay generate` end to end on the real embedded SmolLM2, through the console script."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_generate_example_with_real_smollm2(
    tmp_path: Path, repo_root: Path, embedded_checkpoint_dir
):
    import datasets

    output = tmp_path / "gen"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ifplay.cli",
            "generate",
            "pipelines/generate-example.yaml",
            "--output",
            str(output),
            "--no-cache",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (output / "data.jsonl").read_text().splitlines()]
    prompts = [
        json.loads(line)["prompt"]
        for line in (repo_root / "pipelines/data/example-prompts.jsonl").read_text().splitlines()
    ]
    assert [r["prompt"] for r in rows] == prompts
    assert len(rows) == 8
    assert all(isinstance(r["generation"], str) and r["generation"].strip() for r in rows)
    assert all(0 < r["output_tokens"] <= 96 for r in rows)
    assert {r["model_name"] for r in rows} == {"smollm2-135m-instruct"}
    saved = datasets.load_from_disk(str(output / "dataset"))
    assert saved.num_rows == 8 and saved["generation"] == [r["generation"] for r in rows]
    record = json.loads((output / "run.json").read_text())
    assert record["splits"] == {"data": 8} and record["config"]["model"]["max_new_tokens"] == 96
    assert not list(tmp_path.glob(".gen.partial*"))
