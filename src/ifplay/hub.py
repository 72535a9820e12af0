"""Publish generated data to the Hugging Face Hub as a dataset repo that says how to reproduce it.

`build_repo_folder` writes the exact repo content: parquet shards under `data/<config>/<split>-*.parquet`,
one provenance folder per config (`ifplay/<config>/record.json`, `pipeline.yaml`, and `loop.yaml` for
loop iterations), and `README.md`, a dataset card rendered from `hub/dataset_card.md.j2` with YAML
metadata (configs, license, task categories, tags, size category). Several iterations live in one repo
as configs: the card lists every config whose record is in the repo.

The Hub requires every split of a Hub config to share one schema, and a run's splits differ (`dpo`,
`sft`, `instructions`, ...). So a published config `iter-1` becomes one Hub config per split, named
`iter-1-dpo`, `iter-1-sft`, ... (just `iter-1` when the run has one split), each with a `train` split
read from `data/iter-1/<split>-*.parquet`: `load_dataset(repo_id, "iter-1-dpo", split="train")`, and
TRL's `--dataset_config iter-1-dpo` trains on it as it is. The newest config's preference split is the
repo's default.

`upload_repo_folder` is the thin call to `HfApi.upload_folder`; it replaces the published config's
files in one commit, so re-publishing the same data changes nothing and never leaves stale shards.
"""

import json
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ifplay.datadir import PAIR_COLUMNS, GeneratedData
from ifplay.errors import IfplayError, first_line

# Card template and Argilla settings, shipped in the package (a checkout's top-level `hub/` links here).
HUB_DIR = Path(__file__).resolve().parent / "hub_files"
CARD_TEMPLATE = "dataset_card.md.j2"
DEFAULT_LICENSE = "apache-2.0"
DEFAULT_MAX_SHARD_MB = 500
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_CONFIG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SPLIT = re.compile(r"^\w+(\.\w+)*$")
_RECORD = re.compile(r"^ifplay/([^/]+)/record\.json$")
_SIZES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]
_METRIC_WORDS = ("pass_rate", "score", "vote")


@dataclass
class RepoFolder:
    """A built repo folder: where it is, which configs it carries, and what it replaces remotely."""

    path: Path
    repo_id: str
    configs: list[str]

    @property
    def delete_patterns(self) -> list[str]:
        """Remote files of the published configs that the upload replaces (no stale shards)."""
        return [f"{top}/{name}/*" for name in self.configs for top in ("data", "ifplay")]


def check_repo_id(repo_id: str) -> None:
    """Accept `ORG/NAME` with Hub-valid characters; anything else is a one-line error."""
    bad = not _REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id
    if bad or repo_id.endswith((".git", ".")):
        raise IfplayError(f"--repo-id: {repo_id!r} is not a valid dataset repo id (use ORG/NAME)")


def config_names(found: list[GeneratedData], config: str | None) -> list[str]:
    """One config name per generated folder: `--config`, else `iter-<k>`, else `default`."""
    if config is not None:
        if len(found) > 1:
            raise IfplayError(
                "--config: a loop run folder publishes one config per iteration (iter-<k>); "
                "give one iteration's data folder to choose its name"
            )
        names = [config]
    else:
        names = [f"iter-{d.iteration}" if d.iteration is not None else "default" for d in found]
    for name in names:
        if not _CONFIG.match(name):
            raise IfplayError(
                f"--config: {name!r} is not a valid config name (letters, digits, _.-)"
            )
    for data in found:
        for split in data.splits:
            if not _SPLIT.match(split):
                raise IfplayError(f"{data.splits[split]}: {split!r} is not a valid split name")
    return names


def size_category(rows: int) -> str:
    """The Hub's size bucket for a row count."""
    return next((label for limit, label in _SIZES if rows < limit), "n>1B")


