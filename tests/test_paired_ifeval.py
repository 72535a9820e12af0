"""Paired IFEval comparison: the interval pairs prompts, instruction metrics weigh instructions, and
prompts are matched by text."""

import json
import random
from pathlib import Path

import pytest
from ifeval_details import write_details

from ifplay.cli import main as cli_main
from ifplay.evaluation.paired import (
    Sample,
    load_samples,
    mean_of_four,
    paired_changes,
    per_type_table,
)


def one(passed: bool, kind: str = "punctuation:no_comma") -> Sample:
    return Sample(types=(kind,), strict=(passed,), loose=(passed,))


def by_metric(changes):
    return {change.metric: change for change in changes}


def test_identical_runs_change_nothing() -> None:
    rng = random.Random(0)
    run = {f"p{i}": one(rng.random() < 0.5) for i in range(100)}
    for change in paired_changes(run, run):
        assert change.change == 0 and change.low == 0 and change.high == 0


def test_the_interval_pairs_prompts() -> None:
    # 200 prompts, half passing; after: 10 more pass and nothing is lost. Paired, the gain is certain
    # (every resample's change is >= 0); an unpaired bootstrap of two 50 % vs 55 % samples of 200
    # would give an interval reaching well below zero.
    rng = random.Random(1)
    before = {f"p{i}": one(rng.random() < 0.5) for i in range(200)}
    failing = [p for p, s in before.items() if not s.strict[0]][:10]
    after = {p: one(True) if p in failing else s for p, s in before.items()}
    change = by_metric(paired_changes(before, after))["prompt_level_strict_acc"]
    assert change.change == pytest.approx(10 / 200)
    assert 0 < change.low < change.change < change.high


def test_instruction_metrics_weigh_each_instruction() -> None:
    three = Sample(("a", "b", "c"), (False, False, False), (False, False, False))
    fixed = Sample(("a", "b", "c"), (True, True, True), (True, True, True))
    before = {"x": three, "y": one(True)}
    after = {"x": fixed, "y": one(True)}
    changes = by_metric(paired_changes(before, after))
    assert changes["inst_level_strict_acc"].before == pytest.approx(1 / 4)
    assert changes["inst_level_strict_acc"].after == pytest.approx(1.0)
    assert changes["prompt_level_strict_acc"].change == pytest.approx(0.5)
    assert mean_of_four(list(changes.values())) == pytest.approx((0.75 + 0.5) / 2)


def test_only_shared_prompts_count_and_none_shared_is_an_error() -> None:
    before = {"a": one(False), "b": one(False)}
    after = {"a": one(True), "c": one(True)}
    assert by_metric(paired_changes(before, after))["prompt_level_loose_acc"].change == 1.0
    with pytest.raises(ValueError, match="share no prompt"):
        paired_changes({"a": one(True)}, {"b": one(True)})


def test_per_type_table_counts_loose_follows() -> None:
    before = {"a": Sample(("x", "y"), (False, True), (True, True)), "b": one(False, "x")}
    after = {"a": Sample(("x", "y"), (True, False), (True, False)), "b": one(True, "x")}
    rows = {row.type: row for row in per_type_table(before, after)}
    assert (rows["x"].prompts, rows["x"].before, rows["x"].after) == (2, 1, 2)
    assert (rows["y"].prompts, rows["y"].before, rows["y"].after) == (1, 1, 0)


def test_details_files_in_and_tables_out(tmp_path: Path, capsys) -> None:
    before = write_details(tmp_path / "before.jsonl", [False, False, True, False])
    after = write_details(tmp_path / "after.jsonl", [True, False, True, True])
    samples = load_samples(before)
    assert samples["prompt 0"].types == ("change_case:english_lowercase", "punctuation:no_comma")
    assert samples["prompt 0"].strict == (False, True)
    assert cli_main(["compare", str(before), str(after), "--json", str(tmp_path / "cmp.json")]) == 0
    printed = capsys.readouterr().out
    assert "| prompt_level_strict_acc | 25.0 | 75.0 | +50.0 |" in printed
    assert "| change_case:english_lowercase | 4 | 1 | 3 |" in printed
    saved = json.loads((tmp_path / "cmp.json").read_text())
    assert saved["changes"][0]["metric"] == "prompt_level_strict_acc"


def test_compare_takes_eval_folders_and_names_a_bad_file(tmp_path: Path, capsys) -> None:
    write_details(tmp_path / "a" / "details" / "ifeval.jsonl", [True, False])
    write_details(tmp_path / "b" / "details" / "ifeval.jsonl", [True, True])
    assert cli_main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "mean of four" in capsys.readouterr().out
    (tmp_path / "bad.jsonl").write_text('{"prompt": "p", "metrics": {"ppl": 3}}\n')
    assert cli_main(["compare", str(tmp_path / "bad.jsonl"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("ifplay: error: IFEval details:") and "bad.jsonl" in err and "\n" not in err
    )
