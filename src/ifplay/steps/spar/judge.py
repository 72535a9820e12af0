"""The SPaR judge: an LLM writes a critique that ends in a fixed verdict line, `n` times per
response; the verdicts are tallied by majority (ties decide nothing; unparseable replies abstain).

Hybrid judging: when a prompt's constraints come from ifplay's constraint library, their code
verifiers run in the sandbox and either vote (`code_judge: vote`, each constraint casts
`code_weight` votes) or veto (`code_judge: veto`: one failed constraint makes the verdict "no").

`Judge` judges a batch of (prompt, response) items with ONE engine call; the tree search
(`ifplay.steps.spar.tree_search`) uses it.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from distilabel.typing import ChatType
from pydantic import Field

from ifplay.config import MaxNewTokens, Schema, Temperature, TopP, sampling_kwargs
from ifplay.steps.templating import render_template

CodeJudge = Literal["off", "vote", "veto"]
VERDICT_MARKER = "Verdict:"

_MARKER = re.compile(r"\bverdict\b", re.IGNORECASE)
_ANSWER = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_WINDOW = 40  # characters after the marker in which the yes/no must appear


def parse_verdict(reply: str | None) -> bool | None:
    """True/False for a reply whose verdict line says yes/no; None when no verdict can be read.

    The marker is "verdict" (any case, any punctuation or markup after it); the last marker that is
    followed by "yes" or "no" within a few characters counts, and the first of the two words after
    it wins ("Verdict: no, yes-or-no questions are missing" is no). "yes" without a marker is None.
    """
    if not reply:
        return None
    for marker in reversed(list(_MARKER.finditer(reply))):
        found = _ANSWER.search(reply[marker.end() : marker.end() + _WINDOW])
        if found:
            return found.group(1).lower() == "yes"
    return None


@dataclass
class Votes:
    """A tally. `value` = share of yes among the votes cast (abstentions excluded; 0.0 when none);
    `decision` = majority (None on a tie, including no votes at all); a veto forces no."""

    yes: float = 0.0
    no: float = 0.0
    abstained: int = 0
    vetoed: bool = False

    @property
    def value(self) -> float:
        if self.vetoed or self.yes + self.no == 0:
            return 0.0
        return self.yes / (self.yes + self.no)

    @property
    def decision(self) -> bool | None:
        if self.vetoed:
            return False
        if self.yes == self.no:
            return None
        return self.yes > self.no


def tally(
    verdicts: Sequence[bool | None],
    code: Sequence[bool] = (),
    code_judge: CodeJudge = "off",
    code_weight: float = 1.0,
) -> Votes:
    """Majority of LLM `verdicts`, plus one result per code-verified constraint in `code`."""
    votes = Votes(
        yes=float(sum(1 for v in verdicts if v is True)),
        no=float(sum(1 for v in verdicts if v is False)),
        abstained=sum(1 for v in verdicts if v is None),
    )
    if code_judge == "vote":
        votes.yes += code_weight * sum(1 for ok in code if ok)
        votes.no += code_weight * sum(1 for ok in code if not ok)
    elif code_judge == "veto":
        votes.vetoed = any(not ok for ok in code)
    return votes


class JudgeSettings(Schema):
    """How the judge samples and votes (SPaR: 5 samples at temperature 0.7)."""

    n: int = Field(5, ge=1, description="Judge samples per response.")
    temperature: Temperature = 0.7
    top_p: TopP = 1.0
    max_new_tokens: MaxNewTokens = 512
    code_judge: CodeJudge = Field(
        "vote", description="Library constraints' code verifiers: off, vote or veto."
    )
    code_weight: float = Field(
        1.0, ge=0.0, description="Votes each code-verified constraint casts."
    )


@dataclass
class JudgeItem:
    """One response to judge, with the prompt's code verifiers (a function list per constraint)."""

    prompt: str
    response: str
    verifiers: Sequence[Sequence[str]] = ()
    instructions: Sequence[str] = ()


