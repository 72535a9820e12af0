"""Training through `accelerate launch`: the loop's `launch` spec, the command it builds, `ifplay
train --set`, and real 2-process DDP runs (gloo, on CPU) of the tiny model."""

import sys
from pathlib import Path

import pytest
from training_data import FAST, assert_model_folder, pair_rows, write_jsonl

from ifplay.cli import build_parser, main
from ifplay.errors import IfplayError
from ifplay.loop.config import LaunchSpec
from ifplay.loop.launch import failure_cause, launch_command
from ifplay.loop.runner import LoopRun, train_stage
from ifplay.training import TrainResult
from ifplay.training.settings import parse_settings

REPO = Path(__file__).resolve().parents[1]
DDP = REPO / "recipes" / "accelerate" / "ddp.yaml"
DPO = REPO / "recipes" / "cpu" / "dpo.yaml"
# the CPU form of ddp.yaml: 2 processes, no bf16 autocast (the cpu recipes set use_cpu: true)
TWO_CPU_PROCESSES = LaunchSpec(accelerate_config=str(DDP), num_processes=2, mixed_precision="no")


# -- `ifplay train --set` -----------------------------------------------------------------------


def test_set_values_are_read_as_yaml() -> None:
    items = ["max_steps=2", "learning_rate=1.0e-6", "report_to=none", "bf16=false", "x= a=b "]
    assert parse_settings(items) == {
        "max_steps": 2,
        "learning_rate": 1e-6,
        "report_to": "none",
        "bf16": False,
        "x": "a=b",
    }


