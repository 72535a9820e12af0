"""The repo folder `ifplay publish` builds: card metadata, provenance, determinism, bad input."""

import fnmatch
import json
from pathlib import Path

import pytest
from generated_data import make_generated, make_loop

from ifplay.cli import main
from ifplay.datadir import find_generated
from ifplay.hub import build_repo_folder, config_names, size_category

TOKEN = "hf_cardTestToken9876543210abcdef"


def build(data_dir: Path, folder: Path, repo_id: str = "acme/card", **kwargs):
    found = find_generated(data_dir)
    return build_repo_folder(found, config_names(found, None), folder, repo_id, **kwargs)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_card_metadata_is_valid_and_matches_the_files(tmp_path: Path) -> None:
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    repo = build(make_loop(tmp_path / "loop", iterations=2), tmp_path / "repo")
    card = DatasetCard.load(repo.path / "README.md", repo_type="dataset")
    meta = card.data.to_dict()
    assert meta["license"] == "apache-2.0"
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["pretty_name"] == "card"
    assert {"ifplay", "autoif", "dpo", "sft", "synthetic"} <= set(meta["tags"])
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    parts = ["dpo", "instructions", "responses", "sft"]
    assert sorted(configs) == [f"iter-{k}-{part}" for k in (1, 2) for part in parts]
    files = tree(repo.path)
    for name, config in configs.items():
        (entry,) = config["data_files"]
        assert entry["split"] == "train"
        assert [f for f in files if fnmatch.fnmatch(f, entry["path"])], name
    defaults = [c["config_name"] for c in meta["configs"] if c.get("default")]
    assert defaults == ["iter-2-dpo"]
    body = card.text
    assert 'load_dataset("acme/card", "iter-2-dpo", split="train")' in body
    assert "| model | `smollm2-135m-instruct` | transformers | 0.7 | 0.95 | 256 | 8 |" in body
    assert "| prompts.decontaminated | 2 |" in body
    assert "2 of 9 composed prompts overlapped and were removed" in body
    assert "chosen_pass_rate" in body and "generated with ifplay 0.1.0" in body


def test_provenance_reproduces_the_pipeline(tmp_path: Path) -> None:
    from ifplay.pipelines import load_pipeline

    data_dir = make_generated(tmp_path / "gen")
    repo = build(data_dir, tmp_path / "repo")
    run = json.loads((data_dir / "run.json").read_text())
    pipeline = load_pipeline(repo.path / "ifplay" / "default" / "pipeline.yaml")
    assert pipeline.model_dump(mode="json") == run["config"]
    record = json.loads((repo.path / "ifplay" / "default" / "record.json").read_text())
    assert (
        record["reproduce"][-1] == "ifplay generate ifplay/default/pipeline.yaml --output default"
    )
    assert record["stages"][0] == ["instructions.total", 2]
    assert repo.delete_patterns == ["data/default/*", "ifplay/default/*"]


def test_rebuild_gives_identical_files(tmp_path: Path) -> None:
    data_dir = make_generated(tmp_path / "gen")
    first = tree(build(data_dir, tmp_path / "a").path)
    second = tree(build(data_dir, tmp_path / "b").path)
    assert first == second
    assert sorted(f for f in first if f.startswith("data/")) == [
        f"data/default/{part}-00000-of-00001.parquet"
        for part in ("dpo", "instructions", "responses", "sft")
    ]


def test_single_split_run_is_one_config(tmp_path: Path) -> None:
    from huggingface_hub import DatasetCard

    repo = build(make_generated(tmp_path / "gen", with_pairs=False), tmp_path / "repo")
    meta = DatasetCard.load(repo.path / "README.md").data.to_dict()
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [{"split": "train", "path": "data/default/data-*"}],
        }
    ]
    assert sorted(tree(repo.path)) == [
        "README.md",
        "data/default/data-00000-of-00001.parquet",
        "ifplay/default/pipeline.yaml",
        "ifplay/default/record.json",
    ]


def test_token_never_reaches_the_folder(tmp_path: Path) -> None:
    data_dir = make_generated(tmp_path / "gen")
    run = json.loads((data_dir / "run.json").read_text())
    run["config"]["model"]["base_url"] = f"http://127.0.0.1:1/v1?key={TOKEN}"  # pasted by mistake
    (data_dir / "run.json").write_text(json.dumps(run))
    repo = build(data_dir, tmp_path / "repo", token=TOKEN)
    files = tree(repo.path)
    assert all(TOKEN.encode() not in content for content in files.values())
    assert b"key=<redacted>" in files["ifplay/default/pipeline.yaml"]


@pytest.mark.parametrize("rows, label", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K")])
def test_size_category(rows: int, label: str) -> None:
    assert size_category(rows) == label


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["publish", *argv])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing", "no such folder"),
        ("empty", "no dataset splits found"),
        ("bad-id", "is not a valid dataset repo id"),
        ("loop-config", "a loop run folder publishes one config per iteration"),
        ("bad-config", "is not a valid config name"),
    ],
)
def test_bad_input_is_one_line(case: str, message: str, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "built"
    data_dir, repo_id, extra = tmp_path / "nothing-here", "acme/ok", []
    if case == "empty":
        data_dir.mkdir()
        (data_dir / "notes.txt").write_text("no data\n")
    elif case == "bad-id":
        data_dir, repo_id = make_generated(tmp_path / "gen"), "not a repo"
    elif case == "loop-config":
        data_dir, extra = make_loop(tmp_path / "loop"), ["--config", "mine"]
    elif case == "bad-config":
        data_dir, extra = make_generated(tmp_path / "gen"), ["--config", "bad/name"]
    code, err = run_cli(
        capsys, str(data_dir), "--repo-id", repo_id, "--no-upload", "--folder", str(folder), *extra
    )
    assert code == 2
    assert err.startswith("ifplay: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not folder.exists()


def test_no_upload_builds_the_folder(tmp_path: Path, capsys) -> None:
    data_dir = make_generated(tmp_path / "gen")
    folder = tmp_path / "built"
    code = main(
        [
            "publish",
            str(data_dir),
            "--repo-id",
            "acme/local",
            "--no-upload",
            "--folder",
            str(folder),
        ]
    )
    assert code == 0
    assert (
        capsys.readouterr().out.strip() == f"acme/local: built default in {folder} (not uploaded)"
    )
    assert (folder / "README.md").is_file() and (folder / "data" / "default").is_dir()
    assert main(["publish", str(data_dir), "--repo-id", "acme/local", "--no-upload"]) == 2


def test_empty_parts_stay_off_the_hub(tmp_path: Path) -> None:
    from huggingface_hub import DatasetCard

    repo = build(make_generated(tmp_path / "gen", pairs=0), tmp_path / "repo")
    card = DatasetCard.load(repo.path / "README.md")
    assert card.data.to_dict()["configs"] == [
        {
            "config_name": "default-instructions",
            "data_files": [{"split": "train", "path": "data/default/instructions-*"}],
            "default": True,
        }
    ]
    assert "| dpo | (empty, not on the Hub) | 0 |" in card.text
    assert sorted(p.name for p in (repo.path / "data" / "default").iterdir()) == [
        "instructions-00000-of-00001.parquet"
    ]
