"""`write_report` on a hand-made run folder: tables line up and every number comes from the manifest."""

import json
from pathlib import Path

from ifeval_details import write_details

from ifplay.report import write_report


def _stage(seconds: float, summary: dict) -> dict:
    return {"status": "done", "seconds": seconds, "summary": summary}


def test_report_tables_have_one_cell_per_column(tmp_path: Path) -> None:
    metrics = {"ifeval/prompt_level_strict_acc": 0.175, "ifeval/inst_level_strict_acc": 0.21}
    after = {"ifeval/prompt_level_strict_acc": 0.2, "ifeval/inst_level_strict_acc": 0.25}
    stages = {
        "iter-0/eval": _stage(10, {"metrics": metrics}),
        "iter-1/generate": _stage(360, {"splits": {"dpo": 20}, "stats": {}}),
        "iter-1/train": _stage(
            120,
            {
                "metrics": {
                    "train_loss": 0.66,
                    "rewards/margins": 0.21,
                    "heldout_reward_margin": 0.05,
                }
            },
        ),
        "iter-1/eval": _stage(161, {"metrics": after}),
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "t", "stages": stages}))
    lines = write_report(tmp_path).read_text().splitlines()
    tables = [line for line in lines if line.startswith("|")]
    header = next(line for line in tables if "reward margin" in line)
    row = tables[tables.index(header) + 2]
    assert header.count("|") == row.count("|") == tables[tables.index(header) + 1].count("|")
    assert "| 0.2100 | 0.0500 | 360/120/161 |" in row
    assert "- ifeval/prompt_level_strict_acc: 0.1750 -> 0.2000 (+0.0250)" in lines


def test_report_compares_each_iteration_with_the_start_on_the_same_prompts(tmp_path: Path) -> None:
    stages = {
        "iter-0/eval": _stage(10, {"metrics": {"ifeval/prompt_level_strict_acc": 0.25}}),
        "iter-1/eval": _stage(10, {"metrics": {"ifeval/prompt_level_strict_acc": 0.75}}),
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "t", "stages": stages}))
    write_details(
        tmp_path / "iter-0" / "eval" / "details" / "ifeval.jsonl", [False, False, True, False]
    )
    write_details(
        tmp_path / "iter-1" / "eval" / "details" / "ifeval.jsonl", [True, False, True, True]
    )
    lines = write_report(tmp_path).read_text().splitlines()
    row = next(line for line in lines if line.startswith("| 1 | prompt_level_strict_acc |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:5] == ["25.0", "75.0", "+50.0"]
    low, high = (float(x) for x in cells[5].split(" .. "))
    assert 0 <= low <= 50 <= high <= 100  # only gains: no resample can show a loss
    assert "| change_case:english_lowercase | 4 | 1 | 3 |" in lines
    assert (tmp_path / "metrics.png").stat().st_size > 0


def test_report_without_answers_has_no_paired_section(tmp_path: Path) -> None:
    stages = {"iter-0/eval": _stage(10, {"metrics": {"ifeval/prompt_level_strict_acc": 0.25}})}
    (tmp_path / "manifest.json").write_text(json.dumps({"name": "t", "stages": stages}))
    assert "same prompts" not in write_report(tmp_path).read_text()
