"""Preference pairs that teach the model to stop: its own greedy answer, cut before it loops.

The embedded model's failures under greedy decoding are mostly answers that never end (most IFEval
answers run to the token cap, many repeating themselves). This script builds DPO pairs whose two
sides share the model's own greedy text and differ where it should have stopped:

    python benchmarks/stop_pairs.py prompts OUT/prompts.jsonl --count 800
    ifplay generate OUT/greedy.yaml --output OUT/greedy      # a `generate` declaration, temperature 0
    python benchmarks/stop_pairs.py pairs OUT/greedy/data.jsonl OUT/pairs --max-tokens 512

`prompts` draws ShareGPT requests with 1-3 library constraints (or none), exactly as
`pipelines/repair.yaml` does (same seed, same held-out families). `pairs` reads the greedy answers
and, for each one that loops, runs into the token cap or fails a constraint, keeps
- chosen: the answer up to the last sentence before its first repeated sentence or line (the whole
  answer when it does not loop), repaired by code where a constraint demands it; kept only when it
  passes every checker, does not loop and has at least `--min-words` words;
- rejected: the greedy answer itself, cut `--extra-chars` characters past the chosen's length, so
  both sides carry the same text up to where the chosen one ends.
Output: OUT/pairs/data.jsonl (TRL's conversational prompt/chosen/rejected, plus constraints_json,
family_ids, kind), OUT/pairs/stats.json and OUT/pairs/sample.md (20 pairs to read before training).
"""

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

UNIT_PATTERN = re.compile(r"[^\n.!?]+[.!?]*")
REPEAT_SHARE = 0.6  # a sentence whose word trigrams were this much seen before repeats


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return set(zip(words, words[1:], words[2:], strict=False))


def loop_free_prefix(text: str) -> str:
    """`text` cut before it starts repeating itself, then back to its last complete sentence.

    A sentence or line of at least 12 characters repeats when it was seen before (lower-cased,
    whitespace collapsed) or when `REPEAT_SHARE` of its word trigrams (given at least 3) were. The cut
    falls at the start of the paragraph holding the first repeat (a paragraph that restates an earlier
    one goes whole), or at the repeat itself when that paragraph is the first. The finished text when
    nothing repeats."""
    from ifplay.constraints.repair import finish_answer

    seen: set[str] = set()
    seen_trigrams: set[tuple[str, ...]] = set()
    for match in UNIT_PATTERN.finditer(text):
        unit = " ".join(match.group().lower().split())
        if len(unit) < 12:
            continue
        grams = _trigrams(unit)
        echoed = len(grams) >= 3 and len(grams & seen_trigrams) >= REPEAT_SHARE * len(grams)
        if unit in seen or echoed:
            paragraph = text.rfind("\n\n", 0, match.start())
            cut = paragraph if paragraph > 0 else match.start()
            return finish_answer(text[:cut])
        seen.add(unit)
        seen_trigrams |= grams
    return finish_answer(text)


