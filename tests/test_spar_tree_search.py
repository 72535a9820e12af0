"""SPaR tree search on scripted judges: BFS/DFS order, budget, value cache, batching, hybrid."""

import dataclasses
import json
import re

import pytest
from datasets import Dataset
from rule_llms import RuleLLM

from ifplay.constraints import get_family
from ifplay.pipelines.spar import actor_pairs, refiner_rows
from ifplay.split_schemas import SPAR_ACTOR_DPO, SPAR_REFINER_SFT
from ifplay.steps.spar.judge import Judge, JudgeItem, JudgeSettings
from ifplay.steps.spar.tree_search import (
    SearchSettings,
    Tree,
    TreeSearch,
    TreeSearchRefine,
    TreeStatus,
    parse_refined,
    search_rows,
    trees_of,
)

_CHECKED = re.compile(r'The answer to check:\n"""\n(.*?)\n"""', re.DOTALL)
_REFINING = re.compile(r'The answer:\n"""\n(.*?)\n"""', re.DOTALL)


class TreeLLM(RuleLLM):
    """Judge: answers "yes" for the first `yes[response]` samples, else "no". Refiner: child k of
    answer X is "X.k" (or `fixed` for every child when set)."""

    yes: dict[str, int] = {}
    fixed: str | None = None

    def reply(self, text: str, sample: int) -> str:
        checked = _CHECKED.search(text)
        if checked:
            verdict = "yes" if sample < self.yes.get(checked.group(1), 0) else "no"
            return f"Critique {sample}.\nVerdict: {verdict}"
        parent = _REFINING.search(text).group(1)
        return f"<refined>{self.fixed or f'{parent}.{sample}'}</refined>"


def _search(llm, roots, judge_n=4, prompt="p", **settings):
    engine = TreeSearch(
        llm, Judge(llm, JudgeSettings(n=judge_n, code_judge="off")), SearchSettings(**settings)
    )
    trees = engine.start([JudgeItem(prompt, root) for root in roots])
    engine.run(trees)
    return engine, trees


def _order(tree):
    return [tree.nodes[i].response for i in tree.expanded]


VALUES = {"r.0": 1, "r.1": 2, "r.0.1": 3}  # yes votes out of 4: 0.25, 0.5 (not > 0.5), 0.75


def test_bfs_expands_level_by_level_and_keeps_the_best():
    llm = TreeLLM(yes=VALUES)
    engine, [tree] = _search(llm, ["r"], strategy="bfs", branch=2, keep=2, depth=3)
    assert tree.status == "solved"
    assert _order(tree) == ["r", "r.1", "r.0"]
    assert tree.nodes[tree.solution].response == "r.0.1"
    assert [n.response for n in tree.path()] == ["r", "r.0", "r.0.1"]
    assert tree.nodes[tree.solution].value == 0.75
    # keep=1: only the best child of each level survives; r.1's line never passes
    _, [narrow] = _search(TreeLLM(yes=VALUES), ["r"], strategy="bfs", branch=2, keep=1, depth=3)
    assert _order(narrow) == ["r", "r.1", "r.1.0"]  # one node per level
    assert narrow.status == "exhausted"


def test_dfs_goes_deep_before_trying_siblings():
    llm = TreeLLM(yes=VALUES)
    _, [tree] = _search(llm, ["r"], strategy="dfs", branch=2, keep=2, depth=3)
    # depth 3: r.1 -> r.1.0 -> (its depth-3 children are not expanded) -> r.1.1 -> r.0 -> r.0.1
    assert _order(tree) == ["r", "r.1", "r.1.0", "r.1.1", "r.0"]
    assert tree.status == "solved" and tree.nodes[tree.solution].response == "r.0.1"


def test_passing_and_tied_roots_are_not_searched():
    llm = TreeLLM(yes={"good": 4, "tied": 2})
    _, trees = _search(llm, ["good", "tied", "bad"], depth=1, branch=1)
    assert [t.status for t in trees] == ["passed", "tie", "exhausted"]
    assert [len(t.expanded) for t in trees] == [0, 0, 1]


def test_budget_caps_expansions_per_tree():
    _, [tree] = _search(
        TreeLLM(), ["r"], strategy="bfs", branch=2, keep=2, depth=3, max_expansions=2
    )
    assert tree.status == "budget" and len(tree.expanded) == 2
    _, [deep] = _search(
        TreeLLM(), ["r"], strategy="dfs", branch=2, keep=2, depth=5, max_expansions=3
    )
    assert deep.status == "budget" and _order(deep) == ["r", "r.0", "r.0.0"]


def test_value_cache_judges_each_response_text_once_per_prompt():
    llm = TreeLLM(fixed="same")
    engine, trees = _search(llm, ["a", "b", "a"], branch=3, keep=2, depth=2)
    judged = [text for text in llm.seen if _CHECKED.search(text)]
    assert sorted(_CHECKED.search(t).group(1) for t in judged) == ["a", "b", "same"]
    assert engine.counts.cache_hits == 3  # the second "a" root, "same" in the 2nd and 3rd trees
    assert engine.counts.refine_duplicates > 0  # "same" thrice per expansion: kept once per tree
    assert all(t.status == "exhausted" for t in trees)
    # a different prompt is judged anew
    other = TreeLLM(fixed="same")
    _search(other, ["a"], prompt="q", branch=1, depth=1)
    assert sum(1 for t in other.seen if _CHECKED.search(t)) == 2


