"""`ifplay models`: list engines, whether each is installed, and the embedded default model."""

import argparse

from ifplay.embedded import EMBEDDED_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list engines and the embedded default model")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ifplay.embedded import embedded_gguf
    from ifplay.errors import IfplayError
    from ifplay.models import ENGINE_INFO

    try:
        where = str(embedded_gguf())
    except IfplayError as err:
        where = f"missing ({err})"
    print(f"default model: {EMBEDDED_MODEL} (embedded)")
    print(f"  gguf: {where}")
    print("engines:")
    states = {}
    for info in ENGINE_INFO.values():
        state = "installed" if info.installed else f"not installed (pip install '{info.extra}')"
        states[info.name] = (
            vllm_cpu_state(state) if info.name == "vllm" and not info.installed else state
        )
    width = max(len(state) for state in states.values()) + 2
    for info in ENGINE_INFO.values():
        default = " [default]" if info.name == "transformers" else ""
        print(f"  {info.name:<13}{states[info.name]:<{width}}{info.summary}{default}")
    return 0


def vllm_cpu_state(missing: str) -> str:
    """ "vllm-cpu server (<python>)" when vLLM's CPU build is set up for ifplay's server, else `missing`."""
    from ifplay.errors import IfplayError
    from ifplay.vllm_server import vllm_python

    try:
        return f"vllm-cpu server ({vllm_python()})"
    except IfplayError:
        return missing
