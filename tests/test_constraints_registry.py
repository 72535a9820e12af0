"""Constraint registry: taxonomy, kwargs samplers, phrasings, conflicts, sampling, the Constraint type
and the verifier-source builder's refusals."""

import dataclasses
import json
import random

import pytest

from ifplay.constraints import (
    FAMILIES,
    TAXONOMY,
    Constraint,
    ConstraintFamily,
    compatible,
    family_ids,
    get_family,
    sample_compatible,
    sample_constraint,
)
from ifplay.constraints.families import genre, keywords, length, template
from ifplay.constraints.source import build_verifier_source

ALL_IDS = sorted(FAMILIES)


def test_registry_covers_the_taxonomy() -> None:
    assert len(FAMILIES) >= 25
    for family_id, family in FAMILIES.items():
        assert family.id == family_id
        assert family_id.count(".") == 1
        assert family.subcategory in TAXONOMY[family.category]
    assert {family.category for family in FAMILIES.values()} == set(TAXONOMY)
    format_kinds = {f.subcategory for f in FAMILIES.values() if f.category == "format"}
    assert format_kinds == set(TAXONOMY["format"])
    content_kinds = {f.subcategory for f in FAMILIES.values() if f.category == "content"}
    assert content_kinds == set(TAXONOMY["content"])


@pytest.mark.parametrize("family_id", ALL_IDS)
def test_sample_kwargs_is_deterministic_and_plain(family_id: str) -> None:
    family = get_family(family_id)
    for seed in range(5):
        first = family.sample_kwargs(random.Random(seed))
        assert first == family.sample_kwargs(random.Random(seed))
        assert json.loads(json.dumps(first)) == first  # survives a dataset row
        family.build(first)  # binds to the checker's signature


@pytest.mark.parametrize("family_id", ALL_IDS)
def test_phrasings_render_and_carry_the_kwargs(family_id: str) -> None:
    family = get_family(family_id)
    assert len(family.phrasings) >= 3
    assert len(set(family.phrasings)) == len(family.phrasings)
    rng = random.Random(family_id)
    samples = {
        json.dumps(k, sort_keys=True): k for k in (family.sample_kwargs(rng) for _ in range(30))
    }
    for index in range(len(family.phrasings)):
        seen: dict[str, str] = {}
        for key, kwargs in samples.items():
            text = family.render(kwargs, index)
            assert "{" not in text and "}" not in text, text
            assert text.strip() == text and text, text
            # Different kwargs must give different instructions, or the model cannot know them.
            assert seen.setdefault(text, key) == key, f"{family_id} phrasing {index} hides kwargs"


@pytest.mark.parametrize("family_id", ALL_IDS)
def test_phrasing_placeholders_are_known(family_id: str) -> None:
    family = get_family(family_id)
    kwargs = family.sample_kwargs(random.Random(0))
    names = set(family.describe(kwargs))
    for phrasing in family.phrasings:
        fields = family.placeholders(phrasing)
        assert fields <= names, f"{family_id}: {fields - names}"


def test_conflicts_are_symmetric_and_known() -> None:
    for family_id, family in FAMILIES.items():
        assert family_id not in family.conflicts
        for other in family.conflicts:
            assert other in FAMILIES, other
            assert family_id in FAMILIES[other].conflicts, (family_id, other)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("case.lowercase", "case.uppercase"),
        ("numeric.no_digits", "numeric.min_numbers"),
        ("numeric.no_digits", "format.sections"),
        ("sentences.questions", "sentences.no_questions"),
        ("format.json", "format.bullets"),
        ("format.start_phrase", "format.repeat_request"),
        ("length.paragraphs", "format.divided_paragraphs"),
        ("language.response", "keywords.include"),
    ],
)
def test_known_conflicts(first: str, second: str) -> None:
    assert not compatible([first, second])
    assert not compatible([second, first])


def test_compatible() -> None:
    rng = random.Random(3)
    assert compatible([])
    assert compatible(["length.max_words", "case.lowercase", "keywords.include"])
    assert compatible(["keywords.include", "keywords.include"])  # repeatable
    assert not compatible(["length.max_words", "length.max_words"])
    mixed = [sample_constraint(rng, "case.lowercase"), "punctuation.no_commas"]
    assert compatible(mixed)
    assert not compatible([*mixed, sample_constraint(rng, "case.uppercase")])
    with pytest.raises(ValueError, match="nope"):
        compatible(["nope", "case.lowercase"])


