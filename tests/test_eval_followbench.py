"""FollowBench: data loading, every scoring rule, routing between rules and the judge, judge parsing,
HSR/SSR/CSL arithmetic (unparsed verdicts apart), the rules-only task, end to end."""

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


# Answered rows scored by rule in the shared data, per category and rule (FollowBench's own split).
RULE_ROWS = {
    "content": {"E2E": 25, "WIKIEVENTS": 10, "CONLL2003": 25},
    "situation": {"BBH_logical": 25, "BBH_time": 5, "self_made_space": 5, "gsm_8k": 5},
    "style": {},
    "format": {"format_22": 5, "format_30": 5},
    "example": {"example_format": 200},
    "mixed": {
        "text_editing": 15,
        "cnn_dailymail": 5,
        "xsum": 5,
        "samsum": 5,
        "gigaword": 5,
        "arxiv": 5,
    },
}


def rows_of(shared_data: Path, category: str) -> list[dict]:
    return json.loads((shared_data / "followbench" / f"{category}_constraints.json").read_text())


@pytest.mark.parametrize("category", CATEGORIES)
def test_rows_are_routed_to_the_rules_followbench_uses(
    fb: Any, shared_data: Path, category: str
) -> None:
    rows = fb.with_evolution(rows_of(shared_data, category), category)
    answered = [r for r in rows if r["level"] >= 1]
    counts: dict[str, int] = {}
    for row in answered:
        if row["rule"] is not None:
            counts[row["rule"]] = counts.get(row["rule"], 0) + 1
    assert counts == RULE_ROWS[category]
    judged_sources = {r["source"] for r in answered if r["rule"] is None}
    assert not judged_sources & (set(fb.ANSWER_RULES) | set(fb.LEVEL_CHECKS))
    docs = [fb.followbench_prompt(r, "t") for r in answered]
    assert [d.specific["rule"] for d in docs] == [r["rule"] for r in answered]


def test_example_rows_named_like_summary_sources_keep_the_example_rule(fb: Any) -> None:
    assert fb.rule_for("example", "xsum", 39) == "example_format"
    assert fb.rule_for("mixed", "xsum", 12) == "xsum"
    assert fb.rule_for("format", "helpful_base", 22) == "format_22"
    assert fb.rule_for("format", "helpful_base", 21) is None
    assert fb.rule_for("content", "COGNAC", 9) is None


def test_format_groups_scored_by_rule_are_the_expected_instructions(
    fb: Any, shared_data: Path
) -> None:
    # the format rules are keyed by group id: notice when the data no longer matches them
    last = {
        r["example_id"]: r["instruction"] for r in rows_of(shared_data, "format") if r["level"] == 5
    }
    assert "wooden table" in last[22] and "'Those are suggestions'" in last[22]
    assert "ministerial speech" in last[30] and '"**"' in last[30] and "'-ly'" in last[30]


def test_rules_task_loads_every_rule_scored_row(fb: Any, shared_data: Path) -> None:
    request = DataRequest("followbench", shared_data / "followbench")
    dataset, source = fb.load_data(config_for(fb, "rules"), request)
    rows = list(dataset["train"])
    assert len(rows) == 350 == sum(sum(c.values()) for c in RULE_ROWS.values())
    assert all(r["rule"] and r["level"] >= 1 for r in rows)
    per_category = {c: sum(r["category"] == c for r in rows) for c in CATEGORIES}
    assert per_category == {c: sum(RULE_ROWS[c].values()) for c in CATEGORIES}
    assert all(f"{c}_constraints.json" in source for c in CATEGORIES)


