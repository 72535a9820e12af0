"""The parts of `ifplay annotate` that need no server: pairs, sampling, order, verdicts, bad input."""

from collections import Counter
from pathlib import Path

import pytest
import yaml
from generated_data import make_generated, make_loop

from ifplay.annotate import (
    LAYOUT_FILE,
    Pair,
    collect_pairs,
    load_layout,
    message_text,
    rejected_pairs,
    sample_pairs,
    verdict,
)
from ifplay.cli import main
from ifplay.edits import word_edit_distance
from ifplay.errors import ConfigError, DataError


def pair(index: int, iteration: int | None = 1) -> Pair:
    return Pair("dpo", index, "autoif", iteration, f"p{index}", f"good {index}", f"bad {index}")


def test_layout_file_is_valid_and_checked(tmp_path: Path) -> None:
    layout = load_layout()
    assert [f.name for f in layout.fields] == ["prompt", "response_a", "response_b"]
    broken = yaml.safe_load(LAYOUT_FILE.read_text())
    broken["questions"][0]["labels"].pop("tie")
    path = tmp_path / "layout.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError, match="preference labels must be a, b, tie, both_bad"):
        load_layout(path)


def test_pairs_carry_source_metadata_and_edit_distance(tmp_path: Path) -> None:
    loop = make_loop(tmp_path / "loop", iterations=2, pairs=2)
    _, pairs = collect_pairs(loop, load_layout())
    assert [(p.source, p.row, p.iteration) for p in pairs] == [
        ("iter-1/data/dpo", 0, 1),
        ("iter-1/data/dpo", 1, 1),
        ("iter-1/data/dpo", 2, 1),
        ("iter-2/data/dpo", 0, 2),
        ("iter-2/data/dpo", 1, 2),
        ("iter-2/data/dpo", 2, 2),
        ("iter-2/data/dpo", 3, 2),
    ]
    first = pairs[0]
    assert first.method == "autoif" and first.prompt.startswith("[it1] Task 0")
    assert set(first.numbers) == {"chosen_pass_rate", "rejected_pass_rate"}
    assert first.edit_distance_words == word_edit_distance(first.chosen, first.rejected) > 0
    assert len({p.id for p in pairs}) == len(pairs)


def test_order_is_stable_per_pair_and_balanced() -> None:
    pairs = [pair(i) for i in range(400)]
    assert [p.a_is for p in pairs] == [pair(i).a_is for i in range(400)]
    counts = Counter(p.a_is for p in pairs)
    assert 150 < counts["chosen"] < 250


def test_sampling_spreads_over_iterations() -> None:
    pairs = [pair(i, 1) for i in range(100)] + [pair(i, 2) for i in range(3)]
    sample = sample_pairs(pairs, 10, seed=7)
    assert Counter(p.iteration for p in sample) == {1: 7, 2: 3}
    assert sample == sample_pairs(pairs, 10, seed=7)
    assert sample != sample_pairs(pairs, 10, seed=8)
    assert sample_pairs(pairs, 500, seed=0) == pairs
    even = sample_pairs([pair(i, 1) for i in range(50)] + [pair(i, 2) for i in range(50)], 9, 0)
    assert Counter(p.iteration for p in even) == {1: 5, 2: 4}


def test_verdicts_and_majority_filter() -> None:
    assert verdict("a", "chosen") == "agree" and verdict("b", "chosen") == "disagree"
    assert verdict("a", "rejected") == "disagree" and verdict("b", "rejected") == "agree"
    assert verdict("tie", "rejected") == "tie" and verdict("both_bad", "chosen") == "both_bad"
    rows = [
        {"source": "dpo", "row": 0, "verdict": "disagree"},
        {"source": "dpo", "row": 1, "verdict": "agree"},
        {"source": "dpo", "row": 1, "verdict": "disagree"},
        {"source": "dpo", "row": 2, "verdict": "tie"},
        {"source": "dpo", "row": 3, "verdict": "both_bad"},
    ]
    assert rejected_pairs(rows, drop_ties=False) == {("dpo", 0), ("dpo", 3)}
    assert rejected_pairs(rows, drop_ties=True) == {("dpo", 0), ("dpo", 2), ("dpo", 3)}


def test_text_helpers() -> None:
    assert message_text([{"role": "assistant", "content": "hi"}]) == "hi"
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    assert message_text(turns, show_roles=True) == "**user:** a\n\n**assistant:** b"
    assert message_text("plain") == "plain"


def test_list_votes_become_their_mean_and_distances_are_in_words(tmp_path: Path) -> None:
    import datasets

    rows = [
        {
            "prompt": "p",
            "chosen": "c",
            "rejected": "r, then more.",  # 3 words apart (5 tokens)
            "judge_votes": [1, 1, 0, 1],
            "edit_distance": 4,
        }
    ]
    folder = tmp_path / "spar" / "dpo"
    folder.mkdir(parents=True)
    datasets.Dataset.from_list(rows).save_to_disk(str(folder / "dataset"))
    _, (only,) = collect_pairs(tmp_path / "spar", load_layout())
    # SPaR's own `edit_distance` column (tokens) is neither shown as the word distance nor copied
    assert only.numbers == {"judge_votes": 0.75} and only.edit_distance_words == 3


def test_no_pairs_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no preference pairs"):
        collect_pairs(make_generated(tmp_path / "gen", with_pairs=False), load_layout())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["push", "{missing}", "--dataset", "d"], "no such folder"),
        (["push", "{plain}", "--dataset", "d"], "no preference pairs"),
        (["push", "{pairs}", "--dataset", "bad name"], "is not a valid name"),
        (["push", "{pairs}", "--dataset", "d", "--sample", "0"], "--sample: must be >= 1"),
        (["push", "{pairs}", "--dataset", "d", "--api-url", ""], "no Argilla server"),
        (["pull", "{pairs}", "--dataset", "d", "--drop-ties"], "only applies with --filtered"),
    ],
)
def test_bad_input_is_one_line(argv, message, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("ARGILLA_API_URL", raising=False)
    paths = {
        "missing": tmp_path / "missing",
        "plain": make_generated(tmp_path / "plain", with_pairs=False),
        "pairs": make_generated(tmp_path / "pairs"),
    }
    code = main(["annotate", *(a.format(**paths) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ifplay: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
