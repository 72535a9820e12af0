"""FollowBench (Jiang et al., ACL 2024, arXiv:2310.20410) for ifplay: multi-level constraint following.

Tasks (user name -> lighteval task):
- `followbench:<category>` -> `ifplay_followbench_<category>` for content, situation, style, format,
  example and mixed. Plain `followbench` runs all six with a judge, and `followbench:rules` without.
- `followbench:rules` -> `ifplay_followbench_rules`: only the rule-scored rows of all six categories
  (350 of the 820 answered rows), so FollowBench can be measured without an LLM judge. It runs when
  named or when no judge is given, and never beside other FollowBench tasks (its rows are also in
  the categories, and the runner's family mean would count them twice).

Every instruction group (`example_id`) has levels 1-5; level n adds the n-th constraint to the
instruction (level 0, the unconstrained instruction, is not answered: the judge sees it as the start of
the constraint-evolution path). Generation is greedy with up to 2048 new tokens, the FollowBench
inference default.

Scoring, row by row, split the way FollowBench's own evaluation code splits it:
- by rule (no judge):
  - every `example` row: the instructions show answers in a fixed wrapper (`target`, e.g.
    `{instruction}\\nAnswer: {answer}`), and a response passes when it is exactly that wrapper around
    some answer (the answer may span lines);
  - sources whose reference answer decides (any category but `example`): `E2E` and `text_editing`
    (the response is the reference), `WIKIEVENTS` (every line is one of the reference events; how
    many lines is not checked, as in FollowBench), `CONLL2003` (the response is one of the listed
    entities), `BBH_logical`, `BBH_time`, `gsm_8k` (the last option `(X)`, date `MM/DD/YYYY` or
    dollar amount in the response is the reference) and `self_made_space` (the reference appears);
  - sources whose constraints are countable: the summaries `cnn_dailymail`, `xsum`, `samsum`,
    `gigaword`, `arxiv` and the `format` groups 22 (three numbered paragraphs) and 30 (a speech with
    `**` points). Each has one check per added constraint (sentence and word counts, required and
    forbidden words, tense, punctuation, case, layout), in the order the levels add them; a level-n
    response must pass the first n. The check results are kept in the details (`checks`).
  A rule-scored sample is all or nothing (one verdict), so its SSR equals its HSR: FollowBench counts
  it the same way.
- by the LLM judge (`ifplay.evaluation.judge`, any ifplay model) for every other row: it sees the
  evolution path (level 0 .. n) and the response, names the n added constraints and ends with one
  `Verdicts: [YES, NO, ...]` line. An answer without n usable verdicts is *unparsed*: it is left out of
  HSR, SSR and CSL (FollowBench leaves such answers for a person to fix rather than counting them as
  NO) and counted in `judge_unparsed_count` and `judge_unparsed` (its share of the judged samples), so
  a weak judge is visible. Rule-scored rows never reach the judge.

Where ifplay's rules differ from FollowBench's code: surrounding whitespace is ignored; sentences end
at `.`, `!` or `?` followed by a space, a line break or the end (FollowBench splits at every such mark,
so decimals and list numbers count as sentences); words match whole and case-insensitively; dollar
amounts compare as numbers (`$14.00` is `$14`); format group 30 checks its constraints in the order the
instructions add them (keyword-then-detail points come last), counts sentence lengths inside the
points, and reads '-ly' as words ending in 'ly' (bar a few such as 'only' and 'supply'); group 22
accepts the closing phrase as a paragraph of its own or at the end of the third.

Metrics per task (FollowBench's definitions; s_ij = constraint j of sample i satisfied):
- `hsr_level<n>`: hard satisfaction rate at level n, the share of scored samples with every constraint
  met (rule- and judge-scored samples pooled; unparsed ones left out);
- `ssr_level<n>`: soft satisfaction rate at level n, the mean share of constraints met per sample;
- `hsr`, `ssr`: the unweighted means of `hsr_level<n>` / `ssr_level<n>` over the levels present;
- `csl`: consistent satisfaction levels, per group the number of consecutive levels from 1 whose sample
  is fully satisfied, averaged over groups (0-5). A group whose run reaches an unparsed level is left
  out (its count is unknown). With `--limit` some levels are missing, which ends a run early, so CSL is
  only comparable between runs with the same limit;
- `judge_unparsed_count`, `judge_unparsed`: only for tasks with judge-scored samples.
Metrics missing their samples (say, every judge answer unparsed) are left out rather than set to 0.

The overall numbers `followbench/<metric>` (made by `ifplay.evaluation.results.flatten_metrics`) are
the unweighted means of `<metric>` over the FollowBench tasks that ran: each category weighs the same
whatever its number of rows (for `judge_unparsed_count`, the mean count per category). With
`followbench:rules` (and so without a judge) `followbench/hsr` is the rules task alone.

Data: `--data followbench=DIR` (a folder with `<category>_constraints.json`, the layout of the Hub's
`data_en/`), else the Hub dataset `YuxinJiang/FollowBench`. No copy is installed with ifplay.
"""

