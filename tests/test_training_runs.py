"""Real TRL training steps on the tiny random model: in-process (`run_recipe`, `ifplay train`) and
through the real `trl` CLI with the recipe file unchanged."""

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from training_data import FAST, TOPICS, assert_model_folder, chat_rows, pair_rows, write_jsonl

from ifplay.cli import main
from ifplay.training import TrainResult, run_recipe

RECIPES = Path(__file__).resolve().parents[1] / "recipes"

pytestmark = pytest.mark.slow


def train_tiny(recipe: str, data: Path, model: Path, out: Path, steps: int) -> TrainResult:
    """`run_recipe` on `recipes/cpu/<recipe>` with small, fast batches for `steps` steps."""
    return run_recipe(
        RECIPES / "cpu" / recipe,
        dataset_dir=data,
        model=str(model),
        output_dir=out,
        overrides={**FAST, "max_steps": steps},
    )


def test_dpo_step_with_run_recipe(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_jsonl(tmp_path / "data", pair_rows(8))
    out = tmp_path / "iter-1" / "model"
    result = train_tiny("dpo.yaml", data, tiny_model_dir, out, 2)
    assert result.method == "dpo" and result.steps == 2 and result.rows == 8
    assert result.output_dir == out and result.ref_model is None
    assert result.model == str(tiny_model_dir.resolve())
    assert math.isfinite(result.metrics["train_loss"])
    for key in ("loss", "rewards/margins", "rewards/accuracies", "rewards/chosen"):
        assert key in result.metrics
    assert [entry["step"] for entry in result.log_history if "loss" in entry] == [1.0, 2.0]
    assert result.config["beta"] == 0.3 and result.config["max_steps"] == 2
    assert_model_folder(out)
    assert TrainResult.load(out) == result


def test_sft_step_with_run_recipe(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Also trains when grad is off process-wide, as lighteval's transformers model leaves it."""
    import torch

    data = write_jsonl(tmp_path / "data", chat_rows(8))
    out = tmp_path / "sft-model"
    with torch.no_grad():
        result = train_tiny("sft.yaml", data, tiny_model_dir, out, 1)
    assert result.method == "sft" and result.steps == 1
    assert math.isfinite(result.metrics["train_loss"])
    assert_model_folder(out)


def test_ifplay_train_cli_with_reference_model(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ifplay train` end to end, with an explicit reference model (the SPIN/loop case)."""
    from datasets import Dataset

    disk = tmp_path / "pairs"
    Dataset.from_list(pair_rows(4)).save_to_disk(str(disk))  # a save_to_disk folder also works
    out = tmp_path / "spin-model"
    argv = ["train", str(RECIPES / "cpu" / "spin.yaml"), "--dataset", str(disk)]
    argv += ["--model", str(tiny_model_dir), "--ref-model", str(tiny_model_dir)]
    code = main([*argv, "--output", str(out), "--max-steps", "1"])
    assert code == 0
    assert f"-> {out}" in capsys.readouterr().out
    result = TrainResult.load(out)
    assert result.ref_model == str(tiny_model_dir.resolve())
    assert result.config["beta"] == 0.1 and math.isfinite(result.metrics["train_loss"])
    assert_model_folder(out)


def _trl_command() -> str:
    script = Path(sys.executable).parent / "trl"
    return str(script) if script.is_file() else "trl"


def test_recipe_runs_unchanged_under_the_trl_cli(tmp_path: Path, tiny_model_dir: Path) -> None:
    """`trl dpo --config recipes/cpu/dpo.yaml` with only model/data/output/steps given on the
    command line trains 2 steps: the recipe needs nothing from ifplay."""
    recipe = RECIPES / "cpu" / "dpo.yaml"
    before = hashlib.sha256(recipe.read_bytes()).hexdigest()
    data = write_jsonl(tmp_path / "data", pair_rows(8))
    out = tmp_path / "trl-out"
    command = [_trl_command(), "dpo", "--config", str(recipe)]
    command += ["--model_name_or_path", str(tiny_model_dir), "--datasets", str(data)]
    command += ["--output_dir", str(out), "--max_steps", "2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    logs = proc.stdout + proc.stderr
    assert "'loss'" in logs and "'rewards/margins'" in logs
    assert hashlib.sha256(recipe.read_bytes()).hexdigest() == before


def test_spin_recipe_precomputes_reference_log_probs(tmp_path: Path, tiny_model_dir: Path) -> None:
    """`recipes/cpu/spin.yaml` precomputes the reference log-probs (no second model in memory).
    Before the first optimizer step the policy is the reference, so the first loss is exactly ln 2:
    the precomputed values match the start model's."""
    data = write_jsonl(tmp_path / "data", pair_rows(8))
    result = train_tiny("spin.yaml", data, tiny_model_dir, tmp_path / "spin", 2)
    assert result.config["precompute_ref_log_probs"] is True
    first = next(entry for entry in result.log_history if "loss" in entry)
    assert first["step"] == 1 and abs(first["loss"] - math.log(2)) < 1e-4


def test_plain_loss_on_cpu_trains_exactly_as_trls_fused_head(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PlainLossSFTTrainer` (what CPU SFT uses) logs TRL's own losses, step for step, on
    prompt/completion rows (loss on the completion only) with accumulation over uneven batches."""
    from ifplay.training import cpu_sft

    rows = [
        {
            "prompt": [{"role": "user", "content": f"Say something about {topic}."}],
            "completion": [{"role": "assistant", "content": f"{topic.upper()} " * (i + 1)}],
        }
        for i, topic in enumerate(TOPICS)
    ]
    data = write_jsonl(tmp_path / "data", rows)
    settings = {**FAST, "gradient_accumulation_steps": 2, "logging_steps": 1, "max_steps": 3}

    def losses(out: Path) -> list[float]:
        result = run_recipe(
            RECIPES / "cpu" / "sft-graft.yaml",
            dataset_dir=data,
            model=str(tiny_model_dir),
            output_dir=out,
            overrides=settings,
        )
        return [row["loss"] for row in result.log_history if "loss" in row]

    plain = losses(tmp_path / "plain")
    monkeypatch.setattr(cpu_sft, "plain_loss_fits", lambda training: False)
    fused = losses(tmp_path / "fused")
    assert len(plain) == 3 and plain == pytest.approx(fused, rel=1e-4)


@pytest.mark.parametrize(
    "settings",
    [
        {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]},
        {"precompute_ref_log_probs": True, "use_weighting": True},
    ],
    ids=["sigmoid+sft", "precomputed-reference+weighting"],
)
def test_plain_log_probs_on_cpu_train_dpo_exactly_as_trls_fused_head(
    settings: dict, tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PlainLogProbsDPOTrainer` (what CPU DPO uses) logs TRL's own losses, rewards and metrics,
    step for step, with the SFT term, a precomputed reference and WPO weighting."""
    from ifplay.training import cpu_dpo

    data = write_jsonl(tmp_path / "data", pair_rows(8))
    overrides = {**FAST, "gradient_accumulation_steps": 2, "logging_steps": 1, "max_steps": 3}

    def logged(out: Path) -> list[dict]:
        result = run_recipe(
            RECIPES / "cpu" / "dpo.yaml",
            dataset_dir=data,
            model=str(tiny_model_dir),
            output_dir=out,
            overrides={**overrides, **settings},
        )
        return [row for row in result.log_history if "loss" in row]

    plain = logged(tmp_path / "plain")
    monkeypatch.setattr(cpu_dpo, "plain_log_probs_fit", lambda training, peft: False)
    fused = logged(tmp_path / "fused")
    assert len(plain) == 3
    keys = ("loss", "rewards/margins", "rewards/chosen", "logps/rejected", "entropy")
    for mine, theirs in zip(plain, fused, strict=True):
        for key in (*keys, "mean_token_accuracy", "logits/chosen"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-5), key
        assert all(key in mine for key in keys)


@pytest.mark.parametrize(
    ("changes", "plain"),
    [
        ({}, True),
        ({"bf16": True}, False),
        ({"use_liger_kernel": True}, False),
        ({"padding_free": True}, False),
    ],
    ids=["fp32", "bf16", "liger", "padding-free"],
)
def test_cpu_dpo_uses_the_plain_head_in_fp32_only(changes: dict, plain: bool) -> None:
    """The plain forward replaces TRL's fused head on CPU in fp32; bf16 (where the fused head was
    faster), Liger kernels and padding-free packing keep TRL's own."""
    from types import SimpleNamespace

    from ifplay.training.cpu_dpo import plain_log_probs_fit

    settings = {"use_cpu": True, "bf16": False, "use_liger_kernel": False, "padding_free": False}
    training = SimpleNamespace(**{**settings, **changes})
    assert plain_log_probs_fit(training, peft_config=None) is plain
    assert plain_log_probs_fit(training, peft_config=object()) is False
