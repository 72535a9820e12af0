"""AutoIF stages on hand-made inputs, including bad LLM output that must be dropped and counted."""

import json
import random

import pytest
from rule_llms import ScriptedLLM

from ifplay.constraints import get_family
from ifplay.decontam import NgramIndex, contaminated, ifeval_prompts
from ifplay.pairs import dpo_rows, sft_rows
from ifplay.parsing import json_object, one_line_instruction, verifier_reply
from ifplay.queries import compose_prompts
from ifplay.steps.autoif.crossval import cross_validate
from ifplay.steps.autoif.dedup import duplicate_flags
from ifplay.steps.autoif.evolve import EvolveInstructions
from ifplay.steps.autoif.write_verifiers import SynthesizeVerifiers
from ifplay.verification import open_sandbox, pass_rates

LOWER_OK = "def evaluate(response):\n    return response == response.lower()\n"
LOWER_WRONG = "def evaluate(response):\n    return response == response.upper()\n"
LOOPS = "def evaluate(response):\n    while True:\n        pass\n"
NOT_PYTHON = "def evaluate(response)\n    return True\n"
CASES = [
    {"input": "all lowercase here", "output": True},
    {"input": "Not Lowercase", "output": False},
    {"input": "ALSO NOT", "output": False},
]


@pytest.fixture(scope="module")
def sandbox():
    with open_sandbox(workers=2, timeout_s=1.0, memory_mb=256) as sb:
        yield sb


def test_one_line_instruction_cleans_labels_and_rejects_junk():
    assert one_line_instruction('1. "Use no more than 50 words."') == "Use no more than 50 words."
    assert (
        one_line_instruction("New constraint: End with a question.\nmore") == "End with a question."
    )
    assert one_line_instruction("Here is a new constraint:\n- Use no commas.") == "Use no commas."
    assert one_line_instruction("Here is one:") is None
    assert one_line_instruction("") is None
    assert one_line_instruction("ok") is None
    assert one_line_instruction("x" * 400) is None


def test_verifier_reply_parses_fenced_json_and_rejects_garbage():
    reply = 'Sure!\n```json\n{"func": "def evaluate(response):\\n    return True", "cases": [{"input": "a", "output": true}, {"input": 3, "output": false}, {"input": "b", "output": "yes"}]}\n```'
    source, cases = verifier_reply(reply)
    assert source.startswith("def evaluate(response):")
    assert cases == [{"input": "a", "output": True}]
    assert verifier_reply("I cannot write code.") is None
    assert verifier_reply('{"func": "print(1)"}') is None
    assert verifier_reply('{"func": "def evaluate(r): return 1", ') is None
    assert json_object('text {"a": {"b": 1}} tail') == {"a": {"b": 1}}


def _run_step(step, rows):
    step.load()
    [out] = list(step.process(rows))
    return out


def _instruction(text, origin="evolved", drop="", evolve=True):
    return {
        "instruction": text,
        "origin": origin,
        "functions": [],
        "cases_json": "[]",
        "drop": drop,
        "evolve": evolve,
    }


def test_synthesize_verifiers_counts_unparseable_replies_and_skips_other_rows():
    good = json.dumps({"func": LOWER_OK, "cases": CASES})
    llm = ScriptedLLM(replies=[good, "not json at all", None, good])
    step = SynthesizeVerifiers(llm=llm, num_generations=4)
    library = {**_instruction("Answer in lowercase.", "library"), "functions": [LOWER_OK]}
    rows = [_instruction("lowercase only"), library, _instruction("dup", drop="near-duplicate")]
    out = _run_step(step, rows)
    assert out[0]["functions"] == [LOWER_OK.strip() + "\n"]
    assert out[0]["verifier_replies"] == 4 and out[0]["verifier_unparseable"] == 2
    assert json.loads(out[0]["cases_json"]) == CASES
    assert out[1]["functions"] == [LOWER_OK] and out[1]["verifier_replies"] == 0
    assert out[2]["drop"] == "near-duplicate" and out[2]["verifier_replies"] == 0


def test_evolve_keeps_distinct_new_instructions():
    replies = [
        "Write at most 3 sentences.",
        "write at most 3 sentences.",
        "Use all capital letters.",
        "",
        None,
    ]
    step = EvolveInstructions(llm=ScriptedLLM(replies=replies), num_generations=5)
    out, skipped = _run_step(
        step,
        [
            _instruction("Use all capital letters.", "library"),
            _instruction("No commas.", "library", evolve=False),
        ],
    )
    assert out["rewrites"] == ["Write at most 3 sentences."]
    assert skipped["rewrites"] == []


