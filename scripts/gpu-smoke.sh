#!/usr/bin/env bash
# The GPU smoke test (issue 32): at most 8 minutes on one H100, from a fresh checkout.
#   scripts/gpu-smoke.sh                 # setup.sh's CUDA install, then every stage below
#   scripts/gpu-smoke.sh --skip-setup    # use the .venv that is there (it must have CUDA torch)
# Stages, each checked to have run on the GPU: QLoRA (NF4 base through bitsandbytes) on the
# packaged Gemma 3 270M for 40 steps; the head trainer for 40 steps; an eval of each; `bizztune
# serve` of the head model under 1 and 16 clients (benchmarks/serve_load.py). Prints peak GPU
# memory, tokens/s and MFU against the card's bf16 peak, and the batching gain; exits non-zero
# at the first stage that fails or that ran off CUDA. On a machine without an NVIDIA GPU it
# runs nothing: one line, exit 3. Work files go to $SMOKE_DIR (default: a new temp folder); the
# converted model to $BIZZTUNE_HOME (default ~/.cache/bizztune), reused when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "gpu-smoke: no NVIDIA GPU here (nvidia-smi finds none); nothing was run" >&2
  exit 3
fi
SETUP=1
case "${1:-}" in
  "") ;;
  --skip-setup) SETUP=0 ;;
  *) echo "gpu-smoke: unknown argument '$1' (the one option is --skip-setup)" >&2; exit 2 ;;
esac

BUDGET_S=${SMOKE_BUDGET_S:-480}
START=$SECONDS
W=${SMOKE_DIR:-$(mktemp -d -t bizztune-gpu-smoke-XXXX)}
mkdir -p "$W"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
echo "gpu-smoke: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | head -1); work in $W"

left() { echo $((BUDGET_S - (SECONDS - START))); }
stage() {  # stage NAME [--gpu] -- COMMAND...: the command, timed, its GPU memory sampled
  local name=$1
  shift
  if (($(left) <= 0)); then
    echo "gpu-smoke: out of the ${BUDGET_S} s budget before stage $name" >&2
    exit 1
  fi
  python3 scripts/gpu_smoke.py stage --work "$W" --name "$name" --timeout "$(left)" "$@"
}

if ((SETUP)); then
  stage setup -- scripts/setup.sh
fi
PY=.venv/bin/python
BT=.venv/bin/bizztune
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() and torch.version.cuda else 1)'; then
  echo "gpu-smoke: .venv's torch $("$PY" -c 'import torch; print(torch.__version__)' 2>&1) cannot use CUDA; nothing ran on the GPU" >&2
  exit 1
fi

DATA=$W/data
COMMON=(--model gemma3-270m --data "$DATA/split" --style compact --device cuda)
TRAIN=(--max-steps 40 --batch-size 8 --eval-steps 0 --set limit_val=32)
stage generate -- "$BT" generate --task tickets -n 800 --out "$DATA/tickets.jsonl"
stage split -- "$BT" split "$DATA/tickets.jsonl" --out "$DATA/split"
stage convert -- "$PY" -c "from bizztune.models.embedded import resolve_model; print(resolve_model('gemma3-270m'))"
stage qlora --gpu -- "$BT" train --trainer qlora "${COMMON[@]}" "${TRAIN[@]}" --set logging_steps=10 --out "$W/qlora"
stage head --gpu -- "$BT" train --trainer head "${COMMON[@]}" "${TRAIN[@]}" --out "$W/head"
stage eval-qlora --gpu -- "$BT" eval --provider hf "${COMMON[@]}" --adapter "$W/qlora" \
  --load-in-4bit --decoding constrained --out "$W/eval-qlora"
stage eval-head --gpu -- "$BT" eval --provider hf "${COMMON[@]}" --adapter "$W/head" --out "$W/eval-head"
stage serve --gpu -- "$PY" benchmarks/serve_load.py --adapter "$W/head" --data "$DATA/split" \
  --device cuda --clients 16 --requests 160 --out "$W/serve.json"
python3 scripts/gpu_smoke.py report --work "$W"
echo "gpu-smoke: passed in $((SECONDS - START)) s (budget ${BUDGET_S} s); files in $W"
