"""SPaR loops train the refiner too: stage order, which refiner each iteration uses, and the real
refiner training step (and its skip when the iteration produced no refiner data)."""

import json
from pathlib import Path

import pytest
from training_data import chat_rows, write_jsonl

from ifplay.loop.runner import LoopRun

SPAR_LOOP = """\
name: spar-refiner
model: {model}
iterations: 2
iteration:
  pipeline: {repo}/pipelines/spar-quick.yaml
  split: actor_dpo
  recipe: {repo}/recipes/cpu/spar-actor-dpo.yaml
  refiner:
    split: refiner_sft
    recipe: {repo}/recipes/cpu/spar-refiner-sft.yaml
    train_overrides: {{max_steps: 1, per_device_train_batch_size: 2, gradient_accumulation_steps: 1}}
eval: {{tasks: [ifeval], limit: 2, max_new_tokens: 4, baseline: false}}
"""


def _loop(tmp_path: Path, repo_root: Path, model: Path) -> LoopRun:
    loop_file = tmp_path / "loop.yaml"
    loop_file.write_text(SPAR_LOOP.format(model=model, repo=repo_root))
    return LoopRun(loop_file, output=tmp_path / "run")


def test_each_iteration_judges_with_the_refiner_trained_before_it(
    tmp_path: Path, repo_root: Path, tiny_model_dir: Path
) -> None:
    run = _loop(tmp_path, repo_root, tiny_model_dir)
    calls: list[tuple[str, str, str]] = []

    def generate(model: str, output: Path, refiner: str) -> dict:
        calls.append(("generate", model, refiner))
        output.mkdir(parents=True)
        return {}

    def train_refiner(model: str, output: Path, k: int) -> dict:
        calls.append(("train-refiner", model, str(output)))
        output.mkdir(parents=True)
        (output / "config.json").write_text("{}")
        return {}

    def train(model: str, output: Path, k: int) -> dict:
        calls.append(("train", model, str(output)))
        output.mkdir(parents=True)
        return {}

    def evaluate(model: str, output: Path) -> dict:
        output.mkdir(parents=True)
        return {"metrics": {}}

    run._generate, run._train_refiner, run._train, run._eval = (
        generate,
        train_refiner,
        train,
        evaluate,
    )
    root = run.run()
    start, it1 = str(tiny_model_dir), root / "iter-1"
    assert calls == [
        ("generate", start, start),
        ("train-refiner", start, str(it1 / "refiner")),
        ("train", start, str(it1 / "model")),
        ("generate", str(it1 / "model"), str(it1 / "refiner")),
        ("train-refiner", str(it1 / "refiner"), str(root / "iter-2" / "refiner")),
        ("train", str(it1 / "model"), str(root / "iter-2" / "model")),
    ]
    stages = list(json.loads((root / "manifest.json").read_text())["stages"])
    assert stages[:4] == ["iter-1/generate", "iter-1/train-refiner", "iter-1/train", "iter-1/eval"]


def test_refiner_training_runs_sft_and_skips_an_empty_split(
    tmp_path: Path, repo_root: Path, tiny_model_dir: Path
) -> None:
    run = _loop(tmp_path, repo_root, tiny_model_dir)
    data = run.root / "iter-1" / "data"
    write_jsonl(data / "refiner_sft", chat_rows(4))
    summary = run._train_refiner(str(tiny_model_dir), run.root / "iter-1" / "refiner", 1)
    assert summary["rows"] == 4 and summary["steps"] == 1
    assert (run.root / "iter-1" / "refiner" / "model.safetensors").is_file()

    write_jsonl(run.root / "iter-2" / "data" / "refiner_sft", [])
    skipped = run._train_refiner(str(tiny_model_dir), run.root / "iter-2" / "refiner", 2)
    assert skipped["skipped"] and skipped["rows"] == 0
    assert (run.root / "iter-2" / "refiner" / "SKIPPED").is_file()
    assert not (run.root / "iter-2" / "refiner" / "config.json").exists()


def test_a_model_override_builds_a_new_declaration(repo_root: Path) -> None:
    from ifplay.config import with_model
    from ifplay.loop.config import LoopConfig, pipeline_as_run
    from ifplay.pipelines import load_pipeline

    spar = load_pipeline(repo_root / "pipelines" / "spar-quick.yaml")
    before = spar.model_dump()
    renamed = with_model(spar, name="runs/x/model", engine="vllm")
    assert (renamed.model.name, renamed.model.engine) == ("runs/x/model", "vllm")
    assert renamed.model.n == spar.model.n and renamed.search == spar.search
    loop = LoopConfig.model_validate(
        {
            "name": "l",
            "engine": "vllm",
            "iterations": 1,
            "iteration": {
                "pipeline": "p.yaml",
                "recipe": "r.yaml",
                "refiner": {"split": "refiner_sft", "recipe": "r.yaml"},
            },
        }
    )
    run = pipeline_as_run(loop, spar, "runs/l/iter-1/model", "runs/l/iter-1/refiner")
    assert (run.model.name, run.refiner.name) == ("runs/l/iter-1/model", "runs/l/iter-1/refiner")
    assert run.model.engine == run.refiner.engine == "vllm"
    assert spar.model_dump() == before  # the declaration given is untouched
    with pytest.raises(ValueError, match="engine"):
        with_model(spar, engine="tensorrt")
