"""`ifplay generate --ray` on a real local Ray cluster (a head on 127.0.0.1, started and stopped
here): the same AutoIF declaration gives the local run's splits, and a declaration the cluster
cannot hold fails before any work starts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]
SPLITS = ("sft", "dpo", "instructions", "responses")


@pytest.fixture(scope="module")
def ray_head() -> str:
    """A Ray head on 127.0.0.1 with 2 CPUs and no GPU, stopped after the module's tests."""
    from ifplay.pipelines.ray_cluster import local_head

    with local_head(num_cpus=2) as address:
        yield address


def _small_autoif(folder: Path, resources: dict) -> Path:
    """`pipelines/autoif-quick.yaml` at small sizes: 3 seed families, 2-response samples, two
    response chunks (so one pipeline name runs twice on the cluster)."""
    config = yaml.safe_load((REPO / "pipelines" / "autoif-quick.yaml").read_text())
    config["name"] = "autoif-ray"
    config["seeds"]["families"] = ["case.lowercase", "format.bullets", "format.json"]
    config["evolve"].update(rewrites=1, max_seeds=1, max_new_tokens=24)
    config["supervisor"].update(max_new_tokens=48, batch_size=4)
    config["verifiers"].update(functions=1, max_new_tokens=96)
    config["backtranslation"]["max_new_tokens"] = 24
    config["model"].update(n=2, max_new_tokens=96, batch_size=4)
    config["queries"]["per_instruction"] = 2
    config["checkpoint_every"] = 2
    config["resources"] = resources
    path = folder / "autoif-small.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _generate(config: Path, output: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ifplay.cli", "generate", str(config), "--output", str(output)]
        + ["--limit", "4", "--no-cache", *extra],
        capture_output=True,
        text=True,
        timeout=1200,
    )


@pytest.mark.slow
def test_ray_run_matches_the_local_run(ray_head: str, tmp_path: Path):
    import datasets

    config = _small_autoif(tmp_path, {"sample": {"replicas": 2}, "score": {"cpus": 1}})
    local = _generate(config, tmp_path / "local")
    assert local.returncode == 0, local.stderr[-3000:]
    on_ray = _generate(config, tmp_path / "ray", "--ray", "--ray-address", ray_head)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert f"on the Ray cluster at {ray_head}: 2 CPUs, 0 GPUs" in on_ray.stderr

    for split in SPLITS:
        expected = datasets.load_from_disk(str(tmp_path / "local" / split / "dataset"))
        got = datasets.load_from_disk(str(tmp_path / "ray" / split / "dataset"))
        assert got.num_rows == expected.num_rows, split
        assert got.features == expected.features, split
    assert datasets.load_from_disk(str(tmp_path / "ray" / "responses" / "dataset")).num_rows == 4


@pytest.mark.parametrize(
    "resources,fragment",
    [
        ({"sample": {"gpus": 1}}, "sample (1 x 1 GPU) need 1 GPUs at once"),
        (
            {"sample": {"replicas": 2, "cpus": 1}, "score": {"cpus": 1}},
            "sample (2 x 1 CPU) + score (1 x 1 CPU) need 3 CPUs at once",
        ),
    ],
    ids=["gpu", "cpus"],
)
def test_more_than_the_cluster_has_fails_before_work(
    ray_head: str, tmp_path: Path, resources: dict, fragment: str
):
    config = _small_autoif(tmp_path, resources)
    result = _generate(config, tmp_path / "out", "--ray-address", ray_head)

    lines = [line for line in result.stderr.splitlines() if line.startswith("ifplay: error:")]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr[-3000:]
    assert fragment in lines[0]
    assert f"the Ray cluster at {ray_head} has" in lines[0]
    assert str(config) in lines[0]
    assert not (tmp_path / "out").exists()


LOOP = """\
name: ray-loop
model: {model}
iterations: 1
iteration:
  pipeline: {pipeline}
  split: train
  recipe: {recipe}
  train_overrides: {{max_steps: 1, per_device_train_batch_size: 2, gradient_accumulation_steps: 1}}
eval: {{tasks: [ifeval], limit: 2, max_new_tokens: 8, baseline: false}}
"""


def _tiny_spin_loop(folder: Path, model: Path | str) -> Path:
    """A one-iteration SPIN loop on a tiny random model: 8 real answers, 2 held out."""
    from training_data import chat_rows, write_jsonl

    data = write_jsonl(folder / "sft", chat_rows(8)) / "data.jsonl"
    pipeline = folder / "spin.yaml"
    pipeline.write_text(
        f"kind: spin\nname: ray-spin\ndata: {{source: {data}, heldout: 2}}\n"
        "model: {name: smollm2-135m-instruct, max_new_tokens: 8, batch_size: 4}\n"
        "resources: {sample: {replicas: 2}}\n"
    )
    loop = folder / "loop.yaml"
    loop.write_text(
        LOOP.format(model=model, pipeline=pipeline, recipe=REPO / "recipes/cpu/spin.yaml")
    )
    return loop


@pytest.mark.slow
def test_a_loop_generates_on_ray(ray_head: str, tmp_path: Path, tiny_model_dir: Path):
    import json

    loop = _tiny_spin_loop(tmp_path, tiny_model_dir)
    run = subprocess.run(
        [sys.executable, "-m", "ifplay.cli", "loop", str(loop), "--output", str(tmp_path / "run")]
        + ["--ray-address", ray_head],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    stages = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]
    generate = stages["iter-1/generate"]["summary"]
    assert generate["ran_on"] == f"the Ray cluster at {ray_head}: 2 CPUs, 0 GPUs"
    assert generate["splits"] == {"train": 6, "heldout": 2}
    assert all(stage["status"] == "done" for stage in stages.values())


@pytest.mark.parametrize("named_by", ["flag", "env"])
def test_a_loop_with_an_unreachable_ray_head_fails_before_any_work(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, named_by: str
):
    """The head is named by --ray-address, or by $RAY_ADDRESS under a plain --ray."""
    import socket

    from ifplay.cli import main

    loop = _tiny_spin_loop(tmp_path, "smollm2-135m-instruct")
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    if named_by == "env":
        monkeypatch.setenv("RAY_ADDRESS", address)
        target, named = ["--ray"], "$RAY_ADDRESS"
    else:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
        target, named = ["--ray-address", address], "--ray-address"

    code = main(["loop", str(loop), "--output", str(tmp_path / "run"), *target])

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code != 0
    assert lines == [
        f"ifplay: error: {named} {address}: no Ray head answers there (Connection refused)"
    ]
    assert not (tmp_path / "run").exists()


def test_plain_ray_flag_starts_its_own_instance_beside_a_running_cluster(
    ray_head: str, tmp_path: Path, tiny_model_dir: Path
):
    config = REPO / "pipelines" / "generate-example.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "ifplay.cli", "generate", str(config), "--ray"]
        + ["--output", str(tmp_path / "out"), "--limit", "2", "--model", str(tiny_model_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env={key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "on the local Ray cluster:" in run.stderr
    assert (tmp_path / "out" / "data.jsonl").read_text().count("\n") == 2
