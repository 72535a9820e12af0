"""ShareGPT perplexity (`sharegpt_ppl`) through vLLM's CPU build against ifplay's transformers path.

    python benchmarks/vllm_cpu_ppl.py                 # all 200 held-out answers, float32 and bfloat16
    python benchmarks/vllm_cpu_ppl.py --limit 16

Each row is one `run_eval(..., ["sharegpt_ppl"])` in a fresh process on the embedded model: wall
seconds (vLLM's include starting its server), answer tokens scored, NLL per token, perplexity, and
the NLL's difference from the transformers float32 row. Prints a Markdown table for
benchmarks/RESULTS.md.
"""

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from ifplay.config import ModelSpec
from ifplay.embedded import EMBEDDED_MODEL
from ifplay.evaluation import run_eval
from ifplay.fresh_process import run_in_fresh_process

ROWS = (("transformers", "float32"), ("vllm", "float32"), ("transformers", "bfloat16"))
ROWS += (("vllm", "bfloat16"),)


def timed_ppl(engine: str, dtype: str, limit: int | None, out: Path) -> dict[str, Any]:
    """One sharegpt_ppl run: its metrics and wall seconds."""
    spec = ModelSpec(name=EMBEDDED_MODEL, engine=engine, temperature=0.0, dtype=dtype)
    started = time.perf_counter()
    result = run_in_fresh_process(run_eval, spec, ["sharegpt_ppl"], out, limit=limit)
    return {"metrics": result["metrics"], "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="held-out answers; 0 = all")
    args = parser.parse_args()
    limit = args.limit or None
    runs = {}
    with tempfile.TemporaryDirectory(prefix="vllm-cpu-ppl-") as scratch:
        for engine, dtype in ROWS:
            runs[engine, dtype] = timed_ppl(engine, dtype, limit, Path(scratch) / engine / dtype)
            print(engine, dtype, runs[engine, dtype], flush=True)
    reference = runs["transformers", "float32"]["metrics"]["sharegpt_ppl/nll_per_token"]
    print(f"\n{platform.processor() or platform.machine()}, limit {limit or 'all'}\n")
    print(
        "| engine | dtype | wall s | answer tokens | NLL/token | perplexity | NLL - transformers fp32 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for (engine, dtype), run in runs.items():
        m = run["metrics"]
        nll = m["sharegpt_ppl/nll_per_token"]
        print(
            f"| {engine} | {dtype} | {run['seconds']:.1f} | {m['sharegpt_ppl/answer_tokens']:.0f}"
            f" | {nll:.6f} | {m['sharegpt_ppl/perplexity']:.4f} | {nll - reference:+.2e} |"
        )


if __name__ == "__main__":
    main()
