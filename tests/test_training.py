"""Training recipes and their checks, without training: recipe files, errors, results, helpers."""

from pathlib import Path

import pytest
from training_data import pair_rows, write_jsonl

from ifplay.cli import main
from ifplay.config import read_yaml
from ifplay.errors import ConfigError
from ifplay.outputs import staging_path
from ifplay.training import TrainResult, check_recipe, load_recipe
from ifplay.training.result import summarize

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
# recipe -> (method, beta or None); every recipe exists both for GPU and, under cpu/, for CPU
EXPECTED = {
    "sft": ("sft", None),
    "dpo": ("dpo", 0.3),
    "spin": ("dpo", 0.1),
    "spar-actor-dpo": ("dpo", 0.1),
    "spar-refiner-sft": ("sft", None),
}
CPU_DPO = RECIPES / "cpu" / "dpo.yaml"


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("variant", ["gpu", "cpu"])
def test_recipe_files_are_valid_trl_configs(name: str, variant: str) -> None:
    path = RECIPES / (f"cpu/{name}.yaml" if variant == "cpu" else f"{name}.yaml")
    method, beta = EXPECTED[name]
    # GPU recipes train in bf16, which TRL refuses on a CPU-only machine: check them CPU-side here.
    overrides = {} if variant == "cpu" else {"use_cpu": True, "bf16": False}
    recipe = check_recipe(path, overrides)
    assert recipe.method == method
    args = recipe.parse()
    if beta is not None:
        assert args.training.beta == beta
        assert args.training.loss_type == ["sigmoid"]
    if variant == "cpu":
        assert args.training.use_cpu is True and args.training.bf16 is False
        assert recipe.values["model_name_or_path"] == "smollm2-135m-instruct"
    else:
        assert read_yaml(path)["bf16"] is True
    assert args.data.datasets and args.data.datasets[0].path == "json"


def test_accelerate_configs_load() -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    ddp = ClusterConfig.from_yaml_file(str(RECIPES / "accelerate" / "ddp.yaml"))
    zero3 = ClusterConfig.from_yaml_file(str(RECIPES / "accelerate" / "zero3.yaml"))
    assert ddp.distributed_type == "MULTI_GPU"
    assert zero3.distributed_type == "DEEPSPEED" and zero3.deepspeed_config["zero_stage"] == 3


def _bad_recipe(tmp_path: Path, replace: tuple[str, str] | None, append: str = "") -> Path:
    text = CPU_DPO.read_text()
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    path = tmp_path / "recipe.yaml"
    path.write_text(text + append)
    return path


BAD = [
    # (id, (old, new) in recipes/cpu/dpo.yaml or None, text appended, expected fragment)
    ("unknown-key", None, "colour: red\n", "colour: unknown key (not a `trl dpo` option)"),
    ("wrong-type-str", ("beta: 0.3", "beta: high"), "", "beta: invalid float value: 'high'"),
    ("wrong-type-list", ("beta: 0.3", "beta: [0.3]"), "", "beta: expected float, got [0.3]"),
    ("wrong-type-bool", ("use_cpu: true", "use_cpu: 1"), "", "use_cpu: expected bool, got 1"),
    ("fractional-steps", None, "max_steps: 1.5\n", "max_steps: expected int, got 1.5"),
    (
        "bad-choice",
        None,
        "eval_strategy: sometimes\n",
        "eval_strategy: 'sometimes' is not one of: no,",
    ),
    ("dataset-key", ("split: train", "splitt: train"), "", "datasets[0].splitt: unknown key"),
    ("no-method", ("beta: 0.3\n", ""), "", "cannot tell the method"),
    ("both-methods", None, "packing: false\n", "mixes keys of different methods"),
    ("not-a-mapping", ("# Model arguments", "- a list\n# Model arguments"), "", "invalid YAML"),
]


