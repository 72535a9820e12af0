"""FollowBench (Jiang et al., ACL 2024, arXiv:2310.20410) for ifplay: multi-level constraint following.

Six lighteval tasks, one per category: `ifplay_followbench_<category>` for content, situation, style,
format, example and mixed. Every instruction group (`example_id`) has levels 1-5; level n adds the n-th
constraint to the instruction (level 0, the unconstrained instruction, is not answered: the judge sees it
as the start of the constraint-evolution path). Generation is greedy with up to 2048 new tokens, the
FollowBench inference default.

Scoring:
- `example` is rule-based: the instructions show answers in a fixed wrapper (`target`, e.g.
  `{instruction}\\nAnswer: {answer}`), and a response satisfies the level when it has exactly that
  wrapper around any answer. Differences from FollowBench's `check_match`: the answer may span lines
  (otherwise 5 of the dataset's own reference answers fail) and surrounding whitespace is ignored.
- the other five categories are judged by an LLM (`ifplay.evaluation.judge`, any ifplay model): it sees
  the evolution path (level 0 .. n) and the response, names the n added constraints and ends with one
  `Verdicts: [YES, NO, ...]` line. An answer that cannot be parsed counts as all-NO and is reported in
  `judge_unparsed` (the share of such answers), so a weak judge is visible.

Metrics per category (FollowBench's definitions; s_ij = constraint j of sample i satisfied):
- `hsr_level<n>`: hard satisfaction rate at level n, the share of samples with every constraint met;
- `ssr_level<n>`: soft satisfaction rate at level n, the mean share of constraints met per sample;
- `hsr`, `ssr`: their means over the levels present;
- `csl`: consistent satisfaction levels, per group the number of consecutive levels from 1 whose sample
  is fully satisfied, averaged over groups (0-5). With `--limit` some levels are missing, which ends a
  run early, so CSL is only comparable between runs with the same limit.
The runner also reports the means over the scored categories (`followbench/hsr`, ...).

Data: `--data followbench=DIR` (a folder with `<category>_constraints.json`, the layout of the Hub's
`data_en/`), else the Hub dataset `YuxinJiang/FollowBench`. No copy is installed with ifplay.
"""

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from lighteval.metrics.metrics_sample import SampleLevelComputation
from lighteval.metrics.utils.metric_utils import SampleLevelMetric
from lighteval.tasks.lighteval_task import LightevalTaskConfig
from lighteval.tasks.requests import Doc, SamplingMethod

from ifplay.evaluation.data import DataRequest, no_source_error, read_json_list, require_path
from ifplay.evaluation.judge import current_judge

HUB_REPO = "YuxinJiang/FollowBench"
HUB_FOLDER = "data_en"
CATEGORIES: tuple[str, ...] = ("content", "situation", "style", "format", "example", "mixed")
RULE_BASED: frozenset[str] = frozenset({"example"})
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
GENERATION_SIZE = 2048
FIELDS = ("example_id", "level", "instruction", "target", "source")


# --- data ----------------------------------------------------------------------------------------


def data_filename(category: str) -> str:
    return f"{category}_constraints.json"


def with_evolution(rows: list[dict[str, Any]], category: str) -> list[dict[str, Any]]:
    """Normalised rows, each with `evolution`: its group's instructions from level 0 up to its own."""
    by_group: dict[Any, dict[int, str]] = defaultdict(dict)
    for row in rows:
        by_group[row["example_id"]][int(row["level"])] = str(row["instruction"])
    out = []
    for row in rows:
        level = int(row["level"])
        steps = by_group[row["example_id"]]
        out.append(
            {
                "example_id": int(row["example_id"]),
                "category": category,
                "source": str(row["source"]),
                "level": level,
                "instruction": str(row["instruction"]),
                "target": str(row["target"]),
                "answer": str(row.get("answer", "")),
                "evolution": [steps[n] for n in sorted(steps) if n <= level],
            }
        )
    return out


