"""`kind: spar`: SPaR, self-play with tree-search refinement.

1. prompts: ShareGPT queries + a main taxonomy constraint + compatible extras (library
   constraints, so each carries code verifiers); math/code queries skipped.
2. one distilabel pipeline: the actor answers each prompt `actor.n` times -> `TreeSearchRefine`
   judges every answer (LLM critiques + majority, plus code votes) and refines the rejected ones
   by BFS/DFS tree search, batched over all trees of an input batch.
3. splits:
   - `actor_dpo`: chosen = the refined answer the judge accepts, rejected = the original failing
     answer (TRL conversational), with `edit_distance`: the pair's Levenshtein distance in tokens
     (words and single punctuation marks, `ifplay.edits.token_edit_distance`);
   - `refiner_sft`: `messages` dialogues: judgments (a critique whose verdict agrees with the
     final decision) and refinement steps along each successful path;
   - `refiner_dpo`: judgment pairs: chosen = a critique agreeing with the decision, rejected = one
     disagreeing.
   stats.json holds the counts of every stage and the edit-distance distribution (in tokens) of
   SPaR pairs vs independently sampled (passing, failing) pairs of the same prompts.
"""

import itertools
import json
import statistics
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ifplay.config import ModelSpec, Schema
from ifplay.errors import ConfigError
from ifplay.pipelines.base import PipelineOutput, pipeline_name, run_checkpointed
from ifplay.pipelines.resources import PipelineDeclaration, step_placement
from ifplay.steps.sandboxed import SandboxSettings
from ifplay.steps.spar.judge import JudgeSettings
from ifplay.steps.spar.prompts import PromptSettings
from ifplay.steps.spar.tree_search import (
    SearchSettings,
    Tree,
    TreeStatus,
    refine_messages,
    trees_of,
)


class SparSplits(Schema):
    sampled_pairs_per_prompt: int = Field(
        4,
        ge=1,
        description="(passing, failing) sampled pairs per prompt for the edit-distance baseline.",
    )


class SparConfig(PipelineDeclaration):
    """A SPaR declaration (`pipelines/spar.yaml`, `pipelines/spar-quick.yaml`)."""

    STAGES = (("sample", "search"),)

    kind: Literal["spar"] = "spar"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    model: ModelSpec = Field(
        ModelSpec(n=5, temperature=0.9, top_p=0.9),
        description="The model being trained, in SPaR's actor role: it answers the prompts.",
    )
    refiner: ModelSpec | None = Field(
        None,
        description="Judge and refiner model (default: `model`; sampling comes from "
        "`judge` and `search`). Its batch_size = prompts searched together.",
    )
    prompts: PromptSettings = PromptSettings()
    judge: JudgeSettings = JudgeSettings()
    search: SearchSettings = SearchSettings()
    sandbox: SandboxSettings = SandboxSettings()
    splits: SparSplits = SparSplits()
    output_dir: str | None = None

    def refiner_spec(self) -> ModelSpec:
        """The refiner's spec: `refiner`, or `model` when none is given."""
        return (self.refiner or self.model).model_copy()

    def step_models(self) -> dict[str, ModelSpec]:
        return {"sample": self.model, "search": self.refiner_spec()}


def build_pipeline(config: SparConfig, prompts: list[dict[str, Any]]) -> Any:
    """prompts -> actor samples -> judged and refined trees."""
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts

    from ifplay.cache import cache_dir
    from ifplay.models import build_llm
    from ifplay.steps.progress import ProgressBar
    from ifplay.steps.respond import SampleResponses
    from ifplay.steps.spar.tree_search import TreeSearchRefine

    actor, refiner = config.model, config.refiner_spec()
    with Pipeline(name=f"ifplay-spar-{config.name}", cache_dir=cache_dir("distilabel")) as pipe:
        load = LoadDataFromDicts(data=prompts, batch_size=actor.batch_size)
        sample = SampleResponses(
            llm=build_llm(actor.for_stage(actor.n, config.seed)),
            num_generations=actor.n,
            input_batch_size=actor.batch_size,
            **step_placement(config, "sample"),
        )
        search = TreeSearchRefine(
            llm=build_llm(refiner.for_stage(1, config.seed + 1)),
            judge=config.judge,
            search=config.search,
            **config.sandbox.step_kwargs(),
            input_batch_size=refiner.batch_size,
            **step_placement(config, "search"),
        )
        progress = ProgressBar(
            total=len(prompts),
            description=f"{config.name}: search",
            input_batch_size=actor.batch_size,
        )
        load >> sample >> search >> progress
    return pipe