def source_commit() -> str | None:
    """The git commit of the ifplay checkout in use (`+dirty` with local changes), if it is one."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=20
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or (Path(top) / "src" / "ifplay").resolve() != here:
        return None
    head = git("rev-parse", "HEAD")
    if not head:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + ("+dirty" if dirty else "")


def _flatten(stats: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """{'a': {'b': 1}} -> [('a.b', 1)]: per-stage counts as table rows."""
    if isinstance(stats, dict):
        rows: list[tuple[str, Any]] = []
        for key, value in stats.items():
            rows += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, stats)]


def _roles(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every model role of a pipeline config (a mapping with a model `name` and an `engine`)."""
    keys = ("name", "engine", "temperature", "top_p", "max_new_tokens", "n", "seed")
    return [
        {"role": role, **{key: spec.get(key) for key in keys}}
        for role, spec in config.items()
        if isinstance(spec, dict) and "name" in spec and "engine" in spec
    ]


def _loop_record(data: GeneratedData) -> dict[str, Any] | None:
    """The loop's manifest when the data is `<loop run>/iter-<k>/data`, else None."""
    if data.iteration is None or data.root.name != "data":
        return None
    manifest = data.root.parent.parent / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def hub_config_name(config: str, split: str, single: bool) -> str:
    """The Hub config that holds one split of a published config."""
    return config if single else f"{config}-{split}"


def _split_summary(name: str, hub_config: str, ds: Any, shards: list[str]) -> dict[str, Any]:
    """Rows, columns, shard files and the mean of every pass-rate / score / vote column."""
    means = {}
    for column, feature in ds.features.items():
        dtype = getattr(feature, "dtype", "")
        numeric = dtype.startswith(("float", "int")) or dtype == "bool"
        if numeric and any(word in column for word in _METRIC_WORDS) and len(ds):
            values = [float(v) for v in ds[column] if v is not None]
            if values:
                means[column] = round(sum(values) / len(values), 4)
    return {
        "name": name,
        "hub_config": hub_config,
        "rows": len(ds),
        "columns": list(ds.column_names),
        "shards": shards,
        "means": means,
    }


def _write_shards(ds: Any, folder: Path, split: str, max_shard_bytes: int) -> list[str]:
    """Write `ds` as `<split>-0000i-of-0000n.parquet` shards; returns their file names (none for
    an empty split: the Hub cannot serve a split without rows)."""
    if len(ds) == 0:
        return []
    count = min(len(ds), max(1, math.ceil(ds.data.nbytes / max_shard_bytes)))
    names = []
    for index in range(count):
        name = f"{split}-{index:05d}-of-{count:05d}.parquet"
        ds.shard(num_shards=count, index=index, contiguous=True).to_parquet(str(folder / name))
        names.append(name)
    return names


def _reproduce(
    repo_id: str, config: str, version: str, has_pipeline: bool, manifest: dict[str, Any] | None
) -> list[str]:
    """The shell commands that regenerate this config's data."""
    if not has_pipeline:
        return []
    commands = [f'pip install "ifplay=={version}"']
    if manifest is not None:
        name = manifest.get("name", "<name>")
        commands.append(
            f"ifplay loop {manifest.get('loop_file', 'LOOP.yaml')}  "
            f"# from an ifplay checkout; writes runs/{name}/iter-<k>/data"
        )
        return commands
    commands.append(
        f"hf download {repo_id} ifplay/{config}/pipeline.yaml --repo-type dataset --local-dir ."
    )
    commands.append(f"ifplay generate ifplay/{config}/pipeline.yaml --output {config}")
    return commands