import ast
import re
import string
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial
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
RULE_BASED: frozenset[str] = frozenset({"example"})  # categories scored by rule throughout
RULES_SUBSET = "rules"  # the task of every rule-scored row (`followbench:rules`)
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
GENERATION_SIZE = 2048
FIELDS = ("example_id", "level", "instruction", "target", "source")

Check = Callable[[str], bool]  # one constraint's check on a response
AnswerRule = Callable[[str, str], bool]  # (response, reference answer) -> passed


# --- text helpers ----------------------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\n+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]\s+)?(?:\*\*)?\d+[.)](?:\*\*)?\s*")


def sentences(text: str) -> list[str]:
    """The sentences of `text`: pieces ending at . ! ? before a space, at line breaks or at the end
    (pieces without a letter, such as a list number `2.`, are none)."""
    pieces = _SENTENCE_BREAK.split(text.strip())
    return [p.strip() for p in pieces if any(ch.isalpha() for ch in p)]


def words(text: str) -> list[str]:
    """Whitespace-separated words of `text`."""
    return text.split()


def has_word(text: str, word: str) -> bool:
    """True when `word` (or phrase) occurs in `text` as a whole word, ignoring case."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


def punctuation_marks(text: str) -> int:
    """How many punctuation characters `text` has (ASCII punctuation and Unicode P* characters)."""
    return sum(ch in string.punctuation or unicodedata.category(ch).startswith("P") for ch in text)


# --- rules that compare with the reference answer (`target`) ------------------------------------------


def equals_reference(response: str, target: str) -> bool:
    """E2E, text_editing: True when the response is the reference, surrounding whitespace aside."""
    return response.strip() == target.strip()


def lines_among_reference(response: str, target: str) -> bool:
    """WIKIEVENTS: True when the response has lines and each is one of the reference's lines."""
    allowed = {line.strip() for line in target.splitlines() if line.strip()}
    given = [line.strip() for line in response.splitlines() if line.strip()]
    return bool(given) and all(line in allowed for line in given)


def is_listed_entity(response: str, target: str) -> bool:
    """CONLL2003: True when the response is one entity of the reference's Python list literal."""
    try:
        options = ast.literal_eval(target)
    except (ValueError, SyntaxError):
        return False
    return isinstance(options, list | tuple) and response.strip() in {str(o) for o in options}


def last_option_is(response: str, target: str) -> bool:
    """BBH_logical: True when the last option letter `(X)` in the response is the reference's."""
    found = re.findall(r"\([A-Z]\)", response)
    return bool(found) and found[-1] == target.strip()


def last_date_is(response: str, target: str) -> bool:
    """BBH_time: True when the last MM/DD/YYYY date in the response is the reference date."""
    found = re.findall(r"(?<!\d)\d{2}/\d{2}/\d{4}(?!\d)", response)
    return bool(found) and found[-1] == target.strip()