def run_spar(
    config: SparConfig, base_dir: Path, limit: int | None = None, use_cache: bool = True
) -> PipelineOutput:
    """Build prompts, sample, judge and refine, and write the three splits."""
    from ifplay.split_schemas import (
        PREFERENCE_PAIR,
        SPAR_ACTOR_DPO,
        SPAR_REFINER_SFT,
        dataset_from_rows,
    )
    from ifplay.steps.spar.prompts import build_prompts

    settings = config.prompts
    if limit is not None:
        settings = settings.model_copy(update={"count": min(settings.count, limit)})
    prompts, prompt_stats = build_prompts(settings, config.seed)
    if not prompts:
        raise ConfigError(f"{config.name}: no prompts (every query was skipped)")
    name = pipeline_name("spar", config.name, config.data_settings())
    rows = run_checkpointed(
        name,
        prompts,
        config.refiner_spec().batch_size * 4,  # searched (and checkpointed) 4 batches at a time
        lambda chunk: build_pipeline(config, chunk),
        use_cache,
    )
    rows.sort(key=lambda row: row["prompt_id"])
    actor, sampled = actor_pairs(rows, config.splits.sampled_pairs_per_prompt)
    sft, dpo = refiner_rows(rows)
    stats = spar_stats(rows, prompt_stats, actor, sampled, sft, dpo)
    splits = {
        "actor_dpo": dataset_from_rows(actor, SPAR_ACTOR_DPO),
        "refiner_sft": dataset_from_rows(sft, SPAR_REFINER_SFT),
        "refiner_dpo": dataset_from_rows(dpo, PREFERENCE_PAIR),
    }
    return PipelineOutput(splits=splits, stats=stats)


def actor_pairs(
    rows: list[dict[str, Any]], sampled_per_prompt: int
) -> tuple[list[dict[str, Any]], list[int]]:
    """(SPaR pairs, edit distances of sampled (accepted, rejected) original-answer pairs)."""
    from ifplay.edits import token_edit_distance
    from ifplay.pairs import assistant, user

    pairs, sampled = [], []
    for row in rows:
        trees = trees_of(row)
        seen = set()
        for tree in trees:
            if tree.status is not TreeStatus.SOLVED:
                continue
            root, best = tree.root, tree.path()[-1]
            if (best.response, root.response) in seen:
                continue
            seen.add((best.response, root.response))
            pairs.append(
                {
                    "prompt": user(row["prompt"]),
                    "chosen": assistant(best.response),
                    "rejected": assistant(root.response),
                    "edit_distance": token_edit_distance(best.response, root.response),
                    "chosen_value": best.value,
                    "rejected_value": root.value,
                    "refine_depth": best.depth,
                    "instructions": row["instructions"],
                    "family_ids": row["family_ids"],
                }
            )
        good = [t.root.response for t in trees if t.status is TreeStatus.PASSED]
        bad = [
            t.root.response for t in trees if t.status not in (TreeStatus.PASSED, TreeStatus.TIE)
        ]
        combos = [(g, b) for g in good for b in bad][:sampled_per_prompt]
        sampled.extend(token_edit_distance(g, b) for g, b in combos)
    return pairs, sampled


