"""SPIN data: the right columns on the right side, skipped prompts counted, iterations mixed."""

import json
from pathlib import Path

import pytest

from ifplay.errors import DataError
from ifplay.loop.runner import training_data
from ifplay.pipelines.spin import SpinData, first_exchange, real_pairs, spin_rows


def test_first_exchange_takes_the_first_user_turn_and_its_reply():
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "Hi?"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "More?"},
        {"role": "assistant", "content": "No."},
    ]
    assert first_exchange(messages) == {"prompt": "Hi?", "real": "Hello!"}
    assert first_exchange([{"role": "user", "content": "Hi?"}]) is None
    assert (
        first_exchange([{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": " "}])
        is None
    )
    assert first_exchange([]) is None


def test_pairs_put_the_real_response_on_the_chosen_side_only():
    rows = [
        {"prompt": "Q1", "real": "real answer 1", "responses": ["model answer 1"]},
        {"prompt": "Q2", "real": "real answer 2", "responses": [""]},
        {"prompt": "Q3", "real": "real answer 3", "responses": ["model answer 3"]},
    ]
    pairs, skipped = spin_rows(rows)
    assert skipped == 1
    assert [p["prompt"] for p in pairs] == [
        [{"role": "user", "content": "Q1"}],
        [{"role": "user", "content": "Q3"}],
    ]
    assert [p["chosen"][0]["content"] for p in pairs] == ["real answer 1", "real answer 3"]
    assert [p["rejected"][0]["content"] for p in pairs] == ["model answer 1", "model answer 3"]
    generated = {"model answer 1", "model answer 3"}
    assert not any(p["chosen"][0]["content"] in generated for p in pairs)
    assert all(p["chosen"][0]["role"] == "assistant" for p in pairs)


def test_local_messages_dataset_skips_and_counts_prompts_without_a_reply(tmp_path: Path):
    path = tmp_path / "sft.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "B?"}]},
        {"messages": [{"role": "user", "content": "C?"}, {"role": "assistant", "content": "c"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs, skipped = real_pairs(SpinData(source=str(path)), tmp_path)
    assert pairs == [{"prompt": "A?", "real": "a"}, {"prompt": "C?", "real": "c"}]
    assert skipped == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(DataError, match="column 'messages' not found"):
        real_pairs(SpinData(source=str(bad)), tmp_path)


def test_sharegpt_default_gives_real_pairs_within_bounds():
    pairs, skipped = real_pairs(SpinData(limit=5, max_chars=300, max_response_chars=600), Path("."))
    assert len(pairs) == 5 and skipped == 0
    assert all(20 <= len(p["prompt"]) <= 300 and 0 < len(p["real"]) <= 600 for p in pairs)


def _write_iteration(root: Path, k: int, tag: str) -> None:
    folder = root / f"iter-{k}" / "data" / "train"
    folder.mkdir(parents=True)
    folder.joinpath("data.jsonl").write_text(json.dumps({"tag": tag}) + "\n")


def test_mixing_picks_the_previous_and_current_iteration(tmp_path: Path):
    for k, tag in ((1, "one"), (2, "two"), (3, "three")):
        _write_iteration(tmp_path, k, tag)
    assert training_data(tmp_path, 1, "train", True) == tmp_path / "iter-1" / "data" / "train"
    assert training_data(tmp_path, 3, "train", False) == tmp_path / "iter-3" / "data" / "train"
    mixed = training_data(tmp_path, 3, "train", True)
    tags = [json.loads(line)["tag"] for line in (mixed / "data.jsonl").read_text().splitlines()]
    assert tags == ["two", "three"]