def mentions_reference(response: str, target: str) -> bool:
    """self_made_space: True when the reference answer appears in the response."""
    return target.strip() in response


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def last_dollar_amount_is(response: str, target: str) -> bool:
    """gsm_8k: True when the last dollar amount in the response equals the reference (`$37`)."""
    found = re.findall(r"\$\s?(\d[\d,]*(?:\.\d+)?)", response)
    expected = _amount(target.strip().removeprefix("$"))
    return bool(found) and expected is not None and _amount(found[-1]) == expected


ANSWER_RULES: dict[str, AnswerRule] = {
    "E2E": equals_reference,
    "text_editing": equals_reference,
    "WIKIEVENTS": lines_among_reference,
    "CONLL2003": is_listed_entity,
    "BBH_logical": last_option_is,
    "BBH_time": last_date_is,
    "self_made_space": mentions_reference,
    "gsm_8k": last_dollar_amount_is,
}


# --- checks of countable constraints (summaries) ----------------------------------------------------


def sentence_count_is(text: str, count: int) -> bool:
    """True when `text` has exactly `count` sentences."""
    return len(sentences(text)) == count


def sentences_shorter_than(text: str, limit: int) -> bool:
    """True when every sentence has fewer than `limit` words."""
    return all(len(words(s)) < limit for s in sentences(text))


def word_count_below(text: str, limit: int) -> bool:
    """True when `text` has fewer than `limit` words."""
    return len(words(text)) < limit


def word_count_at_most(text: str, limit: int) -> bool:
    """True when `text` has at most `limit` words."""
    return len(words(text)) <= limit


def word_count_is(text: str, count: int) -> bool:
    """True when `text` has exactly `count` words."""
    return len(words(text)) == count


def words_in_sentences(text: str, required: tuple[str, ...]) -> bool:
    """True when sentence i contains word `required[i]`, for each i."""
    found = sentences(text)
    return len(found) >= len(required) and all(
        has_word(found[i], word) for i, word in enumerate(required)
    )


def sentence_lacks_word(text: str, word: str, index: int) -> bool:
    """True when sentence `index` (0-based) exists and does not contain `word`."""
    found = sentences(text)
    return index < len(found) and not has_word(found[index], word)


def contains_word(text: str, word: str) -> bool:
    """True when `text` contains `word` as a whole word."""
    return has_word(text, word)


def lacks_word(text: str, word: str) -> bool:
    """True when `text` does not contain `word` as a whole word."""
    return not has_word(text, word)


def lacks_fragment(text: str, fragment: str) -> bool:
    """True when no word of `text` contains `fragment` (any variation of it), ignoring case."""
    return fragment.lower() not in text.lower()


def starts_with_word(text: str, word: str) -> bool:
    """True when the first word of `text`, punctuation aside, is `word`."""
    found = words(text)
    return bool(found) and found[0].strip(string.punctuation) == word


def punctuation_count_is(text: str, count: int) -> bool:
    """True when `text` has exactly `count` punctuation characters."""
    return punctuation_marks(text.strip()) == count


def all_lowercase(text: str) -> bool:
    """True when `text` has letters and none of them is upper case."""
    return any(ch.isalpha() for ch in text) and text == text.lower()


_IRREGULAR_PARTICIPLES = frozenset(
    "been become begun brought built bought caught chosen come done drawn driven fallen felt found "
    "given gone got gotten grown had heard held hit kept known laid led left lost made meant met paid "
    "put read risen run said seen sent set shown shut sold spent spoken stood struck taken taught told "
    "thought understood won worn written".split()
)
_PERFECT = re.compile(
    r"(?:\b(?:has|have|hasn't|haven't)|'ve)\s+"
    r"(?:(?:not|never|already|just|also|recently|now|finally|long|since|even)\s+)?([a-z]+)\b",
    re.IGNORECASE,
)
_NOT_PROGRESSIVE = frozenset(
    "thing something nothing anything everything king ring spring evening morning string "
    "ceiling sibling during".split()
)
_PROGRESSIVE = re.compile(
    r"(?:\b(?:am|is|are|isn't|aren't)|'re|'m)\s+"
    r"(?:(?:not|still|now|currently|also|already|increasingly)\s+)?([a-z]+ing)\b",
    re.IGNORECASE,
)