def refiner_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(refiner SFT dialogues, judgment DPO pairs) from every decided node and solved path.

    Judgments: a critique whose verdict agrees with the node's decision is the SFT answer and the
    chosen one; one that disagrees is the rejected one."""
    from ifplay.pairs import assistant
    from ifplay.steps.spar.judge import judge_messages

    sft, dpo, judged = [], [], set()
    for row in rows:
        for tree in trees_of(row):
            for node in tree.nodes:
                key = (row["prompt"], node.response)
                decision = node.judgment.decision
                if decision is None or key in judged:
                    continue
                judged.add(key)
                asked = judge_messages(row["prompt"], node.response)
                agree = node.judgment.critique_for(decision)
                disagree = node.judgment.critique_for(not decision)
                if agree:
                    sft.append({"messages": asked + assistant(agree), "task": "judge"})
                if agree and disagree:
                    dpo.append(
                        {
                            "prompt": asked,
                            "chosen": assistant(agree),
                            "rejected": assistant(disagree),
                        }
                    )
            sft.extend(_refinement_dialogues(tree))
    return sft, dpo


def _refinement_dialogues(tree: Tree) -> list[dict]:
    """One dialogue per step of the path from the root to the accepted answer (none unsolved)."""
    from ifplay.pairs import assistant

    out = []
    for parent, child in itertools.pairwise(tree.path()):
        asked = refine_messages(
            tree.item.prompt, parent.response, parent.critique, parent.judgment.failed_checks
        )
        answer = f"<refined>\n{child.response}\n</refined>"
        out.append({"messages": asked + assistant(answer), "task": "refine"})
    return out


def _summary(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"pairs": 0, "mean": None, "median": None}
    return {
        "pairs": len(values),
        "mean": round(statistics.fmean(values), 2),
        "median": statistics.median(values),
    }


def spar_stats(
    rows: list[dict[str, Any]],
    prompt_stats: dict[str, int],
    actor: list[dict[str, Any]],
    sampled: list[int],
    sft: list[dict[str, Any]],
    dpo: list[dict[str, Any]],
) -> dict[str, Any]:
    """Counts per stage: responses, root verdicts, votes, search, splits, edit distances."""
    trees = [tree for row in rows for tree in trees_of(row)]
    judgments = [node.judgment for tree in trees for node in tree.nodes if not node.cached]
    responses = [r for row in rows for r in row.get("responses") or []]
    status = {s: sum(1 for t in trees if t.status is s) for s in TreeStatus}
    counts: dict[str, int] = {}
    for row in rows:
        for key, value in json.loads(row.get("search_counts_json") or "{}").items():
            counts[key] = counts.get(key, 0) + value
    solved = [t for t in trees if t.status is TreeStatus.SOLVED]
    return {
        "prompts": {**prompt_stats, "kept": len(rows)},
        "responses": {"total": len(responses), "empty": sum(1 for r in responses if not r.strip())},
        "roots": {
            "judged": len(trees),
            "accepted": status[TreeStatus.PASSED],
            "rejected": len(trees) - status[TreeStatus.PASSED] - status[TreeStatus.TIE],
            "tie_dropped": status[TreeStatus.TIE],
        },
        "votes": {
            "nodes_judged": len(judgments),
            "llm_yes": sum(v is True for j in judgments for v in j.verdicts),
            "llm_no": sum(v is False for j in judgments for v in j.verdicts),
            "llm_abstained": sum(v is None for j in judgments for v in j.verdicts),
            "code_passed": sum(ok for j in judgments for ok in j.code),
            "code_failed": sum(not ok for j in judgments for ok in j.code),
        },
        "search": {
            "solved": status[TreeStatus.SOLVED],
            "exhausted": status[TreeStatus.EXHAUSTED],
            "out_of_budget": status[TreeStatus.BUDGET],
            "expansions": sum(len(t.expanded) for t in trees),
            "mean_solution_depth": round(statistics.fmean(t.path()[-1].depth for t in solved), 2)
            if solved
            else None,
            **counts,
        },
        "splits": {
            "actor_dpo": len(actor),
            "refiner_sft_judge": sum(1 for r in sft if r["task"] == "judge"),
            "refiner_sft_refine": sum(1 for r in sft if r["task"] == "refine"),
            "refiner_dpo": len(dpo),
        },
        "edit_distance": {
            "unit": "tokens",
            "spar_pairs": _summary([p["edit_distance"] for p in actor]),
            "sampled_pairs": _summary(sampled),
        },
    }
