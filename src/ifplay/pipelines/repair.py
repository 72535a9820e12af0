"""`kind: repair`: training data from the model's own answers, repaired by code where they fail.

1. prompts: real ShareGPT queries (decontaminated against IFEval, minus the slice the perplexity guard
   holds out), each given 1..`max_constraints` compatible constraints drawn across the library's
   families (never the `held_out` ones, so their IFEval types measure generalisation), or none for a
   share `unconstrained` of the prompts: plain requests keep the data close to ordinary use.
2. responses: the model samples `model.n` answers per prompt (distilabel, seeded). An answer that ran
   into the token cap has not followed anything: it counts as failing.
3. splits. Chosen: an answer that ended on its own and passes every constraint as written; else the
   first answer `repair_answer` fixes (a capped answer is first cut back to its last complete
   sentence), so a chosen answer differs from the model's own only where a constraint demands it, and
   always ends; a repetitive answer (looping sentences or text) is never chosen. Rejected: an answer
   that fails a constraint, ran into the cap or loops.
4. grafts (`prompts.grafts`, for plain requests): each kept answer also meets freshly drawn
   constraint sets of repairable families and is repaired to fit each: one answer teaches several
   formats, and its DPO pair differs only where the constraints demand.

Splits: `sft` (TRL prompt/completion chats), `dpo` (prompt/chosen/rejected) and `prompts` (every
prompt, its constraints and how its chosen answer was found: `as written`, `repaired`, `grafted` or
`dropped`).
"""

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ifplay.config import ModelSpec, Schema
from ifplay.constraints.answers import choose_pair, finished_answers, repetitive
from ifplay.pipelines.base import PipelineOutput, answer_prompts
from ifplay.pipelines.resources import PipelineDeclaration

# Families kept out of training by default: each has an IFEval counterpart (placeholders, multiple
# sections, letter frequency, response language), reported apart as unseen constraint types.
HELD_OUT = (
    "format.placeholders",
    "format.sections",
    "keywords.letter_frequency",
    "language.response",
)


class RepairPrompts(Schema):
    """Which prompts the model answers."""

    count: int = Field(800, ge=1, description="Prompts per run (ShareGPT queries, sampled).")
    min_chars: int = Field(20, ge=1)
    max_chars: int = Field(300, ge=1)
    unconstrained: float = Field(0.2, ge=0, le=1, description="Share of plain requests.")
    max_constraints: int = Field(3, ge=1, le=5, description="Constraints per prompt: 1..N.")
    grafts: int = Field(
        0, ge=0, description="Constraint sets drawn afresh for each plain answer, repaired to fit."
    )
    held_out: list[str] = Field(
        default_factory=lambda: list(HELD_OUT), description="Families never used."
    )

    @field_validator("held_out")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        from ifplay.constraints import get_family

        for family_id in value:
            get_family(family_id)
        return value


class RepairConfig(PipelineDeclaration):
    """A verifier-guided repair declaration (`pipelines/repair.yaml`)."""

    STAGES = (("sample",),)

    kind: Literal["repair"] = "repair"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    seed: int = 0
    prompts: RepairPrompts = RepairPrompts()
    model: ModelSpec = ModelSpec(n=2, temperature=0.7, top_p=0.95, max_new_tokens=512)
    decontaminate_ifeval: bool = True
    output_dir: str | None = None

    def step_models(self) -> dict[str, ModelSpec]:
        return {"sample": self.model}


def draw_constraints(
    rng: random.Random, families: list[str], query: str, most: int
) -> list[dict[str, Any]]:
    """1..`most` compatible constraints (as dicts) from `families`; "repeat the request" repeats
    `query`."""
    from ifplay.constraints import compatible, get_family

    count = rng.randint(1, most)
    chosen: list[str] = []
    for family_id in rng.sample(families, len(families)):
        if len(chosen) == count:
            break
        if compatible([*chosen, family_id]):
            chosen.append(family_id)
    constraints = []
    for family_id in chosen:
        family = get_family(family_id)
        kwargs = family.sample_kwargs(rng)
        if "request" in kwargs:
            kwargs["request"] = query
        phrasing = rng.randrange(len(family.phrasings))
        constraints.append(family.build(kwargs, phrasing=phrasing).to_dict())
    return constraints