def in_present_perfect(text: str) -> bool:
    """True when `text` has has/have followed by a past participle (a heuristic: -ed/-en/-wn or common
    irregular forms)."""
    for match in _PERFECT.finditer(text):
        verb = match.group(1).lower()
        if verb.endswith(("ed", "en", "wn")) or verb in _IRREGULAR_PARTICIPLES:
            return True
    return False


def sentence_in_present_perfect(text: str, index: int) -> bool:
    """True when sentence `index` (0-based) exists and is in the present perfect."""
    found = sentences(text)
    return index < len(found) and in_present_perfect(found[index])


def in_present_progressive(text: str) -> bool:
    """True when `text` has am/is/are followed by an -ing verb (a heuristic)."""
    return any(m.group(1).lower() not in _NOT_PROGRESSIVE for m in _PROGRESSIVE.finditer(text))


# --- checks of countable constraints (format groups 22 and 30) ---------------------------------------

CLOSING_PHRASE = "Those are suggestions"
_CLOSING = re.compile(re.escape(CLOSING_PHRASE) + r"[.!'\"]*\s*$")
_BOLD = re.compile(r"\*\*[^*\n]+\*\*")
_KEYWORD_POINT = re.compile(
    r"^\s*(?:[-*\u2022]\s+|\d+[.)]\s*)?\*\*[^*\n]+\*\*\s*[:\-\u2013\u2014]?\s*\w", re.MULTILINE
)
_NOT_LY_SUFFIX = frozenset(
    "only apply supply reply rely multiply family ally rally fly july italy assembly anomaly "
    "monopoly".split()
)


def paragraphs(text: str) -> list[str]:
    """Blank-line-separated paragraphs of `text`, minus a trailing closing phrase of group 22."""
    body = _CLOSING.sub("", text.strip())
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def without_list_marker(paragraph: str) -> str:
    """`paragraph` without a leading number marker such as `1.` or `**2)**`."""
    return _LIST_MARKER.sub("", paragraph, count=1)


def paragraph_count_is(text: str, count: int) -> bool:
    """True when `text` has exactly `count` paragraphs."""
    return len(paragraphs(text)) == count


def paragraphs_shorter_than(text: str, limit: int) -> bool:
    """True when every paragraph has fewer than `limit` sentences."""
    return all(len(sentences(without_list_marker(p))) < limit for p in paragraphs(text))


def paragraph_sentences_longer_than(text: str, limit: int) -> bool:
    """True when there are sentences and each has more than `limit` words."""
    found = [s for p in paragraphs(text) for s in sentences(without_list_marker(p))]
    return bool(found) and all(len(words(s)) > limit for s in found)


def paragraphs_numbered(text: str) -> bool:
    """True when every paragraph starts with a number marker (`1.`, `2)`...)."""
    found = paragraphs(text)
    return bool(found) and all(_LIST_MARKER.match(p) for p in found)


def ends_with_closing_phrase(text: str) -> bool:
    """True when `text` ends with the phrase group 22 asks for (final punctuation allowed)."""
    return _CLOSING.search(text.strip()) is not None


def uses_bold_marker(text: str) -> bool:
    """True when `text` uses the `**` marker around some words."""
    return _BOLD.search(text) is not None


def marked_points(text: str) -> list[str]:
    """The lines using the `**` marker, as plain text (markers and list numbers removed)."""
    lines = [line for line in text.splitlines() if _BOLD.search(line)]
    return [without_list_marker(line).replace("**", "").strip() for line in lines]


def points_shorter_than(text: str, limit: int) -> bool:
    """True when every marked point has fewer than `limit` sentences."""
    return all(len(sentences(p)) < limit for p in marked_points(text))