def build_record(
    data: GeneratedData, config: str, repo_id: str, splits: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything the card says about one config, from the run's own records."""
    run_config = data.run.get("config") or {}
    version = str(data.run.get("ifplay_version") or "unknown")
    manifest = _loop_record(data)
    loop = None
    if manifest is not None:
        loop = {
            "name": manifest.get("name"),
            "file": manifest.get("loop_file"),
            "iteration": data.iteration,
        }
    decontamination = run_config.get("decontamination")
    prompts = data.stats.get("prompts") if isinstance(data.stats.get("prompts"), dict) else {}
    return {
        "config": config,
        "method": data.method,
        "iteration": data.iteration,
        "ifplay_version": version,
        "git_commit": data.run.get("git_commit"),
        "published_from": source_commit(),
        "seconds": data.run.get("seconds"),
        "splits": splits,
        "roles": _roles(run_config),
        "stages": _flatten(data.stats),
        "decontamination": (
            {
                "settings": decontamination,
                "composed": prompts.get("composed"),
                "removed": prompts.get("decontaminated"),
                "references": prompts.get("references"),
            }
            if isinstance(decontamination, dict)
            else None
        ),
        "loop": loop,
        "config_file": data.run.get("config_file"),
        "reproduce": _reproduce(repo_id, config, version, bool(run_config), manifest),
    }


def render_card(repo_id: str, records: dict[str, dict[str, Any]], license_id: str) -> str:
    """README.md for the repo: YAML metadata (every config's splits) and a body per config."""
    from huggingface_hub import DatasetCard, DatasetCardData

    template = HUB_DIR / CARD_TEMPLATE
    if not template.is_file():
        raise IfplayError(f"{template}: dataset card template not found")
    ordered = [records[name] for name in sorted(records, key=_config_order)]
    rows = sum(split["rows"] for record in ordered for split in record["splits"])
    methods = sorted({record["method"] for record in ordered})
    split_names = sorted({split["name"] for record in ordered for split in record["splits"]})
    tags = ["ifplay", "synthetic", "instruction-following", *methods]
    tags += [name for name in ("dpo", "sft") if name in split_names]
    published = [(r, s) for r in ordered for s in r["splits"] if s["shards"]]
    if not published:
        raise IfplayError("nothing to publish: every split is empty")
    entries = [
        {
            "config_name": split["hub_config"],
            "data_files": [
                {"split": "train", "path": f"data/{record['config']}/{split['name']}-*"}
            ],
        }
        for record, split in published
    ]
    names = [entry["config_name"] for entry in entries]
    clash = {name for name in names if names.count(name) > 1}
    if clash:
        raise IfplayError(f"--config: Hub config name {sorted(clash)[0]!r} would be used twice")
    default = "default" if "default" in names else _default_config(published)
    if default != "default":  # a config named `default` is the Hub's default already
        for entry in entries:
            if entry["config_name"] == default:
                entry["default"] = True
    card_data = DatasetCardData(
        license=license_id,
        task_categories=["text-generation"],
        tags=tags,
        size_categories=[size_category(rows)],
        pretty_name=repo_id.split("/", 1)[1],
        configs=entries,
    )
    card = DatasetCard.from_template(
        card_data,
        template_str=template.read_text(encoding="utf-8"),
        repo_id=repo_id,
        records=ordered,
        methods=methods,
        default=default,
    )
    return str(card)


def _default_config(published: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """The newest run's preference pairs (else its first published part) as the repo default."""
    newest = [split for record, split in published if record is published[-1][0]]
    pairs = [split for split in newest if set(PAIR_COLUMNS) <= set(split["columns"])]
    return (pairs or newest)[0]["hub_config"]


def _config_order(name: str) -> tuple[int, str]:
    match = re.match(r"^iter-(\d+)$", name)
    return (int(match.group(1)), "") if match else (1 << 30, name)


def _redact(folder: Path, token: str | None) -> None:
    """Remove the HF token from every text file of the repo folder (it never belongs there)."""
    if not token:
        return
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".md", ".json", ".yaml"}:
            text = path.read_text(encoding="utf-8")
            if token in text:
                path.write_text(text.replace(token, "<redacted>"), encoding="utf-8")


def build_repo_folder(
    found: list[GeneratedData],
    names: list[str],
    folder: Path,
    repo_id: str,
    existing: dict[str, dict[str, Any]] | None = None,
    license_id: str = DEFAULT_LICENSE,
    max_shard_mb: int = DEFAULT_MAX_SHARD_MB,
    token: str | None = None,
) -> RepoFolder:
    """Write the repo content for `found` (config `names[i]` each) into the empty `folder`.

    `existing` holds the records of configs already in the remote repo; they stay in the card.
    """
    records = dict(existing or {})
    for data, config in zip(found, names, strict=True):
        shard_dir = folder / "data" / config
        shard_dir.mkdir(parents=True)
        splits = []
        for split in data.splits:
            ds = data.load(split)
            shards = _write_shards(ds, shard_dir, split, max_shard_mb * 1024 * 1024)
            hub_config = hub_config_name(config, split, len(data.splits) == 1)
            splits.append(_split_summary(split, hub_config, ds, shards))
        record = build_record(data, config, repo_id, splits)
        provenance = folder / "ifplay" / config
        provenance.mkdir(parents=True)
        (provenance / "record.json").write_text(json.dumps(record, indent=2) + "\n")
        if data.run.get("config"):
            text = yaml.safe_dump(data.run["config"], sort_keys=False, allow_unicode=True)
            (provenance / "pipeline.yaml").write_text(text, encoding="utf-8")
        manifest = _loop_record(data)
        if manifest is not None and manifest.get("loop"):
            text = yaml.safe_dump(manifest["loop"], sort_keys=False, allow_unicode=True)
            (provenance / "loop.yaml").write_text(text, encoding="utf-8")
        records[config] = record
    (folder / "README.md").write_text(render_card(repo_id, records, license_id), encoding="utf-8")
    _redact(folder, token)
    return RepoFolder(path=folder, repo_id=repo_id, configs=list(names))


def fetch_existing_records(
    repo_id: str, token: str | None, skip: list[str]
) -> tuple[bool, dict[str, dict[str, Any]]]:
    """(repo exists, records of its configs other than `skip`) read from the Hub."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        files = HfApi(token=token).list_repo_files(repo_id, repo_type="dataset")
        records = {}
        for path in files:
            match = _RECORD.match(path)
            if match and match.group(1) not in skip:
                local = hf_hub_download(repo_id, path, repo_type="dataset", token=token)
                records[match.group(1)] = json.loads(Path(local).read_text(encoding="utf-8"))
    except RepositoryNotFoundError:
        return False, {}
    except Exception as err:  # network, auth and protocol errors: one line, no traceback
        raise IfplayError(f"{repo_id}: cannot read the existing repo ({first_line(err)})") from None
    return True, records


def upload_repo_folder(repo: RepoFolder, token: str, private: bool | None) -> str:
    """Create the dataset repo if needed (private unless `private` is False) and commit the folder.

    Returns the commit URL. `private` None leaves an existing repo's visibility as it is.
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo.repo_id, repo_type="dataset", private=private is not False, exist_ok=True)
    if private is not None:
        api.update_repo_settings(repo.repo_id, repo_type="dataset", private=private)
    commit = api.upload_folder(
        repo_id=repo.repo_id,
        repo_type="dataset",
        folder_path=str(repo.path),
        commit_message=f"ifplay publish: {', '.join(repo.configs)}",
        delete_patterns=repo.delete_patterns,
    )
    return str(commit.commit_url)


