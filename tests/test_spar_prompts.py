"""SPaR prompts and declarations: constraint-rich prompts, math/code skipped, configs load."""

import random

import pytest

from ifplay.constraints import compatible, get_family
from ifplay.pipelines import load_pipeline
from ifplay.steps.spar.prompts import (
    PromptSettings,
    build_prompts,
    is_math_or_code,
    main_constraint,
)

QUERIES = [
    "Write a python function that reverses a list.",
    "What is 12 * 7?",
    "Solve the equation x^2 = 4.",
    "Describe a rainy afternoon in a small town.",
    "Give me tips for a job interview.",
    "Why do cats purr?",
]


def test_math_and_code_queries_are_recognised():
    assert [is_math_or_code(q) for q in QUERIES] == [True, True, True, False, False, False]


def test_prompts_carry_compatible_constraints_with_verifiers():
    settings = PromptSettings(count=10, extras_min=1, extras_max=3)  # more than there are
    rows, stats = build_prompts(settings, seed=1, queries=QUERIES)
    assert stats == {"queries_seen": 6, "skipped_math_code": 3, "built": 3}
    for row in rows:
        assert row["query"] in QUERIES[3:] and row["prompt"].startswith(row["query"])
        assert 2 <= len(row["instructions"]) <= 4
        assert len(row["verifiers"]) == len(row["instructions"]) == len(row["family_ids"])
        assert compatible(row["family_ids"])
        assert all(text in row["prompt"] for text in row["instructions"])
    assert [r["prompt_id"] for r in rows] == [0, 1, 2]


def test_main_constraint_follows_the_taxonomy_filters():
    rng = random.Random(0)
    settings = PromptSettings(categories=["content"], subcategories=["keyword", "symbol"])
    drawn = {get_family(main_constraint(rng, settings).family_id).subcategory for _ in range(40)}
    assert drawn == {"keyword", "symbol"}
    with pytest.raises(ValueError, match="no library family"):
        main_constraint(rng, PromptSettings(categories=["general"], subcategories=["sentiment"]))


def test_spar_declarations_load(repo_root):
    paper = load_pipeline(repo_root / "pipelines" / "spar.yaml")
    assert (paper.model.n, paper.model.temperature, paper.model.top_p) == (5, 0.9, 0.9)
    assert (paper.judge.n, paper.judge.temperature) == (5, 0.7)
    s = paper.search
    assert (s.strategy, s.branch, s.keep, s.depth, s.end_gate) == ("bfs", 3, 2, 3, 0.5)
    quick = load_pipeline(repo_root / "pipelines" / "spar-quick.yaml")
    assert quick.refiner is None
    assert quick.refiner_spec().name == quick.model.name