def point_sentences_between(text: str, low: int, high: int) -> bool:
    """True when the marked points have sentences and each has `low` to `high` words."""
    found = [s for p in marked_points(text) for s in sentences(p)]
    return bool(found) and all(low <= len(words(s)) <= high for s in found)


def avoids_ly_words(text: str) -> bool:
    """True when no word ends in 'ly' (the -ly suffix), bar common words where it is no suffix."""
    return not any(
        w.lower().endswith("ly") and w.lower() not in _NOT_LY_SUFFIX
        for w in re.findall(r"[A-Za-z]+", text)
    )


def keyword_points_are(text: str, count: int) -> bool:
    """True when exactly `count` lines start with a `**keyword**` followed by its detail."""
    return len(_KEYWORD_POINT.findall(text)) == count


LEVEL_CHECKS: dict[str, tuple[Check, ...]] = {
    "cnn_dailymail": (
        partial(sentence_count_is, count=3),
        partial(sentences_shorter_than, limit=15),
        partial(words_in_sentences, required=("Potter", "actor", "films")),
        partial(sentence_lacks_word, word="lavish", index=1),
        partial(sentence_in_present_perfect, index=2),
    ),
    "xsum": (
        partial(sentence_count_is, count=1),
        partial(word_count_below, limit=20),
        partial(lacks_word, word="Newton Stewart"),
        in_present_progressive,
        partial(contains_word, word="operation"),
    ),
    "samsum": (
        partial(sentence_count_is, count=1),
        partial(word_count_below, limit=15),
        partial(contains_word, word="stuff"),
        partial(lacks_fragment, fragment="procrast"),
        partial(punctuation_count_is, count=1),
    ),
    "gigaword": (
        partial(word_count_is, count=8),
        partial(punctuation_count_is, count=0),
        all_lowercase,
        partial(lacks_word, word="bus"),
        partial(contains_word, word="in"),
    ),
    "arxiv": (
        partial(sentence_count_is, count=1),
        partial(word_count_at_most, limit=20),
        partial(starts_with_word, word="We"),
        partial(contains_word, word="activations"),
        partial(lacks_word, word="transformer"),
    ),
    "format_22": (
        partial(paragraph_count_is, count=3),
        partial(paragraphs_shorter_than, limit=3),
        partial(paragraph_sentences_longer_than, limit=20),
        paragraphs_numbered,
        ends_with_closing_phrase,
    ),
    "format_30": (
        uses_bold_marker,
        partial(points_shorter_than, limit=2),
        partial(point_sentences_between, low=10, high=15),
        avoids_ly_words,
        partial(keyword_points_are, count=5),
    ),
}
FORMAT_RULE_GROUPS: frozenset[int] = frozenset({22, 30})  # format groups scored by rule


# --- the example category ---------------------------------------------------------------------------


def example_pattern(target: str) -> re.Pattern[str]:
    """The answer wrapper of an example-constraint `target` as a regex (the answer itself is free)."""
    template = target.replace("{instruction}\n", "", 1).replace("{{", "{").replace("}}", "}")
    return re.compile(".*".join(re.escape(part) for part in template.split("{answer}")), re.DOTALL)


def follows_example_format(response: str, target: str) -> bool:
    """True when `response` is exactly the demonstrated wrapper around some answer."""
    return example_pattern(target).fullmatch(response.strip()) is not None


# --- routing ---------------------------------------------------------------------------------------

EXAMPLE_RULE = "example_format"


def rule_for(category: str, source: str, example_id: int) -> str | None:
    """The name of the rule that scores a row of `category`, or None when the LLM judge scores it."""
    if category == "example":
        return EXAMPLE_RULE
    if category == "format":
        return f"format_{example_id}" if example_id in FORMAT_RULE_GROUPS else None
    if source in ANSWER_RULES or source in LEVEL_CHECKS:
        return source
    return None


