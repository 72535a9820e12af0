"""AutoIF end to end on the real embedded SmolLM2: outputs train with TRL, verdicts hold up when
re-checked in a fresh process, and a SIGKILLed run resumes to exactly the uninterrupted rows."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TINY = Path(__file__).parent / "data" / "autoif-tiny.yaml"


def _env(cache: Path, embedded_checkpoint_dir: Path) -> dict[str, str]:
    """A private ifplay cache (fresh distilabel state) sharing the converted embedded model."""
    models = cache / "models"
    models.mkdir(parents=True, exist_ok=True)
    link = models / embedded_checkpoint_dir.name
    if not link.exists():
        link.symlink_to(embedded_checkpoint_dir, target_is_directory=True)
    return {**os.environ, "IFPLAY_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}


def _generate(config: Path, output: Path, env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ifplay.cli", "generate", str(config), "--output", str(output)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, embedded_checkpoint_dir) -> Path:
    """One uninterrupted run of the tiny AutoIF config."""
    root = tmp_path_factory.mktemp("autoif")
    proc = _generate(TINY, root / "out", _env(root / "cache", embedded_checkpoint_dir))
    out, _ = proc.communicate(timeout=2400)
    assert proc.returncode == 0, out[-4000:]
    return root / "out"


@pytest.mark.slow
def test_splits_stats_and_layout(tiny_run: Path):
    stats = json.loads((tiny_run / "stats.json").read_text())
    run = json.loads((tiny_run / "run.json").read_text())
    for split in ("sft", "dpo", "instructions", "responses"):
        assert (tiny_run / split / "data.jsonl").is_file()
        assert run["splits"][split] == len(_rows(tiny_run / split / "data.jsonl"))
    assert stats["instructions"]["by_origin"]["library"] == 6
    assert stats["sft_rows"] > 0 and stats["dpo_pairs"] > 0
    instructions = _rows(tiny_run / "instructions" / "data.jsonl")
    dropped = [r for r in instructions if r["drop"]]
    assert sum(stats["instructions"]["dropped"].values()) == len(dropped)
    assert all(r["origin"] != "library" for r in dropped)  # library seeds carry trusted checkers


@pytest.mark.slow
def test_dpo_verdicts_hold_when_rechecked_in_a_fresh_process(tiny_run: Path):
    script = (
        "import json,sys\n"
        "from ifplay.verification import open_sandbox, pass_rates\n"
        "rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]\n"
        "with open_sandbox() as sb:\n"
        "    out=[pass_rates(sb,r['verifiers'],[r['chosen'][0]['content'],r['rejected'][0]['content']]) for r in rows]\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tiny_run / "dpo" / "data.jsonl")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rates = json.loads(result.stdout.strip().splitlines()[-1])
    assert rates
    for chosen, rejected in rates:
        assert chosen >= 0.5 and rejected == 0.0


@pytest.mark.slow
def test_trl_trains_two_steps_on_each_split(
    tiny_run: Path, tiny_model_dir: Path, repo_root: Path, tmp_path: Path
):
    from ifplay.training import run_recipe

    for recipe, split in (("recipes/cpu/dpo.yaml", "dpo"), ("recipes/cpu/sft.yaml", "sft")):
        result = run_recipe(
            repo_root / recipe,
            dataset_dir=tiny_run / split,
            model=str(tiny_model_dir),
            output_dir=tmp_path / split,
            overrides={
                "max_steps": 2,
                "per_device_train_batch_size": 2,
                "gradient_accumulation_steps": 1,
            },
        )
        assert result.steps == 2
        assert (tmp_path / split / "train_result.json").is_file()


@pytest.mark.slow
def test_sigkill_then_rerun_gives_the_uninterrupted_rows(
    tiny_run: Path, tmp_path: Path, embedded_checkpoint_dir
):
    env = _env(tmp_path / "cache", embedded_checkpoint_dir)
    checkpoints = tmp_path / "cache" / "checkpoints"
    proc = _generate(TINY, tmp_path / "out", env)
    deadline = time.time() + 2400
    # kill once the response stage has checkpointed its first chunk (and is working on the next)
    while time.time() < deadline and proc.poll() is None:
        if list(checkpoints.glob("ifplay-autoif-responses-*/chunk-00000-*.jsonl")):
            break
        time.sleep(0.5)
    assert proc.poll() is None, "run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "out").exists()
    rerun = _generate(TINY, tmp_path / "out", env)
    out, _ = rerun.communicate(timeout=2400)
    assert rerun.returncode == 0, out[-4000:]
    for split in ("sft", "dpo", "responses", "instructions"):
        assert _rows(tmp_path / "out" / split / "data.jsonl") == _rows(
            tiny_run / split / "data.jsonl"
        ), split
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
