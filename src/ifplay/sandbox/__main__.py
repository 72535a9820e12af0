"""`python -m ifplay.sandbox --doctor`: show the isolation layers active here and test them live."""

from __future__ import annotations

import argparse
import sys

from .doctor import run_doctor
from .isolation import IsolationPolicy, describe_isolation


def main(argv: list[str] | None = None) -> int:
    """Parse `argv`; print the report (and run the live probes with --doctor); exit status."""
    parser = argparse.ArgumentParser(prog="python -m ifplay.sandbox", description=__doc__)
    parser.add_argument("--doctor", action="store_true", help="start a worker and run attacks")
    parser.add_argument(
        "--namespaces", choices=["auto", "bwrap", "unshare", "none"], default="auto"
    )
    parser.add_argument("--no-seccomp", action="store_true")
    parser.add_argument("--no-audit-hook", action="store_true")
    parser.add_argument("--no-rlimits", action="store_true")
    args = parser.parse_args(argv)
    policy = IsolationPolicy(
        namespaces=args.namespaces,
        seccomp=False if args.no_seccomp else None,
        audit_hook=not args.no_audit_hook,
        rlimits=not args.no_rlimits,
    )
    if not args.doctor:
        print(describe_isolation(policy))
        return 0
    return run_doctor(policy)


if __name__ == "__main__":
    sys.exit(main())