@dataclass
class Judgment:
    """The judge's samples for one response, the code results, and the tally."""

    critiques: list[str]
    verdicts: list[bool | None]
    code: list[bool]
    votes: Votes
    failed_checks: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return self.votes.value

    @property
    def decision(self) -> bool | None:
        return self.votes.decision

    def critique_for(self, verdict: bool) -> str:
        """The first critique that reached `verdict` ("" when none did)."""
        for text, vote in zip(self.critiques, self.verdicts, strict=True):
            if vote is verdict:
                return text
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "critiques": self.critiques,
            "verdicts": self.verdicts,
            "code": self.code,
            "failed_checks": self.failed_checks,
            "yes": self.votes.yes,
            "no": self.votes.no,
            "abstained": self.votes.abstained,
            "vetoed": self.votes.vetoed,
            "value": self.value,
            "decision": self.decision,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Judgment":
        """The judgment `to_dict` wrote (`value` and `decision` follow from the votes)."""
        return cls(
            critiques=list(data["critiques"]),
            verdicts=list(data["verdicts"]),
            code=list(data["code"]),
            votes=Votes(
                yes=data["yes"], no=data["no"], abstained=data["abstained"], vetoed=data["vetoed"]
            ),
            failed_checks=list(data["failed_checks"]),
        )


def judge_messages(prompt: str, response: str) -> ChatType:
    """The chat sent to the judge for one response."""
    return [
        {"role": "user", "content": render_template("spar_judge", prompt=prompt, response=response)}
    ]


class Judge:
    """Judges batches of items: one engine call per batch, code verifiers in the sandbox.

    `calls` counts engine calls (the tree search reports it; tests assert on it).
    """

    def __init__(self, llm: Any, settings: JudgeSettings, sandbox: Any = None):
        self.llm = llm
        self.settings = settings
        self.sandbox = sandbox
        self.calls = 0

    def generation_kwargs(self) -> dict[str, Any]:
        """The engine's generation kwargs with the judge's sampling on top."""
        return sampling_kwargs(self.settings, self.llm.get_generation_kwargs())

    def judge(self, items: Sequence[JudgeItem]) -> list[Judgment]:
        """One `Judgment` per item, in order."""
        if not items:
            return []
        outputs = self.llm.generate_outputs(
            inputs=[judge_messages(item.prompt, item.response) for item in items],
            num_generations=self.settings.n,
            **self.generation_kwargs(),
        )
        self.calls += 1
        code = self.code_results(items)
        s = self.settings
        judgments = []
        for output, results in zip(outputs, code, strict=True):
            critiques = [g or "" for g in output.get("generations") or []]
            verdicts = [parse_verdict(text) for text in critiques]
            passed = [ok for _, ok in results]
            judgments.append(
                Judgment(
                    critiques=critiques,
                    verdicts=verdicts,
                    code=passed,
                    votes=tally(verdicts, passed, s.code_judge, s.code_weight),
                    failed_checks=[text for text, ok in results if not ok],
                )
            )
        return judgments

    def code_results(self, items: Sequence[JudgeItem]) -> list[list[tuple[str, bool]]]:
        """Per item, (instruction, passed) per constraint with verifiers: passed = all of its
        functions passed (errors and timeouts fail). Empty when code judging is off or there is
        no sandbox."""
        results: list[list[tuple[str, bool]]] = [[] for _ in items]
        if self.settings.code_judge == "off" or self.sandbox is None:
            return results
        from ifplay.verification import verdict_matrix

        by_prompt: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            if any(item.verifiers):
                by_prompt.setdefault(item.prompt, []).append(index)
        for indices in by_prompt.values():
            groups = [list(g) for g in items[indices[0]].verifiers]
            flat = [source for group in groups for source in group]
            matrix = verdict_matrix(self.sandbox, flat, [items[i].response for i in indices])
            texts = list(items[indices[0]].instructions)
            for column, index in enumerate(indices):
                row = 0
                for number, group in enumerate(groups):
                    if not group:
                        continue
                    span = range(row, row + len(group))
                    passed = all(matrix[f][column] is True for f in span)
                    text = texts[number] if number < len(texts) else f"constraint {number + 1}"
                    results[index].append((text, passed))
                    row += len(group)
        return results


def item_for(row: dict[str, Any], response: str) -> JudgeItem:
    """A `JudgeItem` for one response of a prompt row."""
    return JudgeItem(
        prompt=row["prompt"],
        response=response,
        verifiers=row.get("verifiers") or [],
        instructions=row.get("instructions") or [],
    )
