"""Per-step resources in pipeline declarations: validation, placement on distilabel steps, and the
capacity check that stops a run before any work when the machine cannot hold it."""

from pathlib import Path

import pytest
import yaml

from ifplay.cli import main
from ifplay.errors import ConfigError, IfplayError
from ifplay.pipelines import load_pipeline
from ifplay.pipelines.autoif import AutoIFConfig
from ifplay.pipelines.ray_cluster import forwarded_env, require_reachable
from ifplay.pipelines.resources import Capacity, check_capacity, step_placement

REPO = Path(__file__).resolve().parents[1]


def _declaration(tmp_path: Path, base: str, **updates) -> Path:
    config = yaml.safe_load((REPO / "pipelines" / base).read_text())
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


CASES = [
    (
        "autoif-quick.yaml",
        {"resources": {"smaple": {"replicas": 2}}},
        "resources: unknown step 'smaple' (steps: evolve, synthesize, crossval, backtranslate, "
        "check_backtranslation, sample, score)",
    ),
    (
        "spin-quick.yaml",
        {"resources": {"search": {"gpus": 1}}},
        "resources: unknown step 'search' (steps: sample)",
    ),
    (
        "autoif-quick.yaml",
        {"resources": {"sample": {"replicas": 0}}},
        "resources.sample.replicas: Input should be greater than or equal to 1",
    ),
    (
        "spar-quick.yaml",
        {"resources": {"search": {"gpus": 0}}},
        "resources.search.gpus: Input should be greater than or equal to 1",
    ),
    (
        "autoif-quick.yaml",
        {"resources": {"sample": {"gpus": 64}}},
        "resources: sample (1 x 64 GPU) need 64 GPUs at once; this machine has",
    ),
    (
        "autoif-quick.yaml",
        {"model": {"engine": "vllm", "tensor_parallel_size": 16}, "resources": {}},
        "resources: sample (1 x 16 GPU) need 16 GPUs at once; this machine has",
    ),
    (
        "generate-example.yaml",
        {"resources": {"generate": {"replicas": 32, "gpus": 2}}},
        "resources: generate (32 x 2 GPU) need 64 GPUs at once; this machine has",
    ),
]


@pytest.mark.parametrize("base,updates,fragment", CASES)
def test_bad_resources_fail_in_one_line_before_any_work(
    base: str, updates: dict, fragment: str, tmp_path: Path, capsys
):
    config = _declaration(tmp_path, base, **updates)
    output = tmp_path / "out"

    code = main(["generate", str(config), "--output", str(output)])

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ifplay: error: {config}: ")
    assert fragment in lines[0]
    assert not output.exists()


def _autoif(resources: dict) -> AutoIFConfig:
    return AutoIFConfig(name="x", resources=resources)


def test_stages_add_up_their_own_steps_only():
    one_gpu = Capacity(gpus=1, cpus=4, where="here")
    # evolve runs in the instruction stage, sample in the response stage: never at once
    check_capacity(_autoif({"evolve": {"gpus": 1}, "sample": {"gpus": 1}}), "f.yaml", one_gpu)
    with pytest.raises(ConfigError, match=r"evolve \(1 x 1 GPU\) \+ synthesize \(1 x 1 GPU\)"):
        check_capacity(_autoif({"evolve": {"gpus": 1}, "synthesize": {"gpus": 1}}), "f", one_gpu)
    with pytest.raises(ConfigError, match=r"need 6 CPUs at once; here has 4"):
        check_capacity(_autoif({"sample": {"replicas": 3, "cpus": 2}}), "f", one_gpu)


def test_unknown_cpu_capacity_is_not_checked():
    local = Capacity(gpus=0, cpus=None, where="this machine")
    check_capacity(_autoif({"sample": {"replicas": 8, "cpus": 64}}), "f", local)


def test_placement_names_the_step_and_converts_memory():
    config = _autoif({"sample": {"replicas": 3, "cpus": 2, "gpus": 1, "memory_gb": 1.5}})
    placed = step_placement(config, "sample")
    assert placed["name"] == "sample"
    resources = placed["resources"]
    assert (resources.replicas, resources.cpus, resources.gpus) == (3, 2, 1)
    assert resources.memory == int(1.5 * 2**30)
    assert step_placement(config, "score") == {"name": "score"}


def test_resources_do_not_change_the_data_fingerprint():
    plain = load_pipeline(REPO / "pipelines" / "autoif-quick.yaml")
    spread = plain.model_copy(update={"resources": {"sample": {"replicas": 4}}})
    assert spread.data_settings() == plain.data_settings()
    assert "resources" not in plain.data_settings()


def test_workers_get_the_runs_settings_but_not_unrelated_secrets(monkeypatch):
    monkeypatch.setenv("IFPLAY_CACHE", "/data/ifplay")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MY_ENDPOINT_KEY", "sk-endpoint")
    monkeypatch.setenv("UNRELATED_SECRET", "do-not-ship")
    env = forwarded_env(["MY_ENDPOINT_KEY"])
    assert env["IFPLAY_CACHE"] == "/data/ifplay"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["MY_ENDPOINT_KEY"] == "sk-endpoint"
    assert "UNRELATED_SECRET" not in env


@pytest.mark.parametrize(
    "address,fragment",
    [
        ("localhost", "expected HOST:PORT or ray://HOST:PORT"),
        ("127.0.0.1:notaport", "expected HOST:PORT"),
        ("127.0.0.1:PORT", "no Ray head answers there"),
        ("ray://127.0.0.1:PORT", "no Ray head answers there"),
    ],
)
def test_unreachable_or_malformed_ray_address_fails_fast(address: str, fragment: str):
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = address.replace("PORT", str(port))
    with pytest.raises(IfplayError, match=fragment) as err:
        require_reachable(address, timeout_s=2)
    assert str(err.value).startswith(f"--ray-address {address}: ")


LOOP_CASES = [
    ({"resources": {"sample": {"gpus": 64}}}, "", "sample (1 x 64 GPU) need 64 GPUs"),
    # the loop's engine replaces the pipeline's: a vLLM loop needs tensor_parallel_size GPUs
    ({"model": {"tensor_parallel_size": 16}}, "engine: vllm\n", "sample (1 x 16 GPU) need 16 GPUs"),
]


@pytest.mark.parametrize("pipeline_updates,loop_lines,fragment", LOOP_CASES, ids=["gpus", "vllm"])
def test_a_loop_whose_pipeline_cannot_fit_fails_before_any_work(
    tmp_path: Path, capsys, pipeline_updates: dict, loop_lines: str, fragment: str
):
    pipeline = _declaration(tmp_path, "spin-quick.yaml", **pipeline_updates)
    loop = tmp_path / "loop.yaml"
    loop.write_text(
        f"name: l\n{loop_lines}iterations: 1\niteration:\n  pipeline: {pipeline}\n  split: train\n"
        f"  recipe: {REPO / 'recipes/cpu/spin.yaml'}\neval: {{tasks: [ifeval], limit: 2}}\n"
    )
    output = tmp_path / "run"

    code = main(["loop", str(loop), "--output", str(output)])

    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ifplay: error: {loop}: iteration.pipeline: {pipeline}: ")
    assert f"{fragment} at once; this machine has" in lines[0]
    assert not output.exists()
