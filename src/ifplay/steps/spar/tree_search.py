"""SPaR's tree-search refinement, level-synchronous over many trees at once.

A response the judge rejects is the root of a tree. Expanding a node asks the refiner for `branch`
refined responses given the node's critique; each child is judged and its value is the share of
"yes" votes (`ifplay.steps.spar.judge.Votes.value`). The search stops at the first child whose value is
above `end_gate` (success), when no node is left within `depth`, or when the tree has used its
`max_expansions`.

- BFS: every round expands all of a tree's frontier nodes; the best `keep` children form the next
  frontier.
- DFS: every round expands one node per tree, the top of its stack; the best `keep` children are
  pushed, the best on top.

Batching: each round sends the nodes of *all* trees to the refiner in one engine call, then all new
children to the judge in one engine call, so the number of engine calls grows with the depth of the
search, not with the number of trees. Judgments are cached by (prompt, response text).
"""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from distilabel.steps import StepInput
from distilabel.steps.tasks import Task
from distilabel.typing import ChatType, StepOutput
from pydantic import Field

from ifplay.config import MaxNewTokens, Schema, Temperature, TopP, sampling_kwargs
from ifplay.steps.sandboxed import SandboxedStep
from ifplay.steps.spar.judge import Judge, JudgeItem, JudgeSettings, Judgment, item_for
from ifplay.steps.templating import render_template

_REFINED = re.compile(r"<refined>\s*(.*?)\s*(?:</refined>|$)", re.DOTALL | re.IGNORECASE)


class SearchSettings(Schema):
    """Tree-search settings (SPaR: BFS, branch 3, keep 2, depth 3, end_gate 0.5)."""

    strategy: Literal["bfs", "dfs"] = "bfs"
    branch: int = Field(3, ge=1, description="Refinements asked for per expanded node.")
    keep: int = Field(2, ge=1, description="Children kept per round (BFS) or pushed (DFS).")
    depth: int = Field(3, ge=1, description="Maximum refinement steps from the original response.")
    end_gate: float = Field(0.5, ge=0.0, lt=1.0, description="Success when a value exceeds it.")
    max_expansions: int = Field(12, ge=1, description="Budget: node expansions per tree.")
    temperature: Temperature = 0.7
    top_p: TopP = 1.0
    max_new_tokens: MaxNewTokens = 1024
    require_markers: bool = Field(
        True, description="Drop refinements without <refined> markers (else use the whole reply)."
    )


def parse_refined(reply: str | None, require_markers: bool = True) -> tuple[str | None, bool]:
    """(refined text or None, whether the markers were found)."""
    if not reply or not reply.strip():
        return None, False
    found = _REFINED.search(reply)
    if found:
        return (found.group(1).strip() or None), True
    return (None if require_markers else reply.strip()), False


def refine_messages(prompt: str, response: str, critique: str, failed: Sequence[str]) -> ChatType:
    """The chat sent to the refiner to expand one node."""
    text = render_template(
        "spar_refine",
        prompt=prompt,
        response=response,
        critique=critique or "(no details given)",
        failed_checks=list(failed),
    )
    return [{"role": "user", "content": text}]


class TreeStatus(StrEnum):
    """Where a tree stands; the value is what `search_json` stores (`Tree.to_dict`).

    - searching: the root was rejected and the search goes on (only while `TreeSearch.run` runs);
    - passed: the judge accepted the root; not searched;
    - tie: the judge's majority on the root was undecided; not searched, and dropped from every
      split;
    - solved: a refinement's value exceeded `end_gate`; `Tree.solution` is that node;
    - exhausted: no open node was left within `depth`;
    - budget: the tree used its `max_expansions` (nodes may remain open).
    """

    SEARCHING = "searching"
    PASSED = "passed"
    TIE = "tie"
    SOLVED = "solved"
    EXHAUSTED = "exhausted"
    BUDGET = "budget"