def constrained_prompt(query: str, constraints: list[dict[str, Any]]) -> str:
    """`query`, then a blank line and the constraints' instructions (just `query` without any)."""
    instructions = " ".join(c["instruction"] for c in constraints)
    return f"{query}\n\n{instructions}" if constraints else query


def build_prompts(config: RepairConfig) -> list[dict[str, Any]]:
    """Prompt rows: prompt_id, query, prompt (query + instructions), constraints_json, drop.

    Constraints travel as JSON text: a dataset column of kwargs dicts would merge every family's keys.
    """
    from ifplay.constraints import FAMILIES
    from ifplay.evaluation.heldout import is_heldout
    from ifplay.sharegpt import first_turns

    p = config.prompts
    queries = [
        ex.prompt
        for ex in first_turns(p.min_chars, p.max_chars)
        if not is_heldout(ex.conversation_id)
    ]
    if config.decontaminate_ifeval:
        from ifplay.decontam import NgramIndex, contaminated, ifeval_prompts

        flags = contaminated(queries, NgramIndex(ifeval_prompts(), 13))
        queries = [query for query, bad in zip(queries, flags, strict=True) if not bad]
    rng = random.Random(config.seed)
    families = sorted(set(FAMILIES) - set(p.held_out))
    rows = []
    for index, query in enumerate(rng.sample(queries, min(p.count, len(queries)))):
        plain = rng.random() < p.unconstrained
        constraints = [] if plain else draw_constraints(rng, families, query, p.max_constraints)
        rows.append(
            {
                "prompt_id": index,
                "query": query,
                "prompt": constrained_prompt(query, constraints),
                "constraints_json": json.dumps(constraints),
                "drop": "",
            }
        )
    return rows


def build_splits(
    rows: list[dict[str, Any]], capped: list[list[bool]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(sft rows, dpo rows, prompt rows with `how`) from answered prompt rows."""
    from ifplay.pairs import assistant, user

    sft, dpo, fates = [], [], []
    for row, row_capped in zip(rows, capped, strict=True):
        constraints = json.loads(row["constraints_json"])
        picked = choose_pair(constraints, row["responses"], row_capped)
        families = [c["family_id"] for c in constraints]
        meta = {
            "constraints_json": row["constraints_json"],
            "family_ids": families,
            "how": picked["how"],
        }
        fates.append({"prompt": row["prompt"], **meta, "capped": sum(row_capped)})
        if picked["chosen"] is None:
            continue
        sft.append(
            {"prompt": user(row["prompt"]), "completion": assistant(picked["chosen"]), **meta}
        )
        if picked["rejected"] is not None and picked["rejected"] != picked["chosen"]:
            dpo.append(
                {
                    "prompt": user(row["prompt"]),
                    "chosen": assistant(picked["chosen"]),
                    "rejected": assistant(picked["rejected"]),
                    **meta,
                }
            )
    return sft, dpo, fates


def graft_splits(
    rows: list[dict[str, Any]],
    capped: list[list[bool]],
    grafts: int,
    families: list[str],
    most: int,
    seed: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(sft, dpo, prompt fates) grafted onto the answers of the plain requests among `rows`.

    Each plain request's answer (the one `choose_pair` keeps) meets `grafts` constraint sets drawn
    afresh from `families` (1..`most` each, seeded by `seed` and the prompt id): the prompt gains their
    instructions and the answer is repaired to fit, kept only when every checker passes and it does
    not loop (`how` "grafted", else "dropped"). The DPO pair rejects the answer as written, which
    differs from the chosen one exactly where the constraints demand; a set the answer already meets
    gives an SFT row and no pair.
    """
    from ifplay.constraints import Constraint
    from ifplay.constraints.repair import repair_answer
    from ifplay.pairs import assistant, user

    sft, dpo, fates = [], [], []
    for row, row_capped in zip(rows, capped, strict=True):
        if json.loads(row["constraints_json"]) or not grafts:
            continue
        answer = choose_pair([], row["responses"], row_capped)["chosen"]
        if answer is None:
            continue
        finished = finished_answers(row["responses"], row_capped)
        others = [text for text in finished if text and text != answer]
        rng = random.Random(f"{seed}:graft:{row['prompt_id']}")
        for _ in range(grafts):
            constraints = draw_constraints(rng, families, row["query"], most)
            checks = [Constraint.from_dict(c) for c in constraints]
            repaired = repair_answer(answer, checks, others)
            if repaired is not None and repetitive(repaired):
                repaired = None
            prompt = constrained_prompt(row["query"], constraints)
            meta = {
                "constraints_json": json.dumps(constraints),
                "family_ids": [c["family_id"] for c in constraints],
                "how": "grafted" if repaired is not None else "dropped",
            }
            fates.append({"prompt": prompt, **meta, "capped": sum(row_capped)})
            if repaired is None:
                continue
            sft.append({"prompt": user(prompt), "completion": assistant(repaired), **meta})
            if repaired != answer:
                dpo.append(
                    {
                        "prompt": user(prompt),
                        "chosen": assistant(repaired),
                        "rejected": assistant(answer),
                        **meta,
                    }
                )
    return sft, dpo, fates


def capped_flags(model: ModelSpec, rows: list[dict[str, Any]]) -> list[list[bool]]:
    """Per row, per answer: True when the answer is (within 2 tokens of) the token cap long."""
    from transformers import AutoTokenizer

    from ifplay.models import resolve_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_path(model.name)))
    limit = model.max_new_tokens - 2
    return [
        [len(tokenizer(text, add_special_tokens=False)["input_ids"]) >= limit for text in answers]
        for answers in (row["responses"] for row in rows)
    ]