def rule_checks(rule: str, response: str, target: str, level: int) -> list[bool]:
    """Results of `rule` on a level-`level` response: one per constraint for levelled rules (the
    first `level` checks), else a single result."""
    if rule == EXAMPLE_RULE:
        return [follows_example_format(response, target)]
    if rule in ANSWER_RULES:
        return [ANSWER_RULES[rule](response, target)]
    return [check(response) for check in LEVEL_CHECKS[rule][:level]]


# --- data ----------------------------------------------------------------------------------------


def data_filename(category: str) -> str:
    return f"{category}_constraints.json"


def with_evolution(rows: list[dict[str, Any]], category: str) -> list[dict[str, Any]]:
    """Normalised rows, each with `evolution` (its group's instructions from level 0 up to its own)
    and `rule` (the rule that scores it; None for the judge)."""
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
                "rule": rule_for(category, str(row["source"]), int(row["example_id"])),
            }
        )
    return out


def category_file(category: str, request: DataRequest) -> tuple[Path, str]:
    """Where one category's JSON file is, and how to describe that source."""
    filename = data_filename(category)
    if request.path is not None:
        path = require_path(request.path, request.task, "folder") / filename
        return path, str(path)
    if request.hub_allowed:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(HUB_REPO, f"{HUB_FOLDER}/{filename}", repo_type="dataset"))
        return path, f"hub:{HUB_REPO}/{HUB_FOLDER}/{filename}"
    raise no_source_error(request, "pass --data followbench=DIR (FollowBench's data_en/*.json)")


def load_data(config: LightevalTaskConfig, request: DataRequest) -> tuple[Any, str]:
    """A task's rows as a `DatasetDict` (`train` split) and where they came from: one category, or
    for the rules task the answered rule-scored rows of every category."""
    from datasets import Dataset, DatasetDict

    rules_only = config.hf_subset == RULES_SUBSET
    rows: list[dict[str, Any]] = []
    sources = []
    for category in CATEGORIES if rules_only else (config.hf_subset,):
        path, source = category_file(category, request)
        found = with_evolution(read_json_list(path, request.task, required=FIELDS), category)
        if rules_only:
            found = [r for r in found if r["rule"] is not None and r["level"] >= 1]
        rows += found
        sources.append(source)
    return DatasetDict({"train": Dataset.from_list(rows)}), ", ".join(sources)


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
            "rule": line["rule"],
        },
    )


# --- LLM judge (rows without a rule) --------------------------------------------------------------

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
    words_found = [w.upper() == "YES" for w in _VERDICT_WORD.findall(text)]
    return words_found if len(words_found) == n else None


# --- metric ---------------------------------------------------------------------------------------


def group_of(doc: Doc) -> tuple[str, int]:
    """A sample's instruction group: group ids repeat across categories, so the category is part."""
    return (doc.specific["category"], doc.specific["example_id"])


def rule_record(doc: Doc, response: str) -> dict[str, Any]:
    """A rule-scored sample: one verdict (all checks passed) and the checks themselves."""
    rule = doc.specific["rule"]
    checks = rule_checks(rule, response, doc.specific["target"], doc.specific["level"])
    return {
        "group": group_of(doc),
        "level": doc.specific["level"],
        "verdicts": [all(checks)],
        "judged": False,
        "parsed": True,
        "rule": rule,
        "checks": checks,
    }


def judged_record(doc: Doc, answer: str) -> dict[str, Any]:
    """A judge-scored sample: its n verdicts, or None (and `parsed` False) when unusable."""
    level = doc.specific["level"]
    verdicts = parse_verdicts(answer, level)
    return {
        "group": group_of(doc),
        "level": level,
        "verdicts": verdicts,
        "judged": True,
        "parsed": verdicts is not None,
        "judge_answer": answer,
    }


