"""FollowBench: data loading, rule-based example scoring, judge parsing, HSR/SSR/CSL arithmetic, end to end."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ifplay.config import ModelSpec
from ifplay.evaluation.data import DataRequest
from ifplay.evaluation.registry import load_module

CATEGORIES = ("content", "situation", "style", "format", "example", "mixed")


@pytest.fixture(scope="module")
def fb() -> Any:
    return load_module("followbench")


def config_for(fb: Any, category: str) -> Any:
    return next(c for c in fb.TASKS_TABLE if c.hf_subset == category)


# --- data --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "groups", "levels"),
    [
        ("content", 25, range(6)),
        ("situation", 22, range(6)),
        ("style", 30, range(6)),
        ("format", 30, range(6)),
        ("example", 40, range(1, 6)),
        ("mixed", 17, range(6)),
    ],
)
def test_loads_every_category_and_level(
    fb: Any, shared_data: Path, category: str, groups: int, levels: range
) -> None:
    request = DataRequest("followbench", shared_data / "followbench")
    dataset, source = fb.load_data(config_for(fb, category), request)
    rows = list(dataset["train"])
    assert source.endswith(f"{category}_constraints.json")
    assert len(rows) == groups * len(levels)
    assert {r["level"] for r in rows} == set(levels)
    assert all(r["category"] == category for r in rows)
    first = min(levels)
    for row in rows:
        assert (
            len(row["evolution"]) == row["level"] - first + 1
            and row["evolution"][-1] == row["instruction"]
        )
    docs = [fb.followbench_prompt(r, "t") for r in rows]
    answered = [d for d in docs if d is not None]
    assert len(answered) == groups * 5  # level 0 is context for the judge, never answered
    assert {d.specific["level"] for d in answered} == {1, 2, 3, 4, 5}


def test_missing_category_file_is_a_data_error(fb: Any, tmp_path: Path) -> None:
    from ifplay.errors import DataError

    with pytest.raises(DataError, match="content_constraints.json: no such file"):
        fb.load_data(config_for(fb, "content"), DataRequest("followbench", tmp_path))


def test_offline_without_local_data_says_what_to_do(fb: Any, monkeypatch) -> None:
    from ifplay.errors import DataError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="HF_HUB_OFFLINE is set.*--data followbench=DIR"):
        fb.load_data(config_for(fb, "style"), DataRequest("followbench"))


# --- rule-based scoring of the example category ------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "response", "follows"),
    [
        ("{instruction}\nAnswer: {answer}", "Answer: Paris", True),
        ("{instruction}\nAnswer: {answer}", "  Answer: Paris\n", True),
        ("{instruction}\nAnswer: {answer}", "Answer: two\nlines", True),
        ("{instruction}\nAnswer: {answer}", "Paris", False),
        ("{instruction}\nAnswer: {answer}", "The answer is Paris", False),
        ("{instruction}\n{{'AI assistant': '{answer}'}}", "{'AI assistant': 'opec basket'}", True),
        ("{instruction}\n{{'AI assistant': '{answer}'}}", "'AI assistant': 'opec basket'", False),
        ("{instruction}\n{{'AI assistant': '{answer}'}}", "{'AI assistant': 'x'} and more", False),
        ("{instruction}\n[AI assistant]\n{answer}", "[AI assistant]\nthank you!", True),
        ("{instruction}\n[AI assistant]\n{answer}", "[AI Assistant]\nthank you!", False),
        ("{instruction}\nANSWER: {answer}", "ANSWER: Microsoft (confident).", True),
        ("{instruction}\n{answer}", "anything at all", True),
    ],
)
def test_example_format_rule(fb: Any, target: str, response: str, follows: bool) -> None:
    assert fb.follows_example_format(response, target) is follows


def test_every_reference_answer_follows_its_own_format(fb: Any, shared_data: Path) -> None:
    rows = json.loads((shared_data / "followbench" / "example_constraints.json").read_text())
    assert all(fb.follows_example_format(r["answer"], r["target"]) for r in rows)


# --- judge prompt and verdict parsing ------------------------------------------------------------------


def test_judge_prompt_shows_the_evolution_and_asks_for_n_verdicts(fb: Any) -> None:
    prompt = fb.judge_prompt(
        ["Write a poem.", "Write a poem about cats.", "Write a haiku about cats."], "Meow."
    )
    assert (
        prompt.index("Step 0")
        < prompt.index("Step 1")
        < prompt.index("Step 2")
        < prompt.index("Meow.")
    )
    assert "2 step(s)" in prompt and prompt.rstrip().endswith("Verdicts: [YES or NO, YES or NO]")


@pytest.mark.parametrize(
    ("answer", "n", "verdicts"),
    [
        ("1. rhyme\n2. short\nVerdicts: [YES, NO]", 2, [True, False]),
        ("Verdicts: ['YES', 'YES', 'NO']\n", 3, [True, True, False]),
        ("reasoning...\nverdict: yes", 1, [True]),
        ("The list: [NO, NO]", 2, [False, False]),
        ("Verdicts: [YES]\nlater text Verdicts: [NO, YES]", 2, [False, True]),
        ("Verdicts: [YES, NO]", 3, None),
        ("I am not sure.", 1, None),
        ("", 1, None),
    ],
)
def test_parse_verdicts(fb: Any, answer: str, n: int, verdicts: list[bool] | None) -> None:
    assert fb.parse_verdicts(answer, n) == verdicts


# --- HSR / SSR / CSL ------------------------------------------------------------------------------------


def record(
    group: int, level: int, verdicts: list[bool], judged: bool = True, parsed: bool = True
) -> dict:
    return {
        "group": group,
        "level": level,
        "verdicts": verdicts,
        "judged": judged,
        "parsed": parsed,
    }


def test_hsr_ssr_csl_on_a_hand_made_table(fb: Any) -> None:
    # group 1: levels 1-2 fully met, level 3 meets 2 of 3, level 4 fully, level 5 none -> CSL 2
    # group 2: every level fully met -> CSL 5
    # group 3: level 1 failed (judge answer unparsed), levels 2-5 fully met -> CSL 0
    table = [
        record(1, 1, [True]),
        record(1, 2, [True, True]),
        record(1, 3, [True, False, True]),
        record(1, 4, [True] * 4),
        record(1, 5, [False] * 5),
        *(record(2, n, [True] * n) for n in range(1, 6)),
        record(3, 1, [False], parsed=False),
        *(record(3, n, [True] * n) for n in range(2, 6)),
    ]
    out = fb.summarize(table)
    assert out["hsr_level1"] == pytest.approx(2 / 3)
    assert out["hsr_level3"] == pytest.approx(2 / 3)
    assert out["hsr_level5"] == pytest.approx(2 / 3)
    assert out["ssr_level3"] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert out["ssr_level5"] == pytest.approx((0 + 1 + 1) / 3)
    assert out["hsr"] == pytest.approx((2 / 3 + 1 + 2 / 3 + 1 + 2 / 3) / 5)
    assert out["ssr"] == pytest.approx((2 / 3 + 1 + 8 / 9 + 1 + 2 / 3) / 5)
    assert out["csl"] == pytest.approx((2 + 5 + 0) / 3)
    assert out["judge_unparsed"] == pytest.approx(1 / 15)


def test_csl_stops_at_the_first_missing_level(fb: Any) -> None:
    assert fb.consistent_levels({1: True, 2: True, 4: True, 5: True}) == 2
    assert fb.consistent_levels({}) == 0
    assert fb.summarize([record(1, 1, [True], judged=False)]) == {
        "hsr_level1": 1.0,
        "ssr_level1": 1.0,
        "hsr": 1.0,
        "ssr": 1.0,
        "csl": 1.0,
    }


# --- every category and level through lighteval, with known HSR/SSR/CSL ---------------------------------

# Passed constraints per level (1..5) in the hand-made responses: group 1 passes levels 1, 2, 4 fully,
# 2 of 3 constraints at level 3 and none at level 5; group 2 (content only) passes everything.
GROUP_ONE_PASSES = {1: 1, 2: 2, 3: 2, 4: 4, 5: 0}
EXAMPLE_RESPONSES = {
    1: "Answer: Paris",
    2: "Answer: multi\nline",
    3: "Paris",
    4: "Answer: x",
    5: " Answer: y ",
}


def write_handmade_followbench(folder: Path) -> list[dict[str, str]]:
    """Tiny FollowBench files for all six categories, and the hand-made responses to them."""
    folder.mkdir()
    responses = []
    for category in CATEGORIES:
        rows = []
        groups = (1, 2) if category == "content" else (1,)
        for group in groups:
            for level in range(1 if category == "example" else 0, 6):
                instruction = f"[{category} #{group}] task with {level} added constraint(s)"
                target = "{instruction}\nAnswer: {answer}" if category == "example" else ""
                rows.append(
                    {
                        "example_id": group,
                        "category": category,
                        "source": "handmade",
                        "level": level,
                        "instruction": instruction,
                        "target": target,
                    }
                )
                if level == 0:
                    continue
                if category == "example":
                    text = EXAMPLE_RESPONSES[level]
                elif category == "mixed" and level == 5:
                    text = "GARBLE"  # the stub judge answers this one with nonsense
                else:
                    text = f"PASS={level if group == 2 else GROUP_ONE_PASSES[level]}"
                responses.append({"prompt": instruction, "response": text})
        (folder / f"{category}_constraints.json").write_text(json.dumps(rows))
    return responses


def stub_judge(self: Any, prompts: list[str]) -> list[str]:
    """A deterministic judge: 'PASS=k' in the response means the first k constraints are met."""
    answers = []
    for prompt in prompts:
        n = len(re.findall(r"^### Step \d+", prompt, re.MULTILINE)) - 1
        found = re.search(r"PASS=(\d+)", prompt)
        if found is None:
            answers.append("I cannot tell.")
            continue
        k = int(found.group(1))
        verdicts = ", ".join(["YES"] * k + ["NO"] * (n - k))
        answers.append(f"1. some constraint\nVerdicts: [{verdicts}]")
    return answers


def test_all_categories_and_levels_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifplay.evaluation import run_eval
    from ifplay.evaluation.judge import Judge

    responses = write_handmade_followbench(tmp_path / "followbench")
    responses_file = tmp_path / "responses.jsonl"
    responses_file.write_text("".join(json.dumps(r) + "\n" for r in responses))
    monkeypatch.setattr(Judge, "ask", stub_judge)
    results = run_eval(
        ModelSpec(),
        ["followbench"],
        tmp_path / "out",
        judge=ModelSpec(name="stub-judge", temperature=0.0),
        responses=responses_file,
        data={"followbench": tmp_path / "followbench"},
    )
    m = results["metrics"]
    one_group = {"hsr": 3 / 5, "ssr": (1 + 1 + 2 / 3 + 1 + 0) / 5, "csl": 2.0}
    for category in ("situation", "style", "format", "mixed"):
        for name, value in one_group.items():
            assert m[f"followbench/{category}/{name}"] == pytest.approx(value), (category, name)
    assert m["followbench/content/hsr"] == pytest.approx((1 + 1 + 0.5 + 1 + 0.5) / 5)
    assert m["followbench/content/ssr"] == pytest.approx((1 + 1 + 5 / 6 + 1 + 0.5) / 5)
    assert m["followbench/content/csl"] == pytest.approx((2 + 5) / 2)
    assert m["followbench/content/hsr_level3"] == pytest.approx(0.5)
    assert m["followbench/example/hsr"] == pytest.approx(4 / 5)
    assert m["followbench/example/ssr"] == pytest.approx(4 / 5)
    assert m["followbench/example/csl"] == pytest.approx(2.0)
    assert m["followbench/mixed/judge_unparsed"] == pytest.approx(1 / 5)
    assert m["followbench/style/judge_unparsed"] == 0.0
    assert "followbench/example/judge_unparsed" not in m
    hsr = [m[f"followbench/{c}/hsr"] for c in CATEGORIES]
    assert m["followbench/hsr"] == pytest.approx(sum(hsr) / 6)
    assert m["followbench/csl"] == pytest.approx((3.5 + 2 * 5) / 6)
    assert results["samples"] == {
        f"followbench/{c}": (10 if c == "content" else 5) for c in CATEGORIES
    }
    assert results["judge"]["name"] == "stub-judge"
    detail = json.loads(
        (tmp_path / "out" / "details" / "followbench_mixed.jsonl").read_text().splitlines()[0]
    )
    assert detail["metrics"]["followbench"]["judge_answer"]


def test_without_a_judge_only_the_example_category_runs(tmp_path: Path) -> None:
    from ifplay.evaluation import run_eval

    responses = write_handmade_followbench(tmp_path / "followbench")
    responses_file = tmp_path / "responses.jsonl"
    responses_file.write_text("".join(json.dumps(r) + "\n" for r in responses))
    results = run_eval(
        ModelSpec(),
        ["followbench"],
        tmp_path / "out",
        responses=responses_file,
        data={"followbench": tmp_path / "followbench"},
    )
    assert results["tasks"] == ["followbench/example"] and results["judge"] is None
    assert results["metrics"]["followbench/hsr"] == pytest.approx(4 / 5)