def run_repair(
    config: RepairConfig, base_dir: Path, limit: int | None = None, use_cache: bool = True
) -> PipelineOutput:
    """Sample answers for the prompts, then build the sft, dpo and prompts splits."""
    from ifplay.constraints import FAMILIES
    from ifplay.constraints.repair import repairable
    from ifplay.split_schemas import REPAIR_DPO, REPAIR_PROMPTS, REPAIR_SFT, dataset_from_rows

    rows = build_prompts(config)
    if limit is not None:
        rows = rows[:limit]
    spec = config.model.for_stage(config.model.n, config.seed)
    answered = sorted(answer_prompts(config, "repair", rows, spec, use_cache), key=_prompt_id)
    capped = capped_flags(spec, answered)
    sft, dpo, fates = build_splits(answered, capped)
    p = config.prompts
    graft_families = sorted(f for f in FAMILIES if repairable(f) and f not in p.held_out)
    grafted = graft_splits(
        answered, capped, p.grafts, graft_families, p.max_constraints, config.seed
    )
    for split, extra in zip((sft, dpo, fates), grafted, strict=True):
        split.extend(extra)
    how = Counter(fate["how"] for fate in fates)
    stats = {
        "prompts": len(rows),
        "answers": sum(len(row["responses"]) for row in answered),
        "answers_capped": sum(sum(flags) for flags in capped),
        "chosen": {key: how[key] for key in ("as written", "repaired", "grafted", "dropped")},
        "sft_rows": len(sft),
        "dpo_pairs": len(dpo),
        "families": dict(sorted(Counter(f for row in sft for f in row["family_ids"]).items())),
        "held_out": config.prompts.held_out,
    }
    splits = {
        "sft": dataset_from_rows(sft, REPAIR_SFT),
        "dpo": dataset_from_rows(dpo, REPAIR_DPO),
        "prompts": dataset_from_rows(fates, REPAIR_PROMPTS),
    }
    return PipelineOutput(splits=splits, stats=stats)


def _prompt_id(row: dict[str, Any]) -> int:
    return int(row["prompt_id"])
