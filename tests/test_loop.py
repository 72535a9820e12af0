"""The loop: bad loop files fail before any work; a SIGKILLed loop resumes without redoing stages."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ifplay.cli import main


def _loop_yaml(tmp_path: Path, repo_root: Path, **changes: str) -> Path:
    fields = {
        "name": "t",
        "model": "smollm2-135m-instruct",
        "iterations": "1",
        "pipeline": str(repo_root / "pipelines/spin-quick.yaml"),
        "recipe": str(repo_root / "recipes/cpu/spin.yaml"),
        "tasks": "[ifeval]",
        **{key: value.replace("REPO", str(repo_root)) for key, value in changes.items()},
    }
    refiner = f"  refiner: {fields['refiner']}\n" if "refiner" in fields else ""
    text = (
        f"name: {fields['name']}\nmodel: {fields['model']}\niterations: {fields['iterations']}\n"
        f"iteration:\n  pipeline: {fields['pipeline']}\n  split: train\n  recipe: {fields['recipe']}\n"
        f"{refiner}eval:\n  tasks: {fields['tasks']}\n  limit: 2\n"
    )
    path = tmp_path / "loop.yaml"
    path.write_text(text)
    return path


BAD = [
    ("missing-recipe", {"recipe": "recipes/absent.yaml"}, "iteration.recipe: no such file"),
    ("missing-pipeline", {"pipeline": "pipelines/absent.yaml"}, "iteration.pipeline: no such file"),
    (
        "unknown-task",
        {"tasks": "[ifeval, mmlu-pro-max]"},
        "eval.tasks: unknown eval task 'mmlu-pro-max'",
    ),
    (
        "zero-iterations",
        {"iterations": "0"},
        "iterations: Input should be greater than or equal to 1",
    ),
    ("missing-model", {"model": "./no/such/model"}, "model: './no/such/model' cannot be loaded"),
    (
        "refiner-for-a-pipeline-without-one",
        {"refiner": "{recipe: REPO/recipes/cpu/spar-refiner-sft.yaml}"},
        "iteration.refiner: pipeline kind 'spin' has no refiner to train",
    ),
    (
        "missing-refiner-recipe",
        {"pipeline": "REPO/pipelines/spar-quick.yaml", "refiner": "{recipe: recipes/absent.yaml}"},
        "iteration.refiner.recipe: no such file",
    ),
    (
        "unknown-hub-model",
        {"model": "nobody-here/not-a-model"},
        "model: 'nobody-here/not-a-model' cannot be loaded",
    ),
]


@pytest.mark.parametrize("case_id,changes,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_loop_files_fail_before_any_work(
    case_id, changes, fragment, tmp_path, repo_root, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    loop = _loop_yaml(tmp_path, repo_root, **changes)
    output = tmp_path / "run"
    code = main(["loop", str(loop), "--output", str(output)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(err) == 1 and fragment in err[0], err
    assert str(loop) in err[0]
    assert not output.exists()


TINY_LOOP = """\
name: tiny
model: {model}
iterations: 2
iteration:
  pipeline: {pipeline}
  split: train
  recipe: {recipe}
  train_overrides: {{max_steps: 2, per_device_train_batch_size: 2, gradient_accumulation_steps: 1}}
eval:
  tasks: [ifeval]
  limit: 3
  max_new_tokens: 8
  baseline: true
"""

TINY_SPIN = """\
kind: spin
name: tiny-spin
data: {{source: {data}, heldout: 2}}
model: {{name: smollm2-135m-instruct, max_new_tokens: 8, batch_size: 4}}
"""


def _wait_for(manifest: Path, key: str, proc: subprocess.Popen, timeout: float = 2400) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if manifest.is_file():
            try:
                stage = json.loads(manifest.read_text())["stages"].get(key)
            except (json.JSONDecodeError, KeyError):
                stage = None
            if stage and stage["status"] == "running":
                time.sleep(1.0)  # let the stage get under way
                return
        time.sleep(0.1)
    raise AssertionError(f"{key} never ran (process exit {proc.poll()})")


def _start(loop: Path, output: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ifplay.cli", "loop", str(loop), "--output", str(output)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_sigkill_during_train_and_eval_resumes_without_redoing_stages(
    tmp_path, repo_root, tiny_model_dir
):
    data = tmp_path / "sft.jsonl"
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
            for w in ["hi", "bye", "yes", "no", "up", "down", "left", "right"]
        )
    )
    pipeline = tmp_path / "spin.yaml"
    pipeline.write_text(TINY_SPIN.format(data=data))
    loop = tmp_path / "loop.yaml"
    loop.write_text(
        TINY_LOOP.format(
            model=tiny_model_dir, pipeline=pipeline, recipe=repo_root / "recipes/cpu/spin.yaml"
        )
    )
    output = tmp_path / "run"
    manifest = output / "manifest.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "IFPLAY_CACHE": str(tmp_path / "cache")}

    for stage in ("iter-1/train", "iter-1/eval"):
        proc = _start(loop, output, env)
        _wait_for(manifest, stage, proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert json.loads(manifest.read_text())["stages"][stage]["status"] == "running"

    proc = _start(loop, output, env)
    out, _ = proc.communicate(timeout=2400)
    assert proc.returncode == 0, out[-3000:]
    stages = json.loads(manifest.read_text())["stages"]
    # A generate stage after an in-process eval or training used to hang distilabel's forked workers.
    assert list(stages) == ["iter-0/eval"] + [
        f"iter-{k}/{stage}" for k in (1, 2) for stage in ("generate", "train", "eval")
    ]
    assert all(s["status"] == "done" for s in stages.values())
    assert stages["iter-1/generate"]["attempts"] == 1  # never redone
    assert stages["iter-1/train"]["attempts"] == 2  # killed once, redone from clean
    assert stages["iter-1/eval"]["attempts"] == 2
    assert (output / "iter-1" / "model" / "train_result.json").is_file()
    assert "heldout_reward_margin" in stages["iter-1/train"]["summary"]["metrics"]
    assert (output / "report.md").is_file()
    assert "done earlier, skipped" in out
    results = json.loads((output / "iter-1" / "eval" / "results.json").read_text())
    assert results["sampling"]["max_new_tokens"] == {"ifeval": 8}  # the loop's cap reaches the eval


@pytest.mark.parametrize(
    "loop_file",
    sorted(p.name for p in (Path(__file__).parent.parent / "recipes/loops").glob("*.yaml")),
)
def test_shipped_loop_files_load_and_eval_as_declared(
    loop_file: str, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every loop in recipes/loops validates, and its eval stage generates greedily with the
    declared batch, dtype and token cap (a null cap keeps each task's standard one)."""
    from ifplay.loop.runner import LoopRun

    monkeypatch.chdir(repo_root)
    run = LoopRun(Path("recipes/loops") / loop_file)
    settings = run.config.eval
    spec = run.eval_model_spec("smollm2-135m-instruct")
    assert spec.temperature == 0.0 and spec.engine == run.config.engine
    assert (spec.batch_size, spec.dtype) == (settings.batch_size, settings.dtype)
    if settings.max_new_tokens is not None:
        assert spec.max_new_tokens == settings.max_new_tokens