class FollowBenchScorer(SampleLevelComputation):
    """Per-sample constraint verdicts: by rule where a row has one, else by the current LLM judge
    (asked once per batch, and only about the rows without a rule)."""

    def compute(self, responses: list[Any], docs: list[Doc], **kwargs: Any) -> list[dict[str, Any]]:
        texts = [(r.final_text or [""])[0] for r in responses]
        records: list[dict[str, Any] | None] = [None] * len(docs)
        to_judge: list[int] = []
        for i, (doc, text) in enumerate(zip(docs, texts, strict=True)):
            if doc.specific.get("rule"):
                records[i] = rule_record(doc, text)
            else:
                to_judge.append(i)
        if to_judge:
            prompts = [judge_prompt(docs[i].specific["evolution"], texts[i]) for i in to_judge]
            answers = current_judge().ask(prompts)
            for i, answer in zip(to_judge, answers, strict=True):
                records[i] = judged_record(docs[i], answer)
        return [r for r in records if r is not None]


def summarize(records: list[dict[str, Any]]) -> dict[str, float]:
    """HSR and SSR per level and averaged over levels, CSL, and the unparsed judge answers (count and
    share of judged samples); unparsed samples are left out of HSR, SSR and CSL."""
    by_level: dict[int, list[list[bool]]] = defaultdict(list)
    hard: dict[Any, dict[int, bool | None]] = defaultdict(dict)
    for record in records:
        if not record["parsed"]:
            hard[record["group"]][record["level"]] = None
            continue
        verdicts = list(record["verdicts"])
        by_level[record["level"]].append(verdicts)
        hard[record["group"]][record["level"]] = bool(verdicts) and all(verdicts)
    out: dict[str, float] = {}
    for level in sorted(by_level):
        samples = by_level[level]
        out[f"hsr_level{level}"] = sum(all(v) for v in samples) / len(samples)
        out[f"ssr_level{level}"] = sum(sum(v) / len(v) for v in samples) / len(samples)
    present = sorted(by_level)
    if present:
        out["hsr"] = sum(out[f"hsr_level{n}"] for n in present) / len(present)
        out["ssr"] = sum(out[f"ssr_level{n}"] for n in present) / len(present)
    known = [c for c in (consistent_levels(levels) for levels in hard.values()) if c is not None]
    if known:
        out["csl"] = sum(known) / len(known)
    judged = [r for r in records if r.get("judged")]
    if judged:
        unparsed = sum(not r["parsed"] for r in judged)
        out["judge_unparsed_count"] = float(unparsed)
        out["judge_unparsed"] = unparsed / len(judged)
    return out


def consistent_levels(satisfied: dict[int, bool | None]) -> int | None:
    """Consecutive fully satisfied levels starting at level 1; None when the run reaches a level
    whose verdict is unknown (None: an unparsed judge answer)."""
    count = 0
    for level in LEVELS:
        state = satisfied.get(level, False)
        if state is None:
            return None
        if not state:
            break
        count += 1
    return count


def followbench_metric() -> SampleLevelMetric:
    return SampleLevelMetric(
        metric_name="followbench",
        higher_is_better=True,
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=FollowBenchScorer(),
        corpus_level_fn=summarize,
        batched_compute=True,
    )


def category_task(subset: str) -> LightevalTaskConfig:
    """The lighteval task of one category, or of every rule-scored row (`subset` = 'rules')."""
    return LightevalTaskConfig(
        name=f"ifplay_followbench_{subset}",
        prompt_function=followbench_prompt,
        hf_repo=HUB_REPO,
        hf_subset=subset,
        metrics=[followbench_metric()],
        hf_avail_splits=["train"],
        evaluation_splits=["train"],
        few_shots_split="train",
        generation_size=GENERATION_SIZE,
        stop_sequence=[],
        version=2,
    )


TASKS_TABLE = [category_task(c) for c in CATEGORIES] + [category_task(RULES_SUBSET)]
NEEDS_JUDGE = [
    t.name for t in TASKS_TABLE if t.hf_subset not in RULE_BASED | {RULES_SUBSET}
]  # categories with judge-scored rows
ON_REQUEST = [f"ifplay_followbench_{RULES_SUBSET}"]  # run only when named (`followbench:rules`)
WITHOUT_JUDGE = ON_REQUEST  # `followbench` without a judge: every rule-scored row, all categories