def test_rules_task_runs_alone_when_named_or_when_no_judge_is_given() -> None:
    from ifplay.errors import IfplayError
    from ifplay.evaluation.registry import select_tasks

    keys = [s.key for s in select_tasks(["followbench"], judge_available=True)]
    assert keys == [f"followbench/{c}" for c in CATEGORIES]
    assert [s.key for s in select_tasks(["followbench"], judge_available=False)] == [
        "followbench/rules"
    ]
    alone = select_tasks(["followbench:rules", "ifeval"], judge_available=False)
    assert [s.key for s in alone] == ["followbench/rules", "ifeval"]
    with pytest.raises(IfplayError, match="'followbench:rules' repeats rows"):
        select_tasks(["followbench", "followbench:rules"], judge_available=True)
    with pytest.raises(IfplayError, match="'followbench:rules' repeats rows"):
        select_tasks(["followbench:rules", "followbench:example"], judge_available=False)


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


# --- rules that compare with the reference answer ---------------------------------------------------

# Targets are real ones from ../shared/data/followbench (content, situation and mixed rows).
WIKIEVENTS_TARGET = (
    "members died at <arg2> place from <arg4> medical issue, killed by The Taliban killer\n"
    "people died at <arg2> place from <arg4> medical issue, killed by fighters killer"
)


@pytest.mark.parametrize(
    ("rule", "response", "target", "passes"),
    [
        ("E2E", " name[The Phoenix], eatType[pub]\n", "name[The Phoenix], eatType[pub]", True),
        ("E2E", "name[The Phoenix], eatType[restaurant]", "name[The Phoenix], eatType[pub]", False),
        (
            "E2E",
            "Result: name[The Phoenix], eatType[pub]",
            "name[The Phoenix], eatType[pub]",
            False,
        ),
        ("text_editing", "pples loved eting i.", "pples loved eting i.", True),
        ("text_editing", "pples loved eting i", "pples loved eting i.", False),
        (
            "WIKIEVENTS",
            "people died at <arg2> place from <arg4> medical issue, killed by fighters killer\n",
            WIKIEVENTS_TARGET,
            True,
        ),
        (
            "WIKIEVENTS",
            "people died at <arg2> place from <arg4> medical issue, killed by fighters killer\n"
            "soldiers died at Kabul place from <arg4> medical issue, killed by <arg3> killer",
            WIKIEVENTS_TARGET,
            False,
        ),
        ("WIKIEVENTS", "  \n", WIKIEVENTS_TARGET, False),
        ("CONLL2003", " Bonn\n", "['Bonn', 'BRUSSELS']", True),
        ("CONLL2003", "Germany", "['Bonn', 'BRUSSELS']", False),
        ("CONLL2003", "Bonn.", "['Bonn', 'BRUSSELS']", False),
        ("CONLL2003", "Bonn", "not a list [", False),
        ("BBH_logical", "The owl is leftmost, so (A) is wrong; the answer is (B).", "(B)", True),
        ("BBH_logical", "(B) looks right at first, but the answer is (A).", "(B)", False),
        ("BBH_logical", "The answer is B.", "(B)", False),
        ("BBH_time", "Five days after 12/24/1937 is 12/29/1937.", "12/29/1937", True),
        ("BBH_time", "It is 12/29/1937, no: 01/03/1938.", "12/29/1937", False),
        ("BBH_time", "December 29, 1937", "12/29/1937", False),
        (
            "self_made_space",
            "He ends up on the 14th floor, Apartment 3.",
            "14th floor, Apartment 3",
            True,
        ),
        (
            "self_made_space",
            "He is on the 14th floor, Apartment 2.",
            "14th floor, Apartment 3",
            False,
        ),
        ("gsm_8k", "She earns $42 but pays $5, so she keeps $37.", "$37", True),
        ("gsm_8k", "In total: $37.00", "$37", True),
        ("gsm_8k", "She keeps $37, then earns $5 more: $42.", "$37", False),
        ("gsm_8k", "She keeps 37 dollars.", "$37", False),
    ],
)
def test_answer_rules(fb: Any, rule: str, response: str, target: str, passes: bool) -> None:
    assert fb.rule_checks(rule, response, target, level=3) == [passes]