def load_data(config: LightevalTaskConfig, request: DataRequest) -> tuple[Any, str]:
    """One category's rows as a `DatasetDict` (`train` split) and where they came from."""
    from datasets import Dataset, DatasetDict

    category = config.hf_subset
    filename = data_filename(category)
    if request.path is not None:
        path = require_path(request.path, request.task, "folder") / filename
        source = str(path)
    elif request.hub_allowed:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(HUB_REPO, f"{HUB_FOLDER}/{filename}", repo_type="dataset"))
        source = f"hub:{HUB_REPO}/{HUB_FOLDER}/{filename}"
    else:
        raise no_source_error(request, "pass --data followbench=DIR (FollowBench's data_en/*.json)")
    rows = read_json_list(path, request.task, required=FIELDS)
    return DatasetDict({"train": Dataset.from_list(with_evolution(rows, category))}), source


def followbench_prompt(line: dict[str, Any], task_name: str = "") -> Doc | None:
    """One answered instruction (levels 1-5); level 0 only feeds the judge's evolution path."""
    if int(line["level"]) < 1:
        return None
    return Doc(
        task_name=task_name,
        query=line["instruction"],
        choices=[""],
        gold_index=0,
        specific={
            "example_id": line["example_id"],
            "category": line["category"],
            "source": line["source"],
            "level": int(line["level"]),
            "target": line["target"],
            "evolution": list(line["evolution"]),
        },
    )


# --- rule-based scoring (example category) -------------------------------------------------------


def example_pattern(target: str) -> re.Pattern[str]:
    """The answer wrapper of an example-constraint `target` as a regex (the answer itself is free)."""
    template = target.replace("{instruction}\n", "", 1).replace("{{", "{").replace("}}", "}")
    return re.compile(".*".join(re.escape(part) for part in template.split("{answer}")), re.DOTALL)


def follows_example_format(response: str, target: str) -> bool:
    """True when `response` is exactly the demonstrated wrapper around some answer."""
    return example_pattern(target).fullmatch(response.strip()) is not None


# --- LLM judge (other categories) ----------------------------------------------------------------

JUDGE_TEMPLATE = """You check whether a response obeys the constraints that were added to an instruction.
The instruction was built in {n} step(s); each step added exactly one constraint to the previous one.

{steps}

### Response to the final instruction
{response}

Task: list the {n} added constraint(s), one per line, and decide for each whether the response
satisfies it. Finish with a single line in exactly this form, giving {n} verdict(s) in the order the
constraints were added:
Verdicts: [{example}]"""


def judge_prompt(evolution: list[str], response: str) -> str:
    """The judge's prompt for the last step of `evolution` (level n = len(evolution) - 1)."""
    n = len(evolution) - 1
    steps = [f"### Step 0: the original instruction\n{evolution[0]}"]
    steps += [
        f"### Step {i}: one more constraint\n{text}" for i, text in enumerate(evolution[1:], 1)
    ]
    example = ", ".join(["YES or NO"] * n)
    return JUDGE_TEMPLATE.format(n=n, steps="\n\n".join(steps), response=response, example=example)


_VERDICT_LINE = re.compile(r"verdicts?\s*:\s*(.*)$", re.IGNORECASE)
_VERDICT_WORD = re.compile(r"\b(YES|NO)\b", re.IGNORECASE)