def make_prompts(out: Path, count: int, seed: int) -> None:
    """Write `count` prompt rows (prompt, constraints_json, family_ids) drawn as repair.yaml does."""
    from ifplay.pipelines.repair import RepairConfig, RepairPrompts, build_prompts

    config = RepairConfig(name="stop-pairs", seed=seed, prompts=RepairPrompts(count=count))
    rows = build_prompts(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as handle:
        for row in rows:
            families = [c["family_id"] for c in json.loads(row["constraints_json"])]
            record = {
                "prompt": row["prompt"],
                "constraints_json": row["constraints_json"],
                "family_ids": families,
            }
            handle.write(json.dumps(record) + "\n")
    print(f"wrote {out} ({len(rows)} prompts)")


def stop_pair(
    answer: str, capped: bool, constraints: list[dict[str, Any]], min_words: int, extra: int
) -> tuple[dict[str, str] | None, str]:
    """({"chosen", "rejected", "kind"} or None, why) for one greedy answer."""
    from ifplay.constraints import Constraint
    from ifplay.constraints.answers import repetitive
    from ifplay.constraints.repair import repair_answer
    from ifplay.constraints.text import word_list

    checks = [Constraint.from_dict(c) for c in constraints]
    loops = repetitive(answer)
    passes = all(c.check(answer) for c in checks)
    if not capped and not loops and passes:
        return None, "passes"
    prefix = loop_free_prefix(answer) if (capped or loops) else answer.strip()
    if not prefix:
        return None, "no complete sentence"
    chosen = repair_answer(prefix, checks)
    if chosen is None:
        return None, "repair failed"
    if repetitive(chosen):
        return None, "chosen loops"
    if len(word_list(chosen)) < min_words:
        return None, "chosen too short"
    rejected = answer.strip()[: len(chosen) + extra]
    if rejected.strip() == chosen.strip():
        return None, "same text"
    kind = "stop" if (capped or loops) else "format"
    if chosen != prefix:
        kind += "+repair"
    return {"chosen": chosen, "rejected": rejected, "kind": kind}, kind


LENGTH_UNITS = {"words": "word_list", "sentences": "sentence_list"}


def length_pairs(query: str, answer: str, rng: random.Random) -> list[dict[str, Any]]:
    """Two pairs on one loop-free answer to a plain request, so that stopping stays conditional:
    "at least n" (n ~ 90 % of its words or sentences: chosen = the answer, rejected = it cut to half
    of n) and "at most n" (n ~ half: chosen = the answer cut to fit, rejected = the whole answer).
    Each: {"prompt_text", "chosen", "rejected", "constraint"}; none when the answer is too short."""
    from ifplay.constraints import get_family
    from ifplay.constraints import text as text_units
    from ifplay.constraints.repair import longest_prefix_that_fits
    from ifplay.pipelines.repair import constrained_prompt

    pairs = []
    for bound in ("min", "max"):
        unit = rng.choice(sorted(LENGTH_UNITS))
        count_of = getattr(text_units, LENGTH_UNITS[unit])
        count = len(count_of(answer))
        if count < (60 if unit == "words" else 4):
            continue
        if bound == "min":
            n = int(count * 0.9) // 10 * 10 if unit == "words" else int(count * 0.9)
            chosen = answer
            rejected = longest_prefix_that_fits(
                answer, lambda p, m=n // 2, f=count_of: len(f(p)) <= m
            )
        else:
            n = count // 2 // 10 * 10 if unit == "words" else count // 2
            chosen = longest_prefix_that_fits(answer, lambda p, m=n, f=count_of: len(f(p)) <= m)
            rejected = answer
        family = get_family(f"length.{bound}_{unit}")
        constraint = family.build({"n": n}, phrasing=rng.randrange(len(family.phrasings)))
        if chosen and rejected and constraint.check(chosen) and not constraint.check(rejected):
            pairs.append(
                {
                    "prompt_text": constrained_prompt(query, [constraint.to_dict()]),
                    "chosen": chosen,
                    "rejected": rejected,
                    "constraint": constraint.to_dict(),
                }
            )
    return pairs


def make_pairs(
    source: Path, out: Path, max_tokens: int, min_words: int, extra: int, with_lengths: bool
) -> None:
    """Read greedy answers (a `generate` output jsonl) and write the pairs, stats and a sample;
    `with_lengths` adds `length_pairs` on the loop-free answers to plain requests."""
    from ifplay.constraints.answers import repetitive
    from ifplay.pairs import assistant, user

    rows = [json.loads(line) for line in source.open()]
    pairs, why = [], Counter()
    rng = random.Random(0)
    for row in rows:
        constraints = json.loads(row["constraints_json"])
        capped = int(row["output_tokens"]) >= max_tokens - 2
        answer = row["generation"]
        if with_lengths and not constraints:
            loops = capped or repetitive(answer)
            plain = loop_free_prefix(answer) if loops else answer.strip()
            for pair in length_pairs(row["prompt"], plain, rng) if not repetitive(plain) else []:
                why["length"] += 1
                family = pair["constraint"]["family_id"]
                pairs.append(
                    {
                        "prompt": user(pair["prompt_text"]),
                        "chosen": assistant(pair["chosen"]),
                        "rejected": assistant(pair["rejected"]),
                        "constraints_json": json.dumps([pair["constraint"]]),
                        "family_ids": [family],
                        "kind": "length",
                    }
                )
        pair, reason = stop_pair(answer, capped, constraints, min_words, extra)
        why[reason] += 1
        if pair is None:
            continue
        pairs.append(
            {
                "prompt": user(row["prompt"]),
                "chosen": assistant(pair["chosen"]),
                "rejected": assistant(pair["rejected"]),
                "constraints_json": row["constraints_json"],
                "family_ids": row["family_ids"],
                "kind": pair["kind"],
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    with (out / "data.jsonl").open("w") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair) + "\n")
    stats = {
        "answers": len(rows),
        "capped": sum(int(r["output_tokens"]) >= max_tokens - 2 for r in rows),
        "outcomes": dict(why.most_common()),
        "pairs": len(pairs),
        "families": dict(Counter(f for p in pairs for f in p["family_ids"]).most_common()),
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    lines = []
    for pair in random.Random(0).sample(pairs, min(20, len(pairs))):
        lines += [
            f"## {pair['kind']} {pair['family_ids']}",
            "PROMPT: " + pair["prompt"][0]["content"],
            "CHOSEN: " + pair["chosen"][0]["content"],
            "REJECTED: " + pair["rejected"][0]["content"],
            "",
        ]
    (out / "sample.md").write_text("\n".join(lines))
    print(json.dumps(stats, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prompts = sub.add_parser("prompts")
    prompts.add_argument("out", type=Path)
    prompts.add_argument("--count", type=int, default=800)
    prompts.add_argument("--seed", type=int, default=0)
    pairs = sub.add_parser("pairs")
    pairs.add_argument("source", type=Path)
    pairs.add_argument("out", type=Path)
    pairs.add_argument("--max-tokens", type=int, default=512)
    pairs.add_argument("--min-words", type=int, default=40)
    pairs.add_argument("--extra-chars", type=int, default=400)
    pairs.add_argument("--length-pairs", action="store_true", help="add length_pairs")
    args = parser.parse_args()
    if args.command == "prompts":
        make_prompts(args.out, args.count, args.seed)
    else:
        make_pairs(
            args.source,
            args.out,
            args.max_tokens,
            args.min_words,
            args.extra_chars,
            args.length_pairs,
        )


if __name__ == "__main__":
    main()