def test_reference_answers_pass_their_answer_rules(fb: Any, shared_data: Path) -> None:
    import ast

    checked = 0
    for category in CATEGORIES:
        for row in fb.with_evolution(rows_of(shared_data, category), category):
            if row["level"] < 1 or row["rule"] not in fb.ANSWER_RULES:
                continue
            target = row["target"]
            if row["rule"] == "WIKIEVENTS":
                response = target.splitlines()[-1]
            elif row["rule"] == "CONLL2003":
                response = ast.literal_eval(target)[-1]
            else:
                response = f"Step by step... so the answer is {target}"
                if row["rule"] in ("E2E", "text_editing"):
                    response = target
            assert fb.rule_checks(row["rule"], response, target, row["level"]) == [True], row
            assert fb.rule_checks(row["rule"], "I do not know.", target, row["level"]) == [False]
            checked += 1
    assert checked == 25 + 10 + 25 + 25 + 5 + 5 + 5 + 15


# --- rules with one check per added constraint ------------------------------------------------------

FORMAT_22_PASS = (
    "1. Dust the wooden table every few days with a soft dry microfiber cloth so that grit and "
    "crumbs never get the chance to scratch its finish.\n\n"
    "2. Wipe up any spills at once and always place coasters under glasses and mugs, because heat "
    "and moisture leave white rings in the wood.\n\n"
    "3. Polish the surface with a good furniture wax every few months and keep the table out of "
    "strong direct sunlight that fades the wood over time.\n\n"
    "Those are suggestions."
)
FORMAT_30_PASS = (
    "Ministerial speech on innovation\n\n"
    "**1. Productivity:** Innovation lets Australian firms produce more value with the same resources.\n"
    "**2. Jobs:** New industries create skilled and rewarding jobs for workers across every state.\n"
    "**3. Exports:** Australian ideas and products can compete and win in global markets.\n"
    "**4. Resilience:** Diverse and inventive firms help our economy absorb shocks and recover.\n"
    "**5. Living standards:** Higher productivity lifts wages and funds the services that "
    "Australians value.\n\n"
    "Thank you."
)

# (rule, response, results of the five checks in level order)
LEVELLED_CASES = [
    (
        "cnn_dailymail",
        "Harry Potter star Daniel Radcliffe turns 18 and gains his fortune. The young actor says "
        "he will not spend it on cars. He has starred in five Potter films so far.",
        [True] * 5,
    ),
    (
        "cnn_dailymail",
        "Harry Potter star Daniel Radcliffe turns 18. The actor plans no lavish parties. "
        "He starred in films.",
        [True, True, True, False, False],
    ),
    (
        "cnn_dailymail",
        "Daniel Radcliffe, the Harry Potter actor, turns 18 today and gains access to a fortune "
        "of twenty million pounds. He will keep making films.",
        [False, False, False, True, False],
    ),
    (
        "xsum",
        "Flood defences are being reviewed as the clean-up operation continues.",
        [True] * 5,
    ),
    (
        "xsum",
        "Newton Stewart was flooded. Repairs cost millions.",
        [False, True, False, False, False],
    ),
    ("samsum", "Kim is avoiding her stuff today.", [True] * 5),
    (
        "samsum",
        "Kim procrastinated instead of doing stuff, so Tim suggested the Pomodoro technique.",
        [True, True, True, False, False],
    ),
    ("gigaword", "bomb attack kills two people in southern philippines", [True] * 5),
    (
        "gigaword",
        "Bomb attack on a bus kills two in Philippines.",
        [False, False, False, False, True],
    ),
    (
        "arxiv",
        "We show that factual associations live in mid-layer activations of language models.",
        [True] * 5,
    ),
    (
        "arxiv",
        "Factual recall in transformer models is localized. We edit it.",
        [False, True, False, False, False],
    ),
    ("format_22", FORMAT_22_PASS, [True] * 5),
    (
        "format_22",
        FORMAT_22_PASS.replace("\n\nThose are suggestions.", " Those are suggestions."),
        [True] * 5,
    ),
    (
        "format_22",
        "Dust it often.\n\nUse coasters.\n\nWax it twice a year. Keep it out of the sun. Done.",
        [True, False, False, False, False],
    ),
    (
        "format_22",
        FORMAT_22_PASS.replace("\n\n2.", "\n2."),
        [False, True, True, True, True],
    ),
    ("format_30", FORMAT_30_PASS, [True] * 5),
    (
        "format_30",
        "**Innovation** brings many benefits.\n- It greatly increases productivity. "
        "It also creates jobs quickly.",
        [True, True, False, False, False],
    ),
    (
        "format_30",
        FORMAT_30_PASS.replace("resources.", "resources. It also helps us."),
        [True, False, False, True, True],
    ),
    ("format_30", FORMAT_30_PASS.replace("**", ""), [False, True, False, True, False]),
]


