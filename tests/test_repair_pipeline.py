"""`kind: repair`: prompts across families (held-out ones never), chosen = passing as written or
repaired, capped answers never chosen as written, and the pipeline runs end to end on a tiny model."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rule_llms import FailingLLM

from ifplay.config import ModelSpec
from ifplay.constraints import get_family
from ifplay.constraints.answers import choose_pair, repetitive
from ifplay.errors import IfplayError
from ifplay.pipelines import load_pipeline
from ifplay.pipelines.repair import (
    RepairConfig,
    RepairPrompts,
    build_prompts,
    build_splits,
    graft_splits,
    run_repair,
)

LOWER = get_family("case.lowercase").build({}).to_dict()
END = get_family("format.end_phrase").build({"phrase": "End of answer."}).to_dict()
MIN_WORDS = get_family("length.min_words").build({"n": 30}).to_dict()


def test_prompts_cover_families_and_never_use_held_out_ones() -> None:
    held_out = ["format.title", "case.lowercase"]
    config = RepairConfig(name="t", prompts=RepairPrompts(count=300, held_out=held_out))
    rows = [
        {**row, "constraints": json.loads(row["constraints_json"])} for row in build_prompts(config)
    ]
    assert len(rows) == 300
    used = {c["family_id"] for row in rows for c in row["constraints"]}
    assert not used & set(held_out)
    assert len(used) >= 30  # drawn across the library, not in family order
    sizes = {len(row["constraints"]) for row in rows}
    assert sizes == {0, 1, 2, 3}
    for row in rows:
        assert row["prompt"].startswith(row["query"])
        for constraint in row["constraints"]:
            assert constraint["instruction"] in row["prompt"]
            if "request" in constraint["kwargs"]:
                assert constraint["kwargs"]["request"] == row["query"]
    assert build_prompts(config) == build_prompts(config)  # seeded


def test_unknown_held_out_family_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown constraint family 'format.nope'"):
        RepairPrompts(held_out=["format.nope"])


def test_a_passing_answer_is_chosen_as_written_and_a_failing_one_rejected() -> None:
    picked = choose_pair([LOWER], ["Has Capitals.", "all lowercase here."], [False, False])
    assert picked == {
        "chosen": "all lowercase here.",
        "rejected": "Has Capitals.",
        "how": "as written",
    }


def test_a_capped_answer_is_never_chosen_as_written_but_can_be_finished() -> None:
    capped = "all lowercase. but this one ran into the cap and"
    picked = choose_pair([LOWER], [capped], [True])
    assert picked == {"chosen": "all lowercase.", "rejected": capped, "how": "repaired"}


def test_a_failing_answer_is_repaired_only_when_every_check_passes() -> None:
    # Lowercasing runs after the closing phrase is added, so the phrase's capital is lost: the final
    # check refuses the result (the library never combines these two families).
    assert choose_pair([LOWER, END], ["Short Answer."], [False])["how"] == "dropped"
    assert choose_pair([MIN_WORDS], ["Too short."], [False]) == {
        "chosen": None,
        "rejected": "Too short.",
        "how": "dropped",
    }
    fixed = choose_pair([END], ["A Plain Answer."], [False])
    assert fixed["chosen"] == "A Plain Answer.\n\nEnd of answer." and fixed["how"] == "repaired"


def test_plain_prompts_keep_answers_that_end_on_their_own() -> None:
    assert choose_pair([], ["A full answer.", "x"], [False, True])["how"] == "as written"
    assert choose_pair([], ["Cut off mid", "Also cut"], [True, True])["how"] == "dropped"


@pytest.mark.parametrize("name", ["repair.yaml", "graft.yaml"])
def test_shipped_declarations_are_valid(repo_root: Path, name: str) -> None:
    config = load_pipeline(repo_root / "pipelines" / name)
    assert config.kind == "repair" and config.model.n >= 2


def test_runs_end_to_end_on_a_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    # Through the command line in a fresh process: distilabel forks its workers, and this test
    # process may already have run torch (forking it then can deadlock).
    declaration = tmp_path / "repair.yaml"
    declaration.write_text(
        "kind: repair\nname: repair-test\nprompts: {count: 40, unconstrained: 0.5}\n"
        f"model: {{name: '{tiny_model_dir}', n: 2, max_new_tokens: 8, batch_size: 4}}\n"
    )
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "ifplay.cli", "generate", str(declaration), "--limit", "6"]
        + ["--output", str(out), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["prompts"] == 6 and stats["answers"] == 12
    assert sum(stats["chosen"].values()) == 6
    assert (out / "prompts" / "data.jsonl").read_text().count("\n") == 6
    for split in ("sft", "dpo"):
        assert (out / split).is_dir()


def test_declared_split_columns_match_built_rows() -> None:
    import datasets

    from ifplay import split_schemas

    rows = [
        {
            "prompt": "Say hi.\n\nWrite in lowercase.",
            "constraints_json": json.dumps([LOWER]),
            "responses": ["Hi There.", "hi there."],
        }
    ]
    sft, dpo, fates = build_splits(rows, [[False, False]])
    assert len(sft) == len(dpo) == len(fates) == 1
    for built, declared in (
        (sft, split_schemas.REPAIR_SFT),
        (dpo, split_schemas.REPAIR_DPO),
        (fates, split_schemas.REPAIR_PROMPTS),
    ):
        assert datasets.Dataset.from_list(built).features == declared


@pytest.mark.parametrize(
    ("text", "loops"),
    [
        ("One idea. Another idea. A third one. And a fourth, different.", False),
        ("An intro. " + "They help people in recovery. " * 7, True),
        ("Step one is to plan the work ahead carefully. " * 5, True),
        ("To draw it, use jQuery " + "_j" * 150, True),
        (
            "Run it with these flags, each explained below in its own short paragraph. "
            + " ".join(f"Flag {i} sets option {i * 7} for the job." for i in range(12))
            + " -f-v1v1" * 60,
            True,
        ),
        (
            "A long and varied answer. Rivers carry silt from the mountains down to wide deltas. "
            "Bakers proof their dough overnight so the crumb turns open and light. Most comets "
            "orbit far beyond Neptune, in a cloud nobody has seen directly. A good map shows "
            "scale, north and a legend; a great one also shows what it leaves out. Tea was taxed "
            "so heavily in the 1700s that smuggling it became an ordinary trade. Violin strings "
            "were once made of gut, and many players still prefer their warmer tone.",
            False,
        ),
    ],
)
def test_repetitive_answers_are_spotted(text: str, loops: bool) -> None:
    assert repetitive(text) is loops


def test_a_looping_answer_is_never_chosen() -> None:
    looping = "They help people in recovery. " * 8
    assert choose_pair([], [looping, "A fine answer."], [False, False]) == {
        "chosen": "A fine answer.",
        "rejected": looping,
        "how": "as written",
    }


@pytest.mark.parametrize(
    ("engine", "error"),
    [
        (FailingLLM(), r"the engine failed on 4 of 4 rows \(step sample\)"),  # dead from the start
        (
            FailingLLM(answer="A short answer.", good_calls=1),
            r"the engine failed on 2 of 4 rows \(step sample\)",
        ),
        (FailingLLM(good_calls=99), "every answer of 4 prompts is empty"),  # swallows its errors
    ],
    ids=["dead", "dies-midway", "answers-nothing"],
)
def test_a_chunk_the_engine_did_not_answer_in_full_is_an_error_and_never_kept(
    engine: FailingLLM, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IFPLAY_CACHE", str(tmp_path))
    monkeypatch.setattr("ifplay.models.build_llm", lambda spec: engine)
    config = RepairConfig(name="failing", model=ModelSpec(n=2, batch_size=2))
    with pytest.raises(IfplayError, match=error):
        run_repair(config, Path("."), limit=4)
    assert not list((tmp_path / "checkpoints").rglob("chunk-*.jsonl"))


def test_grafts_repair_a_plain_answer_to_fit_fresh_constraint_sets() -> None:
    from ifplay.constraints import Constraint
    from ifplay.constraints.repair import repairable

    families = sorted(
        f
        for f in (
            "case.lowercase",
            "format.end_phrase",
            "format.quoted",
            "punctuation.no_commas",
            "format.title",
        )
        if repairable(f)
    )
    answer = "Paris is the capital of France, and it is large. It has many museums."
    rows = [
        {
            "prompt_id": 3,
            "query": "Tell me about Paris.",
            "constraints_json": "[]",
            "responses": [answer, "A loop. A loop. A loop."],
        },
        {
            "prompt_id": 4,
            "query": "Say hi.",
            "constraints_json": json.dumps([LOWER]),
            "responses": ["hi."],
        },
    ]
    capped = [[False, True], [False]]
    sft, dpo, fates = graft_splits(rows, capped, 6, families, 2, seed=1)
    assert len(fates) == 6  # constrained prompts get no grafts
    assert sft and len(sft) == sum(fate["how"] == "grafted" for fate in fates)
    for row in sft:
        prompt, completion = row["prompt"][0]["content"], row["completion"][0]["content"]
        assert prompt.startswith("Tell me about Paris.\n\n")
        assert set(row["family_ids"]) <= set(families)
        constraints = json.loads(row["constraints_json"])
        assert [c["family_id"] for c in constraints] == row["family_ids"]
        assert all(c["instruction"] in prompt for c in constraints)
        assert all(Constraint.from_dict(c).check(completion) for c in constraints)
    assert all(pair["rejected"][0]["content"] == answer for pair in dpo)
    assert graft_splits(rows, capped, 6, families, 2, seed=1) == (sft, dpo, fates)  # seeded
    assert graft_splits(rows, capped, 0, families, 2, seed=1) == ([], [], [])