@dataclass
class Node:
    """One response in a tree: its judgment and where it came from."""

    id: int
    response: str
    depth: int
    parent: int | None
    judgment: Judgment
    cached: bool = False

    @property
    def value(self) -> float:
        return self.judgment.value

    @property
    def critique(self) -> str:
        """What the refiner is told: the first critique that voted no (or any critique)."""
        return self.judgment.critique_for(False) or next(iter(self.judgment.critiques), "")

    def to_dict(self) -> dict[str, Any]:
        """The node, its judgment (`Judgment.to_dict`) and `critique` (derived, for readers)."""
        return {
            "id": self.id,
            "parent": self.parent,
            "depth": self.depth,
            "response": self.response,
            "cached": self.cached,
            "critique": self.critique,
            **self.judgment.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Node":
        """The node `to_dict` wrote."""
        return cls(
            id=data["id"],
            response=data["response"],
            depth=data["depth"],
            parent=data["parent"],
            judgment=Judgment.from_dict(data),
            cached=data["cached"],
        )


@dataclass
class Tree:
    """The search over one judged response: `nodes[0]` is that response (the root), `open` the
    nodes still to expand, `expanded` the expanded ones in order, `status` a `TreeStatus`."""

    item: JudgeItem
    nodes: list[Node]
    open: list[int] = field(default_factory=list)
    expanded: list[int] = field(default_factory=list)
    status: TreeStatus = TreeStatus.SEARCHING
    solution: int | None = None

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def path(self) -> list[Node]:
        """Root ... solution (empty when unsolved)."""
        if self.solution is None:
            return []
        chain, node = [], self.nodes[self.solution]
        while True:
            chain.append(node)
            if node.parent is None:
                return chain[::-1]
            node = self.nodes[node.parent]

    def to_dict(self) -> dict[str, Any]:
        """What `search_json` stores per tree; `Tree.from_dict` reads it back."""
        return {
            "status": self.status.value,
            "expansions": len(self.expanded),
            "expanded": self.expanded,
            "open": self.open,
            "solution": self.solution,
            "nodes": [n.to_dict() for n in self.nodes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], row: dict[str, Any]) -> "Tree":
        """The tree `to_dict` wrote. `row` is the prompt row it was searched for (as given to
        `search_rows`, the one whose `search_json` holds it): it gives the tree's `item` (prompt,
        verifiers, instructions), which `to_dict` leaves to the row. Trees written before `open`
        was stored read with no open nodes."""
        nodes = [Node.from_dict(node) for node in data["nodes"]]
        return cls(
            item=item_for(row, nodes[0].response),
            nodes=nodes,
            open=list(data.get("open", [])),
            expanded=list(data["expanded"]),
            status=TreeStatus(data["status"]),
            solution=data["solution"],
        )


def trees_of(row: dict[str, Any]) -> list[Tree]:
    """The trees `TreeSearchRefine` stored in `row` (its `search_json`; none when empty)."""
    return [Tree.from_dict(data, row) for data in json.loads(row.get("search_json") or "[]")]


@dataclass
class SearchCounts:
    """What one search did (summed into stats.json)."""

    engine_calls: int = 0
    rounds: int = 0
    refine_requests: int = 0
    refine_replies: int = 0
    refine_unmarked: int = 0
    refine_unusable: int = 0
    refine_duplicates: int = 0
    judged: int = 0
    cache_hits: int = 0


class TreeSearch:
    """Runs searches for many trees together; `judge` and the refiner share one LLM."""

    def __init__(self, llm: Any, judge: Judge, settings: SearchSettings):
        self.llm = llm
        self.judge = judge
        self.settings = settings
        self.cache: dict[tuple[str, str], Judgment] = {}
        self.counts = SearchCounts()

    def judge_cached(self, items: Sequence[JudgeItem]) -> list[tuple[Judgment, bool]]:
        """(judgment, from cache) per item; uncached items are judged in one engine call."""
        missing: dict[tuple[str, str], JudgeItem] = {}
        known = [(item.prompt, item.response) in self.cache for item in items]
        for item in items:
            key = (item.prompt, item.response)
            if key not in self.cache and key not in missing:
                missing[key] = item
        for key, judgment in zip(missing, self.judge.judge(list(missing.values())), strict=True):
            self.cache[key] = judgment
        if missing:
            self.counts.engine_calls += 1
        self.counts.judged += len(missing)
        self.counts.cache_hits += len(items) - len(missing)
        return [
            (self.cache[(i.prompt, i.response)], hit) for i, hit in zip(items, known, strict=True)
        ]

    def start(self, items: Sequence[JudgeItem]) -> list[Tree]:
        """Judge the original responses; rejected ones become searching trees, the others are
        `passed` or `tie` (majority undecided: dropped)."""
        trees = []
        for item, (judgment, _) in zip(items, self.judge_cached(items), strict=True):
            tree = Tree(item=item, nodes=[Node(0, item.response, 0, None, judgment)], open=[0])
            if judgment.decision is True:
                tree.status, tree.open = TreeStatus.PASSED, []
            elif judgment.decision is None:
                tree.status, tree.open = TreeStatus.TIE, []
            trees.append(tree)
        return trees

    def run(self, trees: Sequence[Tree]) -> None:
        """Search every `searching` tree until each is solved, exhausted or out of budget."""
        while True:
            picks = [(tree, node) for tree in trees for node in self._pick(tree)]
            if not picks:
                return
            self.counts.rounds += 1
            children = self._expand(picks)
            judged = self.judge_cached(
                [replace(tree.item, response=text) for tree, _, text in children]
            )
            new: dict[int, list[Node]] = {}
            for (tree, parent, text), (judgment, hit) in zip(children, judged, strict=True):
                node = Node(len(tree.nodes), text, parent.depth + 1, parent.id, judgment, hit)
                tree.nodes.append(node)
                new.setdefault(id(tree), []).append(node)
            for tree in trees:
                if tree.status is TreeStatus.SEARCHING:
                    self._update(tree, new.get(id(tree), []))

    def _pick(self, tree: Tree) -> list[Node]:
        """The nodes this tree expands this round (and its status when it has none left)."""
        if tree.status is not TreeStatus.SEARCHING:
            return []
        s = self.settings
        budget = s.max_expansions - len(tree.expanded)
        picked: list[Node] = []
        while tree.open and budget > len(picked):
            node = (
                tree.nodes[tree.open.pop()] if s.strategy == "dfs" else tree.nodes[tree.open.pop(0)]
            )
            if node.depth < s.depth:
                picked.append(node)
                if s.strategy == "dfs":
                    break
        if not picked:
            tree.status = TreeStatus.BUDGET if budget <= 0 else TreeStatus.EXHAUSTED
        tree.expanded.extend(node.id for node in picked)
        return picked

    def _expand(self, picks: list[tuple[Tree, Node]]) -> list[tuple[Tree, Node, str]]:
        """One refiner call for all picked nodes; returns the new, distinct refinements."""
        s = self.settings
        outputs = self.llm.generate_outputs(
            inputs=[
                refine_messages(
                    tree.item.prompt, node.response, node.critique, node.judgment.failed_checks
                )
                for tree, node in picks
            ],
            num_generations=s.branch,
            **sampling_kwargs(s, self.llm.get_generation_kwargs()),
        )
        self.counts.engine_calls += 1
        self.counts.refine_requests += len(picks) * s.branch
        children = []
        seen = {(id(tree), n.response) for tree, _ in picks for n in tree.nodes}
        for (tree, node), output in zip(picks, outputs, strict=True):
            for reply in output.get("generations") or []:
                text, marked = parse_refined(reply, s.require_markers)
                self.counts.refine_replies += 1
                self.counts.refine_unmarked += 0 if marked else 1
                if text is None:
                    self.counts.refine_unusable += 1
                elif (id(tree), text) in seen:
                    self.counts.refine_duplicates += 1
                else:
                    seen.add((id(tree), text))
                    children.append((tree, node, text))
        return children

    def _update(self, tree: Tree, children: list[Node]) -> None:
        s = self.settings
        ranked = sorted(children, key=lambda n: (-n.value, n.id))
        if ranked and ranked[0].value > s.end_gate:
            tree.status, tree.solution, tree.open = TreeStatus.SOLVED, ranked[0].id, []
            return
        kept = [n.id for n in ranked[: s.keep]]
        if s.strategy == "dfs":
            tree.open.extend(reversed(kept))  # the best child is popped first
        else:
            tree.open.extend(kept)


class TreeSearchRefine(SandboxedStep, Task):
    """Judge every actor response, then refine the rejected ones by tree search, batched over the
    whole input batch (all responses of all rows).

    Input columns: prompt, responses, verifiers (optional), instructions (optional).
    Output columns: search_json (a JSON list, one `Tree.to_dict` per non-empty response: status,
    expansions, nodes with their judgments; `trees_of` reads it back), search_counts_json (this
    batch's counts, on the batch's first row; "" elsewhere).
    """

    judge: JudgeSettings = JudgeSettings()
    search: SearchSettings = SearchSettings()

    @property
    def inputs(self) -> dict[str, bool]:  # type: ignore[override]
        return {"prompt": True, "responses": True, "verifiers": False, "instructions": False}

    @property
    def outputs(self) -> list[str]:
        return ["search_json", "search_counts_json"]

    def format_input(self, input: dict[str, Any]) -> ChatType:  # noqa: A002
        return [{"role": "user", "content": input["prompt"]}]

    def format_output(self, output: str | None, input: dict[str, Any] | None = None) -> dict:  # noqa: A002
        return {}  # unused: `process` drives the search

    def process(self, inputs: StepInput) -> StepOutput:  # type: ignore[override]
        rows, counts = search_rows(
            self.llm, list(inputs), self.judge, self.search, sandbox=self.sandbox
        )
        out = []
        for index, (row, trees) in enumerate(zip(inputs, rows, strict=True)):
            out.append(
                {
                    **row,
                    "search_json": json.dumps([t.to_dict() for t in trees]),
                    "search_counts_json": json.dumps(counts.__dict__) if index == 0 else "",
                }
            )
        yield out


def search_rows(
    llm: Any,
    rows: Sequence[dict[str, Any]],
    judge: JudgeSettings,
    search: SearchSettings,
    sandbox: Any = None,
) -> tuple[list[list[Tree]], SearchCounts]:
    """Judge and refine all non-empty responses of `rows` together; per row, its trees (empty
    responses get none)."""
    engine = TreeSearch(llm, Judge(llm, judge, sandbox), search)
    owners, items = [], []
    for index, row in enumerate(rows):
        if row.get("drop"):
            continue
        for response in row.get("responses") or []:
            if response.strip():
                owners.append(index)
                items.append(item_for(row, response))
    trees = engine.start(items)
    engine.run(trees)
    per_row: list[list[Tree]] = [[] for _ in rows]
    for owner, tree in zip(owners, trees, strict=True):
        per_row[owner].append(tree)
    return per_row, engine.counts
