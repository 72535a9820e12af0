"""The same pipeline declaration run locally and on a local Ray head: wall time of each, rows per
split, and whether the outputs are byte-identical.

    python benchmarks/ray_vs_local.py tests/data/autoif-tiny.yaml --limit 8

Prints one line per side, then one per split. The Ray side includes starting one actor (a fresh
Python process that imports torch and loads its model) per step replica for every pipeline run,
which is what a small run on a small machine mostly measures.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ifplay.pipelines.ray_cluster import local_head


def generate(config: Path, output: Path, limit: int | None, *extra: str) -> float:
    """Run `ifplay generate` (fresh, no checkpoints) and return its wall time in seconds."""
    command = [sys.executable, "-m", "ifplay.cli", "generate", str(config), "--output", str(output)]
    command += ["--no-cache", *(["--limit", str(limit)] if limit else []), *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def split_files(output: Path) -> dict[str, Path]:
    """split name -> its data.jsonl (a single-split output keeps it at the top)."""
    found = sorted(output.glob("*/data.jsonl")) or sorted(output.glob("data.jsonl"))
    return {path.parent.name if path.parent != output else "data": path for path in found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="pipeline YAML")
    parser.add_argument("--limit", type=int, help="prompts sent to the generating model")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray head")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ifplay-ray-bench-") as tmp:
        root = Path(tmp)
        local_s = generate(args.config, root / "local", args.limit)
        with local_head(args.num_cpus) as address:
            ray_s = generate(args.config, root / "ray", args.limit, "--ray-address", address)
        print(f"local: {local_s:.1f} s")
        print(f"ray ({args.num_cpus}-CPU local head): {ray_s:.1f} s ({ray_s / local_s:.2f}x local)")
        local_files, ray_files = split_files(root / "local"), split_files(root / "ray")
        for name, path in local_files.items():
            rows = len(path.read_text().splitlines())
            other = ray_files.get(name)
            same = other is not None and other.read_bytes() == path.read_bytes()
            print(f"{name}: {rows} rows, {'identical' if same else 'DIFFERENT'} on Ray")


if __name__ == "__main__":
    main()
