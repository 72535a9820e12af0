"""`ifplay publish`: the repo folder read back through a real olah server with `datasets`.

No writable Hub server installs here, so olah serves the built folders read-only from git repos; a
Hub commit (`upload_folder` with its `delete_patterns`) is applied to those repos by
`servers.commit_to_mirror`. Everything else runs as users run it: `datasets.load_dataset` and the
`ifplay publish` command in fresh processes with HF_ENDPOINT pointed at olah and an empty HF cache.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from generated_data import make_generated, make_loop
from servers import OLAH_INSTALL, commit_to_mirror, find_python, start_olah

from ifplay.datadir import find_generated
from ifplay.hub import build_repo_folder, config_names

TESTS_DIR = Path(__file__).resolve().parent
FAKE_TOKEN = "hf_ifplayFakeTokenForTests0123456789"


@pytest.fixture(scope="session")
def olah(tmp_path_factory: pytest.TempPathFactory):
    python = find_python("IFPLAY_OLAH_PYTHON", "olah", "olah")
    if python is None:
        pytest.skip(f"olah is not installed (install: {OLAH_INSTALL}, or set IFPLAY_OLAH_PYTHON)")
    server = start_olah(python, tmp_path_factory.mktemp("olah"))
    yield server
    server.processes.stop()


def hub_env(olah, home: Path, token: str | None = FAKE_TOKEN) -> dict[str, str]:
    """A user's environment: the Hub is olah, the HF cache is new and empty."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=olah.url, HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1")
    if token:
        env["HF_TOKEN"] = token
    return env


READ_BACK = """
import json, sys
import datasets
from datasets import get_dataset_config_names, load_dataset
from huggingface_hub import DatasetCard

datasets.disable_progress_bars()
repo_id = sys.argv[1]
out = {"configs": sorted(get_dataset_config_names(repo_id)), "data": {}}
for config in out["configs"]:
    loaded = load_dataset(repo_id, config)
    out["data"][config] = {
        split: {"features": ds.features.to_dict(), "rows": ds.to_list()}
        for split, ds in loaded.items()
    }
out["default_rows"] = load_dataset(repo_id, split="train").to_list()
out["card"] = DatasetCard.load(repo_id, repo_type="dataset").data.to_dict()
print(json.dumps(out))
"""


def read_back(olah, repo_id: str, home: Path) -> dict:
    """Configs, every split's features and rows, and the card metadata, as a fresh user sees them."""
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK, repo_id],
        env=hub_env(olah, home, token=None),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def local_splits(data_dir: Path, config: str) -> dict[str, dict]:
    """The generated folder's own splits, keyed like `read_back`'s data: Hub config -> train."""
    (data,) = find_generated(data_dir)
    out = {}
    for split in data.splits:
        ds = data.load(split)
        out[f"{config}-{split}"] = {
            "train": {"features": ds.features.to_dict(), "rows": ds.to_list()}
        }
    return out


def test_repo_folder_round_trips_through_olah(olah, tmp_path: Path) -> None:
    data_dir = make_generated(tmp_path / "gen", pairs=1200, pad=1000)
    found = find_generated(data_dir)
    repo = build_repo_folder(
        found, config_names(found, None), tmp_path / "repo", "acme/roundtrip", max_shard_mb=1
    )
    shards = sorted(p.name for p in (repo.path / "data" / "default").iterdir())
    assert "dpo-00000-of-00002.parquet" in shards and "dpo-00001-of-00002.parquet" in shards
    commit_to_mirror(olah.mirrors, "acme/roundtrip", repo.path, repo.delete_patterns)

    served = read_back(olah, "acme/roundtrip", tmp_path / "hf-home")

    parts = ["dpo", "instructions", "responses", "sft"]
    assert served["configs"] == [f"default-{part}" for part in parts]
    expected = local_splits(data_dir, "default")
    assert served["data"] == expected
    assert served["default_rows"] == expected["default-dpo"]["train"]["rows"]
    card = served["card"]
    assert card["license"] == "apache-2.0" and card["task_categories"] == ["text-generation"]
    assert card["size_categories"] == ["1K<n<10K"]
    assert {"ifplay", "autoif", "dpo", "sft"} <= set(card["tags"])


DRIVER = """
import json, os, sys, types
sys.path.insert(0, {tests!r})
from pathlib import Path
import huggingface_hub
from servers import commit_to_mirror

mirrors, log = Path(os.environ["MIRRORS"]), Path(os.environ["CALLS"])

def record(name, **kw):
    with log.open("a") as handle:
        handle.write(json.dumps({{"call": name, **kw}}) + "\\n")

def create_repo(self, repo_id, repo_type=None, private=None, exist_ok=False, **kw):
    record("create_repo", repo_id=repo_id, private=private, token=self.token == os.environ["HF_TOKEN"])

def update_repo_settings(self, repo_id, private=None, **kw):
    record("update_repo_settings", repo_id=repo_id, private=private)

def delete_repo(self, repo_id, **kw):
    record("delete_repo", repo_id=repo_id)

def upload_folder(self, repo_id, folder_path, delete_patterns=None, **kw):
    files = sorted(p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file())
    record("upload_folder", repo_id=repo_id, files=files, delete_patterns=delete_patterns)
    if os.environ.get("FAIL_UPLOAD"):
        raise OSError("connection reset by peer")
    sha = commit_to_mirror(mirrors, repo_id, Path(folder_path), delete_patterns)
    return types.SimpleNamespace(commit_url=f"{{self.endpoint}}/datasets/{{repo_id}}/commit/{{sha}}")

api = huggingface_hub.HfApi
api.create_repo, api.update_repo_settings = create_repo, update_repo_settings
api.delete_repo, api.upload_folder = delete_repo, upload_folder
from ifplay.cli import main
sys.exit(main(sys.argv[1:]))
"""