def hf_token(required: bool = True) -> str | None:
    """The token from HF_TOKEN or `hf auth login`; a one-line error when `required` and there is none."""
    from huggingface_hub import get_token

    try:
        token = get_token()
    except Exception as err:  # e.g. a failed OIDC exchange
        raise IfplayError(f"cannot get a Hugging Face token ({first_line(err)})") from None
    if required and not token:
        raise IfplayError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login` (or use --no-upload)"
        )
    return token


def publish(
    found: list[GeneratedData],
    names: list[str],
    repo_id: str,
    folder: Path,
    private: bool | None,
    upload: bool,
    license_id: str = DEFAULT_LICENSE,
    max_shard_mb: int = DEFAULT_MAX_SHARD_MB,
) -> tuple[RepoFolder, str | None]:
    """Build the repo folder (merging the remote repo's other configs) and upload it in one commit.

    Returns the folder and the commit URL (None without `upload`). A failed upload to a repo that did
    not exist before removes the repo it created, so nothing is left half-published.
    """
    token = hf_token(required=upload)
    existed, existing = fetch_existing_records(repo_id, token, names) if upload else (False, {})
    repo = build_repo_folder(
        found, names, folder, repo_id, existing, license_id, max_shard_mb, token
    )
    if not upload:
        return repo, None
    assert token is not None
    try:
        return repo, upload_repo_folder(repo, token, private)
    except Exception as err:  # HTTP, auth and network errors: one line, token never shown
        if not existed:
            _delete_quietly(repo_id, token)
        message = first_line(err).replace(token, "<redacted>")
        raise IfplayError(f"{repo_id}: upload failed ({message})") from None


def _delete_quietly(repo_id: str, token: str) -> None:
    from huggingface_hub import HfApi

    try:
        HfApi(token=token).delete_repo(repo_id, repo_type="dataset", missing_ok=True)
    except Exception:  # best effort: the upload error is what the user needs to see
        pass