@pytest.mark.parametrize(("rule", "response", "checks"), LEVELLED_CASES)
def test_levelled_rules_check_one_constraint_per_level(
    fb: Any, rule: str, response: str, checks: list[bool]
) -> None:
    for level in range(1, 6):
        assert fb.rule_checks(rule, response, "", level) == checks[:level], level


def test_every_levelled_rule_has_a_passing_and_a_failing_case(fb: Any) -> None:
    for rule, checks in fb.LEVEL_CHECKS.items():
        assert len(checks) == 5
        cases = [c for r, _, c in LEVELLED_CASES if r == rule]
        assert [True] * 5 in cases and any(not all(c) for c in cases), rule
    assert {r for r, *_ in LEVELLED_CASES} == set(fb.LEVEL_CHECKS)


def test_a_rule_scored_sample_is_all_or_nothing(fb: Any) -> None:
    from lighteval.tasks.requests import Doc

    doc = Doc(
        query="q",
        choices=[""],
        gold_index=0,
        specific={
            "example_id": 14,
            "category": "mixed",
            "level": 5,
            "target": "",
            "rule": "gigaword",
        },
    )
    record = fb.rule_record(doc, "Bomb attack on a bus kills two in Philippines.")
    assert record["verdicts"] == [False] and record["checks"] == [False, False, False, False, True]
    assert (
        record["group"] == ("mixed", 14) and not record["judged"] and record["rule"] == "gigaword"
    )


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
    group: int, level: int, verdicts: list[bool] | None, judged: bool = True, parsed: bool = True
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
    # group 3: level 1 judge answer unparsed (left out), levels 2-5 fully met -> CSL unknown, left out
    # group 4: level 1 failed, level 2 unparsed -> CSL 0 (known before the unparsed level)
    table = [
        record(1, 1, [True]),
        record(1, 2, [True, True]),
        record(1, 3, [True, False, True]),
        record(1, 4, [True] * 4),
        record(1, 5, [False] * 5),
        *(record(2, n, [True] * n) for n in range(1, 6)),
        record(3, 1, None, parsed=False),
        *(record(3, n, [True] * n) for n in range(2, 6)),
        record(4, 1, [False]),
        record(4, 2, None, parsed=False),
    ]
    out = fb.summarize(table)
    assert out["hsr_level1"] == pytest.approx(2 / 3)  # groups 1, 2, 4; group 3 left out
    assert out["hsr_level2"] == pytest.approx(1.0)  # groups 1-3; group 4 left out
    assert out["hsr_level3"] == pytest.approx(2 / 3)
    assert out["hsr_level5"] == pytest.approx(2 / 3)
    assert out["ssr_level3"] == pytest.approx((2 / 3 + 1 + 1) / 3)
    assert out["ssr_level5"] == pytest.approx((0 + 1 + 1) / 3)
    assert out["hsr"] == pytest.approx((2 / 3 + 1 + 2 / 3 + 1 + 2 / 3) / 5)
    assert out["ssr"] == pytest.approx((2 / 3 + 1 + 8 / 9 + 1 + 2 / 3) / 5)
    assert out["csl"] == pytest.approx((2 + 5 + 0) / 3)
    assert out["judge_unparsed_count"] == 2.0
    assert out["judge_unparsed"] == pytest.approx(2 / 17)