@pytest.mark.slow
def test_set_and_max_steps_reach_the_recipe_together(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_jsonl(tmp_path / "data", pair_rows(4))
    out = tmp_path / "model"
    argv = ["train", str(DPO), "--dataset", str(data), "--model", str(tiny_model_dir)]
    argv += ["--output", str(out), "--set", "learning_rate=1.0e-6", "--set", "max_steps=9"]
    argv += [f"--set={key}={value}" for key, value in FAST.items()]
    assert main([*argv, "--max-steps", "2"]) == 0
    result = TrainResult.load(out)
    assert result.config["learning_rate"] == 1e-6
    assert result.config["max_steps"] == 2 and result.steps == 2  # --max-steps wins


@pytest.mark.parametrize("item", ["max_steps", "=2"])
def test_malformed_set_is_a_one_line_error(item: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(DPO), "--set", item]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ifplay: error: --set: expected KEY=VALUE, got {item!r}"]


# -- the launch command ------------------------------------------------------------------------


def test_launch_command_runs_ifplay_train_under_accelerate_launch() -> None:
    overrides = {"max_steps": 2, "learning_rate": 1e-6, "lr_scheduler_type": "cosine"}
    command = launch_command(
        TWO_CPU_PROCESSES, Path("r.yaml"), Path("data"), "m", Path("out"), overrides
    )
    assert command == [
        *[sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(DDP)],
        *["--num_processes", "2", "--mixed_precision", "no", "-m", "ifplay.cli", "train"],
        *["r.yaml", "--dataset", "data", "--model", "m", "--output", "out", "--force"],
        *["--set", "max_steps=2", "--set", "learning_rate=1.0e-06"],
        *["--set", "lr_scheduler_type=cosine"],
    ]
    args = build_parser().parse_args(command[command.index("train") :])
    assert parse_settings(args.settings) == overrides  # what each rank trains with

    config_only = LaunchSpec(accelerate_config="c.yaml")
    command = launch_command(config_only, Path("r.yaml"), Path("data"), "m", Path("out"), {})
    assert command[3:9] == ["--config_file", "c.yaml", "-m", "ifplay.cli", "train", "r.yaml"]
    assert command[-1] == "--force"


def test_failure_cause_prefers_an_ifplay_error_then_a_rank_exception() -> None:
    torchrun = ["ChildFailedError:", "error_file: <N/A>", "traceback : see the docs", "====="]
    crash = ["[rank1]: Traceback (most recent call last):", '[rank1]:   File "x.py"']
    crash += ["[rank1]: ValueError: no process group", "[rank0]: RuntimeError: peer closed"]
    assert (
        failure_cause([*crash, "ifplay: error: r.yaml: beta: bad", *torchrun])
        == "r.yaml: beta: bad"
    )
    assert failure_cause([*crash, *torchrun]) == "ValueError: no process group"
    assert failure_cause(torchrun) == "error_file: <N/A> | traceback : see the docs | ====="


# -- the loop file ---------------------------------------------------------------------------


def _loop_with_launch(
    folder: Path, launch: str, model: Path | str = "smollm2-135m-instruct"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    loop = folder / "loop.yaml"
    loop.write_text(
        f"name: t\nmodel: {model}\niterations: 1\n"
        f"iteration:\n  pipeline: {REPO / 'pipelines/spin-quick.yaml'}\n  split: train\n"
        f"  recipe: {REPO / 'recipes/cpu/spin.yaml'}\n  launch: {launch}\n"
    )
    return loop


BAD_LAUNCH = [
    ("missing", "{accelerate_config: absent.yaml}", "no such file: absent.yaml"),
    ("not-a-mapping", "{accelerate_config: list.yaml}", "list.yaml: expected a mapping"),
    ("invalid-yaml", "{accelerate_config: broken.yaml}", "broken.yaml: line 2: invalid YAML"),
    ("zero-processes", f"{{accelerate_config: {DDP}, num_processes: 0}}", "greater than or equal"),
]


@pytest.mark.parametrize("case_id,launch,fragment", BAD_LAUNCH, ids=[b[0] for b in BAD_LAUNCH])
def test_bad_launch_is_a_one_line_config_error(
    case_id: str, launch: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "list.yaml").write_text("- num_processes: 2\n")
    (tmp_path / "broken.yaml").write_text("num_processes: [2\n")
    loop = _loop_with_launch(tmp_path, launch)
    assert main(["loop", str(loop), "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ifplay: error: {loop}: iteration.launch."), err
    assert fragment in err[0], err
    assert not (tmp_path / "run").exists()


def test_launch_config_is_found_beside_the_loop_file(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loops = tmp_path / "loops"
    (loops / "accelerate").mkdir(parents=True)
    (loops / "accelerate" / "ddp.yaml").write_text(DDP.read_text())
    loop = _loop_with_launch(
        loops, "{accelerate_config: accelerate/ddp.yaml, mixed_precision: no}", tiny_model_dir
    )
    monkeypatch.chdir(REPO)  # no accelerate/ddp.yaml here
    run = LoopRun(loop)
    assert run.launch == LaunchSpec(
        accelerate_config=str(loops / "accelerate" / "ddp.yaml"), mixed_precision="no"
    )  # an unquoted `no` (YAML's false) is accelerate's "no"
    assert run.refiner_launch is None


# -- real launches: 2 processes, gloo --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_train_stage_trains_on_two_ddp_processes(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_jsonl(tmp_path / "data", pair_rows(8))
    heldout = write_jsonl(tmp_path / "heldout", pair_rows(2)) / "data.jsonl"
    out = tmp_path / "iter-1" / "model"
    overrides = {**FAST, "max_steps": 2}
    summary = train_stage(
        DPO, data, str(tiny_model_dir), out, overrides, heldout, TWO_CPU_PROCESSES
    )
    assert summary["launcher"] == (
        f"accelerate launch --config_file {DDP} --num_processes 2 --mixed_precision no"
    )
    assert summary["dataset"] == str(data) and summary["rows"] == 8 and summary["steps"] == 2
    for key in ("train_loss", "rewards/margins", "heldout_reward_margin"):
        assert key in summary["metrics"]
    assert_model_folder(out)
    result = TrainResult.load(out)
    assert result.world_size == 2
    # 2 ranks x 2 rows a step: 2 steps are one epoch of the 8 rows (one process: half an epoch)
    assert result.log_history[-1]["epoch"] == 1.0
    assert result.config["max_steps"] == 2 and result.config["per_device_train_batch_size"] == 2


def test_a_failing_launch_names_the_stage_and_the_cause(tmp_path: Path) -> None:
    out = tmp_path / "iter-1" / "model"
    data = write_jsonl(tmp_path / "data", pair_rows(2))
    with pytest.raises(IfplayError) as caught:
        train_stage(DPO, data, "unused", out, {"max_stepz": 2}, None, TWO_CPU_PROCESSES)
    message = str(caught.value)
    assert message.startswith(f"training {out} (accelerate launch --config_file {DDP} ")
    assert "exited with code 1" in message
    assert message.endswith(f"{DPO} (overrides): max_stepz: unknown key (not a `trl dpo` option)")
    assert "\n" not in message
    assert not out.exists() and not list(out.parent.glob(".*partial*"))