def test_a_tree_reads_back_from_what_it_stores():
    rows = [
        {"prompt": "p", "responses": ["good", "tied", "r", "s"]},
        {
            "prompt": "q",
            "responses": ["s", ""],
            "verifiers": [["def f(r): ..."]],
            "instructions": ["i"],
        },
    ]
    llm = TreeLLM(yes={**VALUES, "good": 4, "tied": 2})
    judge = JudgeSettings(n=4, code_judge="off")
    found = []
    for search in (
        SearchSettings(branch=2, keep=2, depth=3, max_expansions=3),  # r solved, s out of budget
        SearchSettings(branch=1, depth=1),  # r and s exhausted
    ):
        per_row, _ = search_rows(llm, rows, judge, search)
        found += [(row, tree) for row, trees in zip(rows, per_row, strict=True) for tree in trees]
    assert {tree.status for _, tree in found} == set(TreeStatus) - {TreeStatus.SEARCHING}
    for row, tree in found:
        stored = json.loads(json.dumps(tree.to_dict()))
        assert stored["status"] == tree.status.value  # search_json holds plain strings
        assert Tree.from_dict(stored, row) == tree
        assert Tree.from_dict(stored, row).to_dict() == stored
    row, budget = next((r, t) for r, t in found if t.status is TreeStatus.BUDGET)
    assert budget.open  # unexpanded nodes are stored too
    # a tree stored before `open` was reads with no open nodes
    stored = budget.to_dict()
    del stored["open"]
    assert Tree.from_dict(stored, row) == dataclasses.replace(budget, open=[])
    # a row's search_json reads back as its trees
    row, solved = next((r, t) for r, t in found if t.status is TreeStatus.SOLVED)
    row = {**row, "search_json": json.dumps([solved.to_dict()])}
    assert trees_of(row) == [solved] and trees_of({"prompt": "p"}) == []
    assert [n.response for n in trees_of(row)[0].path()] == ["r", "r.0", "r.0.1"]


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_engine_calls_grow_with_depth_not_with_the_number_of_prompts(strategy):
    def calls(prompts, depth):
        llm = TreeLLM()  # never accepts: every tree searches to its limit
        rows = [{"prompt": f"p{i}", "responses": ["x", "y"]} for i in range(prompts)]
        search = SearchSettings(strategy=strategy, branch=2, keep=2, depth=depth, max_expansions=50)
        _, counts = search_rows(llm, rows, JudgeSettings(n=2, code_judge="off"), search)
        assert counts.engine_calls == len(llm.calls)
        return len(llm.calls), max(n for n, _ in llm.calls)

    one, widest_one = calls(1, 2)
    many, widest_many = calls(6, 2)
    assert one == many  # same number of engine calls for 1 and 6 prompts ...
    assert widest_many == 6 * widest_one  # ... because each call carries every tree
    assert calls(6, 3)[0] > many  # deeper search, more calls
    if strategy == "bfs":
        assert many == 1 + 2 * 2  # roots judged once, then (refine + judge) per level


def test_parse_refined_markers():
    assert parse_refined("Sure!\n<refined>\nnew text\n</refined>\nbye") == ("new text", True)
    assert parse_refined("<REFINED>cut off at the end") == ("cut off at the end", True)
    assert parse_refined("no markers here") == (None, False)
    assert parse_refined("no markers here", require_markers=False) == ("no markers here", False)
    assert parse_refined("<refined></refined>") == (None, True)
    assert parse_refined(None) == (None, False)


class LowercaseFixer(RuleLLM):
    """A judge that never gives a verdict and a refiner that lowercases the answer."""

    def reply(self, text: str, sample: int) -> str:
        if _CHECKED.search(text):
            return "Hard to say."
        return f"<refined>{_REFINING.search(text).group(1).lower()}</refined>"


def test_search_step_with_code_verifiers_yields_minimal_pairs_and_refiner_data():
    lower = get_family("case.lowercase").build({})
    row = {
        "prompt": "Describe rain. " + lower.instruction,
        "responses": ["Rain falls from Clouds.", "rain falls from clouds.", ""],
        "verifiers": [[lower.verifier_source()]],
        "instructions": [lower.instruction],
        "family_ids": ["case.lowercase"],
        "prompt_id": 0,
    }
    step = TreeSearchRefine(
        llm=LowercaseFixer(),
        judge=JudgeSettings(n=2, code_judge="vote"),
        search=SearchSettings(branch=1, keep=1, depth=2),
        sandbox_workers=1,
    )
    step.load()
    try:
        [out] = list(step.process([row]))
    finally:
        step.unload()
    trees = json.loads(out[0]["search_json"])
    assert [t["status"] for t in trees] == ["solved", "passed"]  # the empty response is skipped
    assert trees[0]["nodes"][0]["failed_checks"] == [lower.instruction]
    pairs, sampled = actor_pairs(out, 4)
    assert len(pairs) == 1 and sampled == [2]
    pair = pairs[0]
    assert pair["chosen"][0]["content"] == "rain falls from clouds."
    assert pair["rejected"][0]["content"] == "Rain falls from Clouds."
    assert pair["edit_distance"] == 2
    assert Dataset.from_list(pairs).features == SPAR_ACTOR_DPO  # the schema an empty split keeps
    sft, dpo = refiner_rows(out)
    assert Dataset.from_list(sft).features == SPAR_REFINER_SFT
    assert [r["task"] for r in sft] == ["refine"]  # the LLM judge never agreed with a verdict
    assert "<refined>" in sft[0]["messages"][-1]["content"] and dpo == []
    counts = json.loads(out[0]["search_counts_json"])
    # judge roots, refine; the refinement equals the second actor answer: judged from the cache
    assert counts["engine_calls"] == 2 and counts["cache_hits"] == 1