def test_unparsed_verdicts_are_not_counted_as_no(fb: Any) -> None:
    parsed_only = fb.summarize([record(1, 1, [True])])
    with_unparsed = fb.summarize([record(1, 1, [True]), record(2, 1, None, parsed=False)])
    assert with_unparsed["hsr"] == parsed_only["hsr"] == 1.0
    assert with_unparsed["csl"] == parsed_only["csl"] == 1.0
    assert with_unparsed["judge_unparsed_count"] == 1.0
    assert with_unparsed["judge_unparsed"] == 0.5
    assert fb.summarize([record(1, 1, None, parsed=False), record(1, 2, None, parsed=False)]) == {
        "judge_unparsed_count": 2.0,
        "judge_unparsed": 1.0,
    }


def test_csl_stops_at_the_first_missing_level(fb: Any) -> None:
    assert fb.consistent_levels({1: True, 2: True, 4: True, 5: True}) == 2
    assert fb.consistent_levels({}) == 0
    assert fb.consistent_levels({1: True, 2: None, 3: True}) is None
    assert fb.consistent_levels({1: True, 2: False, 3: None}) == 1
    assert fb.summarize([record(1, 1, [True], judged=False)]) == {
        "hsr_level1": 1.0,
        "ssr_level1": 1.0,
        "hsr": 1.0,
        "ssr": 1.0,
        "csl": 1.0,
    }


# --- routing: rule-scored rows never reach the judge ----------------------------------------------------


def content_docs(fb: Any, shared_data: Path, groups: set[int]) -> list[Any]:
    """Answered docs of the given content groups (real rows of ../shared/data/followbench)."""
    rows = fb.with_evolution(rows_of(shared_data, "content"), "content")
    docs = [fb.followbench_prompt(r, "t") for r in rows if r["example_id"] in groups]
    return [d for d in docs if d is not None]


def replies(texts: list[str]) -> list[Any]:
    from lighteval.models.model_output import ModelResponse

    return [ModelResponse(text=[t]) for t in texts]


