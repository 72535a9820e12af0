"""Training that resumes where it stopped: a run SIGKILLed after a checkpoint, rerun, ends with the
same step-by-step losses as an uninterrupted one and redoes no finished step; a damaged checkpoint
falls back to the one before; checkpoints of another run are not resumed; `--stop-after` stops
cleanly (exit 75) and the rerun continues. Real TRL training on the tiny random model."""

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from training_data import FAST, assert_model_folder, chat_rows, pair_rows, write_jsonl

from ifplay.cli import main
from ifplay.outputs import staging_path
from ifplay.training import TrainResult, run_recipe
from ifplay.training.checkpoints import checkpoints, read_progress

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "cpu"
STEPS = 6
SAVING = {
    **FAST,
    "max_steps": STEPS,
    "save_strategy": "steps",
    "save_steps": 2,
    "save_total_limit": 2,
    "logging_steps": 1,
}
METHODS = {"sft": ("sft.yaml", chat_rows), "dpo": ("dpo.yaml", pair_rows)}

pytestmark = pytest.mark.slow

KILL_AFTER_SAVE = """
import os, signal, sys
from transformers import TrainerCallback
from ifplay.training import TrainResult, run_recipe

class KillAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == {step}:
            os.kill(os.getpid(), signal.SIGKILL)

run_recipe({recipe!r}, dataset_dir={data!r}, model={model!r}, output_dir={out!r},
           overrides={overrides!r}, callbacks=[KillAfterSave()])
"""


def step_counter() -> Any:
    """A callback counting the optimizer steps run in this process (`.steps`)."""
    from transformers import TrainerCallback

    class CountSteps(TrainerCallback):
        steps = 0

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            CountSteps.steps += 1

    return CountSteps()


def losses(history: list[dict[str, Any]]) -> list[float]:
    return [entry["loss"] for entry in history if "loss" in entry]


def train(method: str, data: Path, model: Path, out: Path, **extra: Any) -> Any:
    recipe, _ = METHODS[method]
    counter = step_counter()
    overrides = {**SAVING, **extra.pop("overrides", {})}
    result = run_recipe(
        RECIPES / recipe,
        dataset_dir=data,
        model=str(model),
        output_dir=out,
        overrides=overrides,
        callbacks=[counter],
        **extra,
    )
    return result, counter.steps


def kill_after_checkpoint(method: str, data: Path, model: Path, out: Path, step: int) -> None:
    """Train in a child process that SIGKILLs itself right after saving checkpoint `step`."""
    recipe, _ = METHODS[method]
    script = KILL_AFTER_SAVE.format(
        step=step,
        recipe=str(RECIPES / recipe),
        data=str(data),
        model=str(model),
        out=str(out),
        overrides=SAVING,
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict:
    """Per method: its data folder and the losses of an uninterrupted run."""
    found = {}
    for method, (_, rows) in METHODS.items():
        folder = tmp_path_factory.mktemp(f"uninterrupted-{method}")
        data = write_jsonl(folder / "data", rows(8))
        result, ran = train(method, data, tiny_model_dir, folder / "model")
        assert ran == STEPS and result.steps == STEPS
        found[method] = (data, losses(result.log_history))
    return found


@pytest.mark.parametrize("method", sorted(METHODS))
def test_killed_run_resumes_with_the_same_losses(
    method: str, uninterrupted: dict, tmp_path: Path, tiny_model_dir: Path
) -> None:
    data, expected = uninterrupted[method]
    out = tmp_path / "model"
    kill_after_checkpoint(method, data, tiny_model_dir, out, step=4)
    staging = staging_path(out)
    assert not out.exists()  # no final folder before training is done
    assert [p.name for p in checkpoints(staging)] == ["checkpoint-4", "checkpoint-2"]
    assert read_progress(staging)["step"] == 4 and read_progress(staging)["max_steps"] == STEPS

    result, ran = train(method, data, tiny_model_dir, out)
    assert ran == STEPS - 4  # nothing finished is redone
    assert result.steps == STEPS
    assert losses(result.log_history) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert_model_folder(out)
    assert not checkpoints(out) and not (out / "progress.json").exists()


def test_damaged_checkpoint_falls_back_to_the_one_before(
    uninterrupted: dict, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    data, expected = uninterrupted["sft"]
    out = tmp_path / "model"
    kill_after_checkpoint("sft", data, tiny_model_dir, out, step=4)
    optimizer = staging_path(out) / "checkpoint-4" / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[: optimizer.stat().st_size // 2])

    result, ran = train("sft", data, tiny_model_dir, out)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert len(warnings) == 1 and "checkpoint-4" in warnings[0] and "optimizer.pt" in warnings[0]
    assert ran == STEPS - 2  # resumed from checkpoint-2
    assert losses(result.log_history) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_checkpoints_of_another_run_are_not_resumed(
    uninterrupted: dict, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    data, _ = uninterrupted["sft"]
    out = tmp_path / "model"
    kill_after_checkpoint("sft", data, tiny_model_dir, out, step=4)
    result, ran = train("sft", data, tiny_model_dir, out, overrides={"learning_rate": 1e-3})
    assert "different run" in capsys.readouterr().err
    assert ran == STEPS and result.config["learning_rate"] == 1e-3


@pytest.mark.usefixtures("budget_spent_at_start")
def test_stop_after_stops_cleanly_and_the_rerun_continues(
    uninterrupted: dict, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    data, expected = uninterrupted["sft"]
    out = tmp_path / "model"
    argv = ["train", str(RECIPES / "sft.yaml"), "--dataset", str(data)]
    argv += ["--model", str(tiny_model_dir), "--output", str(out)]
    for key, value in SAVING.items():
        argv += ["--set", f"{key}={value}"]

    assert main([*argv, "--stop-after", "1s"]) == 75  # spent at the start: stops after step 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("ifplay: stopped: train stopped on its time budget at step 1/6")
    assert "rerun the same command" in err[-1]
    assert not out.exists()
    assert [p.name for p in checkpoints(staging_path(out))] == ["checkpoint-1"]

    assert main(argv) == 0
    assert losses(TrainResult.load(out).log_history) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "--stop-after: 'soon' is not a duration"),
        ("0m", "--stop-after: must be longer than zero"),
        ("5x", "--stop-after: '5x' is not a duration"),
    ],
)
def test_bad_stop_after_is_one_line(
    value: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    code = main(["train", str(RECIPES / "sft.yaml"), "--stop-after", value])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err


def test_durations_parse() -> None:
    from ifplay.budget import parse_duration

    assert parse_duration("90m") == 5400
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2h") == 7200
    assert parse_duration("45s") == 45
    assert parse_duration("12.5") == 12.5
