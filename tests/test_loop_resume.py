"""A loop killed again and again ends where an uninterrupted one does, redoing at most one checkpoint
interval per kill; `--stop-after` stops it cleanly and the report says what is kept.

The loop (tiny random model: SPIN data, DPO with checkpoints every 2 steps, IFEval on 12 prompts
kept in groups of 8) is SIGKILLed, with its children, at 5 seeded random moments during its
stages, then run to the end. Every process it starts writes the work it does (optimizer steps,
answers generated) to a log through `sitecustomize.py`, so the test can count what was redone.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

STEPS, SAVE_STEPS, PROMPTS, GROUP = 6, 2, 12, 8
LOOP = """\
name: tiny
model: {model}
iterations: 1
iteration:
  pipeline: {pipeline}
  split: train
  recipe: {recipe}
  train_overrides:
    max_steps: {steps}
    save_steps: {save_steps}
    per_device_train_batch_size: 2
    gradient_accumulation_steps: 1
eval:
  tasks: [ifeval]
  limit: {prompts}
  max_new_tokens: 8
  batch_size: 2
  baseline: true
"""
SPIN = """\
kind: spin
name: tiny-spin
data: {{source: {data}, heldout: 2}}
model: {{name: smollm2-135m-instruct, max_new_tokens: 8, batch_size: 4}}
"""
# Loaded by every Python process of the loop (PYTHONPATH): logs each optimizer step and each group
# of answers kept to $WORK_LOG; with $SPENT_BUDGET, a `--stop-after` budget is spent at the start.
WORK_LOG_HOOK = """\
import os

if os.environ.get("SPENT_BUDGET"):
    import time
    import ifplay.budget as budget

    parse = budget.parse_duration

    def spent(text, flag="--stop-after"):
        return None if text is None else time.time() - parse(text, flag)

    budget.deadline_after = spent

if os.environ.get("WORK_LOG"):
    import ifplay.evaluation.kept_answers as kept
    import ifplay.training.checkpoints as checkpoints
    import ifplay.training.run as run

    def log(line):
        with open(os.environ["WORK_LOG"], "a") as handle:
            handle.write(line + "\\n")

    make_progress = checkpoints.progress_callback

    def progress_callback(staging):
        callback = make_progress(staging)
        step_end = callback.on_step_end

        def on_step_end(args, state, control, **kwargs):
            log(f"train {state.global_step}")
            return step_end(args, state, control, **kwargs)

        callback.on_step_end = on_step_end
        return callback

    run.progress_callback = progress_callback  # the name run_recipe calls
    add = kept.AnswerBook.add

    def logged_add(self, keys, responses):
        add(self, keys, responses)
        log(f"eval {len(keys)}")

    kept.AnswerBook.add = logged_add