def test_cross_validation_keeps_agreeing_functions_and_drops_bad_code(sandbox):
    result = cross_validate(sandbox, [LOWER_OK, LOWER_WRONG, LOOPS, NOT_PYTHON], CASES, 0.8)
    assert result.functions == [LOWER_OK]
    assert result.not_compiling == 1
    assert result.below_accuracy == 2  # the wrong one and the one that times out
    assert result.cases == CASES


def test_cross_validation_drops_cases_no_function_agrees_with(sandbox):
    cases = CASES + [{"input": "lower but labelled wrong", "output": False}]
    result = cross_validate(sandbox, [LOWER_OK], cases, 0.8)
    assert result.functions == [LOWER_OK]
    assert result.cases == CASES and result.cases_without_agreement == 1


def test_pass_rates_take_the_weakest_constraint(sandbox):
    lower = get_family("case.lowercase").build({})
    responses = ["hello there", "Hello There", "HELLO"]
    rates = pass_rates(sandbox, [[lower.verifier_source(), LOWER_OK], [LOWER_OK]], responses)
    assert rates == [1.0, 0.0, 0.0]
    half = pass_rates(sandbox, [[LOWER_OK, LOWER_WRONG]], responses)
    assert half == [0.5, 0.0, 0.5]


def test_near_duplicates_are_flagged_after_the_first():
    texts = [
        "Answer in at most 50 words.",
        "Answer in at most 50 words please.",
        "End with a question.",
    ]
    assert duplicate_flags(texts, "ngram", 0.6) == [False, True, False]


def test_compose_prompts_binds_constraints_and_verifiers():
    lower = get_family("case.lowercase").build({})
    row = {
        "instruction": lower.instruction,
        "origin": "library",
        "family_id": "case.lowercase",
        "kwargs_json": "{}",
        "functions": [lower.verifier_source()],
    }
    prompts = compose_prompts(
        [row], ["What is rain?", "Name a fruit.", "Why sleep?"], 2, random.Random(0)
    )
    assert len(prompts) == 2
    for p in prompts:
        assert p["prompt"].endswith(lower.instruction) and p["query"] in p["prompt"]
        assert p["verifiers"] == [[lower.verifier_source()]]


def test_repeat_request_constraint_is_bound_to_the_query():
    family = get_family("format.repeat_request")
    c = family.build(rng=random.Random(0))
    row = {
        "instruction": c.instruction,
        "origin": "library",
        "family_id": family.id,
        "kwargs_json": json.dumps(c.kwargs),
        "functions": [c.verifier_source()],
    }
    [prompt] = compose_prompts([row], ["Explain tides briefly."], 1, random.Random(0))
    assert "Explain tides briefly." in prompt["instructions"][0]


def test_decontamination_flags_ifeval_prompts():
    references = ifeval_prompts()
    assert len(references) == 541
    index = NgramIndex(references, 13)
    flags = contaminated(
        [references[3], "What is the capital of France? Answer in lowercase."], index
    )
    assert flags == [True, False]


def test_sft_and_dpo_rows_follow_the_thresholds():
    responses = ["good one", "good two", "bad one", "half", "bad two", "bad three"]
    rates = [1.0, 0.5, 0.0, 0.4, 0.0, 0.0]
    sft = sft_rows("Q?", responses, rates, 0.5)
    assert [r["messages"][1]["content"] for r in sft] == ["good one", "good two"]
    assert sft[0]["messages"][0] == {"role": "user", "content": "Q?"}
    pairs = dpo_rows("Q?", responses, rates, 0.5, 0.0, per_side=2)
    assert len(pairs) == 4
    assert {p["chosen"][0]["content"] for p in pairs} == {"good one", "good two"}
    assert {p["rejected"][0]["content"] for p in pairs} == {"bad one", "bad two"}
    assert all(p["rejected_pass_rate"] == 0.0 for p in pairs)
    assert dpo_rows("Q?", ["a", "b"], [0.4, 0.3], 0.5) == []


def test_library_language_verifier_runs_in_the_sandbox(sandbox):
    language = get_family("language.response").build({"language": "sv"})
    rates = pass_rates(
        sandbox,
        [[language.verifier_source()]],
        ["Hej, jag heter Anna och jag bor i Stockholm. Det är en vacker stad.", "This is English."],
    )
    assert rates == [1.0, 0.0]
