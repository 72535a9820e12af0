"""`ifplay publish DATA_DIR --repo-id ORG/NAME`: push generated data and its card to the Hub."""

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="upload generated data (or every iteration of a loop run) to a Hub dataset repo",
        description="Build the repo folder (parquet shards under data/<config>/, README.md card "
        "with YAML metadata, ifplay/<config>/ run records) and upload it in one commit. The token "
        "comes from HF_TOKEN or `hf auth login`.",
    )
    parser.add_argument("data_dir", type=Path, help="an `ifplay generate` output or a loop run")
    parser.add_argument("--repo-id", required=True, help="dataset repo, ORG/NAME")
    parser.add_argument(
        "--config", help="config name in the repo (default: iter-<k> for loop data, else default)"
    )
    visibility = parser.add_mutually_exclusive_group()
    visibility.add_argument(
        "--private",
        dest="private",
        action="store_true",
        default=None,
        help="make the repo private (the default for a new repo)",
    )
    visibility.add_argument(
        "--public", dest="private", action="store_false", help="make the repo public"
    )
    parser.add_argument("--license", default=None, help="license id for the card (apache-2.0)")
    parser.add_argument(
        "--max-shard-mb", type=int, default=None, help="largest parquet shard in MB (500)"
    )
    parser.add_argument(
        "--folder",
        type=Path,
        help="build the repo folder here and keep it (default: a temporary folder)",
    )
    parser.add_argument(
        "--no-upload",
        action="store_true",
        help="only build the folder from the local data (needs --folder; no token, no Hub reads)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import tempfile

    from ifplay import hub
    from ifplay.datadir import find_generated
    from ifplay.errors import IfplayError
    from ifplay.outputs import check_output_free, staged_folder

    if args.no_upload and args.folder is None:
        raise IfplayError("--no-upload: give --folder DIR to keep the built repo folder")
    if args.max_shard_mb is not None and args.max_shard_mb < 1:
        raise IfplayError(f"--max-shard-mb: must be >= 1 (got {args.max_shard_mb})")
    hub.check_repo_id(args.repo_id)
    found = find_generated(args.data_dir)
    names = hub.config_names(found, args.config)
    if not args.no_upload:
        hub.hf_token()
    if args.folder is not None:
        check_output_free(args.folder, args.force)
    options = {
        "license_id": args.license or hub.DEFAULT_LICENSE,
        "max_shard_mb": args.max_shard_mb or hub.DEFAULT_MAX_SHARD_MB,
    }
    with tempfile.TemporaryDirectory(prefix="ifplay-publish-") as scratch:
        target = args.folder or Path(scratch) / "repo"
        with staged_folder(target, force=args.force) as folder:
            repo, url = hub.publish(
                found,
                names,
                args.repo_id,
                folder,
                private=args.private,
                upload=not args.no_upload,
                **options,
            )
    configs = ", ".join(names)
    if url is None:
        print(f"{args.repo_id}: built {configs} in {target} (not uploaded)")
    else:
        print(f"{args.repo_id}: published {configs} -> {url}")
    return 0