def publish(olah, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`ifplay publish ARGS` in a fresh process whose Hub writes land in olah's git repos."""
    driver = tmp_path / "publish_driver.py"
    driver.write_text(textwrap.dedent(DRIVER.format(tests=str(TESTS_DIR))))
    full_env = hub_env(olah, tmp_path / "hf-publisher")
    full_env.update(MIRRORS=str(olah.mirrors), CALLS=str(tmp_path / "calls.jsonl"), **env)
    return subprocess.run(
        [sys.executable, str(driver), "publish", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def calls(tmp_path: Path) -> list[dict]:
    path = tmp_path / "calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


def mirror_files(olah, repo_id: str) -> dict[str, bytes]:
    root = olah.mirrors / "datasets" / repo_id
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_publish_iterations_as_configs_idempotently(olah, tmp_path: Path) -> None:
    loop = make_loop(tmp_path / "loop", iterations=2)
    repo_id = "acme/selfplay"

    first = publish(olah, tmp_path, str(loop / "iter-1" / "data"), "--repo-id", repo_id)
    assert first.returncode == 0, first.stderr
    assert f"{repo_id}: published iter-1 -> {olah.url}/datasets/{repo_id}/commit/" in first.stdout
    made = calls(tmp_path)
    assert [c["call"] for c in made] == ["create_repo", "upload_folder"]
    assert made[0]["private"] is True and made[0]["token"] is True  # private by default
    assert made[1]["delete_patterns"] == ["data/iter-1/*", "ifplay/iter-1/*"]

    # a shard left by an earlier publish with other sharding must not survive the next one
    stale = tmp_path / "stale"
    (stale / "data" / "iter-2").mkdir(parents=True)
    (stale / "data" / "iter-2" / "dpo-00000-of-00002.parquet").write_bytes(b"old")
    commit_to_mirror(olah.mirrors, repo_id, stale, [])

    second = publish(olah, tmp_path, str(loop / "iter-2" / "data"), "--repo-id", repo_id)
    assert second.returncode == 0, second.stderr
    files = mirror_files(olah, repo_id)
    assert "data/iter-2/dpo-00000-of-00002.parquet" not in files
    assert {
        "data/iter-1/dpo-00000-of-00001.parquet",
        "data/iter-2/dpo-00000-of-00001.parquet",
    } <= set(files)
    assert "ifplay/iter-2/loop.yaml" in files and "ifplay/iter-1/pipeline.yaml" in files
    calls(tmp_path)

    # the same data again: the same files, so the repo does not change at all
    head = subprocess.run(
        ["git", "-C", str(olah.mirrors / "datasets" / repo_id), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout
    again = publish(olah, tmp_path, str(loop / "iter-2" / "data"), "--repo-id", repo_id)
    assert again.returncode == 0, again.stderr
    assert mirror_files(olah, repo_id) == files
    assert (
        head
        == subprocess.run(
            ["git", "-C", str(olah.mirrors / "datasets" / repo_id), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout
    )

    served = read_back(olah, repo_id, tmp_path / "hf-reader")
    expected = {}
    for k in (1, 2):
        expected.update(local_splits(loop / f"iter-{k}" / "data", f"iter-{k}"))
    assert served["data"] == expected
    assert served["default_rows"] == expected["iter-2-dpo"]["train"]["rows"]
    readme = files["README.md"].decode()
    assert "## Configuration `iter-1`" in readme and "## Configuration `iter-2`" in readme
    assert FAKE_TOKEN.encode() not in b"".join(files.values())
    assert FAKE_TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_failed_upload_leaves_nothing(olah, tmp_path: Path) -> None:
    data_dir = make_generated(tmp_path / "gen")
    folder = tmp_path / "built"
    done = publish(
        olah,
        tmp_path,
        str(data_dir),
        "--repo-id",
        "acme/never",
        "--folder",
        str(folder),
        FAIL_UPLOAD="1",
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "ifplay: error: acme/never: upload failed (connection reset by peer)"
    )
    assert [c["call"] for c in calls(tmp_path)] == ["create_repo", "upload_folder", "delete_repo"]
    assert not folder.exists() and not list(tmp_path.glob(".built.partial*"))
    assert not (olah.mirrors / "datasets" / "acme" / "never").exists()


def test_publish_public_and_no_token(olah, tmp_path: Path) -> None:
    data_dir = make_generated(tmp_path / "gen")
    done = publish(olah, tmp_path, str(data_dir), "--repo-id", "acme/open", "--public")
    assert done.returncode == 0, done.stderr
    made = calls(tmp_path)
    assert made[0]["private"] is False
    assert made[1] == {**made[1], "call": "update_repo_settings", "private": False}

    no_token = publish(olah, tmp_path, str(data_dir), "--repo-id", "acme/open", HF_TOKEN="")
    assert no_token.returncode == 2 and calls(tmp_path) == []
    assert no_token.stderr.startswith("ifplay: error: no Hugging Face token")
    assert len(no_token.stderr.strip().splitlines()) == 1
