"""Where a pipeline runs: this machine, or a Ray cluster (`--ray [--ray-address ADDR]`).

`add_target_arguments(parser)` gives a command the two flags; `RunTarget.from_args(args)` reads
them; `run_target(config, source, target)` checks the declared resources against the machine or the
cluster before any work starts, and runs the block there.
"""

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunTarget:
    """Run on Ray (`ray`), joining `address` (None: $RAY_ADDRESS, else a new local instance)."""

    ray: bool = False
    address: str | None = None
    verbose: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "RunTarget":
        return cls(
            ray=bool(args.ray or args.ray_address),
            address=args.ray_address,
            verbose=args.verbose,
        )

    def check_reachable(self) -> None:
        """Fail now, in one line, when the Ray head to join (`address` or $RAY_ADDRESS) does not
        answer: before a long run, not at its first generate stage."""
        if not self.ray:
            return
        from ifplay.pipelines.ray_cluster import head_to_join, require_reachable

        address, named_by = head_to_join(self.address)
        if address:
            require_reachable(address, named_by=named_by)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--ray` and `--ray-address ADDR`."""
    parser.add_argument(
        "--ray",
        action="store_true",
        help="run pipelines on a Ray cluster: each step replica is a Ray actor (ifplay[ray])",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join, e.g. 10.0.0.1:6379 or ray://host:10001 "
        "(default: $RAY_ADDRESS, else a new local Ray instance); implies --ray",
    )


@contextmanager
def run_target(config: Any, source: str, target: RunTarget) -> Iterator[str]:
    """Check `config`'s resources (a declaration read from `source`) against where it runs, then
    run the block there; yields a description of the place ("this machine", "the Ray cluster at
    ADDR: 16 CPUs, 2 GPUs")."""
    from ifplay.pipelines.resources import check_capacity, local_capacity

    if not target.ray:
        capacity = local_capacity(config)
        check_capacity(config, source, capacity)
        yield capacity.where
        return
    from ifplay.pipelines.ray_cluster import on_ray

    keys = {spec.api_key_env for spec in config.step_models().values() if spec.engine == "openai"}
    with on_ray(target.address, extra_env=keys, verbose=target.verbose) as capacity:
        check_capacity(config, source, capacity)
        where = f"{capacity.where}: {capacity.cpus} CPUs, {capacity.gpus} GPUs"
        print(f"on {where}", file=sys.stderr)
        yield where