def test_scorer_sends_only_rows_without_a_rule_to_the_judge(
    fb: Any, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifplay.evaluation.judge import Judge, judging_with

    docs = content_docs(fb, shared_data, {9, 14})  # COGNAC (judge) and E2E (rule), levels 1-5
    assert [d.specific["rule"] for d in docs] == [None] * 5 + ["E2E"] * 5
    texts = [f"PASS={d.specific['level']}" for d in docs[:5]] + [
        d.specific["target"] for d in docs[5:]
    ]
    asked: list[str] = []

    def recording_judge(self: Any, prompts: list[str]) -> list[str]:
        asked.extend(prompts)
        return stub_judge(self, prompts)

    monkeypatch.setattr(Judge, "ask", recording_judge)
    with judging_with(ModelSpec(name="stub-judge")):
        records = fb.FollowBenchScorer().compute(replies(texts), docs)
    assert len(asked) == 5 and all("PASS=" in p for p in asked)
    assert not any(d.specific["target"] in p for d in docs[5:] for p in asked)
    assert [r["judged"] for r in records] == [True] * 5 + [False] * 5
    assert all(r["verdicts"] == [True] * r["level"] for r in records[:5])
    assert all(r["verdicts"] == [True] and r["rule"] == "E2E" for r in records[5:])


def test_rule_rows_need_no_judge_at_all(fb: Any, shared_data: Path) -> None:
    docs = content_docs(fb, shared_data, {14})
    texts = [d.specific["target"] if d.specific["level"] != 4 else "no idea" for d in docs]
    records = fb.FollowBenchScorer().compute(replies(texts), docs)  # no judge installed
    assert [r["verdicts"] for r in records] == [[True], [True], [True], [False], [True]]
    from ifplay.errors import IfplayError

    with pytest.raises(IfplayError, match="LLM judge"):  # a judged row would need one
        fb.FollowBenchScorer().compute(replies(["x"]), content_docs(fb, shared_data, {9})[:1])


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


def score(
    tmp_path: Path, responses: list[dict[str, str]], tasks: list[str], judged: bool = False
) -> dict[str, Any]:
    """`run_eval` on `responses` (written to a file) against the FollowBench files in
    `tmp_path/followbench`, with the stub judge model named when `judged`."""
    from ifplay.evaluation import run_eval

    responses_file = tmp_path / "responses.jsonl"
    responses_file.write_text("".join(json.dumps(r) + "\n" for r in responses))
    judge = ModelSpec(name="stub-judge", temperature=0.0) if judged else None
    return run_eval(
        ModelSpec(),
        tasks,
        tmp_path / "out",
        judge=judge,
        responses=responses_file,
        data={"followbench": tmp_path / "followbench"},
    )


def test_all_categories_and_levels_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifplay.evaluation.judge import Judge

    responses = write_handmade_followbench(tmp_path / "followbench")
    monkeypatch.setattr(Judge, "ask", stub_judge)
    results = score(tmp_path, responses, ["followbench"], judged=True)
    m = results["metrics"]
    one_group = {"hsr": 3 / 5, "ssr": (1 + 1 + 2 / 3 + 1 + 0) / 5, "csl": 2.0}
    for category in ("situation", "style", "format"):
        for name, value in one_group.items():
            assert m[f"followbench/{category}/{name}"] == pytest.approx(value), (category, name)
    # mixed level 5: the judge's answer is unparsed, so level 5 is left out rather than counted as NO
    assert "followbench/mixed/hsr_level5" not in m
    assert m["followbench/mixed/hsr"] == pytest.approx((1 + 1 + 0 + 1) / 4)
    assert m["followbench/mixed/ssr"] == pytest.approx((1 + 1 + 2 / 3 + 1) / 4)
    assert m["followbench/mixed/csl"] == pytest.approx(2.0)
    assert m["followbench/mixed/judge_unparsed_count"] == 1.0
    assert m["followbench/content/hsr"] == pytest.approx((1 + 1 + 0.5 + 1 + 0.5) / 5)
    assert m["followbench/content/ssr"] == pytest.approx((1 + 1 + 5 / 6 + 1 + 0.5) / 5)
    assert m["followbench/content/csl"] == pytest.approx((2 + 5) / 2)
    assert m["followbench/content/hsr_level3"] == pytest.approx(0.5)
    assert m["followbench/example/hsr"] == pytest.approx(4 / 5)
    assert m["followbench/example/ssr"] == pytest.approx(4 / 5)
    assert m["followbench/example/csl"] == pytest.approx(2.0)
    assert m["followbench/mixed/judge_unparsed"] == pytest.approx(1 / 5)
    assert m["followbench/style/judge_unparsed"] == 0.0
    assert m["followbench/style/judge_unparsed_count"] == 0.0
    assert "followbench/example/judge_unparsed" not in m
    assert "followbench/rules/hsr" not in m  # the rules task runs only when named
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
    lines = (tmp_path / "out" / "details" / "followbench_mixed.jsonl").read_text().splitlines()
    garbled = [row for row in map(json.loads, lines) if row["response"] == "GARBLE"]
    assert [row["metrics"]["followbench"]["parsed"] for row in garbled] == [False]


def test_without_a_judge_only_the_rule_scored_rows_run(tmp_path: Path) -> None:

    responses = write_handmade_followbench(tmp_path / "followbench")
    results = score(tmp_path, responses, ["followbench"])
    assert results["tasks"] == ["followbench/rules"] and results["judge"] is None
    assert results["metrics"]["followbench/hsr"] == pytest.approx(4 / 5)


# --- the rules-only task and the judge's share, end to end, on real rows -------------------------------

# Groups kept per category (real rows of ../shared/data/followbench) and, for the rule-scored ones, the
# levels whose response passes: content 14 is E2E, situation 8 gsm_8k, format 22 the numbered
# paragraphs, mixed 14 gigaword; content 9, situation 10, style 1, format 1 and mixed 1 are judged.
SUBSET = {
    "content": {9: None, 14: {1, 2, 3, 5}},
    "situation": {8: {1, 2, 3, 4, 5}, 10: None},
    "style": {1: None},
    "format": {22: {2, 3}, 1: None},
    "example": {1: {1}},
    "mixed": {14: {1, 2, 3, 4}, 1: None},
}


def passing_response(category: str, row: dict) -> str:
    """A response that passes the rule of a real SUBSET row of `category` at any level."""
    if category == "example":
        return row["answer"]
    if category == "mixed":  # gigaword
        return "bomb attack kills two people in southern philippines"
    if category == "format":  # group 22
        return FORMAT_22_PASS
    if category == "situation":  # gsm_8k
        return f"She earned {row['target']} in total."
    return row["target"]  # content: E2E


def write_real_subset(shared_data: Path, folder: Path) -> list[dict[str, str]]:
    """The SUBSET groups of every category file, and responses: rule rows pass at the listed levels
    (else 'I do not know.'), judged rows say PASS=<level>, except content 9 level 5 (GARBLE)."""
    folder.mkdir()
    responses = []
    for category, groups in SUBSET.items():
        rows = [r for r in rows_of(shared_data, category) if r["example_id"] in groups]
        (folder / f"{category}_constraints.json").write_text(json.dumps(rows))
        for row in rows:
            if row["level"] < 1:
                continue
            passing = groups[row["example_id"]]
            if passing is None:
                garbled = category == "content" and row["level"] == 5
                text = "GARBLE" if garbled else f"PASS={row['level']}"
            else:
                text = (
                    passing_response(category, row) if row["level"] in passing else "I do not know."
                )
            responses.append({"prompt": row["instruction"], "response": text})
    assert len({r["prompt"] for r in responses}) == len(responses)
    return responses


def test_rules_task_scores_every_category_without_a_judge(
    tmp_path: Path, shared_data: Path
) -> None:

    responses = write_real_subset(shared_data, tmp_path / "followbench")
    results = score(tmp_path, responses, ["followbench:rules"])
    m = results["metrics"]
    assert results["tasks"] == ["followbench/rules"] and results["judge"] is None
    assert results["samples"] == {"followbench/rules": 25}
    # levels passed by content 14, situation 8, format 22, example 1, mixed 14
    per_level = {1: 4 / 5, 2: 4 / 5, 3: 4 / 5, 4: 2 / 5, 5: 2 / 5}
    for level, value in per_level.items():
        assert m[f"followbench/rules/hsr_level{level}"] == pytest.approx(value), level
        assert m[f"followbench/rules/ssr_level{level}"] == pytest.approx(value), level
    assert m["followbench/rules/hsr"] == pytest.approx(3.2 / 5)
    assert m["followbench/rules/csl"] == pytest.approx((3 + 5 + 0 + 1 + 4) / 5)
    assert m["followbench/hsr"] == m["followbench/rules/hsr"]
    assert "followbench/rules/judge_unparsed" not in m


def test_a_category_mixes_rule_and_judge_scores_and_sets_unparsed_apart(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ifplay.evaluation.judge import Judge

    responses = write_real_subset(shared_data, tmp_path / "followbench")
    asked: list[str] = []

    def recording_judge(self: Any, prompts: list[str]) -> list[str]:
        asked.extend(prompts)
        return stub_judge(self, prompts)

    monkeypatch.setattr(Judge, "ask", recording_judge)
    results = score(tmp_path, responses, ["followbench:content"], judged=True)
    m = results["metrics"]
    assert len(asked) == 5 and not any("name[" in p for p in asked)  # E2E rows stay with the rule
    # judged group 9 passes levels 1-4 and is unparsed at 5; E2E group 14 passes 1, 2, 3 and 5
    assert m["followbench/content/hsr_level4"] == pytest.approx(0.5)
    assert m["followbench/content/hsr_level5"] == pytest.approx(1.0)  # not 0.5: unparsed left out
    assert m["followbench/content/hsr"] == pytest.approx((1 + 1 + 1 + 0.5 + 1) / 5)
    assert m["followbench/content/csl"] == pytest.approx(3.0)  # group 9's CSL is unknown
    assert m["followbench/content/judge_unparsed_count"] == 1.0
    assert m["followbench/content/judge_unparsed"] == pytest.approx(1 / 5)
