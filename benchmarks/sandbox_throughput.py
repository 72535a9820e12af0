"""Verifier calls per second: isolated Sandbox pool vs unsafe in-process exec vs a subprocess per call.

Workload, shaped like AutoIF's response verification: instructions, each with a few verification
functions (string checks: word counts, keywords, JSON, bullets, paragraphs, letter case, ...; varied
parameters, so every function source is distinct) and a batch of synthetic ~1,000-character
responses that every function of the instruction checks. The modes run `--repeat` times,
interleaved; medians are reported, and the ratio is the median of the ratios of runs made back to
back (other processes on a shared machine add noise).

    python benchmarks/sandbox_throughput.py                      # 240 functions x 32 responses
    python benchmarks/sandbox_throughput.py --batch 8            # cross-validation-sized batches
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

from ifplay.sandbox import Sandbox, Status
from ifplay.sandbox.isolation import python_command

TEMPLATES = [
    "def evaluate(response):\n    return {lo} <= len(response.split()) <= {hi}\n",
    "def evaluate(response):\n    return ',' not in response and len(response) > {lo}\n",
    "def evaluate(response):\n    text = response.lower()\n"
    "    return text.count('{word}') >= {n}\n",
    "import json\ndef evaluate(response):\n    try:\n        json.loads(response)\n"
    "    except ValueError:\n        return False\n    return True\n# variant {n}\n",
    "import re\ndef evaluate(response):\n"
    "    bullets = re.findall(r'^\\s*[*-] ', response, flags=re.MULTILINE)\n"
    "    return len(bullets) == {n}\n",
    "def evaluate(response):\n    paragraphs = [p for p in response.split('\\n\\n') if p.strip()]\n"
    "    return len(paragraphs) >= {n}\n",
    "def evaluate(response):\n    return response == response.lower() and len(response) > {lo}\n",
    "import re\ndef evaluate(response):\n"
    "    return len(re.findall(r'\\*[^\\n*]+\\*', response)) >= {n}\n",
    "def evaluate(response):\n    return 'P.S.' in response[-{hi}:]\n",
    "import re\ndef evaluate(response):\n"
    "    sentences = [s for s in re.split(r'[.!?]+', response) if s.strip()]\n"
    "    return len(sentences) < {hi}\n",
    "from collections import Counter\ndef evaluate(response):\n"
    "    return Counter(response.lower())['{letter}'] >= {n}\n",
    "def evaluate(response):\n    words = response.split()\n"
    "    capital = sum(1 for w in words if w.isupper())\n    return capital <= {n}\n",
    "import re\ndef evaluate(response):\n    return re.search(r'<<[^>]+>>', response) is not None"
    " and len(response) < {hi}0\n",
    "def evaluate(response):\n    return response.strip().endswith('{word}.') or {n} < 0\n",
]
WORDS = "the model answer python data sandbox quick brown fox lazy dog test code list".split()


def make_functions(count: int, rng: random.Random) -> list[str]:
    """`count` distinct verification function sources."""
    sources = []
    for i in range(count):
        template = TEMPLATES[i % len(TEMPLATES)]
        lo = rng.randint(20, 120)
        sources.append(
            template.format(
                lo=lo,
                hi=lo + rng.randint(50, 250),
                n=rng.randint(1, 5) + i // len(TEMPLATES) * 0,
                word=rng.choice(WORDS),
                letter=rng.choice("aeiost"),
            )
            + f"# function {i}\n"
        )
    return sources


def make_responses(count: int, rng: random.Random) -> list[str]:
    """`count` synthetic responses of roughly 1,000 characters with varied formatting."""
    responses = []
    for _ in range(count):
        paragraphs = []
        for _ in range(rng.randint(2, 5)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(35, 70))]
            if rng.random() < 0.3:
                words = [w.upper() if rng.random() < 0.2 else w for w in words]
            text = " ".join(words)
            if rng.random() < 0.4:
                text = "\n".join(f"* {line}" for line in text.split(" dog "))
            if rng.random() < 0.3:
                text = text.replace(" code ", ", *code*, ")
            paragraphs.append(text[0].upper() + text[1:] + ".")
        body = "\n\n".join(paragraphs)
        if rng.random() < 0.2:
            body = json.dumps({"answer": body})
        if rng.random() < 0.3:
            body += "\n\nP.S. " + rng.choice(WORDS) + "."
        if rng.random() < 0.2:
            body = "<<Title>>\n" + body
        responses.append(body)
    return responses


def bench_isolated(sandbox: Sandbox, jobs: list[tuple[str, list[str]]]) -> tuple[float, list]:
    """(calls/s, results) through a warm pool."""
    t0 = time.perf_counter()
    results = sandbox.run_many(jobs)
    elapsed = time.perf_counter() - t0
    return sum(len(inputs) for _, inputs in jobs) / elapsed, results


def bench_unsafe(jobs: list[tuple[str, list[str]]]) -> tuple[float, list]:
    """(calls/s, values) for plain in-process exec: compile once per function, no isolation."""
    values = []
    t0 = time.perf_counter()
    for source, inputs in jobs:
        namespace: dict = {}
        exec(compile(source, "<verifier>", "exec"), namespace)  # noqa: S102 - the unsafe baseline
        function = namespace["evaluate"]
        values.append([function(x) for x in inputs])
    elapsed = time.perf_counter() - t0
    return sum(len(inputs) for _, inputs in jobs) / elapsed, values


def bench_unsafe_per_call(jobs: list[tuple[str, list[str]]], limit: int) -> float:
    """Calls/s for the reference AutoIF pattern: exec the source for every call, 5 s alarm."""
    pairs = [(source, x) for source, inputs in jobs for x in inputs][:limit]
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    t0 = time.perf_counter()
    for source, response in pairs:
        namespace: dict = {}
        signal.alarm(5)
        try:
            exec(source, namespace)  # noqa: S102 - the unsafe baseline
            namespace["evaluate"](response)
        finally:
            signal.alarm(0)
    elapsed = time.perf_counter() - t0
    signal.signal(signal.SIGALRM, previous)
    return len(pairs) / elapsed


RUNNER = (
    "import json, sys\n"
    "job = json.load(sys.stdin)\n"
    "namespace = {}\n"
    "exec(job['src'], namespace)\n"
    "print(json.dumps(namespace['evaluate'](job['x'])))\n"
)


def bench_subprocess(jobs: list[tuple[str, list[str]]], calls: int) -> float:
    """Calls/s for one fresh `python -I -S` subprocess per call (no other isolation)."""
    pairs = [(source, x) for source, inputs in jobs for x in inputs][:calls]
    command = [*python_command(), "-c", RUNNER]
    t0 = time.perf_counter()
    for source, response in pairs:
        subprocess.run(
            command,
            input=json.dumps({"src": source, "x": response}),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    return len(pairs) / (time.perf_counter() - t0)


def make_jobs(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(source, responses) jobs: instructions x functions each, sharing their responses."""
    rng = random.Random(args.seed)
    functions = make_functions(args.functions, rng)
    jobs = []
    for start in range(0, len(functions), args.per_instruction):
        responses = make_responses(args.batch, rng)
        jobs += [(source, responses) for source in functions[start : start + args.per_instruction]]
    return jobs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=240, help="distinct function sources")
    parser.add_argument("--per-instruction", type=int, default=4, help="functions per instruction")
    parser.add_argument("--batch", type=int, default=32, help="responses per instruction")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="runs per mode (medians reported)")
    parser.add_argument("--subprocess-calls", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    jobs = make_jobs(args)
    calls = sum(len(inputs) for _, inputs in jobs)
    texts = {x for _, inputs in jobs for x in inputs}
    mean_len = sum(map(len, texts)) / len(texts)
    print(
        f"workload: {len(jobs)} functions ({args.per_instruction} per instruction) x {args.batch} "
        f"responses = {calls} calls; mean response {mean_len:.0f} chars; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}"
    )

    started = time.perf_counter()
    pool = Sandbox(workers=args.workers, timeout_s=2.0, memory_mb=512)
    startup = time.perf_counter() - started
    strict = Sandbox(workers=args.workers, timeout_s=2.0, memory_mb=512, share_processes=False)
    with pool, strict:
        pool.run_many(jobs[: args.workers * 4])  # warm-up
        strict.run_many(jobs[: args.workers * 4])
        runs: dict[str, list[float]] = {"pool": [], "own": [], "unsafe": [], "per_call": []}
        for _ in range(args.repeat):
            rate, results = bench_isolated(pool, jobs)
            runs["pool"].append(rate)
            rate, values = bench_unsafe(jobs)
            runs["unsafe"].append(rate)
            runs["own"].append(bench_isolated(strict, jobs)[0])
            runs["per_call"].append(bench_unsafe_per_call(jobs, limit=min(calls, 2000)))
    fresh = bench_subprocess(jobs, args.subprocess_calls)
    isolated, own_process, unsafe, per_call = (
        statistics.median(runs[k]) for k in ("pool", "own", "unsafe", "per_call")
    )
    ratio = statistics.median(p / u for p, u in zip(runs["pool"], runs["unsafe"], strict=True))

    got = [
        [r.value if r.status in (Status.PASSED, Status.FAILED) else r for r in b] for b in results
    ]
    if got != values:
        raise SystemExit("isolated results differ from the in-process results")
    share = sum(v for batch in values for v in batch) / calls

    rows = [
        (f"isolated pool ({args.workers} workers, all layers)", isolated),
        ("  same, share_processes=False (a process per function)", own_process),
        ("unsafe in-process exec (compile once per function)", unsafe),
        ("unsafe exec per call + alarm (AutoIF reference style)", per_call),
        (f"fresh subprocess per call ({args.subprocess_calls} calls)", fresh),
    ]
    for label, rate in rows:
        print(f"{label:<56} {rate:>10,.0f} calls/s")
    print(
        f"pool start-up {startup * 1000:.0f} ms; results identical; {share:.0%} of calls passed; "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"isolated / unsafe in-process = {ratio:.2f}x (target >= 0.25); "
        f"isolated >= 2,000 calls/s: {'yes' if isolated >= 2000 else 'NO'}; "
        f"isolated / subprocess per call = {isolated / fresh:.0f}x"
    )


if __name__ == "__main__":
    main()