def test_sampled_pools_never_clash() -> None:
    """Minimums never exceed maximums, and avoided words never occur in fixed phrases."""
    assert max(length.MIN_WORDS) <= min(length.MAX_WORDS)
    assert max(length.MIN_SENTENCES) <= min(length.MAX_SENTENCES)
    rng = random.Random(0)
    for family_id, key in [
        ("format.bullets", "n"),
        ("format.numbered_list", "n"),
        ("genre.dialogue", "turns"),
        ("length.paragraphs", "n"),
    ]:  # each item needs a line, so a sentence: it must fit under any sentence limit
        largest = max(get_family(family_id).sample_kwargs(rng)[key] for _ in range(100))
        assert largest <= min(length.MAX_SENTENCES), family_id
    assert not set(keywords.INCLUDE_WORDS) & set(keywords.EXCLUDE_WORDS)
    fixed = template.START_PHRASES + template.END_PHRASES + template.REQUESTS
    for text in fixed:
        assert not any(mark in text for mark in ",?!;—0123456789"), text
        for word in keywords.EXCLUDE_WORDS:
            assert get_family("keywords.exclude").build({"keywords": [word]}).check(text), word
    # "fewer than 2" of a rare letter must stay possible whatever fixed text is asked for.
    names = [name for pair in genre.SPEAKER_PAIRS for name in pair]
    every_fixed = [*fixed, *keywords.INCLUDE_WORDS, *genre.RECIPIENTS, *genre.CLOSINGS, *names]
    for text in every_fixed:
        for letter in keywords.RARE_LETTERS:
            assert keywords.count_letter(text, letter) <= 1, (text, letter)


def test_sample_constraint() -> None:
    first = sample_constraint(random.Random(11))
    assert first == sample_constraint(random.Random(11))
    assert first.instruction in {
        first.family.render(first.kwargs, i) for i in range(len(first.family.phrasings))
    }
    assert sample_constraint(random.Random(0), "format.json").family_id == "format.json"
    rng = random.Random(5)
    for category in TAXONOMY:
        for _ in range(20):
            assert sample_constraint(rng, category=category).family.category == category
    drawn = {
        sample_constraint(rng, category="content", subcategory="keyword").family_id
        for _ in range(40)
    }
    assert drawn == set(family_ids("content", "keyword"))
    with pytest.raises(ValueError, match="nope"):
        sample_constraint(rng, "nope")
    with pytest.raises(ValueError, match="category"):
        sample_constraint(rng, category="nope")


def test_sample_compatible() -> None:
    chosen = sample_compatible(random.Random(2), 3)
    assert chosen == sample_compatible(random.Random(2), 3)
    assert len({c.family_id for c in chosen}) == 3 and compatible(chosen)
    base = [sample_constraint(random.Random(0), "case.lowercase")]
    for seed in range(20):
        extra = sample_compatible(random.Random(seed), 2, category="format", base=base)
        assert compatible(base + extra)
        assert all(c.family.category == "format" for c in extra)
    with pytest.raises(ValueError, match="compatible"):
        sample_compatible(random.Random(0), len(FAMILIES))


def test_constraint_value_semantics() -> None:
    kwargs = {"keywords": ["river"]}
    constraint = get_family("keywords.include").build(kwargs)
    kwargs["keywords"].append("lantern")  # the constraint keeps its own copy
    assert constraint.kwargs == {"keywords": ["river"]}
    assert constraint.instruction == 'Include these keywords in your response: "river".'
    with pytest.raises(dataclasses.FrozenInstanceError):
        constraint.instruction = "other"  # type: ignore[misc]
    assert hash(constraint) == hash(Constraint.from_dict(constraint.to_dict()))
    row = json.loads(json.dumps(constraint.to_dict()))
    assert Constraint.from_dict(row) == constraint
    assert Constraint.from_dict(row).check("A river.")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"family_id": "nope", "kwargs": {}, "instruction": "x"}, "unknown constraint family"),
        ({"family_id": "length.max_words", "kwargs": {}, "instruction": "x"}, "bad kwargs"),
        ({"family_id": "length.max_words", "kwargs": {"m": 1}, "instruction": "x"}, "bad kwargs"),
        ({"family_id": "length.max_words", "kwargs": {"n": "5"}, "instruction": "x"}, "bad kwargs"),
        (
            {
                "family_id": "keywords.frequency",
                "kwargs": {"keyword": "river", "relation": "roughly", "n": 2},
                "instruction": "x",
            },
            "bad kwargs",
        ),
        ({"family_id": "length.max_words", "kwargs": {"n": 1}}, "missing"),
    ],
)
def test_constraint_rejects_bad_rows(row: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Constraint.from_dict(row)


def test_family_rejects_bad_declarations() -> None:
    def checker(response: str) -> bool:
        return True

    def build(**changes: object) -> ConstraintFamily:
        spec = {
            "id": "test.family",
            "category": "format",
            "subcategory": "length",
            "phrasings": ("Do it.",),
            "checker": checker,
            "sampler": lambda rng: {},
        }
        return ConstraintFamily(**{**spec, **changes})

    build()
    with pytest.raises(ValueError, match="TAXONOMY"):
        build(subcategory="keyword")
    with pytest.raises(ValueError, match="phrasing"):
        build(phrasings=())
    with pytest.raises(ValueError, match="repeatable"):
        build(conflicts=frozenset({"test.family"}))


_NOT_A_LITERAL = object()


def _uses_an_object(response: str) -> bool:
    return response is _NOT_A_LITERAL


def test_source_builder_refuses_what_it_cannot_copy() -> None:
    with pytest.raises(TypeError, match="module-level"):
        build_verifier_source(lambda response: True, {})
    with pytest.raises(TypeError, match="_NOT_A_LITERAL"):
        build_verifier_source(_uses_an_object, {})
    with pytest.raises(TypeError, match="literals"):
        build_verifier_source(get_family("length.max_words").checker, {"n": object()})
