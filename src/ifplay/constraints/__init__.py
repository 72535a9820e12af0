"""ifplay's library of verifiable instruction constraints (IFEval-style).

Each family pairs natural phrasings with a kwargs sampler and a team-written reference checker; a
`Constraint` is one family with kwargs and its rendered instruction. Constraints are AutoIF's seeds and
trusted verifiers, and SPaR's prompt-evolution material and code judges:

    rng = random.Random(0)
    constraint = sample_constraint(rng, category="format")
    constraint.instruction            # "Answer in at most 8 sentences."
    constraint.check(response)        # reference checker
    constraint.verifier_source()      # standalone `def evaluate(response)` for the sandbox

Families cover the format, content and general categories of TAXONOMY; situation and sentiment have
no families because no deterministic code check exists for them.
"""

from ifplay.constraints import families as _families  # noqa: F401  (registers FAMILIES)
from ifplay.constraints.base import (
    FAMILIES,
    TAXONOMY,
    Constraint,
    ConstraintFamily,
    get_family,
)
from ifplay.constraints.sampling import (
    compatible,
    conflicting,
    family_ids,
    sample_compatible,
    sample_constraint,
)
from ifplay.constraints.seeds import load_seed_instructions

__all__ = [
    "FAMILIES",
    "TAXONOMY",
    "Constraint",
    "ConstraintFamily",
    "compatible",
    "conflicting",
    "family_ids",
    "get_family",
    "load_seed_instructions",
    "sample_compatible",
    "sample_constraint",
]