"""


def write_loop(tmp_path: Path, repo_root: Path, model: Path) -> Path:
    data = tmp_path / "sft.jsonl"
    words = ["hi", "bye", "yes", "no", "up", "down", "left", "right", "red", "blue"]
    data.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Say {w}."},
                        {"role": "assistant", "content": f"{w}!"},
                    ]
                }
            )
            + "\n"
            for w in words
        )
    )
    pipeline = tmp_path / "spin.yaml"
    pipeline.write_text(SPIN.format(data=data))
    loop = tmp_path / "loop.yaml"
    loop.write_text(
        LOOP.format(
            model=model,
            pipeline=pipeline,
            recipe=repo_root / "recipes/cpu/dpo.yaml",
            steps=STEPS,
            save_steps=SAVE_STEPS,
            prompts=PROMPTS,
        )
    )
    return loop


def loop_env(tmp_path: Path, name: str) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(WORK_LOG_HOOK)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "IFPLAY_CACHE": str(tmp_path / f"cache-{name}"),
        "PYTHONPATH": path,
        "WORK_LOG": str(tmp_path / f"work-{name}.log"),
    }


def start(loop: Path, output: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ifplay.cli", "loop", str(loop), "--output", str(output), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_running(manifest: Path, key: str, proc: subprocess.Popen, timeout: float = 1200) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            stage = json.loads(manifest.read_text())["stages"].get(key)
        except (OSError, ValueError, KeyError):
            stage = None
        if stage and stage["status"] == "running":
            return
        time.sleep(0.05)
    raise AssertionError(f"{key} never ran (process exit {proc.poll()})")


def work(log: Path) -> tuple[int, int]:
    """(optimizer steps run, answers generated) over every process that wrote `log`."""
    lines = log.read_text().splitlines() if log.is_file() else []
    steps = sum(1 for line in lines if line.startswith("train "))
    answers = sum(int(line.split()[1]) for line in lines if line.startswith("eval "))
    return steps, answers


def finished(output: Path) -> dict:
    from safetensors.torch import load_file

    results = json.loads((output / "iter-1" / "eval" / "results.json").read_text())
    details = (output / "iter-1" / "eval" / "details" / "ifeval.jsonl").read_text().splitlines()
    return {
        "data": (output / "iter-1" / "data" / "train" / "data.jsonl").read_text(),
        "weights": load_file(str(output / "iter-1" / "model" / "model.safetensors")),
        "metrics": results["metrics"],
        "baseline": json.loads((output / "iter-0" / "eval" / "results.json").read_text())[
            "metrics"
        ],
        "answers": [json.loads(row)["response"] for row in details],
    }


def test_loop_killed_five_times_ends_as_an_uninterrupted_run(
    tmp_path: Path, repo_root: Path, tiny_model_dir: Path
) -> None:
    import torch

    loop = write_loop(tmp_path, repo_root, tiny_model_dir)
    env_a = loop_env(tmp_path, "a")
    proc = start(loop, tmp_path / "a", env_a)
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-3000:]
    expected = finished(tmp_path / "a")
    steps_once, answers_once = work(Path(env_a["WORK_LOG"]))
    assert (steps_once, answers_once) == (STEPS, 2 * PROMPTS)  # baseline and iteration 1 evals

    output, env = tmp_path / "b", loop_env(tmp_path, "b")
    manifest = output / "manifest.json"
    rng = random.Random(16)
    stages = ["iter-0/eval", "iter-1/generate", "iter-1/train", "iter-1/train", "iter-1/eval"]
    for key in stages:
        proc = start(loop, output, env)
        wait_running(manifest, key, proc)
        time.sleep(rng.uniform(0.5, 4.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    proc = start(loop, output, env)
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-3000:]

    got = finished(output)
    assert got["data"] == expected["data"]
    assert got["metrics"] == expected["metrics"] and got["baseline"] == expected["baseline"]
    assert got["answers"] == expected["answers"]
    for name, tensor in expected["weights"].items():
        assert torch.allclose(got["weights"][name], tensor, rtol=1e-5, atol=1e-6), name
    steps, answers = work(Path(env["WORK_LOG"]))
    kills = len(stages)
    assert STEPS <= steps <= STEPS + kills * SAVE_STEPS  # at most one interval lost per kill
    assert 2 * PROMPTS <= answers <= 2 * PROMPTS + kills * GROUP
    assert not list(output.rglob("checkpoint-*"))  # removed once each model was saved


def test_stop_after_stops_the_loop_and_the_report_says_what_is_kept(
    tmp_path: Path, repo_root: Path, tiny_model_dir: Path
) -> None:
    loop = write_loop(tmp_path, repo_root, tiny_model_dir)
    output, env = tmp_path / "run", loop_env(tmp_path, "run")
    proc = start(loop, output, {**env, "SPENT_BUDGET": "1"}, "--stop-after", "1s")
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 75, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert last.startswith("ifplay: stopped: [iter-0/eval] eval stopped on its time budget")
    assert "rerun the same command to continue" in last
    stage = json.loads((output / "manifest.json").read_text())["stages"]["iter-0/eval"]
    assert stage["status"] == "stopped" and stage["progress"] == "eval 8/12 prompts"
    report = (output / "report.md").read_text()
    assert "- iter-0/eval: stopped: eval 8/12 prompts kept" in report

    proc = start(loop, output, env)
    out, _ = proc.communicate(timeout=1800)
    assert proc.returncode == 0, out[-3000:]
    assert "Unfinished stages" not in (output / "report.md").read_text()
    assert work(Path(env["WORK_LOG"])) == (STEPS, 2 * PROMPTS)  # nothing done twice