def parse_verdicts(answer: str, n: int) -> list[bool] | None:
    """The n YES/NO verdicts from the judge's last `Verdicts:` line (or last line); None if unusable."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    candidates = [m.group(1) for line in lines if (m := _VERDICT_LINE.search(line))]
    text = candidates[-1] if candidates else (lines[-1] if lines else "")
    words = [w.upper() == "YES" for w in _VERDICT_WORD.findall(text)]
    return words if len(words) == n else None


# --- metric ---------------------------------------------------------------------------------------


def rule_record(doc: Doc, response: str) -> dict[str, Any]:
    return {
        "group": doc.specific["example_id"],
        "level": doc.specific["level"],
        "verdicts": [follows_example_format(response, doc.specific["target"])],
        "judged": False,
        "parsed": True,
    }


def judged_record(doc: Doc, answer: str) -> dict[str, Any]:
    level = doc.specific["level"]
    verdicts = parse_verdicts(answer, level)
    return {
        "group": doc.specific["example_id"],
        "level": level,
        "verdicts": verdicts if verdicts is not None else [False] * level,
        "judged": True,
        "parsed": verdicts is not None,
        "judge_answer": answer,
    }


class FollowBenchScorer(SampleLevelComputation):
    """Per-sample constraint verdicts, by rule (example category) or by the current LLM judge."""

    def __init__(self, judged: bool) -> None:
        self.judged = judged

    def compute(self, responses: list[Any], docs: list[Doc], **kwargs: Any) -> list[dict[str, Any]]:
        texts = [(r.final_text or [""])[0] for r in responses]
        if not self.judged:
            return [rule_record(doc, text) for doc, text in zip(docs, texts, strict=True)]
        prompts = [
            judge_prompt(doc.specific["evolution"], text)
            for doc, text in zip(docs, texts, strict=True)
        ]
        answers = current_judge().ask(prompts)
        return [judged_record(doc, answer) for doc, answer in zip(docs, answers, strict=True)]


def summarize(records: list[dict[str, Any]]) -> dict[str, float]:
    """HSR and SSR per level and averaged over levels, CSL, and the share of unparsed judge answers."""
    by_level: dict[int, list[list[bool]]] = defaultdict(list)
    hard: dict[Any, dict[int, bool]] = defaultdict(dict)
    for record in records:
        verdicts = list(record["verdicts"])
        by_level[record["level"]].append(verdicts)
        hard[record["group"]][record["level"]] = bool(verdicts) and all(verdicts)
    out: dict[str, float] = {}
    for level in sorted(by_level):
        samples = by_level[level]
        out[f"hsr_level{level}"] = sum(all(v) for v in samples) / len(samples)
        out[f"ssr_level{level}"] = sum(sum(v) / len(v) for v in samples) / len(samples)
    present = sorted(by_level)
    out["hsr"] = sum(out[f"hsr_level{n}"] for n in present) / len(present)
    out["ssr"] = sum(out[f"ssr_level{n}"] for n in present) / len(present)
    out["csl"] = sum(consistent_levels(levels) for levels in hard.values()) / len(hard)
    judged = [r for r in records if r.get("judged")]
    if judged:
        out["judge_unparsed"] = sum(not r["parsed"] for r in judged) / len(judged)
    return out


def consistent_levels(satisfied: dict[int, bool]) -> int:
    """Consecutive fully satisfied levels starting at level 1."""
    count = 0
    for level in LEVELS:
        if not satisfied.get(level, False):
            break
        count += 1
    return count


def followbench_metric(judged: bool) -> SampleLevelMetric:
    return SampleLevelMetric(
        metric_name="followbench",
        higher_is_better=True,
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=FollowBenchScorer(judged),
        corpus_level_fn=summarize,
        batched_compute=True,
    )


def category_task(category: str) -> LightevalTaskConfig:
    return LightevalTaskConfig(
        name=f"ifplay_followbench_{category}",
        prompt_function=followbench_prompt,
        hf_repo=HUB_REPO,
        hf_subset=category,
        metrics=[followbench_metric(judged=category not in RULE_BASED)],
        hf_avail_splits=["train"],
        evaluation_splits=["train"],
        few_shots_split="train",
        generation_size=GENERATION_SIZE,
        stop_sequence=[],
        version=1,
    )


TASKS_TABLE = [category_task(c) for c in CATEGORIES]
NEEDS_JUDGE = [t.name for t in TASKS_TABLE if t.hf_subset not in RULE_BASED]
