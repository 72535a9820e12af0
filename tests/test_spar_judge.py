"""SPaR judge: verdict parsing, majority with ties and abstentions, hybrid judging (sandbox)."""

import pytest
from rule_llms import RuleLLM

from ifplay.constraints import get_family
from ifplay.steps.spar.judge import (
    Judge,
    JudgeItem,
    JudgeSettings,
    Votes,
    parse_verdict,
    tally,
)
from ifplay.verification import open_sandbox


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("The answer meets every requirement.\nVerdict: yes", True),
        ("Misses the word count.\nVerdict: no", False),
        ("**Verdict:** Yes", True),
        ("VERDICT - NO.", False),
        ("verdict: [yes]", True),
        ('Final verdict = "no"', False),
        # both words present: the first one after the marker counts
        ("Verdict: no, although yes-or-no questions were avoided", False),
        ("Does it say no to commas? yes it does.\nVerdict: yes", True),
        # the last marker with an answer wins over a verdict mentioned earlier
        ("My first verdict: no. On reflection the answer is fine.\nVerdict: yes", True),
        ("Verdict: no\nI explain my verdict above.", False),
        # missing or unreadable verdicts abstain
        ("Yes, this follows everything.", None),
        ("Verdict: it depends", None),
        ("Verdict:" + " " * 60 + "yes", None),
        ("", None),
        (None, None),
        ("Verdict: nobody knows", None),
    ],
)
def test_parse_verdict(reply, expected):
    assert parse_verdict(reply) is expected


def test_majority_ties_and_abstentions():
    assert tally([True, True, False]).decision is True
    assert tally([True, False, False, None]).decision is False
    tie = tally([True, False, None, None])
    assert tie.decision is None and tie.abstained == 2 and tie.value == 0.5
    nothing = tally([None, None])
    assert nothing.decision is None and nothing.value == 0.0
    assert tally([True, True, True, False, None]).value == pytest.approx(0.75)


def test_code_votes_and_veto():
    votes = tally([True, None], code=[False, False], code_judge="vote", code_weight=1.0)
    assert (votes.yes, votes.no, votes.decision) == (1.0, 2.0, False)
    weighted = tally([False, False], code=[True], code_judge="vote", code_weight=3.0)
    assert weighted.decision is True and weighted.value == pytest.approx(0.6)
    vetoed = tally([True, True, True], code=[True, False], code_judge="veto")
    assert vetoed.decision is False and vetoed.value == 0.0
    passed = tally([True, True], code=[True], code_judge="veto")
    assert passed.decision is True and passed.value == 1.0
    assert tally([True], code=[False], code_judge="off").decision is True
    assert Votes().decision is None


class SaysYes(RuleLLM):
    def reply(self, text: str, sample: int) -> str:
        return "Looks complete.\nVerdict: yes"


def test_hybrid_judging_runs_library_verifiers_in_the_sandbox():
    lower = get_family("case.lowercase").build({})
    no_commas = get_family("punctuation.no_commas").build({})
    verifiers = [[lower.verifier_source()], [no_commas.verifier_source()]]
    instructions = [lower.instruction, no_commas.instruction]
    items = [
        JudgeItem("q", "all lowercase and no commas here", verifiers, instructions),
        JudgeItem("q", "Capitalised, with a comma", verifiers, instructions),
        JudgeItem("q", "lowercase, but a comma", verifiers, instructions),
        JudgeItem("plain", "No constraints here", [], []),
    ]
    with open_sandbox(workers=1, timeout_s=2.0, memory_mb=256) as sandbox:
        voting = Judge(SaysYes(), JudgeSettings(n=1, code_judge="vote", code_weight=1.0), sandbox)
        good, bad, half, plain = voting.judge(items)
        veto = Judge(SaysYes(), JudgeSettings(n=3, code_judge="veto"), sandbox).judge(items)
    assert good.code == [True, True] and good.decision is True and good.value == 1.0
    assert bad.code == [False, False] and bad.decision is False
    assert bad.failed_checks == instructions
    assert half.code == [True, False] and half.votes.yes == 2 and half.votes.no == 1
    assert half.failed_checks == [no_commas.instruction]
    assert plain.code == [] and plain.decision is True
    assert [j.decision for j in veto] == [True, False, False, True]
    assert voting.calls == 1  # one engine call for the whole batch


def test_judge_samples_with_its_settings_over_the_engines_kwargs():
    llm = SaysYes(generation_kwargs={"max_new_tokens": 9, "temperature": 0.0, "stop": ["END"]})
    judge = Judge(llm, JudgeSettings(temperature=0.3, top_p=0.9))
    assert judge.generation_kwargs() == {
        "max_new_tokens": 512,  # the judge's default, not the engine's 9
        "temperature": 0.3,
        "top_p": 0.9,
        "stop": ["END"],  # what the judge does not set is the engine's
    }
