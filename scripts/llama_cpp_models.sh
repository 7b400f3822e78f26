#!/usr/bin/env bash
# Derives, with llama.cpp's llama-quantize (scripts/llama_cpp.sh), GGUFs of
# SmolLM2-135M-Instruct (scripts/fetch_smollm2.sh) in other weight types, next
# to the original in the models cache (${KVLM_MODELS:-~/.cache/kvlm/models}):
#   smollm2-135m-instruct-f32.gguf   Q4_1 original dequantized (--allow-requantize)
#   smollm2-135m-instruct-f16.gguf   from the F32 one
#   smollm2-135m-instruct-q8_0.gguf  from the F32 one
#   smollm2-135m-instruct-q4_0.gguf  from the F32 one
# llama-quantize's default mixture is kept (SmolLM2 ties its output to
# token_embd, which llama-quantize stores as Q8_0 in the q8_0 and q4_0 files
# because 576 columns do not fit a 256-wide k-quant; pass KVLM_QUANT_PURE=1 to
# quantize every matrix to the one type with --pure, into *-pure.gguf names).
# Idempotent: existing files are kept. Prints the directory on stdout;
# progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "llama_cpp_models: $*" >&2; }
die() { log "error: $*"; exit 1; }

SRC=$(scripts/fetch_smollm2.sh) || die "scripts/fetch_smollm2.sh failed"
BIN=$(scripts/llama_cpp.sh) || die "scripts/llama_cpp.sh failed"
DIR=$(dirname "$SRC")
BASE=$DIR/smollm2-135m-instruct
QUANTIZE=$BIN/llama-quantize
THREADS=${KVLM_THREADS:-$(nproc)}
PURE=()
SUFFIX=""
if [ "${KVLM_QUANT_PURE:-0}" = 1 ]; then PURE=(--pure); SUFFIX="-pure"; fi

# quantize IN OUT TYPE [extra flags]: writes OUT atomically (a .part file first).
quantize() {
  local in=$1 out=$2 type=$3
  shift 3
  [ -s "$out" ] && return 0
  log "$(basename "$in") -> $(basename "$out") ($type)"
  "$QUANTIZE" "$@" "$in" "$out.part" "$type" "$THREADS" >"$out.log" 2>&1 \
    || { tail -20 "$out.log" >&2; rm -f "$out.part"; die "llama-quantize $type failed (log: $out.log)"; }
  mv -f "$out.part" "$out"
  rm -f "$out.log"
}

quantize "$SRC" "$BASE-f32.gguf" F32 --allow-requantize
quantize "$BASE-f32.gguf" "$BASE-f16.gguf" F16
quantize "$BASE-f32.gguf" "$BASE-q8_0$SUFFIX.gguf" Q8_0 "${PURE[@]}"
quantize "$BASE-f32.gguf" "$BASE-q4_0$SUFFIX.gguf" Q4_0 "${PURE[@]}"
echo "$DIR"
