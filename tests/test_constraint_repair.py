"""Verifier-guided repair: every repair satisfies its family's reference checker, changes only what the
constraint demands, and a repair that does not end in a passing answer gives None."""

import random

import pytest

from ifplay.constraints import FAMILIES, get_family
from ifplay.constraints.repair import (
    REPAIRS,
    finish_answer,
    longest_prefix_that_fits,
    repair_answer,
    repairable,
)

ANSWERS = (
    "Sure, here's how you can bake bread at home! First, mix flour, water, yeast and salt in a bowl. "
    "Knead the dough for 10 minutes until it's smooth.\n\nLet the dough rise for an hour. Then shape "
    "it into a loaf and bake at 220 degrees for 30 minutes. Won't it smell great? You'll love it.\n\n"
    "- Use fresh yeast\n- Don't skip the rising time\n- Let it cool before slicing",
    "The sky looks blue because air scatters short wavelengths of sunlight more than long ones. "
    "This is called Rayleigh scattering, and it's strongest for violet and blue light. Our eyes are "
    "more sensitive to blue, so we see a blue sky. At sunset, light travels through more air, so "
    "the reds and oranges remain. Clouds look white because their droplets scatter every colour "
    "about equally. On the Moon the sky is black, since there is no air to scatter light.",
)
OTHER = "A second, different answer: bake it slowly and let it rest."


@pytest.mark.parametrize("family_id", sorted(f for f in FAMILIES if repairable(f)))
@pytest.mark.parametrize("answer", ANSWERS, ids=("bread", "sky"))
def test_every_repair_satisfies_its_checker(family_id: str, answer: str) -> None:
    rng = random.Random(family_id)
    for _ in range(10):
        constraint = get_family(family_id).build(rng=rng)
        repaired = repair_answer(answer, [constraint], others=[OTHER])
        assert repaired is not None, (family_id, constraint.kwargs)
        assert constraint.check(repaired), (family_id, constraint.kwargs, repaired)


def test_families_without_a_repair_are_the_ones_code_cannot_fix() -> None:
    missing = sorted(f for f in FAMILIES if not repairable(f))
    assert "keywords.include" in missing and "length.min_words" in missing
    assert set(REPAIRS) <= set(FAMILIES)


def test_a_passing_answer_comes_back_unchanged() -> None:
    constraint = get_family("length.max_words").build({"n": 300})
    assert repair_answer(ANSWERS[1], [constraint]) == ANSWERS[1]


@pytest.mark.parametrize(
    ("family_id", "kwargs", "same_when"),
    [
        ("case.lowercase", {}, str.lower),
        ("case.uppercase", {}, str.lower),
        ("punctuation.no_commas", {}, lambda text: " ".join(text.replace(",", " ").split())),
        ("format.end_phrase", {"phrase": "End of answer."}, lambda text: text[:100]),
    ],
)
def test_repairs_change_only_what_the_constraint_demands(family_id, kwargs, same_when) -> None:
    repaired = repair_answer(ANSWERS[1], [get_family(family_id).build(kwargs)])
    assert repaired is not None and repaired != ANSWERS[1]
    assert same_when(repaired) == same_when(ANSWERS[1])


@pytest.mark.parametrize(
    ("family_id", "kwargs"),
    [("punctuation.no_commas", {}), ("punctuation.avoid_mark", {"mark": ";"})],
)
def test_punctuation_in_code_is_never_removed(family_id: str, kwargs: dict) -> None:
    with_code = "Call it like this:\n\n```python\nprint(max(1, 2)); print(3)\n```\n\nThen, done."
    constraint = get_family(family_id).build(kwargs)
    assert not constraint.check(with_code)
    assert repair_answer(with_code, [constraint]) is None
    prose = "First, this; then, that."
    assert repair_answer(prose, [constraint]) is not None


def test_an_unrepairable_failing_constraint_gives_none() -> None:
    constraint = get_family("length.min_words").build({"n": 120})
    assert repair_answer("Too short an answer.", [constraint]) is None


def test_a_repair_that_breaks_another_constraint_is_dropped() -> None:
    # The trim keeps 5 words, then the title adds words: the final check must refuse the result.
    short = get_family("length.max_words").build({"n": 5})
    title = get_family("format.title").build({})
    assert repair_answer(ANSWERS[1], [short, title]) is None
    assert repair_answer(ANSWERS[1], [get_family("length.max_words").build({"n": 40})]) is not None


def test_repairs_combine_in_order() -> None:
    constraints = [
        get_family("format.quoted").build({}),
        get_family("case.lowercase").build({}),
        get_family("punctuation.no_commas").build({}),
    ]
    repaired = repair_answer(ANSWERS[0], constraints)
    assert repaired is not None and repaired.startswith('"') and repaired.endswith('"')
    assert "," not in repaired and repaired == repaired.lower()


def test_two_responses_needs_another_answer() -> None:
    constraint = get_family("format.two_responses").build({})
    assert repair_answer(ANSWERS[1], [constraint]) is None
    assert repair_answer(ANSWERS[1], [constraint], others=[ANSWERS[1]]) is None  # not different
    joined = repair_answer(ANSWERS[1], [constraint], others=[OTHER])
    assert joined is not None and OTHER in joined


@pytest.mark.parametrize(
    ("answer", "finished"),
    [
        (
            "One sentence. Two sentences! And a third that runs into the cap and",
            "One sentence. Two sentences!",
        ),
        ('He said "stop." Then the cap hit mid', 'He said "stop."'),
        ("No sentence ends here at all", ""),
        ("Complete answer.", "Complete answer."),
        ("Version 2.5 is out and then", ""),
        (
            "Run this.\n\n```python\nx = 1.\nprint(x)\n```\n\nThen this one:\n\n```bash\nls -l. and",
            "Run this.\n\n```python\nx = 1.\nprint(x)\n```",
        ),
    ],
)
def test_finish_answer_cuts_back_to_the_last_complete_sentence(answer: str, finished: str) -> None:
    assert finish_answer(answer) == finished


def test_longest_prefix_that_fits_cuts_at_a_sentence_end_or_gives_none() -> None:
    text = "One two three. Four five. Six seven eight nine."
    assert (
        longest_prefix_that_fits(text, lambda p: len(p.split()) <= 5) == "One two three. Four five."
    )
    assert longest_prefix_that_fits(text, lambda p: len(p.split()) <= 3) == "One two three."
    assert longest_prefix_that_fits(text, lambda p: len(p.split()) <= 2) is None