@pytest.mark.parametrize(
    "replace,append,fragment", [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_recipe_is_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    replace: tuple[str, str] | None,
    append: str,
    fragment: str,
) -> None:
    recipe = _bad_recipe(tmp_path, replace, append)
    data = write_jsonl(tmp_path / "data", pair_rows(4))
    out = tmp_path / "model"
    argv = ["train", str(recipe), "--dataset", str(data), "--model", str(tiny_model_dir)]
    code = main([*argv, "--output", str(out), "--max-steps", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("ifplay: error: "), err
    assert fragment in err
    assert str(recipe) in err
    assert not out.exists()
    assert not any(p.name.startswith(".model") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    "rows,recipe,fragment",
    [
        ([{"prompt": "p", "chosen": "c"}], "dpo", "missing column 'rejected' (DPO needs"),
        ([{"question": "q", "answer": "a"}], "sft", "missing column 'messages' (SFT needs"),
        (
            [{"prompt": "p", "chosen": [{"role": "assistant", "content": "c"}], "rejected": "r"}],
            "dpo",
            "row 1: prompt, chosen and rejected must all be chat messages",
        ),
    ],
    ids=["dpo-no-rejected", "sft-no-messages", "dpo-mixed-formats"],
)
def test_missing_dataset_column_is_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    rows: list[dict],
    recipe: str,
    fragment: str,
) -> None:
    data = write_jsonl(tmp_path / "data", rows)
    out = tmp_path / "model"
    argv = ["train", str(RECIPES / "cpu" / f"{recipe}.yaml"), "--dataset", str(data)]
    code = main([*argv, "--model", str(tiny_model_dir), "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and fragment in err, err
    assert str(data / "data.jsonl") in err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--model", "/no/such/model"], "no such folder"),
        (["--dataset", "/no/such/data"], "/no/such/data: no such file or folder"),
        (["--max-steps", "0"], "--max-steps: must be >= 1"),
        (["--dataset", "SPLITS"], "holds the splits dpo, sft: pass one, e.g. "),
        (["--dataset", "EMPTY"], "data.jsonl: dataset has no rows"),
    ],
    ids=["missing-model", "missing-dataset", "zero-steps", "generated-splits", "empty-data"],
)
def test_bad_arguments_are_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiny_model_dir: Path,
    argv: list[str],
    fragment: str,
) -> None:
    data = write_jsonl(tmp_path / "data", pair_rows(4))
    generated = tmp_path / "generated"  # an `ifplay generate` output with two splits
    write_jsonl(generated / "dpo", pair_rows(4))
    write_jsonl(generated / "sft", [])
    named = {"SPLITS": str(generated), "EMPTY": str(generated / "sft")}
    argv = [named.get(arg, arg) for arg in argv]
    defaults = {"--dataset": str(data), "--model": str(tiny_model_dir)}
    for flag, value in defaults.items():
        if flag not in argv:
            argv = [*argv, flag, value]
    out = tmp_path / "model"
    code = main(["train", str(CPU_DPO), *argv, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and fragment in err, err
    assert not out.exists()


def test_existing_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model"
    out.mkdir()
    data = write_jsonl(tmp_path / "data", pair_rows(4))
    code = main(["train", str(CPU_DPO), "--dataset", str(data), "--output", str(out)])
    assert code == 2
    assert "output already exists (use --force" in capsys.readouterr().err


def test_overrides_are_checked_like_the_recipe() -> None:
    with pytest.raises(ConfigError, match=r"\(overrides\): max_step: unknown key"):
        load_recipe(CPU_DPO, {"max_step": 2})
    with pytest.raises(
        ConfigError, match=r"\(overrides\): learning_rate: expected float, got None"
    ):
        load_recipe(CPU_DPO, {"learning_rate": None})
    with pytest.raises(ConfigError, match=r"\(overrides\): beta: expected float, got True"):
        load_recipe(CPU_DPO, {"beta": True})
    recipe = load_recipe(CPU_DPO, {"max_steps": 3, "learning_rate": "1e-5"})
    args = recipe.parse()
    assert args.training.max_steps == 3 and args.training.learning_rate == 1e-5


def test_ref_model_only_for_dpo(tmp_path: Path, tiny_model_dir: Path) -> None:
    from ifplay.training import run_recipe

    with pytest.raises(ConfigError, match="reference model only applies to DPO"):
        run_recipe(
            RECIPES / "cpu" / "sft.yaml",
            model=str(tiny_model_dir),
            ref_model=str(tiny_model_dir),
            output_dir=tmp_path / "m",
        )


def test_train_result_round_trip(tmp_path: Path) -> None:
    history = [
        {"loss": 0.69, "rewards/margins": 0.0, "step": 1, "epoch": 0.5},
        {"loss": 0.6, "rewards/margins": 0.2, "step": 2, "epoch": 1.0},
    ]
    metrics = summarize(history, {"train_loss": 0.645, "train_runtime": 3.0, "total_flos": 1})
    assert metrics["loss"] == 0.6 and metrics["rewards/margins"] == 0.2
    assert metrics["train_loss"] == 0.645
    result = TrainResult(
        output_dir=tmp_path,
        method="dpo",
        metrics=metrics,
        log_history=history,
        steps=2,
        seconds=4.5,
        model="m",
        ref_model=None,
        dataset="d/data.jsonl",
        rows=8,
        recipe="recipes/cpu/dpo.yaml",
        config={"beta": 0.3},
    )
    result.write(tmp_path)
    assert TrainResult.load(tmp_path) == result


def test_a_killed_runs_staging_folder_is_replaced_and_a_failed_run_leaves_nothing(
    tmp_path: Path,
) -> None:
    """What a SIGKILLed training leaves (`.model.partial` with half a checkpoint) is cleared by the
    next run; a run that raises leaves neither its staging folder nor a final folder."""
    from ifplay.outputs import staged_folder, staging_path

    final = tmp_path / "model"
    leftover = staging_path(final)
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    with staged_folder(final) as staging:
        assert staging == leftover and list(staging.iterdir()) == []
        (staging / "config.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert [p.name for p in final.iterdir()] == ["config.json"]

    with pytest.raises(RuntimeError), staged_folder(tmp_path / "other") as staging:
        (staging / "config.json").write_text("{}")
        raise RuntimeError("killed by the test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_resolve_prints_the_checkpoint_path(
    capsys: pytest.CaptureFixture[str], embedded_checkpoint_dir: Path, tiny_model_dir: Path
) -> None:
    from ifplay.training.resolve import main as resolve

    assert resolve([]) == 0
    assert capsys.readouterr().out.strip() == str(embedded_checkpoint_dir)
    assert resolve([str(tiny_model_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(tiny_model_dir.resolve())
    assert resolve(["/no/such/model"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_failed_training_leaves_no_output_folder(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that dies mid-training (here: interrupted) leaves no model folder; its staging folder
    stays for the rerun to resume from."""
    import ifplay.training.run as run_module

    class Interrupted:
        def add_callback(self, callback: object) -> None:
            pass

        def train(self, **kwargs: object) -> None:
            raise KeyboardInterrupt

    seen: list[str] = []

    def fake_trainer(method: str, args: object, data: object, ref: object) -> Interrupted:
        seen.append(args.training.output_dir)  # type: ignore[attr-defined]
        Path(args.training.output_dir, "model.safetensors").write_text("half")  # type: ignore[attr-defined]
        return Interrupted()

    monkeypatch.setattr(run_module, "build_trainer", fake_trainer)
    data = write_jsonl(tmp_path / "data", pair_rows(4))
    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        run_module.run_recipe(CPU_DPO, dataset_dir=data, model=str(tiny_model_dir), output_dir=out)
    assert seen and Path(seen[0]).parent == tmp_path and seen[0] != str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.partial", "data"]
    assert Path(seen[0]) == staging_path(out)
