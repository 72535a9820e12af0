"""SPaR tree search: batched search wall time vs one batched generation of the same tokens, and the
edit distance of SPaR pairs vs independently sampled pairs.

The actor samples `--n` answers for `--prompts` constraint-rich prompts; the search then judges and
refines them (all trees batched per level). Every engine call of the search is recorded; the
baseline replays all of the search's requests (each prompt x its samples) as ONE engine call with
the largest token cap. ratio = search seconds per generated token / baseline seconds per generated
token (target <= 1.3: batching across trees keeps the engine as busy as one big call would).
`--sequential` also runs the search one prompt at a time (the unbatched way) for comparison.

    python benchmarks/spar_tree_search.py --prompts 8 --n 2
"""

import argparse
import json
import statistics
import time
from typing import Any

from pydantic import PrivateAttr

from ifplay.models import resolve_model_path
from ifplay.transformers_llm import BatchedTransformersLLM


class RecordingLLM(BatchedTransformersLLM):
    """Records every engine call: (inputs, num_generations, kwargs, seconds, generated tokens)."""

    _log: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    def generate(self, inputs, num_generations=1, **kwargs):  # type: ignore[override]
        started = time.perf_counter()
        out = super().generate(inputs, num_generations=num_generations, **kwargs)
        tokens = sum(sum(o["statistics"]["output_tokens"]) for o in out)
        self._log.append(
            {
                "inputs": inputs,
                "n": num_generations,
                "kwargs": kwargs,
                "seconds": time.perf_counter() - started,
                "tokens": tokens,
            }
        )
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--device", default=None)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=2, help="actor samples per prompt")
    parser.add_argument("--judge-n", type=int, default=2)
    parser.add_argument("--branch", type=int, default=2)
    parser.add_argument("--keep", type=int, default=1)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--judge-tokens", type=int, default=48)
    parser.add_argument("--sequential", action="store_true", help="also search prompt by prompt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from ifplay.pipelines.spar import actor_pairs
    from ifplay.steps.spar.judge import JudgeSettings
    from ifplay.steps.spar.prompts import PromptSettings, build_prompts
    from ifplay.steps.spar.tree_search import SearchSettings, search_rows
    from ifplay.verification import open_sandbox

    llm = RecordingLLM(model=resolve_model_path(args.model), device=args.device, seed=args.seed)
    llm.load()
    prompts, _ = build_prompts(
        PromptSettings(count=args.prompts, max_chars=200, extras_min=0, extras_max=1), args.seed
    )
    sampled = llm.generate(
        [[{"role": "user", "content": p["prompt"]}] for p in prompts],
        num_generations=args.n,
        max_new_tokens=args.max_new_tokens,
        temperature=0.9,
        top_p=0.9,
    )
    rows = [{**p, "responses": o["generations"]} for p, o in zip(prompts, sampled, strict=True)]
    judge = JudgeSettings(n=args.judge_n, max_new_tokens=args.judge_tokens, code_judge="vote")
    search = SearchSettings(
        branch=args.branch,
        keep=args.keep,
        depth=args.depth,
        max_new_tokens=args.max_new_tokens,
        require_markers=False,
    )

    sandbox = open_sandbox(workers=1).__enter__()

    def run_search(batch: list[dict[str, Any]]) -> tuple[list, float, int, int]:
        llm._log.clear()
        started = time.perf_counter()
        trees, counts = search_rows(llm, batch, judge, search, sandbox=sandbox)
        seconds = time.perf_counter() - started
        return trees, seconds, sum(c["tokens"] for c in llm._log), counts.engine_calls

    trees, search_s, search_tokens, calls = run_search(rows)
    requests = [(conv, c["n"], c["kwargs"]) for c in llm._log for conv in c["inputs"]]
    flat = [conv for conv, n, _ in requests for _ in range(n)]
    cap = max(kw.get("max_new_tokens", args.max_new_tokens) for _, _, kw in requests)
    llm._log.clear()
    started = time.perf_counter()
    llm.generate(flat, num_generations=1, max_new_tokens=cap, temperature=0.7, top_p=1.0)
    single_s = time.perf_counter() - started
    single_tokens = llm._log[0]["tokens"]

    out_rows = [
        {**row, "search_json": json.dumps([t.to_dict() for t in row_trees])}
        for row, row_trees in zip(rows, trees, strict=True)
    ]
    pairs, baseline = actor_pairs(out_rows, 4)
    spar_d = [p["edit_distance"] for p in pairs]
    result: dict[str, Any] = {
        "device": str(llm._model.device),
        "prompts": len(rows),
        "trees": sum(len(t) for t in trees),
        "engine_calls": calls,
        "search_seconds": round(search_s, 2),
        "search_tokens": search_tokens,
        "single_call_seconds": round(single_s, 2),
        "single_call_tokens": single_tokens,
        "single_call_sequences": len(flat),
        "ratio_seconds_per_token": round(
            (search_s / max(search_tokens, 1)) / (single_s / max(single_tokens, 1)), 3
        ),
        "spar_pairs": len(spar_d),
        "spar_edit_distance_mean": round(statistics.fmean(spar_d), 1) if spar_d else None,
        "sampled_pairs": len(baseline),
        "sampled_edit_distance_mean": round(statistics.fmean(baseline), 1) if baseline else None,
    }
    if args.sequential:
        seconds = tokens = 0.0
        for row in rows:
            _, s, t, _ = run_search([row])
            seconds, tokens = seconds + s, tokens + t
        result["sequential_search_seconds"] = round(seconds, 2)
        result["sequential_search_tokens"] = int(tokens)
    sandbox.__exit__(None, None, None)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
